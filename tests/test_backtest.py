"""Backtest scoring: outcomes from facts, Brier/log/PIT, censoring, the naive baselines, and `sim backtest`."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planfactory import AS_OF, Kpi, KpiKind, Target, TargetRule, day, dist, item, link, plan
from sim.model.actuals import Fact, FactKind
from sim.analysis.backtest import (
    EPS,
    Forecast,
    Outcome,
    outcomes,
    plan_certain,
    reference_class,
    reference_class_plan,
    score,
    score_table,
    summarise,
)
from sim.engine.compiled import compile_plan
from sim.model.clock import end_of
from conftest import ROOT


def f(kind: str, iid: str, when: date, value: float | None = None, reported: date | None = None) -> Fact:
    return Fact(FactKind(kind), iid, when, reported or when, value, "t")


def forecast(finish: dict[str, np.ndarray], met=None, as_of: date = AS_OF) -> Forecast:
    return Forecast("model", as_of, finish, met or {}, {})


# --- scores -------------------------------------------------------------------------------------

def test_certain_and_right_forecast_scores_zero_brier():
    o = Outcome("item", "A", day(10), finished=day(8), met=True, known_on=day(8))
    s = score(forecast({"A": np.full(100, end_of(day(8), AS_OF))}), o)
    assert s["p_met"] == 1.0 and s["brier"] == 0.0
    assert s["log_score"] == pytest.approx(-np.log(1 - EPS))  # clipped, never -ln 1 exactly


def test_certain_and_wrong_forecast_scores_one_and_clipped_log():
    o = Outcome("item", "A", day(10), finished=day(20), met=False, known_on=day(20))
    s = score(forecast({"A": np.full(10, end_of(day(5), AS_OF))}), o)
    assert s["brier"] == 1.0 and s["log_score"] == pytest.approx(-np.log(EPS))
    assert s["pit_lo"] == s["pit_hi"] == 1.0


@pytest.mark.parametrize("level", [0.1, 0.25, 0.5, 0.8, 0.95])
def test_pit_of_a_known_distributions_quantile_equals_its_level(level):
    rng = np.random.default_rng(1)
    days = rng.normal(600.0, 150.0, size=200_000)
    actual = AS_OF + timedelta(days=int(np.ceil(np.quantile(days, level))) - 1)  # the date holding the quantile
    s = score(forecast({"A": days}), Outcome("item", "A", day(600), finished=actual, met=None))
    assert s["pit_lo"] <= level <= s["pit_hi"] + 1e-12
    # the actual is a whole date: the PIT can differ from the level by at most the mass of one day,
    # whose upper bound is the normal density's peak x 1 day
    one_day = 1.0 / (150.0 * np.sqrt(2 * np.pi))
    assert s["pit"] == pytest.approx(level, abs=one_day)


def test_censored_outcome_is_an_interval_with_survival_likelihood():
    days = np.arange(1.0, 1001.0)  # finish uniform over days 1..1000
    c = day(399)  # unfinished at the end of day 400
    o = Outcome("item", "A", day(600), censored=c, met=None)
    s = score(forecast({"A": days}), o)
    assert s["pit_lo"] == pytest.approx(0.4) and s["pit_hi"] == 1.0
    assert s["log_date"] == pytest.approx(-np.log(0.6))
    assert np.isnan(s["brier"])  # met unknown: censored before the plan date
    late = score(forecast({"A": days}), replace(o, censored=day(700), met=False))
    assert late["brier"] == pytest.approx(late["p_met"] ** 2)


def test_outcomes_from_facts():
    items = [item("A", 10), item("B", 20), item("C", 30), item("D", 40)]
    k = Kpi("K", "k", "k", KpiKind.COUNTER, "n", 0.0, 5.0)
    targets = [
        Target("TA", "t", "t", "transport", TargetRule.ITEM_BY, ("A",), day(9)),
        Target("TALL", "t", "t", "transport", TargetRule.ALL_OF, ("A", "B"), day(30)),
        Target("TK", "t", "t", "headline", TargetRule.K_OF_N, ("A", "B", "C"), day(30), k=2),
        Target("TKPI", "t", "t", "headline", TargetRule.KPI_GE, ("K",), day(300), threshold=4.0),
        Target("TOPEN", "t", "t", "headline", TargetRule.ITEM_BY, ("D",), day(39)),
    ]
    p = plan(items, kpis=[k], targets=targets)
    facts = [f("finish", "A", day(9)), f("finish", "B", day(25), reported=day(40)),
             f("progress", "C", day(35), 0.5), f("start", "D", day(5)), f("kpi", "K", day(310), 6.0)]
    by = {o.id: o for o in outcomes(p, facts)}
    assert by["A"].finished == day(9) and by["A"].met is True
    assert by["C"].censored == day(35) and by["C"].met is False  # unfinished after its plan date day(29)
    assert by["D"].censored == day(4) and by["D"].met is None
    assert by["TA"].met is True and by["TA"].finished == day(9)
    assert by["TALL"].met is True and by["TALL"].finished == day(25) and by["TALL"].known_on == day(40)
    assert by["TK"].met is True  # A and B by day 30
    assert by["TKPI"].met is True
    assert "TOPEN" not in by


def test_known_outcomes_are_listed_but_not_scored():
    o = Outcome("item", "A", day(10), finished=day(8), met=True, known_on=day(8))
    early = forecast({"A": np.full(5, 3.0)})
    late = Forecast("model", day(9), {"A": np.full(5, -1.0)}, {}, {})
    table = score_table([early, late], [o], label="x")
    assert table["known_at_forecast"].tolist() == [False, True]
    summary = summarise(table)
    assert len(summary) == 1 and summary["as_of"].iloc[0] == AS_OF


# --- naive baselines ----------------------------------------------------------------------------

def test_plan_certain_finishes_every_item_on_its_plan_date():
    p = plan([item("A", 10), item("B", 20)], [link("A", "B")],
             targets=[Target("T", "t", "t", "transport", TargetRule.ALL_OF, ("A", "B"), day(19))])
    fc = plan_certain(compile_plan(p))
    assert fc.finish["A"][0] == end_of(day(9), AS_OF) and fc.finish["B"][0] == end_of(day(19), AS_OF)
    assert fc.met["T"][0] == 1.0


def test_reference_class_drops_links_risks_shocks_factors():
    noisy = dist("fixed", 1.5)
    p = plan([item("A", 10, mult=noisy), item("B", 20, mult=noisy)], [link("A", "B")])
    stripped = reference_class_plan(p)
    assert stripped.links == () and stripped.risks == () and stripped.factors == ()
    fc = reference_class(p, runs=50, seed=1)
    assert np.allclose(fc.finish["B"], 30.0)  # 20 days x 1.5, not after A


# --- end to end on the shipped params and example ---------------------------------------------

def test_sim_backtest_on_a_baseline_run_with_the_example(tmp_path: Path, capsys):
    from sim.cli import main

    run = tmp_path / "base"
    assert main(["run", "--no-report", "--params", str(ROOT / "params"), "--runs", "1000", "--seed", "5", "--workers", "1",
                 "--quiet", "--out", str(run)]) == 0
    out = tmp_path / "bt"
    code = main(["backtest", str(run), "--actuals", str(ROOT / "actuals" / "example.csv"),
                 "--params", str(ROOT / "params"), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "Brier" in printed and "refclass" in printed
    for name in ("outcomes.csv", "scores.csv", "reliability.png", "pit.png", f"scores-{run.name}.png",
                 "backtest.md", "manifest.json"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "outcomes.csv")
    items = table[(table.kind == "item") & (table.forecaster == "model")].set_index("id")
    assert set(items.index) == {"T10", "T14"}
    assert items.loc["T14", "finished"] == "2023-08-26" and items.loc["T10", "met"] == False  # noqa: E712
    scores = pd.read_csv(out / "scores.csv")
    plan_row = scores[(scores.forecaster == "plan") & (scores.kind == "item")].iloc[0]
    assert plan_row.brier == 1.0  # the plan said both on time; both were late
    assert json.loads((out / "manifest.json").read_text())["actuals"]["sha256"]


# --- CRPS and paired differences (issue 9, scoring) ----------------------------------------------

def _normal_ensemble(mu: float, sigma: float, n: int = 20_000) -> np.ndarray:
    from scipy import stats as st

    return st.norm.ppf((np.arange(n) + 0.5) / n, mu, sigma)  # a deterministic ensemble: error O(1/n), no MC noise


def test_crps_against_the_normal_closed_form_and_the_censored_integral():
    from scipy import integrate, stats as st

    from sim.analysis.backtest import crps_days

    mu, sigma, y = 100.0, 30.0, 130.0
    x = _normal_ensemble(mu, sigma)
    z = (y - mu) / sigma
    exact = sigma * (z * (2 * st.norm.cdf(z) - 1) + 2 * st.norm.pdf(z) - 1 / np.sqrt(np.pi))
    assert crps_days(x, y) == pytest.approx(exact, rel=1e-3)
    c = 120.0  # unfinished on day 120: the score is the integral of F^2 below c
    censored = integrate.quad(lambda t: st.norm.cdf(t, mu, sigma) ** 2, -np.inf, c)[0]
    assert crps_days(x, c, censored=True) == pytest.approx(censored, rel=1e-3)
    # a later censoring day can only cost more (more of F^2 is counted)
    assert crps_days(x, 150.0, censored=True) > crps_days(x, c, censored=True)


def test_paired_differences_equal_the_direct_mean_and_se():
    from sim.analysis.backtest import paired_differences

    rng = np.random.default_rng(4)
    rows = []
    for i in range(12):
        for name in ("model", "refclass", "plan"):
            rows.append({"forecast": "r", "as_of": date(2020, 1, 16), "forecaster": name, "kind": "item",
                         "id": f"I{i}", "known_at_forecast": i == 11, "brier": rng.uniform(), "log_score": rng.uniform(),
                         "log_date": rng.uniform() if i % 3 else np.nan, "crps_days": rng.uniform(0, 90)})
    table = pd.DataFrame(rows)
    paired = paired_differences(table)
    live = table[~table["known_at_forecast"]]
    for base in ("refclass", "plan"):
        for score in ("brier", "log_date", "crps_days"):
            m = live[live.forecaster == "model"].set_index("id")[score]
            b = live[live.forecaster == base].set_index("id")[score]
            d = (m - b).dropna()
            row = paired[(paired.baseline == base) & (paired.score == score)].iloc[0]
            assert row["n"] == len(d) and row["diff"] == pytest.approx(d.mean())
            assert row["se"] == pytest.approx(d.std(ddof=1) / np.sqrt(len(d)))


def test_unfinished_fact_censors_and_every_score_handles_it():
    from sim.analysis.backtest import Forecast, item_outcomes, score

    it = item("A", 100)
    p = plan([it])
    c = it.plan_finish + timedelta(days=20)
    out = item_outcomes(p, [Fact(FactKind.UNFINISHED, "A", c, c, None, "t")])["A"]
    assert out.censored == c and out.met is False and out.finished is None  # unfinished after its plan date
    f = np.arange(50.0, 250.0)  # finish days from the as-of date
    s = score(Forecast("m", p.as_of, {"A": f}, {}, {}), out)
    day = (c - p.as_of).days + 1
    assert s["pit_lo"] == pytest.approx(np.mean(f <= day)) and s["pit_hi"] == 1.0
    assert s["log_date"] == pytest.approx(-np.log(np.mean(f > day)))
    assert np.isfinite(s["brier"]) and np.isfinite(s["crps_days"]) and s["crps_days"] > 0
