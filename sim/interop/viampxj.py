"""Read any schedule format MPXJ reads (MS Project .mpp/.mpt, .mpx, P6 XML .pmxml, Asta .pp, GanttProject
.gan, ...) into the same :class:`~sim.interop.schedule.Schedule` the own XER and MSPDI readers fill.

MPXJ (https://www.mpxj.org, LGPL) is a Java library; its Python package ``mpxj`` runs it through JPype
in a Java virtual machine started once per process. Both are an optional extra
(``pip install 'daluo-sim[schedule]'``) and need a Java runtime (Debian: ``default-jre-headless``).
Without them :func:`read_with_mpxj` raises a one-line :class:`ImportError_` saying how to install them.

The mapping is the own readers' (docs/interop.md): P6 sources (XER, PMXML) take the P6 planned dates,
MS Project sources baseline 0, else the scheduled dates; summary and WBS tasks are groups; the project
node or summary task is left out of the WBS path; whatever is seen but not mapped is listed.

The JVM runs in a child process (``python -c ... _child``), never in the caller's: a process that
hosts a JVM must not fork (a forked worker pool deadlocks on the JVM's threads), and the simulator
forks workers. The child sends the schedule back as JSON (dates as ISO strings), never as a pickle.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sim.interop.schedule import Calendar, ImportError_, Link, Resource, Schedule, Task, three_point_role
from sim.interop.xer import _merge

#: File suffixes read only through MPXJ (.xer and .xml have own readers; ``--reader mpxj`` uses MPXJ for them).
MPXJ_SUFFIXES = {".mpp": "MPP", ".mpt": "MPP", ".mpx": "MPX", ".pmxml": "PMXML", ".pp": "Asta Powerproject",
                 ".gan": "GanttProject", ".planner": "Planner", ".pod": "ProjectLibre", ".fts": "FastTrack",
                 ".cdpx": "ConceptDraw", ".ppx": "Phoenix", ".sdef": "SDEF", ".prx": "P3", ".stx": "SureTrak"}
INSTALL = ("pip install 'daluo-sim[schedule]' (or: pip install mpxj jpype1) and a Java runtime "
           "(Debian/Ubuntu: apt-get install default-jre-headless)")
P6_TYPES = {"XER", "PMXML", "P3", "SureTrak"}
LINK_TYPES = {"FINISH_START": "FS", "START_START": "SS", "FINISH_FINISH": "FF", "START_FINISH": "SF"}
CONSTRAINTS = {"AS_SOON_AS_POSSIBLE": None, "AS_LATE_AS_POSSIBLE": "ALAP", "MUST_START_ON": "MSO",
               "START_ON": "MSO", "MANDATORY_START": "MSO", "MUST_FINISH_ON": "MFO", "FINISH_ON": "MFO",
               "MANDATORY_FINISH": "MFO", "START_NO_EARLIER_THAN": "SNET", "START_NO_LATER_THAN": "SNLT",
               "FINISH_NO_EARLIER_THAN": "FNET", "FINISH_NO_LATER_THAN": "FNLT"}


def start_jvm(path: Path | str = "") -> None:
    """Start MPXJ's Java virtual machine once (ImportError_ naming ``path`` and how to install when it cannot)."""
    try:
        import jpype
        import mpxj  # noqa: F401  (puts MPXJ's jars on the class path)
    except ImportError:
        raise ImportError_(f"{path}: reading this format needs MPXJ, which is not installed: {INSTALL}") from None
    if jpype.isJVMStarted():
        return
    try:
        # a simple logger: without it Log4j prints "could not find a logging provider" on stderr
        jpype.startJVM("-Dlog4j2.loggerContextFactory=org.apache.logging.log4j.simple.SimpleLoggerContextFactory",
                       "-Dlog4j2.level=OFF", convertStrings=True)
    except (jpype.JVMNotFoundException, jpype.JVMNotSupportedException, OSError, RuntimeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImportError_(f"{path}: MPXJ needs a Java runtime and none could be started ({reason}): "
                           f"{INSTALL}") from None


def mpxj_available() -> str | None:
    """None when MPXJ and a JVM can be used here, else the reason (for tests that skip; starts no JVM)."""
    try:
        _check_installed("MPXJ")
    except ImportError_ as exc:
        return str(exc)
    return None


def _date(value) -> dt.date | None:
    """A java.time.LocalDateTime / LocalDate (or None) as a date."""
    if value is None:
        return None
    text = str(value.toString())
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _days(duration, props) -> float | None:
    """An MPXJ Duration in working days (the project's minutes per day and days per month)."""
    if duration is None:
        return None
    from org.mpxj import TimeUnit
    return float(duration.convertUnits(TimeUnit.DAYS, props).getDuration())


def _str(value) -> str:
    return "" if value is None else str(value).strip()


def _enum(value) -> str:
    """The constant name of a Java enum value (``FINISH_START``), "" for None."""
    return "" if value is None else str(value.name())


def read_with_mpxj(path: Path) -> Schedule:
    """Read ``path`` with MPXJ's UniversalProjectReader into a :class:`Schedule` (in a child process)."""
    from sim.model.inputfile import InputFileError, read_input_bytes
    path = Path(path)
    try:  # a regular file of bounded size (MPXJ then reads it by its path)
        read_input_bytes(path)
    except InputFileError as exc:
        raise ImportError_(f"{path}: {exc}") from None
    return _schedule_from_json(_in_child(path, "read", str(path)))


def convert_with_mpxj(src: Path, kind: str, out: Path) -> None:
    """Write ``src`` as ``kind`` (``MSPDI`` or ``XER``) to ``out`` with MPXJ (in a child process)."""
    _in_child(Path(src), "convert", str(src), kind, str(out))


def _check_installed(path: Path | str) -> None:
    """ImportError_ unless jpype1 and mpxj import and a JVM can be found (nothing is started here)."""
    try:
        import jpype
        import mpxj  # noqa: F401
    except ImportError:
        raise ImportError_(f"{path}: reading this format needs MPXJ, which is not installed: {INSTALL}") from None
    try:
        jpype.getDefaultJVMPath()
    except (jpype.JVMNotFoundException, jpype.JVMNotSupportedException) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImportError_(f"{path}: MPXJ needs a Java runtime and none could be found ({reason}): "
                           f"{INSTALL}") from None


def _in_child(path: Path, *args: str) -> dict:
    """Run :func:`_child` with ``args`` in a new Python process; its JSON answer (ImportError_ on error)."""
    import json
    import subprocess
    import sys
    _check_installed(path)
    root = str(Path(__file__).resolve().parents[2])
    code = (f"import sys; sys.path.insert(0, {root!r}); "
            "from sim.interop.viampxj import _child; sys.exit(_child(sys.argv[1:]))")
    try:
        res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                             timeout=1800, encoding="utf-8")
    except (OSError, subprocess.SubprocessError) as exc:
        raise ImportError_(f"{path}: could not run MPXJ ({exc})") from None
    lines = res.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        last = (res.stderr.strip().splitlines() or ["no output"])[-1]
        raise ImportError_(f"{path}: MPXJ stopped (exit {res.returncode}): {last}")
    if "error" in answer:
        raise ImportError_(str(answer["error"]))
    return answer


