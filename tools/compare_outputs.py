#!/usr/bin/env python3
"""Byte-identical check of run CSVs before and after a refactor (a developer tool, not a test).

    python3 tools/compare_outputs.py record  [--dest /tmp/h11/ref]   # run every case, keep its CSVs
    python3 tools/compare_outputs.py compare [--ref /tmp/h11/ref] [--new /tmp/h11/new]

The cases: the baseline, every shipped scenario in scenarios/*.yaml, and the baseline moved to
an as-of date by the example actuals. Each runs ``sim run --runs 300 --seed 7 --workers 1
--no-report`` with the interpreter that runs this script and this checkout first on the path.
``compare`` runs the cases again into --new and compares every CSV (and records.parquet) byte for byte; it exits 1
when any file differs, is missing, or is new.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATTERNS = ("*.csv", "*.parquet")  # the tables, and the records they are built from


def _files(d: Path) -> set[Path]:
    return {p.relative_to(d) for pat in PATTERNS for p in d.rglob(pat)}
COMMON = ["run", "--runs", "300", "--seed", "7", "--workers", "1", "--no-report", "--quiet"]


def cases() -> dict[str, list[str]]:
    """Name -> extra ``sim run`` arguments, in a stable order."""
    out = {"baseline": []}
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        out[f"scenario-{path.stem}"] = [str(path)]
    out["actuals-2021-12-31"] = ["--as-of", "2021-12-31", "--actuals", str(ROOT / "actuals" / "example.csv")]
    return out


def run_all(dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "import sys; from sim.cli import main; sys.exit(main())"
    for name, extra in cases().items():
        out = dest / name
        cmd = [sys.executable, "-c", code, *COMMON, "--out", str(out), *extra]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"{name}: sim run failed ({proc.returncode}):\n{proc.stderr}")
        print(f"{name}: {len(_files(out))} files", flush=True)


def compare(ref: Path, new: Path) -> int:
    bad = 0
    for name in cases():
        a, b = ref / name, new / name
        files_a = _files(a)
        files_b = _files(b)
        for rel in sorted(files_a ^ files_b):
            print(f"{name}/{rel}: only in {'reference' if rel in files_a else 'new run'}")
            bad += 1
        same = 0
        for rel in sorted(files_a & files_b):
            if (a / rel).read_bytes() != (b / rel).read_bytes():
                print(f"{name}/{rel}: DIFFERS")
                bad += 1
            else:
                same += 1
        print(f"{name}: {same} of {len(files_a)} files byte-identical")
    print("all byte-identical" if bad == 0 else f"{bad} differences")
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["record", "compare"])
    ap.add_argument("--dest", "--ref", dest="ref", type=Path, default=Path("/tmp/h11/ref"))
    ap.add_argument("--new", type=Path, default=Path("/tmp/h11/new"))
    args = ap.parse_args()
    if args.action == "record":
        run_all(args.ref)
        return 0
    run_all(args.new)
    return compare(args.ref, args.new)


if __name__ == "__main__":
    sys.exit(main())
