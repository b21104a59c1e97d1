#!/usr/bin/env python3
"""Do two runs agree on every target within Monte Carlo error? (a developer tool, not a test)

    python3 tools/compare_targets.py OLD_RUN_DIR NEW_RUN_DIR [--alpha 0.05]

For a change that alters the random numbers (not the model), each target's P(met)
in the two runs should differ by no more than Monte Carlo error. Per target:
``z = (p_new - p_old) / sqrt(se_old^2 + se_new^2)`` with both runs' standard errors
(from targets.csv). Run the two with different seeds so that they are independent
(with one seed they share draws and the test is conservative). Prints how many
targets exceed |z| > 1.96 (about 5 % are expected by chance) and the largest |z|
against the Bonferroni bound for the number of targets compared; exits 1 when
the largest exceeds it. A target that is certain in both runs (se = 0) must agree
exactly.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path
from statistics import NormalDist


def _targets(run: Path) -> dict[str, tuple[float, float]]:
    with open(run / "targets.csv", encoding="utf-8", newline="") as fh:
        return {r["id"]: (float(r["p_met"]), float(r["se"])) for r in csv.DictReader(fh)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--alpha", type=float, default=0.05, help="family-wise level of the Bonferroni bound")
    args = ap.parse_args(argv)
    old, new = _targets(args.old), _targets(args.new)
    common = sorted(set(old) & set(new))
    rows, exact_bad = [], []
    for t in common:
        (p0, s0), (p1, s1) = old[t], new[t]
        se = math.hypot(s0, s1)
        if se == 0:
            if p0 != p1:
                exact_bad.append(t)
            continue
        rows.append((abs(p1 - p0) / se, t, p0, p1, se))
    rows.sort(reverse=True)
    bound = NormalDist().inv_cdf(1 - args.alpha / (2 * max(len(rows), 1)))
    over = sum(z > 1.96 for z, *_ in rows)
    print(f"targets compared: {len(rows)} (+{len(common) - len(rows)} certain in both runs); "
          f"only in one run: {len(set(old) ^ set(new))}")
    print(f"|z| > 1.96: {over} ({over / max(len(rows), 1):.1%}; about 5 % expected by chance)")
    if rows:
        z, t, p0, p1, se = rows[0]
        print(f"largest |z| = {z:.2f} ({t}: {p0:.4f} -> {p1:.4f}, se {se:.4f}); Bonferroni bound at "
              f"alpha {args.alpha}: {bound:.2f}")
    for t in exact_bad:
        print(f"certain in both runs but different: {t}: {old[t][0]} -> {new[t][0]}")
    ok = (not rows or rows[0][0] <= bound) and not exact_bad
    print("agree within Monte Carlo error" if ok else "DISAGREE beyond Monte Carlo error")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
