"""Turn a :class:`~sim.interop.schedule.Schedule` into a params directory, with an import report.

What maps to what (docs/interop.md has the full table):

* task -> items.csv row (id from the activity id / WBS code, ASCII-safe and unique);
  milestone -> an item of zero duration plus an ``item_by`` target at its plan date;
* WBS: the first level below what every task shares -> campaign (plan.yaml campaigns,
  labelled with the WBS name); the innermost WBS node -> group;
* planned start/finish -> plan_start/plan_finish; actual start/finish and percent
  complete -> actual_start/actual_finish/percent_complete and the status;
* links FS/SS/FF with their lags -> links.csv (SF: listed as unsupported, with its row);
* calendars -> calendar.csv non-working windows (the exceptions); the most used calendar
  is the default ``construction`` calendar the loader expects;
* constraints: start-no-earlier / must-start -> plan_start; finish-no-later / must-finish
  -> an ``item_by`` target at the constraint date; the others are listed;
* three-point estimates in custom fields / UDFs -> a PERT multiplier of the planned duration;
* resources assigned -> units.csv rows and the items' units (first assignment leads).

Everything else is listed in ``import_report.md`` and on the console.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import shutil
from collections import Counter
from pathlib import Path

from sim.interop.schedule import Schedule, Task, safe_id
from sim.model.load import SCHEMA
from sim.model.links import LINKS
from sim.model.planmeta import EndDate, Label, PlanMeta, dump_meta

REPORT = "import_report.md"
MAPPING = "import_source.json"  # source file and task uid -> item id, for `sim export`
IMPORTED_TYPE = "imported"
MILESTONE_SECTION = "milestones"
PROGRAMME_SECTION = "programme"
#: `sim import --duration-class` choices: a published reference class of docs/calibration.md §2.2 (its anchor
#: key in sim.analysis.calibration.ANCHORS), or ``fixed`` (durations exactly as planned).
DURATION_CLASSES = ("mm_obj1", "erdf", "erdf_gb_nonstd_civil", "erdf_gb_std_civil", "odeck_roads",
                    "gb_nonstd_building_obj1", "gb_equipment_obj1", "fixed")
#: The default: the mixed sample of UK public projects (buildings, civil works, equipment), the least specific
#: published class, for a schedule whose kind of work the import cannot know (docs/calibration.md §2.6).
DEFAULT_DURATION_CLASS = "mm_obj1"


def _csv(rows: list[dict], columns: tuple[str, ...]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", extrasaction="raise")
    w.writeheader()
    for r in rows:
        w.writerow({c: ("" if r.get(c) is None else r.get(c)) for c in columns})
    return buf.getvalue()


# link types a schedule's predecessor links map to: the directed ones of the registry
_DIRECTED_TYPES = frozenset(str(t) for t, k in LINKS.items() if not k.symmetric)


def _d(day: dt.date | None) -> str:
    return day.isoformat() if day else ""


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def schedule_to_params(s: Schedule, out: Path, *, duration_class: str = DEFAULT_DURATION_CLASS) -> dict:
    """Write ``out`` (which must not exist or be empty) from ``s``; return a summary dict."""
    check_new_dir(out)
    files, summary = build_files(s, duration_class=duration_class)
    write_params_dir(out, files)
    return summary


def check_new_dir(out: Path) -> None:
    """Refuse an ``out`` that holds anything, or whose staging folder already exists (never deleted)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not empty: choose a new --out directory")
    partial = out.with_name(out.name + ".partial")
    if partial.exists():
        raise FileExistsError(f"{partial} exists (an interrupted import, or not ours): move it away first")


def write_params_dir(out: Path, files: dict[str, str]) -> None:
    """Write ``files`` (name -> text) into ``<out>.partial`` and rename it to ``out`` only when complete."""
    out = Path(out)
    check_new_dir(out)
    partial = out.with_name(out.name + ".partial")
    partial.mkdir(parents=True)
    try:
        for name, text in files.items():
            (partial / name).write_text(text, encoding="utf-8")
        if out.exists():
            out.rmdir()  # empty (checked above)
        partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)  # the staging folder made just above
        raise


