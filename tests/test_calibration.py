"""Each duration class reproduces the published figures it cites (docs/calibration.md §2.2, §2.4).

Two checks per project type with a published anchor:

* the reference class (``ref_median, ref_p90`` of params/duration_classes.csv),
  sampled with the project's own sampling code (``sim.engine.distributions.ppf``),
  reproduces the anchor's mean, share on time or early, and median where published;
* a lone item of that type, through the engine with the narrowed class and every
  duration-phase risk and shock the shipped register applies to it, reproduces
  the same figures (the combined distribution class x risks x shocks).

Tolerance: Z_TOL Monte Carlo standard errors, computed here from the samples,
plus the publication's rounding (half its last digit). The anchors publish no
P80 or P90 of a schedule overrun, so none is compared.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.analysis.calibration import ANCHORS, CLASS_ANCHOR, lognormal_fit, lone_item_ratios
from sim.engine.distributions import ppf
from sim.model.load import load_plan
from conftest import ROOT

Z_TOL = 4.0  # standard errors; with fixed seeds a pass is reproducible, and a wrong class is far outside
N_REF = 200_000
N_LONE = 24_000
TYPES = [t for t, a in CLASS_ANCHOR.items() if a is not None]


@pytest.fixture(scope="module")
def plan():
    return load_plan(ROOT / "params")


def _check(r: np.ndarray, anchor, label: str) -> None:
    n = len(r)
    rnd = anchor.rounding or {}
    if anchor.mean is not None:
        se = float(np.std(r, ddof=1)) / math.sqrt(n)
        tol = Z_TOL * se + rnd.get("mean", 0.0)
        assert abs(float(np.mean(r)) - anchor.mean) <= tol, \
            f"{label}: mean {np.mean(r):.4f} vs published {anchor.mean} (tolerance {tol:.4f})"
    if anchor.share_on_time is not None:
        p = float(np.mean(r <= 1.0))
        tol = Z_TOL * math.sqrt(anchor.share_on_time * (1 - anchor.share_on_time) / n) + rnd.get("share_on_time", 0.0)
        assert abs(p - anchor.share_on_time) <= tol, \
            f"{label}: share on time or early {p:.4f} vs published {anchor.share_on_time:.4f} (tolerance {tol:.4f})"
    if anchor.median is not None:
        # the published median m (rounded by d) is a median of r when P(r <= m - d) <= 1/2 <= P(r <= m + d)
        d = rnd.get("median", 0.0)
        tol = Z_TOL * math.sqrt(0.25 / n)
        lo, hi = float(np.mean(r <= anchor.median - d)), float(np.mean(r <= anchor.median + d))
        assert lo <= 0.5 + tol and hi >= 0.5 - tol, \
            f"{label}: P(R <= median -/+ rounding) = {lo:.4f}/{hi:.4f}, published median {anchor.median}"


@pytest.mark.parametrize("ptype", TYPES)
def test_reference_class_reproduces_its_published_figures(plan, ptype):
    cls = next(c for c in plan.duration_classes if c.project_type == ptype)
    assert cls.reference is not None, f"{ptype}: the reference class (ref_median, ref_p90) is not stated"
    u = (np.arange(N_REF) + np.random.default_rng(11).random(N_REF)) / N_REF  # stratified uniforms
    _check(ppf(cls.reference, u), ANCHORS[CLASS_ANCHOR[ptype]], f"{ptype} reference class")


@pytest.mark.parametrize("ptype", TYPES)
def test_lone_item_with_risks_and_shocks_reproduces_the_reference_class(plan, ptype):
    r = lone_item_ratios(plan, ptype, runs=N_LONE, seed=20200116)
    _check(r, ANCHORS[CLASS_ANCHOR[ptype]], f"{ptype} lone item (class x risks x shocks)")


def test_the_closed_form_fit_reproduces_its_anchor_exactly():
    """An independent check of lognormal_fit: the lognormal's own mean, median and P(R <= 1) formulas."""
    from scipy import stats

    for key, a in ANCHORS.items():
        m, s = lognormal_fit(a)
        dist = stats.lognorm(s=s, scale=m)
        assert dist.mean() == pytest.approx(a.mean, rel=1e-12), key
        if a.share_on_time is not None:
            assert dist.cdf(1.0) == pytest.approx(a.share_on_time, rel=1e-12), key
        if a.median is not None:
            assert dist.median() == pytest.approx(a.median, rel=1e-12), key


def test_no_class_has_a_floor_and_early_finishes_are_possible(plan):
    """No source supports a floor on R (docs/calibration.md §2.1): every class can finish early."""
    for c in plan.duration_classes:
        assert c.multiplier.floor is None, f"{c.project_type}: floor {c.multiplier.floor} has no source"
        early = float(ppf(c.multiplier, np.array([0.05]))[0])
        assert early < 0.95, f"{c.project_type}: P5 of R is {early:.3f}, so finishing 5 % early is (nearly) impossible"


def test_the_narrowed_class_is_what_the_register_needs(plan):
    """Without the register the narrowed class alone would finish earlier than the reference class."""
    for ptype in ("elevated_expressway", "rail"):
        cls = next(c for c in plan.duration_classes if c.project_type == ptype)
        assert cls.multiplier.params[0] < cls.reference.params[0]
