"""Working-time arithmetic on a day grid: durations count working days.

A calendar is a 0/1 working flag per whole day from the origin (day 0 = the
as-of date). Working time ``W(t)`` is the number of working days in ``[0, t)``,
linear inside a working day and flat across a non-working one. Advancing a start
by ``w`` working days is ``W^{-1}(W(start) + w)``: the earliest instant at which
that much work has been done. Each method comes twice: vectorised over numpy
arrays (the forward pass, the analyses) and scalar on plain lists (``*1``, used
inside the SimPy processes, where numpy's per-call overhead dominates). The two
are the same arithmetic, checked against each other in tests/test_calendar.py.
Everything else that counts working days (the engine's planned durations, a
scenario's slip, the actuals' replanned duration) builds a calendar here with
:func:`plan_calendar` and calls :func:`planned_work_days` or its methods.

>>> cal = WorkCalendar.from_windows("c", 30, [(2, 3)])  # days 2 and 3 do not work
>>> cal.work_at1(5.0), cal.advance1(1.0, 2.0), float(cal.advance(1.0, 2.0))
(3.0, 5.0, 5.0)

Shock pauses (an epidemic stoppage, a typhoon) are windows ``[s, e)`` in which an
affected item makes no progress and cannot start; ``advance_with_pauses`` applies
them on top of the calendar.
"""

from __future__ import annotations

from bisect import bisect_left
from math import ceil
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from sim.model.clock import day_of, end_of, horizon_days
from sim.model.entities import Item, Plan


