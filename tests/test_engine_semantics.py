"""Zero-variance semantics: exact starts and finishes of small models.

Every multiplier is fixed, so each replication of a chunk is the same schedule;
the expected days are worked out by hand in each test. Both schedule engines
(SimPy processes and the vectorised forward pass) must give them exactly.

Clock reminder: day 0 is the as-of date; a finish at day f is the end of day
f - 1; a task of w working days begun at s on a calendar without windows
finishes at s + w.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pytest
from planfactory import (
    Kpi,
    KpiBoost,
    KpiKind,
    Target,
    TargetRule,
    counter,
    day,
    dist,
    item,
    link,
    plan,
    risk,
    shock,
    target_by,
    window,
)

from sim.engine.compiled import compile_plan
from sim.model.clock import end_of
from sim.engine.forward import forward_pass
from sim.engine.processes import simulate_rows
from sim.engine.replicate import Engine, choose_engine, run_chunk
from sim.engine.sampling import draw_chunk
from sim.model.enums import Status

SEED = 11
ROWS = 4  # fixed durations: every row is the same schedule; a few rows check that


def schedule(p) -> dict[str, tuple[float, float]]:
    """(start, finish) per item id; asserts both engines agree exactly on every row."""
    m = compile_plan(p)
    draws = draw_chunk(m, seed=SEED, chunk=0).rows(slice(0, ROWS))
    start_v, finish_v = forward_pass(m, draws)
    start_s, finish_s = simulate_rows(m, draws)
    np.testing.assert_array_equal(start_s, start_v, err_msg="SimPy vs forward pass: starts")
    np.testing.assert_array_equal(finish_s, finish_v, err_msg="SimPy vs forward pass: finishes")
    # zero variance: every row is the same schedule
    np.testing.assert_array_equal(start_v, np.broadcast_to(start_v[:1], start_v.shape))
    np.testing.assert_array_equal(finish_v, np.broadcast_to(finish_v[:1], finish_v.shape))
    return {iid: (float(start_v[0, k]), float(finish_v[0, k])) for k, iid in enumerate(m.item_ids)}


# -- networks ----------------------------------------------------------------------
def test_chain():
    got = schedule(plan([item("A", 10), item("B", 5), item("C", 3)], [link("A", "B"), link("B", "C")]))
    assert got == {"A": (0, 10), "B": (10, 15), "C": (15, 18)}


def test_chain_listed_out_of_order():
    """File order is not topological order: the schedule must not depend on it."""
    got = schedule(plan([item("C", 3), item("B", 5), item("A", 10)], [link("B", "C"), link("A", "B")]))
    assert got == {"A": (0, 10), "B": (10, 15), "C": (15, 18)}


def test_fork():
    got = schedule(
        plan([item("A", 4), item("B", 6), item("C", 2)], [link("A", "B", "FS", 1), link("A", "C", "FS", 3)])
    )
    assert got == {"A": (0, 4), "B": (5, 11), "C": (7, 9)}


def test_join_waits_for_the_latest_predecessor():
    got = schedule(
        plan(
            [item("A", 4), item("B", 9), item("C", 2), item("J", 5)],
            [link("A", "J"), link("B", "J", "FS", 2), link("C", "J", "FS", 1)],
        )
    )
    assert got["J"] == (11, 16)  # max(4, 9 + 2, 2 + 1)


def test_zero_duration_milestone_sits_at_the_join():
    got = schedule(plan([item("A", 4), item("B", 7), item("M", 0)], [link("A", "M"), link("B", "M")]))
    assert got["M"] == (7, 7)


@pytest.mark.parametrize(
    ("typ", "lag", "expected_b"),
    [
        ("FS", 0, (10, 14)),
        ("FS", 3, (13, 17)),
        ("SS", 0, (0, 4)),
        ("SS", 6, (6, 10)),
        ("FF", 0, (0, 10)),  # B's own 4 days end at 4; held to A's finish
        ("FF", 5, (0, 15)),
    ],
)
def test_link_types_with_lags(typ, lag, expected_b):
    got = schedule(plan([item("A", 10), item("B", 4)], [link("A", "B", typ, lag)]))
    assert got == {"A": (0, 10), "B": expected_b}


def test_ff_does_not_hold_a_longer_successor():
    got = schedule(plan([item("A", 5), item("B", 12)], [link("A", "B", "FF", 2)]))
    assert got["B"] == (0, 12)  # natural finish 12 > 5 + 2


def test_ss_follows_the_predecessors_actual_start():
    got = schedule(
        plan([item("P", 7), item("A", 10), item("B", 4)], [link("P", "A"), link("A", "B", "SS", 2)])
    )
    assert got == {"P": (0, 7), "A": (7, 17), "B": (9, 13)}


def test_combined_fs_and_ss_constraints_take_the_later():
    got = schedule(
        plan(
            [item("A", 10), item("B", 3), item("C", 4)],
            [link("A", "C", "SS", 5), link("B", "C", "FS", 0)],
        )
    )
    assert got["C"] == (5, 9)


# -- SYNC (同步建成) and gates --------------------------------------------------------
def test_sync_pair_finishes_together_at_the_later():
    got = schedule(plan([item("A", 10), item("B", 6)], [link("A", "B", "SYNC")]))
    assert got == {"A": (0, 10), "B": (0, 10)}


def test_sync_group_of_three_and_its_successors():
    got = schedule(
        plan(
            [item("A", 10), item("B", 6), item("C", 13), item("D", 2), item("E", 3)],
            [link("A", "B", "SYNC"), link("C", "B", "SYNC"), link("B", "D", "FS", 1), link("A", "E", "SS", 4)],
        )
    )
    assert got["A"] == got["B"] == got["C"] == (0, 13)
    assert got["D"] == (14, 16)  # after the *group* finish, not B's own 6
    assert got["E"] == (4, 7)  # SS follows A's start, unaffected by the sync


def test_sync_member_delayed_by_its_own_predecessor():
    got = schedule(
        plan([item("P", 8), item("A", 5), item("B", 6)], [link("P", "A"), link("A", "B", "SYNC")])
    )
    assert got == {"P": (0, 8), "A": (8, 13), "B": (0, 13)}


def test_gated_finish_held_by_a_long_enabling_item():
    """Bus re-routing (10 days) cannot complete before the rail line (100 days) + 5."""
    got = schedule(plan([item("RAIL", 100), item("BUS", 10)], [link("RAIL", "BUS", "FF", 5)]))
    assert got == {"RAIL": (0, 100), "BUS": (0, 105)}


def test_gated_finish_propagates_to_fs_successors():
    got = schedule(
        plan(
            [item("RAIL", 100), item("BUS", 10), item("NEXT", 3)],
            [link("RAIL", "BUS", "FF", 5), link("BUS", "NEXT")],
        )
    )
    assert got["NEXT"] == (105, 108)


# -- pre-construction wait --------------------------------------------------------------
def test_start_wait_delays_the_start():
    got = schedule(plan([item("A", 5, start_wait=20)]))
    assert got["A"] == (20, 25)


def test_start_wait_and_predecessor_take_the_later():
    got = schedule(
        plan(
            [item("P", 30), item("A", 5, start_wait=20), item("B", 5, start_wait=40)],
            [link("P", "A"), link("P", "B")],
        )
    )
    assert got["A"] == (30, 35)
    assert got["B"] == (40, 45)


# -- calendars --------------------------------------------------------------------------
def test_task_straddling_a_window_is_extended_by_its_days():
    got = schedule(plan([item("A", 10)], windows=[window(5, 7)]))
    assert got["A"] == (0, 13)  # days 5, 6, 7 do not count


def test_task_ending_just_before_a_window_is_not_extended():
    got = schedule(plan([item("A", 5), item("B", 6)], windows=[window(5, 7)]))
    assert got["A"] == (0, 5)
    assert got["B"] == (0, 9)  # its 6th working day is day 8


def test_task_after_a_window_is_unaffected():
    got = schedule(plan([item("A", 5, start_wait=10)], windows=[window(5, 7)]))
    assert got["A"] == (10, 15)


def test_two_windows_both_count():
    got = schedule(plan([item("A", 20)], windows=[window(3, 4), window(10, 14)]))
    assert got["A"] == (0, 27)


def test_task_due_to_start_inside_a_window_works_after_it():
    got = schedule(plan([item("A", 2, start_wait=6)], windows=[window(5, 7)]))
    assert got["A"][1] == 10  # works days 8 and 9


def test_window_on_another_calendar_is_ignored():
    got = schedule(plan([item("A", 10)], windows=[window(5, 7, calendar="typhoon")]))
    assert got["A"] == (0, 10)


def test_calendar_after_an_fs_successor_chain():
    got = schedule(plan([item("A", 4), item("B", 6)], [link("A", "B", "FS", 1)], windows=[window(7, 8)]))
    assert got["B"] == (5, 13)  # days 5, 6, then 9..12


# -- shock pauses -----------------------------------------------------------------------
PAUSE = dict(start_day=10, length=dist("fixed", 10))  # pause [10, 20)


def test_pause_leaves_an_item_finishing_before_it_untouched():
    got = schedule(plan([item("A", 5)], shocks=[shock("COVID", **PAUSE)]))
    assert got["A"] == (0, 5)


def test_pause_finishing_exactly_at_its_start_is_untouched():
    got = schedule(plan([item("A", 10)], shocks=[shock("COVID", **PAUSE)]))
    assert got["A"] == (0, 10)


def test_pause_shifts_a_straddling_item_by_its_length():
    got = schedule(plan([item("A", 15)], shocks=[shock("COVID", **PAUSE)]))
    assert got["A"] == (0, 25)


def test_item_due_to_start_inside_a_pause_starts_at_its_end():
    got = schedule(plan([item("A", 3, start_wait=12)], shocks=[shock("COVID", **PAUSE)]))
    assert got["A"] == (20, 23)


def test_item_due_to_start_at_the_pause_start_waits():
    got = schedule(plan([item("A", 3, start_wait=10)], shocks=[shock("COVID", **PAUSE)]))
    assert got["A"] == (20, 23)


def test_item_starting_after_a_pause_is_untouched():
    got = schedule(plan([item("A", 3, start_wait=20)], shocks=[shock("COVID", **PAUSE)]))
    assert got["A"] == (20, 23)


def test_pause_only_affects_selected_items():
    got = schedule(plan([item("A", 15), item("B", 15)], shocks=[shock("COVID", **PAUSE, affects=("A",))]))
    assert got == {"A": (0, 25), "B": (0, 15)}


def test_pause_and_its_successors():
    got = schedule(
        plan([item("A", 15), item("B", 4), item("C", 2)], [link("A", "B"), link("A", "C", "SS", 12)],
             shocks=[shock("COVID", **PAUSE)])
    )
    assert got["A"] == (0, 25)
    assert got["B"] == (25, 29)
    assert got["C"] == (20, 22)  # SS release at day 12 falls inside the pause


def test_shock_that_never_fires_changes_nothing():
    got = schedule(plan([item("A", 15)], shocks=[shock("COVID", **PAUSE, probability=0.0)]))
    assert got["A"] == (0, 15)


def test_pause_and_calendar_window_add_up():
    # work [0,10) is 9 working days (window day 3), pause [10,20), window 22: 6 left -> days 20,21,23..26
    got = schedule(plan([item("A", 15)], windows=[window(3, 3), window(22, 22)],
                        shocks=[shock("COVID", **PAUSE)]))
    assert got["A"] == (0, 27)


def test_two_overlapping_pauses_merge():
    got = schedule(
        plan([item("A", 15)], shocks=[shock("S1", 10, dist("fixed", 10)), shock("S2", 15, dist("fixed", 10))])
    )
    assert got["A"] == (0, 30)  # stopped over [10, 25), 5 days left


def test_two_separate_pauses_both_count():
    got = schedule(
        plan([item("A", 15)], shocks=[shock("S1", 5, dist("fixed", 2)), shock("S2", 10, dist("fixed", 3))])
    )
    assert got["A"] == (0, 20)


# -- finite resources (SimPy only) -------------------------------------------------------
def test_capacity_one_serialises_two_items_in_simpy():
    p = plan([item("A", 5, resource="U1"), item("B", 3, resource="U1")], capacity=1)
    m = compile_plan(p)
    assert m.has_contention()
    assert choose_engine(m, Engine.AUTO) is Engine.SIMPY
    rec = run_chunk(m, seed=SEED, chunk=0, rows=ROWS, engine=Engine.SIMPY)
    trace = sorted(
        (float(rec.start[0, k]), float(rec.finish[0, k]), iid) for k, iid in enumerate(m.item_ids)
    )
    assert trace == [(0.0, 5.0, "A"), (5.0, 8.0, "B")]
    np.testing.assert_array_equal(rec.finish, np.broadcast_to(rec.finish[:1], rec.finish.shape))


def test_capacity_two_runs_both_at_once_and_queues_a_third():
    p = plan([item("A", 5, resource="U1"), item("B", 3, resource="U1"), item("C", 4, resource="U1")],
             capacity=2)
    m = compile_plan(p)
    rec = run_chunk(m, seed=SEED, chunk=0, rows=1, engine=Engine.SIMPY)
    got = {iid: (float(rec.start[0, k]), float(rec.finish[0, k])) for k, iid in enumerate(m.item_ids)}
    assert got == {"A": (0, 5), "B": (0, 3), "C": (3, 7)}


def test_unit_with_enough_capacity_is_no_contention():
    p = plan([item("A", 5, resource="U1"), item("B", 3, resource="U1")], capacity=2)
    m = compile_plan(p)
    assert not m.has_contention()
    assert choose_engine(m, Engine.AUTO) is Engine.VECTOR
    assert schedule(p) == {"A": (0, 5), "B": (0, 3)}


def test_resource_is_released_before_an_ff_gate():
    """A holds the crew only for its own work; the FF hold on its finish frees the crew."""
    p = plan(
        [item("G", 20), item("A", 5, resource="U1"), item("B", 3, resource="U1")],
        [link("G", "A", "FF", 0)],
        capacity=1,
    )
    m = compile_plan(p)
    rec = run_chunk(m, seed=SEED, chunk=0, rows=1, engine=Engine.SIMPY)
    got = {iid: (float(rec.start[0, k]), float(rec.finish[0, k])) for k, iid in enumerate(m.item_ids)}
    assert got == {"G": (0, 20), "A": (0, 20), "B": (5, 8)}


# -- a model with everything: the two engines agree exactly ----------------------------
def test_engines_agree_on_a_combined_zero_variance_model():
    p = plan(
        [
            item("A", 12), item("B", 7, start_wait=3), item("C", 9), item("D", 4),
            item("E", 6), item("F", 0), item("G", 11), item("H", 2, start_wait=40),
        ],
        [
            link("A", "C", "FS", 2), link("B", "C", "SS", 1), link("C", "D", "FF", 3),
            link("D", "E", "SYNC"), link("A", "G", "SS", 4), link("E", "F"), link("G", "F"),
            link("F", "H"),
        ],
        windows=[window(8, 9), window(30, 31)],
        shocks=[shock("S1", 12, dist("fixed", 6), affects=("A", "C", "G"))],
    )
    got = schedule(p)
    # A: days 0-7 and 10-11 (W = 10), paused over [12, 18), two days left -> 20
    assert got["A"] == (0, 20)
    # B: no pause; days 3-7 and 10-11
    assert got["B"] == (3, 12)
    # C: FS A + 2 = 22 beats SS B + 1 = 4; 9 days: 22-29 and 32
    assert got["C"] == (22, 33)
    # D: own work ends at 4, held by FF C + 3 = 36; E syncs with it
    assert got["D"] == (0, 36)
    assert got["E"] == (0, 36)
    # G: SS A + 4; days 4-7, 10-11, paused [12, 18), 5 days left: 18-22
    assert got["G"] == (4, 23)
    assert got["F"] == (36, 36)
    assert got["H"] == (40, 42)


# -- items already done on the as-of date -------------------------------------------------
def _done(iid: str, finished: date):
    return dataclasses.replace(item(iid, 1, status=Status.DONE), plan_finish=finished)


def test_done_item_keeps_its_dates_and_releases_successors():
    got = schedule(plan([_done("A", date(2019, 12, 20)), item("B", 10)], [link("A", "B", "FS", 20)]))
    assert got["A"] == (-11, -11)  # end of 2019-12-20
    assert got["B"] == (9, 19)


def test_sync_member_after_a_done_item_finishes_with_its_group():
    """B's only start predecessor is done; B SYNC C must finish with C at max(10, 20) = 20.

    The SimPy engine releases B while marking A started/done, then starts B again
    in its `pending == 0` loop: B's two processes count as both group members, the
    group completes at 10 and B keeps 10 (the forward pass gives 20).
    """
    got = schedule(
        plan([_done("A", date(2019, 12, 20)), item("B", 10), item("C", 20)],
             [link("A", "B"), link("B", "C", "SYNC")])
    )
    assert got["B"] == got["C"] == (0, 20)


def test_capacity_with_a_done_predecessor_in_simpy():
    """B (after done A) and C share a crew of 1: C runs [0, 4), B [5, 15).

    The SimPy engine runs B's work twice ([5, 15) then [15, 25)) and records (15, 25).
    """
    p = plan(
        [_done("A", date(2019, 12, 20)), item("B", 10, resource="U1", start_wait=5), item("C", 4, resource="U1")],
        [link("A", "B")],
        capacity=1,
    )
    m = compile_plan(p)
    rec = run_chunk(m, seed=SEED, chunk=0, rows=1, engine=Engine.SIMPY)
    got = {iid: (float(rec.start[0, k]), float(rec.finish[0, k])) for k, iid in enumerate(m.item_ids)}
    assert got["C"] == (0, 4)
    assert got["B"] == (5, 15)


# -- certain risks -----------------------------------------------------------------------
def test_duration_risk_adds_working_days():
    got = schedule(plan([item("A", 10)], risks=[risk("R", 1.0, dist("fixed", 3), ["A"])], windows=[window(5, 7)]))
    assert got["A"] == (0, 16)  # 13 working days around the 3-day window


def test_start_risk_adds_calendar_days_to_the_wait():
    got = schedule(
        plan([item("A", 5), item("B", 5, start_wait=10), item("P", 20), item("C", 5)], [link("P", "C")],
             risks=[risk("R", 1.0, dist("fixed", 7), ["A", "B", "C"], phase="start")])
    )
    assert got["A"] == (7, 12)
    assert got["B"] == (17, 22)
    assert got["C"] == (20, 25)  # the pre-construction delay runs alongside P


def test_opportunity_larger_than_the_work_leaves_a_zero_duration():
    got = schedule(plan([item("A", 5), item("B", 5)], [link("A", "B")],
                        risks=[risk("R", 1.0, dist("fixed", -10), ["A"])]))
    assert got == {"A": (0, 0), "B": (0, 5)}


# -- targets ---------------------------------------------------------------------------------
def _targets(p):
    m = compile_plan(p)
    rec = run_chunk(m, seed=SEED, chunk=0, rows=2, engine=Engine.SIMPY)
    ids = [t.id for t in m.targets]
    return ({t: bool(rec.met[0, k]) for k, t in enumerate(ids)},
            {t: float(rec.achieved[0, k]) for k, t in enumerate(ids)})


def test_item_target_deadline_is_the_end_of_the_day():
    met, achieved = _targets(
        plan([item("A", 10)], targets=[target_by("ON_TIME", "A", day(9)), target_by("LATE", "A", day(8))])
    )
    assert met == {"ON_TIME": True, "LATE": False}
    assert achieved == {"ON_TIME": 10.0, "LATE": 10.0}


def test_all_of_and_k_of_n_targets():
    items = [item("A", 10), item("B", 20), item("C", 30)]
    targets = [
        Target("ALL_BY_19", "x", "x", "block", TargetRule.ALL_OF, ("A", "B"), day(19)),
        Target("ALL_BY_18", "x", "x", "block", TargetRule.ALL_OF, ("A", "B"), day(18)),
        Target("TWO_OF_3", "x", "x", "block", TargetRule.K_OF_N, ("A", "B", "C"), day(20), k=2),
        Target("THREE_OF_3", "x", "x", "block", TargetRule.K_OF_N, ("A", "B", "C"), day(20), k=3),
        Target("NESTED", "x", "x", "headline", TargetRule.ALL_OF, ("ALL_BY_19", "C"), day(40)),
    ]
    met, achieved = _targets(plan(items, targets=targets))
    assert met == {"ALL_BY_19": True, "ALL_BY_18": False, "TWO_OF_3": True, "THREE_OF_3": False, "NESTED": True}
    assert achieved["ALL_BY_19"] == 20 and achieved["TWO_OF_3"] == 20 and achieved["THREE_OF_3"] == 30
    assert achieved["NESTED"] == 30


def test_kpi_step_target_is_met_from_the_first_needed_day_after_the_finish():
    p = plan(
        [item("S", 100)],
        kpis=[counter("K", 0.0, baseline=10.0, measure="stock")],
        boosts=[KpiBoost("K", "S", step=5.0)],
        targets=[Target("K15", "x", "x", "keywork", TargetRule.KPI_GE, ("K",), date(2020, 12, 31), threshold=15.0),
                 Target("K16", "x", "x", "keywork", TargetRule.KPI_GE, ("K",), date(2020, 12, 31), threshold=16.0)],
    )
    m = compile_plan(p)
    rec = run_chunk(m, seed=SEED, chunk=0, rows=2)
    np.testing.assert_array_equal(rec.kpi[:, 0, :], 15.0)  # every checkpoint: 10 + the step
    met, achieved = _targets(p)
    assert met == {"K15": True, "K16": False}
    # S finishes at the end of 2020-04-09; KPIs are computed only on the days checkpoints and targets
    # read them (the as-of date, the checkpoints, the KPI deadlines): the first is the end of 2020-12-31
    assert list(m.kpi_grid) == sorted({0.0, *m.checkpoint_days.tolist(), *(t.deadline_day for t in m.targets)})
    assert achieved["K15"] == (date(2020, 12, 31) - date(2020, 1, 1)).days + 1
    assert achieved["K16"] == np.inf


def test_index_kpi_compound_growth_target():
    growth = 0.10
    idx = Kpi("GDP", "x", "x", KpiKind.INDEX, "index", baseline=100.0, rate_per_year=growth)
    p = plan(
        [item("A", 10)],
        kpis=[idx],
        targets=[
            Target("CAGR_LOW", "x", "x", "keywork", TargetRule.KPI_CAGR_GE, ("GDP",), date(2022, 12, 31),
                   threshold=growth - 1e-6),
            Target("CAGR_HIGH", "x", "x", "keywork", TargetRule.KPI_CAGR_GE, ("GDP",), date(2022, 12, 31),
                   threshold=growth + 1e-6),
        ],
    )
    m = compile_plan(p)
    rec = run_chunk(m, seed=SEED, chunk=0, rows=2)
    years = np.array([end_of(d, p.as_of) for d in p.checkpoints]) / 365.25
    np.testing.assert_allclose(rec.kpi[0, 0, :], 100.0 * (1 + growth) ** years, rtol=1e-6)
    met, _ = _targets(p)
    assert met == {"CAGR_LOW": True, "CAGR_HIGH": False}


