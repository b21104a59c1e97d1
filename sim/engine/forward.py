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

from sim.model.calendar import advance_with_pauses
from sim.engine.compiled import CompiledModel
from sim.model.enums import LinkType
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
    """Start and finish days, arrays of shape (rows, items)."""
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
                ref = finish[:, p] if typ is LinkType.FS else start[:, p]
                if typ is LinkType.SS and model.real_start is not None and np.isfinite(model.real_start[p]):
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
