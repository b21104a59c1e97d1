"""Loading the fixture params: records, determinism, encodings, summary, selectors, CLI."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from sim.cli import main
from sim.model import planmeta
from sim.model.csvio import decode
from sim.model.distribution import Distribution
from sim.model.enums import DistFamily, KpiMeasure, LinkType, RiskMode, RiskPhase, Status, TargetRule
from sim.model.load import load_plan, plan_summary
from sim.model.problems import PlanError, Problem
from sim.model.select import resolve, selector_problem
from conftest import MINI_PARAMS as FIXTURE


@pytest.fixture(scope="module")
def plan():
    return load_plan(FIXTURE)


@pytest.fixture
def params(tmp_path: Path) -> Path:
    target = tmp_path / "params"
    shutil.copytree(FIXTURE, target)
    return target


# --- the fixture as records ---------------------------------------------------------------

def test_plan_header(plan) -> None:
    assert plan.as_of == dt.date(2020, 1, 16)
    assert plan.checkpoints == (dt.date(2020, 12, 31), dt.date(2021, 12, 31), dt.date(2022, 12, 31))
    assert plan.origin == str(FIXTURE)
    assert plan.assumption("aspirational_uplift") == "1.10"


def test_items_in_file_order_with_every_campaign(plan) -> None:
    assert [i.id for i in plan.items][:4] == ["B01.2020", "B01.2022", "B02.2022", "T01"]
    assert {i.campaign for i in plan.items} == {c.id for c in planmeta.campaigns(plan)}


def test_item_fields(plan) -> None:
    t05 = plan.item("T05.2")
    assert t05.group == "T05" and t05.campaign == "transport" and t05.status is Status.NOT_STARTED
    assert t05.plan_start == dt.date(2022, 1, 1) and t05.plan_finish == dt.date(2022, 12, 31)
    assert t05.length_km == 6.1 and t05.investment_cny_100m == 12.4
    assert t05.multiplier == Distribution(DistFamily.TRIGEN, (0.9, 1.0, 1.6))
    assert t05.calendar == "construction" and t05.outdoor and t05.resource_unit is None
    assert plan.item("B02.2022").finish_aspirational and not plan.item("B02.2022").start_aspirational
    assert plan.item("E02.1").resource_unit == "OH_GOV"
    assert plan.item("K02").duration_days == 120 and not plan.item("K02").outdoor


def test_units_and_lead_units(plan) -> None:
    k01 = plan.item("K01")
    assert k01.units == ("JXJ", "KJJ", "LW_GOV") and k01.lead_units == ("JXJ", "KJJ")
    assert plan.item("T01").lead_units == ("STY",)  # a single unit leads
    assert plan.item("X_HSR").units == () and plan.item("X_HSR").lead_units == ()
    assert {u.id: u.capacity for u in plan.units}["OH_GOV"] == 2


def test_distributions(plan) -> None:
    classes = {c.project_type: c for c in plan.duration_classes}
    assert classes["arterial"].multiplier == Distribution(DistFamily.LOGNORMAL, (1.2, 1.8), floor=0.95)
    assert classes["milestone"].multiplier == Distribution(DistFamily.DISCRETE, values=(1.0, 1.25, 1.5),
                                                           weights=(0.5, 0.3, 0.2))
    assert not classes["policy"].in_progress_sigma_scaling


def test_links_risks_shocks(plan) -> None:
    assert [(ln.pred, ln.succ, ln.type) for ln in plan.links] == [("T05.1", "T05.2", LinkType.FS),
                                                                  ("T13", "T08", LinkType.SYNC)]
    assert plan.links[1].lag_days == 0.0
    (risk,) = plan.risks
    assert risk.mode is RiskMode.EACH and risk.phase is RiskPhase.START
    assert risk.impact == Distribution(DistFamily.PERT, (30.0, 90.0, 240.0))
    (shock,) = plan.shocks
    assert shock.window_start == dt.date(2020, 1, 24) and shock.probability == 1.0


def test_kpis_and_targets(plan) -> None:
    kpis = {k.id: k for k in plan.kpis}
    assert kpis["KPI_PLATFORMS"].measure is KpiMeasure.CUMULATIVE and kpis["KPI_PLATFORMS"].baseline == 0
    assert kpis["KPI_HITECH"].attrition_years == 3 and kpis["KPI_HITECH"].renewal_prob == 0.85
    assert {t.rule for t in plan.targets} == set(TargetRule)
    k_of_n = next(t for t in plan.targets if t.rule is TargetRule.K_OF_N)
    assert k_of_n.k == 1 and k_of_n.refs == ("TB01", "B02.2022")
    assert plan.kpi_boosts[0].step == 2


def test_load_is_deterministic() -> None:
    assert load_plan(FIXTURE) == load_plan(FIXTURE)


def test_optional_files_may_be_absent(params: Path) -> None:
    for name in ("factor_correlations.csv", "kpi_boosts.csv", "shocks.csv", "risks.csv"):
        (params / name).unlink()
    plan = load_plan(params)
    assert plan.risks == plan.shocks == plan.kpi_boosts == plan.factor_correlations == ()


# --- encodings ----------------------------------------------------------------------------

def _recode(params: Path, name: str, encoding: str) -> None:
    text = (params / name).read_text(encoding="utf-8")
    (params / name).write_bytes(text.replace("\n", "\r\n").encode(encoding))


def test_gbk_items_load_identically(plan, params: Path) -> None:
    _recode(params, "items.csv", "gbk")
    _recode(params, "units.csv", "gb18030")
    gbk = load_plan(params)
    assert gbk.items == plan.items and gbk.units == plan.units
    assert dict(gbk.file_encodings)["items.csv"] == "GBK/GB18030"
    assert "items.csv (GBK/GB18030)" in plan_summary(gbk)


def test_utf8_bom_loads_identically(plan, params: Path) -> None:
    _recode(params, "items.csv", "utf-8-sig")
    bom = load_plan(params)
    assert bom.items == plan.items
    assert dict(bom.file_encodings)["items.csv"] == "UTF-8 with BOM"


@pytest.mark.parametrize(("data", "text"), [(b"id,name\n\xff\xfe\x80,x\n", "neither UTF-8 nor GBK"),
                                             ("id,name\n".encode("utf-16"), "UTF-16")])
def test_undecodable_file_is_a_clear_problem(params: Path, data: bytes, text: str) -> None:
    (params / "units.csv").write_bytes(data)
    with pytest.raises(PlanError) as info:
        load_plan(params)
    (problem,) = [p for p in info.value.problems if p.file == "units.csv"]
    assert text in problem.message and "UTF-8" in problem.hint


def test_decode_reports_encoding() -> None:
    assert decode("名称".encode("gbk"), file="x.csv") == ("名称", "GBK/GB18030")
    assert decode(b"abc", file="x.csv") == ("abc", "UTF-8")
    assert isinstance(decode(b"\x81", file="x.csv"), Problem)


def test_quoted_multiline_cell_keeps_editor_line_numbers(params: Path) -> None:
    text = (params / "items.csv").read_text(encoding="utf-8")
    text = text.replace("2020年底前形成框架", '"2020年底前\n形成框架"').replace(
        "T01,T01,transport,1,环山北路生态园段", "T01,T01,transport,1,")
    (params / "items.csv").write_text(text, encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_plan(params)
    (problem,) = info.value.problems
    assert (problem.file, problem.row, problem.column) == ("items.csv", 6, "name_zh")


# --- summary ------------------------------------------------------------------------------

def test_summary(plan) -> None:
    text = plan_summary(plan)
    assert "as of 2020-01-16" in text
    assert "transport: 4 entries (5 items incl. phases)" in text
    assert "keywork: 2 entries (2 items)" in text
    assert "external milestones: 1\n    X_HSR by 2024-12-31: Coastal high-speed railway" in text
    assert "OH_GOV    5  瓯海区政府" in text
    assert "Links: 2 (FS 1, SYNC 1)" in text
    assert "KPIs: 3 (counter 2, index 1)" in text
    assert "by rule: item_by 1, all_of 1, k_of_n 1, kpi_ge 1, kpi_cagr_ge 1, invest_ge 1" in text
    assert "by section: headline 3, block 1, transport 2" in text
    assert "Calendar windows: construction 3, office 2" in text


# --- selectors ----------------------------------------------------------------------------

@pytest.mark.parametrize(("selectors", "expected"), [
    (["type:arterial"], ("T01", "T05.1", "T05.2", "T13")),
    (["campaign:environment"], ("E01", "E02.1", "E02.2")),
    (["unit:KJJ"], ("K01", "K02")),
    (["group:T05", "T01"], ("T01", "T05.1", "T05.2")),
    (["T13", "T13", "group:T13"], ("T13",)),
    ([], ()),
])
def test_resolve(plan, selectors: list[str], expected: tuple[str, ...]) -> None:
    assert resolve(plan, selectors) == expected


def test_resolve_all_and_items(plan) -> None:
    assert resolve(plan.items, ["all"]) == tuple(i.id for i in plan.items)


def test_resolve_rejects_unknown_prefix(plan) -> None:
    with pytest.raises(ValueError, match="unknown selector prefix"):
        resolve(plan, ["kind:rail"])


def test_selector_problem() -> None:
    known = dict(item_ids={"T01"}, groups={"T01"}, unit_ids={"LW_GOV"}, project_types={"rail"})
    assert selector_problem("type:rail", **known) is None
    assert selector_problem("campaign:keywork", **known) is None
    assert "unknown unit" in selector_problem("unit:LW", **known)[0]
    assert selector_problem("unit:LW", **{**known, "unit_ids": None}) is None


# --- CLI ----------------------------------------------------------------------------------

def test_cli_validate_ok(capsys) -> None:
    assert main(["validate", "--params", str(FIXTURE)]) == 0
    out = capsys.readouterr().out
    assert "transport: 4 entries" in out


def test_cli_validate_broken(params: Path, capsys) -> None:
    text = (params / "links.csv").read_text(encoding="utf-8")
    (params / "links.csv").write_text(text + "T05.2,T05.1,FS,,,\nT99,T01,FX,,,\n", encoding="utf-8")
    assert main(["validate", "--params", str(params)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert "3 problems found" in lines[0]  # unknown item, unknown type, one cycle
    assert len(lines) == 4 and all(line.startswith("  links.csv:") for line in lines[1:])
    assert "Traceback" not in captured.err and captured.out == ""


def test_outdoor_selector_matches_items_marked_outdoor():
    import dataclasses

    from sim.model.select import resolve

    plan = load_plan(FIXTURE)
    marked = tuple(i.id for i in plan.items if i.outdoor)
    assert resolve(plan, ["outdoor"]) == marked
    flipped = tuple(dataclasses.replace(i, outdoor=not i.outdoor) for i in plan.items)
    assert set(resolve(flipped, ["outdoor"])) == {i.id for i in plan.items} - set(marked)


def test_a_needed_field_that_is_unusable_drops_the_record_and_never_reaches_the_plan() -> None:
    """Cells.needed keeps a record's fields typed: the placeholder only ever sits in a dropped record."""
    from sim.model.csvio import NO_DATE, Cells, parse_csv

    table, problems = parse_csv("id,deadline,rho\nA,2021-13-01,\nB,2021-12-31,0.5\n", file="t.csv")
    assert table is not None and not problems
    bad, good = (Cells(table, row) for row in table.rows)
    assert bad.needed_date("deadline") == NO_DATE and bad.needed_number("rho", required=True) != 0.5
    assert not bad.ok and [p.column for p in bad.problems] == ["deadline", "rho"]
    assert good.needed_date("deadline") == dt.date(2021, 12, 31) and good.needed_number("rho", required=True) == 0.5
    assert good.ok
    # a None from an optional cell that a record still needs marks the row incomplete even without a problem
    absent = Cells(table, table.rows[0])
    assert absent.needed(absent.number("missing_column"), 1.0) == 1.0 and not absent.ok and not absent.problems
