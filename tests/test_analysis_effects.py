"""Risk ranking by paired re-runs, merge bias, contingency, convergence and appraisal tables."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from planfactory import AS_OF, counter, day, dist, item, plan, risk

from sim.analysis.appraisal import (
    contingency_table,
    convergence_table,
    kpi_fan_table,
    targets_met_distribution,
    unit_scorecard,
)
from sim.analysis.merge import merge_bias
from sim.analysis.risk_effects import risk_effects, without
from sim.engine.compiled import compile_plan
from sim.engine.runner import Executor, RunConfig, run_monte_carlo
from sim.model.entities import Target
from sim.model.enums import TargetRule
from sim.results import RunWriter, read_records

SEED = 3
RUNS = 2000
END = date(2022, 12, 31)


def target(tid, refs, rule=TargetRule.ALL_OF, deadline=END, threshold=None) -> Target:
    return Target(id=tid, name_zh=tid, name_en=tid, section="transport", rule=rule, refs=tuple(refs),
                  deadline=deadline, threshold=threshold)


def simulate(p, tmp_path, runs: int = RUNS):
    model = compile_plan(p)
    writer = RunWriter(tmp_path / "run", model)
    run_monte_carlo(model, RunConfig(runs=runs, seed=SEED, workers=1, executor=Executor.INLINE), writer)
    return model, read_records(writer.close_records().parent)


LOGN = dist("lognormal", 1.0, 1.4)


def risky_plan(p_rare: float = 0.0):
    return plan(
        [item("A", 100, mult=LOGN), item("B", 120, mult=LOGN)],
        risks=[risk("R_NEVER", p_rare, dist("pert", 10, 30, 90), ["A", "B"]),
               risk("R_OFTEN", 0.5, dist("pert", 10, 30, 90), ["A"])],
        targets=[target("T", ["A", "B"], deadline=day(130)), target("TA", ["A"], TargetRule.ITEM_BY, day(110))],
    )


def test_removing_a_risk_that_never_fires_changes_nothing(tmp_path):
    p = risky_plan(0.0)
    _, rec = simulate(p, tmp_path)
    eff = risk_effects(p, rec, seed=SEED, runs=RUNS).set_index(["driver", "target"])
    never = eff.loc["R_NEVER"]
    assert (never["effect_p_met"] == 0.0).all()
    assert (never["effect_se"] == 0.0).all()
    assert (never["p80_shift_days"] == 0.0).all()
    assert (never["mean_shift_days"] == 0.0).all()
    # the frequent risk on A lowers P(A on time): a clear, positive paired effect
    often = eff.loc[("R_OFTEN", "TA")]
    assert often["effect_p_met"] > 5 * often["effect_se"] > 0
    assert often["p80_shift_days"] > 0


def test_certain_risk_with_fixed_impact_has_exact_effect(tmp_path):
    """Fixed 100-day task, a certain +30-day risk, deadline day 110: met only without it."""
    p = plan([item("A", 100)], risks=[risk("R", 1.0, dist("fixed", 30), ["A"])],
             targets=[target("TA", ["A"], TargetRule.ITEM_BY, day(109))])
    _, rec = simulate(p, tmp_path, runs=1000)
    e = risk_effects(p, rec, seed=SEED, runs=1000).iloc[0]
    assert (e["p_met_with"], e["p_met_without"], e["effect_p_met"], e["effect_se"]) == (0.0, 1.0, 1.0, 0.0)
    assert e["p80_shift_days"] == pytest.approx(30.0) and e["mean_shift_days"] == pytest.approx(30.0)


def test_without_unknown_driver_names_it():
    with pytest.raises(KeyError, match="R_NOPE"):
        without(risky_plan(), "R_NOPE")


def test_merge_bias_of_independent_paths(tmp_path):
    """Two i.i.d. paths meeting: P(joint) = product (within 4 s.e.) < min; the mean gate day shifts later."""
    p = plan([item("A", 100, mult=LOGN), item("B", 100, mult=LOGN)],
             targets=[target("T", ["A", "B"], deadline=day(110))])
    _, rec = simulate(p, tmp_path)
    model = compile_plan(p)
    row = merge_bias(model, rec).set_index("gate").loc["T"]
    assert abs(row["p_joint"] - row["p_product"]) < 4 * row["p_joint_se"]
    assert row["p_joint"] < row["p_min"]
    assert row["mean_shift_days"] > 0


def test_merge_gap_is_zero_when_one_path_always_decides(tmp_path):
    u = dist("uniform", 0.9, 1.1)
    p = plan([item("A", 100, mult=u), item("B", 10, mult=u)], targets=[target("T", ["A", "B"], deadline=day(100))])
    model, rec = simulate(p, tmp_path)
    row = merge_bias(model, rec).set_index("gate").loc["T"]
    assert row["p_joint"] == row["p_min"] and row["mean_shift_days"] == pytest.approx(0.0, abs=1e-3)


def test_contingency_with_fixed_overrun(tmp_path):
    """A multiplier of exactly 1.2 on a 100-day task planned for day 100: P80 - plan = 20 days."""
    p = plan([item("A", 100, mult=dist("fixed", 1.2))], targets=[target("TA", ["A"], TargetRule.ITEM_BY, day(99))])
    model, rec = simulate(p, tmp_path, runs=1000)
    c = contingency_table(model, rec).set_index(["kind", "id"])
    assert c.loc[("item", "A"), "contingency_p80_days"] == 20.0
    assert c.loc[("target", "TA"), "contingency_p90_days"] == 20.0
    assert c.loc[("item", "A"), "p80"] == day(119)


def test_convergence_ends_at_the_run_estimate(tmp_path):
    p = risky_plan()
    model, rec = simulate(p, tmp_path)
    conv = convergence_table(model, rec, ["T", "TA"])
    for tid, g in conv.groupby("target"):
        last = g.iloc[-1]
        p_hat = rec[f"met:{tid}"].mean()
        assert last["n"] == RUNS and last["p_met"] == pytest.approx(p_hat)
        assert last["se"] == pytest.approx(np.sqrt(p_hat * (1 - p_hat) / RUNS))
        assert g["n"].is_monotonic_increasing


def test_scorecard_and_targets_met(tmp_path):
    """Fixed durations: of U1's two items, one is done by end-2020 and both by end-2021."""
    p = plan([item("A", 100), item("B", 500)],
             targets=[target("TA", ["A"], TargetRule.ITEM_BY), target("TB", ["B"], TargetRule.ITEM_BY, day(400))])
    model, rec = simulate(p, tmp_path, runs=1000)
    sc = unit_scorecard(model, rec).set_index("year_end")
    assert sc.loc[date(2020, 12, 31), "expected_share"] == 0.5
    assert sc.loc[date(2021, 12, 31), "expected_share"] == 1.0
    assert sc.loc[date(2020, 12, 31), "planned_share"] == 0.5
    dist_ = targets_met_distribution(model, rec)
    assert list(dist_["targets_met"]) == [0, 1] and dist_["probability"].tolist() == [0.0, 1.0]  # only TA is due 2022-12-31


