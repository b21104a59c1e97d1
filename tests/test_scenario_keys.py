"""Every scenario key (scenarios/README.md) is exercised here, on the mini fixture params."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest
import yaml

from sim.engine.compiled import compile_plan
from sim.model.enums import DistFamily, LinkType, RiskMode, RiskPhase, Status, TargetRule
from sim.model.load import load_plan
from sim.model.scenario import (
    MONTH_DAYS, apply_scenario, effective_multiplier, load_scenario, schema_keys, slip_work_days,
)
from conftest import MINI_PARAMS as FIXTURE


SINK = """
description: every key of scenarios/README.md
as_of: 2020-01-20
assumptions:
  checkpoints: [2020-12-31, 2021-12-31, 2022-12-31, 2023-12-31]
  aspirational_uplift: 1.2
  horizon_years: 12
  preconstruction_type: preconstruction
remove:
  items: [E02.2]
  links: [{pred: T05.1, succ: T05.2, type: FS}]
  risks: [R_LAND]
  shocks: [S_COVID]
  targets: [HTECHTRADE]
  factors: [F_OUHAI]
  kpi_boosts: [{kpi: KPI_PLATFORMS, item: K02}]
add:
  duration_classes:
    - {project_type: bridge, name_en: Bridge, multiplier: {dist: lognormal, p1: 1.2, p2: 1.7, floor: 0.95},
       in_progress_sigma_scaling: false}
  units:
    - {id: NEW_U, name_zh: 新单位, name_en: New unit, capacity: 3}
  items:
    - id: T99
      group: T99
      campaign: transport
      units: ["*NEW_U", LW_GOV]
      name_zh: 新桥
      name_en: New bridge
      project_type: bridge
      status: not_started
      plan_start: 2020-06-30
      plan_finish: 2021-12-31
      start_aspirational: true
      finish_aspirational: false
      duration_days: 300
      multiplier: {dist: pert, p1: 0.9, p2: 1.0, p3: 1.5}
      calendar: construction
      outdoor: true
      resource_unit: NEW_U
      investment_cny_100m: 3.0
  links:
    - {pred: T01, succ: T99, type: FS, lag_days: 1m}
  risks:
    - {id: R_NEW, name_zh: 新风险, name_en: New risk, probability: 0.2,
       impact: {dist: triangular, p1: 10, p2: 20, p3: 1m}, targets: [T99], mode: common, phase: start}
  shocks:
    - {id: S_NEW, name_zh: 新冲击, name_en: New shock, probability: 0.5, window_start: 2020-07-01,
       window_end: 2020-08-31, length: {dist: uniform, p1: 1w, p2: 3w}, affects: [campaign:transport]}
  targets:
    - {id: TT99, name_zh: 新桥建成, name_en: New bridge built, section: transport, rule: k_of_n,
       refs: [T99, T01], k: 1, threshold: null, deadline: 2021-12-31}
  kpi_boosts:
    - {kpi: KPI_HITECH, item: T99, step: 5, rate_per_year: 2}
duration_classes:
  arterial: {multiplier: {dist: lognormal, p1: 1.1, p2: 1.5, floor: 0.95}, scale: 1.1, sigma_scale: 1.25,
             in_progress_sigma_scaling: false, name_en: Arterial (scenario)}
units:
  OH_GOV: {capacity: null, name_zh: 瓯海, name_en: Ouhai}
calendars:
  construction: [{start: 2020-08-01, end: 2020-08-10, name_en: extra stop}]
items:
  T13: {multiplier: {dist: discrete, values: [1.0, 1.5], weights: [0.7, 0.3]}, duration_days: 500,
        investment_cny_100m: 9.5,
        status: not_started, plan_start: 2020-03-01, plan_finish: 2023-12-31, start_aspirational: true,
        finish_aspirational: true, project_type: expressway, calendar: office, outdoor: false,
        resource_unit: OH_GOV, name_zh: 通海大道（情景）, name_en: Tonghai (scenario)}
