"""Scenario overlays: YAML files that change any assumption of params/.

A scenario (scenarios/README.md documents every key) is read in two steps:

1. :func:`load_scenario` reads the file (``yaml.safe_load`` only) and the
   files it ``extends``, and checks keys and types without a plan: every
   unknown key and every wrongly typed value is a :class:`Problem` whose file
   is the YAML path and whose column is the dotted key path
   (``items.T14.multiplier.p2``).
2. :func:`apply_scenario` applies it to a loaded :class:`Plan` with
   ``dataclasses.replace`` (a chain ``base.yaml <- child.yaml`` applies the
   base first), checks ids against the plan, then re-validates the resulting
   plan with the checks of :mod:`sim.model.validate` (cycles, loadings,
   correlations, target rules, deadlines). It returns a new Plan or raises one
   :class:`PlanError` carrying every problem.

A slip (``slip: {T14: 6m}``) is added *work*: a register risk ``slip.T14`` with
probability 1, phase ``duration`` and a fixed impact equal to the working days
of the item's calendar in the slip's calendar span after its plan finish (6m =
182.6 days after 2022-12-31, less the Spring Festival stoppage in it). An item
that would finish on its plan date then finishes exactly the slip later; the
extra work propagates through every link type (FS, SS, FF, SYNC), and the
risk draws from its own random streams, so every other quantity keeps its draws
(common random numbers).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sim.model import validate as v
from sim.model.distribution import Distribution, Z90
from sim.model.entities import (
    Assumption, CalendarWindow, DurationClass, FactorCorrelation, Item, Kpi, KpiBoost, Link, Plan, Risk,
    Shock, Target, Unit,
)
from sim.model.enums import Campaign, DistFamily, LinkType, RiskMode, RiskPhase, Status, TargetRule
from sim.model.problems import PlanError, Problem
from sim.model.select import resolve

MONTH_DAYS = 365.25 / 12  # a month in a duration such as "6m"
_UNIT_DAYS = {"": 1.0, "d": 1.0, "w": 7.0, "m": MONTH_DAYS, "y": 365.25}
_DURATION = re.compile(r"([+-]?\d+(?:\.\d+)?)\s*([dwmy]?)")
_ID = re.compile(r"[A-Za-z0-9_.-]+")
SLIP_PREFIX = "slip."  # id prefix of the risk that carries a slip
DURATION_HINT = "write days as a number (45) or a duration: 10d, 2w, 6m (= 6 x 30.44 days), 1y"


def parse_duration(value: Any) -> float | None:
    """Days in a duration: a number of days, or text ``<n>d|w|m|y`` (m = 365.25/12 days); None if unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        m = _DURATION.fullmatch(value.strip())
        if m:
            return float(m.group(1)) * _UNIT_DAYS[m.group(2)]
    return None


# --- reading values: every reader takes (reader, value, path) and returns the typed value -------

