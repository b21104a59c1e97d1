"""Command line: thin wrappers that parse arguments, call the library and print.

Every expected failure (bad params, bad scenario, bad arguments) ends in a clear
message on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from sim.errors import ExecutorError, OutputError, ResourceError, RunDirError, SnapshotError, UsageError
from sim.model.problems import PlanError

DEFAULT_PARAMS = Path("params")
MAX_RUNS = 100_000_000  # beyond any memory; the finer check is sim.engine.budget


def _cmd_validate(args: argparse.Namespace) -> int:
    from sim.model.load import load_plan, plan_summary

    from sim.model.kpi_evidence import derived_from_target, no_evidence

    plan = load_plan(args.params)
    print(plan_summary(plan))
    for line in derived_from_target(plan):
        print(f"warning: {line}")
    flagged = no_evidence(plan)
    if flagged:
        print(f"KPIs without evidence (wide priors, docs/calibration.md §9): {len(flagged)}: {', '.join(flagged)}")
    return 0


def _run_config(args: argparse.Namespace):
    from sim.engine.options import Engine, Records
    from sim.engine.runner import RunConfig

    from sim.engine.budget import max_workers

    if args.runs < 1:
        raise UsageError(f"--runs must be >= 1, got {args.runs}")
    if args.runs > MAX_RUNS:
        raise UsageError(f"--runs {args.runs}: at most {MAX_RUNS:,} (use --precision to stop once precise enough)")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    workers = args.workers
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be >= 1, got {workers}")
    if workers is not None and workers > max_workers():
        print(f"sim: --workers {workers} is more than {max_workers()} ({os.cpu_count()} cores x 4); "
              f"using {max_workers()}", file=sys.stderr)
        workers = max_workers()
    if args.precision is not None and not (math.isfinite(args.precision) and 0 < args.precision < 0.5):
        raise UsageError(f"--precision must be a standard error between 0 and 0.5 (e.g. 0.005), "
                         f"got {args.precision}")
    return RunConfig(
        runs=args.runs,
        seed=args.seed,
        workers=workers,
        scheduler=args.scheduler,
        engine=Engine(args.engine),
        lhs=args.lhs,
        precision=args.precision,
        progress=sys.stderr.isatty() and not args.quiet,
        records=Records(args.records),
    )


LARGE_RECORDS_BYTES = 256 * 2**20  # a disk estimate is printed before runs whose records may exceed this


def _disk_estimate(plan, config, *, scenarios: int = 1, quiet: bool = False) -> None:
    """Print the records' disk estimate before a large run (to stderr: the results stay parseable)."""
    from sim.engine.compiled import compile_plan
    from sim.engine.options import Records as R
    from sim.results import records_estimate_bytes

    model = compile_plan(plan)
    est = {m: scenarios * records_estimate_bytes(model, config.runs, m.kinds()) for m in (R.FULL, R.SUMMARY)}
    if quiet or est[config.records if config.records is not R.NONE else R.SUMMARY] < LARGE_RECORDS_BYTES:
        return
    mib = {m: v / 2**20 for m, v in est.items()}
    kept = 0.0 if config.records is R.NONE else mib[config.records]
    print(f"sim: records of {scenarios} x {config.runs:,} replications: at most {kept:,.0f} MiB on disk with "
          f"--records {config.records} (full {mib[R.FULL]:,.0f} MiB, summary {mib[R.SUMMARY]:,.0f} MiB, "
          f"none: 0 once the tables are written; lz4 saves little on these floats)", file=sys.stderr, flush=True)