def test_kpi_fan_has_baseline_and_target_line(tmp_path):
    p = plan([item("A", 100)], kpis=[counter("K", 50.0, baseline=0.0)],
             targets=[target("TK", ["K"], TargetRule.KPI_GE, threshold=120.0)])
    model, rec = simulate(p, tmp_path, runs=1000)
    fan = kpi_fan_table(model, rec)
    assert fan.iloc[0]["date"] == AS_OF and fan.iloc[0]["p50"] == 0.0
    assert fan.set_index("date")["target"].to_dict()[END] == 120.0  # the threshold at its deadline
    assert fan["target"].isna().sum() == len(fan) - 1 and (fan["target_kind"] == "level").all()
    assert (fan["p10"] <= fan["p50"]).all() and (fan["p50"] <= fan["p90"]).all()


def test_finish_gate_of_an_ff_link(tmp_path):
    """B's own work meets A through FF: P(joint) is exactly P(B by plan), and about the product."""
    from planfactory import link

    from sim.analysis.drivers import draws_for

    p = plan([item("A", 100, mult=LOGN), item("B", 100, mult=LOGN)], [link("A", "B", "FF")])
    model, rec = simulate(p, tmp_path)
    draws = draws_for(model, rec["rep"].to_numpy(), seed=SEED)
    gates = merge_bias(model, rec, draws=draws).set_index("gate")
    row = gates.loc["B"]
    assert row["paths"] == "B (own);A (FF)" and row["kind"] == "item"
    assert row["p_joint"] == (rec["finish:B"] <= model.plan_finish_day[model.index["B"]]).mean()
    assert abs(row["p_joint"] - row["p_product"]) < 4 * row["p_joint_se"]
    assert "B" not in merge_bias(model, rec).set_index("gate").index  # item gates need the draws


