"""SimPy reference semantics: one process per item, one replication per Environment.

The semantics are those documented in :mod:`sim.engine.forward`, plus finite
resource capacity (a ``simpy.Resource`` per responsible unit that has one, held
from the start of work to its natural finish). Events per replication are kept
few: durations come pre-sampled; an item's process is created only when its last
start predecessor reports (a countdown, not ``AllOf``); FF gates and SYNC groups
are events triggered once. Working time is arithmetic, not events: the holiday
calendar and the replication's shock windows (an epidemic stoppage, a typhoon:
sampled per replication, common to every item they affect) are both windows in
which an item makes no progress and cannot start, so a process computes its
finish through them with :func:`sim.model.calendar.advance_with_pauses1` and
waits once. This is exactly what an interrupt at the shock's start and a resume
at its end would give, at two events per affected item fewer.

All times are recorded from the exact calendar arithmetic, not from
``env.now``, so that float rounding in SimPy's clock never leaks into results.
"""

from __future__ import annotations

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
        # a unit with at least as much capacity as it has items can never make one wait
        binding = model.binding_units()
        self.unit_of = [int(r) if r >= 0 and binding[r] else -1 for r in model.item_resource]


def _topology(model: CompiledModel) -> _Topology:
    topo = model.meta.get("simpy_topology")
    if topo is None:
        topo = model.meta["simpy_topology"] = _Topology(model)
    return topo


class _Replication:
    """State of one replication; built, run to completion, read, discarded."""

    def __init__(self, model: CompiledModel, draws: Draws, row: int):
        self.m = model
        self.env = simpy.Environment()
        self.work = draws.work[row].tolist()
        self.wait = draws.wait[row]
        self.ps = draws.pause_start[row].tolist()
        self.pe = draws.pause_end[row].tolist()
        n = model.n_items
        self.start = np.full(n, np.nan)
        self.finish = np.full(n, np.nan)
        topo = _topology(model)
        self.es = self.wait.tolist()
        self.pending = list(topo.n_start_preds)
        self.succ_start, self.succ_finish = topo.succ_start, topo.succ_finish
        self.done_evt: dict[int, simpy.Event] = {p: self.env.event() for p in topo.ff_pred_set}
        self.group_left = list(topo.group_sizes)
        self.group_max = [-np.inf] * len(model.order)
        self.fixed = topo.fixed
        self.group_of = topo.group_of
        self.item_shocks = topo.item_shocks
        self.unit_of = topo.unit_of
        self.resources = [simpy.Resource(self.env, capacity=c) for c in model.resource_capacity]

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
            self.env.process(self._item(s))

    def _member_done(self, i: int, t: float) -> None:
        g = self.group_of[i]
        self.group_max[g] = max(self.group_max[g], t)
        self.group_left[g] -= 1
        if self.group_left[g] == 0:
            members = self.m.order[g]
            for j in members:
                f = self.finish[j] if self.fixed[j] else self.group_max[g]
                self.finish[j] = f
                for s, lag in self.succ_finish[j]:
                    self._release(s, f + lag)
                evt = self.done_evt.get(j)
                if evt is not None:
                    evt.succeed(f)

    # -- processes -----------------------------------------------------------
    def _item(self, i: int):
        """One item: wait for its earliest start, take its unit, work, wait for FF gates, finish."""
        env, m = self.env, self.m
        # times come from exact arithmetic; env.now only orders events (its float
        # additions may round), so t is never taken from the clock when known exactly
        t = self.es[i]
        req = None
        unit = self.unit_of[i]
        if unit >= 0:  # a unit that can be busy: queue for it when the item may start
            if t > env.now:
                yield env.timeout(t - env.now)
            req = self.resources[unit].request()
            yield req
            t = max(t, env.now)
        # without a queue the start is known now (lags are >= 0, so successors that
        # depend on it are released no earlier than it happens)
        pauses = sorted((self.ps[j], self.pe[j]) for j in self.item_shocks[i] if self.ps[j] < np.inf)
        start, t = advance_with_pauses1(m.calendars[m.item_calendar[i]], t, self.work[i], pauses)
        self._started(i, start)
        if t > env.now:
            yield env.timeout(t - env.now)
        if req is not None:
            self.resources[unit].release(req)
        for p, lag in m.ff_preds[i]:
            evt = self.done_evt[p]
            if not evt.triggered:
                yield evt
            t = max(t, evt.value + lag)
        if t > env.now:
            yield env.timeout(t - env.now)
        self.finish[i] = t
        self._member_done(i, t)

    def run(self) -> tuple[np.ndarray, np.ndarray]:
        m = self.m
        # items free to go first: releasing done items below may bring others to zero,
        # and those are started by the release itself (never twice)
        for i in range(m.n_items):
            if not m.fixed[i] and self.pending[i] == 0:
                self.env.process(self._item(i))
        for i in range(m.n_items):
            if m.fixed[i]:
                self._started(i, float(m.fixed_start[i]))
                self.finish[i] = float(m.fixed_finish[i])
        for i in range(m.n_items):
            if m.fixed[i]:
                self._member_done(i, float(m.fixed_finish[i]))
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