def _cmd_run(args: argparse.Namespace) -> int:
    from sim.analysis.present import headline_lines
    from sim.model.load import load_plan
    from sim.results import default_run_dir, params_hash, read_manifest
    from sim.studies.workflow import run_plan

    config = _run_config(args)
    if config.records.value != "full" and not args.no_report:
        raise UsageError(f"--records {config.records}: the report needs every record column; "
                         f"add --no-report (or use --records full)")
    if args.out is not None:
        _check_out(args.out, args.force, "run")
    plan = load_plan(args.params)
    scenario, scenario_manifest = "baseline", {}
    if args.scenario is not None:
        plan, scenario, scenario_manifest = _scenario_arg(plan, args.scenario, {})
    # the scenario changes the plan as data; the actuals then move it to the as-of date
    plan, extra = _actuals_args(plan, args)
    _need_targets(plan, args.params, "a run forecasts targets")
    out = args.out or default_run_dir(Path("results"), scenario)
    _disk_estimate(plan, config, quiet=args.quiet)
    run_dir = run_plan(plan, config=config, out=out, scenario=scenario, force=args.force,
                       params_digest=params_hash(args.params), extra_manifest={**extra, **scenario_manifest})
    note = read_manifest(run_dir).get("calendar_note")
    if note:
        print(f"sim: warning: {note}", file=sys.stderr)
    print(f"results: {run_dir}")
    if args.no_report:
        if not args.quiet:
            print("\n".join(headline_lines(run_dir)))
        return 0
    return _write_reports(run_dir, langs=args.lang or ("zh", "en"), plan=plan, compare=args.compare, svg=args.svg,
                          quiet=args.quiet)


def _need_targets(plan, params, why: str) -> None:
    """Refuse, in one line, a command that forecasts or scores targets on a plan without any."""
    if not plan.targets:
        raise UsageError(f"{params}: the plan has no target (targets.csv has no row): {why}; add one")


def one_line(text: str) -> str:
    """A message of several lines (a PlanError report) as one line."""
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _stage(text: str) -> None:
    print(f"... {text}", file=sys.stderr, flush=True)


def _write_reports(run_dir: Path, *, langs, plan=None, compare=None, svg=False, quiet=False,
                   driver_runs: int = 2000) -> int:
    """Write the reports of ``run_dir`` (stages printed as they start), then the bottom line and the files.

    A failure to write them (a full disk) leaves the run valid, is recorded in its manifest
    (``reports``: missing) and ends in one message and exit 2.
    """
    from sim.report.build import write_reports
    from sim.report.summary import summary_lines
    from sim.results import mark_report

    if compare is not None:
        from sim.results import check_run_dir

        try:
            check_run_dir(compare)
        except RunDirError as exc:
            raise UsageError(f"--compare {compare}: {exc}") from None
    langs = tuple(dict.fromkeys(langs))
    try:
        inputs, written = write_reports(run_dir, langs=langs, plan=plan, compare=compare,
                                        svg=svg, driver_runs=driver_runs, progress=None if quiet else _stage)
    except OSError as exc:
        reason = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
        for lang in langs:
            if not (Path(run_dir) / f"report.{lang}.html").is_file():
                mark_report(run_dir, lang, f"missing ({reason})")
        print(f"sim: the report of {run_dir} was not written ({reason}); the run itself is complete: "
              f"write it later with `sim report {run_dir}`", file=sys.stderr)
        return 2
    for lang in written:
        mark_report(run_dir, lang, "written")
    files = [p for paths in written.values() for p in (paths["html"], paths["xlsx"])]
    lang = "zh" if list(written) == ["zh"] else "en"  # the terminal summary in Chinese when only zh is asked for
    names = {r.id: (r.name_zh if lang == "zh" else r.name_en) for r in inputs.plan.risks} | \
        {s.id: (s.name_zh if lang == "zh" else s.name_en) for s in inputs.plan.shocks}
    lines = summary_lines(inputs.headline, lang, driver_names=names, files=files)
    print("\n".join(lines if not quiet else lines[-len(files) - 1:]))
    return 0


def _check_out(out: Path, force: bool, kind: str) -> None:
    from sim.safety import check_out

    check_out(out, force=force, kind=kind)


def _add_run_options(p: argparse.ArgumentParser) -> None:
    from sim.engine.options import DEFAULT_SEED, Engine, Records

    p.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="params directory")
    p.add_argument("--runs", type=int, default=10_000, help="replications (default 10000)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address, or 'local' to start a LocalCluster")
    p.add_argument("--engine", choices=[e.value for e in Engine], default="auto",
                   help="schedule engine: simpy, vector (no resource limits) or auto")
    p.add_argument("--lhs", action="store_true", help="Latin hypercube sampling of the drivers")
    p.add_argument("--precision", type=float, default=None,
                   help="stop once every target probability's standard error is below this")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    p.add_argument("--records", choices=[r.value for r in Records], default="full",
                   help="record columns kept on disk: full (default; the report needs it), summary (finish, "
                        "met, achieved, KPI: what the tables, batch comparisons and backtests read) or none "
                        "(tables only)")


