"""Command line: thin wrappers that parse arguments, call the library and print.

Every expected failure (bad params, bad scenario, bad arguments) ends in a clear
message on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.model.problems import PlanError

DEFAULT_PARAMS = Path("params")


class UsageError(Exception):
    """A command-line argument that cannot be used; printed without traceback."""


def _cmd_validate(args: argparse.Namespace) -> int:
    from sim.model.load import load_plan, plan_summary

    plan = load_plan(args.params)
    print(plan_summary(plan))
    return 0


def _run_config(args: argparse.Namespace):
    from sim.engine.replicate import Engine
    from sim.engine.runner import Executor, RunConfig

    if args.runs < 1:
        raise UsageError(f"--runs must be >= 1, got {args.runs}")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    return RunConfig(
        runs=args.runs,
        seed=args.seed,
        workers=args.workers,
        executor=Executor.DASK if args.scheduler else Executor.POOL,
        scheduler=args.scheduler,
        engine=Engine(args.engine),
        lhs=args.lhs,
        precision=args.precision,
        progress=sys.stderr.isatty() and not args.quiet,
    )


def _cmd_run(args: argparse.Namespace) -> int:
    from sim.analysis.present import headline_lines
    from sim.model.load import load_plan
    from sim.results import default_run_dir, params_hash
    from sim.workflow import run_plan

    config = _run_config(args)
    plan = load_plan(args.params)
    scenario = "baseline"
    out = args.out or default_run_dir(Path("results"), scenario)
    run_dir = run_plan(plan, config=config, out=out, scenario=scenario,
                       params_digest=params_hash(args.params))
    if not args.quiet:
        print("\n".join(headline_lines(run_dir)))
    print(f"results: {run_dir}")
    return 0


def _add_run_options(p: argparse.ArgumentParser) -> None:
    from sim.engine.replicate import Engine

    p.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="params directory")
    p.add_argument("--runs", type=int, default=10_000, help="replications (default 10000)")
    p.add_argument("--seed", type=int, default=20200116, help="random seed")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address, or 'local' to start a LocalCluster")
    p.add_argument("--engine", choices=[e.value for e in Engine], default="auto",
                   help="schedule engine: simpy, vector (no resource limits) or auto")
    p.add_argument("--lhs", action="store_true", help="Latin hypercube sampling of the drivers")
    p.add_argument("--precision", type=float, default=None,
                   help="stop once every target probability's standard error is below this")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary")


def _cmd_bench(args: argparse.Namespace) -> int:
    from sim.bench import bench

    for line in bench(args.params, scaling_runs=args.scaling_runs, memory_runs=args.memory_runs,
                      workers=args.workers):
        print(line, flush=True)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from sim.report.build import write_report

    if not (args.run_dir / "manifest.json").is_file():
        raise UsageError(f"{args.run_dir}: not a run directory (no manifest.json)")
    for lang in [args.lang] if args.lang else ["zh", "en"]:
        paths = write_report(args.run_dir, lang=lang, driver_runs=args.driver_runs)
        print(f"report ({paths['lang']}): {paths['html']}  {paths['xlsx']}  charts: {paths['charts']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sim",
        description="Delivery-risk simulator for the Ring-Daluo-Mountain corridor plan.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("report", help="write the HTML report, workbook and charts of a run directory (no re-run)")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory made by `sim run`")
    p.add_argument("--lang", choices=["zh", "en"], default=None, help="language (default: both)")
    p.add_argument("--driver-runs", type=int, default=2000,
                   help="replications re-run without each risk for the risk ranking (first report only)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("validate", help="load and check params/, print a summary")
    p.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="params directory")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("run", help="simulate a scenario (default: the baseline) and write a run directory")
    _add_run_options(p)
    p.add_argument("--out", type=Path, default=None, help="run directory (default results/<scenario>-<time>)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("bench", help="measure replications/s, scaling and peak memory on the full plan")
    p.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="params directory")
    p.add_argument("--scaling-runs", type=int, default=20_000, help="replications for the worker scaling test")
    p.add_argument("--memory-runs", type=int, default=100_000, help="replications for the peak-memory run")
    p.add_argument("--workers", type=int, default=None, help="workers (default: all cores)")
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PlanError as exc:
        print(exc.report(), file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"sim: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
