"""The level-at-a-time forward pass equals the item-by-item pass bit for bit.

:func:`sim.engine.forward.forward_pass` is the fast path; ``forward_pass_by_item``
is the plain loop it replaces (kept as its oracle). Both are checked with exact
equality (not a tolerance): on the shipped plan (shocks, two calendars, SYNC
groups, waits) and on random small networks with several overlapping pauses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from planfactory import dist, item, link, plan, shock, window

from sim.model.calendar import CalendarStack, WorkCalendar
from sim.engine.compiled import compile_plan
from sim.engine.forward import _levels, forward_pass, forward_pass_by_item
from sim.engine.sampling import draw_chunk
from sim.model.load import load_plan

PARAMS = Path(__file__).resolve().parents[1] / "params"


def test_shipped_plan_level_pass_equals_item_pass():
    m = compile_plan(load_plan(PARAMS))
    assert _levels(m) is not None and len(_levels(m).levels) >= 2
    for chunk in (0, 7):
        d = draw_chunk(m, seed=11, chunk=chunk)
        assert np.isfinite(d.pause_start).any()  # shocks fire in this chunk: pauses are exercised
        s_new, f_new = forward_pass(m, d)
        s_old, f_old = forward_pass_by_item(m, d)
        np.testing.assert_array_equal(s_new, s_old)
        np.testing.assert_array_equal(f_new, f_old)


def test_calendar_stack_is_each_calendar_bit_for_bit():
    rng = np.random.default_rng(3)
    cals = (WorkCalendar.from_windows("a", 400, [(10, 19), (100, 130)]),
            WorkCalendar.from_windows("b", 400, [(0, 3), (200, 200), (390, 399)]))
    stack = CalendarStack.of(cals)
    t = np.concatenate([rng.uniform(-5, 420, 3000), np.arange(-2, 402, 0.5)])
    which = rng.integers(0, 2, t.size)
    for k, cal in enumerate(cals):
        sel = which == k
        np.testing.assert_array_equal(stack.work_at(t[sel], which[sel]), cal.work_at(t[sel]))
        np.testing.assert_array_equal(stack.time_at(t[sel], which[sel]), cal.time_at(t[sel]))
        w = rng.uniform(0, 30, sel.sum())
        np.testing.assert_array_equal(stack.advance(t[sel], w, which[sel]), cal.advance(t[sel], w))


@st.composite
def networks(draw):
    n = draw(st.integers(2, 7))
    ids = [f"T{k}" for k in range(n)]
    items = [item(i, draw(st.integers(0, 40)), mult=dist("triangular", 0.6, 1.0, 2.0),
                  start_wait=draw(st.sampled_from([None, 4, 20]))) for i in ids]
    links = []
    for b in range(1, n):
        for a in range(b):
            if draw(st.integers(0, 2)) == 0:
                links.append(link(ids[a], ids[b], draw(st.sampled_from(["FS", "SS", "FF"])),
                                  draw(st.sampled_from([0.0, 1.5, 6.0]))))
    shocks = [shock(f"S{j}", (s0 := draw(st.integers(0, 60))), dist("fixed", draw(st.integers(1, 15))),
                    end_day=s0 + draw(st.sampled_from([0, 25])),
                    probability=draw(st.sampled_from([1.0, 0.6])))
              for j in range(draw(st.integers(0, 3)))]
    windows = [window(w, w + draw(st.integers(0, 6))) for w in draw(st.lists(st.integers(0, 70), max_size=2))]
    return plan(items, links, windows=windows, shocks=shocks)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=networks(), seed=st.integers(0, 2**32 - 1))
def test_random_networks_level_pass_equals_item_pass(p, seed):
    m = compile_plan(p)
    d = draw_chunk(m, seed=seed, chunk=0).rows(slice(0, 300))
    s_new, f_new = forward_pass(m, d)
    s_old, f_old = forward_pass_by_item(m, d)
    np.testing.assert_array_equal(s_new, s_old)
    np.testing.assert_array_equal(f_new, f_old)


def test_zero_work_start_inside_a_pause_moves_to_its_end():
    """A milestone (no work) due inside a pause starts and finishes when the pause ends, in both passes."""
    p = plan([item("A", 0, start_wait=10), item("B", 5)], [link("A", "B", "FS")],
             shocks=[shock("S", 5, dist("fixed", 10))])
    m = compile_plan(p)
    d = draw_chunk(m, seed=1, chunk=0).rows(slice(0, 5))
    for s, f in (forward_pass(m, d), forward_pass_by_item(m, d)):
        np.testing.assert_array_equal(s[:, m.index["A"]], 15.0)
        np.testing.assert_array_equal(f[:, m.index["A"]], 15.0)


def test_matrix_transforms_equal_one_quantity_at_a_time():
    """ppf_columns / ppf_elements (used by draw_chunk) equal ppf applied one quantity at a time."""
    from sim.engine.distributions import ppf, ppf_columns, ppf_elements

    ds = (dist("lognormal", 1.0, 1.6, floor=0.95), dist("triangular", 2.0, 5.0, 11.0), dist("pert", 1.0, 2.0, 6.0),
          dist("fixed", 3.0), dist("uniform", 2.0, 7.0), dist("lognormal", 1.3, 2.2))
    u = np.clip(np.random.default_rng(5).random((500, len(ds))), 1e-12, 1 - 1e-12)
    one_by_one = np.column_stack([ppf(d, u[:, j]) for j, d in enumerate(ds)])
    np.testing.assert_array_equal(ppf_columns(ds, u), one_by_one)
    rows, cols = np.nonzero(u > 0.3)
    np.testing.assert_array_equal(ppf_elements(ds, u[rows, cols], cols), one_by_one[rows, cols])