class _Reader:
    """Collects the problems of one scenario file while its values are read."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def flag(self, path: str, value: Any, message: str, hint: str = "") -> None:
        self.problems.append(Problem(self.file, None, path or None, _show(value), message, hint))

    def fields(self, value: Any, path: str, spec: Mapping[str, Callable], *,
               required: tuple[str, ...] = ()) -> dict[str, Any] | None:
        """A mapping whose keys are those of ``spec``, each value read by its reader."""
        if not isinstance(value, dict):
            self.flag(path, value, f"{path or 'the file'} must be a mapping of keys to values",
                      "allowed keys: " + ", ".join(spec))
            return None
        out: dict[str, Any] = {}
        for key, raw in value.items():
            key = str(key)
            sub = f"{path}.{key}" if path else key
            if key not in spec:
                self.flag(sub, None, f"unknown key {key!r}", _key_hint(key, spec))
                continue
            n = len(self.problems)
            typed = spec[key](self, raw, sub)
            if len(self.problems) == n:
                out[key] = typed
        for key in required:
            if key not in value:
                self.flag(f"{path}.{key}" if path else key, None, f"{key} is required here",
                          f"add {key}: ... (see scenarios/README.md)")
        return out


def _show(value: Any) -> str | None:
    if value is None:
        return None
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _key_hint(key: str, spec: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(key, list(spec), n=2, cutoff=0.6)
    if close:
        return f"did you mean {' or '.join(close)}? (see scenarios/README.md)"
    return "allowed keys here: " + ", ".join(spec)


def _text(r: _Reader, value: Any, path: str) -> str | None:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    r.flag(path, value, f"{path} must be text", "write a string, e.g. name_en: Ring Road")
    return None


def _ident(r: _Reader, value: Any, path: str) -> str | None:
    if isinstance(value, str) and _ID.fullmatch(value):
        return value
    r.flag(path, value, f"{path} must be an id (ASCII letters, digits, '_', '.', '-')", "e.g. T14 or OH_GOV")
    return None


def _number(low: float | None = None, high: float | None = None, *, above: float | None = None,
            integer: bool = False) -> Callable:
    def read(r: _Reader, value: Any, path: str) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            r.flag(path, value, f"{path} must be a number", "write a plain number such as 0.3 (not 30%)")
            return None
        if integer and value != int(value):
            r.flag(path, value, f"{path} must be a whole number", "write 1, 2, 3 ...")
            return None
        if (low is not None and value < low) or (high is not None and value > high) or \
                (above is not None and value <= above):
            bounds = [f">= {low:g}" if low is not None else "", f"<= {high:g}" if high is not None else "",
                      f"> {above:g}" if above is not None else ""]
            r.flag(path, value, f"{path} must be {' and '.join(b for b in bounds if b)}, got {value:g}",
                   "correct the value")
            return None
        return int(value) if integer else float(value)
    return read


def _nullable(reader: Callable) -> Callable:
    def read(r: _Reader, value: Any, path: str) -> Any:
        return None if value is None else reader(r, value, path)
    return read


def _boolean(r: _Reader, value: Any, path: str) -> bool | None:
    if isinstance(value, bool):
        return value
    r.flag(path, value, f"{path} must be true or false", "write true or false")
    return None


def _date(r: _Reader, value: Any, path: str) -> dt.date | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    r.flag(path, value, f"{path} must be a date YYYY-MM-DD", "e.g. 2020-02-08")
    return None


def _dates(r: _Reader, value: Any, path: str) -> tuple[dt.date, ...] | None:
    if isinstance(value, str):
        value = [s for s in value.split(";") if s.strip()]
    if not isinstance(value, list) or not value:
        r.flag(path, value, f"{path} must be a list of dates", "e.g. [2020-12-31, 2021-12-31]")
        return None
    out = [_date(r, d, f"{path}[{k}]") for k, d in enumerate(value)]
    return None if None in out else tuple(sorted(out))


def _days(r: _Reader, value: Any, path: str) -> float | None:
    days = parse_duration(value)
    if days is None:
        r.flag(path, value, f"{path} must be a duration", DURATION_HINT)
    return days


def _choice(options: type) -> Callable:
    def read(r: _Reader, value: Any, path: str) -> Any:
        try:
            return options(value)
        except ValueError:
            r.flag(path, value, f"{path}: unknown value {value!r}",
                   "allowed values: " + ", ".join(o.value for o in options))
            return None
    return read


def _strings(r: _Reader, value: Any, path: str, *, what: str) -> tuple[str, ...] | None:
    """A list of strings, or one string with ';'-separated entries (as in the CSV cells)."""
    if isinstance(value, str):
        value = [s.strip() for s in value.split(";") if s.strip()]
    if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
        r.flag(path, value, f"{path} must be a list of {what}", f"e.g. [{'all' if what == 'selectors' else 'T14'}]")
        return None
    return tuple(s.strip() for s in value)


def _selectors(r: _Reader, value: Any, path: str) -> tuple[str, ...] | None:
    return _strings(r, value, path, what="selectors")


def _ids(r: _Reader, value: Any, path: str) -> tuple[str, ...] | None:
    out = _strings(r, value, path, what="ids")
    if out is not None:
        for k, s in enumerate(out):
            _ident(r, s, f"{path}[{k}]")
    return out


def _unit_ids(r: _Reader, value: Any, path: str) -> tuple[str, ...] | None:
    """Unit ids, the lead ones marked ``*`` as in items.csv."""
    out = _strings(r, value, path, what="unit ids")
    if out is not None:
        for k, s in enumerate(out):
            _ident(r, s.lstrip("*"), f"{path}[{k}]")
    return out


def _statuses(r: _Reader, value: Any, path: str) -> tuple[Status, ...] | None:
    out = _strings(r, value, path, what="statuses")
    if out is None:
        return None
    read = _choice(Status)
    found = tuple(read(r, s, f"{path}[{k}]") for k, s in enumerate(out))
    return None if None in found else found


def _dist(*, days: bool) -> Callable:
    """A distribution: ``{dist, p1, p2, p3, floor}`` or ``{dist: discrete, values, weights}``, or a bare
    number (fixed). With ``days`` the parameters may be durations such as ``0.75m``."""
    param = _days if days else _number()
    spec = {"dist": _choice(DistFamily), "p1": param, "p2": param, "p3": param, "floor": param,
            "values": _list_of_numbers(param), "weights": _list_of_numbers(_number(low=0))}

    def read(r: _Reader, value: Any, path: str) -> Distribution | None:
        if not isinstance(value, dict):
            fixed = param(r, value, path)
            return None if fixed is None else Distribution.fixed(fixed)
        n = len(r.problems)
        got = r.fields(value, path, spec, required=("dist",))
        if got is None or len(r.problems) > n:
            return None
        family = got["dist"]
        if family is DistFamily.DISCRETE:
            dist = Distribution(family, values=got.get("values", ()), weights=got.get("weights", ()),
                                floor=got.get("floor"))
        else:
            params = [got.get(p) for p in ("p1", "p2", "p3")]
            while params and params[-1] is None:
                params.pop()
            if None in params:
                r.flag(path, value, f"{path}: p{params.index(None) + 1} is missing but a later parameter is given",
                       "give the parameters from p1 on")
                return None
            dist = Distribution(family, tuple(params), floor=got.get("floor"))
        for message in dist.problems():
            r.flag(path, dist.describe() if family is not DistFamily.DISCRETE else value, message,
                   "correct the parameters (see params/README.md, Distributions)")
        return dist
    return read


def _list_of_numbers(item: Callable) -> Callable:
    def read(r: _Reader, value: Any, path: str) -> tuple[float, ...] | None:
        if not isinstance(value, list) or not value:
            r.flag(path, value, f"{path} must be a list of numbers", "e.g. [1.0, 1.25, 1.5]")
            return None
        out = [item(r, x, f"{path}[{k}]") for k, x in enumerate(value)]
        return None if None in out else tuple(out)
    return read


def _record(spec: Mapping[str, Callable], *, required: tuple[str, ...] = ()) -> Callable:
    def read(r: _Reader, value: Any, path: str) -> dict | None:
        return r.fields(value, path, spec, required=required)
    return read


def _by_id(reader: Callable) -> Callable:
    """A mapping id -> value; ids must look like ids."""
    def read(r: _Reader, value: Any, path: str) -> dict | None:
        if not isinstance(value, dict):
            r.flag(path, value, f"{path} must be a mapping of ids to values", f"e.g. {path}: {{T14: ...}}")
            return None
        out = {}
        for key, raw in value.items():
            key = str(key)
            sub = f"{path}.{key}"
            if not _ID.fullmatch(key):
                r.flag(sub, key, f"{key!r} is not an id", "ids use ASCII letters, digits, '_', '.', '-'")
                continue
            n = len(r.problems)
            typed = reader(r, raw, sub)
            if len(r.problems) == n:
                out[key] = typed
        return out
    return read


def _list_of(reader: Callable) -> Callable:
    def read(r: _Reader, value: Any, path: str) -> list | None:
        if not isinstance(value, list):
            r.flag(path, value, f"{path} must be a list", f"write {path}: followed by '- ...' entries")
            return None
        out = []
        for k, raw in enumerate(value):
            n = len(r.problems)
            typed = reader(r, raw, f"{path}[{k}]")
            if len(r.problems) == n:
                out.append((f"{path}[{k}]", typed))
        return out
    return read


def _assumption_values(r: _Reader, value: Any, path: str) -> dict | None:
    known = dict(zip(ASSUMPTION_KEYS, (_dates, _number(above=0), _number(above=0), _ident)))
    if not isinstance(value, dict):
        r.flag(path, value, f"{path} must be a mapping of assumption keys to values", "e.g. aspirational_uplift: 1.2")
        return None
    out = {}
    for key, raw in value.items():
        key, sub = str(key), f"{path}.{key}"
        if key == "as_of":
            r.flag(sub, raw, "the as-of date is the top-level key as_of", "write as_of: 2020-01-16 at the top level")
        elif key in known:
            n = len(r.problems)
            typed = known[key](r, raw, sub)
            if len(r.problems) == n:
                out[key] = typed
        elif isinstance(raw, (str, int, float)) and not isinstance(raw, bool):
            out[key] = str(raw)  # another key of assumptions.csv: checked against the plan
        else:
            r.flag(sub, raw, f"{sub} must be a single value", "write key: value")
    return out


# --- the schema: every key a scenario may hold (scenarios/README.md documents each) ----------------

_NAMES = {"name_zh": _text, "name_en": _text}
ITEM_FIELDS = {
    **_NAMES, "status": _choice(Status), "plan_start": _nullable(_date), "plan_finish": _date,
    "start_aspirational": _boolean, "finish_aspirational": _boolean, "duration_days": _nullable(_number(low=0)),
    "multiplier": _nullable(_dist(days=False)), "project_type": _ident, "calendar": _ident, "outdoor": _boolean,
    "resource_unit": _nullable(_ident),
}
CLASS_FIELDS = {"name_en": _text, "multiplier": _dist(days=False), "scale": _number(above=0),
                "sigma_scale": _number(above=0), "in_progress_sigma_scaling": _boolean}
ADJUST_FIELDS = {"select": _selectors, "status": _statuses, "multiplier_scale": _number(above=0),
                 "wait_scale": _number(low=0)}
RISK_FIELDS = {**_NAMES, "probability": _number(0, 1), "impact": _dist(days=True), "targets": _selectors,
               "mode": _choice(RiskMode), "phase": _choice(RiskPhase)}
SHOCK_FIELDS = {**_NAMES, "probability": _number(0, 1), "window_start": _date, "window_end": _date,
                "length": _dist(days=True), "affects": _selectors}
FACTOR_FIELDS = {"loading": _number(0, 1), "members": _selectors}
CORRELATION_FIELDS = {"a": _ident, "b": _ident, "rho": _number(-1, 1)}
KPI_FIELDS = {**_NAMES, "baseline": _number(low=0), "rate_per_year": _number(), "rate_cv": _number(low=0),
              "attrition_years": _nullable(_number(above=0)), "renewal_prob": _number(0, 1),
              "volatility": _number(low=0)}
UNIT_FIELDS = {**_NAMES, "capacity": _nullable(_number(low=1, integer=True))}
WINDOW_FIELDS = {"start": _date, "end": _date, "name_en": _text}
TARGET_FIELDS = {**_NAMES, "rule": _choice(TargetRule), "refs": _ids, "k": _nullable(_number(low=1, integer=True)),
                 "threshold": _nullable(_number()), "deadline": _date, "section": _choice(v.TargetSection)}
LINK_FIELDS = {"pred": _ident, "succ": _ident, "type": _choice(LinkType), "lag_days": _days}
BOOST_FIELDS = {"kpi": _ident, "item": _ident, "step": _number(), "rate_per_year": _number()}

ADD_RECORDS: dict[str, tuple[dict[str, Callable], tuple[str, ...]]] = {
    "duration_classes": ({"project_type": _ident, "name_en": _text, "multiplier": _dist(days=False),
                          "in_progress_sigma_scaling": _boolean}, ("project_type", "name_en", "multiplier")),
    "units": ({"id": _ident, **UNIT_FIELDS}, ("id", "name_en")),
    "items": ({"id": _ident, "group": _ident, "campaign": _choice(Campaign), "units": _unit_ids,
               **ITEM_FIELDS},
              ("id", "campaign", "name_en", "project_type", "status", "plan_finish")),
    "links": (LINK_FIELDS, ("pred", "succ", "type")),
    "risks": ({"id": _ident, **RISK_FIELDS}, ("id", "probability", "impact", "targets")),
    "shocks": ({"id": _ident, **SHOCK_FIELDS}, ("id", "probability", "window_start", "length", "affects")),
    "targets": ({"id": _ident, **TARGET_FIELDS}, ("id", "rule", "refs", "deadline")),
    "kpi_boosts": (BOOST_FIELDS, ("kpi", "item")),
}
REMOVE_RECORDS: dict[str, tuple[dict[str, Callable], tuple[str, ...]] | None] = {
    "items": None, "risks": None, "shocks": None, "targets": None, "factors": None,  # lists of ids
    "links": ({"pred": _ident, "succ": _ident, "type": _choice(LinkType)}, ("pred", "succ")),
    "kpi_boosts": ({"kpi": _ident, "item": _ident}, ("kpi", "item")),
}
ADD_FIELDS = {k: _list_of(_record(f, required=r)) for k, (f, r) in ADD_RECORDS.items()}
REMOVE_FIELDS = {k: _ids if spec is None else _list_of(_record(spec[0], required=spec[1]))
                 for k, spec in REMOVE_RECORDS.items()}
ASSUMPTION_KEYS = ("checkpoints", "aspirational_uplift", "horizon_years", "preconstruction_type")
SCHEMA: dict[str, Callable] = {
    "description": _text,
    "extends": _text,
    "as_of": _date,
    "assumptions": _assumption_values,
    "remove": _record(REMOVE_FIELDS),
    "add": _record(ADD_FIELDS),
    "duration_classes": _by_id(_record(CLASS_FIELDS)),
    "units": _by_id(_record(UNIT_FIELDS)),
    "calendars": _by_id(_list_of(_record(WINDOW_FIELDS, required=("start", "end")))),
    "items": _by_id(_record(ITEM_FIELDS)),
    "factors": _by_id(_record(FACTOR_FIELDS)),
    "correlations": _list_of(_record(CORRELATION_FIELDS, required=("a", "b", "rho"))),
    "risks": _by_id(_record(RISK_FIELDS)),
    "shocks": _by_id(_record(SHOCK_FIELDS)),
    "kpis": _by_id(_record(KPI_FIELDS)),
    "targets": _by_id(_record(TARGET_FIELDS)),
    "adjust": _list_of(_record(ADJUST_FIELDS, required=("select",))),
    "slip": _by_id(_days),
}
#: The order in which the sections of one file are applied (see scenarios/README.md).
SECTION_ORDER = ("as_of", "assumptions", "remove", "add", "duration_classes", "units", "calendars", "items",
                 "factors", "correlations", "risks", "shocks", "kpis", "targets", "adjust", "slip")


def schema_keys() -> frozenset[str]:
    """Every documented key as a dotted path without ids: ``items.multiplier``, ``add.links.lag_days``, ``slip``."""
    nested = {"duration_classes": CLASS_FIELDS, "units": UNIT_FIELDS, "calendars": WINDOW_FIELDS,
              "items": ITEM_FIELDS, "factors": FACTOR_FIELDS, "correlations": CORRELATION_FIELDS,
              "risks": RISK_FIELDS, "shocks": SHOCK_FIELDS, "kpis": KPI_FIELDS, "targets": TARGET_FIELDS,
              "adjust": ADJUST_FIELDS, "assumptions": dict.fromkeys(ASSUMPTION_KEYS)}
    keys = {k for k in SCHEMA if k not in nested and k not in ("add", "remove")}
    keys |= {f"{k}.{f}" for k, fields in nested.items() for f in fields}
    keys |= {f"add.{k}.{f}" for k, (fields, _) in ADD_RECORDS.items() for f in fields}
    keys |= {f"remove.{k}" if spec is None else f"remove.{k}.{f}" for k, spec in REMOVE_RECORDS.items()
             for f in (spec[0] if spec else [None])}
    return frozenset(keys)


# --- the scenario object -------------------------------------------------------------------

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
    overlays, digest, problems = [], hashlib.sha256(), []
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
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(file, None, None, None, f"the scenario file cannot be read: {exc.strerror}",
                                "check the path (scenarios/<name>.yaml)"))
        return
    digest.update(path.name.encode() + b"\0" + data + b"\0")
    raw = _parse_yaml(data, file, problems)
    if raw is _BAD:
        return
    reader = _Reader(file)
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

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(file, None, None, None, f"the file is not UTF-8 (byte {exc.start})",
                                "save the scenario as UTF-8"))
        return _BAD
    try:
        return yaml.safe_load(text)
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
    reader = _Reader(file)
    typed = reader.fields(dict(data), "", SCHEMA)
    if reader.problems or typed is None:
        raise PlanError(reader.problems, what=f"scenario {file}")
    if "extends" in typed:
        raise PlanError([Problem(file, None, "extends", typed["extends"], "extends needs a scenario file",
                                 "use load_scenario on a YAML file")], what=f"scenario {file}")
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return Scenario(name, (Overlay(file, typed),), digest, str(typed.get("description", "")))


def apply_scenario(plan: Plan, scenario: Scenario) -> Plan:
    """The plan with the scenario's overlays applied in order, re-validated.

    Parameters
    ----------
    plan
        A validated plan (from :func:`sim.model.load.load_plan`).
    scenario
        From :func:`load_scenario` or :func:`scenario_from_dict`.

    Returns
    -------
    Plan
        A new plan; ``origin`` notes the scenario.

    Raises
    ------
    PlanError
        Unknown ids, references that no longer hold, cycles, impossible targets:
        every problem, each naming the scenario file and key.
    """
    for overlay in scenario.overlays:
        plan = _Applier(plan, overlay).run()
    return dataclasses.replace(plan, origin=f"{plan.origin} + scenario {scenario.name}")


# --- applying one overlay --------------------------------------------------------------------

class _Applier:
    """Applies one overlay to a plan, collecting problems; ``run`` returns the new plan or raises."""

    def __init__(self, plan: Plan, overlay: Overlay):
        self.plan = plan
        self.file = overlay.file
        self.data = overlay.data
        self.problems: list[Problem] = []
        self.touched: dict[tuple[str, str], str] = {}  # (table, record key) -> scenario key path
        self.removed_items: dict[str, str] = {}

    def flag(self, path: str, value: Any, message: str, hint: str = "") -> None:
        self.problems.append(Problem(self.file, None, path, _show(value), message, hint))

    def run(self) -> Plan:
        for section in SECTION_ORDER:
            if section in self.data:
                getattr(self, f"_{section}")(self.data[section])
        if not self.problems:
            self.problems += _revalidate(self.plan, self.file, self.touched)
        if self.problems:
            raise PlanError(self.problems, what=f"scenario {self.file}")
        return self.plan

    def set(self, **changes: Any) -> None:
        self.plan = dataclasses.replace(self.plan, **changes)

    def known(self, path: str, value: str, ids, *, what: str, home: str) -> bool:
        if value in ids:
            return True
        hint = v.unknown_hint(value, ids, home=home)
        if value in self.removed_items:
            hint = f"it was removed by {self.removed_items[value]}"
        self.flag(path, value, f"unknown {what} {value!r}", hint)
        return False

    # -- scalars ---------------------------------------------------------------------------
    def _as_of(self, day: dt.date) -> None:
        self.set(as_of=day)
        self._assumption("as_of", day.isoformat(), "as_of")

    def _assumption(self, key: str, value: str, path: str) -> None:
        rows = list(self.plan.assumptions)
        for k, a in enumerate(rows):
            if a.key == key:
                rows[k] = dataclasses.replace(a, value=value, source=f"scenario {self.file}")
                break
        else:
            rows.append(Assumption(key, value, "", f"scenario {self.file}"))
        self.set(assumptions=tuple(rows))
        self.touched[("assumptions", key)] = path

    def _assumptions(self, values: Mapping[str, Any]) -> None:
        known_keys = {a.key for a in self.plan.assumptions} | {"aspirational_uplift", "horizon_years",
                                                               "preconstruction_type", "checkpoints"}
        types = {c.project_type for c in self.plan.duration_classes}
        for key, value in values.items():
            path = f"assumptions.{key}"
            if key not in known_keys:
                self.flag(path, value, f"unknown assumption {key!r}",
                          v.unknown_hint(key, known_keys, home="assumptions.csv key"))
            elif key == "checkpoints":
                self.set(checkpoints=value)
                self._assumption(key, ";".join(d.isoformat() for d in value), path)
            elif key == "preconstruction_type" and not self.known(path, value, types, what="project type",
                                                                 home="duration_classes.csv project_type"):
                continue
            else:
                self._assumption(key, f"{value:g}" if isinstance(value, float) else str(value), path)

    # -- structure: remove and add ---------------------------------------------------------------
    def _remove(self, spec: Mapping[str, Any]) -> None:
        p = self.plan
        for table, attr in (("items", "items"), ("risks", "risks"), ("shocks", "shocks"),
                            ("targets", "targets"), ("factors", "factors")):
            gone: dict[str, str] = {}
            ids = {r.id for r in getattr(p, attr)}
            for k, rid in enumerate(spec.get(table, ())):
                path = f"remove.{table}[{k}]"
                if self.known(path, rid, ids, what=table[:-1], home=f"{table}.csv id"):
                    gone[rid] = path
            if gone:
                self.set(**{attr: tuple(r for r in getattr(self.plan, attr) if r.id not in gone)})
            if table == "items":
                self.removed_items = gone
                self._drop_item_refs(set(gone))
            elif table == "factors" and gone:
                self.set(factor_correlations=tuple(c for c in self.plan.factor_correlations
                                                   if c.a not in gone and c.b not in gone))
            elif table == "targets":
                self._check_target_refs(gone, "target")
        self._check_target_refs(self.removed_items, "item")
        for path, ref in spec.get("links", ()):
            hit = [ln for ln in self.plan.links if ln.pred == ref["pred"] and ln.succ == ref["succ"]
                   and ref.get("type") in (None, ln.type)]
            if not hit:
                self.flag(path, f"{ref['pred']} -> {ref['succ']}", "no such link in links.csv",
                          "give pred, succ (and type) of an existing link")
            self.set(links=tuple(ln for ln in self.plan.links if ln not in hit))
        for path, ref in spec.get("kpi_boosts", ()):
            hit = [b for b in self.plan.kpi_boosts if (b.kpi, b.item) == (ref["kpi"], ref["item"])]
            if not hit:
                self.flag(path, f"{ref['kpi']} / {ref['item']}", "no such KPI boost in kpi_boosts.csv",
                          "give kpi and item of an existing boost")
            self.set(kpi_boosts=tuple(b for b in self.plan.kpi_boosts if b not in hit))

    def _drop_item_refs(self, gone: set[str]) -> None:
        """Links and boosts of removed items go; their ids leave selector lists."""
        p = self.plan
        self.set(links=tuple(ln for ln in p.links if ln.pred not in gone and ln.succ not in gone),
                 kpi_boosts=tuple(b for b in p.kpi_boosts if b.item not in gone),
                 factors=tuple(dataclasses.replace(f, members=_without(f.members, gone)) for f in p.factors),
                 risks=tuple(dataclasses.replace(r, targets=_without(r.targets, gone)) for r in p.risks),
                 shocks=tuple(dataclasses.replace(s, affects=_without(s.affects, gone)) for s in p.shocks))

    def _check_target_refs(self, gone: Mapping[str, str], what: str) -> None:
        changed = self.data.get("targets", {})
        for t in self.plan.targets:
            if "refs" in changed.get(t.id, {}):
                continue
            for ref in t.refs:
                if ref in gone:
                    self.flag(gone[ref], ref, f"{what} {ref} is still a ref of target {t.id}",
                              f"also remove target {t.id} (remove.targets) or change its refs (targets.{t.id}.refs)")

    def _add(self, spec: Mapping[str, Any]) -> None:
        for path, row in spec.get("duration_classes", ()):
            self._new("duration_classes", "project_type", row["project_type"], path, DurationClass(
                row["project_type"], row["name_en"], row["multiplier"],
                row.get("in_progress_sigma_scaling", True), f"scenario {self.file}"))
        for path, row in spec.get("units", ()):
            self._new("units", "id", row["id"], path, Unit(row["id"], row.get("name_zh", row["name_en"]),
                                                            row["name_en"], row.get("capacity"),
                                                            f"scenario {self.file}"))
        for path, row in spec.get("items", ()):
            self._new("items", "id", row["id"], path, self._new_item(row, path))
        for path, row in spec.get("links", ()):
            if row.get("lag_days", 0.0) < 0:
                self.flag(f"{path}.lag_days", row["lag_days"], "lag_days must be >= 0 (leads are not supported)",
                          "model an overlap with an SS link and a positive lag")
                continue
            link = Link(row["pred"], row["succ"], row["type"], row.get("lag_days", 0.0), "", f"scenario {self.file}")
            ids = {it.id for it in self.plan.items}
            for end in ("pred", "succ"):
                self.known(f"{path}.{end}", row[end], ids, what="item", home="items.csv id")
            self.set(links=(*self.plan.links, link))
            self.touched[("links", _link_key(link))] = path
        for path, row in spec.get("risks", ()):
            self._new("risks", "id", row["id"], path, Risk(
                row["id"], row.get("name_zh", row["id"]), row.get("name_en", row["id"]), row["probability"],
                row["impact"], row["targets"], row.get("mode", RiskMode.EACH), row.get("phase", RiskPhase.DURATION),
                f"scenario {self.file}"))
        for path, row in spec.get("shocks", ()):
            self._new("shocks", "id", row["id"], path, Shock(
                row["id"], row.get("name_zh", row["id"]), row.get("name_en", row["id"]), row["probability"],
                row["window_start"], row.get("window_end", row["window_start"]), row["length"], row["affects"],
                f"scenario {self.file}"))
        for path, row in spec.get("targets", ()):
            self._new("targets", "id", row["id"], path, Target(
                row["id"], row.get("name_zh", row.get("name_en", row["id"])), row.get("name_en", row["id"]),
                str(row.get("section", v.TargetSection.HEADLINE)), row["rule"], row["refs"], row["deadline"],
                row.get("k"), row.get("threshold"), "", f"scenario {self.file}"))
        for path, row in spec.get("kpi_boosts", ()):
            boost = KpiBoost(row["kpi"], row["item"], row.get("step", 0.0), row.get("rate_per_year", 0.0),
                             f"scenario {self.file}")
            self.known(f"{path}.kpi", boost.kpi, {k.id for k in self.plan.kpis}, what="KPI", home="kpis.csv id")
            self.known(f"{path}.item", boost.item, {i.id for i in self.plan.items}, what="item", home="items.csv id")
            self.set(kpi_boosts=(*self.plan.kpi_boosts, boost))

    def _new_item(self, row: Mapping[str, Any], path: str) -> Item:
        units = tuple(u.lstrip("*") for u in row.get("units", ()))
        leads = tuple(u.lstrip("*") for u in row.get("units", ()) if u.startswith("*"))
        fields = {k: row[k] for k in ITEM_FIELDS if k in row}
        fields.setdefault("name_zh", row["name_en"])
        return Item(id=row["id"], group=row.get("group", row["id"]), campaign=row["campaign"], units=units,
                    lead_units=leads or (units if len(units) == 1 else ()), source=f"scenario {self.file}",
                    **fields)

    def _new(self, attr: str, key: str, rid: str, path: str, record: Any) -> None:
        rows = getattr(self.plan, attr)
        if any(getattr(r, key) == rid for r in rows):
            self.flag(f"{path}.{key}", rid, f"{attr} already has {key} {rid!r}",
                      f"to change it use the section {attr}: {{{rid}: ...}}; to add, choose a new id")
            return
        self.set(**{attr: (*rows, record)})
        self.touched[(attr, rid)] = path

    # -- changes by id ---------------------------------------------------------------------------
    def _change(self, attr: str, key: str, changes: Mapping[str, Mapping[str, Any]], *, what: str,
                home: str, convert: Callable[[Any, dict, str], dict] | None = None) -> None:
        rows = list(getattr(self.plan, attr))
        index = {getattr(r, key): k for k, r in enumerate(rows)}
        for rid, fields in changes.items():
            path = f"{attr}.{rid}"
            if not self.known(path, rid, index, what=what, home=home):
                continue
            record = rows[index[rid]]
            fields = dict(fields) if convert is None else convert(record, dict(fields), path)
            rows[index[rid]] = dataclasses.replace(record, **fields)
            self.touched[(attr, rid)] = path
        self.set(**{attr: tuple(rows)})

    def _duration_classes(self, changes: Mapping[str, Any]) -> None:
        def convert(cls: DurationClass, f: dict, path: str) -> dict:
            dist = f.pop("multiplier", cls.multiplier)
            if "scale" in f:
                dist = scaled(dist, f.pop("scale"))
            if "sigma_scale" in f:
                factor = f.pop("sigma_scale")
                sigma = _lognormal_sigma(dist)
                if sigma is None:
                    self.flag(f"{path}.sigma_scale", factor, f"sigma_scale needs a lognormal, got {dist.describe()}",
                              "give a lognormal multiplier, or use scale")
                else:
                    dist = Distribution(DistFamily.LOGNORMAL_SIGMA, (dist.params[0], sigma * factor), floor=dist.floor)
            return {**f, "multiplier": dist}
        self._change("duration_classes", "project_type", changes, what="project type",
                     home="duration_classes.csv project_type", convert=convert)

    def _units(self, changes: Mapping[str, Any]) -> None:
        self._change("units", "id", changes, what="unit", home="units.csv id")

    def _calendars(self, changes: Mapping[str, list]) -> None:
        windows = list(self.plan.calendar_windows)
        for name, rows in changes.items():
            for path, row in rows:
                if row["start"] > row["end"]:
                    self.flag(f"{path}.start", row["start"], f"start {row['start']} is after end {row['end']}",
                              "swap or correct the dates")
                windows.append(CalendarWindow(name, row["start"], row["end"], row.get("name_en", ""),
                                              f"scenario {self.file}"))
        self.set(calendar_windows=tuple(windows))

    def _items(self, changes: Mapping[str, Any]) -> None:
        self._change("items", "id", changes, what="item", home="items.csv id")

    def _factors(self, changes: Mapping[str, Any]) -> None:
        self._change("factors", "id", changes, what="factor", home="factors.csv id")

    def _correlations(self, rows: list) -> None:
        corr = list(self.plan.factor_correlations)
        ids = {f.id for f in self.plan.factors}
        for path, row in rows:
            if not (self.known(f"{path}.a", row["a"], ids, what="factor", home="factors.csv id")
                    & self.known(f"{path}.b", row["b"], ids, what="factor", home="factors.csv id")):
                continue
            pair = {row["a"], row["b"]}
            corr = [c for c in corr if {c.a, c.b} != pair]
            corr.append(FactorCorrelation(row["a"], row["b"], row["rho"], f"scenario {self.file}"))
            self.touched[("factor_correlations", "~".join(sorted(pair)))] = path
        self.set(factor_correlations=tuple(corr))

    def _risks(self, changes: Mapping[str, Any]) -> None:
        self._change("risks", "id", changes, what="risk", home="risks.csv id")

    def _shocks(self, changes: Mapping[str, Any]) -> None:
        self._change("shocks", "id", changes, what="shock", home="shocks.csv id")

    def _kpis(self, changes: Mapping[str, Any]) -> None:
        self._change("kpis", "id", changes, what="KPI", home="kpis.csv id")

    def _targets(self, changes: Mapping[str, Any]) -> None:
        self._change("targets", "id", changes, what="target", home="targets.csv id")

    # -- scaling and slips -----------------------------------------------------------------------
    def _adjust(self, rows: list) -> None:
        catalog = catalog_of_plan(self.plan)
        items = list(self.plan.items)
        for path, row in rows:
            bad = v.selector_problems(self.file, 0, f"{path}.select", row["select"], catalog)
            if bad:
                self.problems += [dataclasses.replace(b, row=None) for b in bad]
                continue
            chosen = set(resolve(items, row["select"]))
            statuses = row.get("status")
            hits = [k for k, it in enumerate(items) if it.id in chosen and it.status is not Status.DONE
                    and (statuses is None or it.status in statuses)]
            if not hits:
                self.flag(f"{path}.select", ";".join(row["select"]), "the selection matches no item that is "
                          "not done" + (f" with status {', '.join(statuses)}" if statuses else ""),
                          "check the selectors and the status filter")
                continue
            for k in hits:
                items[k] = self._scaled_item(items[k], row)
                self.touched[("items", items[k].id)] = path
        self.set(items=tuple(items))

    def _scaled_item(self, item: Item, row: Mapping[str, Any]) -> Item:
        if "multiplier_scale" in row:
            item = dataclasses.replace(item, multiplier=scaled(effective_multiplier(self.plan, item),
                                                               row["multiplier_scale"]))
        wait = _wait_days(self.plan, item)
        if "wait_scale" in row and wait > 0:
            work = planned_work_days(self.plan, item)
            start = self.plan.as_of + dt.timedelta(days=int(round(wait * row["wait_scale"])))
            item = dataclasses.replace(item, plan_start=start, duration_days=work)
        return item

    def _slip(self, slips: Mapping[str, float]) -> None:
        by_id = {it.id: it for it in self.plan.items}
        risks = list(self.plan.risks)
        for iid, days in slips.items():
            path = f"slip.{iid}"
            if not self.known(path, iid, by_id, what="item", home="items.csv id"):
                continue
            if by_id[iid].status is Status.DONE:
                self.flag(path, iid, f"item {iid} is done on {self.plan.as_of}; it cannot slip",
                          "slip an item that is not_started or in_progress")
                continue
            rid = SLIP_PREFIX + iid
            risks = [r for r in risks if r.id != rid]
            risks.append(slip_risk(iid, slip_work_days(self.plan, by_id[iid], days), days=days,
                                   source=f"scenario {self.file}"))
            self.touched[("risks", rid)] = path
        self.set(risks=tuple(risks))


def slip_risk(item_id: str, work_days: float, *, days: float | None = None, source: str = "slip") -> Risk:
    """The register entry that carries a fixed slip: ``work_days`` working days added to ``item_id``, always."""
    shown = f"{days:g} days ({work_days:g} working days)" if days is not None else f"{work_days:g} working days"
    return Risk(id=SLIP_PREFIX + item_id, name_zh=f"{item_id}延误", name_en=f"slip of {item_id} by {shown}",
                probability=1.0, impact=Distribution.fixed(work_days), targets=(item_id,), mode=RiskMode.COMMON,
                phase=RiskPhase.DURATION, source=source)


def _without(selectors: tuple[str, ...], gone: set[str]) -> tuple[str, ...]:
    return tuple(s for s in selectors if s not in gone)


def _link_key(link: Link) -> str:
    return f"{link.pred}>{link.succ}>{link.type}"


# --- distributions and planned durations, as the engine compiles them ----------------------------

def scaled(dist: Distribution, factor: float) -> Distribution:
    """The distribution of ``factor * X`` (floor scaled too)."""
    if factor == 1.0:
        return dist
    floor = None if dist.floor is None else dist.floor * factor
    if dist.family is DistFamily.DISCRETE:
        return Distribution(dist.family, values=tuple(x * factor for x in dist.values), weights=dist.weights,
                            floor=floor)
    if dist.family is DistFamily.LOGNORMAL_SIGMA:
        return Distribution(dist.family, (dist.params[0] * factor, dist.params[1]), floor=floor)
    return Distribution(dist.family, tuple(p * factor for p in dist.params), floor=floor)


def _lognormal_sigma(dist: Distribution) -> float | None:
    if dist.family is DistFamily.LOGNORMAL:
        return math.log(dist.params[1] / dist.params[0]) / Z90
    if dist.family is DistFamily.LOGNORMAL_SIGMA:
        return dist.params[1]
    return None


def effective_multiplier(plan: Plan, item: Item) -> Distribution:
    """The multiplier distribution the engine uses for ``item`` before any 力争 uplift.

    Mirrors ``sim.engine.compiled`` (checked by tests/test_scenario.py): the
    item's own distribution, or its reference class's; for an item in progress
    as the plan states it, sigma scaled by sqrt(remaining fraction)
    (CALIBRATION.md §2.1); with a reported percentage complete, by sqrt(share
    left); an item with a reported start (or past its plan date) keeps the
    unscaled distribution, which the engine conditions on the time spent.
    """
    if item.multiplier is not None:
        return item.multiplier
    cls = next(c for c in plan.duration_classes if c.project_type == item.project_type)
    dist, sigma = cls.multiplier, _lognormal_sigma(cls.multiplier)
    if not (cls.in_progress_sigma_scaling and sigma) or item.status is not Status.IN_PROGRESS:
        return dist
    finish = (item.plan_finish - plan.as_of).days + 1
    started = item.actual_start or (item.plan_start if finish <= 0 else None)
    if started is None:
        if item.plan_start is None or (item.plan_start - plan.as_of).days >= 0:
            return dist
        start = (item.plan_start - plan.as_of).days
        share = min(1.0, finish / max(finish - start, 1e-9))
    elif item.percent_complete is not None:
        share = max(1.0 - item.percent_complete, 0.0)
    else:
        return dist
    return Distribution(DistFamily.LOGNORMAL_SIGMA, (dist.params[0], max(sigma * math.sqrt(share), 1e-9)),
                        floor=dist.floor)


def _wait_days(plan: Plan, item: Item) -> int:
    """The planned pre-construction wait in days (0 unless not started with a later plan start)."""
    if item.status is not Status.NOT_STARTED or item.plan_start is None:
        return 0
    return max((item.plan_start - plan.as_of).days, 0)


def _work_clock(plan: Plan, calendar: str) -> Callable[[float], float]:
    """W(t): working days of ``calendar`` in [0, t) from the as-of date, linear inside a working day.

    Mirrors :class:`sim.engine.calendar.WorkCalendar` (every day after the horizon works).
    """
    horizon = int(round(float(plan.assumption("horizon_years") or 15.0) * 366)) + 400
    working = np.ones(horizon, dtype=bool)
    for w in plan.calendar_windows:
        if w.calendar == calendar:
            lo, hi = max((w.start - plan.as_of).days, 0), min((w.end - plan.as_of).days + 1, horizon)
            if lo < hi:
                working[lo:hi] = False
    cum = np.concatenate([[0.0], np.cumsum(working, dtype=np.float64)])

    def work_at(t: float) -> float:
        if t <= 0:
            return min(t, 0.0)
        if t >= horizon:
            return float(cum[horizon] + (t - horizon))
        k = int(math.floor(t))
        return float(cum[k] + working[k] * (t - k))
    return work_at


def planned_work_days(plan: Plan, item: Item) -> float:
    """The planned working days of a not-started ``item`` (plan start to plan date), as the engine derives them.

    Used to keep an item's duration when ``adjust.wait_scale`` moves its plan start.
    """
    if item.duration_days is not None:
        return float(item.duration_days)
    work_at = _work_clock(plan, item.calendar)
    begin = 0 if item.plan_start is None else (item.plan_start - plan.as_of).days
    return max(work_at((item.plan_finish - plan.as_of).days + 1) - work_at(begin), 0.0)


def slip_work_days(plan: Plan, item: Item, days: float) -> float:
    """The working days a slip of ``days`` calendar days adds to ``item``.

    Those of the item's calendar in the ``days`` after the end of its plan
    finish date: an item that would finish on its plan date then finishes
    ``days`` later (negative days: earlier).
    """
    work_at = _work_clock(plan, item.calendar)
    end = (item.plan_finish - plan.as_of).days + 1
    return work_at(end + days) - work_at(end)


# --- re-validation of the resulting plan ------------------------------------------------------

def catalog_of_plan(plan: Plan) -> v.Catalog:
    """The ids a plan defines, as :class:`sim.model.validate.Catalog` (for its checks)."""
    return v.Catalog(
        item_ids=frozenset(i.id for i in plan.items), groups=frozenset(i.group for i in plan.items),
        unit_ids=frozenset(u.id for u in plan.units),
        project_types=frozenset(c.project_type for c in plan.duration_classes),
        calendars=frozenset(w.calendar for w in plan.calendar_windows) | {"construction"},
        kpi_ids=frozenset(k.id for k in plan.kpis), target_ids=frozenset(t.id for t in plan.targets),
        factor_ids=frozenset(f.id for f in plan.factors),
    )


_CSV_LINES = re.compile(r" through [a-z_]+\.csv lines? [\d, ]+")


def _cycle_link_keys(text: str) -> list[str]:
    """Record keys of the links in a printed cycle ``T01 -FS-> T02 -SYNC- T03 -SS-> T01``."""
    tokens = text.split()
    keys = []
    for k in range(1, len(tokens) - 1, 2):
        kind = tokens[k].strip("->")
        keys += [f"{tokens[k - 1]}>{tokens[k + 1]}>{kind}", f"{tokens[k + 1]}>{tokens[k - 1]}>{kind}"]
    return keys


def _revalidate(plan: Plan, file: str, touched: Mapping[tuple[str, str], str]) -> list[Problem]:
    """The checks of :mod:`sim.model.validate` on the new plan, re-addressed to the scenario's keys."""
    cat = catalog_of_plan(plan)
    found: list[Problem] = []

    def where(table: str, key: str, fallback: str) -> str:
        return touched.get((table, key), f"{fallback} ({table} {key})")

    def readdress(problems: list[Problem], records: list, table: str, key: Callable, fallback: str) -> None:
        for p in problems:
            record = records[p.row - 1] if p.row and 0 < p.row <= len(records) else None
            column = where(table, key(record), fallback) if record is not None else fallback
            if table == "links" and p.value and "->" in p.value:  # a cycle: name the scenario's own link in it
                column = next((touched[("links", k)] for k in _cycle_link_keys(p.value)
                               if ("links", k) in touched), column)
            found.append(Problem(file, None, column, p.value, _CSV_LINES.sub("", p.message), p.hint))

    for it in plan.items:
        if ("items", it.id) not in touched:
            continue
        path = touched[("items", it.id)]
        for column, values, known, what in (("project_type", [it.project_type], cat.project_types, "project type"),
                                            ("calendar", [it.calendar], cat.calendars, "calendar"),
                                            ("units", it.units, cat.unit_ids, "unit"),
                                            ("resource_unit", [it.resource_unit or ""], cat.unit_ids, "unit")):
            for p in v.unknown_refs(file, 0, column, values, known, what=what, home=f"{column} of the plan"):
                found.append(dataclasses.replace(p, row=None, column=f"{path}.{column}"))
        if it.plan_start is not None and it.duration_days is None:
            for p in v.date_order(file, 0, ("plan_start", it.plan_start), ("plan_finish", it.plan_finish)):
                found.append(dataclasses.replace(p, row=None, column=f"{path}.plan_start"))
    for table, records, column in (("risks", plan.risks, "targets"), ("shocks", plan.shocks, "affects"),
                                   ("factors", plan.factors, "members")):
        for r in records:
            if (table, r.id) in touched:
                for p in v.selector_problems(file, 0, column, getattr(r, column), cat):
                    found.append(dataclasses.replace(p, row=None, column=f"{touched[(table, r.id)]}.{column}"))
    for s in plan.shocks:
        if (("shocks", s.id) in touched) and s.window_start > s.window_end:
            found.append(Problem(file, None, f"{touched[('shocks', s.id)]}.window_start", s.window_start.isoformat(),
                                 f"window_start {s.window_start} is after window_end {s.window_end}",
                                 "correct the window"))
    links = list(plan.links)
    located = list(enumerate(links, start=1))
    readdress(v.link_problems(located) + v.dependency_cycles(located), links, "links", _link_key, "add.links")
    factors = list(plan.factors)
    readdress(v.loading_problems(list(enumerate(factors, start=1)), list(plan.items)), factors, "factors",
              lambda f: f.id, "factors")
    corr = list(plan.factor_correlations)
    readdress(v.correlation_problems(list(enumerate(corr, start=1)), [f.id for f in factors]), corr,
              "factor_correlations", lambda c: "~".join(sorted((c.a, c.b))), "correlations")
    targets = list(plan.targets)
    for k, t in enumerate(targets, start=1):
        readdress(v.target_rule_problems(k, rule=t.rule, refs=t.refs, k=t.k, threshold=t.threshold, catalog=cat),
                  targets, "targets", lambda t: t.id, "targets")
    readdress(v.target_cycles([(k, t.id, t.refs) for k, t in enumerate(targets, start=1)]), targets, "targets",
              lambda t: t.id, "targets")
    readdress(v.deadline_problems(list(enumerate(targets, start=1)), plan.as_of), targets, "targets",
              lambda t: t.id, "as_of")
    for day in plan.checkpoints:
        if day < plan.as_of:
            found.append(Problem(file, None, touched.get(("assumptions", "checkpoints"), "as_of"), day.isoformat(),
                                 f"checkpoint {day} is before as_of {plan.as_of}", "checkpoints must fall after as_of"))
    for k in plan.kpis:
        if ("kpis", k.id) in touched and str(k.kind) == "counter" and k.rate_per_year < 0:
            found.append(Problem(file, None, f"{touched[('kpis', k.id)]}.rate_per_year", f"{k.rate_per_year:g}",
                                 "a counter's arrival rate must be >= 0", "write a rate of 0 or more"))
    boosts_ok = {k.id for k in plan.kpis}, {i.id for i in plan.items}
    for b in plan.kpi_boosts:
        if b.kpi not in boosts_ok[0] or b.item not in boosts_ok[1]:
            found.append(Problem(file, None, "remove", f"{b.kpi}/{b.item}", "a KPI boost refers to a removed id",
                                 "remove the boost too (remove.kpi_boosts)"))
    return found
