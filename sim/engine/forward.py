"""Vectorised forward pass: the schedule of a whole chunk at once, without SimPy.

It implements the same semantics as the SimPy processes in
:mod:`sim.engine.processes` (minus finite resource capacity) and is written
independently of them, so the two check each other: with fixed durations and no
contention they must agree exactly (tests/test_engine_oracle.py). Where a model
has no resource contention it is also the fast path.

Semantics per item, in topological order of SYNC groups:

* earliest start = max(sampled pre-construction wait, FS: pred finish + lag,
  SS: pred start + lag);
* a start inside a shock pause that affects the item moves to the pause's end;
  work running when such a pause begins stops and resumes after it;
* natural finish = earliest instant the (sampled) working days are done on the
  item's calendar;
* finish = max(natural finish, FF: pred finish + lag); a SYNC group (同步建成)
  finishes together at the latest of its members' finishes.
"""

from __future__ import annotations

import numpy as np

from dataclasses import dataclass

from sim.model.calendar import CalendarStack, advance_with_pauses, advance_with_pauses_stacked
from sim.engine.compiled import CompiledModel
from sim.engine import kernels
from sim.engine.kernels import forward_kernel
from sim.model.links import kind as link_kind  # which end of the predecessor a start link references
from sim.engine.sampling import Draws


def pauses_for(model: CompiledModel, draws: Draws, item: int) -> tuple[np.ndarray, np.ndarray]:
    """The pause windows affecting ``item`` per row, sorted by start (inf-padded)."""
    cols = [j for j, s in enumerate(model.shocks) if s.affects[item]]
    n = draws.work.shape[0]
    if not cols:
        return np.full((n, 0), np.inf), np.full((n, 0), np.inf)
    ps, pe = draws.pause_start[:, cols], draws.pause_end[:, cols]
    order = np.argsort(ps, axis=1, kind="stable")
    return np.take_along_axis(ps, order, 1), np.take_along_axis(pe, order, 1)


def forward_pass(model: CompiledModel, draws: Draws) -> tuple[np.ndarray, np.ndarray]:
    """Start and finish days, arrays of shape (rows, items).

    The compiled kernel (:mod:`sim.engine.kernels`) when numba is there and the process has
    scheduled enough rows to repay its start-up, else :func:`forward_pass_levels`; the two are
    equal bit for bit (tests/test_engine_kernel.py).
    """
    out = forward_kernel(model, draws) if kernels.wanted(draws.work.shape[0]) else None
    return forward_pass_levels(model, draws) if out is None else out


def finish_of(model: CompiledModel, draws: Draws, items) -> np.ndarray:
    """Finish days (rows, items) of which the columns of ``items`` are exact (those of :func:`forward_pass`).

    With the kernel only ``items`` and what they depend on are scheduled (the other columns
    are NaN): the branch conditions read one item's finish before the real pass.
    """
    if kernels.wanted(draws.work.shape[0], count=False):  # the chunk's full pass counts its rows
        out = forward_kernel(model, draws, kernels.needed(model, items))
        if out is not None:
            return out[1]
    return forward_pass_levels(model, draws)[1]


def forward_pass_levels(model: CompiledModel, draws: Draws) -> tuple[np.ndarray, np.ndarray]:
    """Start and finish days, arrays of shape (rows, items), in numpy (the kernel's oracle).

    A dependency level at a time (every item whose predecessors are all in earlier
    levels), each level as a few whole-array operations on item-major arrays; the
    same arithmetic as :func:`forward_pass_by_item`, so the results are equal bit
    for bit (tests/test_engine_forward.py). A plan with links between members of
    one SYNC group takes the item-by-item pass, which orders them within the group.
    """
    plan = _levels(model)
    if plan is None:
        return forward_pass_by_item(model, draws)
    n = draws.work.shape[0]
    start = np.zeros((model.n_items, n))  # item-major: a level's items are contiguous rows
    finish = np.zeros((model.n_items, n))
    start[plan.fixed] = model.fixed_start[plan.fixed][:, None]
    finish[plan.fixed] = model.fixed_finish[plan.fixed][:, None]
    wait, work_all = np.ascontiguousarray(draws.wait.T), np.ascontiguousarray(draws.work.T)
    pauses = _sorted_pauses(draws) if draws.pause_start.shape[1] else None
    for lv in plan.levels:
        es = wait[lv.items]  # fancy indexing: a copy
        for cols, preds, fs, lag, real in lv.start_ranks:
            ref = np.where(fs[:, None], finish[preds], start[preds])
            if real is not None:  # SS from an item under way on the as-of date: its real start
                ref[real[0]] = real[1][:, None]
            es[cols] = np.maximum(es[cols], ref + lag[:, None])
        work = work_all[lv.items]
        f = plan.stack.advance(es, work, lv.cal[:, None])
        s = es.copy()
        if lv.paused.size and pauses is not None:
            _apply_pauses(plan, lv, es, work, draws, pauses, s, f)
        for cols, preds, lag in lv.ff_ranks:
            f[cols] = np.maximum(f[cols], finish[preds] + lag[:, None])
        start[lv.items], finish[lv.items] = s, f
        for moving, members in lv.sync:
            finish[moving] = finish[members].max(axis=0)
    return start.T, finish.T