def _child(argv: list[str]) -> int:
    """The child process: ``read FILE`` or ``convert SRC KIND OUT``; one JSON line on stdout."""
    import json
    out: dict[str, object]
    try:
        if argv[0] == "read":
            out = {"schedule": _schedule_to_json(_read_here(Path(argv[1])))}
        else:
            _convert_here(Path(argv[1]), argv[2], Path(argv[3]))
            out = {"written": argv[3]}
    except ImportError_ as exc:
        out = {"error": str(exc)}
    print(json.dumps(out, ensure_ascii=False))
    return 0


def _convert_here(src: Path, kind: str, out: Path) -> None:
    start_jvm(src)
    import jpype
    from org.mpxj.reader import UniversalProjectReader
    from org.mpxj.writer import FileFormat, UniversalProjectWriter
    try:
        project = UniversalProjectReader().read(str(src))
        UniversalProjectWriter(FileFormat.MSPDI if kind == "MSPDI" else FileFormat.XER).write(project, str(out))
    except jpype.JException as exc:
        raise ImportError_(f"{src}: MPXJ could not convert it to {kind}: {exc.getMessage()}") from None


_DATES = ("plan_start", "plan_finish", "actual_start", "actual_finish", "constraint_date")


def _schedule_to_json(s: Schedule) -> dict:
    import dataclasses

    def enc(value):
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: enc(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [enc(v) for v in value]
        return value
    return enc(dataclasses.asdict(s))


def _schedule_from_json(answer: dict) -> Schedule:
    """A :class:`Schedule` from the child's JSON (fields checked by the dataclasses themselves)."""
    from sim.interop.schedule import Unmapped
    d = answer["schedule"]

    def day(v):
        return dt.date.fromisoformat(v) if v else None
    tasks = []
    for t in d["tasks"]:
        t = {**t, **{k: day(t[k]) for k in _DATES}}
        for k in ("wbs", "wbs_codes", "resources"):
            t[k] = tuple(t[k])
        t["three_point"] = tuple(t["three_point"]) if t["three_point"] else None
        tasks.append(Task(**t))
    calendars = {}
    for uid, c in d["calendars"].items():
        c = {**c, "holidays": [(day(a), day(b)) for a, b in c["holidays"]],
             "working_weekdays": tuple(c["working_weekdays"]) if c["working_weekdays"] is not None else None}
        calendars[uid] = Calendar(**c)
    return Schedule(source=d["source"], format=d["format"], name=d["name"], status_date=day(d["status_date"]),
                    start=day(d["start"]), finish=day(d["finish"]), tasks=tasks,
                    links=[Link(**ln) for ln in d["links"]], calendars=calendars,
                    resources={u: Resource(**r) for u, r in d["resources"].items()},
                    unmapped=[Unmapped(**u) for u in d["unmapped"]], notes=list(d["notes"]),
                    encoding=d["encoding"])


def _read_here(path: Path) -> Schedule:
    """Read ``path`` with MPXJ in this process (the child's side of :func:`read_with_mpxj`)."""
    start_jvm(path)
    import jpype
    from org.mpxj.reader import UniversalProjectReader
    try:
        project = UniversalProjectReader().read(str(path))
    except jpype.JException as exc:
        message = _str(exc.getMessage()) or type(exc).__name__
        raise ImportError_(f"{path}: MPXJ could not read it: {message.splitlines()[0]}") from None
    if project is None:
        raise ImportError_(f"{path}: MPXJ does not recognise this file as a schedule")
    props = project.getProjectProperties()
    file_type = _str(props.getFileType()) or "MPXJ"
    p6 = file_type in P6_TYPES
    s = Schedule(source=str(path), format=file_type)
    s.notes.append(f"read through MPXJ {_mpxj_version()} (file type {file_type})")
    s.name = _str(props.getProjectTitle()) or _str(props.getName()) or path.stem
    s.status_date = _date(props.getStatusDate())
    current = _date(props.getCurrentDate())
    if s.status_date is None and current is not None:
        if current == dt.date.today():  # MPXJ fills a missing current date with the time of reading
            s.notes.append("no status date in the file (MPXJ's current date is today's date): as_of from the tasks")
        else:
            s.status_date = current
            s.notes.append(f"no status date in the file: as_of = its current date {current}")
    s.start, s.finish = _date(props.getStartDate()), _date(props.getFinishDate())
    if p6:  # as the own XER reader: the project's scheduled finish (scd_end_date), else its must-finish-by date
        s.finish = _date(props.getScheduledFinish()) or _date(props.getMustFinishBy()) or s.finish
    default_cal = project.getDefaultCalendar()
    for cal in project.getCalendars():
        c = _calendar(cal, s)
        s.calendars[c.uid] = c
    # custom fields / UDFs read as three-point estimates, by their alias
    roles: dict[str, tuple[object, str]] = {}
    for cf in project.getCustomFields():
        label = _str(cf.getAlias())
        field = cf.getFieldType()
        if field is None or not label or _enum(field.getFieldTypeClass()) != "TASK":
            continue
        role = three_point_role(label)
        if role:
            roles[_str(field)] = (field, role)
            s.notes.append(f"custom field {label!r} ({field}) read as the three-point {role} (working days)")
        else:
            s.skip(f"custom field {field}", f"{label!r}", "not a three-point estimate (values not mapped)")
    for r in project.getResources():
        uid, name = _str(r.getUniqueID()), _str(r.getName())
        if uid and name:
            s.resources[uid] = Resource(uid, _str(r.getInitials()) or name, name)
    roots = [t for t in project.getChildTasks()]
    project_node = None
    if len(roots) == 1 and roots[0].getSummary() and (
            int(roots[0].getOutlineLevel() or 0) == 0
            or (p6 and _str(roots[0].getWBS()) in (_str(props.getProjectID()), _str(roots[0].getActivityID())))
            or _str(roots[0].getName()) == _str(props.getName())):
        project_node = roots[0]
    tasks_by_uid = {}
    for t in project.getTasks():
        uid, name = _str(t.getUniqueID()), _str(t.getName())
        if t.getNull() or not name or (project_node is not None and t.equals(project_node)):
            continue
        if int(t.getOutlineLevel() or 0) == 0:  # MS Project's project summary task
            continue
        here = f"task UID {uid}" + (f" ({name})" if name else "")
        activity = _enum(t.getActivityType())
        if t.getSummary() or activity == "WBS_SUMMARY":
            continue  # a group: its name is in the WBS path of its tasks
        if activity == "LEVEL_OF_EFFORT":
            s.skip(here, f"activity type {activity}", "level-of-effort and WBS-summary activities span others: "
                   "not a task")
            continue
        if not t.getActive():
            s.skip(here, "inactive", "an inactive task is not imported")
            continue
        chain, parent = [], t.getParentTask()
        while parent is not None and not (project_node is not None and parent.equals(project_node)):
            if int(parent.getOutlineLevel() or 0) > 0:
                chain.append(parent)
            parent = parent.getParentTask()
        chain.reverse()
        names = tuple(_str(p.getName()) for p in chain)
        codes = tuple(_wbs_code(p, p6) for p in chain)
        cal = t.getCalendar() or default_cal
        task = Task(uid=uid, code=_str(t.getActivityID()) or _str(t.getWBS()) or _str(t.getID()) or uid,
                    name=name, wbs=names, wbs_codes=codes, milestone=bool(t.getMilestone()), row=here,
                    calendar=_str(cal.getUniqueID()) if cal is not None else None)
        if p6:
            task.plan_start = _date(t.getPlannedStart()) or _date(t.getStart())
            task.plan_finish = _date(t.getPlannedFinish()) or _date(t.getFinish())
            task.duration_days = _days(t.getPlannedDuration() or t.getDuration(), props)
        else:
            task.plan_start = _date(t.getBaselineStart()) or _date(t.getStart())
            task.plan_finish = _date(t.getBaselineFinish()) or _date(t.getFinish())
            task.duration_days = _days(t.getBaselineDuration() or t.getDuration(), props)
        task.actual_start, task.actual_finish = _date(t.getActualStart()), _date(t.getActualFinish())
        task.percent_complete = _percent(t, p6, task)
        ctype = _enum(t.getConstraintType())
        if ctype and ctype not in CONSTRAINTS:
            s.skip(here, f"constraint {ctype}", "unknown constraint type")
        elif CONSTRAINTS.get(ctype):
            task.constraint, task.constraint_date = CONSTRAINTS[ctype], _date(t.getConstraintDate())
        if t.getSecondaryConstraintType() is not None:
            s.skip(here, f"secondary constraint {t.getSecondaryConstraintType()} "
                         f"{_date(t.getSecondaryConstraintDate()) or ''}".rstrip(),
                   "a secondary constraint is not mapped")
        values: dict[str, float] = {}
        for key, (field, role) in roles.items():
            value = t.get(field)
            if value is None:
                continue
            try:
                number = _days(value, props) if hasattr(value, "convertUnits") else float(str(value))
            except ValueError:
                number = None
            if number is None:
                s.skip(here, f"custom field {key}={value}", "not a number")
            else:
                values[role] = number
        if len(values) == 3:
            task.three_point = (values["min"], values["mode"], values["max"])
        elif values:
            s.skip(here, f"three-point fields {sorted(values)}", "incomplete: all of min, mode and max needed")
        task.resources = tuple(_str(a.getResource().getUniqueID()) for a in t.getResourceAssignments()
                               if a.getResource() is not None and _str(a.getResource().getUniqueID()) in s.resources)
        s.tasks.append(task)
        tasks_by_uid[uid] = task
    for t in project.getTasks():
        succ = _str(t.getUniqueID())
        for rel in t.getPredecessors():
            pred = _str(rel.getPredecessorTask().getUniqueID())
            here = f"task UID {succ} predecessor UID {pred}"
            if succ not in tasks_by_uid and pred not in tasks_by_uid:
                continue
            if succ not in tasks_by_uid or pred not in tasks_by_uid:
                s.skip(here, f"{pred} -> {succ}", "one end is not an imported task (summary, LOE or inactive)")
                continue
            kind = LINK_TYPES.get(_enum(rel.getType()))
            if kind is None:
                s.skip(here, f"link type {rel.getType()}", "unknown link type")
                continue
            lag = rel.getLag()
            units = _enum(lag.getUnits()) if lag is not None else ""
            if units in ("PERCENT", "ELAPSED_PERCENT"):
                s.skip(here, f"lag {lag}", "a percentage lag is not mapped (lag 0)")
                days = 0.0
            elif units.startswith("ELAPSED"):  # elapsed time: calendar days
                from org.mpxj import TimeUnit
                elapsed = float(lag.convertUnits(TimeUnit.ELAPSED_DAYS, props).getDuration())
                days = elapsed * 5.0 / 7.0  # the import scales working days by 7/5 again (docs/interop.md)
                s.notes.append(f"{here}: elapsed lag {lag} read as {days:g} working days")
            else:
                days = _days(lag, props) or 0.0
            s.links.append(Link(pred, succ, kind, days, here))
    return s


def _wbs_code(task, p6: bool) -> str:
    """The WBS code of a summary task: P6 gives the full dotted path, so the parent's prefix is removed."""
    code = _str(task.getWBS())
    parent = task.getParentTask()
    if p6 and parent is not None:
        prefix = _str(parent.getWBS()) + "."
        if code.startswith(prefix):
            return code[len(prefix):]
    return code


def _percent(t, p6: bool, task: Task) -> float | None:
    """Percent complete in [0, 1] (P6: by the activity's percent-complete type), None when not started."""
    if task.actual_finish is not None:
        return 1.0
    if task.actual_start is None:
        return None
    kind = _enum(t.getPercentCompleteType()) if p6 else ""
    value = {"PHYSICAL": t.getPhysicalPercentComplete(), "UNITS": t.getPercentageWorkComplete()}.get(
        kind, t.getPercentageComplete())
    return None if value is None else min(max(float(str(value)) / 100.0, 0.0), 1.0)


def _calendar(cal, s: Schedule) -> Calendar:
    from java.time import DayOfWeek
    minutes = cal.getMinutesPerDay()
    c = Calendar(_str(cal.getUniqueID()), _str(cal.getName()), float(minutes) / 60 if minutes else 8.0)
    c.working_weekdays = tuple(sorted(d.getValue() for d in DayOfWeek.values() if cal.isWorkingDay(d)))
    for ex in cal.getCalendarExceptions():
        name = _str(ex.getName()) or "exception"
        lo, hi = _date(ex.getFromDate()), _date(ex.getToDate())
        if ex.getWorking():
            s.skip(f"Calendar {c.name!r} exception {name!r}", f"{lo}..{hi}", "a working exception adds working "
                   "time; the simulator's calendars only take non-working windows")
            continue
        for one in ex.getExpandedExceptions():  # a recurring exception, one range per occurrence (MPXJ's expansion)
            a, b = _date(one.getFromDate()), _date(one.getToDate())
            if a and b:
                c.holidays.append((a, b))
    c.holidays = _merge(sorted(c.holidays))
    return c


def _mpxj_version() -> str:
    try:
        from importlib.metadata import version
        return version("mpxj")
    except Exception:  # pragma: no cover - metadata missing
        return "?"
