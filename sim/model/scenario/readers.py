"""Typed values of a scenario file, read with every problem named by its dotted key path.

A reader is called as ``reader(r, value, path)``: ``r`` is the :class:`Reader`
collecting the problems of one file, ``value`` what YAML gave, ``path`` the
dotted key path (``items.T14.multiplier.p2``). It returns the typed value, or
None after flagging the problem. Readers with options (:func:`number`,
:func:`choice`, :func:`record` ...) are made by calling them first.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from sim.model.csvio import FIRST_YEAR, LAST_YEAR, MAX_MAGNITUDE
from sim.model.clock import DAYS_PER_MONTH, DAYS_PER_YEAR
from sim.model.distribution import FAMILY_CHOICE, Distribution
from sim.model.distribution import family as registry_family
from sim.model.enums import Status
from sim.model.problems import Problem

MONTH_DAYS = DAYS_PER_MONTH  # a month in a duration such as "6m"
_UNIT_DAYS = {"": 1.0, "d": 1.0, "w": 7.0, "m": MONTH_DAYS, "y": DAYS_PER_YEAR}
_DURATION = re.compile(r"([+-]?\d+(?:\.\d+)?)\s*([dwmy]?)")
ID = re.compile(r"[A-Za-z0-9_.-]+")
DURATION_HINT = "write days as a number (45) or a duration: 10d, 2w, 6m (= 6 x 30.44 days), 1y"


def parse_duration(value: Any) -> float | None:
    """Days in a duration: a number of days, or text ``<n>d|w|m|y`` (m = DAYS_PER_YEAR / 12 days); None if unreadable."""
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

class Reader:
    """Collects the problems of one scenario file while its values are read."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def flag(self, path: str, value: Any, message: str, hint: str = "") -> None:
        self.problems.append(Problem(self.file, None, path or None, show(value), message, hint))

    def read(self, reader: Callable, value: Any, path: str) -> tuple[Any, bool]:
        """``reader``'s typed value and whether it flagged nothing (only clean values are kept)."""
        n = len(self.problems)
        typed = reader(self, value, path)
        return typed, len(self.problems) == n

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
            typed, clean = self.read(spec[key], raw, sub)
            if clean:
                out[key] = typed
        for key in required:
            if key not in value:
                self.flag(f"{path}.{key}" if path else key, None, f"{key} is required here",
                          f"add {key}: ... (see scenarios/README.md)")
        return out


