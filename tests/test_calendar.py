"""Working-time arithmetic (sim.model.calendar) against an independent count of dates.

The calendar is the one implementation of working time: the engine's planned
durations, a scenario's slip and the actuals' replanned durations all call it,
so it is checked here once, against enumeration of the calendar's dates.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model.calendar import WorkCalendar, plan_calendar, planned_work_days
from sim.model.clock import day_of, end_of
from sim.model.enums import Status
from sim.model.load import load_plan
from conftest import MINI_PARAMS as FIXTURE


windows = st.lists(st.tuples(st.integers(-20, 120), st.integers(0, 30)).map(lambda a: (a[0], a[0] + a[1])),
                   max_size=5)
times = st.floats(-30.0, 200.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(windows, st.lists(times, min_size=1, max_size=20), st.floats(0.0, 80.0))
def test_the_scalar_methods_are_the_vector_ones(ws, ts, work):
    cal = WorkCalendar.from_windows("c", 150, ws)
    t = np.array(ts)
    assert [cal.work_at1(x) for x in ts] == cal.work_at(t).tolist()
    w = cal.work_at(t)
    assert [cal.time_at1(x) for x in w.tolist()] == cal.time_at(w).tolist()
    assert [cal.advance1(x, work) for x in ts] == cal.advance(t, np.full(t.shape, work)).tolist()


@given(windows, st.integers(0, 149), st.integers(0, 149))
def test_work_between_whole_days_counts_the_working_days(ws, a, b):
    a, b = min(a, b), max(a, b)
    cal = WorkCalendar.from_windows("c", 150, ws)
    stopped = {d for lo, hi in ws for d in range(lo, hi + 1)}
    assert cal.work_at1(b) - cal.work_at1(a) == sum(1 for d in range(a, b) if d not in stopped)


def _working_dates(plan, calendar: str, first: date, last: date) -> int:
    """Dates in [first, last] outside every non-working window of ``calendar`` (enumeration)."""
    off = [(w.start, w.end) for w in plan.calendar_windows if w.calendar == calendar]
    n, d = 0, first
    while d <= last:
        n += not any(s <= d <= e for s, e in off)
        d += timedelta(days=1)
    return n


@pytest.fixture(scope="module")
def plan():
    return load_plan(FIXTURE)


def test_planned_work_days_counts_plan_start_to_plan_date(plan):
    checked = 0
    for it in plan.items:
        if it.status is not Status.NOT_STARTED or it.duration_days is not None:
            continue
        first = it.plan_start or plan.as_of
        if first < plan.as_of:
            continue
        cal = plan_calendar(plan, it.calendar)
        assert planned_work_days(it, cal, plan.as_of) == _working_dates(plan, it.calendar, first, it.plan_finish)
        checked += 1
    assert checked >= 3


def test_planned_work_days_on_a_grid_from_another_origin(plan):
    """The actuals' replanned duration: a calendar whose grid starts at the item's (late) start."""
    it = next(i for i in plan.items if i.status is Status.NOT_STARTED and i.duration_days is None)
    began = date(2020, 1, 1)  # before the Spring Festival 2020 stoppage
    moved = dataclasses.replace(it, plan_start=began)
    cal = plan_calendar(plan, it.calendar, origin=began)
    assert planned_work_days(moved, cal, began) == _working_dates(plan, it.calendar, began, it.plan_finish)


def test_duration_days_overrides_the_calendar(plan):
    it = dataclasses.replace(plan.items[0], status=Status.NOT_STARTED, duration_days=12.5)
    assert planned_work_days(it, plan_calendar(plan, it.calendar), plan.as_of) == 12.5


def test_days_before_the_grid_count_as_working_days(plan):
    cal = plan_calendar(plan, "construction")
    d = plan.as_of - timedelta(days=40)
    assert cal.work_at1(day_of(d, plan.as_of)) == -40.0
    assert end_of(plan.as_of, plan.as_of) == 1
