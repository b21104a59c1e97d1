"""Property tests (hypothesis) on random small networks.

Each example is a DAG of 3-8 items listed in a random file order, with FS/SS/FF
links pointing forward in a random topological order, random non-negative lags,
random durations and multipliers, pre-construction waits, and sometimes
non-working windows and a shock pause. Properties:

* every start respects its wait and its FS/SS constraints, every finish its FF
  constraints and its own work; without a pause the schedule is exactly the
  earliest one (no slack is invented);
* the same seed gives identical records;
* scaling multipliers up never makes any start or finish earlier;
* the SimPy processes equal the vectorised forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from planfactory import dist, float32_step, item, link, plan, shock, window

from sim.engine.compiled import compile_plan
from sim.engine.forward import forward_pass
from sim.engine.processes import simulate_rows
from sim.engine.replicate import Engine, run_chunk
from sim.engine.sampling import draw_chunk
from sim.model.enums import LinkType

TOL = 1e-9  # days
ROWS = 200  # replications checked per example (of a chunk of 1000)
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])

MULTS = [(1.0, 1.0, 1.0), (0.8, 1.0, 1.5), (0.5, 1.2, 2.0), (1.0, 1.0, 3.0)]


@dataclass
class Net:
    """A random network, kept as plain data so it can be re-built with other multipliers."""

    ids: list[str]  # file order
    days: dict[str, int]
    mult: dict[str, tuple[float, float, float]]
    wait: dict[str, int]
    links: list[tuple[str, str, str, float]]
    windows: list[tuple[int, int]]
    pause: tuple[int, int, float] | None  # start day, length, probability

    def plan(self, scale: dict[str, float] | None = None):
        scale = scale or {}

        def m(iid):
            lo, mode, hi = (scale.get(iid, 1.0) * v for v in self.mult[iid])
            return dist("fixed", lo) if lo == hi else dist("triangular", lo, mode, hi)

        items = [item(i, self.days[i], mult=m(i), start_wait=self.wait[i] or None) for i in self.ids]
        shocks = []
        if self.pause is not None:
            s, length, prob = self.pause
            shocks = [shock("S", s, dist("fixed", length), probability=prob)]
        return plan(items, [link(*ln) for ln in self.links], windows=[window(a, b) for a, b in self.windows],
                    shocks=shocks)


@st.composite
def nets(draw) -> Net:
    n = draw(st.integers(3, 8))
    topo = [f"T{k}" for k in range(n)]  # topological order
    ids = draw(st.permutations(topo))  # file order
    days = {i: draw(st.integers(0, 30)) for i in topo}
    mult = {i: draw(st.sampled_from(MULTS)) for i in topo}
    wait = {i: draw(st.sampled_from([0, 0, 3, 12, 25])) for i in topo}
    links = []
    for b in range(1, n):
        for a in range(b):
            if draw(st.booleans()) and draw(st.booleans()):
                typ = draw(st.sampled_from(["FS", "SS", "FF"]))
                lag = draw(st.sampled_from([0.0, 0.0, 1.0, 2.5, 7.0]))
                links.append((topo[a], topo[b], typ, lag))
    windows = []
    for _ in range(draw(st.integers(0, 2))):
        first = draw(st.integers(0, 80))
        windows.append((first, first + draw(st.integers(0, 9))))
    pause = None
    if draw(st.booleans()):
        pause = (draw(st.integers(0, 60)), draw(st.integers(1, 20)), draw(st.sampled_from([1.0, 0.5])))
    return Net(list(ids), days, mult, wait, links, windows, pause)


def _rows(m, seed: int):
    return draw_chunk(m, seed=seed, chunk=0).rows(slice(0, ROWS))


@settings(max_examples=300, **SETTINGS)
@given(net=nets(), seed=st.integers(0, 2**32 - 1))
def test_starts_and_finishes_respect_every_constraint(net, seed):
    m = compile_plan(net.plan())
    d = _rows(m, seed)
    start, finish = forward_pass(m, d)
    col = m.index
    es = d.wait.copy()  # earliest start from links and waits
    ff = np.full_like(finish, -np.inf)  # FF holds
    for a, b, typ, lag in net.links:
        ia, ib = col[a], col[b]
        if typ == "FS":
            np.maximum(es[:, ib], finish[:, ia] + lag, out=es[:, ib])
        elif typ == "SS":
            np.maximum(es[:, ib], start[:, ia] + lag, out=es[:, ib])
        else:
            np.maximum(ff[:, ib], finish[:, ia] + lag, out=ff[:, ib])
    assert (start >= es - TOL).all(), "a start before its wait or an FS/SS predecessor allows"
    assert (finish >= ff - TOL).all(), "a finish before an FF predecessor allows"
    assert (finish >= start - TOL).all(), "a finish before its start"
    cal = m.calendars[0]
    natural = np.column_stack([cal.advance(start[:, k], d.work[:, k]) for k in range(m.n_items)])
    assert (finish >= natural - TOL).all(), "a finish before its own work can be done"
    if net.pause is None:
        # the earliest schedule exactly: nothing waits without a reason
        np.testing.assert_allclose(start, es, rtol=0, atol=TOL)
        np.testing.assert_allclose(finish, np.maximum(natural, ff), rtol=0, atol=TOL)
    else:
        # a start moves only to the end of a pause covering its earliest start
        ps, pe = d.pause_start[:, :1], d.pause_end[:, :1]
        moved = ~np.isclose(start, es, rtol=0, atol=TOL)
        assert np.allclose(start[moved], np.broadcast_to(pe, start.shape)[moved], rtol=0, atol=TOL)
        covered = (ps <= es) & (es < pe)
        assert (covered | ~moved).all()


@settings(max_examples=30, **SETTINGS)
@given(net=nets(), seed=st.integers(0, 2**32 - 1))
def test_same_seed_gives_identical_records(net, seed):
    m = compile_plan(net.plan())
    a = run_chunk(m, seed=seed, chunk=2, rows=300).to_table(m).to_pandas()
    b = run_chunk(compile_plan(net.plan()), seed=seed, chunk=2, rows=300).to_table(m).to_pandas()
    pd.testing.assert_frame_equal(a, b, check_exact=True)  # NaN (a shock that did not fire) equals NaN


@settings(max_examples=200, **SETTINGS)
@given(net=nets(), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_longer_durations_never_make_a_finish_earlier(net, seed, data):
    factor = data.draw(st.sampled_from([1.05, 1.3, 2.0]), label="factor")
    scaled = data.draw(st.lists(st.sampled_from(net.ids), min_size=1, unique=True), label="scaled items")
    m0 = compile_plan(net.plan())
    m1 = compile_plan(net.plan({i: factor for i in scaled}))
    d0, d1 = _rows(m0, seed), _rows(m1, seed)
    k = [m0.index[i] for i in scaled]
    assert (d1.multiplier[:, k] >= d0.multiplier[:, k]).all()  # common random numbers
    s0, f0 = forward_pass(m0, d0)
    s1, f1 = forward_pass(m1, d1)
    assert (s1 >= s0 - TOL).all(), "a longer duration made a start earlier"
    assert (f1 >= f0 - TOL).all(), "a longer duration made a finish earlier"


@settings(max_examples=200, **SETTINGS)
@given(net=nets(), seed=st.integers(0, 2**32 - 1))
def test_simpy_equals_forward_pass(net, seed):
    m = compile_plan(net.plan())
    d = draw_chunk(m, seed=seed, chunk=0).rows(slice(0, 50))
    s_v, f_v = forward_pass(m, d)
    s_s, f_s = simulate_rows(m, d)
    np.testing.assert_allclose(s_s, s_v, rtol=0, atol=TOL)
    np.testing.assert_allclose(f_s, f_v, rtol=0, atol=TOL)


@settings(max_examples=25, **SETTINGS)
@given(net=nets(), seed=st.integers(0, 2**32 - 1))
def test_engines_agree_through_run_chunk(net, seed):
    m = compile_plan(net.plan())
    a = run_chunk(m, seed=seed, chunk=0, rows=100, engine=Engine.SIMPY)
    b = run_chunk(m, seed=seed, chunk=0, rows=100, engine=Engine.VECTOR)
    np.testing.assert_allclose(a.finish, b.finish, rtol=0, atol=float32_step(a.finish, b.finish))
    np.testing.assert_array_equal(a.multiplier, b.multiplier)


def test_strategy_covers_every_link_type():
    """The generator reaches FS, SS and FF links, windows and pauses (not a vacuous property)."""
    seen: set[str] = set()

    @settings(max_examples=60, database=None, **SETTINGS)
    @given(net=nets())
    def collect(net):
        seen.update(t for *_, t, _ in net.links)
        if net.windows:
            seen.add("window")
        if net.pause:
            seen.add("pause")

    collect()
    assert {str(LinkType.FS), str(LinkType.SS), str(LinkType.FF), "window", "pause"} <= seen
