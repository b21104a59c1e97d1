"""`sim import`, `sim export` and `sim template`: registered by :func:`register` from sim/cli.py."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FORMATS = {".xer": "XER", ".xml": "MSPDI", ".xlsx": "xlsx"}
#: Import only: formats read through MPXJ (the optional extra `schedule`, docs/interop.md).
IMPORT_FORMATS = {**FORMATS, **{k: "MPXJ" for k in (".mpp", ".mpt", ".mpx", ".pmxml", ".pp", ".gan", ".planner",
                                                       ".pod", ".fts", ".cdpx", ".ppx", ".sdef", ".prx", ".stx")}}


class InteropError(Exception):
    """A clear one-line error of an interop command (printed as ``sim: ...``, exit 2)."""


def register(sub) -> None:
    """Add the interop subcommands to the ``sim`` parser's subparsers."""
    p = sub.add_parser("import", help="import a schedule (P6 .xer, MS Project .xml, Excel template .xlsx; "
                                      "through MPXJ also .mpp, .mpx, .pmxml, .pp, .gan ...) into a new params "
                                      "directory")
    p.add_argument("file", type=Path, metavar="FILE", help="the schedule file")
    p.add_argument("--out", type=Path, required=True, metavar="PARAMS_DIR", help="new params directory to write")
    p.add_argument("--project", default=None, help="XER only: the project short name (default: the first)")
    p.add_argument("--duration-class", default=None, metavar="CLASS",
                   help="duration uncertainty of tasks without a three-point estimate: a published reference "
                        "class of docs/calibration.md (mm_obj1, the default; erdf, erdf_gb_nonstd_civil, "
                        "erdf_gb_std_civil, odeck_roads, gb_nonstd_building_obj1, gb_equipment_obj1) or `fixed` "
                        "(durations as planned)")
    p.add_argument("--reader", choices=("own", "mpxj"), default="own",
                   help=".xer and .xml: read with the own parser (default) or through MPXJ")
    p.set_defaults(func=_guard(_cmd_import))

    p = sub.add_parser("export", help="write a run's P50/P80/P90 finish, P(by plan date) and criticality "
                                      "into MS Project XML, a P6 XER or the Excel template")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory made by `sim run`")
    p.add_argument("--to", type=Path, required=True, metavar="FILE", help="FILE.xml, FILE.xer or FILE.xlsx")
    p.add_argument("--source", type=Path, default=None,
                   help="the schedule to annotate (default: the file the params were imported from, if any)")
    p.set_defaults(func=_guard(_cmd_export))

    p = sub.add_parser("template", help="write the Excel plan template (plan.xlsx) or the progress "
                                        "workbook for the monthly meeting (progress.xlsx)")
    p.add_argument("file", type=Path, metavar="FILE", help="plan.xlsx or progress.xlsx (by the file name)")
    p.add_argument("--params", type=Path, default=Path("params"), help="params directory to fill it from")
    p.add_argument("--empty", action="store_true", help="plan template only: headers and drop-downs, no rows")
    p.add_argument("--unit", action="append", default=None, help="progress only: only this unit (repeatable)")
    p.set_defaults(func=_guard(_cmd_template))


