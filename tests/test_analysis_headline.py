"""The report's bottom line (sim.analysis.headline) against exact answers and direct computations.

The plan: X and Y take 100 working days with a uniform(0.5, 1.5) multiplier and are
due at their plan date, so each is met exactly when its multiplier is <= 1:
P = 1/2 each, independently (no common factor), P(both) = 1/4. A (fixed, early) is
always met, B (fixed, 50 days late) never. D is due 2020-06-30 but finishes with E
(SYNC), which the plan dates 2021: unreachable as planned.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from planfactory import day, dist, item, link, plan

from sim.analysis import headline as hl
from sim.analysis.summary import Z95
from sim.engine.replicate import column
from sim.engine.runner import Executor, RunConfig
from sim.model.entities import Target
from sim.model.enums import TargetRule
from sim.model.planmeta import EndDate, Label, PlanMeta
from sim.results import read_records
from sim.studies.workflow import run_plan

RUNS = 4000
END1, END2 = day(99), day(400)


def _t(tid, refs, deadline, section="head", rule=TargetRule.ITEM_BY, k=None):
    return Target(id=tid, name_zh=tid, name_en=tid, section=section, rule=rule, refs=tuple(refs), deadline=deadline,
                  k=k)


def headline_plan(seed_shift: float = 1.0):
    uni = dist("uniform", 0.5, 1.5)
    items = [item("X", 100, mult=uni), item("Y", 100, mult=uni), item("A", 50), item("B", 150 * seed_shift),
             item("D", 20), item("E", 500)]
    targets = [_t("TG_X", ["X"], END1), _t("TG_Y", ["Y"], END1), _t("TG_A", ["A"], END2, section="other"),
               _t("TG_B", ["B"], day(99), section="other"), _t("TG_D", ["D"], END2, section="other"),
               _t("TG_XY", ["TG_X", "TG_Y", "TG_D"], END2, rule=TargetRule.K_OF_N, k=2, section="other")]
    p = plan(items, [link("D", "E", "SYNC")], targets=targets)
    meta = PlanMeta(title_zh="测试", title_en="test", end_dates=(EndDate(END1, "中期", "mid"), EndDate(END2, "期末", "end")),
                    campaigns=(Label("transport", "交通", "transport"),),
                    sections=(Label("head", "主要目标", "headline"), Label("other", "其他", "other")))
    return replace(p, meta=meta)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("hl") / "run"
    p = headline_plan()
    run_plan(p, config=RunConfig(runs=RUNS, seed=11, workers=1, executor=Executor.INLINE), out=out)
    return p, read_records(out), pd.read_csv(out / "targets.csv")


def test_expected_counts_match_the_records_and_the_exact_answer(run):
    p, rec, targets = run
    h = hl.headline(p, rec, targets)
    by = h.end_dates.set_index("end_date")
    # END1: TG_X, TG_Y, TG_B due (day 99); exactly 1/2 + 1/2 + 0 = 1 expected
    due1 = ["TG_X", "TG_Y", "TG_B"]
    count = rec[[column("met", t) for t in due1]].sum(axis=1).to_numpy()
    row = by.loc[END1]
    assert row["targets"] == 3
    assert row["expected_met"] == pytest.approx(count.mean(), abs=1e-12)
    assert row["se"] == pytest.approx(count.std(ddof=1) / np.sqrt(RUNS), rel=1e-9)
    assert abs(row["expected_met"] - 1.0) < 4 * row["se"]
    assert (row["p10"], row["p50"], row["p90"]) == (0.0, 1.0, 2.0)  # 0, 1, 2 with probabilities 1/4, 1/2, 1/4
    # END2: TG_A (always), TG_D (SYNC with E, late), TG_XY (2 of X, Y, D) = 1 + P(D) + P(X and Y)
    row2 = by.loc[END2]
    assert row2["targets"] == 3
    direct = rec[[column("met", t) for t in ("TG_A", "TG_D", "TG_XY")]].sum(axis=1)
    assert row2["expected_met"] == pytest.approx(direct.mean(), abs=1e-12)
    assert abs(row2["expected_met"] - 1.25) < 4 * row2["se"]


def test_p_all_headline_is_the_product_for_independent_items(run):
    p, rec, targets = run
    got = hl.p_all_met(p, rec)
    direct = (rec[column("met", "TG_X")].astype(bool) & rec[column("met", "TG_Y")].astype(bool)).mean()
    assert got["targets"] == 2 and got["p"] == pytest.approx(direct, abs=1e-12)
    se = np.sqrt(0.25 * 0.75 / RUNS)
    assert got["se"] == pytest.approx(np.sqrt(direct * (1 - direct) / RUNS), rel=1e-9)
    assert abs(got["p"] - 0.25) < 4 * se


def test_headline_targets_sorted_with_bands(run):
    p, rec, targets = run
    t = hl.headline_targets(p, targets)
    assert list(t["id"]) == sorted(["TG_X", "TG_Y"], key=lambda i: (targets.set_index("id").loc[i, "p_met"], i))
    assert t["p_met"].is_monotonic_increasing
    assert list(t["band"]) == [hl.rag(x) for x in t["p_met"]]
    assert [hl.rag(x) for x in (0.0, 0.49, 0.5, 0.79, 0.8, 1.0)] == ["red", "red", "amber", "amber", "green", "green"]


def test_unreachable_is_found_from_the_links(run):
    p, rec, targets = run
    u = hl.unreachable_targets(p).set_index("id")
    # TG_D: D finishes with E (SYNC), planned day 499 > day 400; TG_B: B itself planned after its deadline.
    # TG_XY (2 of X, Y, D) can still be met by X and Y, so it is not ruled out.
    assert set(u.index) == {"TG_D", "TG_B"}
    assert u.loc["TG_D", "blockers"] == "E" and "SYNC E" in u.loc["TG_D", "reason_en"]
    assert "E" in u.loc["TG_D", "reason_zh"] and "晚于期限" in u.loc["TG_D", "reason_zh"]
    assert u.loc["TG_B", "blockers"] == "B"
    # and the records agree: never met
    assert targets.set_index("id").loc[["TG_D", "TG_B"], "p_met"].eq(0).all()


def test_k_of_n_is_unreachable_when_too_few_refs_can_be_done():
    p = headline_plan()
    tg = tuple(t if t.id != "TG_XY" else replace(t, refs=("TG_X", "TG_D", "TG_B"), k=2) for t in p.targets)
    u = hl.unreachable_targets(replace(p, targets=tg)).set_index("id")
    assert "TG_XY" in u.index and set(u.loc["TG_XY", "blockers"].split(";")) == {"E", "B"}


def test_compare_with_itself_is_zero_and_with_a_change_is_paired(run, tmp_path):
    p, rec, targets = run
    same = hl.compare_runs(p, rec, p, rec)
    assert (same["difference"] == 0).all() and (same["se"] == 0).all() and not same["significant"].any()
    # a run where B is on time (fixed 50 days): TG_B goes from never to always, everything else identical
    p2 = headline_plan(seed_shift=1 / 3)
    out = run_plan(p2, config=RunConfig(runs=RUNS, seed=11, workers=1, executor=Executor.INLINE), out=tmp_path / "r2")
    rec2 = read_records(out)
    ch = hl.compare_runs(p2, rec2, p, rec).set_index(["metric", "target"])
    assert ch.loc[("p_met", "TG_B"), "difference"] == 1.0 and ch.loc[("p_met", "TG_B"), "se"] == 0.0
    assert ch.loc[("p_met", "TG_X"), "difference"] == 0.0  # common random numbers: X is drawn identically
    assert ch.loc[("expected_met", END1.isoformat()), "difference"] == pytest.approx(1.0)
    d = rec2[column("met", "TG_B")].to_numpy(float) - rec[column("met", "TG_B")].to_numpy(float)
    assert ch.loc[("p_met", "TG_B"), "significant"] == bool(abs(d.mean()) > Z95 * d.std(ddof=1) / np.sqrt(RUNS))


def test_programme_drivers_sorted_by_absolute_effect():
    eff = pd.DataFrame({"driver": ["a", "b", "c"], "kind": ["risk"] * 3, "effect_expected_met": [0.1, -0.5, 0.3],
                        "effect_expected_met_se": [0.01] * 3, "effect_p_all": [0.0] * 3, "effect_p_all_se": [0.0] * 3})
    assert list(hl.programme_drivers(eff)["driver"]) == ["b", "c", "a"]
    assert hl.programme_drivers(None).empty


def test_scenario_headlines_are_paired_against_the_reference(run, tmp_path):
    p, rec, targets = run
    p2 = headline_plan(seed_shift=1 / 3)  # B on time: TG_B always met; everything else drawn identically
    out = run_plan(p2, config=RunConfig(runs=RUNS, seed=11, workers=1, executor=Executor.INLINE), out=tmp_path / "r2")
    rec2 = read_records(out)
    t = hl.scenario_headlines({"baseline": (p, rec), "fast_b": (p2, rec2)}, reference="baseline")
    t = t.set_index(["scenario", "metric", "end_date"])
    base = t.loc[("baseline", "expected_met", END1.isoformat())]
    direct = rec[[column("met", x) for x in ("TG_X", "TG_Y", "TG_B")]].sum(axis=1)
    assert base["value"] == pytest.approx(direct.mean(), abs=1e-12) and np.isnan(base["difference"])
    fast = t.loc[("fast_b", "expected_met", END1.isoformat())]
    assert (fast["difference"], fast["difference_se"]) == (1.0, 0.0) and fast["excludes_zero"]
    head = t.loc[("fast_b", "p_all_headline", "")]  # the headline targets TG_X, TG_Y are not changed
    assert head["difference"] == 0.0 and head["value"] == pytest.approx(hl.p_all_met(p, rec)["p"], abs=1e-12)
