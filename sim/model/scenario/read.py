"""Reading a scenario: the YAML file (bounded safe loader, :mod:`sim.model.yamlsafe`), the files it extends, its digest."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.model.problems import PlanError, Problem
from sim.model.scenario.readers import Reader
from sim.model.scenario.schema import SCHEMA


@dataclasses.dataclass(frozen=True)
class Overlay:
    """One file of a scenario: its path and its typed, key-checked content."""

    file: str
    data: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A scenario: the chain of overlays to apply in order (the ``extends`` base first)."""

    name: str
    overlays: tuple[Overlay, ...]
    digest: str  # sha256 over the bytes of every file in the chain
    description: str = ""

    @property
    def file(self) -> str:
        return self.overlays[-1].file if self.overlays else ""

    def manifest(self) -> dict[str, Any]:
        """What a run's manifest records about the scenario."""
        return {"scenario_file": self.file, "scenario_files": [o.file for o in self.overlays],
                "scenario_hash": self.digest, "scenario_description": self.description}


def load_scenario(path: Path | str) -> Scenario:
    """Read a scenario file (and the files it extends) and check its keys and value types.

    Parameters
    ----------
    path
        A YAML file (scenarios/README.md).

    Returns
    -------
    Scenario
        Named after the file (``covid-2020.yaml`` -> ``covid-2020``).

    Raises
    ------
    PlanError
        Every problem found, each naming the file and the dotted key path.
    """
    path = Path(path)
    overlays: list[Any] = []
    problems: list[Problem] = []
    digest = hashlib.sha256()
    _read_chain(path, [], overlays, digest, problems)
    if problems:
        raise PlanError(problems, what=f"scenario {path}")
    description = next((str(o.data["description"]).strip() for o in reversed(overlays)
                        if o.data.get("description")), "")
    return Scenario(path.stem, tuple(overlays), digest.hexdigest(), description)


def _read_chain(path: Path, seen: list[Path], overlays: list, digest, problems: list) -> None:
    file = str(path)
    if path.resolve() in seen:
        chain = " -> ".join(str(p.name) for p in [*seen, path.resolve()])
        problems.append(Problem(file, None, "extends", chain, "scenarios extend each other in a cycle",
                                "remove one of these extends"))
        return
    from sim.model.inputfile import InputFileError, read_input_bytes
    from sim.model.yamlsafe import MAX_BYTES

    try:
        data = read_input_bytes(path, limit=MAX_BYTES)
    except InputFileError as exc:
        problems.append(Problem(file, None, None, None, f"the scenario file {exc}",
                                "check the path (scenarios/<name>.yaml)"))
        return
    digest.update(path.name.encode() + b"\0" + data + b"\0")
    raw = _parse_yaml(data, file, problems)
    if raw is _BAD:
        return
    reader = Reader(file)
    typed = reader.fields({} if raw is None else raw, "", SCHEMA)
    problems += reader.problems
    if typed is None:
        return
    parent = typed.get("extends")
    if parent:
        target = (path.parent / parent)
        if not target.is_file():
            problems.append(Problem(file, None, "extends", parent, f"the extended scenario {target} does not exist",
                                    "give a path relative to this file, e.g. extends: baseline.yaml"))
        else:
            _read_chain(target, [*seen, path.resolve()], overlays, digest, problems)
    overlays.append(Overlay(file, typed))


_BAD = object()


def _parse_yaml(data: bytes, file: str, problems: list) -> Any:
    import yaml

    from sim.model.yamlsafe import load

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(file, None, None, None, f"the file is not UTF-8 (byte {exc.start})",
                                "save the scenario as UTF-8"))
        return _BAD
    try:
        if "\0" in text:
            problems.append(Problem(file, text[:text.index("\0")].count("\n") + 1, None, None,
                                    "the file holds a NUL byte", "save the scenario as plain UTF-8 text"))
            return _BAD
        return load(text)
    except ValueError as exc:  # a YAML timestamp that is no real date, e.g. 2022-13-01
        problems.append(Problem(file, None, None, None, f"the file holds an impossible date: {exc}",
                                "write dates as YYYY-MM-DD with a real month and day"))
        return _BAD
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problems.append(Problem(file, row, None, None, f"the file is not valid YAML: {what}",
                                "check indentation and the ':' after each key"))
        return _BAD


def scenario_from_dict(data: Mapping[str, Any], *, name: str, file: str = "<scenario>") -> Scenario:
    """A scenario from a mapping shaped like a YAML file (used by ``sim slip`` and tests).

    Raises
    ------
    PlanError
        For unknown keys and wrong types, as :func:`load_scenario`.
    """
    reader = Reader(file)
    typed = reader.fields(dict(data), "", SCHEMA)
    if reader.problems or typed is None:
        raise PlanError(reader.problems, what=f"scenario {file}")
    if "extends" in typed:
        raise PlanError([Problem(file, None, "extends", typed["extends"], "extends needs a scenario file",
                                 "use load_scenario on a YAML file")], what=f"scenario {file}")
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return Scenario(name, (Overlay(file, typed),), digest, str(typed.get("description", "")))