def build_files(s: Schedule, *, duration_class: str = DEFAULT_DURATION_CLASS) -> tuple[dict[str, str], dict]:
    """The params files (name -> text) for ``s`` and a summary."""
    # (task, its finish): the planned finish, or the actual one when the plan gives none
    dated = [(t, f) for t in s.tasks if (f := t.plan_finish or t.actual_finish) is not None]
    tasks = [t for t, _ in dated]
    for t in s.tasks:
        if t not in tasks:
            s.skip(t.row, f"task {t.code}", "no planned or actual finish date")
    if not tasks:
        raise ValueError(f"{s.source}: no task with a finish date to import")
    as_of = s.status_date
    if as_of is None:
        # the earliest planned date of a task (its start, or its finish when it has no start)
        planned = [start for t in tasks if (start := t.plan_start or t.plan_finish) is not None]
        if not planned:
            raise ValueError(f"{s.source}: no status (data) date and no task with a planned start or finish: "
                             "nothing to take the as-of date from; set the file's status date")
        as_of = min(planned)
        s.notes.append(f"the file has no status/data date: as_of = the earliest planned start {as_of}")
    end = max(f for _, f in dated)
    if s.finish and s.finish > end:
        end = s.finish
    # campaigns: the first WBS level below the prefix every task shares
    common = _common_prefix([t.wbs for t in tasks])
    used_ids: set[str] = set()
    campaign_ids: dict[str, str] = {}
    campaign_labels: list[Label] = []

    def campaign_of(t: Task) -> str:
        rest = t.wbs[len(common):]
        name = rest[0] if rest else (common[-1] if common else (s.name or "plan"))
        code = t.wbs_codes[len(common)] if rest and len(t.wbs_codes) > len(common) else "main"
        if name not in campaign_ids:
            campaign_ids[name] = safe_id(name if code == "main" or name else code, used_ids, prefix="C")
            campaign_labels.append(Label(campaign_ids[name], name, name))
        return campaign_ids[name]

    # calendars: the most used one is the default `construction` calendar
    uses = Counter(t.calendar for t in tasks if t.calendar)
    cal_ids: dict[str, str] = {}
    cal_used: set[str] = {"construction"}
    for k, (uid, _n) in enumerate(uses.most_common()):
        cal = s.calendars.get(uid)
        cal_ids[uid] = "construction" if k == 0 else safe_id((cal.name if cal else uid).lower(), cal_used, prefix="cal")
    # units from resources
    unit_ids: dict[str, str] = {}
    used_units: set[str] = set()
    units_rows = []
    for uid in dict.fromkeys(r for t in tasks for r in t.resources):
        res = s.resources[uid]
        unit_ids[uid] = safe_id(res.code or res.name, used_units, prefix="U")
        units_rows.append({"id": unit_ids[uid], "name_zh": res.name or res.code, "name_en": res.name or res.code,
                           "capacity": "", "source": f"{s.format} resource {uid} ({res.name})"})
    for uid, res in s.resources.items():
        if uid not in unit_ids:
            s.skip(f"resource {uid}", f"{res.code} {res.name}", "not assigned to any imported task")
    items, targets, mapping = [], [], {}
    item_ids: set[str] = set()
    weekly: dict[str, tuple[int, ...] | None] = {}
    for seq, (t, finish) in enumerate(dated, start=1):
        iid = safe_id(t.code, item_ids)
        mapping[t.uid] = iid
        start = t.plan_start
        if start and finish and start > finish:
            s.skip(t.row, f"plan_start {start} after plan_finish {finish}", "plan_start set to plan_finish")
            start = finish
        actual_start, actual_finish = t.actual_start, t.actual_finish
        for name, day in (("actual_start", actual_start), ("actual_finish", actual_finish)):
            if day is not None and day > as_of:
                s.skip(t.row, f"{name} {day}", f"after the status date {as_of}: not a fact known on as_of")
        if actual_start and actual_start > as_of:
            actual_start = None
        if actual_finish and actual_finish > as_of:
            actual_finish = None
        status = "done" if actual_finish else "in_progress" if actual_start else "not_started"
        if actual_finish is not None and actual_start is None:  # done (status above)
            actual_start = start if start and start <= actual_finish else actual_finish
        pct = t.percent_complete if status == "in_progress" else None
        source = [f"{s.format} {t.row}"]
        if t.constraint in ("SNET", "MSO") and t.constraint_date:
            if status == "not_started" and (start is None or t.constraint_date > start):
                start = t.constraint_date
                if finish < start:
                    finish = start
                source.append(f"plan_start from the {t.constraint} constraint {t.constraint_date}")
        elif t.constraint in ("FNLT", "MFO") and t.constraint_date:
            if t.constraint_date >= as_of:
                targets.append({"id": safe_id(f"TG_{iid}_{t.constraint}", item_ids), "name_zh": t.name,
                                "name_en": f"{t.name}: by {t.constraint_date} ({t.constraint} constraint)",
                                "section": MILESTONE_SECTION, "rule": "item_by", "refs": iid,
                                "deadline": _d(t.constraint_date), "source": f"{s.format} constraint {t.row}"})
            else:
                s.skip(t.row, f"{t.constraint} {t.constraint_date}", f"constraint date before the status date {as_of}")
        elif t.constraint:
            s.skip(t.row, f"constraint {t.constraint} {_d(t.constraint_date)}",
                   "no counterpart in the simulator (only start-no-earlier and finish-no-later constraints map)")
        dist = p1 = p2 = p3 = ""
        if t.three_point is not None:
            lo, mode, hi = t.three_point
            base = t.duration_days
            if base and base > 0 and 0 <= lo <= mode <= hi and hi > lo:
                dist, p1, p2, p3 = "pert", _fmt(lo / base), _fmt(mode / base), _fmt(hi / base)
                source.append(f"PERT multiplier from the three-point estimate {lo:g}/{mode:g}/{hi:g} working days "
                              f"over the planned {base:g}")
            else:
                s.skip(t.row, f"three-point {t.three_point}", "needs min <= likely <= max and a planned duration > 0")
        cal_id = cal_ids.get(t.calendar or "", "construction")
        weekly[cal_id] = s.calendars[t.calendar].working_weekdays if t.calendar in s.calendars else None
        units = [unit_ids[r] for r in dict.fromkeys(t.resources)]
        items.append({
            "id": iid, "group": safe_id(".".join(t.wbs_codes) or iid, set(), prefix="G"),
            "campaign": campaign_of(t), "seq": seq, "name_zh": t.name or t.code, "name_en": t.name or t.code,
            "units": ";".join(["*" + units[0], *units[1:]]) if units else "", "project_type": IMPORTED_TYPE,
            "status": status, "plan_start": _d(start or finish), "plan_finish": _d(finish),
            "start_aspirational": "false", "finish_aspirational": "false", "plan_text_zh": "",
            "dist": dist, "p1": p1, "p2": p2, "p3": p3, "calendar": cal_id, "outdoor": "false",
            "resource_unit": "", "source": "; ".join(source), "actual_start": _d(actual_start),
            "actual_finish": _d(actual_finish), "percent_complete": "" if pct is None else _fmt(pct),
        })
        if t.milestone and finish and finish < as_of and status != "done":
            s.skip(t.row, f"milestone {iid} due {finish}", f"due before the status date {as_of} and not done: "
                   "no target (the item is simulated as late)")
        if t.milestone and finish and finish >= as_of and status != "done":
            targets.append({"id": safe_id(f"TG_{iid}", item_ids), "name_zh": t.name, "name_en": f"{t.name}: by {finish}",
                            "section": MILESTONE_SECTION, "rule": "item_by", "refs": iid, "deadline": _d(finish),
                            "source": f"{s.format} milestone {t.row}"})
    open_items = [str(r["id"]) for r in items if r["status"] != "done"]
    if open_items and end < as_of:
        s.skip("project", f"finish {end}", f"before the status date {as_of}: no programme target")
    elif open_items:
        targets.insert(0, {"id": "TG_PROGRAMME", "name_zh": f"{s.name}：全部完成", "name_en": f"{s.name}: everything by {end}",
                           "section": PROGRAMME_SECTION, "rule": "all_of", "refs": ";".join(open_items),
                           "deadline": _d(end), "source": f"{s.format} project finish {end}"})
    links, seen = [], set()
    for ln in s.links:
        if ln.type == "SF":
            s.skip(ln.row, f"SF link {mapping.get(ln.pred, ln.pred)} -> {mapping.get(ln.succ, ln.succ)} "
                           f"lag {ln.lag_days:g} d", "start-to-finish links are not supported by the simulator")
            continue
        if ln.type not in _DIRECTED_TYPES:  # FS, SS, FF (SF was skipped above)
            s.skip(ln.row, f"link type {ln.type}", "unknown link type")
            continue
        key = (mapping[ln.pred], mapping[ln.succ], ln.type)
        if key in seen:
            s.skip(ln.row, f"{key}", "the same link twice (kept once)")
            continue
        seen.add(key)
        succ_cal = next((str(r["calendar"]) for r in items if r["id"] == key[1]), "construction")
        week = weekly.get(succ_cal)
        factor = 7.0 / len(week) if week else 1.0
        links.append({"pred": key[0], "succ": key[1], "type": ln.type, "lag_days": _fmt(ln.lag_days * factor),
                      "note": "", "source": f"{s.format} {ln.row}" + (f"; lag {ln.lag_days:g} working days x 7/"
                                                                      f"{len(week)} calendar days" if week and
                                                                      len(week) != 7 and ln.lag_days else "")})
    calendar_rows = []
    for uid, cid in cal_ids.items():
        cal = s.calendars.get(uid)
        cal_name = cal.name if cal else uid
        windows = [(first, last) for first, last in (cal.holidays if cal else [])
                   if last >= as_of - dt.timedelta(days=366)]
        for first, last in windows:  # only when the calendar exists
            calendar_rows.append({"calendar": cid, "start": _d(first), "end": _d(last),
                                  "name_en": f"{cal_name}: non-working exception",
                                  "source": f"{s.format} calendar {uid} ({cal_name})"})
        if not windows:
            eve = as_of - dt.timedelta(days=1)
            calendar_rows.append({"calendar": cid, "start": _d(eve), "end": _d(eve),
                                  "name_en": f"{cal_name}: no non-working exception (placeholder "
                                             "window before as_of so that the calendar exists)",
                                  "source": f"{s.format} calendar {uid}"})
        if cal and cal.working_weekdays and len(cal.working_weekdays) < 7:
            s.skip(f"calendar {uid} ({cal.name})", f"working weekdays {cal.working_weekdays}",
                   "the simulator counts every day outside a window as working: durations are taken from the "
                   "plan dates (their calendar span, weekends included), lags are scaled by 7/working days")
    if "construction" not in cal_ids.values():
        calendar_rows.append({"calendar": "construction", "start": _d(as_of - dt.timedelta(days=1)),
                              "end": _d(as_of - dt.timedelta(days=1)), "name_en": "default calendar (placeholder)",
                              "source": "import: no calendar in the file"})
    checkpoints = sorted({dt.date(y, 12, 31) for y in range(as_of.year, max(end.year, as_of.year) + 1)
                          if as_of < dt.date(y, 12, 31) <= max(end, dt.date(as_of.year, 12, 31))}
                         | ({end} if end > as_of else set()))
    meta = PlanMeta(
        title_zh=s.name, title_en=s.name, document_zh=Path(s.source).name, document_en=Path(s.source).name,
        as_of=as_of, checkpoints=tuple(checkpoints), end_dates=(EndDate(end, f"{end}", f"{end}"),),
        campaigns=tuple(campaign_labels),
        sections=(Label(PROGRAMME_SECTION, "项目完成", "Programme finish"), Label(MILESTONE_SECTION, "里程碑", "Milestones")),
        given=True)
    assumptions = [
        {"key": "horizon_years", "value": str(max(5, end.year - as_of.year + 5)), "unit": "years",
         "source": "assumption: five years beyond the last planned finish, so late items still finish in the run"},
        {"key": "aspirational_uplift", "value": "1.0", "unit": "multiplier",
         "source": "assumption: the imported schedule marks no date as aspirational"},
    ]
    durations = [duration_class_row(duration_class)]
    factors = [{"id": "F_ALL", "name_en": "Common cause across the schedule", "loading": "0.3", "members": "all",
                "source": "assumption: one schedule-wide common cause, loading 0.3 (rank correlation about 0.3 "
                          "between tasks, the programme-wide value of the shipped params); edit for this schedule"}]
    item_cols = SCHEMA["items.csv"][0] + ("actual_start", "actual_finish", "percent_complete")
    files = {
        "assumptions.csv": _csv(assumptions, SCHEMA["assumptions.csv"][0]),
        "units.csv": _csv(units_rows, SCHEMA["units.csv"][0]),
        "items.csv": _csv(items, item_cols),
        "links.csv": _csv(links, SCHEMA["links.csv"][0]),
        "duration_classes.csv": _csv(durations, SCHEMA["duration_classes.csv"][0]),
        "factors.csv": _csv(factors, SCHEMA["factors.csv"][0]),
        "calendar.csv": _csv(calendar_rows, SCHEMA["calendar.csv"][0]),
        "kpis.csv": _csv([], SCHEMA["kpis.csv"][0]),
        "targets.csv": _csv(targets, SCHEMA["targets.csv"][0]),
        "plan.yaml": "# Imported plan metadata (sim import); edit the labels freely.\n" + dump_meta(meta),
        MAPPING: json.dumps({"source": str(Path(s.source).resolve()), "format": s.format, "tasks": mapping},
                            ensure_ascii=False, indent=1) + "\n",
    }
    by_class = sum(1 for r in items if not r["dist"] and r["status"] != "done")
    summary = {"format": s.format, "source": s.source, "as_of": as_of, "end": end, "items": len(items),
               "links": len(links), "targets": len(targets), "units": len(units_rows),
               "calendars": len(cal_ids), "campaigns": len(campaign_labels), "unmapped": len(s.unmapped),
               "by_class": by_class, "duration_class": duration_class,
               "duration_assumption": duration_class_text(duration_class)}
    files[REPORT] = report_text(s, summary)
    return files, summary




