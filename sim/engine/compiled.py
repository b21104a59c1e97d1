"""The compiled form of a plan: arrays in topological order, ready to simulate.

Both schedule engines (SimPy processes and the vectorised forward pass) read
only this form, so they simulate exactly the same model.

Clock: days from the as-of date (day 0 = its start), as :mod:`sim.model.clock`
defines it; a plan date D is met by a finish at or before ``end_of(D)``.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from sim.model.calendar import CalendarStack, WorkCalendar, plan_calendars
from sim.model.clock import day_of, end_of
from sim.model.distribution import Distribution
from sim.model.entities import Plan
from sim.model.enums import KpiKind, KpiMeasure, LinkType, RiskMode, RiskPhase, TargetRule
from sim.model.links import kind as link_kind
from sim.model.select import resolve
from sim.model.timing import duration_rules, item_timing

if TYPE_CHECKING:  # compiled by the modules below, which import this one
    from sim.engine.branching import BranchSpec
    from sim.engine.cost import CostSpec



@dataclass(frozen=True)
class RiskInstance:
    """One independent draw of a register entry: a `common` risk or one item of an `each` risk."""

    key: str  # stream key and record column, e.g. "R01" or "R01/T04"
    risk_id: str
    probability: float
    impact: Distribution
    phase: RiskPhase
    items: np.ndarray  # item indices hit
    impact_scale: float = 1.0  # a response's effect on the impact (schedule and cost); 1 = none


@dataclass(frozen=True)
class ShockSpec:
    id: str
    probability: float
    window: tuple[float, float]  # first and last day (inclusive) on which it can begin
    length: Distribution
    affects: np.ndarray  # bool per item


@dataclass(frozen=True)
class KpiSpec:
    id: str
    kind: KpiKind
    measure: KpiMeasure
    baseline: float
    rate_per_year: float
    rate_cv: float
    attrition_years: float | None
    renewal_prob: float
    volatility: float
    boost_items: np.ndarray  # item indices
    boost_ids: tuple[str, ...]  # the same items' ids (stream keys must not depend on positions)
    boost_steps: np.ndarray
    boost_rates: np.ndarray
    origin_day: float = 0.0  # day the baseline refers to (<= 0): the path is simulated from there


@dataclass(frozen=True)
class TargetSpec:
    id: str
    rule: TargetRule
    deadline_day: float
    item_refs: np.ndarray  # item indices
    target_refs: np.ndarray  # target indices (earlier in order)
    kpi_ref: int  # -1 if none
    k: int
    threshold: float


@dataclass(frozen=True)
class CompiledModel:
    """Arrays of a plan in topological order (see module docstring)."""

    plan: Plan
    item_ids: tuple[str, ...]
    index: dict[str, int]
    calendars: tuple[WorkCalendar, ...]
    item_calendar: np.ndarray  # int index into calendars
    base_work: np.ndarray  # planned (remaining) working days
    base_wait: np.ndarray  # planned pre-construction wait in days (0 if none)
    mult_dist: tuple[Distribution, ...]
    wait_dist: tuple[Distribution | None, ...]
    fixed: np.ndarray  # bool: start/finish known (done)
    fixed_start: np.ndarray
    fixed_finish: np.ndarray
    plan_finish_day: np.ndarray  # end of the plan date
    start_preds: tuple[tuple[tuple[int, LinkType, float], ...], ...]  # (pred, FS|SS, lag)
    ff_preds: tuple[tuple[tuple[int, float], ...], ...]  # (pred, lag)
    sync_group: np.ndarray  # group index per item
    order: tuple[tuple[int, ...], ...]  # groups (items) in topological order
    factor_ids: tuple[str, ...]
    loadings: np.ndarray  # (n_items, n_factors) variance shares
    factor_chol: np.ndarray  # a square root C^(1/2) of the factors' correlation (eigendecomposition)
    risks: tuple[RiskInstance, ...]
    shocks: tuple[ShockSpec, ...]
    kpis: tuple[KpiSpec, ...]
    kpi_grid: np.ndarray  # days at which KPIs step (0 first)
    checkpoint_days: np.ndarray
    checkpoints: tuple[date, ...]
    targets: tuple[TargetSpec, ...]
    resource_capacity: tuple[int, ...]
    resource_ids: tuple[str, ...]
    item_resource: np.ndarray  # int, -1 none
    elapsed_work: np.ndarray = field(default_factory=lambda: np.zeros(0))  # working days spent before as-of (reported in progress)
    # day of the actual start of an item under way on the as-of date (< 0), NaN otherwise: an SS link
    # from it counts from this day, not from the day work resumes in the simulation
    real_start: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cond_cdf: np.ndarray = field(default_factory=lambda: np.zeros(0))  # multiplier draws conditioned above this quantile
    can_wait: np.ndarray = field(default_factory=lambda: np.zeros(0))  # bool: the item's start is still ahead (start-phase risks apply)
    cost: CostSpec | None = None  # the cost model (compiled by sim.engine.cost; None only before compile_plan sets it)
    branches: tuple[BranchSpec, ...] = ()  # one per branches.csv row
    meta: dict = field(default_factory=dict)

    @property
    def costs(self) -> CostSpec:
        """The cost model, which :func:`compile_plan` always sets."""
        if self.cost is None:
            raise ValueError("this model has no cost model (it was not built by compile_plan)")
        return self.cost

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def as_of(self) -> date:
        return self.plan.as_of

    def calendar_stack(self) -> CalendarStack:
        """The model's calendars as one :class:`CalendarStack`, built once (kept in ``meta``)."""
        stack = self.meta.get("calendar_stack")
        if stack is None:
            stack = self.meta["calendar_stack"] = CalendarStack.of(self.calendars)
        return stack

    def binding_units(self) -> np.ndarray:
        """Per finite-capacity unit: can it make an item wait (more items use it than its capacity)?"""
        users = np.bincount(self.item_resource[self.item_resource >= 0], minlength=len(self.resource_capacity))
        return users > np.asarray(self.resource_capacity, dtype=np.int64)

    def start_pred_on_finish(self) -> tuple[tuple[bool, ...], ...]:
        """Per item, per entry of ``start_preds``: whether it waits for the predecessor's finish
        (FS) rather than its start (SS), as the link-type registry says (:mod:`sim.model.links`).

        For the engines, so that they read the classification instead of naming link types.
        """
        return tuple(tuple(link_kind(typ).refs_finish for _, typ, _ in preds) for preds in self.start_preds)

    def has_contention(self) -> bool:
        """True if some unit's capacity can bind, so only the SimPy engine simulates the plan."""
        return bool(self.binding_units().any())