def _sorted_pauses(draws: Draws) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Every row's pauses sorted by start once (stable: ties keep the shocks' order), and the most fired."""
    order = np.argsort(draws.pause_start, axis=1, kind="stable")
    ps = np.take_along_axis(draws.pause_start, order, 1)
    width = int(np.isfinite(ps).sum(axis=1).max())
    return ps[:, :width], np.take_along_axis(draws.pause_end, order, 1)[:, :width], order[:, :width], width


def _apply_pauses(plan, lv, es, work, draws, pauses, s, f) -> None:
    """Redo, through their pauses, the level's elements (item, row) that a fired shock can move.

    An element is left alone unless a pause it is subject to contains its start or
    begins before its pause-free finish (later pauses matter only after one of
    those). For the others, pauses that do not apply are +inf in their row (inert);
    rows keep the sorted order, cut to the most pauses any row has fired.
    """
    ps, pe, shock_order, width = pauses
    if width == 0:
        return
    cols = lv.paused
    t0, f0 = es[cols], f[cols]
    first = np.zeros(t0.shape, dtype=bool)
    for sh, sub in enumerate(lv.shock_cols):  # positions (in ``cols``) of the items each shock affects
        if sub.size:
            s1, e1 = draws.pause_start[:, sh], draws.pause_end[:, sh]
            tt, ff = t0[sub], f0[sub]
            first[sub] |= (e1 > tt) & ((s1 < ff) | (s1 <= tt))
    hit = np.flatnonzero(first)  # flat (column, row) elements
    if hit.size == 0:
        return
    c, r = np.divmod(hit, es.shape[1])
    aff = plan.affects[lv.items[cols[c]][:, None], shock_order[r]]
    p_start = np.where(aff, ps[r], np.inf)
    p_end = np.where(aff, pe[r], np.inf)
    fc = cols[c]
    a, b = advance_with_pauses_stacked(plan.stack, lv.cal[fc], es[fc, r], work[fc, r], p_start, p_end,
                                       finish=f[fc, r])
    s[fc, r] = a
    f[fc, r] = b


@dataclass(frozen=True)
class _Level:
    items: np.ndarray  # items of the level that are not fixed
    cal: np.ndarray  # their calendars
    # k-th start predecessor of each item that has one: (columns, preds, is FS, lags, (columns, real starts))
    start_ranks: tuple
    ff_ranks: tuple  # (columns, preds, lags)
    paused: np.ndarray  # columns whose item some shock affects
    shock_cols: tuple  # per shock: the positions in ``paused`` of the items it affects
    sync: tuple  # (moving members, all members) of the level's SYNC groups


@dataclass(frozen=True)
class _LevelPlan:
    stack: CalendarStack
    fixed: np.ndarray
    affects: np.ndarray  # (items, shocks) bool
    levels: tuple[_Level, ...]


def _levels(model: CompiledModel) -> _LevelPlan | None:
    """The level plan of a model (built once, cached in ``model.meta``); None if a SYNC group links inside."""
    if "forward_levels" not in model.meta:
        model.meta["forward_levels"] = _build_levels(model)
    return model.meta["forward_levels"]


def _build_levels(model: CompiledModel) -> _LevelPlan | None:
    group = model.sync_group
    level = np.zeros(len(model.order), dtype=np.int64)
    for g, members in enumerate(model.order):
        pred_items = [p for i in members for p, _, _ in model.start_preds[i]] + [p for i in members for p, _ in model.ff_preds[i]]
        if any(group[p] == g for p in pred_items):
            return None
        level[g] = 1 + max((level[group[p]] for p in pred_items), default=-1)
    fixed = np.flatnonzero(model.fixed)
    real = model.real_start
    affects_all = np.zeros((model.n_items, len(model.shocks)), dtype=bool)
    for j, sh in enumerate(model.shocks):
        affects_all[:, j] = sh.affects
    levels = []
    for lvl in range(int(level.max()) + 1 if len(level) else 0):
        groups = [g for g in range(len(model.order)) if level[g] == lvl]
        items = np.array([i for g in groups for i in model.order[g] if not model.fixed[i]], dtype=np.int64)
        col = {int(i): c for c, i in enumerate(items)}
        start_ranks = []
        for r in range(max((len(model.start_preds[i]) for i in items), default=0)):
            edges = [(col[int(i)], *model.start_preds[i][r]) for i in items if len(model.start_preds[i]) > r]
            cols = np.array([e[0] for e in edges], dtype=np.int64)
            preds = np.array([e[1] for e in edges], dtype=np.int64)
            fs = np.array([link_kind(e[2]).refs_finish for e in edges])
            lag = np.array([e[3] for e in edges], dtype=np.float64)
            under_way = [k for k, e in enumerate(edges) if not link_kind(e[2]).refs_finish and real is not None
                         and np.isfinite(real[e[1]])]
            rs = None
            if under_way:
                uw = np.array(under_way, dtype=np.int64)
                rs = (uw, real[preds[uw]])
            start_ranks.append((cols, preds, fs, lag, rs))
        ff_ranks = []
        for r in range(max((len(model.ff_preds[i]) for i in items), default=0)):
            edges = [(col[int(i)], *model.ff_preds[i][r]) for i in items if len(model.ff_preds[i]) > r]
            ff_ranks.append((np.array([e[0] for e in edges], dtype=np.int64),
                             np.array([e[1] for e in edges], dtype=np.int64),
                             np.array([e[2] for e in edges], dtype=np.float64)))
        affects = affects_all[items]
        sync = tuple((np.array([i for i in model.order[g] if not model.fixed[i]], dtype=np.int64),
                      np.array(model.order[g], dtype=np.int64))
                     for g in groups if len(model.order[g]) > 1)
        paused = np.flatnonzero(affects.any(axis=1))
        shock_cols = tuple(np.flatnonzero(affects[paused, j]) for j in range(affects.shape[1]))
        levels.append(_Level(items, model.item_calendar[items], tuple(start_ranks), tuple(ff_ranks),
                             paused, shock_cols, sync))
    return _LevelPlan(model.calendar_stack(), fixed, affects_all, tuple(levels))


def forward_pass_by_item(model: CompiledModel, draws: Draws) -> tuple[np.ndarray, np.ndarray]:
    """Start and finish days, item by item in topological order (the reference for :func:`forward_pass`)."""
    n = draws.work.shape[0]
    start = np.zeros((n, model.n_items))
    finish = np.zeros((n, model.n_items))
    for group in model.order:
        for i in group:
            if model.fixed[i]:
                start[:, i] = model.fixed_start[i]
                finish[:, i] = model.fixed_finish[i]
                continue
            es = draws.wait[:, i].copy()
            for p, typ, lag in model.start_preds[i]:
                ref = finish[:, p] if link_kind(typ).refs_finish else start[:, p]
                if not link_kind(typ).refs_finish and model.real_start is not None and np.isfinite(model.real_start[p]):
                    ref = model.real_start[p]  # under way on the as-of date: its real start
                np.maximum(es, ref + lag, out=es)
            ps, pe = pauses_for(model, draws, i)
            cal = model.calendars[model.item_calendar[i]]
            s, f = advance_with_pauses(cal, es, draws.work[:, i], ps, pe)
            for p, lag in model.ff_preds[i]:
                np.maximum(f, finish[:, p] + lag, out=f)
            start[:, i], finish[:, i] = s, f
        if len(group) > 1:
            g = list(group)
            moving = [i for i in group if not model.fixed[i]]
            finish[:, moving] = finish[:, g].max(axis=1, keepdims=True)
    return start, finish