def _class_fit(key: str) -> tuple[float, float]:
    """(median, P90) of the lognormal fitted to the reference class ``key`` (un-narrowed: no risk register)."""
    from sim.analysis.calibration import ANCHORS, lognormal_fit
    from sim.model.distribution import Z90
    median, sigma = lognormal_fit(ANCHORS[key])
    return median, median * math.exp(Z90 * sigma)


def duration_class_text(key: str) -> str:
    """One line saying what the duration class of an imported plan is (console and import report)."""
    if key == "fixed":
        return "fixed 1.0 (durations exactly as planned, no duration uncertainty; chosen with --duration-class fixed)"
    from sim.analysis.calibration import ANCHORS
    median, p90 = _class_fit(key)
    return (f"reference class {key} (docs/calibration.md §2.2: {ANCHORS[key].source}), lognormal median "
            f"{median:.4f}, P90 {p90:.4f}")


def duration_class_row(key: str) -> dict:
    """The duration_classes.csv row of the class ``imported`` for ``sim import --duration-class key``."""
    if key not in DURATION_CLASSES:
        raise ValueError(f"--duration-class {key!r}: not one of {', '.join(DURATION_CLASSES)}")
    if key == "fixed":
        return {"project_type": IMPORTED_TYPE, "name_en": "Imported task (durations as planned)", "dist": "fixed",
                "p1": "1.0", "floor": "", "in_progress_sigma_scaling": "true",
                "source": "assumption (sim import --duration-class fixed): durations exactly as planned, no duration "
                          "uncertainty unless the file gives a three-point estimate; docs/calibration.md §2.6"}
    from sim.analysis.calibration import ANCHORS
    median, p90 = _class_fit(key)
    return {"project_type": IMPORTED_TYPE, "name_en": f"Imported task (reference class {key})", "dist": "lognormal",
            "p1": f"{median:.4f}", "p2": f"{p90:.4f}", "floor": "", "in_progress_sigma_scaling": "true",
            "source": f"assumption to review (sim import --duration-class {key}, docs/calibration.md §2.6): the "
                      "imported schedule names no kind of work, so every task without a three-point estimate takes "
                      f"the published reference class {key}: {ANCHORS[key].source}; lognormal fit (§1.5) median "
                      f"{median:.4f}, P90 {p90:.4f}, not narrowed (the import writes no risk register); no floor "
                      "(§2.1)"}


