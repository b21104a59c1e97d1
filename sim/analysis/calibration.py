"""Duration reference classes: the published figures, the lognormal fits, and a lone item through the engine.

docs/calibration.md §2.2 states which published figures each project type's
duration multiplier R = actual / planned must reproduce; this module holds
those figures (:data:`ANCHORS`, :data:`CLASS_ANCHOR`), the closed-form
lognormal fits to them, and :func:`lone_item_ratios`, which puts one item of a
project type through the engine with the risks and shocks the shipped register
would apply to it, so that the combined distribution (class x risks x shocks)
can be compared with the same figures (tests/test_calibration.py;
docs/fit_duration_classes.py derives the narrowed class rows with it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import timedelta

import numpy as np
from scipy import special

from sim.model.distribution import Distribution, Z90
from sim.model.entities import Item, Plan
from sim.model.enums import DistFamily, RiskPhase, Status
from sim.model.select import resolve


@dataclass(frozen=True)
class Anchor:
    """Published summary figures of a reference class (docs/calibration.md §1, §2.2).

    ``mean``: mean of R; ``share_on_time``: P(R <= 1), the share finishing on
    time or early; ``median``: median of R. ``rounding`` is half the last
    published digit of each figure (e.g. 0.005 for a whole percent), added to
    the Monte Carlo tolerance of the tests.
    """

    key: str
    source: str
    mean: float | None = None
    share_on_time: float | None = None
    median: float | None = None
    rounding: dict | None = None


ANCHORS: dict[str, Anchor] = {
    "erdf_gb_nonstd_civil": Anchor(
        "erdf_gb_nonstd_civil",
        "mean R 1.25 = Green Book non-standard civil works-duration upper bound 25 % (§1.4); "
        "P(R <= 1) 0.25 = ERDF 2000-2006 major infrastructure, 75 % delayed (§1.3)",
        mean=1.25, share_on_time=0.25, rounding={"mean": 0.005, "share_on_time": 0.005}),
    "erdf": Anchor(
        "erdf",
        "ERDF 2000-2006 major infrastructure (96 projects): 75 % delayed, mean delay 26 % of the "
        "planned duration taken over all projects (§1.3, §1.5)",
        mean=1.26, share_on_time=0.25, rounding={"mean": 0.005, "share_on_time": 0.005}),
    "odeck_roads": Anchor(
        "odeck_roads",
        "Odeck (2025), 2,228 Norwegian road projects: median time overrun 0 %, mean 18 % (§1.3)",
        mean=1.18, median=1.00, rounding={"mean": 0.005, "median": 0.005}),
    "erdf_gb_std_civil": Anchor(
        "erdf_gb_std_civil",
        "mean R 1.20 = Green Book standard civil works-duration upper bound 20 % (§1.4); "
        "P(R <= 1) 0.25 = ERDF major infrastructure, 75 % delayed (§1.3)",
        mean=1.20, share_on_time=0.25, rounding={"mean": 0.005, "share_on_time": 0.005}),
    "mm_obj1": Anchor(
        "mm_obj1",
        "mean R 1.17 = Mott MacDonald (2002) mean works-duration overrun 17 % of 39 conventionally procured "
        "UK projects (§1.3); P(R <= 1) 1/3 = EU Objective 1 review, 'about one third on time' (§1.3)",
        mean=1.17, share_on_time=1 / 3, rounding={"mean": 0.005, "share_on_time": 1 / 30}),
    "gb_nonstd_building_obj1": Anchor(
        "gb_nonstd_building_obj1",
        "mean R 1.39 = Green Book non-standard buildings works-duration upper bound 39 % (§1.4); "
        "P(R <= 1) 1/3 = EU Objective 1 review (§1.3)",
        mean=1.39, share_on_time=1 / 3, rounding={"mean": 0.005, "share_on_time": 1 / 30}),
    "gb_equipment_obj1": Anchor(
        "gb_equipment_obj1",
        "mean R 1.54 = Green Book equipment/development works-duration upper bound 54 % (§1.4); "
        "P(R <= 1) 1/3 = EU Objective 1 review (§1.3)",
        mean=1.54, share_on_time=1 / 3, rounding={"mean": 0.005, "share_on_time": 1 / 30}),
}

#: Project type -> anchor (None: an assumption without a published reference class, docs/calibration.md §2.2).
CLASS_ANCHOR: dict[str, str | None] = {
    "elevated_expressway": "erdf_gb_nonstd_civil",
    "arterial": "odeck_roads",
    "motorway": "odeck_roads",
    "rail": "erdf",
    "brt": "erdf_gb_std_civil",
    "bus_lanes": "erdf_gb_std_civil",
    "bus_hub": "mm_obj1",
    "science_park": "mm_obj1",
    "industrial_park": "mm_obj1",
    "hospital": "gb_nonstd_building_obj1",
    "laboratory": "gb_nonstd_building_obj1",
    "street_environment": "odeck_roads",
    "systems": "gb_equipment_obj1",
    "policy": "mm_obj1",
    "bus_operations": "odeck_roads",
    "preconstruction": None,
    "external_rail": None,
}


def lognormal_fit(anchor: Anchor) -> tuple[float, float]:
    """(median, sigma) of the lognormal R reproducing the anchor's two figures exactly.

    mean and share on time: ln m = z sigma with z = -Phi^-1(q), and
    ln mean = ln m + sigma^2 / 2, so sigma = -z + sqrt(z^2 + 2 ln mean);
    mean and median: sigma = sqrt(2 ln(mean / median)).
    """
    if anchor.mean is None:
        raise ValueError(f"anchor {anchor.key}: a lognormal fit needs the mean")
    if anchor.median is not None:
        return anchor.median, math.sqrt(2.0 * math.log(anchor.mean / anchor.median))
    if anchor.share_on_time is None:
        raise ValueError(f"anchor {anchor.key}: a lognormal fit needs the median or the share on time")
    z = -float(special.ndtri(anchor.share_on_time))
    sigma = -z + math.sqrt(z * z + 2.0 * math.log(anchor.mean))
    return math.exp(z * sigma), sigma


def lognormal(median: float, sigma: float) -> Distribution:
    """The ``lognormal`` (median, P90) distribution with this median and sigma."""
    return Distribution(DistFamily.LOGNORMAL, (median, median * math.exp(Z90 * sigma)))


def representative_item(plan: Plan, project_type: str) -> Item:
    """The item of ``project_type`` with the median planned total duration (ties: file order).

    Only items without their own multiplier and without a 力争 finish count,
    so that the item shows the class itself.
    """
    cands = [it for it in plan.items if it.project_type == project_type and it.multiplier is None
             and not it.finish_aspirational] or [it for it in plan.items if it.project_type == project_type]
    if not cands:
        raise ValueError(f"no item of project type {project_type}")

    def days(it: Item) -> int:
        begin = it.plan_start if it.plan_start is not None and it.plan_start < it.plan_finish else plan.as_of
        return max((it.plan_finish - begin).days + 1, 1)
    cands.sort(key=days)
    return cands[(len(cands) - 1) // 2]


def total_days(plan: Plan, it: Item) -> int:
    """Planned total duration in days, plan start (or the as-of date) to plan date."""
    begin = it.plan_start if it.plan_start is not None and it.plan_start < it.plan_finish else plan.as_of
    return max((it.plan_finish - begin).days + 1, 1)


def lone_item_plan(plan: Plan, project_type: str, multiplier: Distribution | None = None) -> tuple[Plan, int]:
    """A one-item plan: the representative item of ``project_type``, not started, from the as-of date.

    Its planned duration is the representative's total; it has every
    duration-phase risk and every shock of ``plan`` that reaches the
    representative (retargeted to it), no links, factors, KPIs or calendar
    stoppages (so that R is finish / planned days). ``multiplier`` replaces
    the class's distribution (default: the class as shipped). Start-phase
    risks delay a start, not the work, and stay out.
    """
    rep = representative_item(plan, project_type)
    days = total_days(plan, rep)
    lone = replace(rep, status=Status.NOT_STARTED, plan_start=None, plan_finish=plan.as_of + timedelta(days=days - 1),
                   duration_days=float(days), actual_start=None, actual_finish=None, percent_complete=None,
                   start_aspirational=False, finish_aspirational=False, resource_unit=None)
    risks = tuple(replace(r, targets=(rep.id,)) for r in plan.risks
                  if r.phase is RiskPhase.DURATION and rep.id in resolve(plan, r.targets))
    shocks = tuple(replace(s, affects=(rep.id,)) for s in plan.shocks if rep.id in resolve(plan, s.affects))
    classes = tuple(c if c.project_type != project_type or multiplier is None else replace(c, multiplier=multiplier)
                    for c in plan.duration_classes)
    one = replace(plan, items=(lone,), links=(), risks=risks, shocks=shocks, factors=(), factor_correlations=(),
                  kpis=(), kpi_boosts=(), targets=(), calendar_windows=(), duration_classes=classes)
    return one, days


def lone_item_ratios(plan: Plan, project_type: str, *, runs: int, seed: int,
                     multiplier: Distribution | None = None) -> np.ndarray:
    """R = finish / planned days of the lone item of ``project_type`` (:func:`lone_item_plan`), one per run."""
    from sim.engine.compiled import compile_plan
    from sim.engine.forward import forward_pass
    from sim.engine.sampling import draw_chunk

    one, days = lone_item_plan(plan, project_type, multiplier)
    model = compile_plan(one)
    out: list[np.ndarray] = []
    chunk = 0
    while sum(len(x) for x in out) < runs:
        draws = draw_chunk(model, seed=seed, chunk=chunk)
        _, finish = forward_pass(model, draws)
        out.append(finish[:, 0] / days)
        chunk += 1
    return np.concatenate(out)[:runs]
