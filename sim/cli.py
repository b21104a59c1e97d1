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


def _cmd_validate(args: argparse.Namespace) -> int:
    from sim.model.load import load_plan, plan_summary

    plan = load_plan(args.params)
    print(plan_summary(plan))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sim",
        description="Delivery-risk simulator for the Ring-Daluo-Mountain corridor plan.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="load and check params/, print a summary")
    p.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="params directory")
    p.set_defaults(func=_cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PlanError as exc:
        print(exc.report(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