def _common_prefix(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    if not paths:
        return ()
    first = paths[0]
    n = 0
    while n < len(first) and all(len(p) > n and p[n] == first[n] for p in paths):
        n += 1
    if all(len(p) == n for p in paths) and n:  # every task sits in the same node: that node is the campaign
        n -= 1
    return first[:n]


def report_text(s: Schedule, summary: dict) -> str:
    lines = [f"# Import report: {Path(s.source).name}", "",
             f"Format {s.format}, encoding {s.encoding}. As of {summary['as_of']}, last planned finish "
             f"{summary['end']}.", "",
             f"Mapped: {summary['items']} items in {summary['campaigns']} campaigns, {summary['links']} links, "
             f"{summary['targets']} targets, {summary['units']} units, {summary['calendars']} calendars.", ""]
    if summary["by_class"]:
        lines += [f"**Assumption to review:** {summary['by_class']} open items have no three-point estimate in the "
                  f"file; their duration multiplier is the duration class `{IMPORTED_TYPE}`: "
                  f"{summary['duration_assumption']}. Choose another class with `sim import --duration-class`, or "
                  "edit duration_classes.csv, or add three-point estimates (docs/calibration.md, imported plans).",
                  ""]
    if s.notes:
        lines += ["## How fields were read", ""] + [f"- {n}" for n in s.notes] + [""]
    lines += [f"## Not mapped ({len(s.unmapped)})", ""]
    lines += [f"- {u.line()}" for u in s.unmapped] or ["- nothing"]
    return "\n".join(lines) + "\n"
