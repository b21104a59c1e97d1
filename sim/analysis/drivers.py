"""Which quantity decided each date, replication by replication.

Two traces, both exact attributions of the recorded schedule:

* **Decisive item of a target** (:func:`decisive_items`): for ``all_of`` and
  ``item_by`` the ref with the latest achieved day, for ``k_of_n`` the ref that
  is the k-th order statistic, recursively through refs that are targets. KPI
  targets have no decisive item (-1).
* **Driving chain** (:func:`driving_chains`): from an item's finish back through
  the dependency network, the predecessor constraint that was binding at each
  step (FS/SS start, FF finish, a SYNC partner's later finish) until an item's
  own wait, duration or resource queue set the date. Items on that chain are
  *critical* in the replication (the classic criticality index).

The chain needs the sampled work and pause windows, which the records do not
keep; they are re-drawn from the run's seed (streams are keyed per quantity and
chunk, so the draws are exactly those of the run).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine import streams
from sim.model.calendar import advance_with_pauses, advance_with_pauses_stacked
from sim.engine.compiled import CompiledModel
from sim.model.clock import FAR_DAY
from sim.engine.forward import pauses_for
from sim.engine.replicate import column
from sim.engine.sampling import Draws, draw_chunk
from sim.model.enums import TargetRule
from sim.model.links import kind as link_kind

TOL_DAYS = 0.01  # records are float32: about 2e-4 day of rounding at day 2,000
KPI_RULES = (TargetRule.KPI_GE, TargetRule.KPI_CAGR_GE)


def item_days(model: CompiledModel, records: pd.DataFrame, kind: str) -> np.ndarray:
    """``start`` or ``finish`` days of every item, shape (rows, items), model order."""
    return np.column_stack(
        [records[column(kind, iid)].to_numpy(dtype=np.float64) for iid in model.item_ids]
    )


def achieved_days(model: CompiledModel, records: pd.DataFrame) -> np.ndarray:
    """Achieved day of every target, shape (rows, targets), model order, +inf if never."""
    cols = [records[column("achieved", t.id)].to_numpy(dtype=np.float64) for t in model.targets]
    return np.column_stack(cols) if cols else np.zeros((len(records), 0))


def decisive_items(model: CompiledModel, finish: np.ndarray, achieved: np.ndarray) -> np.ndarray:
    """Index of the item deciding each target in each replication, shape (rows, targets).

    -1 where the target is decided by a KPI (or has no item refs at all).
    """
    rows = finish.shape[0]
    out = np.full((rows, len(model.targets)), -1, dtype=np.int64)
    for t, spec in enumerate(model.targets):
        if spec.rule in KPI_RULES:
            continue
        ref_day = np.concatenate([finish[:, spec.item_refs], achieved[:, spec.target_refs]], axis=1)
        ref_item = np.concatenate(
            [np.broadcast_to(spec.item_refs, (rows, len(spec.item_refs))), out[:, spec.target_refs]], axis=1
        )
        if ref_day.shape[1] == 0:
            continue
        if spec.rule is TargetRule.K_OF_N:
            k = max(1, min(spec.k, ref_day.shape[1]))
            pick = np.argsort(ref_day, axis=1, kind="stable")[:, k - 1]
        else:
            pick = np.argmax(ref_day, axis=1)
        out[:, t] = ref_item[np.arange(rows), pick]
    return out


def contributors(model: CompiledModel) -> list[np.ndarray]:
    """Item indices each target depends on through its refs (recursively), model order."""
    out: list[np.ndarray] = []
    for spec in model.targets:
        items = set(spec.item_refs.tolist())
        for t in spec.target_refs:
            items.update(out[t].tolist())
        out.append(np.array(sorted(items), dtype=np.int64))
    return out


def draws_for(model: CompiledModel, reps: np.ndarray, *, seed: int, lhs: bool = False) -> Draws:
    """Re-draw the sampled drivers of replications ``reps`` (in that order)."""
    reps = np.asarray(reps, dtype=np.int64)
    parts = []
    for c in np.unique(reps // streams.CHUNK):
        sel = reps[reps // streams.CHUNK == c] - c * streams.CHUNK
        parts.append(draw_chunk(model, seed=seed, chunk=int(c), lhs=lhs).rows(sel))
    order = np.argsort(np.argsort(reps // streams.CHUNK, kind="stable"), kind="stable")
    return Draws(**{k: np.concatenate([getattr(p, k) for p in parts])[order] for k in Draws.__dataclass_fields__})


def natural_finish(model: CompiledModel, start: np.ndarray, finish: np.ndarray, draws: Draws) -> np.ndarray:
    """Each item's own finish, shape (rows, items): its sampled work from its recorded start,
    through its calendar and pauses, before FF links and SYNC partners hold it back
    (a done item: its recorded finish).

    Items a batch at a time on the model's :class:`CalendarStack` (equal to each calendar's
    :func:`advance_with_pauses` bit for bit, as the forward passes rely on); the pauses that
    do not apply to an item are +inf in its rows."""
    out = finish.copy()
    todo = np.flatnonzero(~np.asarray(model.fixed, dtype=bool))
    if todo.size == 0:
        return out
    stack = model.calendar_stack()
    n = start.shape[0]
    affects = np.zeros((model.n_items, len(model.shocks)), dtype=bool)  # (items, shocks)
    for j, sh in enumerate(model.shocks):
        affects[:, j] = sh.affects
    ps0, pe0 = draws.pause_start, draws.pause_end
    cal_of = np.asarray(model.item_calendar, dtype=np.int64)
    batch = max(1, (8 * 2**20) // max(1, 8 * n * max(1, ps0.shape[1])))  # ~8 MiB of pause windows a batch
    for lo in range(0, todo.size, batch):
        items = todo[lo:lo + batch]
        m = items.size
        if ps0.shape[1]:
            hit = affects[items][:, None, :]  # (items, 1, shocks)
            ps = np.where(hit, ps0[None, :, :], np.inf).reshape(m * n, -1)
            pe = np.where(hit, pe0[None, :, :], np.inf).reshape(m * n, -1)
            order = np.argsort(ps, axis=1, kind="stable")
            ps, pe = np.take_along_axis(ps, order, 1), np.take_along_axis(pe, order, 1)
        else:
            ps = pe = np.full((m * n, 0), np.inf)
        cal = np.repeat(cal_of[items], n)
        t0 = np.ascontiguousarray(start[:, items].T, dtype=np.float64).ravel()
        work = np.ascontiguousarray(draws.work[:, items].T, dtype=np.float64).ravel()
        f = advance_with_pauses_stacked(stack, cal, t0, work, ps, pe)[1]
        out[:, items] = f.reshape(m, n).T
    return out


def chain_links(model: CompiledModel, start: np.ndarray, finish: np.ndarray, draws: Draws,
                natural: np.ndarray | None = None) -> np.ndarray:
    """Binding constraint of every event, shape (rows, 2 * items).

    Event ``2*i`` is item i's start, ``2*i + 1`` its finish. The value is the
    event that set it (same encoding) or -1 when the item's own wait, duration
    of a done item or a resource queue did.
    """
    n = start.shape[0]
    natural = natural_finish(model, start, finish, draws) if natural is None else natural
    nxt = np.full((n, 2 * model.n_items), -1, dtype=np.int64)
    for group in model.order:
        own_finish: dict[int, np.ndarray] = {}
        for i in group:
            if model.fixed[i]:
                own_finish[i] = finish[:, i]
                continue
            es = draws.wait[:, i].copy()
            by = np.full(n, -1, dtype=np.int64)
            for p, typ, lag in model.start_preds[i]:
                on_finish = link_kind(typ).refs_finish  # FS: the predecessor's finish; SS: its start
                ref = (finish[:, p] if on_finish else start[:, p]) + lag
                by = np.where(ref > es, 2 * p + (1 if on_finish else 0), by)
                es = np.maximum(es, ref)
            ps, pe = pauses_for(model, draws, i)
            cal = model.calendars[model.item_calendar[i]]
            s_free, _ = advance_with_pauses(cal, es, draws.work[:, i], ps, pe)
            queued = start[:, i] > s_free + TOL_DAYS  # a resource queue, not a predecessor
            nxt[:, 2 * i] = np.where(queued, -1, by)
            f = natural[:, i].copy()
            fby = np.full(n, 2 * i, dtype=np.int64)  # own start + duration
            for p, lag in model.ff_preds[i]:
                ref = finish[:, p] + lag
                fby = np.where(ref > f, 2 * p + 1, fby)
                f = np.maximum(f, ref)
            own_finish[i] = f
            nxt[:, 2 * i + 1] = fby
        if len(group) > 1:
            members = np.array(group)
            latest = members[np.argmax(np.column_stack([own_finish[i] for i in group]), axis=1)]
            for i in group:
                if not model.fixed[i]:
                    nxt[:, 2 * i + 1] = np.where(latest == i, nxt[:, 2 * i + 1], 2 * latest + 1)
    return nxt


def driving_chains(links: np.ndarray, end_items: np.ndarray) -> np.ndarray:
    """Items on the driving chain ending at ``end_items`` (one per row, -1 none), bool (rows, items)."""
    n, n_events = links.shape
    on = np.zeros((n, n_events // 2), dtype=bool)
    rows = np.arange(n)
    state = np.where(end_items >= 0, 2 * end_items + 1, -1)
    for _ in range(n_events + 1):
        live = state >= 0
        if not live.any():
            break
        on[rows[live], state[live] // 2] = True
        state = np.where(live, links[rows, np.maximum(state, 0)], -1)
    return on


def finite_days(days: np.ndarray) -> np.ndarray:
    """Days with 'never' (+inf) capped at the model's far day, for statistics."""
    return np.minimum(days, FAR_DAY)
