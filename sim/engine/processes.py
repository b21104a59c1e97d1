"""SimPy reference semantics: one replication per Environment; items that queue are lazy processes.

The semantics are those documented in :mod:`sim.engine.forward`, plus finite
resource capacity (a FIFO queue per responsible unit that has one, held from the
start of work to its natural finish). The reference is *a SimPy process per item*:
it waits for its earliest start, queues for its unit, works, releases the unit,
waits for its FF gates and finishes; its successors are released when it starts
(SS) or when its SYNC group finishes (FS). The previous engine ran exactly that
for every item that can queue (a generator process, a ``simpy.Resource`` per unit;
pure waits by callbacks); it is kept as ``tests/simpy_reference.py`` and
``tests/test_engine_lazy_processes.py`` checks that this module gives the same
schedule bit for bit, with far fewer events:

* **Static items** (no unit that can bind anywhere among their predecessors, their
  FF gates or their SYNC partners) are pure waits whose times follow from their
  predecessors alone. They are computed first, group by group in topological
  order, with the process's arithmetic (a process of their own would only wait).
* **Dynamic items** (the rest) are settled by callbacks while the queues run. An
  item that queues for a unit is a *lazy process*: a chain of callbacks on SimPy
  timeouts, created only when its last predecessor reports. It keeps the
  process's steps and their order within a time step: its start (``Initialize``,
  URGENT) runs right after the step that released it; a granted request, a
  released unit and an FF gate that opens resume it after every event already due
  at that instant (NORMAL, first come first served), kept in a local FIFO instead
  of SimPy events. Only waits in time are SimPy events: the earliest start, the
  natural finish (the unit is released) and an FF-gated finish.
* **The unit** is a plain FIFO queue (a count of holders and a deque of waiting
  items), not a ``simpy.Resource``: every request has the same priority, is never
  cancelled and holds one slot, so the resource's queue is exactly first in, first
  out, and the head is tried once per request and once per release, as the
  resource's ``_trigger_put`` does.

So events are spent only where time passes for a queue (shipped plan with its
capacities cut to bind: 354 -> 71 SimPy events per replication; 0 where nothing
can bind). Working time is arithmetic, not events: the holiday calendar and the
replication's shock windows (an epidemic stoppage, a typhoon: sampled per
replication, common to every item they affect) are both windows in which an item
makes no progress and cannot start, so its finish is computed through them with
:func:`sim.model.calendar.advance_with_pauses1`.

Times are recorded from the exact calendar arithmetic, except that an item granted
its unit starts no earlier than the clock (``max(t, env.now)``), as the reference
process does; the timeouts' delays are those of the reference, so the clock reads
the same. Only SimPy's public API is used (``Timeout``, ``step``, ``peek``, ``now``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from math import inf

import numpy as np
import simpy
from simpy.events import Timeout

from sim.model.calendar import advance_with_pauses1
from sim.engine.compiled import CompiledModel
from sim.engine.sampling import Draws
from sim.model.enums import LinkType
from sim.model.links import kind as link_kind  # which end of the predecessor a start link references

_FS, _SS, _CONST = 0, 1, 2  # how a start link reads its predecessor: its finish, its start, a fixed day


class _Topology:
    """Per-model tables shared by every replication (built once, cached in ``model.meta``)."""

    def __init__(self, model: CompiledModel):
        n = model.n_items
        self.n = n
        real = model.real_start
        self.real_ref = [float(real[i]) if len(real) and np.isfinite(real[i]) else None for i in range(n)]
        self.start_preds = model.start_preds
        self.n_start_preds = [len(p) for p in model.start_preds]
        self.succ_start: list[list[tuple[int, float]]] = [[] for _ in range(n)]  # SS
        self.succ_finish: list[list[tuple[int, float]]] = [[] for _ in range(n)]  # FS
        for i, preds in enumerate(model.start_preds):
            for p, typ, lag in preds:
                (self.succ_finish if link_kind(typ).refs_finish else self.succ_start)[p].append((i, lag))
        self.ff_preds = [tuple(f) for f in model.ff_preds]
        self.group_sizes = [len(g) for g in model.order]
        self.group_of = model.sync_group.tolist()
        self.order = model.order
        self.fixed = model.fixed.tolist()
        self.fixed_start = [float(v) if f else float("nan") for v, f in zip(model.fixed_start.tolist(), self.fixed)]
        self.fixed_finish = [float(v) if f else float("nan") for v, f in zip(model.fixed_finish.tolist(), self.fixed)]
        affects = [tuple(bool(sh.affects[i]) for sh in model.shocks) for i in range(n)]
        patterns = {a: k for k, a in enumerate(dict.fromkeys(affects))}
        self.pattern_of = [patterns[a] for a in affects]  # items hit by the same shocks share pauses
        self.patterns = list(patterns)
        self.cal = [model.calendars[c] for c in model.item_calendar.tolist()]
        # a unit with at least as much capacity as it has items can never make one wait
        binding = model.binding_units()
        self.unit_of = [int(r) if r >= 0 and binding[r] else -1 for r in model.item_resource]
        self.capacity = list(model.resource_capacity)
        self.dynamic = self._dynamic(model)
        self.static = self._static_steps(model)
        self.prerun = self._prerun_sequence()
        self.dyn_items = [i for i in range(n) if self.dynamic[i]]
        # start predecessors of each dynamic item that report before the queues run (static items; the
        # start of an item done on the as-of date), and how many others it waits for
        self.dyn_static_links = [
            (i, tuple(self._link(model, p, typ, lag) for p, typ, lag in model.start_preds[i] if self._early(p, typ)),
             sum(1 for p, typ, _ in model.start_preds[i] if not self._early(p, typ)))
            for i in self.dyn_items
        ]
        self.dyn_groups = sorted({self.group_of[i] for i in self.dyn_items})
        self._only: dict[tuple[int, ...], _Part | None] = {}

    def _early(self, p: int, typ: LinkType) -> bool:
        return not self.dynamic[p] or (not link_kind(typ).refs_finish and self.fixed[p])

    def _link(self, model, p: int, typ: LinkType, lag: float) -> tuple[int, int, float]:
        if link_kind(typ).refs_finish:
            return p, _FS, lag
        ref = self.real_ref[p]  # SS from an item under way on the as-of date: its real start
        return (p, _CONST, ref + lag) if ref is not None else (p, _SS, lag)

    def _dynamic(self, model: CompiledModel) -> list[bool]:
        """Items whose dates can depend on a queue: a fixed point over links and SYNC groups.

        Queued items; an item with a dynamic start predecessor (except the SS start of
        an item done on the as-of date, a fixed day) or a dynamic FF predecessor;
        every member of a group with a dynamic member, or with links between its own
        members (the callbacks order them).
        """
        n = self.n
        dyn = [self.unit_of[i] >= 0 and not self.fixed[i] for i in range(n)]
        for members in model.order:
            inner = {p for i in members for p, _, _ in model.start_preds[i]} | {p for i in members for p, _ in model.ff_preds[i]}
            if len(members) > 1 and inner & set(members):
                for i in members:
                    dyn[i] = True
        changed = True
        while changed:  # small plans, a few passes: clarity over speed
            changed = False
            for members in model.order:
                if dyn[members[0]] and all(dyn[j] for j in members):
                    continue
                hit = any(dyn[j] for j in members) or any(
                    not self.fixed[j] and (
                        any(dyn[p] and (link_kind(typ).refs_finish or not self.fixed[p]) for p, typ, _ in model.start_preds[j])
                        or any(dyn[p] for p, _ in model.ff_preds[j]))
                    for j in members)
                if hit:
                    for j in members:
                        dyn[j] = True
                    changed = True
        return dyn

    def _static_steps(self, model: CompiledModel) -> list[tuple]:
        """(item, calendar, pattern, start links, FF links, group to close or None) of static items in order."""
        steps = []
        for members in model.order:
            if self.dynamic[members[0]]:
                continue  # a group is dynamic as a whole
            movers = [i for i in members if not self.fixed[i]]
            for k, i in enumerate(movers):
                close = (tuple(movers), tuple(members)) if len(members) > 1 and k == len(movers) - 1 else None
                links = tuple(self._link(model, p, typ, lag) for p, typ, lag in model.start_preds[i])
                steps.append((i, self.cal[i], self.pattern_of[i], links, self.ff_preds[i], close))
        return steps

    def _prerun_sequence(self) -> list[int]:
        """Dynamic items in the order the reference releases them before its clock starts.

        The reference settles every pure wait it can before ``env.run()``, first
        released first, and starts the queued items' processes in that order; the
        order is a property of the network alone (which item waits for which), so it
        is found once here, by the reference's own bookkeeping without times.
        """
        n = self.n
        pending = list(self.n_start_preds)
        done = [False] * n
        left = list(self.group_sizes)
        on_done: dict[int, list[tuple[int, int]]] = {}
        ready = deque(i for i in range(n) if not self.fixed[i] and pending[i] == 0)
        seq: list[int] = []

        def release(s: int) -> None:
            pending[s] -= 1
            if pending[s] == 0 and not self.fixed[s]:
                ready.append(s)

        def member_done(i: int) -> None:
            g = self.group_of[i]
            left[g] -= 1
            if left[g] == 0:
                for j in self.order[g]:
                    for s, _ in self.succ_finish[j]:
                        release(s)
                    waiting = on_done.pop(j, None)
                    done[j] = True
                    for x, k in waiting or ():
                        gate(x, k)

        def gate(i: int, k: int) -> None:
            ffs = self.ff_preds[i]
            while k < len(ffs):
                if not done[ffs[k][0]]:
                    on_done.setdefault(ffs[k][0], []).append((i, k))
                    return
                k += 1
            member_done(i)

        for i in range(n):
            if self.fixed[i]:
                for s, _ in self.succ_start[i]:
                    release(s)
        for i in range(n):
            if self.fixed[i]:
                member_done(i)
        while ready:
            i = ready.popleft()
            if self.dynamic[i]:
                seq.append(i)
            if self.unit_of[i] >= 0:
                continue  # its process waits for the clock
            for s, _ in self.succ_start[i]:
                release(s)
            gate(i, 0)
        return seq

    def only_steps(self, only: tuple[int, ...]) -> _Part | None:
        """The static steps needed for the items ``only`` (they and their predecessors), on their own
        columns; None if one of them is dynamic (then the whole replication runs)."""
        if only not in self._only:
            part = None
            if not any(self.dynamic[i] for i in only):
                need: set[int] = set()
                stack = list(only)
                while stack:
                    i = stack.pop()
                    for j in self.order[self.group_of[i]]:
                        if j not in need:
                            need.add(j)
                            stack.extend(p for p, _ in self.ff_preds[j])
                            stack.extend(p for p, _, _ in self.start_preds[j])
                cols = sorted(need)
                at = {c: k for k, c in enumerate(cols)}  # item -> its column in the part
                steps = [(at[i], cal, pat, tuple((at[p], kind, lag) for p, kind, lag in links),
                          tuple((at[p], lag) for p, lag in ffs),
                          None if close is None else (tuple(at[j] for j in close[0]), tuple(at[j] for j in close[1])))
                         for i, cal, pat, links, ffs, close in self.static if i in need]
                paused = any(any(self.patterns[st[2]]) for st in steps)
                part = _Part(cols, steps, [self.fixed_start[c] for c in cols], [self.fixed_finish[c] for c in cols],
                             paused)
            self._only[only] = part
        return self._only[only]


class _Part:
    """Static steps of a few items renumbered onto their own columns (:meth:`_Topology.only_steps`)."""

    def __init__(self, cols: list[int], steps: list, fixed_start: list[float], fixed_finish: list[float],
                 paused: bool):
        self.cols, self.steps, self.paused = cols, steps, paused
        self.fixed_start, self.fixed_finish = fixed_start, fixed_finish


def _topology(model: CompiledModel) -> _Topology:
    topo = model.meta.get("simpy_lazy")
    if topo is None:
        topo = model.meta["simpy_lazy"] = _Topology(model)
    return topo


def _static_pass(steps, wait, work, pauses, start, finish) -> None:
    """Start and finish of static items in order: the arithmetic of a process that only waits."""
    for i, cal, k, links, ffs, close in steps:
        t = wait[i]
        for p, kind, lag in links:
            v = (finish[p] if kind == _FS else start[p] if kind == _SS else 0.0) + lag
            if v > t:
                t = v
        pz = pauses[k] if pauses is not None else None
        if pz:
            s, f = advance_with_pauses1(cal, t, work[i], pz)
        else:
            s, f = t, cal.advance1(t, work[i])
        start[i] = s
        for p, lag in ffs:
            v = finish[p] + lag
            if v > f:
                f = v
        finish[i] = f
        if close is not None:  # a SYNC group finishes together at the latest of its members
            movers, members = close
            gm = max(finish[j] for j in members)
            for j in movers:
                finish[j] = gm


class _Replication:
    """The dynamic items of one replication: callbacks, lazy processes and unit queues.

    Built after the static pass, run to completion, read, discarded. The
    bookkeeping is the reference's: ``pending`` start predecessors, ``es``
    raised by each release, a released item begun first released first, SYNC
    groups finishing at their latest member, FF callbacks on a predecessor's finish.
    """

    def __init__(self, topo: _Topology, wait, work, pauses, start, finish):
        self.topo = topo
        self.env = simpy.Environment()
        self.work = work
        self.pauses = pauses
        self.start = start
        self.finish = finish
        self.es = list(wait)
        self.pending = list(topo.n_start_preds)
        self.succ_start, self.succ_finish = topo.succ_start, topo.succ_finish
        self.fixed = topo.fixed
        self.group_of = topo.group_of
        self.unit_of = topo.unit_of
        self.ffs = topo.ff_preds
        n = topo.n
        # static items are done; dynamic ones report as they finish
        done: list[float | None] = list(finish)
        for i in topo.dyn_items:
            done[i] = None
        self.done = done
        self.on_done: dict[int, list] = {}
        self.group_left = list(topo.group_sizes)
        self.group_max = [-np.inf] * len(topo.group_sizes)
        self.users = [0] * len(topo.capacity)
        self.cap = topo.capacity
        self.fifo: list[deque[int]] = [deque() for _ in topo.capacity]
        self.t_req = [0.0] * n  # a queued item's earliest start when it asked for its unit
        self.t_fin = [0.0] * n  # its natural finish, then its finish through FF gates
        self._ready: deque[int] = deque()
        self._inits: deque[int] = deque()  # queued items released in this step (URGENT in the reference)
        self._soon: deque = deque()  # (callback, argument) due now after the events already due (NORMAL)
        self._draining = True  # until the clock starts: the pre-run sequence is replayed instead
        self._replay = True

    # -- the reference's bookkeeping -----------------------------------------
    def _started(self, i: int, t: float) -> None:
        self.start[i] = t
        ref = self.topo.real_ref[i]
        ref = t if ref is None else ref  # under way: its real start
        for s, lag in self.succ_start[i]:
            self._release(s, ref + lag)

    def _release(self, s: int, value: float) -> None:
        if value > self.es[s]:
            self.es[s] = value
        self.pending[s] -= 1
        if self.pending[s] == 0 and not self.fixed[s] and not self._replay:
            self._ready.append(s)

    def _drain(self) -> None:
        """Begin every released item, in release order (a loop, not recursion: chains can be long)."""
        if self._draining:
            return
        self._draining = True
        try:
            while self._ready:
                self._begin(self._ready.popleft())
        finally:
            self._draining = False

    def _begin(self, i: int) -> None:
        if self.unit_of[i] >= 0:
            self._inits.append(i)  # its process starts after this step, before anything else due now
        else:
            self._free(i)

    def _member_done(self, i: int, t: float) -> None:
        g = self.group_of[i]
        if t > self.group_max[g]:
            self.group_max[g] = t
        self.group_left[g] -= 1
        if self.group_left[g] == 0:
            gm = self.group_max[g]
            for j in self.topo.order[g]:
                f = self.finish[j] if self.fixed[j] else gm
                self.finish[j] = f
                for s, lag in self.succ_finish[j]:
                    self._release(s, f + lag)
                waiting = self.on_done.pop(j, None)
                self.done[j] = f
                for cb in waiting or ():
                    cb(f)

    def _work(self, i: int, t: float) -> tuple[float, float]:
        """Start and natural finish of item ``i`` beginning no earlier than ``t`` (calendar and pauses)."""
        cal = self.topo.cal[i]
        pz = self.pauses[self.topo.pattern_of[i]] if self.pauses is not None else None
        if pz:
            return advance_with_pauses1(cal, t, self.work[i], pz)
        return t, cal.advance1(t, self.work[i])

    # -- pure waits: callbacks -------------------------------------------------
    def _free(self, i: int) -> None:
        start, t = self._work(i, self.es[i])
        self._started(i, start)
        if self.ffs[i]:
            self._gate(i, t, 0)
        else:  # no FF gate: finished now (the release queue is being drained by the caller)
            self.finish[i] = t
            self._member_done(i, t)

    def _gate(self, i: int, t: float, k: int) -> None:
        """FF gates of item ``i`` from the ``k``-th on; then its finish."""
        ffs = self.ffs[i]
        while k < len(ffs):
            p, lag = ffs[k]
            v = self.done[p]
            if v is None:
                self.on_done.setdefault(p, []).append(lambda _v, i=i, t=t, k=k: self._gate(i, t, k))
                return
            t = max(t, v + lag)
            k += 1
        self.finish[i] = t
        self._member_done(i, t)
        self._drain()

    # -- lazy processes: items that queue for a unit ----------------------------
    def _timeout(self, t: float, i: int, callback) -> None:
        ev = Timeout(self.env, t - self.env.now, i)
        ev.callbacks.append(callback)

    def _init(self, i: int) -> None:
        """The process begins: wait for the earliest start, or ask for the unit now."""
        t = self.t_req[i] = self.es[i]
        if t > self.env.now:
            self._timeout(t, i, self._on_due)
        else:
            self._request(i)

    def _on_due(self, ev) -> None:
        self._request(ev.value)
        if self._inits:
            self._after_step()

    def _request(self, i: int) -> None:
        u = self.unit_of[i]
        self.fifo[u].append(i)
        self._try_head(u)

    def _try_head(self, u: int) -> None:
        """One grant to the head of the unit's queue if a slot is free (as ``Resource._trigger_put``)."""
        q = self.fifo[u]
        if q and self.users[u] < self.cap[u]:
            self.users[u] += 1
            self._soon.append((self._granted, q.popleft()))

    def _granted(self, i: int) -> None:
        """The unit is taken: work from the later of the earliest start and the clock."""
        now = self.env.now
        t = self.t_req[i]
        t = now if now > t else t
        start, t = self._work(i, t)
        self._started(i, start)
        if self._ready:
            self._drain()
        self.t_fin[i] = t
        if t > now:
            self._timeout(t, i, self._on_worked)
        else:
            self._worked(i)

    def _on_worked(self, ev) -> None:
        self._worked(ev.value)
        if self._inits:
            self._after_step()

    def _worked(self, i: int) -> None:
        """Natural finish: release the unit (the head is served after what is due now), then the FF gates."""
        u = self.unit_of[i]
        self.users[u] -= 1
        self._soon.append((self._try_head, u))
        if self.ffs[i]:
            self._gates(i, 0)
        elif self.t_fin[i] > self.env.now:  # no FF gate: finished at its natural finish
            self._timeout(self.t_fin[i], i, self._on_finished)
        else:
            self._finished(i)

    def _gates(self, i: int, k: int) -> None:
        ffs = self.ffs[i]
        t = self.t_fin[i]
        while k < len(ffs):
            p, lag = ffs[k]
            v = self.done[p]
            if v is None:
                self.on_done.setdefault(p, []).append(
                    lambda _v, i=i, k=k: self._soon.append((self._gate_open, (i, k))))
                self.t_fin[i] = t
                return
            t = max(t, v + lag)
            k += 1
        self.t_fin[i] = t
        if t > self.env.now:
            self._timeout(t, i, self._on_finished)
        else:
            self._finished(i)

    def _gate_open(self, arg: tuple[int, int]) -> None:
        self._gates(*arg)

    def _on_finished(self, ev) -> None:
        self._finished(ev.value)
        if self._inits:
            self._after_step()

    def _finished(self, i: int) -> None:
        t = self.t_fin[i]
        self.finish[i] = t
        self._member_done(i, t)
        if self._ready:
            self._drain()

    def _after_step(self) -> None:
        """The processes released in this step begin (URGENT: before anything else due now)."""
        inits = self._inits
        while inits:
            self._init(inits.popleft())

    # -- one replication -------------------------------------------------------
    def run(self, dyn_links, prerun) -> None:
        topo = self.topo
        es, start, finish, pending = self.es, self.start, self.finish, self.pending
        for i, links, n_dyn in dyn_links:  # start predecessors that are static have reported
            t = es[i]
            for p, kind, lag in links:
                v = (finish[p] if kind == _FS else start[p] if kind == _SS else 0.0) + lag
                if v > t:
                    t = v
            es[i] = t
            pending[i] = n_dyn
        for g in topo.dyn_groups:  # members done on the as-of date report first, as in the reference
            for j in topo.order[g]:
                if self.fixed[j]:
                    self.group_left[g] -= 1
                    self.group_max[g] = max(self.group_max[g], finish[j])
        for i in prerun:  # what the reference does before its clock starts, in its order
            self._begin(i)
        self._replay = self._draining = False
        self._drain()
        self._after_step()
        env, soon, inits = self.env, self._soon, self._inits
        step, peek = env.step, env.peek
        while True:
            if soon and peek() > env.now:
                fn, arg = soon.popleft()
                fn(arg)
                if inits:
                    self._after_step()
            elif peek() < inf:
                step()
            else:
                break


