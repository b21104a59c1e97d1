"""Cost of each invested item per replication, sampled from the schedule's outputs.

Kept apart from the schedule engines: it reads the schedule draws (the copula's latent
normal ``Z`` of each item) and the simulated starts and finishes, and draws from its own
keyed streams (``cost/<item>/eps``, ``risk/<instance>/cost``), so adding or changing
the cost model never changes a schedule draw.

Per item with an investment ``B`` (亿元) and a cost class (docs/calibration-cost.md)::

    W = rho * Z + sqrt(1 - rho^2) * eta,   eta ~ N(0, 1) independent
    C = F^{-1}(Phi(W))                       reference-class cost multiplier
    cost = B * (C + s * max(finish - plan date, 0) / 365.25) + sum of fired cost risks * B

``s`` is the standing cost of delay (share of the budget per year late). An item done on
the as-of date costs its budget. Spending over time follows the class's S-curve over the
item's working time (:mod:`sim.model.spend`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.model.clock import DAYS_PER_YEAR
from sim.engine import streams
from sim.engine.distributions import norm_cdf, ppf
from sim.model.distribution import Distribution
from sim.model.enums import TargetRule
from sim.model.select import resolve
from sim.model.spend import planned_amount, s_curve

if TYPE_CHECKING:  # pragma: no cover
    from sim.engine.compiled import CompiledModel
    from sim.engine.sampling import Draws
    from sim.model.entities import Plan



@dataclass(frozen=True)
class InvestTarget:
    """A target of rule ``invest_ge``: spending of ``cols`` in [lo_day, hi_day) over ``planned``."""

    target: int  # index into model.targets
    cols: np.ndarray  # cost columns
    lo_day: float
    hi_day: float
    planned: float  # 亿元
    assumed: bool  # planned from the even profile (no figure of the plan)


@dataclass(frozen=True)
class CostSpec:
    """The cost model in compiled form (columns = invested items, in topological order)."""

    items: np.ndarray  # model item index per column
    ids: tuple[str, ...]
    budget: np.ndarray  # 亿元
    dist: tuple[Distribution, ...]
    rho: np.ndarray
    standing: np.ndarray  # share of budget per year late
    profile_a: np.ndarray
    profile_b: np.ndarray
    risk_cost: tuple[tuple[int, str, int, Distribution], ...]  # (risk instance, key, column, share dist)
    invest: tuple[InvestTarget, ...]
    uncosted: tuple[str, ...]  # items without an investment figure

    @property
    def n(self) -> int:
        return len(self.ids)

    def column(self, item: int) -> int | None:
        """The cost column of model item index ``item`` (None: the item has no cost)."""
        hit = np.flatnonzero(self.items == item)
        return int(hit[0]) if hit.size else None


def compile_costs(plan: Plan, model: CompiledModel) -> CostSpec:
    """Compile the cost classes, cost risks and investment targets of ``plan``."""
    cols, dists, rho, stand, pa_, pb_ = [], [], [], [], [], []
    for i, iid in enumerate(model.item_ids):
        it = plan.item(iid)
        cls = plan.cost_class(it.project_type)
        if it.investment_cny_100m is None or cls is None:
            continue
        cols.append(i)
        dists.append(cls.multiplier)
        rho.append(cls.rho_schedule)
        stand.append(cls.standing_per_year)
        pa_.append(cls.profile_a)
        pb_.append(cls.profile_b)
    items = np.array(cols, dtype=np.int64)
    ids = tuple(model.item_ids[i] for i in cols)
    col_of = {iid: j for j, iid in enumerate(ids)}
    budget = np.array([plan.item(i).investment_cny_100m for i in ids], dtype=np.float64)
    by_risk = {r.id: r for r in plan.risks}
    risk_cost = []
    for r, inst in enumerate(model.risks):
        dist = by_risk[inst.risk_id].cost_impact
        if dist is None:
            continue
        for i in inst.items:
            j = col_of.get(model.item_ids[i])
            if j is not None:
                risk_cost.append((r, inst.key, j, dist))
    uncosted = tuple(it.id for it in plan.items if it.investment_cny_100m is None)
    spec = CostSpec(items, ids, budget, tuple(dists), np.array(rho), np.array(stand), np.array(pa_),
                    np.array(pb_), tuple(risk_cost), (), uncosted)
    return CostSpec(**{**spec.__dict__, "invest": _invest_targets(plan, model, spec)})


def _invest_targets(plan: Plan, model: CompiledModel, spec: CostSpec) -> tuple[InvestTarget, ...]:
    from sim.model.clock import day_of, end_of
    from sim.model.spend import year_span

    figures: dict[str, dict[int, float]] = {}
    for s in plan.planned_spend:
        figures.setdefault(s.item, {})[s.year] = s.amount_cny_100m
    col_of = {iid: j for j, iid in enumerate(spec.ids)}
    by_id = {t.id: t for t in plan.targets}
    out = []
    for k, t in enumerate(model.targets):
        if t.rule is not TargetRule.INVEST_GE:
            continue
        target = by_id[t.id]
        lo, hi = year_span(target.deadline.year, plan.as_of, target.deadline)
        cols = np.array(sorted(col_of[i] for i in resolve(plan, target.refs) if i in col_of), dtype=np.int64)
        planned, assumed = 0.0, False
        for j in cols:
            it = plan.item(spec.ids[j])
            amount, guess = planned_amount(investment=float(spec.budget[j]), plan_start=it.plan_start,
                                           plan_finish=it.plan_finish, as_of=plan.as_of, lo=lo, hi=hi,
                                           figures=figures.get(it.id))
            planned += amount
            assumed |= guess
        out.append(InvestTarget(k, cols, float(day_of(lo, plan.as_of)), float(end_of(hi, plan.as_of)),
                                planned, assumed))
    return tuple(out)


def sample_costs(model: CompiledModel, draws: Draws, finish: np.ndarray, *, seed: int, chunk: int,
                 lhs: bool = False) -> np.ndarray:
    """Outturn cost (亿元) of every invested item: array (rows, cost columns)."""
    spec = model.costs
    rows = finish.shape[0]
    out = np.zeros((rows, spec.n))
    if spec.n and draws.z is None:
        raise ValueError("the cost model needs the schedule draws' latent normals (Draws.z)")
    for j, (i, iid) in enumerate(zip(spec.items, spec.ids)):
        if model.fixed[i]:  # done on the as-of date: its cost is known
            out[:, j] = spec.budget[j]
            continue
        eta = streams.normals(seed, chunk, f"cost/{iid}/eps", lhs=lhs)[:rows]
        rho = spec.rho[j]
        assert draws.z is not None  # checked above: this loop runs only when spec.n
        w = rho * draws.z[:, i] + np.sqrt(max(1.0 - rho * rho, 0.0)) * eta
        c = ppf(spec.dist[j], norm_cdf(w))
        late = np.maximum(finish[:, i] - model.plan_finish_day[i], 0.0) / DAYS_PER_YEAR
        out[:, j] = spec.budget[j] * (c + spec.standing[j] * late)
    for r, key, j, dist in spec.risk_cost:
        if model.fixed[spec.items[j]]:
            continue
        share = ppf(dist, streams.uniforms(seed, chunk, f"risk/{key}/cost", lhs=lhs)[:rows]) \
            * model.risks[r].impact_scale
        out[:, j] += np.where(draws.risk_fired[:, r], spec.budget[j] * share, 0.0)
    return out


def spend_begin(model: CompiledModel, start: np.ndarray) -> np.ndarray:
    """Day spending begins per row and cost column: the real start of an item under way, else its start.

    ``start`` is per cost column, (rows, cost columns): the start of each column's item, i.e.
    ``start[:, model.costs.items]`` of a schedule (a summary reads only those record columns)."""
    spec = model.costs
    begin = np.asarray(start, dtype=np.float64)
    if model.real_start is not None:
        rs = model.real_start[spec.items]
        begin = np.where(np.isfinite(rs)[None, :], rs[None, :], begin)
    return begin


def spent_share(model: CompiledModel, begin: np.ndarray, finish: np.ndarray, t: float) -> np.ndarray:
    """Share of each item's cost spent by day ``t``: S-curve of the elapsed working time (rows, columns)."""
    return next(spent_shares(model, begin, finish, (t,)))


