"""Slippage tests: what else moves when an item slips, and how much slip a target tolerates.

A slip of ``d`` days is the scenario overlay ``slip: {ITEM: d}`` (see
:mod:`sim.model.scenario`): ``d`` working days added to the item's remaining
duration, drawn from no random stream, so the plans with and without the slip
share every draw (common random numbers). Hence, replication by replication,
``met(target | slip d)`` is non-increasing in ``d`` wherever the schedule is
monotone (always for the vectorised engine; the SimPy engine with binding unit
capacities can in principle show scheduling anomalies, which
:func:`tolerance` detects and reports).

* :func:`deterministic_slip`: the plan with every multiplier fixed at 1, no
  risks and no shocks (:func:`zero_variance`), run with and without the slip:
  which items and targets move, by how many days, along which links.
* :func:`probabilistic_slip`: the paired difference in P(met) of every target.
* :func:`tolerance`: the largest slip keeping P(target met) >= confidence, by
  bisection on whole days, with the bracket where P -/+ 2 SE cross the level.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.analysis import slip_propagation as propagation
from sim.analysis.slip_propagation import with_slip
from sim.analysis.summary import Z95
from sim.engine.compiled import compile_plan
from sim.engine.runner import RunConfig, run_monte_carlo
from sim.model.entities import Plan
from sim.model.problems import PlanError, Problem
from sim.model.scenario import MONTH_DAYS



def check_item(plan: Plan, item: str, *, target: str | None = None) -> None:
    """Raise a PlanError naming the argument when ``item`` (or ``target``) is not in the plan."""
    from sim.model.select import unknown_hint

    problems = []
    if item not in {it.id for it in plan.items}:
        problems.append(Problem("command line", None, "ITEM", item, f"unknown item {item!r}",
                                unknown_hint(item, [it.id for it in plan.items], home="items.csv id")))
    if target is not None and target not in {t.id for t in plan.targets}:
        problems.append(Problem("command line", None, "--target", target, f"unknown target {target!r}",
                                unknown_hint(target, [t.id for t in plan.targets], home="targets.csv id")))
    if problems:
        raise PlanError(problems, what="arguments")


# --- deterministic propagation ----------------------------------------------------------------

def deterministic_slip(plan: Plan, item: str, slips_days: Sequence[float]) -> pd.DataFrame:
    """:func:`sim.analysis.slip_propagation.deterministic_slip` after checking that ``item`` is in the plan."""
    check_item(plan, item)
    return propagation.deterministic_slip(plan, item, slips_days)


# --- probabilistic effect ---------------------------------------------------------------------

def simulate_met(plan: Plan, config: RunConfig) -> tuple[tuple[str, ...], np.ndarray]:
    """Target ids and the (runs, targets) met indicators of ``plan`` (no run directory)."""
    model = compile_plan(plan)
    chunks: list[np.ndarray] = []
    run_monte_carlo(model, dataclasses.replace(config, precision=None, progress=False),
                    lambda rec: chunks.append(rec.met.astype(bool)))
    return tuple(t.id for t in model.targets), np.concatenate(chunks)


def probabilistic_slip(plan: Plan, item: str, slips_days: Sequence[float], config: RunConfig) -> pd.DataFrame:
    """Paired difference in P(met) of every target, slip against no slip, on common random numbers."""
    from sim.analysis.summary import paired_difference

    check_item(plan, item)
    ids, base = simulate_met(plan, config)
    names = {t.id: t.name_en for t in plan.targets}
    rows = []
    for days in slips_days:
        ids_s, met = simulate_met(with_slip(plan, item, days), config)
        col = {t: k for k, t in enumerate(ids_s)}
        for k, tid in enumerate(ids):
            x, y = met[:, col[tid]].astype(float), base[:, k].astype(float)
            rows.append({"slip_days": days, "target": tid, "name_en": names[tid], "runs": len(x),
                         "p_met": float(x.mean()), **paired_difference(x, y)})
    order = {t.id: k for k, t in enumerate(plan.targets)}
    df = pd.DataFrame(rows)
    return df.sort_values(["slip_days", "target"], key=lambda s: s.map(order) if s.name == "target" else s,
                          kind="stable").reset_index(drop=True)


# --- tolerance ----------------------------------------------------------------------------------

@dataclass
class Tolerance:
    """Result of :func:`tolerance`. Days are whole calendar days of slip (converted as in scenario slips)."""

    item: str
    target: str
    confidence: float
    runs: int
    max_days: int
    days: int | None  # largest slip with P >= confidence (< 0: an advance is needed); None: not even -max_days
    low_days: int | None  # where P - 2 SE crosses the level (conservative end)
    high_days: int | None  # where P + 2 SE crosses the level
    p: dict[int, float] = field(default_factory=dict)  # P(met) at every slip evaluated
    monotone: bool = True  # per replication, met never rises with a longer slip (checked at evaluated slips)

    @property
    def censored(self) -> bool:
        """True when the largest slip searched still keeps P >= confidence."""
        return self.days is not None and self.days >= self.max_days

    def se(self, days: int) -> float:
        p = self.p[days]
        return math.sqrt(p * (1 - p) / self.runs)

    def table(self) -> pd.DataFrame:
        d = sorted(self.p)
        return pd.DataFrame({"slip_days": d, "p_met": [self.p[x] for x in d], "se": [self.se(x) for x in d]})


def tolerance(plan: Plan, item: str, target: str, *, confidence: float, config: RunConfig,
              max_days: float = 36 * MONTH_DAYS, resolution: int = 1) -> Tolerance:
    """The largest slip of ``item`` keeping P(``target`` met) >= ``confidence``.

    Bisection on whole calendar days in [0, ``max_days``] (in [-``max_days``, 0]
    when even no slip falls short: the advance the target needs). Every evaluation is a run of
    ``config.runs`` replications with the same seed (common random numbers), so
    P is non-increasing in the slip. The same search on P - 2 SE and P + 2 SE
    gives the bracket (the Monte Carlo uncertainty of the answer).
    """
    check_item(plan, item, target=target)
    max_days = int(math.ceil(max_days))
    cache: dict[int, np.ndarray] = {}

    def met(days: int) -> np.ndarray:
        if days not in cache:
            ids, m = simulate_met(with_slip(plan, item, days), config)
            cache[days] = m[:, ids.index(target)]
        return cache[days]

    def level(days: int, k: float) -> bool:
        x = met(days)
        p = float(x.mean())
        return p + k * math.sqrt(p * (1 - p) / len(x)) >= confidence

    found = {k: _search(lambda d, k=k: level(d, k), max_days, resolution) for k in (0.0, -2.0, 2.0)}
    runs = len(next(iter(cache.values())))
    points = sorted(cache)
    monotone = all(bool(np.all(cache[a] >= cache[b])) for a, b in zip(points, points[1:]))
    return Tolerance(item, target, confidence, runs, max_days, found[0.0], found[-2.0], found[2.0],
                     {d: float(cache[d].mean()) for d in points}, monotone)


def _search(ok, max_days: int, step: int) -> int | None:
    """Largest slip d in [-max_days, max_days] with ok(d): among slips when ok(0), else among advances."""
    return _largest(ok, 0, max_days, step) if ok(0) else _largest(ok, -max_days, 0, step)


def _largest(ok, lo: int, hi: int, step: int) -> int | None:
    """Largest d in [lo, hi] (to ``step``) with ok(d), for ok true then false; None if not ok(lo)."""
    if not ok(lo):
        return None
    if ok(hi):
        return hi
    while hi - lo > step:
        mid = (lo + hi) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return lo


# --- terminal views -----------------------------------------------------------------------------

def _months(days: float) -> str:
    return f"{days / MONTH_DAYS:.1f} months"


def slip_lines(item: str, det: pd.DataFrame, prob: pd.DataFrame, *, limit: int = 40) -> list[str]:
    """Text report of :func:`deterministic_slip` and :func:`probabilistic_slip`."""
    lines = []
    for days in dict.fromkeys(det["slip_days"]) if not det.empty else ():
        rows = det[det["slip_days"] == days]
        items, targets = rows[rows["kind"] == "item"], rows[rows["kind"] == "target"]
        lines.append(f"slip of {item} by {days:.1f} days ({_months(days)}) — zero-variance plan:")
        lines.append(f"  {len(items) - 1} other item(s) move; {len(targets)} schedule target(s) move")
        for r in items.head(limit).itertuples():
            lines.append(f"  {r.id:<14} {str(r.base_finish):>10} -> {str(r.slipped_finish):<10} "
                         f"{r.finish_shift_days:+8.1f} d   {r.path}")
        for r in targets.head(limit).itertuples():
            met = "" if r.met_base == r.met_slipped else f"  met {r.met_base} -> {r.met_slipped}"
            lines.append(f"  target {r.id:<12} {str(r.base_finish):>10} -> {str(r.slipped_finish):<10} "
                         f"{r.finish_shift_days:+8.1f} d{met}   via {r.path}")
        p = prob[prob["slip_days"] == days] if not prob.empty else prob
        if not p.empty:
            hit = p[p["excludes_zero"]].sort_values("difference")
            lines.append(f"  probabilistic ({int(p['runs'].iloc[0])} paired replications): "
                         f"{len(hit)} of {len(p)} targets change (95 % interval excludes 0)")
            for r in hit.head(limit).itertuples():
                lines.append(f"    {r.target:<16} {r.p_reference:6.1%} -> {r.p_met:6.1%}  Δ {r.difference:+6.1%} "
                             f"± {Z95 * r.difference_se:.1%}  {r.name_en}")
    return lines


def tolerance_lines(t: Tolerance) -> list[str]:
    """Text report of a :class:`Tolerance`."""
    head = f"tolerance of {t.target} to a slip of {t.item}: P(met) >= {t.confidence:.0%} ({t.runs} replications)"
    p0 = t.p.get(0)
    lines = [head]
    if t.days is None:
        best = t.p.get(-t.max_days, float("nan"))
        lines.append(f"  none: P(met) = {p0:.1%} without a slip, and only {best:.1%} if {t.item} finished "
                     f"{t.max_days} days earlier: the target is limited by other items (or its own duration)")
    elif t.days < 0:
        lines.append(f"  none: P(met) = {p0:.1%} < {t.confidence:.0%} without a slip; {t.item} would have to finish "
                     f"{-t.days} days ({_months(-t.days)}) earlier (slip {t.days} d: P(met) = {t.p[t.days]:.1%} "
                     f"± {t.se(t.days):.1%})")
    elif t.censored:
        lines.append(f"  at least {t.days} days ({_months(t.days)}): P(met) = {t.p[t.days]:.1%} at the largest "
                     f"slip searched (raise --max)")
    else:
        lines.append(f"  largest slip: {t.days} days ({_months(t.days)}); P(met) = {t.p[t.days]:.1%} "
                     f"± {t.se(t.days):.1%} there, {t.p[t.days + 1] if t.days + 1 in t.p else float('nan'):.1%} "
                     f"one day more; P(met) = {p0:.1%} without a slip")
    lo = "none" if t.low_days is None else f"{t.low_days} d"
    hi = "none" if t.high_days is None else f"{t.high_days} d"
    lines.append(f"  uncertainty: {lo} .. {hi} (where P - 2 SE and P + 2 SE cross {t.confidence:.0%})")
    lines.append(f"  {len(t.p)} slips evaluated; per-replication monotone: {'yes' if t.monotone else 'NO'}")
    return lines
