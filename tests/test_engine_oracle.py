"""Oracle: the SimPy processes equal the independent vectorised forward pass, row by row.

the SimPy processes are the reference semantics; the forward pass
is written independently from the same compiled model and, without resource
contention, must give the same schedule for every replication. The model here
has every link type (FS, SS, FF, SYNC) with lags, two calendars with non-working
windows, a certain and an uncertain shock, risks of both modes and both phases,
pre-construction waits and a common-cause factor; no capacity limits.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from planfactory import Factor, discrete, float32_step, dist, item, link, plan, risk, shock, window

from sim.engine.compiled import compile_plan
from sim.engine.forward import forward_pass
from sim.engine.processes import simulate_rows
from sim.engine.replicate import Engine, run_chunk
from sim.engine.sampling import draw_chunk

SEED = 7
ATOL = 1e-9  # days; both engines use the same calendar arithmetic


def _items(random: bool):
    def m(*params, family="triangular"):
        return dist(family, *params) if random else dist("fixed", 1.0)

    outdoor = dict(calendar="outdoor")
    return [
        item("A", 40, mult=m(0.8, 1.0, 1.6)),
        item("B", 25, mult=m(1.0, 1.2, family="lognormal"), start_wait=10),
        item("C", 30, mult=m(0.9, 1.0, 1.3)),
        dataclasses.replace(item("D", 18, mult=m(0.7, 1.0, 1.5)), **outdoor),
        item("E", 30, mult=discrete([0.8, 1.2, 1.8], [0.5, 0.3, 0.2]) if random else dist("fixed", 1.0)),
        item("F", 22, mult=m(0.95, 1.0, 1.4)),
        item("G", 0),  # milestone
        dataclasses.replace(item("H", 35, mult=m(0.8, 1.1, 1.7), start_wait=60), **outdoor),
        item("I", 9, mult=m(1.0, 1.0, 2.0)),
        item("J", 14, mult=m(0.8, 1.0, 1.2, family="pert")),
        item("K", 50, mult=m(0.9, 1.0, 1.1)),
    ]


LINKS = [
    link("A", "C", "FS", 3),
    link("B", "C", "SS", 5),
    link("A", "D", "SS", 7),
    link("C", "E", "SS", 0),
    link("C", "E", "FF", 4),
    link("D", "F", "FS", 0),
    link("E", "F", "SYNC"),
    link("F", "G", "FS", 2),
    link("I", "G", "FS", 0),
    link("G", "H", "FS", 1),
    link("B", "J", "FF", 0),
    link("J", "K", "SYNC"),
    link("K", "I", "SS", 2.5),
]


def oracle_plan(random: bool):
    return plan(
        _items(random),
        LINKS,
        windows=[window(20, 26), window(85, 90), window(50, 53, calendar="outdoor"), window(120, 140, "outdoor")],
        shocks=[
            shock("COVID", 38, dist("triangular", 20, 30, 60) if random else dist("fixed", 30)),
            shock("TYPHOON", 60, dist("uniform", 3, 12), end_day=150, probability=0.5, affects=("D", "H", "K")),
        ],
        risks=[
            risk("R_EACH", 0.3, dist("triangular", 5, 10, 30), ["A", "C", "H"]),
            risk("R_COMMON", 0.2, dist("fixed", 15), ["D", "F"], mode="common"),
            risk("R_START", 0.4, dist("uniform", 10, 40), ["B", "I"], phase="start"),
            risk("R_OPP", 0.2, dist("fixed", -4), ["K"]),  # an opportunity
        ],
        factors=[Factor("CITY", 0.3, ("all",)), Factor("PAIR", 0.4, ("A", "C"))] if random else [],
    )


@pytest.mark.parametrize("random", [False, True], ids=["fixed-durations", "random-durations"])
def test_simpy_equals_forward_pass_row_by_row(random):
    m = compile_plan(oracle_plan(random))
    assert not m.has_contention()
    for chunk in range(2):
        d = draw_chunk(m, seed=SEED, chunk=chunk)
        s_v, f_v = forward_pass(m, d)
        s_s, f_s = simulate_rows(m, d)
        assert np.isfinite(f_s).all() and np.isfinite(s_s).all(), "SimPy left an item unscheduled"
        np.testing.assert_allclose(s_s, s_v, rtol=0, atol=ATOL, err_msg=f"starts, chunk {chunk}")
        np.testing.assert_allclose(f_s, f_v, rtol=0, atol=ATOL, err_msg=f"finishes, chunk {chunk}")
        # integer-valued inputs: no rounding anywhere, so the engines agree to the bit
        if not random:
            np.testing.assert_array_equal(s_s, s_v)
            np.testing.assert_array_equal(f_s, f_v)


def test_oracle_model_exercises_what_it_claims():
    """Guard against a vacuous oracle: pauses, risks, gates and links all bite in some rows, not all."""
    m = compile_plan(oracle_plan(True))
    d = draw_chunk(m, seed=SEED, chunk=0)
    s, f = forward_pass(m, d)
    col = m.index

    def sometimes(mask) -> bool:
        return bool(mask.any() and not mask.all())

    assert all(sometimes(d.risk_fired[:, r]) for r in range(d.risk_fired.shape[1]))
    assert sometimes(np.isfinite(d.pause_start[:, 1]))
    # A (at least 32 working days from day 0, window 20-26) is always running when COVID stops work
    assert (f[:, col["A"]] > d.pause_end[:, 0]).all()
    assert sometimes(f[:, col["D"]] > d.pause_end[:, 0])
    assert sometimes(np.isclose(f[:, col["E"]], f[:, col["C"]] + 4))  # FF gate binds
    assert np.isclose(s[:, col["C"]], f[:, col["A"]] + 3).all()  # FS binds over SS
    assert sometimes(np.isclose(s[:, col["I"]], s[:, col["K"]] + 2.5))  # SS binds over the start risk
    np.testing.assert_array_equal(f[:, col["E"]], f[:, col["F"]])  # SYNC
    np.testing.assert_array_equal(f[:, col["J"]], f[:, col["K"]])  # SYNC
    assert sometimes(f[:, col["E"]] > s[:, col["E"]] + 30 * d.multiplier[:, col["E"]] + 1e-6)


@pytest.mark.parametrize("random", [False, True], ids=["fixed-durations", "random-durations"])
def test_run_chunk_engines_give_identical_records(random):
    m = compile_plan(oracle_plan(random))
    a = run_chunk(m, seed=SEED, chunk=3, engine=Engine.SIMPY)
    b = run_chunk(m, seed=SEED, chunk=3, engine=Engine.VECTOR)
    for name in ("start", "finish", "achieved", "met", "kpi", "multiplier", "risk", "shock_start"):
        x, y = getattr(a, name), getattr(b, name)
        np.testing.assert_allclose(x, y, rtol=0, atol=float32_step(x, y), err_msg=name)


def test_simpy_times_do_not_pick_up_clock_rounding():
    """processes.py promises times from calendar arithmetic only, never from env.now.

    B's start is max(A finish + 0, C start + 2.9) = 2.9; its process is created at
    env.now = 0.7 and waits timeout(2.9 - 0.7); SimPy's clock then reads
    0.7 + 2.2 = 2.9000000000000004, which `max(t, env.now)` records.
    """
    p = plan([item("A", 0.7), item("C", 1), item("B", 1)], [link("A", "B", "FS", 0), link("C", "B", "SS", 2.9)])
    m = compile_plan(p)
    d = draw_chunk(m, seed=SEED, chunk=0).rows(slice(0, 1))
    s_v, f_v = forward_pass(m, d)
    s_s, f_s = simulate_rows(m, d)
    assert s_v[0, m.index["B"]] == 2.9
    np.testing.assert_array_equal(s_s, s_v)
    np.testing.assert_array_equal(f_s, f_v)
