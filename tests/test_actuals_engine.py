"""Moved plans through the engine: facts fix items, elapsed time conditions durations, nothing finishes before day 0."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from planfactory import AS_OF, Risk, Target, TargetRule, day, dist, item, link, plan
from sim.model.actuals import Fact, FactKind, apply_actuals
from sim.engine.compiled import compile_plan
from sim.model.clock import end_of
from sim.engine.forward import forward_pass
from sim.engine.replicate import Engine, run_chunk
from sim.engine.sampling import draw_chunk
from sim.model.entities import DurationClass
from sim.model.enums import RiskPhase, Status


def finish_fact(iid: str, when: date, start: date | None = None) -> list[Fact]:
    out = [Fact(FactKind.FINISH, iid, when, when, source="t")]
    if start is not None:
        out.append(Fact(FactKind.START, iid, start, start, source="t"))
    return out


def in_progress(iid: str, *, started: int, planned: int, family: str = "lognormal_sigma", params=(1.1, 0.3),
                floor: float | None = None):
    """An item under way on the plan date: started ``started`` days before it, planned ``planned`` days in all."""
    return replace(item(iid, 1, mult=None, ptype=iid), duration_days=None, status=Status.IN_PROGRESS,
                   plan_start=AS_OF - timedelta(days=started),
                   plan_finish=AS_OF - timedelta(days=started) + timedelta(days=planned - 1)), \
        DurationClass(iid, iid, dist(family, *params, floor=floor))


@pytest.mark.parametrize("engine", [Engine.VECTOR, Engine.SIMPY])
def test_all_items_finished_gives_degenerate_forecast_at_actual_dates(engine):
    noisy = dist("lognormal", 1.2, 1.8)
    items = [item("A", 30, mult=noisy), item("B", 40, mult=noisy), item("C", 20, mult=noisy)]
    targets = [Target("TB", "t", "t", "transport", TargetRule.ITEM_BY, ("B",), day(80)),
               Target("TC", "t", "t", "transport", TargetRule.ITEM_BY, ("C",), day(80))]
    risk = Risk("R", "r", "r", 1.0, dist("fixed", 50), ("A", "B", "C"))
    base = plan(items, [link("A", "B"), link("B", "C")], risks=[risk], targets=targets)
    actual = {"A": day(45), "B": day(70), "C": day(100)}
    facts = [f for iid, d in actual.items() for f in finish_fact(iid, d)]
    moved = apply_actuals(base, facts, day(120))
    model = compile_plan(moved)
    rec = run_chunk(model, seed=3, chunk=0, rows=200, engine=engine)
    for iid, d in actual.items():
        col = rec.finish[:, model.index[iid]]
        assert np.all(col == end_of(d, moved.as_of))
    t = [s.id for s in model.targets]
    assert rec.met[:, t.index("TB")].all() and not rec.met[:, t.index("TC")].any()


@settings(max_examples=40, deadline=None)
@given(started=st.integers(1, 900), planned=st.integers(30, 1500), moved=st.integers(0, 1500),
       family=st.sampled_from(["lognormal_sigma", "pert", "triangular", "lognormal"]),
       progress=st.one_of(st.none(), st.floats(0.01, 0.99)))
def test_conditioning_on_elapsed_time_never_finishes_before_the_as_of_date(started, planned, moved, family,
                                                                           progress):
    params = {"lognormal_sigma": (1.1, 0.4), "pert": (0.9, 1.1, 2.0), "triangular": (0.9, 1.0, 1.8),
              "lognormal": (1.2, 1.9)}[family]
    a, cls = in_progress("A", started=started, planned=planned, family=family, params=params, floor=0.95)
    base = plan([a], classes=(cls,))
    as_of = AS_OF + timedelta(days=moved)
    facts = [] if progress is None else [Fact(FactKind.PROGRESS, "A", as_of, as_of, progress, "t")]
    model = compile_plan(apply_actuals(base, facts, as_of))
    draws = draw_chunk(model, seed=11, chunk=0)
    _, finish = forward_pass(model, draws)
    assert np.all(np.isfinite(finish)) and np.all(finish >= 0.0)
    if 0 < model.cond_cdf[0] < 1 - 1e-9:  # a tail is left: every draw lies in it
        share = model.elapsed_work[0] / model.base_work[0]
        assert np.all(draws.multiplier[:, 0] >= share * (1 - 1e-9))


def test_conditioned_multiplier_has_the_truncated_distribution():
    sigma, med = 0.35, 1.1
    a, cls = in_progress("A", started=300, planned=400, params=(med, sigma))
    base = plan([a], classes=(cls,))
    model = compile_plan(apply_actuals(base, (), AS_OF + timedelta(days=200)))
    share = model.elapsed_work[0] / model.base_work[0]
    r = np.concatenate([draw_chunk(model, seed=5, chunk=c).multiplier[:, 0] for c in range(4)])
    law = stats.lognorm(s=sigma, scale=med)
    assert share > 1.0  # elapsed beyond the plan: the conditioning bites
    below = law.cdf(share)
    for q in (0.25, 0.5, 0.9):  # quantiles of R given R > share
        got = np.mean(r <= law.ppf(below + q * (1 - below)))
        assert abs(got - q) <= 4 * np.sqrt(q * (1 - q) / len(r))


def test_progress_fact_gives_remaining_work_exactly():
    a = replace(item("A", 100, mult=dist("fixed", 1.0)), duration_days=None, status=Status.IN_PROGRESS,
                plan_start=AS_OF, plan_finish=day(99))
    base = plan([a], windows=())
    as_of = day(50)
    moved = apply_actuals(base, [Fact(FactKind.PROGRESS, "A", as_of, as_of, 0.25, "t")], as_of)
    model = compile_plan(moved)
    rec = run_chunk(model, seed=1, chunk=0, rows=10, engine=Engine.VECTOR)
    assert np.allclose(rec.finish[:, 0], 75.0)  # 100 days x (1 - 0.25), from day 0


def test_in_progress_params_item_is_conditioned_once_the_date_moves():
    a, cls = in_progress("A", started=500, planned=1000)
    base = plan([a], classes=(cls,))
    at_plan = compile_plan(base)
    later = compile_plan(apply_actuals(base, (), AS_OF + timedelta(days=365)))
    # planned total and elapsed share on both dates, never the slack to the plan date (docs/calibration.md §2.1)
    assert at_plan.elapsed_work[0] == pytest.approx(500) and at_plan.base_work[0] == pytest.approx(1000)
    assert later.elapsed_work[0] == pytest.approx(865) and later.base_work[0] == pytest.approx(1000)


# --- engine cases found while building actuals (xfail until the engine fixed them in 875e6a2) ------

def test_engine_conditioned_draw_stays_finite_deep_in_the_tail():
    """Was: u rounded to 1 and gave an infinite duration (sampling.py u = c + u*(1-c))."""
    a = replace(item("A", 1, mult=None, ptype="g"), duration_days=None, status=Status.IN_PROGRESS,
                plan_start=AS_OF - timedelta(days=852), plan_finish=AS_OF - timedelta(days=700),
                actual_start=AS_OF - timedelta(days=852))
    model = compile_plan(plan([a], classes=(DurationClass("g", "g", dist("lognormal", 1.05, 1.35, floor=0.95)),)))
    assert np.all(np.isfinite(draw_chunk(model, seed=1, chunk=0).work))


def test_engine_not_started_item_past_its_plan_start_keeps_its_planned_duration():
    """Was: only the working days left until the plan date."""
    a = replace(item("A", 1), duration_days=None, plan_start=AS_OF, plan_finish=day(99))
    moved = replace(plan([a]), as_of=day(50))
    assert compile_plan(moved).base_work[0] == pytest.approx(100)


def test_engine_in_progress_item_past_its_plan_date_has_finite_work():
    """Was: sigma * sqrt(negative remaining fraction) = NaN."""
    a, cls = in_progress("A", started=100, planned=90)
    model = compile_plan(plan([a], classes=(replace(cls, in_progress_sigma_scaling=True),)))
    assert np.all(np.isfinite(draw_chunk(model, seed=1, chunk=0).work))


def test_engine_start_risk_does_not_delay_an_item_in_progress():
    """Was: a start-phase risk delayed an item whose start had happened."""
    a = replace(item("A", 10), status=Status.IN_PROGRESS, plan_start=AS_OF - timedelta(days=5))
    risk = Risk("R", "r", "r", 1.0, dist("fixed", 30), ("A",), phase=RiskPhase.START)
    rec = run_chunk(compile_plan(plan([a], risks=[risk])), seed=1, chunk=0, rows=5, engine=Engine.VECTOR)
    assert np.allclose(rec.finish[:, 0], 10.0)