def _max_workers() -> int:
    from sim.engine.budget import max_workers

    return max_workers()


def _add_force(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true",
                   help="replace an existing --out, only if it is an earlier output of sim (never anything else)")


def _add_report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--compare", type=Path, default=None, metavar="RUN_DIR",
                   help="a previous run directory: the report opens with what changed since then")
    p.add_argument("--svg", action="store_true", help="also write every chart as SVG (PNG only by default)")


def _cmd_calendar(args: argparse.Namespace) -> int:
    import csv

    from sim.model.holidays import CALENDAR_COLUMNS, calendar_rows

    from sim.model.holidays import LUNAR_YEARS

    if args.first > args.last:
        raise UsageError(f"--first {args.first} is after --last {args.last}")
    for opt, year in (("--first", args.first), ("--last", args.last)):
        if year not in LUNAR_YEARS:
            raise UsageError(f"{opt} {year}: the calendars cover {LUNAR_YEARS.start}-{LUNAR_YEARS.stop - 1}")
    writer = csv.DictWriter(sys.stdout, fieldnames=list(CALENDAR_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(calendar_rows(range(args.first, args.last + 1)))
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from sim.serve.bench import whatif_lines
    from sim.studies.bench import bench

    if args.workers is not None and not 1 <= args.workers <= _max_workers():
        raise UsageError(f"--workers must be between 1 and {_max_workers()}, got {args.workers}")

    for line in bench(args.params, size="quick" if args.quick else "full", workers=args.workers, more=whatif_lines):
        print(line, flush=True)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from sim.results import check_run_dir

    if args.driver_runs < 1:
        raise UsageError(f"--driver-runs must be >= 1, got {args.driver_runs}")
    records = (check_run_dir(args.run_dir).get("config") or {}).get("records", "full")
    if records != "full":
        raise UsageError(f"{args.run_dir}: written with --records {records}; the report needs every record "
                         f"column: re-run it with --records full")
    return _write_reports(args.run_dir, langs=[args.lang] if args.lang else ["zh", "en"], compare=args.compare,
                          svg=args.svg, driver_runs=args.driver_runs)


def _date_arg(text: str):
    from sim.model.csvio import DATE_HINT, parse_date

    parsed = parse_date(text)
    if isinstance(parsed, str):
        raise argparse.ArgumentTypeError(f"{parsed}; {DATE_HINT}")
    return parsed


def _add_actuals_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", type=_date_arg, default=None, metavar="DATE",
                   help="forecast from this date (default: the latest 'reported' date of --actuals)")
    p.add_argument("--actuals", type=Path, default=None, metavar="FILE",
                   help="actuals CSV (actuals/README.md); only facts reported by --as-of are used")


def _actuals_prepare(args: argparse.Namespace):
    """For `sim batch`: move each scenario's plan to --as-of with --actuals (resume key: date and file hash)."""
    import hashlib

    def prepare(plan):
        return _actuals_args(plan, args)

    digest = hashlib.sha256(args.actuals.read_bytes()).hexdigest() if args.actuals and args.actuals.is_file() else None
    prepare.key = {  # type: ignore[attr-defined]  # a function attribute: sim.studies.batch reads it with getattr
        "as_of": str(args.as_of) if args.as_of else None, "actuals_sha256": digest}
    return prepare


def _actuals_args(plan, args: argparse.Namespace):
    """The plan moved to --as-of with the facts of --actuals, and the manifest entries saying so."""
    if args.as_of is None and args.actuals is None:
        return plan, {}
    from sim.studies.asof import prepare_plan

    moved, extra, notes = prepare_plan(plan, actuals_path=args.actuals, as_of=args.as_of)
    if not args.quiet:
        used = extra["actuals"]["facts_used"] if extra["actuals"] else 0
        print(f"as of {moved.as_of}: {used} facts from {args.actuals or '(no actuals file)'}", file=sys.stderr)
        for note in notes[:12]:
            print(f"  note: {note[:300]}", file=sys.stderr)
        if len(notes) > 12:
            print(f"  ... {len(notes) - 12} more notes: manifest.json actuals_notes", file=sys.stderr)
    return moved, extra


def _cmd_appraise(args: argparse.Namespace) -> int:
    from sim.interop.progress import read_actuals_file as read_actuals
    from sim.analysis.appraisal import snapshot_wide
    from sim.studies.appraise import appraise
    from sim.model.load import load_plan
    from sim.results import default_run_dir, params_hash

    config = _run_config(args)
    if args.out is not None:
        _check_out(args.out, args.force, "appraisal")
    plan = load_plan(args.params)
    _need_targets(plan, args.params, "an appraisal forecasts targets")
    actuals = read_actuals(args.actuals, plan)
    out = args.out or default_run_dir(Path("results"), "appraisal")
    try:
        table, _ = appraise(plan, actuals, years=args.years, config=config, out=out, force=args.force,
                            params_digest=params_hash(args.params), langs=args.lang or ("zh", "en"))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not args.quiet:
        from sim.results import read_table

        w = snapshot_wide(table)
        w = w if not w.empty else snapshot_wide(table, None)
        changes = read_table(Path(out), "appraisal_changes.csv", dtype={"year": str})
        nodata = {(r.year, r.id) for r in changes.itertuples() if r.status == "no_data"}
        shown = w.copy().astype(object)
        for (tid, name), row in w.iterrows():
            for snap, v in row.items():
                shown.loc[(tid, name), snap] = "no data" if (str(snap), tid) in nodata else f"{v:6.1%}"
        print(shown.to_string())
    for lang in args.lang or ("zh", "en"):
        print(f"appraisal ({lang}): {Path(out) / f'appraisal.{lang}.html'}")
    print(f"results: {out}")
    return 0


def _cmd_backtest(args: argparse.Namespace) -> int:
    from sim.interop.progress import read_actuals_file as read_actuals
    from sim.studies.backtest import backtest_runs
    from sim.model.load import load_plan
    from sim.report.backtest import paired_text, summary_text
    from sim.results import default_run_dir, params_hash, read_manifest

    from sim.results import check_run_dir

    if args.out is not None:
        _check_out(args.out, args.force, "backtest")
    for run in args.runs:
        check_run_dir(run)
    params = args.params
    if params is None:
        recorded = Path(str(read_manifest(args.runs[0]).get("params") or DEFAULT_PARAMS))
        params = recorded if recorded.is_dir() else DEFAULT_PARAMS
    plan = load_plan(params)
    _need_targets(plan, params, "a backtest scores targets")
    actuals = read_actuals(args.actuals, plan)
    out = args.out or default_run_dir(Path("results"), "backtest")
    from sim.report.appraisal import is_example
    if is_example(actuals):
        print(f"note: every fact in {args.actuals} is an invented example (source EXAMPLE): scores against it "
              "say nothing about the forecast")
    res = backtest_runs(args.runs, plan=plan, actuals=actuals, out=out, params_digest=params_hash(params),
                        refclass=not args.no_refclass, force=args.force)
    print(f"backtest against {args.actuals} (outcomes as of {actuals.latest}); lower is better")
    print(summary_text(res.summary) if len(res.summary) else "no outcome in the actuals can be scored")
    if res.paired is not None and len(res.paired):
        print("model minus baseline on the same outcomes (negative = model better), mean and s.e.:")
        print(paired_text(res.paired))
    for note in res.notes:
        print(f"note: {note}")
    print(f"results: {out}")
    return 0


# --- scenarios, batches, slips (sim/model/scenario/, sim/studies/batch.py, sim/studies/slip.py) -----------------
def _scenario_arg(plan, path: Path, extra: dict):
    """The plan with scenario ``path`` applied, its name, and the manifest entries saying so."""
    from sim.model.scenario import apply_scenario, load_scenario

    scenario = load_scenario(path)
    return apply_scenario(plan, scenario), scenario.name, {**extra, **scenario.manifest()}


def _duration_arg(text: str) -> float:
    from sim.model.scenario import DURATION_HINT, parse_duration

    days = parse_duration(text)
    if days is None or days < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a slip; {DURATION_HINT}")
    return days


def _cmd_batch(args: argparse.Namespace) -> int:
    from sim.studies.batch import BatchError, run_batch, scenario_name, summary_lines

    config = _run_config(args)
    if config.records.value == "none":
        raise UsageError("--records none: a batch compares its scenarios from their records; "
                         "use --records summary (the columns the comparison reads) or full")
    out = args.out or Path("results") / f"batch-s{args.seed}-n{args.runs}"
    if not args.quiet:
        from sim.model.load import load_plan

        _disk_estimate(load_plan(args.params), config, scenarios=len(args.scenarios))

    files = {scenario_name(f): f for f in args.scenarios}

    def event(what: str, name: str, detail: str) -> None:
        if what == "failed":  # one line naming the scenario file (the full error is in batch.json)
            where = files.get(name, "params as they are, no scenario")
            print(f"sim batch: scenario {name} ({where}) failed: {one_line(detail)}", file=sys.stderr, flush=True)
        elif not args.quiet:
            print(f"{name}: {what} {detail if what != 'start' else ''}".rstrip(), file=sys.stderr, flush=True)

    prepare = None
    if args.as_of is not None or args.actuals is not None:
        prepare = _actuals_prepare(args)
    try:
        result = run_batch(args.scenarios, params_dir=args.params, config=config, out=out, resume=args.resume,
                           on_event=event, prepare=prepare, force=args.force)
    except BatchError as exc:
        raise UsageError(str(exc)) from None
    if not args.quiet:
        print("\n".join(summary_lines(result)))
    print(f"results: {out}")
    for path in result.files.values():  # the files a person opens (comparison.zh.html and .en.html first)
        print(f"  {path}")
    if result.failed:
        print(f"sim batch: {len(result.failed)} scenario(s) failed: {', '.join(o.name for o in result.failed)}",
              file=sys.stderr)
    return 1 if result.failed else 0


def _slip_plan(args: argparse.Namespace):
    from sim.model.load import load_plan

    plan = load_plan(args.params)
    if args.scenario is not None:
        plan, _, _ = _scenario_arg(plan, args.scenario, {})
    _need_targets(plan, args.params, f"`sim {args.command}` measures the effect on targets")
    return plan


def _cmd_slip(args: argparse.Namespace) -> int:
    from sim.studies.slip import deterministic_slip, probabilistic_slip, slip_lines

    config = _run_config(args)
    if args.out:
        _check_out(args.out, args.force, "slip")
    plan = _slip_plan(args)
    det = deterministic_slip(plan, args.item, args.by)
    prob = probabilistic_slip(plan, args.item, args.by, config)
    print("\n".join(slip_lines(args.item, det, prob)))
    if args.out:
        _write_tables(args.out, "slip", args.force, {"slip_deterministic.csv": det, "slip_probabilistic.csv": prob})
    return 0


def _cmd_responses(args: argparse.Namespace) -> int:
    from sim.report.cost_views import RESPONSES_FILE
    from sim.studies.responses import response_table

    plan = _slip_plan(args)
    if not plan.responses:
        raise UsageError(f"{args.params}: no responses.csv rows: nothing to rank")
    if args.out:  # checked before the work: only into a run directory, never a params folder's own file
        from sim.results import manifest_if_readable

        if not args.out.is_dir() or manifest_if_readable(args.out) is None:
            raise UsageError(f"--out {args.out}: not a run directory of this tool (give a run directory, with "
                             "its manifest.json, to add the ranking to its report)")
    try:
        table = response_table(plan, runs=args.runs, seed=args.seed, target=args.target)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    measure = args.target or "expected number of targets met"
    print(f"responses ranked by {measure} gained per 亿元 ({int(table['runs'].iloc[0])} paired replications):")
    for r in table.itertuples():
        print(f"  {r.id:<22} {r.cost_cny_100m:6.2f} 亿元  gain {r.gain:+.4f} ± {r.se_gain:.4f}  "
              f"per 亿元 {r.gain_per_100m:+.4f}  best target {r.best_target} {r.best_target_gain:+.3f}  "
              f"{r.name_en}")
    if args.out:
        from sim.results import write_table

        write_table(args.out, RESPONSES_FILE, table)
        print(f"results: {args.out / RESPONSES_FILE}")
    return 0


def _write_tables(out: Path, kind: str, force: bool, tables: dict) -> None:
    """CSV tables into a new directory ``out`` (staged, renamed into place when complete)."""
    from sim.results import write_table
    from sim.safety import StagedDir

    with StagedDir(out, kind=kind, force=force) as stage:
        for name, df in tables.items():
            write_table(stage, name, df)
    print(f"results: {out}")


def _cmd_tolerance(args: argparse.Namespace) -> int:
    from sim.studies.slip import tolerance, tolerance_lines

    if not 0 < args.confidence < 1:
        raise UsageError(f"--confidence must be between 0 and 1, got {args.confidence}")
    config = _run_config(args)
    if args.out:
        _check_out(args.out, args.force, "tolerance")
    plan = _slip_plan(args)
    result = tolerance(plan, args.item, args.target, confidence=args.confidence, config=config,
                       max_days=args.max, resolution=max(1, int(round(args.resolution))))
    print("\n".join(tolerance_lines(result)))
    if args.out:
        _write_tables(args.out, "tolerance", args.force, {"tolerance.csv": result.table()})
    return 0


def _add_scenario_commands(sub) -> None:
    p = sub.add_parser("batch", help="run scenarios on common random numbers and compare them with the baseline")
    p.add_argument("scenarios", type=Path, nargs="+", metavar="SCENARIO", help="scenario YAML files")
    _add_run_options(p)
    p.add_argument("--out", type=Path, default=None, help="batch directory (default results/batch-s<seed>-n<runs>)")
    _add_force(p)
    p.add_argument("--resume", action="store_true", help="keep the scenarios an interrupted batch finished")
    _add_actuals_options(p)
    p.set_defaults(func=_cmd_batch)

    p = sub.add_parser("slip", help="slip an item: deterministic propagation and paired effect on every target "
                                    "(default 2000 runs)")
    p.add_argument("item", metavar="ITEM", help="item id, e.g. T14")
    p.add_argument("--by", type=_duration_arg, nargs="+", required=True, metavar="SLIP",
                   help="slips in days (90) or as durations 3m 6m 12m (m = 30.44 days)")
    p.add_argument("--scenario", type=Path, default=None, help="apply this scenario first")
    _add_run_options(p)
    p.add_argument("--out", type=Path, default=None, help="directory for slip_*.csv (optional)")
    _add_force(p)
    p.set_defaults(func=_cmd_slip, runs=2000)

    p = sub.add_parser("responses", help="pre/post-mitigation results of each response (responses.csv) on common "
                                         "random numbers, ranked by target probability gained per 亿元")
    p.add_argument("--target", default=None, help="rank by this target's P(met) (default: expected targets met)")
    p.add_argument("--scenario", type=Path, default=None, help="apply this scenario first")
    _add_run_options(p)
    p.add_argument("--out", type=Path, default=None, help="a run directory: write responses.csv there (its report "
                                                          "then shows the ranking)")
    p.set_defaults(func=_cmd_responses, runs=2000)

    p = sub.add_parser("tolerance", help="largest slip of an item keeping P(target met) >= confidence "
                                         "(default 2000 runs)")
    p.add_argument("item", metavar="ITEM", help="item id, e.g. T14")
    p.add_argument("--target", required=True, help="target id (targets.csv)")
    p.add_argument("--confidence", type=float, default=0.8, help="required P(met) (default 0.8)")
    p.add_argument("--max", type=_duration_arg, default="36m", help="largest slip searched (36m)")
    p.add_argument("--resolution", type=_duration_arg, default=1.0, help="bisection resolution (default 1 day)")
    p.add_argument("--scenario", type=Path, default=None, help="apply this scenario first")
    _add_run_options(p)
    p.add_argument("--out", type=Path, default=None, help="directory for tolerance.csv (optional)")
    _add_force(p)
    p.set_defaults(func=_cmd_tolerance, runs=2000)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sim",
        description="Delivery-risk simulator for a multi-year action plan (params/ holds the plan as data).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("report", help="write the HTML report, workbook and charts of a run directory (no re-run)")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory made by `sim run`")
    p.add_argument("--lang", choices=["zh", "en"], default=None, help="language (default: both)")
    _add_report_options(p)
    p.add_argument("--driver-runs", type=int, default=2000,
                   help="replications re-run without each risk for the risk ranking (first report only)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("validate", help="load and check params/, print a summary")
    p.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="params directory")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("run", help="simulate a scenario (default: the baseline) and write a run directory")
    _add_run_options(p)
    p.add_argument("scenario", nargs="?", type=Path, default=None, metavar="SCENARIO",
                   help="scenario YAML (scenarios/README.md); default: the baseline (params as they are)")
    p.add_argument("--out", type=Path, default=None, help="run directory (default results/<scenario>-<time>)")
    _add_force(p)
    p.add_argument("--no-report", action="store_true", help="records and tables only: no charts, HTML or workbook")
    _add_report_options(p)
    p.add_argument("--lang", choices=["zh", "en"], action="append", default=None,
                   help="report language (repeatable; default both)")
    _add_actuals_options(p)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("appraise", help="forecasts as of the plan date and each year end, with what changed")
    _add_run_options(p)
    p.add_argument("--years", type=int, nargs="+", required=True, help="years whose 12-31 is a snapshot")
    p.add_argument("--actuals", type=Path, required=True, metavar="FILE", help="actuals CSV (actuals/README.md)")
    p.add_argument("--out", type=Path, default=None, help="output directory (default results/appraisal-<time>)")
    p.add_argument("--lang", choices=["zh", "en"], action="append", default=None,
                   help="appraisal page language (repeatable; default both)")
    _add_force(p)
    p.set_defaults(func=_cmd_appraise)

    p = sub.add_parser("backtest", help="score run directories against actuals (Brier, log, PIT)")
    p.add_argument("runs", type=Path, nargs="+", metavar="RUN_DIR", help="run directories to score")
    p.add_argument("--actuals", type=Path, required=True, metavar="FILE", help="actuals CSV (actuals/README.md)")
    p.add_argument("--params", type=Path, default=None,
                   help="params directory (default: the one recorded in the first run, else params)")
    p.add_argument("--out", type=Path, default=None, help="output directory (default results/backtest-<time>)")
    _add_force(p)
    p.add_argument("--no-refclass", action="store_true", help="skip the reference-class baseline")
    p.set_defaults(func=_cmd_backtest)

    p = sub.add_parser("calendar", help="print calendar.csv (Spring Festival stoppages, official holidays) for years")
    p.add_argument("--first", type=int, default=2020, help="first year (default 2020)")
    p.add_argument("--last", type=int, default=2030, help="last year (default 2030)")
    p.set_defaults(func=_cmd_calendar)

    p = sub.add_parser("bench", help="every cost (engines, summaries, workers, report, batch, start-up) as a ratio to the "
                                      "draws-only floor, with the load average")
    p.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="params directory")
    p.add_argument("--quick", action="store_true",
                   help="small sizes (a smoke run: a few minutes less, figures noisier)")
    p.add_argument("--workers", type=int, default=None, help="workers (default: all cores)")
    p.set_defaults(func=_cmd_bench)
    _add_scenario_commands(sub)
    from sim.interop.cli import register as register_interop
    register_interop(sub)
    from sim.serve.cli import register as register_serve
    register_serve(sub)
    return parser


def _one_blas_thread() -> None:
    """Parallelism comes from worker processes; BLAS threads on top only oversubscribe the cores
    (the matrix products here are small). Must run before numpy is first imported."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def main(argv: list[str] | None = None) -> int:
    _one_blas_thread()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PlanError as exc:
        print(exc.report(), file=sys.stderr)
        return 2
    except EXPECTED as exc:
        print(f"sim: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed: not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as exc:  # the machine refused (disk full, permission): a message, not a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"sim: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("sim: out of memory; use fewer --runs or --workers", file=sys.stderr)
        return 2
    except RecursionError:
        print("sim: input nested too deeply", file=sys.stderr)
        return 2


# errors that end a command with one ``sim: ...`` line and exit 2 (anything else is a bug: a traceback)
EXPECTED = (UsageError, SnapshotError, ExecutorError, OutputError, RunDirError, ResourceError)


if __name__ == "__main__":
    sys.exit(main())