factors:
  F_TRANSPORT: {loading: 0.4, members: [campaign:transport, T99]}
correlations:
  - {a: F_TRANSPORT, b: F_ALL, rho: 0.2}
risks:
  R_NEW: {probability: 0.3, impact: 15, targets: [T99, T01], mode: each, phase: duration,
          name_zh: 新风险2, name_en: New risk 2}
shocks:
  S_NEW: {probability: 0.6, window_start: 2020-07-05, window_end: 2020-08-05, length: 10,
          affects: "campaign:transport;campaign:block", name_zh: 新冲击2, name_en: New shock 2}
kpis:
  KPI_HITECH: {baseline: 650, rate_per_year: 170, rate_cv: 0.1, attrition_years: null, renewal_prob: 0.9,
               volatility: 0.01, name_zh: 高企, name_en: Hi-tech firms}
targets:
  HHITECH: {threshold: 950, deadline: 2022-06-30, k: null, refs: [KPI_HITECH], rule: kpi_ge, section: headline,
            name_zh: 高企950, name_en: 950 hi-tech firms}
cost_classes:
  arterial: {multiplier: {dist: lognormal_sigma, p1: 1.3, p2: 0.2}, rho_schedule: 0.5, standing_per_year: 0.1,
             profile_a: 3, profile_b: 2}
responses:
  RS_FIX: {cost_cny_100m: 2.5, value: 0.5}
apply_responses: [RS_FIX]
adjust:
  - {select: [campaign:environment], status: [not_started], multiplier_scale: 1.2, wait_scale: 0.5}
slip:
  T05.1: 2m