def show(value: Any) -> str | None:
    """``value`` as a problem shows it: dates ISO, long text cut at 80 characters."""
    if value is None:
        return None
    shown = value.isoformat() if isinstance(value, dt.date) else str(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _key_hint(key: str, spec: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(key, list(spec), n=2, cutoff=0.6)
    if close:
        return f"did you mean {' or '.join(close)}? (see scenarios/README.md)"
    return "allowed keys here: " + ", ".join(spec)


def text(r: Reader, value: Any, path: str) -> str | None:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    r.flag(path, value, f"{path} must be text", "write a string, e.g. name_en: Ring Road")
    return None


def ident(r: Reader, value: Any, path: str) -> str | None:
    if isinstance(value, str) and ID.fullmatch(value):
        return value
    r.flag(path, value, f"{path} must be an id (ASCII letters, digits, '_', '.', '-')", "e.g. T14 or OH_GOV")
    return None


def number(low: float | None = None, high: float | None = None, *, above: float | None = None,
           integer: bool = False) -> Callable:
    def read(r: Reader, value: Any, path: str) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            r.flag(path, value, f"{path} must be a number", "write a plain number such as 0.3 (not 30%)")
            return None
        if abs(value) > MAX_MAGNITUDE:
            r.flag(path, value, f"{path} is out of range (more than {MAX_MAGNITUDE:g} in size)", "correct the value")
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


def nullable(reader: Callable) -> Callable:
    def read(r: Reader, value: Any, path: str) -> Any:
        return None if value is None else reader(r, value, path)
    return read


def boolean(r: Reader, value: Any, path: str) -> bool | None:
    if isinstance(value, bool):
        return value
    r.flag(path, value, f"{path} must be true or false", "write true or false")
    return None


def date(r: Reader, value: Any, path: str) -> dt.date | None:
    parsed = None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    if parsed is None:
        r.flag(path, value, f"{path} must be a date YYYY-MM-DD", "e.g. 2020-02-08")
        return None
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        r.flag(path, str(value), f"{path} is outside the years {FIRST_YEAR}-{LAST_YEAR} the calendars cover",
               "give a date of the plan's years")
        return None
    return parsed


def dates(r: Reader, value: Any, path: str) -> tuple[dt.date, ...] | None:
    if isinstance(value, str):
        value = [s for s in value.split(";") if s.strip()]
    if not isinstance(value, list) or not value:
        r.flag(path, value, f"{path} must be a list of dates", "e.g. [2020-12-31, 2021-12-31]")
        return None
    out = [date(r, d, f"{path}[{k}]") for k, d in enumerate(value)]
    given = [d for d in out if d is not None]
    return None if len(given) < len(out) else tuple(sorted(given))


def duration(r: Reader, value: Any, path: str) -> float | None:
    days = parse_duration(value)
    if days is None:
        r.flag(path, value, f"{path} must be a duration", DURATION_HINT)
    return days


def choice(options: Any) -> Callable:
    def read(r: Reader, value: Any, path: str) -> Any:
        try:
            return options(value)
        except ValueError:
            r.flag(path, value, f"{path}: unknown value {value!r}",
                   "allowed values: " + ", ".join(o.value for o in options))
            return None
    return read


def _strings(r: Reader, value: Any, path: str, *, what: str) -> tuple[str, ...] | None:
    """A list of strings, or one string with ';'-separated entries (as in the CSV cells)."""
    if isinstance(value, str):
        value = [s.strip() for s in value.split(";") if s.strip()]
    if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
        r.flag(path, value, f"{path} must be a list of {what}", f"e.g. [{'all' if what == 'selectors' else 'T14'}]")
        return None
    return tuple(s.strip() for s in value)


def selectors(r: Reader, value: Any, path: str) -> tuple[str, ...] | None:
    return _strings(r, value, path, what="selectors")


def ids(r: Reader, value: Any, path: str) -> tuple[str, ...] | None:
    out = _strings(r, value, path, what="ids")
    if out is not None:
        for k, s in enumerate(out):
            ident(r, s, f"{path}[{k}]")
    return out


def unit_ids(r: Reader, value: Any, path: str) -> tuple[str, ...] | None:
    """Unit ids, the lead ones marked ``*`` as in items.csv."""
    out = _strings(r, value, path, what="unit ids")
    if out is not None:
        for k, s in enumerate(out):
            ident(r, s.lstrip("*"), f"{path}[{k}]")
    return out


def statuses(r: Reader, value: Any, path: str) -> tuple[Status, ...] | None:
    out = _strings(r, value, path, what="statuses")
    if out is None:
        return None
    read = choice(Status)
    found = tuple(read(r, s, f"{path}[{k}]") for k, s in enumerate(out))
    return None if None in found else found


def distribution(*, days: bool) -> Callable:
    """A distribution: ``{dist, p1, p2, p3, floor}`` or ``{dist: discrete, values, weights}``, or a bare
    number (fixed). With ``days`` the parameters may be durations such as ``0.75m``."""
    param = duration if days else number()
    spec = {"dist": choice(FAMILY_CHOICE), "p1": param, "p2": param, "p3": param, "floor": param,
            "values": list_of_numbers(param), "weights": list_of_numbers(number(low=0))}

    def read(r: Reader, value: Any, path: str) -> Distribution | None:
        if not isinstance(value, dict):
            fixed = param(r, value, path)
            return None if fixed is None else Distribution.fixed(fixed)
        n = len(r.problems)
        got = r.fields(value, path, spec, required=("dist",))
        if got is None or len(r.problems) > n:
            return None
        family = got["dist"]
        if registry_family(family).tabulated:
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
            dist = Distribution(family, tuple(p for p in params if p is not None), floor=got.get("floor"))
        for message in dist.problems():
            r.flag(path, dist.describe() if not registry_family(family).tabulated else value, message,
                   "correct the parameters (see params/README.md, Distributions)")
        return dist
    return read


def list_of_numbers(item: Callable) -> Callable:
    def read(r: Reader, value: Any, path: str) -> tuple[float, ...] | None:
        if not isinstance(value, list) or not value:
            r.flag(path, value, f"{path} must be a list of numbers", "e.g. [1.0, 1.25, 1.5]")
            return None
        out = [item(r, x, f"{path}[{k}]") for k, x in enumerate(value)]
        return None if None in out else tuple(out)
    return read


def record(spec: Mapping[str, Callable], *, required: tuple[str, ...] = ()) -> Callable:
    def read(r: Reader, value: Any, path: str) -> dict | None:
        return r.fields(value, path, spec, required=required)
    return read


def by_id(reader: Callable) -> Callable:
    """A mapping id -> value; ids must look like ids."""
    def read(r: Reader, value: Any, path: str) -> dict | None:
        if not isinstance(value, dict):
            r.flag(path, value, f"{path} must be a mapping of ids to values", f"e.g. {path}: {{T14: ...}}")
            return None
        out = {}
        for key, raw in value.items():
            key = str(key)
            sub = f"{path}.{key}"
            if not ID.fullmatch(key):
                r.flag(sub, key, f"{key!r} is not an id", "ids use ASCII letters, digits, '_', '.', '-'")
                continue
            typed, clean = r.read(reader, raw, sub)
            if clean:
                out[key] = typed
        return out
    return read


def list_of(reader: Callable) -> Callable:
    def read(r: Reader, value: Any, path: str) -> list | None:
        if not isinstance(value, list):
            r.flag(path, value, f"{path} must be a list", f"write {path}: followed by '- ...' entries")
            return None
        out = []
        for k, raw in enumerate(value):
            typed, clean = r.read(reader, raw, f"{path}[{k}]")
            if clean:
                out.append((f"{path}[{k}]", typed))
        return out
    return read