def test_item_gate_of_an_fs_link_with_a_planned_start(tmp_path):
    """B planned to start on day 50 after A (FS): two paths to B's finish, own start and A's finish."""
    from planfactory import link

    from sim.analysis.drivers import draws_for

    p = plan([item("A", 50, mult=LOGN), item("B", 50, mult=LOGN, start_wait=50)], [link("A", "B")])
    model, rec = simulate(p, tmp_path)
    row = merge_bias(model, rec, draws=draws_for(model, rec["rep"].to_numpy(), seed=SEED)).set_index("gate").loc["B"]
    assert row["paths"] == "B (own);A (FS)"
    assert row["p_joint"] == (rec["finish:B"] <= model.plan_finish_day[model.index["B"]]).mean()
    assert row["p_joint"] < row["p_min"] and row["mean_shift_days"] > 0


def test_programme_effects_of_a_certain_risk_are_exact(tmp_path):
    """A: fixed 100 days, a certain +30-day risk, due day 109: met only without the risk (effect 1, s.e. 0);
    A's multiplier is fixed, so duration uncertainty has no effect at all."""
    from sim.analysis.risk_effects import DURATION_UNCERTAINTY, programme_effects

    p = plan([item("A", 100)], risks=[risk("R", 1.0, dist("fixed", 30), ["A"])],
             targets=[target("TA", ["A"], TargetRule.ITEM_BY, day(109))])
    _, rec = simulate(p, tmp_path, runs=1000)
    eff = programme_effects(p, rec, seed=SEED, runs=1000).set_index("driver")
    r = eff.loc["R"]
    assert (r["effect_expected_met"], r["effect_expected_met_se"], r["effect_p_all"]) == (1.0, 0.0, 1.0)
    du = eff.loc[DURATION_UNCERTAINTY]
    assert (du["kind"], du["effect_expected_met"], du["effect_expected_met_se"]) == ("duration", 0.0, 0.0)


def test_programme_effects_of_duration_uncertainty_match_the_records(tmp_path):
    """One item, uniform(0.5, 1.5), due at plan: at the median it is always met, so the effect of
    duration uncertainty on the expected number met is exactly the run's share of misses."""
    from sim.analysis.risk_effects import DURATION_UNCERTAINTY, programme_effects

    p = plan([item("B", 100, mult=dist("uniform", 0.5, 1.5))],
             targets=[target("TB", ["B"], TargetRule.ITEM_BY, day(99))])
    _, rec = simulate(p, tmp_path, runs=2000)
    du = programme_effects(p, rec, seed=SEED, runs=2000).set_index("driver").loc[DURATION_UNCERTAINTY]
    miss = 1.0 - rec["met:TB"].to_numpy(float)
    assert du["effect_expected_met"] == pytest.approx(miss.mean(), abs=1e-12)
    assert du["effect_expected_met_se"] == pytest.approx(miss.std(ddof=1) / np.sqrt(2000), rel=1e-9)
    assert du["effect_p_all"] == pytest.approx(miss.mean(), abs=1e-12)  # TB is the only (first-section) target
    se = np.sqrt(0.25 / 2000)
    assert abs(du["effect_expected_met"] - 0.5) < 4 * se
