"""Derive the duration-class rows of params/duration_classes.csv (docs/calibration.md §2.2, §2.4).

For each project type with a published anchor (sim/analysis/calibration.py):

1. the reference class: the lognormal that reproduces the anchor's two figures
   exactly (closed form, ``lognormal_fit``) -> columns ``ref_median, ref_p90``;
2. the narrowed class the model uses with the register: the lognormal (median,
   sigma) for which the representative lone item of that type, with every
   duration-phase risk and shock the shipped register applies to it, reproduces
   the same two figures through the engine -> columns ``p1, p2``.

Run from the project root:  .venv/bin/python docs/fit_duration_classes.py
It prints one line per type; copy the numbers into params/duration_classes.csv.
Common random numbers (one seed) make the fitted function smooth enough for a
least-squares solver.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import optimize

from sim.analysis.calibration import ANCHORS, CLASS_ANCHOR, lognormal, lognormal_fit, lone_item_ratios
from sim.model.distribution import Z90
from sim.model.load import load_plan

RUNS = 40_000
SEED = 7


def figures(r: np.ndarray, anchor) -> np.ndarray:
    """The anchor's figures measured on samples r: mean, and share on time or median."""
    second = float(np.median(r)) if anchor.median is not None else float(np.mean(r <= 1.0))
    return np.array([float(np.mean(r)), second])


def main() -> None:
    plan = load_plan(Path("params"))
    for ptype, key in CLASS_ANCHOR.items():
        if key is None:
            continue
        anchor = ANCHORS[key]
        m0, s0 = lognormal_fit(anchor)
        goal = np.array([anchor.mean, anchor.median if anchor.median is not None else anchor.share_on_time])

        def gap(x):
            r = lone_item_ratios(plan, ptype, runs=RUNS, seed=SEED, multiplier=lognormal(math.exp(x[0]),
                                                                                       math.exp(x[1])))
            return figures(r, anchor) - goal

        fit = optimize.least_squares(gap, [math.log(m0), math.log(s0)], diff_step=0.02, xtol=1e-4)
        m, s = math.exp(fit.x[0]), math.exp(fit.x[1])
        print(f"{ptype:20s} ref median {m0:.4f} P90 {m0 * math.exp(Z90 * s0):.4f} (sigma {s0:.4f}) | "
              f"narrowed median {m:.4f} P90 {m * math.exp(Z90 * s):.4f} (sigma {s:.4f}) residual {fit.fun.round(4)}")


if __name__ == "__main__":
    main()