def compile_plan(plan: Plan) -> CompiledModel:
    """Compile a validated plan into arrays (see :class:`CompiledModel`)."""
    as_of = plan.as_of
    calendars, cal_index = plan_calendars(plan)
    _, order = _topological_groups(plan)
    ids = tuple(plan.items[i].id for grp in order for i in grp)
    pos = {iid: k for k, iid in enumerate(ids)}
    by_id = {it.id: it for it in plan.items}
    items = [by_id[i] for i in ids]
    n = len(items)

    classes, pre_class, uplift = duration_rules(plan)

    item_cal = np.array([cal_index.get(it.calendar, 0) for it in items], dtype=np.int64)
    base_work = np.zeros(n)
    base_wait = np.zeros(n)
    fixed = np.zeros(n, dtype=bool)
    fixed_start = np.zeros(n)
    fixed_finish = np.zeros(n)
    plan_finish_day = np.zeros(n)
    mult_dist: list[Distribution] = []
    wait_dist: list[Distribution | None] = []
    elapsed = np.zeros(n)  # working days already spent (reported in progress)
    cond_cdf = np.zeros(n)  # P(R <= elapsed / planned): draws are conditioned on R above it
    can_wait = np.zeros(n, dtype=bool)  # start still ahead: start-phase risks apply
    real_start = np.full(n, np.nan)
    for k, it in enumerate(items):
        cal = calendars[item_cal[k]]
        cls = classes[it.project_type]
        t = item_timing(it, cal, as_of, cls, pre_class, uplift)
        plan_finish_day[k] = end_of(it.plan_finish, as_of)
        fixed[k], fixed_start[k], fixed_finish[k] = t.fixed, t.fixed_start, t.fixed_finish
        base_wait[k], base_work[k] = t.wait, t.work
        elapsed[k], cond_cdf[k], can_wait[k] = t.elapsed, t.cond_cdf, t.can_wait
        real_start[k] = min(t.real_start, 0.0) if t.real_start == t.real_start else np.nan
        assert t.mult is not None  # item_timing sets a multiplier on every path
        mult_dist.append(t.mult)
        wait_dist.append(t.wait_dist)

    start_preds, ff_preds = _links(plan, pos)
    # an item already under way has started: its FS/SS links are taken as met (a start fact is never
    # overridden by a predecessor without a finish fact; sim.model.actuals notes the contradiction once)
    start_preds = tuple(() if np.isfinite(real_start[k]) else sp for k, sp in enumerate(start_preds))
    sync_group = np.zeros(n, dtype=np.int64)
    order_idx = []
    for g, grp in enumerate(order):
        members = tuple(pos[plan.items[i].id] for i in grp)
        order_idx.append(members)
        sync_group[list(members)] = g

    factor_ids, loadings, chol = _factors(plan, ids, pos)
    resource_ids = tuple(u.id for u in plan.units if u.capacity is not None)
    rpos = {u: r for r, u in enumerate(resource_ids)}
    item_resource = np.array([rpos.get(it.resource_unit or "", -1) for it in items], dtype=np.int64)
    capacity = tuple(int(u.capacity) for u in plan.units if u.capacity is not None)

    checkpoint_days = np.array([end_of(d, as_of) for d in plan.checkpoints], dtype=np.float64)
    targets = _targets(plan, pos)
    kpi_specs = _kpis(plan, pos)
    grid = _kpi_grid(as_of, checkpoint_days, targets, origins=[k.origin_day for k in kpi_specs])
    model = CompiledModel(
        plan=plan,
        item_ids=ids,
        index=pos,
        calendars=tuple(calendars),
        item_calendar=item_cal,
        base_work=base_work,
        base_wait=base_wait,
        mult_dist=tuple(mult_dist),
        wait_dist=tuple(wait_dist),
        fixed=fixed,
        fixed_start=fixed_start,
        fixed_finish=fixed_finish,
        plan_finish_day=plan_finish_day,
        start_preds=start_preds,
        ff_preds=ff_preds,
        sync_group=sync_group,
        order=tuple(order_idx),
        factor_ids=factor_ids,
        loadings=loadings,
        factor_chol=chol,
        risks=_risks(plan, pos),
        shocks=_shocks(plan, pos, n),
        kpis=kpi_specs,
        kpi_grid=grid,
        checkpoint_days=checkpoint_days,
        checkpoints=tuple(plan.checkpoints),
        targets=targets,
        resource_capacity=capacity,
        resource_ids=resource_ids,
        item_resource=item_resource,
        elapsed_work=elapsed,
        cond_cdf=cond_cdf,
        can_wait=can_wait,
        real_start=real_start,
    )
    from sim.engine.cost import compile_costs  # the cost model reads the compiled schedule

    from sim.engine.branching import compile_branches

    from sim.engine.responses import apply_response

    model = replace(model, cost=compile_costs(plan, model), branches=compile_branches(plan, model))
    response_by_id = {r.id: r for r in plan.responses}
    for rid in plan.applied_responses:  # a scenario's post-mitigation plan (same draws: parameters only)
        if rid in response_by_id:
            model = apply_response(model, response_by_id[rid])
    return model