def _guard(func):
    """Turn the interop errors into the CLI's one-line messages (PlanError passes through to main)."""
    def run(args: argparse.Namespace) -> int:
        from sim.interop.schedule import ImportError_
        try:
            return func(args)
        except (InteropError, ImportError_, FileExistsError, ValueError) as exc:
            print(f"sim: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"sim: {getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    return run


def _kind(path: Path, formats: dict[str, str] = FORMATS) -> str:
    kind = formats.get(path.suffix.lower())
    if kind is None:
        raise InteropError(f"{path}: unknown format {path.suffix!r} (use {', '.join(sorted(formats))})")
    return kind


def read_schedule(path: Path, *, project: str | None = None, reader: str = "own"):
    """A :class:`~sim.interop.schedule.Schedule` from an XER or MSPDI file (own readers) or any format MPXJ
    reads (``reader="mpxj"``, or a suffix only MPXJ reads)."""
    kind = _kind(path, IMPORT_FORMATS)
    if not path.is_file():
        raise InteropError(f"{path}: no such file")
    if kind == "MPXJ" or reader == "mpxj":
        if project is not None:
            raise InteropError("--project is for the own XER reader: MPXJ reads a file's first project")
        from sim.interop.viampxj import read_with_mpxj
        return read_with_mpxj(path)
    if kind == "XER":
        from sim.interop.xer import read_xer
        return read_xer(path, project=project)
    from sim.interop.mspdi import read_mspdi
    return read_mspdi(path)


def _cmd_import(args: argparse.Namespace) -> int:
    from sim.model.load import load_plan
    from sim.model.problems import PlanError
    from sim.interop.toparams import DEFAULT_DURATION_CLASS, DURATION_CLASSES
    kind = _kind(args.file, IMPORT_FORMATS)
    duration_class = args.duration_class or DEFAULT_DURATION_CLASS
    if duration_class not in DURATION_CLASSES:
        raise InteropError(f"--duration-class {duration_class!r}: not one of {', '.join(DURATION_CLASSES)}")
    if kind == "xlsx" and args.duration_class:
        raise InteropError("--duration-class is for schedules (.xer, .xml, ...): a workbook has its own "
                           "duration_classes sheet")
    if kind == "xlsx":
        from sim.interop.workbook import import_workbook
        summary = import_workbook(args.file, args.out)
        print(f"imported {args.file} ({summary['sheets']} sheets) into {args.out}")
    else:
        from sim.interop.toparams import REPORT, schedule_to_params
        schedule = read_schedule(args.file, project=args.project, reader=args.reader)
        summary = schedule_to_params(schedule, args.out, duration_class=duration_class)
        print(f"imported {args.file} ({summary['format']}) into {args.out}: {summary['items']} items, "
              f"{summary['links']} links, {summary['targets']} targets, {summary['units']} units, "
              f"{summary['calendars']} calendars; as of {summary['as_of']}")
        if summary["by_class"]:
            print(f"  assumption to review: {summary['by_class']} open items without a three-point estimate take "
                  f"the duration class `imported` = {summary['duration_assumption']} "
                  "(choose with --duration-class; see the report)")
        print(f"  not mapped: {summary['unmapped']} entries, listed in {args.out / REPORT}")
        for u in schedule.unmapped[:15]:
            print(f"    {u.line()}")
        if len(schedule.unmapped) > 15:
            print(f"    ... {len(schedule.unmapped) - 15} more in {args.out / REPORT}")
    try:
        load_plan(args.out)
    except PlanError as exc:
        print(exc.report(), file=sys.stderr)
        print(f"sim: {args.out} was written but does not validate: correct the rows named above", file=sys.stderr)
        return 2
    if kind != "xlsx" and not summary["targets"]:
        print(f"  no target: no open task has a planned finish or milestone on or after the status date "
              f"{summary['as_of']}, so `sim run` has nothing to forecast; add a target (for instance a newly "
              f"committed finish date) to {args.out / 'targets.csv'}")
        return 0
    print(f"  {args.out} validates: `sim run --params {args.out}`")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from sim.interop.export import export_run
    kind = _kind(args.to)
    n = export_run(args.run_dir, args.to, kind=kind, source=args.source)
    print(f"wrote {args.to}: {n} tasks with the run's P50/P80/P90 finish, P(by plan date) and criticality")
    return 0


def _cmd_template(args: argparse.Namespace) -> int:
    from sim.model.load import load_plan
    if args.file.suffix.lower() != ".xlsx":
        raise InteropError(f"{args.file}: a template is an .xlsx workbook")
    if args.file.exists():
        raise InteropError(f"{args.file} exists: choose a new file name (nothing is overwritten)")
    if "progress" in args.file.stem.lower():
        from sim.interop.progress import write_progress_template
        plan = load_plan(args.params)
        n = write_progress_template(plan, args.file, units=args.unit)
        print(f"wrote {args.file}: {n} unit sheets; fill it in and pass it as --actuals")
        return 0
    if args.unit:
        raise InteropError("--unit is for the progress workbook: name the file progress*.xlsx")
    from sim.interop.workbook import write_template
    n = write_template(args.file, params=None if args.empty else args.params)
    print(f"wrote {args.file}: {n} sheets (one per params table, zh/en headers, drop-down lists)")
    return 0