@dataclass(frozen=True)
class WorkCalendar:
    """Working days of one calendar over ``[0, horizon_days)``.

    Beyond the horizon every day is a working day (stated, not hidden: the
    horizon is chosen long enough that it is never reached in practice).
    """

    name: str
    working: np.ndarray  # bool per day
    cum: np.ndarray  # float64, len = horizon + 1; cum[k] = working days in [0, k)
    _cum_list: list[float] = field(default_factory=list, repr=False, compare=False)
    _work_list: list[float] = field(default_factory=list, repr=False, compare=False)
    _first_list: list[int] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        # plain lists for the scalar methods used inside SimPy processes (fast indexing)
        object.__setattr__(self, "_cum_list", self.cum.tolist())
        object.__setattr__(self, "_work_list", self.working.astype(float).tolist())
        # smallest k with cum[k] >= j, for whole j: cum counts whole days, so it answers any w via ceil(w)
        total = int(self.cum[-1])
        first = np.searchsorted(self.cum, np.arange(total + 1, dtype=np.float64), side="left")
        object.__setattr__(self, "_first_list", first.tolist())

    @staticmethod
    def from_windows(name: str, horizon_days: int, windows: list[tuple[int, int]]) -> WorkCalendar:
        """Build from non-working windows given as inclusive day ranges ``(first, last)``."""
        working = np.ones(horizon_days, dtype=bool)
        for first, last in windows:
            lo, hi = max(first, 0), min(last + 1, horizon_days)
            if lo < hi:
                working[lo:hi] = False
        cum = np.concatenate([[0.0], np.cumsum(working, dtype=np.float64)])
        return WorkCalendar(name=name, working=working, cum=cum)

    @property
    def horizon(self) -> int:
        return len(self.working)

    def work_at(self, t: np.ndarray | float) -> np.ndarray:
        """Working time ``W(t)`` done in ``[0, t)``; vectorised."""
        t = np.asarray(t, dtype=np.float64)
        h = self.horizon
        tc = np.clip(t, 0.0, h)
        k = np.minimum(np.floor(tc).astype(np.int64), h - 1)
        inside = self.cum[k] + self.working[k] * (tc - k)
        beyond = self.cum[h] + (t - h)  # every day after the horizon works
        return np.where(t >= h, beyond, np.where(t <= 0, np.minimum(t, 0.0), inside))

    def time_at(self, w: np.ndarray | float) -> np.ndarray:
        """Earliest ``t`` with ``W(t) >= w`` (inverse of :meth:`work_at`); vectorised."""
        w = np.asarray(w, dtype=np.float64)
        h = self.horizon
        total = self.cum[h]
        # smallest k with cum[k] >= w; day k-1 is then a working day containing w
        k = np.searchsorted(self.cum, np.clip(w, 0.0, total), side="left")
        k = np.maximum(k, 1)
        inside = (k - 1) + (w - self.cum[k - 1])
        return np.where(w > total, h + (w - total), np.where(w <= 0, np.minimum(w, 0.0), inside))

    def advance(self, start: np.ndarray | float, work_days: np.ndarray | float) -> np.ndarray:
        """Finish of ``work_days`` of work begun at ``start``; zero work finishes at ``start``."""
        start = np.asarray(start, dtype=np.float64)
        work_days = np.asarray(work_days, dtype=np.float64)
        finish = self.time_at(self.work_at(start) + work_days)
        return np.where(work_days > 0, np.maximum(finish, start), start)


    # -- scalar versions (same arithmetic) for the SimPy processes ------------------
    def work_at1(self, t: float) -> float:
        """Scalar :meth:`work_at`."""
        h = len(self._work_list)
        if t <= 0:
            return min(t, 0.0)
        if t >= h:
            return self._cum_list[h] + (t - h)
        k = int(t)
        return self._cum_list[k] + self._work_list[k] * (t - k)

    def time_at1(self, w: float) -> float:
        """Scalar :meth:`time_at`."""
        cum = self._cum_list
        h = len(cum) - 1
        total = cum[h]
        if w > total:
            return h + (w - total)
        if w <= 0:
            return min(w, 0.0)
        k = max(bisect_left(cum, w), 1)
        return (k - 1) + (w - cum[k - 1])

    def advance1(self, start: float, work_days: float) -> float:
        """Scalar :meth:`advance`: :meth:`work_at1` and :meth:`time_at1` inlined (the SimPy engine's
        inner loop), the binary search replaced by the ``ceil`` lookup; the same arithmetic."""
        if work_days <= 0:
            return start
        cum = self._cum_list
        h = len(cum) - 1
        if start <= 0:
            w = min(start, 0.0)
        elif start >= h:
            w = cum[h] + (start - h)
        else:
            k = int(start)
            w = cum[k] + self._work_list[k] * (start - k)
        w = w + work_days
        total = cum[h]
        if w > total:
            f = h + (w - total)
        elif w <= 0:
            f = min(w, 0.0)
        else:
            k = self._first_list[ceil(w)] or 1
            f = (k - 1) + (w - cum[k - 1])
        return f if f > start else start


def plan_calendar(plan: Plan, name: str, *, origin: date | None = None,
                  horizon: int | None = None) -> WorkCalendar:
    """The calendar ``name`` of ``plan`` on a day grid from ``origin`` (default: the as-of date).

    ``horizon`` defaults to the plan's ``horizon_years`` (:func:`sim.model.clock.horizon_days`).
    """
    origin = plan.as_of if origin is None else origin
    horizon = horizon_days(plan.assumption("horizon_years")) if horizon is None else horizon
    windows = [(day_of(w.start, origin), day_of(w.end, origin)) for w in plan.calendar_windows if w.calendar == name]
    return WorkCalendar.from_windows(name, horizon, windows)


def plan_calendars(plan: Plan) -> tuple[list[WorkCalendar], dict[str, int]]:
    """Every calendar a plan uses (sorted by name; ``construction`` always), and each one's index."""
    names = sorted({w.calendar for w in plan.calendar_windows} | {it.calendar for it in plan.items} | {"construction"})
    horizon = horizon_days(plan.assumption("horizon_years"))
    return [plan_calendar(plan, nm, horizon=horizon) for nm in names], {nm: k for k, nm in enumerate(names)}