def spent_shares(model: CompiledModel, begin: np.ndarray, finish: np.ndarray, ts) -> Iterator[np.ndarray]:
    """:func:`spent_share` at each day of ``ts`` in turn (one array held at a time unless the caller
    keeps them); the begin and finish working times computed once for all of them. ``finish`` is
    per cost column, as the start in :func:`spend_begin`."""
    if not model.costs.n:
        yield from (np.zeros(begin.shape) for _ in ts)
        return
    clock = _SpendClock(model, begin, finish)
    yield from (clock.share(t) for t in ts)


class _SpendClock:
    """Working time done at each cost column's begin and finish, on its calendar, for shares at many days.

    All columns at once on a :class:`CalendarStack` (its ``work_at`` equals each calendar's bit
    for bit), and the begin and finish working times computed once for every day asked.
    """

    def __init__(self, model: CompiledModel, begin: np.ndarray, finish: np.ndarray):
        spec = model.costs
        self.stack = stack = model.calendar_stack()
        self.cal = np.asarray(model.item_calendar, dtype=np.int64)[spec.items]
        self.f = np.asarray(finish, dtype=np.float64)
        self.wb = stack.work_at(begin.astype(np.float64), self.cal[None, :])
        self.wf = stack.work_at(self.f, self.cal[None, :])
        self.span = self.wf - self.wb
        self.a, self.b = spec.profile_a[None, :], spec.profile_b[None, :]

    def share(self, t: float) -> np.ndarray:
        wt = self.stack.work_at(np.full(self.cal.shape, float(t)), self.cal)[None, :]  # the same in every row
        span = self.span
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.where(span > 0, (wt - self.wb) / np.where(span > 0, span, 1.0), (t >= self.f).astype(np.float64))
        return s_curve(x, self.a, self.b)


def invest_ratios(model: CompiledModel, start: np.ndarray, finish: np.ndarray,
                  cost: np.ndarray) -> dict[int, np.ndarray]:
    """年度投资完成率 of every ``invest_ge`` target: spending in its period over the plan's (target index -> rows)."""
    spec = model.costs
    if not spec.invest:
        return {}
    begin = spend_begin(model, start[:, spec.items])
    days = sorted({d for it in spec.invest for d in (it.lo_day, it.hi_day)})
    shares = dict(zip(days, spent_shares(model, begin, finish[:, spec.items], days)))
    out = {}
    for it in spec.invest:
        spent = ((shares[it.hi_day] - shares[it.lo_day])[:, it.cols] * cost[:, it.cols]).sum(axis=1)
        out[it.target] = spent / it.planned if it.planned > 0 else np.full(spent.shape, np.inf)
    return out
