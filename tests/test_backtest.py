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
from sim.actuals import Fact, FactKind
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

ROOT = Path(__file__).resolve().parents[1]


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
