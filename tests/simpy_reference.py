"""The reference for :mod:`sim.engine.processes`: the previous SimPy engine, verbatim (commit 6c18be1).

A SimPy process per item that can queue (``simpy.Resource`` per unit, Initialize,
timeouts, request and release events), callbacks for pure waits. The lazy engine
must give the same schedule bit for bit (tests/test_engine_lazy_processes.py): its
events are fewer, not different. Test code only; never imported by ``sim``.

Its original docstring follows.

SimPy reference semantics: one replication per Environment; items that queue are processes.

The semantics are those documented in :mod:`sim.engine.forward`, plus finite
resource capacity (a ``simpy.Resource`` per responsible unit that has one, held
from the start of work to its natural finish). An item whose unit can make it
wait (more items use the unit than its capacity) is a SimPy process: it waits for
its earliest start, queues for the unit, works and releases it. Every other item
is a pure wait, and a process of its own would only wait: it is settled by
callbacks as soon as its last predecessor reports (a countdown, not ``AllOf``),
by the same arithmetic. So events are spent only where the queue needs them
(821 -> 354 events per replication on the shipped plan with its capacities cut to
bind; 0 where nothing can bind). Working time is arithmetic, not events: the
holiday calendar and the replication's shock windows (an epidemic stoppage, a
typhoon: sampled per replication, common to every item they affect) are both
windows in which an item makes no progress and cannot start, so its finish is
computed through them with :func:`sim.model.calendar.advance_with_pauses1`. This
is exactly what an interrupt at the shock's start and a resume at its end would
give, at two events per affected item fewer.

All times are recorded from the exact calendar arithmetic, not from
``env.now``, so that float rounding in SimPy's clock never leaks into results.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import simpy

from sim.model.calendar import advance_with_pauses1
from sim.engine.compiled import CompiledModel
from sim.engine.sampling import Draws
from sim.model.enums import LinkType



class _Topology:
    """Per-model lookup lists shared by every replication (built once, cached)."""

    def __init__(self, model: CompiledModel):
        n = model.n_items
        self.n_start_preds = [len(p) for p in model.start_preds]
        self.succ_start: list[list[tuple[int, float]]] = [[] for _ in range(n)]  # SS
        self.succ_finish: list[list[tuple[int, float]]] = [[] for _ in range(n)]  # FS
        for i, preds in enumerate(model.start_preds):
            for p, typ, lag in preds:
                (self.succ_finish if typ is LinkType.FS else self.succ_start)[p].append((i, lag))
        self.ff_pred_set = sorted({p for preds in model.ff_preds for p, _ in preds})
        self.group_sizes = [len(g) for g in model.order]
        self.group_of = model.sync_group.tolist()
        self.fixed = model.fixed.tolist()
        self.item_shocks = [[j for j, sh in enumerate(model.shocks) if sh.affects[i]] for i in range(n)]
        self.affects = [tuple(bool(sh.affects[i]) for sh in model.shocks) for i in range(n)]
        patterns = {a: k for k, a in enumerate(dict.fromkeys(self.affects))}
        self.pattern_of = [patterns[a] for a in self.affects]  # items hit by the same shocks share pauses
        self.patterns = list(patterns)
        self.cal = [model.calendars[c] for c in model.item_calendar.tolist()]
        # a unit with at least as much capacity as it has items can never make one wait
        binding = model.binding_units()
        self.unit_of = [int(r) if r >= 0 and binding[r] else -1 for r in model.item_resource]


def _topology(model: CompiledModel) -> _Topology:
    topo = model.meta.get("simpy_topology")
    if topo is None:
        topo = model.meta["simpy_topology"] = _Topology(model)
    return topo


class _Replication:
    """State of one replication; built, run to completion, read, discarded.

    An item whose unit can make it wait runs as a SimPy process (it queues for the
    unit). Every other item is a pure wait: its start and finish follow from its
    predecessors by the same arithmetic the process would do, so it is settled by
    callbacks the moment its last predecessor reports, without events of its own
    (its process would only wait). An item settled before its finish day hands its
    finish to successors early; a successor that queues still asks for its unit at
    its own earliest start (its process waits until then), so nothing is decided
    before its time.
    """

    def __init__(self, model: CompiledModel, draws: Draws, row: int):
        self.m = model
        self.env = simpy.Environment()
        self.work = draws.work[row].tolist()
        ps, pe = draws.pause_start[row].tolist(), draws.pause_end[row].tolist()
        # the replication's fired pauses, sorted by start once (ties in shock order, as a stable sort)
        self.fired = sorted((ps[j], j, pe[j]) for j in range(len(ps)) if ps[j] < np.inf)
        self._pauses: dict[int, list] = {}  # affects pattern -> its fired pauses, built on first use
        n = model.n_items
        self.start = [float("nan")] * n
        self.finish = [float("nan")] * n
        topo = self.topo = _topology(model)
        self.es = draws.wait[row].tolist()
        self.pending = list(topo.n_start_preds)
        self.succ_start, self.succ_finish = topo.succ_start, topo.succ_finish
        self.done_value: dict[int, float] = {}
        self.on_done: dict[int, list] = {}  # FF predecessor -> callbacks waiting for its finish
        self.group_left = list(topo.group_sizes)
        self.group_max = [-np.inf] * len(model.order)
        self.fixed = topo.fixed
        self.group_of = topo.group_of
        self.item_shocks = topo.item_shocks
        self.unit_of = topo.unit_of
        self.resources = [simpy.Resource(self.env, capacity=c) for c in model.resource_capacity]
        self._ready: deque[int] = deque()  # released items not yet begun, first released first
        self._draining = False

    # -- notifications -------------------------------------------------------
    def _started(self, i: int, t: float) -> None:
        self.start[i] = t
        real = self.m.real_start
        ref = float(real[i]) if real is not None and np.isfinite(real[i]) else t  # under way: its real start
        for s, lag in self.succ_start[i]:
            self._release(s, ref + lag)

    def _release(self, s: int, value: float) -> None:
        if value > self.es[s]:
            self.es[s] = value
        self.pending[s] -= 1
        if self.pending[s] == 0 and not self.fixed[s]:
            self._ready.append(s)

    def _drain(self) -> None:
        """Begin every released item, in release order (a loop, not recursion: chains can be long)."""
        if self._draining:
            return
        self._draining = True
        try:
            while self._ready:
                i = self._ready.popleft()
                if self.unit_of[i] >= 0:
                    self.env.process(self._queued(i))
                else:
                    self._free(i)
        finally:
            self._draining = False

    def _member_done(self, i: int, t: float) -> None:
        g = self.group_of[i]
        self.group_max[g] = max(self.group_max[g], t)
        self.group_left[g] -= 1
        if self.group_left[g] == 0:
            for j in self.m.order[g]:
                f = self.finish[j] if self.fixed[j] else self.group_max[g]
                self.finish[j] = f
                for s, lag in self.succ_finish[j]:
                    self._release(s, f + lag)
                waiting = self.on_done.pop(j, None)
                self.done_value[j] = f
                for cb in waiting or ():
                    cb(f)

    def _work(self, i: int, t: float) -> tuple[float, float]:
        """Start and natural finish of item ``i`` beginning no earlier than ``t`` (calendar and pauses)."""
        cal = self.topo.cal[i]
        if self.fired:
            k = self.topo.pattern_of[i]
            pauses = self._pauses.get(k)
            if pauses is None:
                aff = self.topo.patterns[k]
                pauses = self._pauses[k] = [(s, e) for s, j, e in self.fired if aff[j]]
            if pauses:
                return advance_with_pauses1(cal, t, self.work[i], pauses)
        return t, cal.advance1(t, self.work[i])

    # -- pure waits: callbacks -------------------------------------------------
    def _free(self, i: int) -> None:
        start, t = self._work(i, self.es[i])
        self._started(i, start)
        if self.m.ff_preds[i]:
            self._gate(i, t, 0)
        else:  # no FF gate: finished now (the release queue is being drained by the caller)
            self.finish[i] = t
            self._member_done(i, t)

    def _gate(self, i: int, t: float, k: int) -> None:
        """FF gates of item ``i`` from the ``k``-th on; then its finish."""
        ffs = self.m.ff_preds[i]
        while k < len(ffs):
            p, lag = ffs[k]
            if p not in self.done_value:
                self.on_done.setdefault(p, []).append(lambda _v, i=i, t=t, k=k: self._gate(i, t, k))
                return
            t = max(t, self.done_value[p] + lag)
            k += 1
        self.finish[i] = t
        self._member_done(i, t)
        self._drain()

    # -- items that queue for a unit: processes ----------------------------------
    def _queued(self, i: int):
        """Wait for the earliest start, take the unit, work, release it, wait for FF gates, finish."""
        env = self.env
        # times come from exact arithmetic; env.now only orders events (its float
        # additions may round), so t is never taken from the clock when known exactly
        t = self.es[i]
        if t > env.now:
            yield env.timeout(t - env.now)
        unit = self.resources[self.unit_of[i]]
        req = unit.request()
        yield req
        t = max(t, env.now)
        # lags are >= 0, so successors that depend on the start are released no earlier than it happens
        start, t = self._work(i, t)
        self._started(i, start)
        self._drain()
        if t > env.now:
            yield env.timeout(t - env.now)
        unit.release(req)
        for p, lag in self.m.ff_preds[i]:
            if p not in self.done_value:
                evt = env.event()
                self.on_done.setdefault(p, []).append(evt.succeed)
                yield evt
            t = max(t, self.done_value[p] + lag)
        if t > env.now:
            yield env.timeout(t - env.now)
        self.finish[i] = t
        self._member_done(i, t)
        self._drain()

    def run(self) -> tuple[list[float], list[float]]:
        m = self.m
        # items free to go first: releasing done items below may bring others to zero,
        # and those are queued by the release itself (never twice)
        self._ready.extend(i for i in range(m.n_items) if not m.fixed[i] and self.pending[i] == 0)
        for i in range(m.n_items):
            if m.fixed[i]:
                self._started(i, float(m.fixed_start[i]))
                self.finish[i] = float(m.fixed_finish[i])
        for i in range(m.n_items):
            if m.fixed[i]:
                self._member_done(i, float(m.fixed_finish[i]))
        self._drain()
        self.env.run()
        return self.start, self.finish


def simulate_rows(model: CompiledModel, draws: Draws) -> tuple[np.ndarray, np.ndarray]:
    """Run one SimPy replication per row of ``draws``; start and finish arrays (rows, items)."""
    n = draws.work.shape[0]
    start = np.empty((n, model.n_items))
    finish = np.empty((n, model.n_items))
    for r in range(n):
        start[r], finish[r] = _Replication(model, draws, r).run()
    return start, finish