def planned_work_days(item: Item, cal: WorkCalendar, as_of: date) -> float:
    """The planned working days of a not-started ``item``: its plan start to the end of its plan date.

    ``cal`` is the item's calendar on a grid from ``as_of``; no plan start means the
    as-of date. Days before the as-of date count as working days (the grid starts
    there). ``duration_days`` overrides.
    """
    if item.duration_days is not None:
        return float(item.duration_days)
    begin = 0 if item.plan_start is None else day_of(item.plan_start, as_of)
    return max(float(cal.work_at(end_of(item.plan_finish, as_of)) - cal.work_at(begin)), 0.0)


def advance_with_pauses(
    cal: WorkCalendar,
    start: np.ndarray,
    work_days: np.ndarray,
    pause_start: np.ndarray,
    pause_end: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Advance through the calendar and a set of pauses.

    Parameters
    ----------
    start, work_days : arrays of shape (n,)
        When work may begin and how many working days it needs.
    pause_start, pause_end : arrays of shape (n, k)
        Pause windows ``[s, e)`` per row, sorted by ``s`` along axis 1; a row with
        fewer pauses pads with ``s = e = +inf``.

    Returns
    -------
    actual_start, finish : arrays of shape (n,)
        A start inside a pause moves to the pause's end; work running when a
        pause begins stops and resumes at its end with the work left.
    """
    t = np.asarray(start, dtype=np.float64).copy()
    remaining = np.asarray(work_days, dtype=np.float64).copy()
    actual_start = t.copy()
    began = np.zeros(t.shape, dtype=bool)
    finish = cal.advance(t, remaining)
    for j in range(pause_start.shape[1]):
        s, e = pause_start[:, j], pause_end[:, j]
        # a start due inside the pause waits for its end; work under way when it begins stops
        inside = (s <= t) & (e > t)
        cut = (s > t) & (s < finish)
        if not (inside.any() or cut.any()):
            continue
        actual_start = np.where(inside & ~began, e, actual_start)
        began |= cut
        idx = np.nonzero(cut)[0]
        remaining[idx] -= cal.work_at(s[idx]) - cal.work_at(t[idx])
        moved = np.nonzero(inside | cut)[0]
        t[moved] = e[moved]
        finish[moved] = cal.advance(t[moved], remaining[moved])
    return actual_start, finish


def advance_with_pauses1(
    cal: WorkCalendar, start: float, work_days: float, pauses: list[tuple[float, float]]
) -> tuple[float, float]:
    """Scalar :func:`advance_with_pauses`; ``pauses`` sorted by start."""
    t, remaining, actual_start, began = start, work_days, start, False
    finish = cal.advance1(t, remaining)
    for s, e in pauses:
        if s <= t < e:
            if not began:
                actual_start = e
        elif t < s < finish:
            began = True
            remaining -= cal.work_at1(s) - cal.work_at1(t)
        elif s >= finish:
            break  # this pause and every later one begin after the work is done
        else:
            continue
        t = e
        finish = cal.advance1(t, remaining)
    return actual_start, finish


@dataclass(frozen=True)
class CalendarStack:
    """Several calendars of one horizon side by side, for arrays whose elements use different ones.

    The same arithmetic as :meth:`WorkCalendar.work_at` and :meth:`WorkCalendar.time_at`
    (bit for bit), with a calendar index per element. The binary search of ``time_at``
    becomes a lookup: ``cum`` counts whole working days, so the smallest ``k`` with
    ``cum[k] >= w`` is the smallest with ``cum[k] >= ceil(w)``, tabulated once per
    calendar (``first_day``).
    """

    horizon: int
    cum: np.ndarray  # (calendars, horizon + 1)
    working: np.ndarray  # (calendars, horizon) float 0/1
    total: np.ndarray  # (calendars,) working days within the horizon
    first_day: np.ndarray  # (calendars, max total + 1): smallest k with cum[k] >= j

    @staticmethod
    def of(calendars: tuple[WorkCalendar, ...]) -> CalendarStack:
        h = calendars[0].horizon
        if any(c.horizon != h for c in calendars):
            raise ValueError("calendars of one model share one horizon")
        cum = np.vstack([c.cum for c in calendars])
        total = cum[:, h].copy()
        top = int(total.max())
        first = np.vstack([np.searchsorted(c.cum, np.arange(top + 1, dtype=np.float64), side="left")
                           for c in calendars])
        working = np.vstack([c.working.astype(np.float64) for c in calendars])
        return CalendarStack(h, cum, working, total, first)

    def work_at(self, t: np.ndarray, cal: np.ndarray) -> np.ndarray:
        """:meth:`WorkCalendar.work_at` of ``t`` on calendar ``cal`` (same shape, or broadcastable)."""
        h = self.horizon
        tc = np.minimum(np.maximum(t, 0.0), float(h))
        k = np.minimum(tc.astype(np.int64), h - 1)  # tc >= 0: truncation is the floor
        inside = self.cum.reshape(-1)[k + cal * (h + 1)] + self.working.reshape(-1)[k + cal * h] * (tc - k)
        beyond = self.total[cal] + (t - h)
        return np.where(t >= h, beyond, np.where(t <= 0, np.minimum(t, 0.0), inside))

    def time_at(self, w: np.ndarray, cal: np.ndarray) -> np.ndarray:
        """:meth:`WorkCalendar.time_at` of ``w`` on calendar ``cal``."""
        h = self.horizon
        total = self.total[cal]
        j = np.ceil(np.minimum(np.maximum(w, 0.0), total)).astype(np.int64)
        k = np.maximum(self.first_day.reshape(-1)[j + cal * self.first_day.shape[1]], 1)
        inside = (k - 1) + (w - self.cum.reshape(-1)[k - 1 + cal * (h + 1)])
        return np.where(w > total, h + (w - total), np.where(w <= 0, np.minimum(w, 0.0), inside))

    def advance(self, start: np.ndarray, work_days: np.ndarray, cal: np.ndarray) -> np.ndarray:
        """:meth:`WorkCalendar.advance` with a calendar per element."""
        finish = self.time_at(self.work_at(start, cal) + work_days, cal)
        return np.where(work_days > 0, np.maximum(finish, start), start)


def advance_with_pauses_stacked(
    stack: CalendarStack,
    cal: np.ndarray,
    start: np.ndarray,
    work_days: np.ndarray,
    pause_start: np.ndarray,
    pause_end: np.ndarray,
    *,
    finish: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`advance_with_pauses` on flat arrays whose elements each have a calendar.

    ``start``, ``work_days`` and ``cal`` have shape (m,); ``pause_start`` and
    ``pause_end`` (m, k), each row in increasing order of its finite starts, with
    ``+inf`` for pauses that do not apply (anywhere in the row: they change nothing).
    ``finish``, if given, is the pause-free finish already computed.
    """
    t = start.copy()
    remaining = work_days.copy()
    actual_start = t.copy()
    began = np.zeros(t.shape, dtype=bool)
    finish = stack.advance(t, remaining, cal) if finish is None else finish.copy()
    for j in range(pause_start.shape[1]):
        live = np.flatnonzero(pause_start[:, j] < np.inf)  # only a pause that applies can move anything
        s, e, tl = pause_start[live, j], pause_end[live, j], t[live]
        inside = (s <= tl) & (e > tl)
        cut = (s > tl) & (s < finish[live])
        moved_l = inside | cut
        if not moved_l.any():
            continue
        sw = live[inside & ~began[live]]
        actual_start[sw] = pause_end[sw, j]
        idx = live[cut]
        began[idx] = True
        remaining[idx] -= stack.work_at(pause_start[idx, j], cal[idx]) - stack.work_at(t[idx], cal[idx])
        moved = live[moved_l]
        t[moved] = pause_end[moved, j]
        finish[moved] = stack.advance(t[moved], remaining[moved], cal[moved])
    return actual_start, finish