def _topological_groups(plan: Plan) -> tuple[list[int], list[tuple[int, ...]]]:
    """Union SYNC pairs into groups; order groups topologically (stable, file order)."""
    idx = {it.id: k for k, it in enumerate(plan.items)}
    parent = list(range(len(plan.items)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for ln in plan.links:
        if link_kind(ln.type).symmetric:
            ra, rb = find(idx[ln.pred]), find(idx[ln.succ])
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    root = [find(k) for k in range(len(plan.items))]
    members: dict[int, list[int]] = defaultdict(list)
    for k, r in enumerate(root):
        members[r].append(k)
    succ: dict[int, set[int]] = defaultdict(set)
    indeg = {r: 0 for r in members}
    for ln in plan.links:
        if link_kind(ln.type).symmetric:
            continue
        a, b = root[idx[ln.pred]], root[idx[ln.succ]]
        if a != b and b not in succ[a]:
            succ[a].add(b)
            indeg[b] += 1
    ready = sorted(r for r, d in indeg.items() if d == 0)
    order: list[tuple[int, ...]] = []
    heapq.heapify(ready)
    while ready:
        r = heapq.heappop(ready)
        order.append(tuple(members[r]))
        for b in sorted(succ[r]):
            indeg[b] -= 1
            if indeg[b] == 0:
                heapq.heappush(ready, b)
    if sum(len(g) for g in order) != len(plan.items):
        raise ValueError("dependency cycle: run `sim validate` to see it")
    return root, order


def _links(plan: Plan, pos: dict[str, int]):
    """Per item: the links that gate its start ``(pred, type, lag)`` and its finish ``(pred, lag)``.

    The classification is :mod:`sim.model.links`: a start-gating link (FS, SS) references the
    predecessor's ``kind(type).pred_end`` (``refs_finish``); a finish-gating one (FF) its finish;
    symmetric links (SYNC) are groups (:func:`_topological_groups`), in neither list.
    """
    n = len(pos)
    start_preds: list[list] = [[] for _ in range(n)]
    ff_preds: list[list] = [[] for _ in range(n)]
    for ln in plan.links:
        a, b = pos[ln.pred], pos[ln.succ]
        link = link_kind(ln.type)
        if link.gates_start:
            start_preds[b].append((a, ln.type, float(ln.lag_days)))
        elif link.gates_finish:
            if not link.refs_finish:  # no registered type waits for a start to allow a finish
                raise ValueError(f"link type {ln.type}: a finish gated by the predecessor's start is not supported")
            ff_preds[b].append((a, float(ln.lag_days)))
    return tuple(tuple(x) for x in start_preds), tuple(tuple(x) for x in ff_preds)


def _factors(plan: Plan, ids, pos) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    fids = tuple(f.id for f in plan.factors)
    load = np.zeros((len(ids), len(fids)))
    for j, f in enumerate(plan.factors):
        for iid in resolve(plan, f.members):
            load[pos[iid], j] = f.loading
    corr = np.eye(len(fids))
    fpos = {f: j for j, f in enumerate(fids)}
    for c in plan.factor_correlations:
        a, b = fpos[c.a], fpos[c.b]
        corr[a, b] = corr[b, a] = c.rho
    # validated PSD; the symmetric eigendecomposition gives a square root even when the matrix is
    # singular (rho = 1), where a Cholesky factor would not exist; negative round-off eigenvalues clip to 0
    w, v = np.linalg.eigh(corr)
    chol = v @ np.diag(np.sqrt(np.clip(w, 0.0, None)))
    return fids, load, chol


def _risks(plan: Plan, pos) -> tuple[RiskInstance, ...]:
    out = []
    for r in plan.risks:
        hit = np.array(sorted(pos[i] for i in resolve(plan, r.targets)), dtype=np.int64)
        if r.mode is RiskMode.COMMON:
            out.append(RiskInstance(r.id, r.id, r.probability, r.impact, r.phase, hit))
        else:
            for iid in resolve(plan, r.targets):
                out.append(
                    RiskInstance(f"{r.id}/{iid}", r.id, r.probability, r.impact, r.phase,
                                 np.array([pos[iid]], dtype=np.int64))
                )
    return tuple(out)


def _shocks(plan: Plan, pos, n: int) -> tuple[ShockSpec, ...]:
    out = []
    for s in plan.shocks:
        mask = np.zeros(n, dtype=bool)
        for iid in resolve(plan, s.affects):
            mask[pos[iid]] = True
        window = (float(day_of(s.window_start, plan.as_of)), float(day_of(s.window_end, plan.as_of)))
        out.append(ShockSpec(s.id, s.probability, window, s.length, mask))
    return tuple(out)


def _kpis(plan: Plan, pos) -> tuple[KpiSpec, ...]:
    boosts = defaultdict(list)
    for b in plan.kpi_boosts:
        boosts[b.kpi].append(b)
    out = []
    for k in plan.kpis:
        bs = boosts.get(k.id, [])
        out.append(
            KpiSpec(
                id=k.id,
                kind=k.kind,
                measure=k.measure,
                baseline=float(k.baseline),
                rate_per_year=float(k.rate_per_year),
                rate_cv=float(k.rate_cv),
                attrition_years=k.attrition_years,
                renewal_prob=float(k.renewal_prob),
                volatility=float(k.volatility),
                boost_items=np.array([pos[b.item] for b in bs], dtype=np.int64),
                boost_ids=tuple(b.item for b in bs),
                boost_steps=np.array([b.step for b in bs], dtype=np.float64),
                boost_rates=np.array([b.rate_per_year for b in bs], dtype=np.float64),
                origin_day=0.0 if k.origin is None else float(min((k.origin - plan.as_of).days, 0)),
            )
        )
    return tuple(out)


def _targets(plan: Plan, pos) -> tuple[TargetSpec, ...]:
    """Targets in an order where referenced targets come first."""
    tid = {t.id: t for t in plan.targets}
    kpos = {k.id: j for j, k in enumerate(plan.kpis)}
    done: list[str] = []
    seen: set[str] = set()

    def visit(t: str) -> None:
        if t in seen:
            return
        seen.add(t)
        for r in tid[t].refs:
            if r in tid:
                visit(r)
        done.append(t)

    for t in plan.targets:
        visit(t.id)
    tpos = {t: k for k, t in enumerate(done)}
    specs = []
    for t_id in done:
        t = tid[t_id]
        specs.append(
            TargetSpec(
                id=t.id,
                rule=t.rule,
                deadline_day=float(end_of(t.deadline, plan.as_of)),
                item_refs=np.array([pos[r] for r in t.refs if r in pos], dtype=np.int64),
                target_refs=np.array([tpos[r] for r in t.refs if r in tpos], dtype=np.int64),
                kpi_ref=next((kpos[r] for r in t.refs if r in kpos), -1),
                k=int(t.k) if t.k is not None else len(t.refs),
                threshold=float(t.threshold) if t.threshold is not None else np.nan,
            )
        )
    return tuple(specs)


def _kpi_grid(as_of: date, checkpoint_days: np.ndarray, targets, *, origins=()) -> np.ndarray:
    """The days KPIs are needed on: the as-of date, the checkpoints, the KPI targets' deadlines and the
    KPIs' origins (``origins``, days <= 0 a KPI is simulated from; actuals).

    Nothing between them is ever read, and every KPI increment over an interval has
    a closed form in the interval's length (a sum of Poisson counts is Poisson, a
    sum of normal log-steps is normal; boosts count their exposure inside the
    interval), so these few days give the same distributions as a monthly grid.
    ``as_of`` is kept in the signature: the grid is in days from it. The grid
    starts at the earliest origin (day 0 when every KPI starts on the as-of date).
    """
    first = min([0.0, *origins])
    days = {0.0, *origins, *checkpoint_days.tolist(), *[t.deadline_day for t in targets if t.kpi_ref >= 0]}
    days = {d for d in days if d >= first}
    return np.array(sorted(days), dtype=np.float64)
