"""Read and write Primavera P6 XER files (tab-separated tables: ``%T`` name, ``%F`` fields, ``%R`` rows).

A focused reader of the tables the simulator maps (PROJECT, PROJWBS, TASK,
TASKPRED, CALENDAR, RSRC, TASKRSRC, UDFTYPE, UDFVALUE); every other table is
listed as unmapped with its row count. Why our own reader and not MPXJ: see
docs/interop.md (no Java runtime needed; the format is plain text).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from sim.interop.schedule import Calendar, ImportError_, Link, Resource, Schedule, Task, three_point_role

MAPPED_TABLES = {"PROJECT", "PROJWBS", "TASK", "TASKPRED", "CALENDAR", "RSRC", "TASKRSRC", "UDFTYPE", "UDFVALUE"}
#: Tables that carry nothing a schedule-risk model uses (currencies, org chart, codes, rates): listed, not mapped.
LINK_TYPES = {"PR_FS": "FS", "PR_SS": "SS", "PR_FF": "FF", "PR_SF": "SF"}
CONSTRAINTS = {  # P6 cstr_type -> normalised constraint
    "CS_MSO": "MSO", "CS_MANDSTART": "MSO", "CS_MSOA": "SNET", "CS_MSOB": "SNLT",
    "CS_MEO": "MFO", "CS_MANDFIN": "MFO", "CS_MEOA": "FNET", "CS_MEOB": "FNLT", "CS_ALAP": "ALAP",
}
EXCEL_EPOCH = dt.date(1899, 12, 30)  # P6 calendar exceptions are day serials from this date


def read_tables(path: Path) -> tuple[dict[str, list[dict[str, str]]], dict[str, list[int]], str, str]:
    """(tables, source line of each row, header line, encoding) of an XER file."""
    raw = Path(path).read_bytes()
    for encoding in ("utf-8-sig", "cp1252", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - latin-1 decodes anything
        text, encoding = raw.decode("latin-1"), "latin-1"
    lines = text.splitlines()
    if not lines or not lines[0].startswith("ERMHDR"):
        raise ImportError_(f"{path}: line 1 does not start with ERMHDR: not a Primavera XER file")
    tables: dict[str, list[dict[str, str]]] = {}
    where: dict[str, list[int]] = {}
    name, fields = None, None
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        tag = cells[0]
        if tag == "%T":
            name, fields = (cells[1].strip() if len(cells) > 1 else ""), None
            tables.setdefault(name, [])
            where.setdefault(name, [])
        elif tag == "%F":
            if name is None:
                raise ImportError_(f"{path} line {n}: %F before any %T table name")
            fields = [c.strip() for c in cells[1:]]
        elif tag == "%R":
            if fields is None or name is None:
                raise ImportError_(f"{path} line {n}: %R row before the %F field list of its table")
            values = cells[1:] + [""] * (len(fields) - len(cells) + 1)
            tables[name].append(dict(zip(fields, values)))
            where[name].append(n)
        elif tag == "%E":
            break
        else:
            raise ImportError_(f"{path} line {n}: unknown record tag {tag[:10]!r} (expected %T, %F, %R or %E)")
    return tables, where, lines[0], ("UTF-8" if encoding == "utf-8-sig" else encoding)


def _date(value: str | None) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.datetime.strptime(value[:16], "%Y-%m-%d %H:%M").date() if " " in value \
            else dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _num(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


_EXC = re.compile(r"\(0\|\|\d+\(d\|(\d+)\)\([\s\x7f]*\)[\s\x7f]*\)")  # a non-working exception: (d|serial), no hours
_WORKING_EXC = re.compile(r"\(0\|\|\d+\(d\|(\d+)\)\([\s\x7f]*\(0\|\|\d+\(s\|([0-9:]+)\|f\|([0-9:]+)")  # with hours
_DAY = re.compile(r"\(0\|\|([1-7])\(\)")  # a day of the week (1 = Sunday)


def _calendar(row: dict[str, str], s: Schedule | None = None, where: str = "CALENDAR") -> Calendar:
    data = row.get("clndr_data", "")
    cal = Calendar(row.get("clndr_id", ""), row.get("clndr_name", ""), _num(row.get("day_hr_cnt")) or 8.0)
    for serial in _EXC.findall(data):
        day = EXCEL_EPOCH + dt.timedelta(days=int(serial))
        cal.holidays.append((day, day))
    for serial, start, finish in _WORKING_EXC.findall(data):
        if s is not None:
            day = EXCEL_EPOCH + dt.timedelta(days=int(serial))
            s.skip(f"{where} ({cal.name})", f"exception {day} working {start}-{finish}",
                   "a working exception adds working time; the simulator's calendars only take non-working windows")
    week = data.split("Exceptions()")[0]
    marks = list(_DAY.finditer(week))
    if marks:  # P6 numbers days 1 = Sunday .. 7 = Saturday; a working day has start times (s|08:00)
        ends = [m.start() for m in marks[1:]] + [len(week)]
        cal.working_weekdays = tuple(sorted(((int(m.group(1)) + 5) % 7) + 1 for m, end in zip(marks, ends)
                                            if "s|" in week[m.end():end]))
    cal.holidays = _merge(sorted(cal.holidays))
    return cal


def _merge(days: list[tuple[dt.date, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    out: list[tuple[dt.date, dt.date]] = []
    for lo, hi in days:
        if out and lo <= out[-1][1] + dt.timedelta(days=1):
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return out


def read_xer(path: Path, *, project: str | None = None) -> Schedule:
    """Read ``path`` into a :class:`Schedule` (one project: ``project`` short name, or the only/first one)."""
    path = Path(path)
    tables, where, header, encoding = read_tables(path)
    s = Schedule(source=str(path), format="XER", encoding=encoding)
    projects = tables.get("PROJECT", [])
    if not projects:
        raise ImportError_(f"{path}: no PROJECT table rows: nothing to import")
    chosen = next((p for p in projects if p.get("proj_short_name") == project), None) if project else projects[0]
    if chosen is None:
        names = ", ".join(p.get("proj_short_name", "") for p in projects)
        raise ImportError_(f"{path}: no project {project!r} (projects in the file: {names})")
    for p, line in zip(projects, where["PROJECT"]):
        if p is not chosen:
            s.skip(f"PROJECT line {line}", f"project {p.get('proj_short_name')}", "another project of the file "
                   "(import it with --project)")
    pid = chosen.get("proj_id", "")
    s.name = chosen.get("proj_short_name", "")
    s.status_date = _date(chosen.get("last_recalc_date")) or _date(chosen.get("next_data_date"))
    s.start, s.finish = _date(chosen.get("plan_start_date")), _date(chosen.get("scd_end_date") or
                                                                     chosen.get("plan_end_date"))
    for name, rows in tables.items():
        if name not in MAPPED_TABLES and rows:
            s.skip(f"table {name}", f"{len(rows)} rows", "not used by the simulator")
    # WBS: names of ancestors, outermost first (the project node itself left out)
    wbs = {w["wbs_id"]: w for w in tables.get("PROJWBS", []) if w.get("proj_id") == pid}
    s.name = next((w.get("wbs_name", "") for w in wbs.values() if w.get("proj_node_flag") == "Y"), "") or s.name

    def path_of(wbs_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        names: list[str] = []
        codes: list[str] = []
        seen: set[str] = set()
        while wbs_id in wbs and wbs_id not in seen:
            seen.add(wbs_id)
            w = wbs[wbs_id]
            if w.get("proj_node_flag") == "Y":
                break
            names.append(w.get("wbs_name", ""))
            codes.append(w.get("wbs_short_name", ""))
            wbs_id = w.get("parent_wbs_id", "")
        return tuple(reversed(names)), tuple(reversed(codes))

    for row, line in zip(tables.get("CALENDAR", []), where.get("CALENDAR", [])):
        cal = _calendar(row, s, f"CALENDAR line {line}")
        s.calendars[cal.uid] = cal
    hours = {uid: c.hours_per_day for uid, c in s.calendars.items()}
    udf_role = {}
    for u, line in zip(tables.get("UDFTYPE", []), where.get("UDFTYPE", [])):
        role = three_point_role(u.get("udf_type_label", "")) if u.get("table_name") == "TASK" else None
        if role:
            udf_role[u["udf_type_id"]] = role
            s.notes.append(f"UDF {u.get('udf_type_label')!r} read as the three-point {role} (working days)")
        else:
            s.skip(f"UDFTYPE line {line}", f"{u.get('table_name')} UDF {u.get('udf_type_label')!r}",
                   "not a three-point estimate (values not mapped)")
    three: dict[str, dict[str, float]] = {}
    for u in tables.get("UDFVALUE", []):
        role = udf_role.get(u.get("udf_type_id", ""))
        number = _num(u.get("udf_number"))
        if role and number is not None:
            three.setdefault(u.get("fk_id", ""), {})[role] = number
    for r in tables.get("RSRC", []):
        s.resources[r["rsrc_id"]] = Resource(r["rsrc_id"], r.get("rsrc_short_name", "") or r["rsrc_id"],
                                             r.get("rsrc_name", ""))
    assigned: dict[str, list[str]] = {}
    for a in tables.get("TASKRSRC", []):
        if a.get("proj_id", pid) == pid and a.get("rsrc_id") in s.resources:
            assigned.setdefault(a.get("task_id", ""), []).append(a["rsrc_id"])
    for row, line in zip(tables.get("TASK", []), where.get("TASK", [])):
        if row.get("proj_id") != pid:
            continue
        here = f"TASK line {line} ({row.get('task_code')})"
        kind = row.get("task_type", "")
        if kind in ("TT_LOE", "TT_WBS"):
            s.skip(here, f"task_type={kind}", "level-of-effort and WBS-summary activities span others: not a task")
            continue
        h = hours.get(row.get("clndr_id", ""), 8.0) or 8.0
        wbs_names, wbs_codes = path_of(row.get("wbs_id", ""))
        t = Task(uid=row["task_id"], code=row.get("task_code", "") or row["task_id"], name=row.get("task_name", ""),
                 wbs=wbs_names, wbs_codes=wbs_codes, milestone=kind in ("TT_Mile", "TT_FinMile"), row=here,
                 calendar=row.get("clndr_id") or None)
        t.plan_start = _date(row.get("target_start_date")) or _date(row.get("early_start_date"))
        t.plan_finish = _date(row.get("target_end_date")) or _date(row.get("early_end_date"))
        t.actual_start, t.actual_finish = _date(row.get("act_start_date")), _date(row.get("act_end_date"))
        target = _num(row.get("target_drtn_hr_cnt"))
        t.duration_days = target / h if target is not None else None
        t.percent_complete = _percent(row, target)
        status = row.get("status_code", "")
        if status == "TK_Complete" and t.actual_finish is None:
            t.actual_finish = t.plan_finish
            s.skip(here, "status TK_Complete without act_end_date", "the planned finish is taken as the actual")
        ctype = row.get("cstr_type", "")
        if ctype:
            if ctype in CONSTRAINTS:
                t.constraint, t.constraint_date = CONSTRAINTS[ctype], _date(row.get("cstr_date"))
            else:
                s.skip(here, f"cstr_type={ctype}", "unknown constraint type")
        if row.get("cstr_type2"):
            s.skip(here, f"cstr_type2={row.get('cstr_type2')} {row.get('cstr_date2', '')}",
                   "a secondary constraint is not mapped")
        if t.uid in three and len(three[t.uid]) == 3:
            v = three[t.uid]
            t.three_point = (v["min"], v["mode"], v["max"])
        elif t.uid in three:
            s.skip(here, f"three-point UDFs {sorted(three[t.uid])}", "incomplete: all of min, mode and max needed")
        t.resources = tuple(assigned.get(t.uid, ()))
        s.tasks.append(t)
    ids = {t.uid for t in s.tasks}
    for row, line in zip(tables.get("TASKPRED", []), where.get("TASKPRED", [])):
        here = f"TASKPRED line {line}"
        link_type = LINK_TYPES.get(row.get("pred_type", ""))
        pred, succ = row.get("pred_task_id", ""), row.get("task_id", "")
        if succ not in ids and pred not in ids:
            continue  # a link of another project
        if pred not in ids or succ not in ids:
            s.skip(here, f"{pred} -> {succ}", "one end is not an imported task (another project, LOE or WBS)")
            continue
        if link_type is None:
            s.skip(here, f"pred_type={row.get('pred_type')}", "unknown link type")
            continue
        succ_cal = next((t.calendar for t in s.tasks if t.uid == succ), "")
        h = (hours.get(succ_cal, 8.0) if succ_cal is not None else 8.0) or 8.0
        s.links.append(Link(pred, succ, link_type, (_num(row.get("lag_hr_cnt")) or 0.0) / h, here))
    s.notes.append(f"XER header: {header.split(chr(9))[1] if chr(9) in header else header}; encoding {encoding}")
    return s


def _percent(row: dict[str, str], target_hours: float | None) -> float | None:
    kind = row.get("complete_pct_type", "")
    if row.get("status_code") == "TK_NotStart":
        return None
    if row.get("status_code") == "TK_Complete":
        return 1.0
    if kind == "CP_Phys":
        v = _num(row.get("phys_complete_pct"))
        return None if v is None else v / 100.0
    if kind == "CP_Units":
        act, left = _num(row.get("act_work_qty")) or 0.0, _num(row.get("remain_work_qty")) or 0.0
        return act / (act + left) if act + left > 0 else None
    rem = _num(row.get("remain_drtn_hr_cnt"))
    if target_hours and rem is not None:
        return min(max(1.0 - rem / target_hours, 0.0), 1.0)
    return None