"""


def _paths(data: dict) -> set[str]:
    """The dotted keys a scenario mapping uses, ids left out (the form of schema_keys())."""
    by_id = {"duration_classes", "units", "items", "factors", "risks", "shocks", "kpis", "targets", "cost_classes",
             "responses"}
    out = set()
    for key, value in data.items():
        if key in by_id:
            out |= {f"{key}.{f}" for fields in value.values() for f in fields}
        elif key == "calendars":
            out |= {f"calendars.{f}" for rows in value.values() for row in rows for f in row}
        elif key in ("adjust", "correlations"):
            out |= {f"{key}.{f}" for row in value for f in row}
        elif key == "assumptions":
            out |= {f"assumptions.{f}" for f in value}
        elif key in ("add", "remove"):
            for sub, rows in value.items():
                if all(isinstance(r, dict) for r in rows):
                    out |= {f"{key}.{sub}.{f}" for r in rows for f in r}
                else:
                    out.add(f"{key}.{sub}")
        else:
            out.add(key)
    return out


@pytest.fixture(scope="module")
def base():
    return load_plan(FIXTURE)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("sink")
    (d / "sink.yaml").write_text(SINK, encoding="utf-8")
    (d / "child.yaml").write_text("extends: sink.yaml\nslip: {T05.1: 3m}\n", encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def sink(base, files):
    return apply_scenario(base, load_scenario(files / "child.yaml"))


def test_every_key_is_exercised(files):
    used = _paths(yaml.safe_load(SINK)) | _paths(yaml.safe_load((files / "child.yaml").read_text()))
    assert used == schema_keys(), (sorted(schema_keys() - used), sorted(used - schema_keys()))


def test_every_distribution_key_is_exercised():
    dists = [k for k in ("dist:", "p1:", "p2:", "p3:", "floor:", "values:", "weights:") if k not in SINK]
    assert dists == []


def test_extends_applies_the_base_first(files, base):
    scenario = load_scenario(files / "child.yaml")
    assert [Path(o.file).name for o in scenario.overlays] == ["sink.yaml", "child.yaml"]
    assert scenario.description == "every key of scenarios/README.md"
    assert len(scenario.digest) == 64


def test_as_of_and_assumptions(sink):
    assert sink.as_of == date(2020, 1, 20) and sink.assumption("as_of") == "2020-01-20"
    assert sink.checkpoints[-1] == date(2023, 12, 31)
    assert sink.assumption("aspirational_uplift") == "1.2"
    assert sink.assumption("horizon_years") == "12"
    assert sink.assumption("preconstruction_type") == "preconstruction"
    assert "scenario child" in sink.origin


def test_remove(sink, base):
    ids = {i.id for i in sink.items}
    assert "E02.2" not in ids and "E02.2" in {i.id for i in base.items}
    assert not any(ln.pred == "T05.1" and ln.succ == "T05.2" for ln in sink.links)
    assert {r.id for r in sink.risks} == {"R_NEW", "slip.T05.1"}
    assert {s.id for s in sink.shocks} == {"S_NEW"}
    assert "HTECHTRADE" not in {t.id for t in sink.targets}
    assert "F_OUHAI" not in {f.id for f in sink.factors}
    assert not any("F_OUHAI" in (c.a, c.b) for c in sink.factor_correlations)
    assert (("KPI_PLATFORMS", "K02") not in {(b.kpi, b.item) for b in sink.kpi_boosts})


def test_add(sink):
    cls = next(c for c in sink.duration_classes if c.project_type == "bridge")
    assert cls.multiplier.family is DistFamily.LOGNORMAL and cls.multiplier.floor == 0.95
    assert cls.in_progress_sigma_scaling is False
    unit = next(u for u in sink.units if u.id == "NEW_U")
    assert (unit.capacity, unit.name_zh) == (3, "新单位")
    t99 = sink.item("T99")
    assert t99.campaign == "transport" and t99.units == ("NEW_U", "LW_GOV") and t99.lead_units == ("NEW_U",)
    assert (t99.status, t99.plan_start, t99.plan_finish) == (Status.NOT_STARTED, date(2020, 6, 30), date(2021, 12, 31))
    assert t99.start_aspirational and not t99.finish_aspirational and t99.outdoor
    assert (t99.duration_days, t99.resource_unit, t99.calendar, t99.group) == (300, "NEW_U", "construction", "T99")
    assert t99.multiplier.family is DistFamily.PERT and t99.name_zh == "新桥"
    link = next(ln for ln in sink.links if ln.succ == "T99")
    assert (link.pred, link.type) == ("T01", LinkType.FS) and link.lag_days == pytest.approx(MONTH_DAYS)
    target = next(t for t in sink.targets if t.id == "TT99")
    assert (target.rule, target.refs, target.k, target.section) == (TargetRule.K_OF_N, ("T99", "T01"), 1, "transport")
    boost = next(b for b in sink.kpi_boosts if b.item == "T99")
    assert (boost.kpi, boost.step, boost.rate_per_year) == ("KPI_HITECH", 5, 2)


def test_added_risk_and_shock_then_changed(sink):
    risk = next(r for r in sink.risks if r.id == "R_NEW")
    assert (risk.probability, risk.targets, risk.mode, risk.phase) == (0.3, ("T99", "T01"), RiskMode.EACH,
                                                                      RiskPhase.DURATION)
    assert risk.impact.params == (15.0,) and (risk.name_zh, risk.name_en) == ("新风险2", "New risk 2")
    shock = next(s for s in sink.shocks if s.id == "S_NEW")
    assert (shock.probability, shock.window_start, shock.window_end) == (0.6, date(2020, 7, 5), date(2020, 8, 5))
    assert shock.affects == ("campaign:transport", "campaign:block") and shock.length.params == (10.0,)
    assert (shock.name_zh, shock.name_en) == ("新冲击2", "New shock 2")


def test_duration_class_changes(sink):
    cls = next(c for c in sink.duration_classes if c.project_type == "arterial")
    sigma = math.log(1.5 / 1.1) / 1.2815515655446004
    assert cls.multiplier.family is DistFamily.LOGNORMAL_SIGMA
    assert cls.multiplier.params == pytest.approx((1.1 * 1.1, sigma * 1.25))
    assert cls.multiplier.floor == pytest.approx(0.95 * 1.1)
    assert cls.in_progress_sigma_scaling is False and cls.name_en == "Arterial (scenario)"


def test_units_calendars_items_factors(sink):
    oh = next(u for u in sink.units if u.id == "OH_GOV")
    assert (oh.capacity, oh.name_zh, oh.name_en) == (None, "瓯海", "Ouhai")
    assert any(w.start == date(2020, 8, 1) and w.name_en == "extra stop" for w in sink.calendar_windows)
    t13 = sink.item("T13")
    assert t13.multiplier.values == (1.0, 1.5) and t13.multiplier.weights == (0.7, 0.3)
    assert (t13.duration_days, t13.status, t13.plan_start, t13.plan_finish) == (
        500, Status.NOT_STARTED, date(2020, 3, 1), date(2023, 12, 31))
    assert t13.start_aspirational and t13.finish_aspirational and not t13.outdoor
    assert (t13.project_type, t13.calendar, t13.resource_unit) == ("expressway", "office", "OH_GOV")
    assert (t13.name_zh, t13.name_en) == ("通海大道（情景）", "Tonghai (scenario)")
    f = next(f for f in sink.factors if f.id == "F_TRANSPORT")
    assert (f.loading, f.members) == (0.4, ("campaign:transport", "T99"))
    assert any({c.a, c.b} == {"F_TRANSPORT", "F_ALL"} and c.rho == 0.2 for c in sink.factor_correlations)


def test_kpis_and_targets(sink):
    k = next(k for k in sink.kpis if k.id == "KPI_HITECH")
    assert (k.baseline, k.rate_per_year, k.rate_cv, k.attrition_years, k.renewal_prob, k.volatility) == (
        650, 170, 0.1, None, 0.9, 0.01)
    assert (k.name_zh, k.name_en) == ("高企", "Hi-tech firms")
    t = next(t for t in sink.targets if t.id == "HHITECH")
    assert (t.threshold, t.deadline, t.k, t.refs, t.rule, t.section) == (
        950, date(2022, 6, 30), None, ("KPI_HITECH",), TargetRule.KPI_GE, "headline")
    assert (t.name_zh, t.name_en) == ("高企950", "950 hi-tech firms")


def test_adjust_scales_multiplier_and_wait(sink, base):
    before, after = base.item("E02.1"), sink.item("E02.1")
    ref = effective_multiplier(base, before)
    assert after.multiplier.params == pytest.approx(tuple(p * 1.2 for p in ref.params))
    wait_before = (before.plan_start - base.as_of).days
    # the as-of date moved by 4 days first; the wait from the new as-of is halved
    assert (after.plan_start - sink.as_of).days == round((before.plan_start - sink.as_of).days * 0.5)
    assert wait_before > 0 and after.duration_days is not None
    # the planned working duration is kept
    model = compile_plan(sink)
    k = model.index["E02.1"]
    assert model.base_work[k] == after.duration_days


def test_slip_from_the_child_replaces_the_base_slip(sink):
    slip = [r for r in sink.risks if r.id == "slip.T05.1"]
    assert len(slip) == 1 and slip[0].probability == 1.0
    expected = slip_work_days(sink, sink.item("T05.1"), 3 * MONTH_DAYS)
    assert slip[0].impact.params == (pytest.approx(expected),) and slip[0].phase is RiskPhase.DURATION


def test_the_sink_compiles_and_runs(sink):
    from sim.engine.replicate import run_chunk

    model = compile_plan(sink)
    rec = run_chunk(model, seed=1, chunk=0, rows=50)
    assert rec.finish.shape == (50, len(sink.items))
