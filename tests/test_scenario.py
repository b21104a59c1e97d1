"""Scenario files: errors name file and key, engine-consistent derived values, CRN, shipped scenarios."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.engine.compiled import compile_plan
from sim.engine.distributions import scale_median
from sim.engine.replicate import run_chunk
from sim.model.enums import Status
from sim.model.load import load_plan
from sim.model.problems import PlanError
from sim.model.scenario import (
    MONTH_DAYS, apply_scenario, effective_multiplier, load_scenario, parse_duration,
    scenario_from_dict, slip_work_days,
)
from conftest import ROOT, MINI_PARAMS as FIXTURE

SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))


@pytest.fixture(scope="module")
def plan():
    return load_plan(FIXTURE)


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path, plan) -> list:
    with pytest.raises(PlanError) as err:
        apply_scenario(plan, load_scenario(path))
    return err.value.problems


@pytest.mark.parametrize("text, days", [(45, 45.0), ("45", 45.0), ("10d", 10.0), ("2w", 14.0), ("6m", 6 * MONTH_DAYS),
                                        ("1y", 365.25), ("0.75m", 0.75 * MONTH_DAYS), ("-3m", -3 * MONTH_DAYS),
                                        ("six months", None), (True, None), ([1], None)])
def test_parse_duration(text, days):
    assert parse_duration(text) == (pytest.approx(days) if days is not None else None)


# --- malformed files: every problem names the file and the dotted key -----------------------------

@pytest.mark.parametrize("text, column, words", [
    ("itemz: {}\n", "itemz", "did you mean items"),
    ("items:\n  T13: {multipler: 1.2}\n", "items.T13.multipler", "did you mean multiplier"),
    ("items:\n  T13: {multiplier: {dist: lognormal, p1: 1.0, p4: 2}}\n", "items.T13.multiplier.p4", "unknown key"),
    ("shocks:\n  S_COVID: {probability: high}\n", "shocks.S_COVID.probability", "must be a number"),
    ("shocks:\n  S_COVID: {probability: 1.5}\n", "shocks.S_COVID.probability", "<= 1"),
    ("items:\n  T13: {status: finished}\n", "items.T13.status", "unknown value"),
    ("items:\n  T13: {plan_finish: 2022-13-01}\n", None, "impossible date"),
    ("items:\n  T13: {plan_finish: '2022-13-01'}\n", "items.T13.plan_finish", "date"),
    ("items:\n  T13: {multiplier: {dist: lognormal, p1: 1.0, p2: 0.8}}\n", "items.T13.multiplier", "P90 > median"),
    ("slip: {T14: soon}\n", "slip.T14", "duration"),
    ("adjust:\n  - {multiplier_scale: 0.9}\n", "adjust[0].select", "required"),
    ("units:\n  OH_GOV: {capacity: 2.5}\n", "units.OH_GOV.capacity", "whole number"),
    ("assumptions: {as_of: 2020-02-01}\n", "assumptions.as_of", "top-level"),
    ("- just\n- a list\n", None, "mapping"),
])
def test_wrong_keys_and_types(tmp_path, text, column, words):
    path = _write(tmp_path, text)
    with pytest.raises(PlanError) as err:
        load_scenario(path)
    (p,) = err.value.problems
    assert p.file == str(path) and p.column == column and words in str(p)


@pytest.mark.parametrize("text, column, words", [
    ("slip: {T99: 6m}\n", "slip.T99", "unknown item 'T99'"),
    ("items:\n  T1: {outdoor: false}\n", "items.T1", "did you mean"),
    ("risks:\n  R_LANDX: {probability: 0.5}\n", "risks.R_LANDX", "unknown risk"),
    ("shocks:\n  S_COVID: {affects: [type:nowhere]}\n", "shocks.S_COVID.affects", "unknown project type"),
    ("assumptions: {nonsense: 3}\n", "assumptions.nonsense", "unknown assumption"),
    ("items:\n  T13: {project_type: spaceport}\n", "items.T13.project_type", "unknown project type"),
    ("remove:\n  items: [T05.2]\n", "remove.items[0]", "still a ref of target TT05"),
    ("remove:\n  links: [{pred: T01, succ: T08}]\n", "remove.links[0]", "no such link"),
    ("add:\n  links: [{pred: T05.2, succ: T05.1, type: FS}]\n", "add.links[0]", "dependency cycle"),
    ("add:\n  links: [{pred: T01, succ: T05.2, type: FS, lag_days: -1m}]\n", "add.links[0].lag_days", ">= 0"),
    ("add:\n  items: [{id: T01, campaign: transport, name_en: x, project_type: arterial, status: not_started,"
     " plan_finish: 2021-01-01}]\n", "add.items[0].id", "already has id"),
    ("adjust:\n  - {select: [campaign:keywork], status: done, multiplier_scale: 0.9}\n", "adjust[0].select",
     "matches no item"),
    ("slip: {X_DONE: 1m}\nitems:\n  X_HSR: {status: done}\n", "slip.X_DONE", "unknown item"),
    ("factors:\n  F_TRANSPORT: {loading: 0.8}\n", "factors.F_TRANSPORT", "> 1"),
    ("as_of: 2021-06-01\n", "as_of", "checkpoint 2020-12-31 is before as_of"),
    ("targets:\n  HBLOCKS: {k: 5}\n", "targets.HBLOCKS", "k = 5"),
    ("kpis:\n  KPI_TECHTRADE: {rate_per_year: -2}\n", "kpis.KPI_TECHTRADE.rate_per_year", "growth rate must be > -1"),
])
def test_unknown_ids_and_broken_references(tmp_path, plan, text, column, words):
    problems = _problems(_write(tmp_path, text), plan)
    assert any(p.column == column and words in str(p) for p in problems), [str(p) for p in problems]
    assert all(p.file.endswith("s.yaml") for p in problems)


def test_slip_of_a_done_item(tmp_path, plan):
    _write(tmp_path, "items:\n  X_HSR: {status: done}\n", "base.yaml")
    child = _write(tmp_path, "extends: base.yaml\nslip: {X_HSR: 1m}\n", "child.yaml")
    problems = _problems(child, plan)
    assert [p.column for p in problems] == ["slip.X_HSR"] and "is done" in problems[0].message
    assert problems[0].file == str(child)


def test_bad_yaml_names_the_line(tmp_path):
    path = _write(tmp_path, "slip:\n  T14: [6m\n")
    with pytest.raises(PlanError) as err:
        load_scenario(path)
    (p,) = err.value.problems
    assert p.file == str(path) and p.row == 3 and "not valid YAML" in p.message


def test_extends_cycle_and_missing_parent(tmp_path):
    _write(tmp_path, "extends: b.yaml\n", "a.yaml")
    _write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(PlanError, match="cycle"):
        load_scenario(tmp_path / "a.yaml")
    with pytest.raises(PlanError, match="does not exist"):
        load_scenario(_write(tmp_path, "extends: nowhere.yaml\n", "c.yaml"))


def test_every_problem_is_reported_at_once(tmp_path, plan):
    with pytest.raises(PlanError) as err:
        load_scenario(_write(tmp_path, "itemz: {}\nslip: {T14: soon}\nshocks:\n  S_COVID: {probability: 2}\n"))
    assert len(err.value.problems) == 3


@pytest.mark.parametrize("text", ["itemz: {}\n", "slip: {T99: 1m}\n", "slip: [6m\n"])
def test_cli_reports_bad_scenarios_without_traceback(tmp_path, capsys, text):
    path = _write(tmp_path, text)
    code = main(["run", "--no-report", str(path), "--params", str(FIXTURE), "--runs", "10", "--workers", "1", "--quiet",
                 "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and str(path) in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_cli_run_with_a_scenario_records_it(tmp_path, capsys):
    import json

    path = _write(tmp_path, "description: test\nslip: {T05.1: 1m}\n", "slipped.yaml")
    assert main(["run", "--no-report", str(path), "--params", str(FIXTURE), "--runs", "21", "--workers", "1", "--quiet",
                 "--out", str(tmp_path / "run")]) == 0
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["scenario"] == "slipped" and manifest["scenario_file"] == str(path)
    assert len(manifest["scenario_hash"]) == 64


# --- derived values agree with the engine's compilation -------------------------------------------

def test_effective_multiplier_matches_the_compiled_model(plan):
    model = compile_plan(plan)
    uplift = float(plan.assumption("aspirational_uplift"))
    for k, iid in enumerate(model.item_ids):
        item = plan.item(iid)
        dist = effective_multiplier(plan, item)
        if item.finish_aspirational:
            dist = scale_median(dist, uplift)
        assert dist == model.mult_dist[k], iid


@pytest.mark.parametrize("changes", [
    {"status": Status.IN_PROGRESS, "actual_start": date(2019, 6, 1), "percent_complete": 0.4},
    {"status": Status.IN_PROGRESS, "actual_start": date(2019, 6, 1)},
    {"status": Status.IN_PROGRESS, "plan_start": date(2019, 1, 1), "plan_finish": date(2019, 12, 31)},
    {"status": Status.NOT_STARTED, "plan_start": date(2019, 12, 1)},
])
def test_effective_multiplier_matches_the_engine_for_reported_progress(plan, changes):
    import dataclasses

    items = tuple(dataclasses.replace(i, **changes) if i.id == "T05.1" else i for i in plan.items)
    moved = dataclasses.replace(plan, items=items)
    model = compile_plan(moved)
    k = model.index["T05.1"]
    assert effective_multiplier(moved, moved.item("T05.1")) == model.mult_dist[k]


def test_slip_work_days_counts_the_calendar(plan):
    t01 = plan.item("T01")  # plan finish 2020-12-31; Spring Festival 2021 is 2021-02-05 .. 2021-02-26
    assert slip_work_days(plan, t01, 30) == 30
    assert slip_work_days(plan, t01, 90) == 90 - 22
    assert slip_work_days(plan, t01, -30) == -30


def test_empty_scenario_changes_nothing(plan, tmp_path):
    same = apply_scenario(plan, load_scenario(_write(tmp_path, "description: nothing\n")))
    assert same.items == plan.items and same.links == plan.links and same.risks == plan.risks
    assert same.shocks == plan.shocks and same.targets == plan.targets and same.assumptions == plan.assumptions


def test_scenarios_share_draws_of_unchanged_quantities(plan):
    """Common random numbers: changing one shock leaves every multiplier draw as it was."""
    changed = apply_scenario(plan, scenario_from_dict({"shocks": {"S_COVID": {"probability": 0.3}},
                                                       "slip": {"T05.1": 30}}, name="x"))
    a = run_chunk(compile_plan(plan), seed=7, chunk=0, rows=200)
    b = run_chunk(compile_plan(changed), seed=7, chunk=0, rows=200)
    assert np.array_equal(a.multiplier, b.multiplier) and np.array_equal(a.factor, b.factor)
    fired = np.isfinite(b.shock_start[:, 0])
    assert 0 < fired.mean() < 1 and np.array_equal(a.shock_start[fired], b.shock_start[fired])


# --- the shipped scenarios -------------------------------------------------------------------

@pytest.mark.skipif(not (ROOT / "params" / "items.csv").is_file(), reason="params/ not present")
@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenarios_apply_to_params(path):
    real = load_plan(ROOT / "params")
    scenario = load_scenario(path)
    assert len(scenario.description) > 200, "each shipped scenario carries its rationale and sources"
    changed = apply_scenario(real, scenario)
    compile_plan(changed)
    if path.stem == "baseline":
        assert changed.items == real.items and changed.shocks == real.shocks and changed.risks == real.risks


def test_shipped_scenarios_are_the_six_of_the_issue():
    assert {p.stem for p in SHIPPED} >= {"baseline", "covid-2020", "s2-slip-6m", "funding-squeeze", "accelerated",
                                         "typhoon-severe"}
