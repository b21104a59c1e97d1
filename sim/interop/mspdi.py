"""Read MS Project XML (MSPDI, namespace ``http://schemas.microsoft.com/project``).

Parsed with defusedxml: a file with a DTD, entity declarations or external
references is refused, never expanded. Durations are ISO 8601 (``PT8H0M0S``)
working time, converted to days with the project's MinutesPerDay; link lags are
in tenths of a minute.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from sim.interop.xer import _merge
from sim.interop.schedule import Calendar, ImportError_, Link, Resource, Schedule, Task, three_point_role

NS = "http://schemas.microsoft.com/project"
LINK_TYPES = {"0": "FF", "1": "FS", "2": "SF", "3": "SS"}
CONSTRAINTS = {"0": None, "1": "ALAP", "2": "MSO", "3": "MFO", "4": "SNET", "5": "SNLT", "6": "FNET", "7": "FNLT"}
#: Task elements the reader maps; other non-empty elements are listed once per name as unmapped.
MAPPED = {"UID", "ID", "Name", "WBS", "OutlineNumber", "OutlineLevel", "Start", "Finish", "Duration", "Milestone",
          "Summary", "PercentComplete", "ActualStart", "ActualFinish", "ConstraintType", "ConstraintDate",
          "CalendarUID", "PredecessorLink", "ExtendedAttribute", "IsNull", "Baseline", "Active"}


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _text(el: Element | None, tag: str) -> str:
    if el is None:
        return ""
    child = el.find(_q(tag))
    return (child.text or "").strip() if child is not None else ""


def _date(value: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value).date()
    except ValueError:
        return None


_DUR = re.compile(r"^-?P(?:(\d+(?:\.\d+)?)D)?T?(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")


def duration_minutes(value: str) -> float | None:
    """Minutes of an MSPDI duration such as ``PT8H0M0S`` (None when it is not one)."""
    m = _DUR.match(value.strip()) if value else None
    if not m:
        return None
    d, h, mi, s = (float(x) if x else 0.0 for x in m.groups())
    return d * 24 * 60 + h * 60 + mi + s / 60


def parse(path: Path) -> Element:
    """The root element of an MSPDI file, parsed safely (no DTD, no entities)."""
    try:
        root = SafeET.parse(str(path)).getroot()
    except DefusedXmlException as exc:
        raise ImportError_(f"{path}: refused: the XML declares a DTD or entities ({type(exc).__name__}); "
                           "MSPDI files need none") from None
    except SafeET.ParseError as exc:
        raise ImportError_(f"{path}: not well-formed XML ({exc})") from None
    if root.tag != _q("Project"):
        raise ImportError_(f"{path}: the root element is {root.tag!r}, not an MS Project <Project> "
                           f"in the namespace {NS}")
    return root


def read_mspdi(path: Path) -> Schedule:
    path = Path(path)
    root = parse(path)
    s = Schedule(source=str(path), format="MSPDI")
    s.name = _text(root, "Title") or _text(root, "Name") or path.stem
    s.status_date = _date(_text(root, "StatusDate")) or _date(_text(root, "CurrentDate"))
    s.start, s.finish = _date(_text(root, "StartDate")), _date(_text(root, "FinishDate"))
    per_day = float(_text(root, "MinutesPerDay") or 480) or 480.0
    default_cal = _text(root, "CalendarUID")
    for cal in root.iter(_q("Calendar")):
        c = _calendar(cal, per_day / 60, s)
        s.calendars[c.uid] = c
    # custom fields: ExtendedAttributes definitions, three-point estimates by alias or name
    roles: dict[str, str] = {}
    for ea in root.findall(f"{_q('ExtendedAttributes')}/{_q('ExtendedAttribute')}"):
        label = _text(ea, "Alias") or _text(ea, "FieldName")
        role = three_point_role(label)
        if role:
            roles[_text(ea, "FieldID")] = role
            s.notes.append(f"custom field {label!r} ({_text(ea, 'FieldName')}) read as the three-point {role} "
                           "(working days)")
        else:
            s.skip(f"ExtendedAttribute {_text(ea, 'FieldID')}", f"custom field {label!r}",
                   "not a three-point estimate (values not mapped)")
    for r in root.iter(_q("Resource")):
        uid = _text(r, "UID")
        if uid and _text(r, "Name"):
            s.resources[uid] = Resource(uid, _text(r, "Initials") or _text(r, "Name"), _text(r, "Name"))
    assigned: dict[str, list[str]] = {}
    for a in root.iter(_q("Assignment")):
        if _text(a, "ResourceUID") in s.resources:
            assigned.setdefault(_text(a, "TaskUID"), []).append(_text(a, "ResourceUID"))
    # tasks, with the outline giving the WBS path (summary tasks are groups, not items)
    outline: dict[int, tuple[str, str]] = {}
    other: dict[str, int] = {}
    raw_links: list[tuple[str, Element]] = []
    for el in root.findall(f"{_q('Tasks')}/{_q('Task')}"):
        uid, name = _text(el, "UID"), _text(el, "Name")
        here = f"Task UID {uid}" + (f" ({name})" if name else "")
        if _text(el, "IsNull") == "1" or not name:
            continue
        level = int(_text(el, "OutlineLevel") or 1)
        if level == 0:  # the project summary task
            continue
        for child in el:
            tag = child.tag.split("}")[-1]
            if tag not in MAPPED and (child.text or "").strip() not in ("", "0", "0.00", "PT0H0M0S"):
                other[tag] = other.get(tag, 0) + 1
        if _text(el, "Summary") == "1":
            outline[level] = (name, _text(el, "WBS") or _text(el, "OutlineNumber"))
            for deeper in [k for k in outline if k > level]:
                del outline[deeper]
            continue
        for deeper in [k for k in outline if k >= level]:
            del outline[deeper]
        wbs = [outline[k] for k in sorted(outline)]
        t = Task(uid=uid, code=_text(el, "WBS") or _text(el, "ID") or uid, name=name,
                 wbs=tuple(n for n, _ in wbs), wbs_codes=tuple(c for _, c in wbs),
                 milestone=_text(el, "Milestone") == "1", row=here,
                 calendar=(_text(el, "CalendarUID") if _text(el, "CalendarUID") not in ("", "-1") else default_cal)
                 or None)
        baseline = next((b for b in el.findall(_q("Baseline")) if _text(b, "Number") == "0"), None)
        t.plan_start = _date(_text(baseline, "Start")) or _date(_text(el, "Start"))
        t.plan_finish = _date(_text(baseline, "Finish")) or _date(_text(el, "Finish"))
        if baseline is not None:
            s.notes.append(f"{here}: plan dates from baseline 0") if len(s.notes) < 200 else None
        minutes = duration_minutes(_text(baseline, "Duration") or _text(el, "Duration"))
        t.duration_days = minutes / per_day if minutes is not None else None
        t.actual_start, t.actual_finish = _date(_text(el, "ActualStart")), _date(_text(el, "ActualFinish"))
        pct = _text(el, "PercentComplete")
        t.percent_complete = float(pct) / 100.0 if pct and (t.actual_start or float(pct) > 0) else None
        ctype = CONSTRAINTS.get(_text(el, "ConstraintType") or "0", "?")
        if ctype == "?":
            s.skip(here, f"ConstraintType={_text(el, 'ConstraintType')}", "unknown constraint type")
        elif ctype:
            t.constraint, t.constraint_date = ctype, _date(_text(el, "ConstraintDate"))
        if _text(el, "Active") == "0":
            s.skip(here, "Active=0", "an inactive task is not imported")
            continue
        values: dict[str, float] = {}
        for ea in el.findall(_q("ExtendedAttribute")):
            role = roles.get(_text(ea, "FieldID"))
            if role:
                minutes = duration_minutes(_text(ea, "Value"))
                try:
                    values[role] = minutes / per_day if minutes is not None else float(_text(ea, "Value"))
                except ValueError:
                    s.skip(here, f"custom field {_text(ea, 'FieldID')}={_text(ea, 'Value')!r}", "not a number")
        if len(values) == 3:
            t.three_point = (values["min"], values["mode"], values["max"])
        elif values:
            s.skip(here, f"three-point fields {sorted(values)}", "incomplete: all of min, mode and max needed")
        t.resources = tuple(assigned.get(uid, ()))
        s.tasks.append(t)
        raw_links += [(uid, pl) for pl in el.findall(_q("PredecessorLink"))]
    for tag, n in sorted(other.items()):
        s.skip(f"Task element {tag}", f"{n} tasks", "not used by the simulator")
    ids = {t.uid for t in s.tasks}
    summaries = {_text(el, "UID") for el in root.findall(f"{_q('Tasks')}/{_q('Task')}") if _text(el, "Summary") == "1"}
    for succ, pl in raw_links:
        pred = _text(pl, "PredecessorUID")
        here = f"Task UID {succ} PredecessorLink from UID {pred}"
        kind = LINK_TYPES.get(_text(pl, "Type") or "1")
        if pred not in ids:
            why = "the predecessor is a summary task" if pred in summaries else "the predecessor is not imported"
            s.skip(here, f"{pred} -> {succ}", why)
            continue
        if _text(pl, "CrossProject") == "1":
            s.skip(here, f"{pred} -> {succ}", "cross-project link")
            continue
        lag = float(_text(pl, "LinkLag") or 0) / 10.0  # tenths of a minute
        fmt = _text(pl, "LagFormat")
        if fmt in ("19", "20"):  # percent lags (of the predecessor's duration)
            s.skip(here, f"LagFormat={fmt} LinkLag={_text(pl, 'LinkLag')}", "a percentage lag is not mapped (lag 0)")
            lag = 0.0
        s.links.append(Link(pred, succ, kind or "?", lag / per_day, here))
    return s


def _calendar(el: Element, hours_per_day: float, s: Schedule) -> Calendar:
    cal = Calendar(_text(el, "UID"), _text(el, "Name"), hours_per_day)
    working = []
    for wd in el.findall(f"{_q('WeekDays')}/{_q('WeekDay')}"):
        day = _text(wd, "DayType")
        if day == "0":  # Project 2003 style exception
            lo = _date(_text(wd.find(_q("TimePeriod")), "FromDate"))
            hi = _date(_text(wd.find(_q("TimePeriod")), "ToDate"))
            if _text(wd, "DayWorking") == "0" and lo and hi:
                cal.holidays.append((lo, hi))
        elif day and _text(wd, "DayWorking") == "1":
            working.append((int(day) + 5) % 7 + 1)  # MSPDI: 1 = Sunday
    if working:
        cal.working_weekdays = tuple(sorted(working))
    for ex in el.findall(f"{_q('Exceptions')}/{_q('Exception')}"):
        tp = ex.find(_q("TimePeriod"))
        lo, hi = _date(_text(tp, "FromDate")), _date(_text(tp, "ToDate"))
        name = _text(ex, "Name") or "exception"
        if _text(ex, "DayWorking") == "1":
            s.skip(f"Calendar {cal.name!r} exception {name!r}", f"{lo}..{hi}", "a working exception adds working "
                   "time; the simulator's calendars only take non-working windows")
            continue
        kind = _text(ex, "Type")
        if kind in ("", "1") and _text(ex, "Period") in ("", "1"):  # one run of days
            if lo and hi:
                cal.holidays.append((lo, hi))
            continue
        try:
            days = recurring_days(ex, lo, hi)
        except ValueError as exc:
            s.skip(f"Calendar {cal.name!r} exception {name!r}",
                   f"recurring type {kind} period {_text(ex, 'Period') or 1} {lo}..{hi}", f"not expanded: {exc}")
            continue
        cal.holidays += [(d, d) for d in days]
        s.notes.append(f"Calendar {cal.name!r} recurring exception {name!r} (type {kind}) expanded into "
                       f"{len(days)} non-working days {lo}..{hi}")
    cal.holidays = _merge(sorted(cal.holidays))
    return cal


#: MSPDI Exception/Type: 1 daily, 2 yearly on a day of a month, 3 yearly on the nth weekday of a month,
#: 4 monthly on a day, 5 monthly on the nth weekday, 6 weekly on some weekdays, 7 every Period days.
_RECURRING = {"1", "2", "3", "4", "5", "6", "7"}


def _nth(year: int, month: int, position: int, item: int) -> dt.date | None:
    """The day of ``month`` picked by MSPDI MonthPosition (0-3: first..fourth, 4: last) and MonthItem
    (0 day, 1 weekday, 2 weekend day, 3-9 Sunday..Saturday)."""
    first = dt.date(year, month, 1)
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    days = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
    if item == 0:
        pool = days
    elif item == 1:
        pool = [d for d in days if d.isoweekday() <= 5]
    elif item == 2:
        pool = [d for d in days if d.isoweekday() >= 6]
    elif 3 <= item <= 9:
        pool = [d for d in days if d.isoweekday() % 7 == item - 3]  # 3 = Sunday (isoweekday 7 -> 0)
    else:
        raise ValueError(f"MonthItem {item} unknown")
    if position == 4:
        return pool[-1]
    if not 0 <= position <= 3:
        raise ValueError(f"MonthPosition {position} unknown")
    return pool[position] if position < len(pool) else None


def _month_day(year: int, month: int, day: int) -> dt.date:
    """Day ``day`` of the month, or its last day when the month is shorter."""
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return min(dt.date(year, month, 1) + dt.timedelta(days=day - 1), nxt - dt.timedelta(days=1))


def recurring_days(ex: Element, lo: dt.date | None, hi: dt.date | None) -> list[dt.date]:
    """Every day of a recurring MSPDI calendar exception, from its FromDate to its ToDate (both included),
    at most Occurrences of them (ValueError for a pattern that cannot be expanded)."""
    kind = _text(ex, "Type")
    if kind not in _RECURRING:
        raise ValueError(f"Type {kind!r} unknown")
    if lo is None or hi is None or hi < lo:
        raise ValueError("no FromDate..ToDate range")
    if (hi - lo).days > 366 * 200:
        raise ValueError("a range of more than 200 years")

    def num(tag: str, default: int) -> int:
        text = _text(ex, tag)
        try:
            return int(text) if text else default
        except ValueError:
            raise ValueError(f"{tag}={text!r} is not a whole number") from None

    period = max(num("Period", 1), 1)
    limit = num("Occurrences", 0) or None
    out: list[dt.date] = []
    if kind in ("1", "7"):
        out = [lo + dt.timedelta(days=k) for k in range(0, (hi - lo).days + 1, period)]
    elif kind == "6":
        mask = num("DaysOfWeek", 0)
        if not mask & 0x7F:
            raise ValueError("no DaysOfWeek")
        week0 = lo - dt.timedelta(days=lo.isoweekday() % 7)  # weeks counted from the Sunday on or before FromDate
        for k in range((hi - lo).days + 1):
            day = lo + dt.timedelta(days=k)
            if ((day - week0).days // 7) % period == 0 and mask & (1 << (day.isoweekday() % 7)):
                out.append(day)
    else:
        yearly = kind in ("2", "3")
        step = 12 if yearly else period
        month0 = (num("Month", 0) + 1) if yearly else lo.month
        year, month = lo.year, month0
        if yearly and dt.date(year, month, 1) < dt.date(lo.year, 1, 1):  # pragma: no cover - month0 >= 1
            year += 1
        while dt.date(year, month, 1) <= hi:
            hit: dt.date | None
            if kind in ("2", "4"):
                hit = _month_day(year, month, num("MonthDay", 1))
            else:
                hit = _nth(year, month, num("MonthPosition", 0), num("MonthItem", 0))
            if hit is not None and lo <= hit <= hi:
                out.append(hit)
            month += step
            year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return out[:limit] if limit else out
