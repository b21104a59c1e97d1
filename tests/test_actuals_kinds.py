"""Fact kinds unfinished, kpi_at_least and shock; KPIs simulated from their last observation (or the plan date),
so that a KPI target past its deadline without a value is decided from its simulated distribution.

Statistical checks compare with the exact Poisson answer, tolerance from the Monte Carlo s.e. computed here.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from planfactory import AS_OF, Kpi, KpiKind, Target, TargetRule, dist, item, plan
from scipy import stats

from sim.model.actuals import Fact, FactKind, apply_actuals, parse_actuals
from sim.engine.compiled import compile_plan
from sim.engine.replicate import Engine, run_chunk
from sim.model.entities import Shock
from sim.model.enums import KpiMeasure
from sim.model.problems import PlanError

CHUNKS = 4  # replication chunks of streams.CHUNK rows each
K_SE = 4.0


def run(p, seed: int):
    """``CHUNKS`` chunks of the vector engine on plan ``p``: arrays of kpi, met, shock_start (rows first)."""
    from sim.engine.streams import CHUNK

    recs = [run_chunk(compile_plan(p), seed=seed, chunk=c, rows=CHUNK, engine=Engine.VECTOR) for c in range(CHUNKS)]
    return {name: np.concatenate([getattr(r, name) for r in recs]) for name in ("kpi", "met", "shock_start")}


def fact(kind, iid, when, value=None, reported=None):
    return Fact(FactKind(kind), iid, when, reported or when, value, source="t")


def counter(rate: float) -> Kpi:
    return Kpi("K", "k", "k", KpiKind.COUNTER, "n", baseline=0.0, rate_per_year=rate,
               measure=KpiMeasure.CUMULATIVE)


def shock(p=0.5, start=date(2020, 7, 1), end=date(2020, 7, 30)) -> Shock:
    return Shock("S", "s", "s", p, start, end, dist("fixed", 10), ("A",))


def test_reader_accepts_the_new_kinds_and_names_bad_rows():
    base = plan([item("A", 100)], kpis=[counter(5.0)], shocks=[shock()])
    ok = ("kind,id,date,reported,value,source,note\n"
          "unfinished,A,2020-03-01,,,r,\nunfinished,A,2020-04-01,,0.4,r,\n"
          "kpi_at_least,K,2020-06-30,,3,r,\nshock,S,2020-07-05,,12,r,\n")
    facts = parse_actuals(ok, file="a.csv", plan=base)
    assert [f.kind for f in facts] == [FactKind.UNFINISHED, FactKind.UNFINISHED, FactKind.KPI_AT_LEAST,
                                       FactKind.SHOCK]
    bad = ("kind,id,date,reported,value,source,note\n"
           "unfinished,A,2020-03-01,,1,r,\n"  # 100 % done is not unfinished
           "finish,A,2020-04-01,,,r,\nunfinished,A,2020-05-01,,,r,\n"  # unfinished after the finish
           "kpi_at_least,A,2020-06-30,,3,r,\n"  # an item id for a KPI fact
           "shock,S,2020-09-01,,5,r,\n"  # outside the window
           "shock,NOPE,2020-07-02,,5,r,\n")
    with pytest.raises(PlanError) as err:
        parse_actuals(bad, file="a.csv", plan=base)
    text = str(err.value)
    for line in (2, 4, 5, 6, 7):
        assert f"a.csv:{line}" in text or f"line {line}" in text or f":{line}:" in text, (line, text)


def test_unfinished_with_a_share_is_progress_and_without_one_is_no_start():
    base = plan([item("A", 100)])
    p = apply_actuals(base, [fact("unfinished", "A", date(2020, 3, 1), 0.4)], date(2020, 3, 1))
    assert p.item("A").percent_complete == 0.4 and p.item("A").actual_start is not None
    q = apply_actuals(base, [fact("unfinished", "A", date(2020, 3, 1))], date(2020, 3, 1))
    assert q.item("A").actual_start is None and q.item("A").percent_complete is None


def test_shock_that_happened_is_certain_and_one_that_did_not_has_its_bayes_update():
    base = plan([item("A", 400)], shocks=[shock(p=0.5)])
    on = apply_actuals(base, [fact("shock", "S", date(2020, 7, 10), 30.0)], date(2020, 7, 20))
    s = on.shocks[0]
    assert (s.probability, s.window_start, s.window_end) == (1.0, date(2020, 7, 20), date(2020, 7, 20))
    assert s.length.params == (20.0,)  # 30 days from 07-10, 20 of them left on 07-20
    notes: list[str] = []
    off = apply_actuals(base, [fact("shock", "S", date(2020, 7, 10), 0.0)], date(2020, 7, 10), notes=notes)
    s = off.shocks[0]
    n, m = 30, 10  # window days, days known to have passed without it
    assert s.window_start == date(2020, 7, 11)
    assert s.probability == pytest.approx(0.5 * (n - m) / n / (1 - 0.5 * m / n))
    gone = apply_actuals(base, [fact("shock", "S", date(2020, 7, 30), 0.0)], date(2020, 7, 30))
    assert gone.shocks == ()


def test_shock_probability_update_matches_the_engine_draws():
    """P(the shock fires | not by day m) equals the share of unconditioned replications firing after m."""
    base = plan([item("A", 400)], shocks=[shock(p=0.5)])
    start = run(base, 3)["shock_start"][:, 0]
    cut = (date(2020, 7, 10) - AS_OF).days
    quiet = ~(start <= cut)  # not fired by the end of 07-10 (inf = never)
    empirical = np.mean(np.isfinite(start[quiet]))
    known = date(2020, 7, 10)
    cond = apply_actuals(base, [fact("shock", "S", known, 0.0)], known).shocks[0].probability
    se = math.sqrt(cond * (1 - cond) / quiet.sum())
    assert abs(empirical - cond) <= K_SE * se + 1.0 / 30  # + one window day of discretisation


def _met(p, tid):
    j = [t.id for t in compile_plan(p).targets].index(tid)
    return run(p, 11)["met"][:, j].astype(float), None


def test_past_deadline_kpi_target_without_a_value_is_decided_by_its_simulated_distribution():
    rate, threshold, deadline = 6.0, 4.0, date(2020, 6, 30)
    t = Target("TG", "t", "t", "headline", TargetRule.KPI_GE, ("K",), deadline, threshold=threshold)
    base = plan([item("A", 10)], kpis=[counter(rate)], targets=[t])
    moved = apply_actuals(base, (), date(2020, 12, 31))
    assert moved.targets[0].deadline == deadline  # not carried as certain
    met, _ = _met(moved, "TG")
    lam = rate * ((deadline - AS_OF).days + 1) / 365.25  # arrivals from the plan date to the end of the deadline
    exact = stats.poisson.sf(threshold - 1, lam)
    se = math.sqrt(exact * (1 - exact) / len(met))
    assert 0.05 < exact < 0.95 and abs(met.mean() - exact) <= K_SE * se


def test_stale_observation_is_simulated_from_its_date():
    rate = 6.0
    base = plan([item("A", 10)], kpis=[counter(rate)], checkpoints=(date(2022, 12, 31),))
    seen = date(2020, 12, 31)
    moved = apply_actuals(base, [fact("kpi", "K", seen, 9.0)], date(2021, 12, 31))
    value = run(moved, 5)["kpi"][:, 0, 0].astype(float)
    n = len(value)
    lam = rate * ((date(2022, 12, 31) - seen).days + 1) / 365.25
    assert abs(value.mean() - (9.0 + lam)) <= K_SE * math.sqrt(lam / n)
    # Poisson: var = mean; s.e. of the sample variance sqrt((mu4 - sigma^4 (n-3)/(n-1)) / n), mu4 = lam (1 + 3 lam)
    se_var = math.sqrt((lam * (1 + 3 * lam) - lam**2 * (n - 3) / (n - 1)) / n)
    assert abs(value.var(ddof=1) - lam) <= K_SE * se_var


def test_kpi_at_least_decides_a_past_target_and_lifts_a_low_start():
    t = Target("TG", "t", "t", "headline", TargetRule.KPI_GE, ("K",), date(2020, 6, 30), threshold=20.0)
    base = plan([item("A", 10)], kpis=[counter(6.0)], targets=[t])
    met = apply_actuals(base, [fact("kpi_at_least", "K", date(2020, 6, 30), 25.0)], date(2020, 12, 31))
    assert met.targets[0].threshold == -math.inf and "met per actuals" in met.targets[0].name_en
    # a bound below the threshold does not decide; it is far above the expected 3 by mid-2020: the KPI restarts
    low = apply_actuals(base, [fact("kpi_at_least", "K", date(2020, 6, 30), 12.0)], date(2020, 12, 31))
    k = low.kpis[0]
    assert (k.baseline, k.origin, k.measure) == (12.0, date(2020, 6, 30), KpiMeasure.STOCK)
    assert low.targets[0].deadline == date(2020, 6, 30)


def test_plan_date_runs_are_unchanged_by_the_kpi_origin():
    base = plan([item("A", 10)], kpis=[counter(6.0)])
    assert apply_actuals(base, (), AS_OF) is base
    assert compile_plan(base).kpi_grid[0] == 0.0
    moved = apply_actuals(base, (), AS_OF + timedelta(days=400))
    grid = compile_plan(moved).kpi_grid
    assert grid[0] == -400.0 and 0.0 in grid
