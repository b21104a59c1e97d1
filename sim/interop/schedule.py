"""A neutral schedule read from P6 (XER), MS Project (MSPDI) or the Excel template.

The readers fill a :class:`Schedule`; :mod:`sim.interop.toparams` turns it into
a params directory. Whatever a reader sees but cannot map is recorded as an
:class:`Unmapped` entry (where, what, why), so that nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field


class ImportError_(Exception):
    """A file that cannot be read as a schedule at all (its message names the file and place)."""


@dataclass
class Unmapped:
    """Something in the source file the import did not carry over, and why."""

    where: str  # table/element and row, e.g. "TASKPRED row 12" or "Task UID 7"
    what: str  # field or record, e.g. "pred_type=PR_SF"
    why: str

    def line(self) -> str:
        return f"{self.where}: {self.what} -- {self.why}"


@dataclass
class Task:
    uid: str
    code: str  # the user-visible activity id / WBS code
    name: str
    wbs: tuple[str, ...] = ()  # names of the WBS ancestors, outermost first (campaign = wbs[0])
    wbs_codes: tuple[str, ...] = ()
    milestone: bool = False
    summary: bool = False
    plan_start: dt.date | None = None
    plan_finish: dt.date | None = None
    actual_start: dt.date | None = None
    actual_finish: dt.date | None = None
    percent_complete: float | None = None  # in [0, 1]
    duration_days: float | None = None  # planned working days
    calendar: str | None = None  # calendar uid
    constraint: str | None = None  # normalised: MSO MFO SNET SNLT FNET FNLT ALAP
    constraint_date: dt.date | None = None
    three_point: tuple[float, float, float] | None = None  # (min, most likely, max) working days
    resources: tuple[str, ...] = ()  # resource uids
    row: str = ""  # where it is in the source


@dataclass
class Link:
    pred: str  # task uid
    succ: str
    type: str  # FS SS FF SF
    lag_days: float = 0.0
    row: str = ""


@dataclass
class Calendar:
    uid: str
    name: str
    hours_per_day: float = 8.0
    holidays: list[tuple[dt.date, dt.date]] = field(default_factory=list)  # inclusive non-working ranges
    working_weekdays: tuple[int, ...] | None = None  # ISO weekdays that are working (1 = Monday)


@dataclass
class Resource:
    uid: str
    code: str
    name: str


@dataclass
class Schedule:
    source: str
    format: str  # "XER", "MSPDI", "xlsx"
    name: str = ""
    status_date: dt.date | None = None  # data date / status date: the as-of date
    start: dt.date | None = None
    finish: dt.date | None = None
    tasks: list[Task] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    calendars: dict[str, Calendar] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    unmapped: list[Unmapped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was mapped and how (for the import report)
    encoding: str = "UTF-8"

    def skip(self, where: str, what: str, why: str) -> None:
        self.unmapped.append(Unmapped(where, what, why))


#: Field labels read as three-point estimates (custom fields / UDFs), case-insensitive.
THREE_POINT = {
    "min": re.compile(r"\b(optimistic|minimum|min|best[ _-]?case|low)\b", re.I),
    "mode": re.compile(r"\b(most[ _-]?likely|likely|mode|ml)\b", re.I),
    "max": re.compile(r"\b(pessimistic|maximum|max|worst[ _-]?case|high)\b", re.I),
}


def three_point_role(label: str) -> str | None:
    """``min``, ``mode`` or ``max`` when a custom field's label names a three-point estimate."""
    if not re.search(r"dur|estimate|days|three|3[ -]?point|pert|optimistic|pessimistic|likely", label, re.I):
        return None
    for role, rx in THREE_POINT.items():
        if rx.search(label):
            return role
    return None


_ID_BAD = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_id(text: str, used: set[str], *, prefix: str = "T") -> str:
    """An ASCII id for ``text`` (``[A-Za-z0-9_.-]``), unique against ``used`` (which it extends)."""
    base = _ID_BAD.sub("_", text.strip()).strip("_.-") or prefix
    if not base[0].isalpha():  # an id of digits only would be read as a number by spreadsheets and pandas
        base = prefix + base
    ident, k = base, 2
    while ident in used:
        ident, k = f"{base}_{k}", k + 1
    used.add(ident)
    return ident
