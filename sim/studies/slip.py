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

from sim.analysis.summary import Z95
from sim.engine.compiled import CompiledModel, compile_plan
from sim.model.clock import date_of
from sim.engine.replicate import Engine, run_chunk
from sim.engine.runner import RunConfig, run_monte_carlo
from sim.model.distribution import Distribution
from sim.model.entities import Assumption, Plan
from sim.model.enums import LinkType, TargetRule
from sim.model.problems import PlanError, Problem
from sim.model.scenario import MONTH_DAYS, apply_scenario, scenario_from_dict

SCHEDULE_RULES = (TargetRule.ITEM_BY, TargetRule.ALL_OF, TargetRule.K_OF_N)
_EPS = 0.01  # days: smaller shifts are float32 rounding, not movement


def with_slip(plan: Plan, item: str, days: float) -> Plan:
    """The plan with ``item`` slipped by ``days`` (the scenario overlay ``slip: {item: days}``)."""
    if days == 0:
        return plan
    return apply_scenario(plan, scenario_from_dict({"slip": {item: float(days)}}, name=f"slip-{item}",
                                                   file=f"<slip {item}>"))


def zero_variance(plan: Plan) -> Plan:
    """The plan with every duration multiplier (and pre-construction wait) fixed at 1, no risks, no shocks.

    KPI arrivals stay random: targets on KPIs are left to :func:`probabilistic_slip`.
    """
    one = Distribution.fixed(1.0)
    assumptions = tuple(a for a in plan.assumptions if a.key != "aspirational_uplift")
    return dataclasses.replace(
        plan,
        items=tuple(dataclasses.replace(it, multiplier=one) for it in plan.items),
        duration_classes=tuple(dataclasses.replace(c, multiplier=one) for c in plan.duration_classes),
        risks=(), shocks=(),
        assumptions=(*assumptions, Assumption("aspirational_uplift", "1", "multiplier", "zero-variance copy")),
    )


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
    """Which items and schedule targets move when ``item`` slips, in the zero-variance plan.

    Returns
    -------
    DataFrame
        One row per (slip, moved item or target): ``slip_days, kind, id, name_en,
        base_finish, slipped_finish, finish_shift_days, start_shift_days,
        met_base, met_slipped, via, path`` where ``path`` is the chain of
        driving links from the slipped item, e.g. ``T14 -FF-> T15``.
    """
    check_item(plan, item)
    flat = zero_variance(plan)
    base_model = compile_plan(flat)
    base = _one_schedule(base_model)
    frames = []
    for days in slips_days:
        model = compile_plan(with_slip(flat, item, days))
        frames.append(_moves(model, base, _one_schedule(model), item, days))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _one_schedule(model: CompiledModel) -> dict:
    rec = run_chunk(model, seed=0, chunk=0, rows=1, engine=Engine.AUTO)
    ids = model.item_ids
    return {"start": dict(zip(ids, rec.start[0].astype(float))), "finish": dict(zip(ids, rec.finish[0].astype(float))),
            "achieved": {t.id: float(rec.achieved[0, k]) for k, t in enumerate(model.targets)},
            "met": {t.id: bool(rec.met[0, k]) for k, t in enumerate(model.targets)}}


def _moves(model: CompiledModel, base: dict, slip: dict, item: str, days: float) -> pd.DataFrame:
    plan, as_of = model.plan, model.plan.as_of
    names = {it.id: it.name_en for it in plan.items}
    moved = {i for i in model.item_ids
             if abs(slip["finish"][i] - base["finish"][i]) > _EPS or abs(slip["start"][i] - base["start"][i]) > _EPS}
    parent = _driving_links(plan, slip, moved, item)
    rows = []
    for i in model.item_ids:
        if i not in moved and i != item:
            continue
        rows.append({"slip_days": days, "kind": "item", "id": i, "name_en": names[i],
                     "base_finish": date_of(base["finish"][i], as_of),
                     "slipped_finish": date_of(slip["finish"][i], as_of),
                     "finish_shift_days": round(slip["finish"][i] - base["finish"][i], 1),
                     "start_shift_days": round(slip["start"][i] - base["start"][i], 1),
                     "met_base": None, "met_slipped": None,
                     "via": parent[i][1] if i in parent else "", "path": _path(parent, i, item)})
    rules = {t.id: t for t in plan.targets}
    moved_targets = {t.id for t in model.targets
                     if abs(slip["achieved"][t.id] - base["achieved"][t.id]) > _EPS
                     or slip["met"][t.id] != base["met"][t.id]}
    for t in model.targets:
        if rules[t.id].rule not in SCHEDULE_RULES:
            continue
        shift = slip["achieved"][t.id] - base["achieved"][t.id]
        if not (abs(shift) > _EPS or slip["met"][t.id] != base["met"][t.id]) or math.isnan(shift):
            continue
        rows.append({"slip_days": days, "kind": "target", "id": t.id, "name_en": rules[t.id].name_en,
                     "base_finish": date_of(base["achieved"][t.id], as_of),
                     "slipped_finish": date_of(slip["achieved"][t.id], as_of),
                     "finish_shift_days": round(shift, 1), "start_shift_days": float("nan"),
                     "met_base": base["met"][t.id], "met_slipped": slip["met"][t.id], "via": "",
                     "path": " + ".join(r for r in rules[t.id].refs if r in moved or r in moved_targets)})
    return pd.DataFrame(rows)


def _driving_links(plan: Plan, s: dict, moved: set[str], item: str) -> dict[str, tuple[str, str]]:
    """For each moved item, the moved predecessor whose link binds in the slipped schedule, and the link type."""
    parent: dict[str, tuple[str, str]] = {}
    for ln in plan.links:
        pairs = [(ln.pred, ln.succ)] + ([(ln.succ, ln.pred)] if ln.type is LinkType.SYNC else [])
        for a, b in pairs:
            if b not in moved or a not in moved or b == item or a == b:
                continue
            lag = ln.lag_days
            binds = {LinkType.FS: abs(s["start"][b] - (s["finish"][a] + lag)) <= _EPS,
                     LinkType.SS: abs(s["start"][b] - (s["start"][a] + lag)) <= _EPS,
                     LinkType.FF: abs(s["finish"][b] - (s["finish"][a] + lag)) <= _EPS,
                     LinkType.SYNC: abs(s["finish"][b] - s["finish"][a]) <= _EPS}[ln.type]
            if binds and (b not in parent or parent[b][1].endswith("?")):
                parent[b] = (a, str(ln.type))
            elif b not in parent:
                parent[b] = (a, f"{ln.type}?")  # moved predecessor, link not exactly binding
    return parent


def _path(parent: dict[str, tuple[str, str]], node: str, root: str) -> str:
    if node == root:
        return root
    chain, seen = [node], {node}
    while node in parent and node != root:
        node, kind = parent[node]
        if node in seen:
            break
        chain += [f"-{kind}->", node]
        seen.add(node)
    if node != root:
        return "(resource or calendar) " + " ".join(reversed(chain))
    return " ".join(reversed(chain))


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