def _row_pauses(topo: _Topology, ps: list[float], pe: list[float]) -> list[list] | None:
    """The replication's fired pauses per affects pattern (sorted by start, ties in shock order), or None."""
    fired = sorted((ps[j], j, pe[j]) for j in range(len(ps)) if ps[j] < np.inf)
    if not fired:
        return None
    return [[(s, e) for s, j, e in fired if aff[j]] for aff in topo.patterns]


def simulate_rows(model: CompiledModel, draws: Draws, *,
                  only: Iterable[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run one SimPy replication per row of ``draws``; start and finish arrays (rows, items).

    ``only`` (item indices): the caller reads only these items' dates (a branch
    condition); where they are static, only they and their predecessors are
    computed and every other item is NaN. Their dates are those of a full run.
    """
    topo = _topology(model)
    n_rows = draws.work.shape[0]
    p_start, p_end = draws.pause_start.tolist(), draws.pause_end.tolist()
    part = topo.only_steps(tuple(sorted(set(only)))) if only is not None else None
    if part is not None:  # a few static items: their columns only
        cols = part.cols
        waits, works = draws.wait[:, cols].tolist(), draws.work[:, cols].tolist()
        out = []
        for r in range(n_rows):
            pauses = _row_pauses(topo, p_start[r], p_end[r]) if part.paused else None
            start, finish = list(part.fixed_start), list(part.fixed_finish)
            _static_pass(part.steps, waits[r], works[r], pauses, start, finish)
            out.append(start + finish)
        both = np.array(out, dtype=np.float64).reshape(n_rows, 2 * len(cols))
        s_out = np.full((n_rows, model.n_items), np.nan)
        f_out = np.full((n_rows, model.n_items), np.nan)
        s_out[:, cols], f_out[:, cols] = both[:, :len(cols)], both[:, len(cols):]
        return s_out, f_out
    steps, dynamic = topo.static, bool(topo.dyn_items)
    waits, works = draws.wait.tolist(), draws.work.tolist()
    out_s, out_f = [], []
    for r in range(n_rows):
        wait, work = waits[r], works[r]
        pauses = _row_pauses(topo, p_start[r], p_end[r])
        start, finish = list(topo.fixed_start), list(topo.fixed_finish)
        _static_pass(steps, wait, work, pauses, start, finish)
        if dynamic:
            _Replication(topo, wait, work, pauses, start, finish).run(topo.dyn_static_links, topo.prerun)
        out_s.append(start)
        out_f.append(finish)
    shape = (n_rows, model.n_items)
    return (np.array(out_s, dtype=np.float64).reshape(shape), np.array(out_f, dtype=np.float64).reshape(shape))
