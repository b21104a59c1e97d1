"""``sim serve [RUN_DIR]``: start the what-if page on 127.0.0.1 (registered by :mod:`sim.cli`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub) -> None:
    from sim.engine.options import DEFAULT_SEED

    p = sub.add_parser("serve", help="interactive what-if page on 127.0.0.1: slips, scenarios and risks, "
                                     "paired on common random numbers")
    p.add_argument("run_dir", nargs="?", type=Path, default=None, metavar="RUN_DIR",
                   help="a run directory made by `sim run` (its plan and seed); default: params/ as they are")
    p.add_argument("--params", type=Path, default=Path("params"), help="params directory (when no RUN_DIR)")
    p.add_argument("--scenarios", type=Path, default=Path("scenarios"),
                   help="scenario files offered on the page, and where a what-if is saved (default scenarios)")
    p.add_argument("--runs", type=int, default=2000, help="replications of every what-if (default 2000)")
    p.add_argument("--seed", type=int, default=None, help=f"random seed (default: the run's, else {DEFAULT_SEED})")
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0: any free port)")
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    from sim.errors import UsageError
    from sim.serve.app import ServeOptions, free_port, make_base, serve

    if args.runs < 2:
        raise UsageError(f"--runs must be >= 2 (a standard error needs two replications), got {args.runs}")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be in 0..65535, got {args.port}")
    plan, label, seed = _base_plan(args)
    options = ServeOptions(runs=args.runs, seed=args.seed if args.seed is not None else seed,
                           port=args.port or free_port(),
                           scenarios_dir=args.scenarios if args.scenarios.is_dir() else None)
    print(f"simulating the base: {options.runs} replications, seed {options.seed} ...", file=sys.stderr, flush=True)
    base = make_base(plan, options, label=label)
    print(f"base ready in {base.base.seconds:.1f} s", file=sys.stderr, flush=True)
    try:
        serve(base, port=options.port, on_ready=lambda url: print(f"what-if page: {url}  (Ctrl-C stops)",
                                                                  flush=True))
    except OSError as exc:  # e.g. the port is taken
        raise UsageError(f"cannot listen on 127.0.0.1:{options.port}: {exc.strerror or exc}") from None
    return 0


def _base_plan(args: argparse.Namespace):
    from sim.errors import UsageError
    from sim.engine.options import DEFAULT_SEED
    from sim.engine.runner import RunConfig
    from sim.model.load import load_plan
    from sim.results import MANIFEST, read_manifest, read_plan_snapshot

    if args.run_dir is None:
        return load_plan(args.params), f"{args.params}/", DEFAULT_SEED  # words around it are the page's (app.js)
    if not (args.run_dir / MANIFEST).is_file():
        raise UsageError(f"{args.run_dir}: not a run directory (no {MANIFEST})")
    try:
        manifest = read_manifest(args.run_dir)
    except ValueError as exc:
        raise UsageError(f"{args.run_dir / MANIFEST}: not JSON ({exc})") from None
    plan = read_plan_snapshot(args.run_dir)
    label = f"{args.run_dir} · {manifest.get('scenario', '?')}"
    return plan, label, RunConfig.from_manifest(manifest).seed
