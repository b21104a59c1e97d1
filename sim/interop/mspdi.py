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
        if _text(ex, "Type") not in ("", "1") or _text(ex, "Period") not in ("", "1"):
            s.skip(f"Calendar {cal.name!r} exception {name!r}",
                   f"recurring type {_text(ex, 'Type')} period {_text(ex, 'Period') or 1} {lo}..{hi}",
                   "only every-day exceptions become non-working windows; this pattern is not expanded")
            continue
        if lo and hi:
            cal.holidays.append((lo, hi))
    cal.holidays = _merge(sorted(cal.holidays))
    return cal
