"""Actuals: reading the CSV (every problem named by file, line, column) and moving a plan to an as-of date."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from planfactory import AS_OF, Kpi, KpiKind, Risk, Target, TargetRule, dist, item, plan
from sim.model.actuals import Actuals, Fact, FactKind, apply_actuals, parse_actuals, read_actuals
from sim.engine.compiled import compile_plan
from sim.engine.replicate import Engine, run_chunk
from sim.model.enums import KpiMeasure, RiskPhase, Status
from sim.model.load import load_plan
from sim.model.problems import PlanError
from conftest import MINI_PARAMS as FIXTURE

HEADER = "kind,id,date,reported,value,source,note\n"


@pytest.fixture(scope="module")
def mini():
    return load_plan(FIXTURE)


def problems(text: str, plan) -> list:
    with pytest.raises(PlanError) as err:
        parse_actuals(HEADER + text, file="acts.csv", plan=plan)
    return err.value.problems


def fact(kind: str, iid: str, when: date, *, reported: date | None = None, value: float | None = None) -> Fact:
    return Fact(FactKind(kind), iid, when, reported or when, value, source="test")


# --- reading ------------------------------------------------------------------------------------

def test_reads_facts_with_defaults_and_hash(tmp_path: Path, mini):
    path = tmp_path / "a.csv"
    path.write_text(HEADER + "finish,T01,2020-11-30,,,news,\n"
                    "progress,T05.1,2021-06-30,2021-07-10,0.6,report,\n"
                    "kpi,KPI_HITECH,2020-12-31,2021-03-01,780,stats,\n", encoding="utf-8")
    acts = read_actuals(path, mini)
    assert [f.kind for f in acts.facts] == [FactKind.FINISH, FactKind.PROGRESS, FactKind.KPI]
    assert acts.facts[0].reported == date(2020, 11, 30)  # blank reported = date
    assert acts.facts[1].value == 0.6 and acts.facts[1].line == 3
    assert len(acts.sha256) == 64 and acts.latest == date(2021, 7, 10)
    assert acts.manifest(date(2020, 12, 31)) == {"file": str(path), "sha256": acts.sha256, "facts": 3,
                                                 "facts_used": 1}


def test_gbk_file_is_read(tmp_path: Path, mini):
    path = tmp_path / "gbk.csv"
    path.write_bytes((HEADER + "finish,T01,2020-11-30,,,温州发布,通车\n").encode("gb18030"))
    assert read_actuals(path, mini).facts[0].source == "温州发布"


def test_every_problem_is_named_by_line_and_column(mini):
    found = problems(
        "finish,T99,2020-11-30,,,news,\n"  # 2 unknown item
        "done,T01,2020-11-30,,,news,\n"  # 3 unknown kind
        "finish,T01,2020-13-01,,,news,\n"  # 4 bad date
        "start,T01,2020-06-01,2020-05-01,,news,\n"  # 5 reported before date
        "progress,T05.1,2021-01-01,,1.5,news,\n"  # 6 progress out of range
        "progress,T05.1,2021-01-01,,,news,\n"  # 7 progress without value
        "start,T13,2020-06-01,,0.5,news,\n"  # 8 value on a start
        "kpi,KPI_HITECH,2020-12-31,,,stats,\n"  # 9 kpi without value
        "kpi,T01,2020-12-31,,5,stats,\n"  # 10 kpi fact naming an item
        "finish,T08,2020-12-31,,,,\n",  # 11 no source
        mini)
    where = {(p.row, p.column) for p in found}
    assert {(2, "id"), (3, "kind"), (4, "date"), (5, "reported"), (6, "value"), (7, "value"), (8, "value"),
            (9, "value"), (10, "id"), (11, "source")} <= where
    assert all(p.file == "acts.csv" for p in found)
    unknown = next(p for p in found if p.row == 2)
    assert "T99" in unknown.message and "item" in unknown.message


def test_unknown_id_hint_suggests_close_ids(mini):
    (p,) = problems("finish,T05.3,2020-11-30,,,news,\n", mini)
    assert "T05.1" in p.hint or "T05.2" in p.hint


def test_finish_before_start_and_duplicates(mini):
    found = problems("start,T13,2021-06-01,,,a,\n"
                     "finish,T13,2021-01-01,,,a,\n"
                     "finish,T13,2021-02-01,,,a,\n", mini)
    messages = " | ".join(str(p) for p in found)
    assert "before its start" in messages and "second finish" in messages
    assert {p.row for p in found} == {3, 4}


def test_progress_must_not_fall_or_follow_the_finish(mini):
    found = problems("progress,T05.1,2021-01-01,,0.6,a,\n"
                     "progress,T05.1,2021-06-01,,0.4,a,\n"
                     "finish,T08,2021-01-01,,,a,\n"
                     "progress,T08,2021-03-01,,0.9,a,\n", mini)
    text = " | ".join(str(p) for p in found)
    assert "falls" in text and "after it finished" in text


def test_missing_and_unknown_columns(mini):
    with pytest.raises(PlanError) as err:
        parse_actuals("kind,id,when,source\nfinish,T01,2020-01-01,a\n", file="x.csv", plan=mini)
    cols = {p.column for p in err.value.problems}
    assert {"date", "when"} <= cols


def test_missing_file_is_a_plan_error(tmp_path: Path, mini):
    with pytest.raises(PlanError, match="cannot be read"):
        read_actuals(tmp_path / "nope.csv", mini)


# --- applying -----------------------------------------------------------------------------------

def test_no_facts_at_the_plan_date_changes_nothing(mini):
    assert apply_actuals(mini, (), mini.as_of) == mini


def test_as_of_before_plan_date_is_refused(mini):
    with pytest.raises(ValueError, match="before the plan"):
        apply_actuals(mini, (), mini.as_of - timedelta(days=1))


def test_only_facts_reported_by_the_as_of_date_are_used(mini):
    late = fact("finish", "T01", date(2020, 11, 30), reported=date(2021, 2, 1))
    before = apply_actuals(mini, [late], date(2020, 12, 31))
    after = apply_actuals(mini, [late], date(2021, 2, 1))
    assert before.item("T01").actual_finish is None
    assert after.item("T01").actual_finish == date(2020, 11, 30)
    assert after.item("T01").status is Status.DONE


def test_items_by_state(mini):
    facts = [fact("finish", "T01", date(2020, 11, 30)), fact("start", "T13", date(2020, 9, 1)),
             fact("progress", "T05.1", date(2020, 10, 31), value=0.6)]
    p = apply_actuals(mini, facts, date(2020, 12, 31))
    t01, t13, t05 = p.item("T01"), p.item("T13"), p.item("T05.1")
    assert (t01.actual_start, t01.actual_finish) == (mini.item("T01").plan_start, date(2020, 11, 30))
    assert t13.actual_start == date(2020, 9, 1) and t13.status is Status.IN_PROGRESS
    assert t05.actual_start == mini.item("T05.1").plan_start and t05.percent_complete == 0.6
    # plan dates are never overwritten
    assert all(a.plan_finish == b.plan_finish and a.plan_start == b.plan_start for a, b in zip(mini.items, p.items))
    assert p.as_of == date(2020, 12, 31)


def test_params_in_progress_items_get_their_plan_start_as_actual_start(mini):
    p = apply_actuals(mini, (), date(2021, 12, 31))
    b01 = p.item("B01.2020")
    assert mini.item("B01.2020").status is Status.IN_PROGRESS
    assert b01.actual_start == mini.item("B01.2020").plan_start
    assert p.item("K01").actual_start == mini.as_of  # plan start == plan date


def test_not_started_item_keeps_its_whole_planned_duration(mini):
    p = apply_actuals(mini, (), date(2020, 12, 31))
    e02 = p.item("E02.1")  # planned 2020-03-01..2020-06-30, not started
    assert e02.status is Status.NOT_STARTED and e02.actual_start is None
    assert e02.duration_days == pytest.approx(122.0)  # working days 03-01..06-30 (no windows then)


def test_progress_zero_without_start_is_not_a_start(mini):
    p = apply_actuals(mini, [fact("progress", "E02.1", date(2020, 6, 1), value=0.0)], date(2020, 12, 31))
    assert p.item("E02.1").actual_start is None


def test_shocks_risks_checkpoints(mini):
    shock = mini.shocks[0]
    straddle = replace(shock, id="S2", window_start=date(2020, 6, 1), window_end=date(2021, 6, 1))
    risk = Risk("R_START", "r", "r", 0.5, dist("fixed", 10), ("T13", "T05.2"), phase=RiskPhase.START)
    base = replace(mini, shocks=(shock, straddle), risks=(risk,))
    notes: list[str] = []
    p = apply_actuals(base, [fact("start", "T13", date(2020, 9, 1))], date(2020, 12, 31), notes=notes)
    assert [s.id for s in p.shocks] == ["S2"] and p.shocks[0].window_start == date(2020, 12, 31)
    assert p.risks[0].targets == ("T05.2",)  # T13 already started
    assert p.checkpoints == (date(2020, 12, 31), date(2021, 12, 31), date(2022, 12, 31))
    p2 = apply_actuals(base, (), date(2021, 1, 1))
    assert p2.checkpoints == (date(2021, 12, 31), date(2022, 12, 31))
    assert any("dropped" in n for n in notes) and any("clipped" in n for n in notes)


def test_start_risk_on_only_started_items_is_dropped(mini):
    risk = Risk("R", "r", "r", 0.5, dist("fixed", 10), ("T13",), phase=RiskPhase.START)
    p = apply_actuals(replace(mini, risks=(risk,)), [fact("start", "T13", date(2020, 9, 1))], date(2020, 12, 31))
    assert p.risks == ()


def test_kpi_starts_from_its_observed_value(mini):
    p = apply_actuals(mini, [fact("kpi", "KPI_HITECH", date(2021, 12, 31), value=780.0)], date(2021, 12, 31))
    k = next(k for k in p.kpis if k.id == "KPI_HITECH")
    assert k.baseline == 780.0


def test_stale_kpi_restarts_from_its_observation_date_and_is_noted(mini):
    notes: list[str] = []
    p = apply_actuals(mini, [fact("kpi", "KPI_PLATFORMS", date(2020, 12, 31), value=9.0)], date(2021, 12, 31),
                      notes=notes)
    k = next(k for k in p.kpis if k.id == "KPI_PLATFORMS")
    assert k.measure is KpiMeasure.STOCK and k.attrition_years is None  # cumulative continues as a stock
    assert k.baseline == 9.0 and k.origin == date(2020, 12, 31)  # the engine simulates it from there
    assert any("KPI_PLATFORMS" in n and "365 days" in n for n in notes)


def test_kpi_observation_excludes_steps_already_in_it():
    k = Kpi("K", "k", "k", KpiKind.COUNTER, "n", baseline=10.0, rate_per_year=0.0)
    boost = replace(_boost(), kpi="K", item="A", step=5.0)
    base = replace(plan([item("A", 10)], kpis=[k]), kpi_boosts=(boost,))
    facts = [fact("finish", "A", AS_OF + timedelta(days=20)), fact("kpi", "K", AS_OF + timedelta(days=30), value=15.0)]
    p = apply_actuals(base, facts, AS_OF + timedelta(days=30))
    assert p.kpis[0].baseline == 10.0  # 15 observed = 10 + the step the engine adds again at day 0


def _boost():
    from sim.model.entities import KpiBoost

    return KpiBoost("K", "A", 0.0)


def test_past_kpi_target_is_decided_by_the_fact():
    k = Kpi("K", "k", "k", KpiKind.COUNTER, "n", baseline=0.0, rate_per_year=10.0)
    met = Target("TM", "t", "t", "headline", TargetRule.KPI_GE, ("K",), date(2020, 6, 30), threshold=5.0)
    miss = Target("TN", "t", "t", "headline", TargetRule.KPI_GE, ("K",), date(2020, 6, 30), threshold=50.0)
    later = Target("TL", "t", "t", "headline", TargetRule.KPI_GE, ("K",), date(2021, 12, 31), threshold=50.0)
    base = plan([item("A", 10)], kpis=[k], targets=[met, miss, later])
    p = apply_actuals(base, [fact("kpi", "K", date(2020, 6, 30), value=7.0)], date(2020, 12, 31))
    by = {t.id: t for t in p.targets}
    assert by["TM"].threshold == -math.inf and by["TN"].threshold == math.inf
    assert by["TM"].deadline == date(2020, 12, 31) and "met per actuals" in by["TM"].name_en
    assert by["TL"] == later
    assert min(t.deadline for t in p.targets) >= p.as_of  # no KPI day before day 0


def test_cagr_target_becomes_the_value_it_asks_for_once_the_date_moves():
    k = Kpi("K", "k", "k", KpiKind.INDEX, "cny", baseline=100.0, rate_per_year=0.2)
    t = Target("TG", "t", "t", "headline", TargetRule.KPI_CAGR_GE, ("K",), date(2022, 12, 31), threshold=0.3)
    base = plan([item("A", 10)], kpis=[k], targets=[t])
    as_of = date(2021, 1, 1)
    p = apply_actuals(base, [fact("kpi", "K", as_of, value=150.0)], as_of)
    need = 100.0 * 1.3 ** (((t.deadline - AS_OF).days + 1) / 365.25)
    assert p.targets[0].rule is TargetRule.KPI_GE and p.targets[0].threshold == pytest.approx(need)
    assert p.kpis[0].baseline == 150.0 and p.kpis[0].origin is None


def test_overdue_item_beyond_the_tail_finishes_on_the_as_of_date():
    from sim.model.entities import DurationClass

    ln = dist("lognormal", 1.05, 1.35, floor=0.95)
    a = replace(item("A", 30, mult=None, ptype="g"), duration_days=None, status=Status.IN_PROGRESS,
                plan_start=AS_OF - timedelta(days=10), plan_finish=AS_OF + timedelta(days=140))
    base = plan([a], classes=(DurationClass("g", "g", ln),))
    notes: list[str] = []
    p = apply_actuals(base, (), AS_OF + timedelta(days=900), notes=notes)
    assert any("tail" in n and "item A" in n for n in notes)
    rec = run_chunk(compile_plan(p), seed=1, chunk=0, rows=100, engine=Engine.VECTOR)
    assert np.all(np.isfinite(rec.finish)) and np.all(rec.finish[:, 0] <= 1.0)  # finishes at once


def test_actuals_known_by():
    acts = Actuals((fact("finish", "A", date(2020, 5, 1), reported=date(2020, 6, 1)),))
    assert acts.known_by(date(2020, 5, 31)) == () and len(acts.known_by(date(2020, 6, 1))) == 1
    assert np.isfinite(len(acts.facts))
