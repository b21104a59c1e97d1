"""One test per kind of bad input: copy the fixture, break it, expect a precise Problem."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model.load import load_plan
from sim.model.problems import PlanError, Problem
from conftest import MINI_PARAMS as FIXTURE


# --- helpers ------------------------------------------------------------------------------

@pytest.fixture
def params(tmp_path: Path) -> Path:
    """A writable copy of the fixture params directory."""
    target = tmp_path / "params"
    shutil.copytree(FIXTURE, target)
    return target


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def set_cell(params: Path, file: str, key: str | int, column: str, value: str) -> int:
    """Set one cell; ``key`` is the first cell of the row or its line number. Return the line."""
    rows = _rows(params / file)
    line = key if isinstance(key, int) else 1 + next(i for i, r in enumerate(rows) if r and r[0] == key)
    rows[line - 1][rows[0].index(column)] = value
    _write(params / file, rows)
    return line


def append_row(params: Path, file: str, **cells: str) -> int:
    """Append a row given by column name (others blank); return its line."""
    rows = _rows(params / file)
    rows.append([cells.get(name, "") for name in rows[0]])
    _write(params / file, rows)
    return len(rows)


def copy_row(params: Path, file: str, key: str) -> int:
    """Append a copy of the row whose first cell is ``key``; return the new line."""
    rows = _rows(params / file)
    rows.append(list(next(r for r in rows if r and r[0] == key)))
    _write(params / file, rows)
    return len(rows)


def drop_column(params: Path, file: str, column: str) -> None:
    rows = _rows(params / file)
    k = rows[0].index(column)
    _write(params / file, [r[:k] + r[k + 1:] for r in rows])


def problems_of(params: Path) -> list[Problem]:
    with pytest.raises(PlanError) as info:
        load_plan(params)
    assert info.value.problems, "PlanError without problems"
    return info.value.problems


def expect(params: Path, file: str, row: int | None, column: str | None = None, *,
           text: str = "") -> Problem:
    """Load, expect PlanError, and return the problem at (file, row[, column]) whose text has ``text``."""
    problems = problems_of(params)
    for p in problems:
        if p.file == file and p.row == row and (column is None or p.column == column) and text in str(p):
            return p
    listing = "\n".join(map(str, problems))
    raise AssertionError(f"no problem at {file}:{row} [{column}] with {text!r}; got:\n{listing}")


# --- files and columns --------------------------------------------------------------------

def test_fixture_is_valid(params: Path) -> None:
    load_plan(params)


def test_missing_required_file(params: Path) -> None:
    (params / "items.csv").unlink()
    p = expect(params, "items.csv", None, text="missing")
    assert "id, group, campaign" in p.hint


def test_missing_directory(tmp_path: Path) -> None:
    problems = problems_of(tmp_path / "nowhere")
    assert "does not exist" in problems[0].message


def test_missing_column_names_it_and_lists_expected(params: Path) -> None:
    drop_column(params, "items.csv", "status")
    p = expect(params, "items.csv", 1, "status", text="missing column")
    assert "plan_start" in p.hint and "resource_unit" in p.hint


def test_missing_column_does_not_cascade(params: Path) -> None:
    drop_column(params, "links.csv", "note")
    problems = problems_of(params)
    assert [(p.file, p.column) for p in problems] == [("links.csv", "note")]


def test_row_with_extra_cells(params: Path) -> None:
    line = append_row(params, "calendar.csv", calendar="office", start="2021-10-01", end="2021-10-07")
    with (params / "calendar.csv").open("a", encoding="utf-8") as fh:
        fh.write("office,2022-10-01,2022-10-07,National Day, 2022,source\n")
    expect(params, "calendar.csv", line + 1, None, text="cells but the header")


# --- ids and references -------------------------------------------------------------------

def test_duplicate_id_names_both_rows(params: Path) -> None:
    line = copy_row(params, "items.csv", "T01")
    p = expect(params, "items.csv", line, "id", text="duplicate")
    assert p.value == "T01" and "line 5" in p.message


def test_duplicate_unit_id(params: Path) -> None:
    line = copy_row(params, "units.csv", "STY")
    expect(params, "units.csv", line, "id", text="also on line 4")


@pytest.mark.parametrize("bad", ["T 01", "T05，1", "环山路"])
def test_id_not_ascii(params: Path, bad: str) -> None:
    line = set_cell(params, "items.csv", "T01", "id", bad)
    p = expect(params, "items.csv", line, "id", text="characters other than")
    assert p.value == bad


@pytest.mark.parametrize("column", ["pred", "succ"])
def test_unknown_item_in_link(params: Path, column: str) -> None:
    set_cell(params, "links.csv", 2, column, "T99")
    p = expect(params, "links.csv", 2, column, text="unknown item")
    assert p.value == "T99"


def test_unknown_ref_suggests_close_id(params: Path) -> None:
    set_cell(params, "links.csv", 2, "succ", "T05.3")
    p = expect(params, "links.csv", 2, "succ")
    assert "T05.2" in p.hint


def test_unknown_unit_in_items(params: Path) -> None:
    line = set_cell(params, "items.csv", "K02", "units", "*KJJ;NOPE")
    assert expect(params, "items.csv", line, "units", text="unknown unit").value == "NOPE"


def test_unknown_resource_unit(params: Path) -> None:
    line = set_cell(params, "items.csv", "E01", "resource_unit", "NOPE")
    expect(params, "items.csv", line, "resource_unit", text="unknown unit")


def test_unknown_project_type(params: Path) -> None:
    line = set_cell(params, "items.csv", "T01", "project_type", "motorway")
    expect(params, "items.csv", line, "project_type", text="unknown project type 'motorway'")


def test_unknown_calendar(params: Path) -> None:
    line = set_cell(params, "items.csv", "K01", "calendar", "weekdays")
    expect(params, "items.csv", line, "calendar", text="unknown calendar")


def test_construction_calendar_must_exist(params: Path) -> None:
    rows = _rows(params / "calendar.csv")
    _write(params / "calendar.csv", [r for r in rows if r[0] != "construction"])
    problems = problems_of(params)
    assert any(p.file == "calendar.csv" and "'construction'" in p.message for p in problems)


@pytest.mark.parametrize(("file", "key", "column", "selector", "what"), [
    ("risks.csv", "R_LAND", "targets", "type:motorway", "project type"),
    ("shocks.csv", "S_COVID", "affects", "campaign:roads", "campaign"),
    ("factors.csv", "F_OUHAI", "members", "unit:NOPE", "unit"),
    ("factors.csv", "F_OUHAI", "members", "group:E99", "group"),
    ("factors.csv", "F_ALL", "members", "T99", "item id"),
    ("factors.csv", "F_ALL", "members", "typo:rail", "selector prefix"),
])
def test_unknown_selector(params: Path, file: str, key: str, column: str, selector: str, what: str) -> None:
    line = set_cell(params, file, key, column, selector)
    p = expect(params, file, line, column, text=what)
    assert p.value == selector


def test_empty_selector_list(params: Path) -> None:
    line = set_cell(params, "risks.csv", "R_LAND", "targets", "")
    expect(params, "risks.csv", line, "targets", text="empty but required")


@pytest.mark.parametrize(("column", "value", "what"), [("kpi", "KPI_NOPE", "unknown KPI"),
                                                      ("item", "K99", "unknown item")])
def test_unknown_ref_in_kpi_boosts(params: Path, column: str, value: str, what: str) -> None:
    set_cell(params, "kpi_boosts.csv", 2, column, value)
    expect(params, "kpi_boosts.csv", 2, column, text=what)


def test_unknown_unit_in_kpis(params: Path) -> None:
    line = set_cell(params, "kpis.csv", "KPI_HITECH", "units", "KJJ;NOPE")
    expect(params, "kpis.csv", line, "units", text="unknown unit")


def test_unknown_ref_in_composite_target(params: Path) -> None:
    line = set_cell(params, "targets.csv", "TB01", "refs", "B01.2020;B09.2022")
    p = expect(params, "targets.csv", line, "refs", text="neither an item nor a target")
    assert p.value == "B09.2022"


def test_unknown_item_in_item_by(params: Path) -> None:
    line = set_cell(params, "targets.csv", "TT05", "refs", "T05.9")
    expect(params, "targets.csv", line, "refs", text="not a known id")


# --- dependency cycles --------------------------------------------------------------------

def test_cycle_is_printed_as_the_cycle(params: Path) -> None:
    line = append_row(params, "links.csv", pred="T05.2", succ="T05.1", type="SS")
    p = expect(params, "links.csv", 2, "pred,succ", text="dependency cycle")
    assert p.value == "T05.1 -FS-> T05.2 -SS-> T05.1"
    assert f"lines 2, {line}" in p.message


def test_self_link_is_a_cycle(params: Path) -> None:
    line = append_row(params, "links.csv", pred="T01", succ="T01", type="FF")
    assert expect(params, "links.csv", line, text="cycle").value == "T01 -FF-> T01"


def test_sync_alone_is_not_a_cycle(params: Path) -> None:
    append_row(params, "links.csv", pred="T08", succ="T13", type="SYNC")
    append_row(params, "links.csv", pred="T08", succ="T01", type="SYNC")
    append_row(params, "links.csv", pred="T01", succ="T13", type="SYNC")
    plan = load_plan(params)
    assert sum(ln.type == "SYNC" for ln in plan.links) == 4


def test_link_inside_sync_group_is_a_cycle(params: Path) -> None:
    line = append_row(params, "links.csv", pred="T08", succ="T13", type="FS")
    p = expect(params, "links.csv", line, text="dependency cycle")
    assert p.value == "T08 -FS-> T13 -SYNC- T08"


def test_cycle_through_sync_group(params: Path) -> None:
    append_row(params, "links.csv", pred="T01", succ="T13", type="FS")
    append_row(params, "links.csv", pred="T08", succ="T01", type="SS")
    p = expect(params, "links.csv", 4, text="dependency cycle")
    assert p.value == "T01 -FS-> T13 -SYNC- T08 -SS-> T01"


def test_cycle_found_even_if_row_has_other_problems(params: Path) -> None:
    line = append_row(params, "links.csv", pred="T05.2", succ="T05.1", type="FS", lag_days="soon")
    problems = problems_of(params)
    assert any(p.column == "lag_days" and p.row == line for p in problems)
    assert any("cycle" in p.message for p in problems)


def test_negative_lag_is_rejected(params: Path) -> None:
    line = append_row(params, "links.csv", pred="T05.1", succ="T05.2", type="FS", lag_days="-3")
    problems = problems_of(params)
    assert any(p.file == "links.csv" and p.row == line and p.column == "lag_days" and "lead" in p.message
               for p in problems)


def test_sync_with_lag(params: Path) -> None:
    set_cell(params, "links.csv", 3, "lag_days", "30")
    expect(params, "links.csv", 3, "lag_days", text="SYNC")


def test_duplicate_link(params: Path) -> None:
    line = append_row(params, "links.csv", pred="T05.1", succ="T05.2", type="FS", lag_days="10")
    expect(params, "links.csv", line, text="also on line 2")


# --- cells: dates, numbers, enums, text ---------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [("2020/12/31", "YYYY-MM-DD"), ("2020-02-30", "not a real date"),
                                             ("31.12.2020", "YYYY-MM-DD"), ("2020-12", "YYYY-MM-DD")])
def test_bad_date(params: Path, value: str, text: str) -> None:
    line = set_cell(params, "items.csv", "T01", "plan_finish", value)
    p = expect(params, "items.csv", line, "plan_finish", text=text)
    assert p.value == value and "YYYY-MM-DD" in p.hint


def test_bad_as_of(params: Path) -> None:
    line = set_cell(params, "assumptions.csv", "as_of", "value", "2020-13-01")
    expect(params, "assumptions.csv", line, "value", text="not a real date")


def test_missing_as_of(params: Path) -> None:
    rows = _rows(params / "assumptions.csv")
    _write(params / "assumptions.csv", [r for r in rows if r[0] != "as_of"])
    expect(params, "assumptions.csv", None, "key", text="as_of")


def test_bad_checkpoint(params: Path) -> None:
    line = set_cell(params, "assumptions.csv", "checkpoints", "value", "2020-12-31;2021-02-29")
    assert expect(params, "assumptions.csv", line, "value").value == "2021-02-29"


def test_plan_start_after_plan_finish(params: Path) -> None:
    line = set_cell(params, "items.csv", "T05.2", "plan_start", "2023-06-30")
    p = expect(params, "items.csv", line, "plan_start", text="after plan_finish")
    assert p.value == "2023-06-30"


@pytest.mark.parametrize(("file", "key", "column", "value"), [
    ("items.csv", "T01", "length_km", "1.2km"),
    ("items.csv", "T01", "investment_cny_100m", "三"),
    ("links.csv", 2, "lag_days", "one month"),
    ("kpis.csv", "KPI_HITECH", "baseline", "about 600"),
    ("risks.csv", "R_LAND", "p2", "ninety"),
])
def test_non_numeric_number(params: Path, file: str, key: str | int, column: str, value: str) -> None:
    line = set_cell(params, file, key, column, value)
    assert expect(params, file, line, column, text="not a number").value == value


def test_percent_hint(params: Path) -> None:
    line = set_cell(params, "risks.csv", "R_LAND", "probability", "30%")
    assert "0.3" in expect(params, "risks.csv", line, "probability").hint


def test_negative_duration(params: Path) -> None:
    line = set_cell(params, "items.csv", "K02", "duration_days", "-5")
    expect(params, "items.csv", line, "duration_days", text=">= 0")


@pytest.mark.parametrize(("file", "key", "column", "value", "allowed"), [
    ("items.csv", "T01", "campaign", "roads", "transport"),
    ("items.csv", "T01", "status", "started", "in_progress"),
    ("links.csv", 2, "type", "FX", "SYNC"),
    ("kpis.csv", "KPI_HITECH", "kind", "count", "counter"),
    ("kpis.csv", "KPI_HITECH", "measure", "flow", "cumulative"),
    ("targets.csv", "TT05", "rule", "by", "item_by"),
    ("targets.csv", "TT05", "section", "roads", "headline"),
    ("risks.csv", "R_LAND", "mode", "all", "common"),
    ("risks.csv", "R_LAND", "phase", "end", "duration"),
    ("duration_classes.csv", "block", "dist", "gamma", "lognormal_sigma"),
])
def test_unknown_enum_value_lists_allowed(params: Path, file: str, key: str | int, column: str, value: str,
                                          allowed: str) -> None:
    line = set_cell(params, file, key, column, value)
    p = expect(params, file, line, column, text="unknown")
    assert p.value == value and allowed in p.hint


@pytest.mark.parametrize(("file", "key", "column"), [("items.csv", "T01", "name_zh"), ("items.csv", "T01", "name_en"),
                                                     ("units.csv", "STY", "name_zh"), ("kpis.csv", "KPI_HITECH", "name_en"),
                                                     ("targets.csv", "TT05", "name_zh"), ("risks.csv", "R_LAND", "name_en")])
def test_required_text_empty(params: Path, file: str, key: str, column: str) -> None:
    line = set_cell(params, file, key, column, "")
    expect(params, file, line, column, text="empty but required")


@pytest.mark.parametrize("value", ["0", "2.5", "two", "-1"])
def test_capacity_not_positive_integer(params: Path, value: str) -> None:
    line = set_cell(params, "units.csv", "OH_GOV", "capacity", value)
    assert expect(params, "units.csv", line, "capacity", text="positive whole number").value == value


def test_bad_boolean(params: Path) -> None:
    line = set_cell(params, "items.csv", "T01", "outdoor", "maybe")
    expect(params, "items.csv", line, "outdoor", text="not a boolean")


# --- distributions ------------------------------------------------------------------------

@pytest.mark.parametrize(("dist", "p", "text"), [
    ("pert", ("1.2", "1.0", "1.5"), "min <= mode"),
    ("triangular", ("0.9", "1.6", "1.4"), "mode <= max"),
    ("lognormal", ("1.2", "1.1", ""), "P90 > median"),
    ("trigen", ("1.0", "0.9", "1.5"), "P10 <= mode"),
    ("uniform", ("1.0", "", ""), "takes 2 parameter"),
    ("discrete", ("1|2", "0.5", ""), "as many weights"),
])
def test_distribution_problems(params: Path, dist: str, p: tuple[str, str, str], text: str) -> None:
    for column, value in zip(("dist", "p1", "p2", "p3"), (dist, *p)):
        line = set_cell(params, "duration_classes.csv", "arterial", column, value)
    problem = expect(params, "duration_classes.csv", line, "dist,p1,p2,p3", text=text)
    assert problem.value.startswith(dist)


def test_item_multiplier_distribution_checked(params: Path) -> None:
    line = set_cell(params, "items.csv", "T05.2", "p2", "1.8")
    expect(params, "items.csv", line, "dist,p1,p2,p3", text="mode <= P90")


def test_distribution_parameter_gap(params: Path) -> None:
    line = set_cell(params, "risks.csv", "R_LAND", "p2", "")
    expect(params, "risks.csv", line, "p2", text="later parameter")


def test_missing_distribution(params: Path) -> None:
    for column in ("dist", "p1", "p2", "p3"):
        line = set_cell(params, "shocks.csv", "S_COVID", column, "")
    expect(params, "shocks.csv", line, "dist", text="empty but required")


def test_discrete_values_not_numbers(params: Path) -> None:
    line = set_cell(params, "duration_classes.csv", "milestone", "p1", "1;1.25")
    expect(params, "duration_classes.csv", line, "p1", text="not a list of numbers")


# --- probabilities, factors, correlations ---------------------------------------------------

@pytest.mark.parametrize(("file", "key", "column", "value"), [
    ("risks.csv", "R_LAND", "probability", "1.2"),
    ("shocks.csv", "S_COVID", "probability", "-0.1"),
    ("kpis.csv", "KPI_HITECH", "renewal_prob", "85"),
])
def test_probability_outside_unit_interval(params: Path, file: str, key: str, column: str, value: str) -> None:
    line = set_cell(params, file, key, column, value)
    expect(params, file, line, column, text="between 0 and 1")


@pytest.mark.parametrize("value", ["1.5", "-0.2"])
def test_factor_loading_outside_unit_interval(params: Path, value: str) -> None:
    line = set_cell(params, "factors.csv", "F_ALL", "loading", value)
    expect(params, "factors.csv", line, "loading", text="between 0 and 1")


def test_loadings_sum_above_one_names_item_and_factors(params: Path) -> None:
    set_cell(params, "factors.csv", "F_TRANSPORT", "loading", "0.6")
    set_cell(params, "factors.csv", "F_OUHAI", "loading", "0.35")
    p = expect(params, "factors.csv", 2, "loading", text="> 1")
    assert "T05.1" in p.message and "T05.2" in p.message and "T01" not in p.message
    assert "F_TRANSPORT" in p.message and "F_OUHAI" in p.message and "F_ALL" in p.message


def test_correlation_not_psd(params: Path) -> None:
    set_cell(params, "factor_correlations.csv", 2, "rho", "0.9")
    append_row(params, "factor_correlations.csv", a="F_OUHAI", b="F_ALL", rho="0.9")
    append_row(params, "factor_correlations.csv", a="F_TRANSPORT", b="F_ALL", rho="-0.9")
    expect(params, "factor_correlations.csv", None, "rho", text="positive semi-definite")


def test_correlation_above_one(params: Path) -> None:
    set_cell(params, "factor_correlations.csv", 2, "rho", "1.3")
    expect(params, "factor_correlations.csv", 2, "rho", text="between -1 and 1")


def test_correlation_unknown_factor(params: Path) -> None:
    set_cell(params, "factor_correlations.csv", 2, "b", "F_NOPE")
    expect(params, "factor_correlations.csv", 2, "b", text="unknown factor")


def test_correlation_with_itself_and_repeated(params: Path) -> None:
    line = append_row(params, "factor_correlations.csv", a="F_ALL", b="F_ALL", rho="0.5")
    again = append_row(params, "factor_correlations.csv", a="F_OUHAI", b="F_TRANSPORT", rho="0.2")
    expect(params, "factor_correlations.csv", line, "b", text="with itself")
    expect(params, "factor_correlations.csv", again, text="also on line 2")


# --- targets ------------------------------------------------------------------------------

@pytest.mark.parametrize("column", ["deadline", "rule"])
def test_target_without_deadline_or_rule(params: Path, column: str) -> None:
    line = set_cell(params, "targets.csv", "TB01", column, "")
    expect(params, "targets.csv", line, column, text="empty but required")


def test_k_of_n_without_k(params: Path) -> None:
    line = set_cell(params, "targets.csv", "HBLOCKS", "k", "")
    expect(params, "targets.csv", line, "k", text="needs k")


def test_k_larger_than_refs(params: Path) -> None:
    line = set_cell(params, "targets.csv", "HBLOCKS", "k", "3")
    p = expect(params, "targets.csv", line, "k", text="only 2 refs")
    assert p.value == "3"


def test_k_below_one(params: Path) -> None:
    line = set_cell(params, "targets.csv", "HBLOCKS", "k", "0")
    expect(params, "targets.csv", line, "k", text="positive whole number")


@pytest.mark.parametrize("key", ["HHITECH", "HTECHTRADE"])
def test_kpi_target_without_threshold(params: Path, key: str) -> None:
    line = set_cell(params, "targets.csv", key, "threshold", "")
    expect(params, "targets.csv", line, "threshold", text="needs a threshold")


def test_kpi_target_ref_not_a_kpi(params: Path) -> None:
    line = set_cell(params, "targets.csv", "HHITECH", "refs", "T01")
    p = expect(params, "targets.csv", line, "refs", text="is an item")
    assert p.value == "T01"


def test_item_by_ref_not_an_item(params: Path) -> None:
    line = set_cell(params, "targets.csv", "TT05", "refs", "KPI_HITECH")
    expect(params, "targets.csv", line, "refs", text="is a KPI")


def test_item_by_with_two_refs(params: Path) -> None:
    line = set_cell(params, "targets.csv", "TT05", "refs", "T05.1;T05.2")
    expect(params, "targets.csv", line, "refs", text="exactly one ref")


def test_target_refs_cycle(params: Path) -> None:
    line = set_cell(params, "targets.csv", "TB01", "refs", "B01.2020;HBLOCKS")
    p = expect(params, "targets.csv", line, "refs", text="cycle")
    assert p.value == "TB01 -> HBLOCKS -> TB01"


def test_deadline_before_as_of(params: Path) -> None:
    line = set_cell(params, "targets.csv", "TT05", "deadline", "2019-12-31")
    expect(params, "targets.csv", line, "deadline", text="before as_of")


# --- windows ------------------------------------------------------------------------------

def test_shock_window_start_after_end(params: Path) -> None:
    line = set_cell(params, "shocks.csv", "S_COVID", "window_start", "2020-03-01")
    expect(params, "shocks.csv", line, "window_start", text="after window_end")


def test_calendar_start_after_end(params: Path) -> None:
    line = set_cell(params, "calendar.csv", 3, "start", "2021-03-01")
    expect(params, "calendar.csv", line, "start", text="after end")


# --- all at once --------------------------------------------------------------------------

def test_every_problem_is_reported_at_once(params: Path) -> None:
    set_cell(params, "items.csv", "T01", "plan_finish", "2020-02-30")
    set_cell(params, "links.csv", 2, "succ", "T99")
    set_cell(params, "risks.csv", "R_LAND", "probability", "2")
    set_cell(params, "targets.csv", "HBLOCKS", "k", "5")
    (params / "kpis.csv").unlink()
    found = {(p.file, p.column) for p in problems_of(params)}
    assert {("items.csv", "plan_finish"), ("links.csv", "succ"), ("risks.csv", "probability"),
            ("targets.csv", "k"), ("kpis.csv", None)} <= found


# --- optional progress columns of items.csv ------------------------------------------------

def _add_item_columns(params: Path, **by_id: dict[str, str]) -> None:
    rows = _rows(params / "items.csv")
    extra = ["actual_start", "actual_finish", "percent_complete"]
    out = [rows[0] + extra]
    for r in rows[1:]:
        cells = by_id.get(r[0].replace(".", "_"), {})
        out.append(r + [cells.get(name, "") for name in extra])
    _write(params / "items.csv", out)


def test_progress_columns_are_read(params: Path) -> None:
    _add_item_columns(params, T01={"actual_start": "2019-03-15", "percent_complete": "0.4"})
    t01 = load_plan(params).item("T01")
    assert t01.actual_start.isoformat() == "2019-03-15" and t01.percent_complete == 0.4


@pytest.mark.parametrize(("cells", "column", "text"), [
    ({"percent_complete": "40"}, "percent_complete", "between 0 and 1"),
    ({"actual_start": "2019-05-01", "actual_finish": "2019-04-01"}, "actual_start", "after actual_finish"),
    ({"actual_finish": "2020-06-30"}, "actual_finish", "after as_of"),
])
def test_bad_progress_facts(params: Path, cells: dict[str, str], column: str, text: str) -> None:
    _add_item_columns(params, T01=cells)
    expect(params, "items.csv", 5, column, text=text)


# --- robustness: any broken cell gives a Plan or a PlanError, never a traceback ------------

_JUNK = st.one_of(
    st.sampled_from(["", "-1", "0", "1e400", "nan", "2020-02-30", "2020/1/1", "x;y", "all", "type:", ":",
                     "*", "|", "1|", "T01", "SYNC", "kpi_ge", "环山路", '"', "0.5|0.5", "true"]),
    st.text(max_size=12),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_broken_cell_gives_plan_or_plan_error(params: Path, data) -> None:
    file = data.draw(st.sampled_from(sorted(p.name for p in FIXTURE.glob("*.csv"))))
    rows = _rows(FIXTURE / file)
    line = data.draw(st.integers(2, len(rows)))
    column = data.draw(st.sampled_from(rows[0]))
    value = data.draw(_JUNK).replace("\r", "").replace("\n", "")
    shutil.copyfile(FIXTURE / file, params / file)
    set_cell(params, file, line, column, value)
    try:
        load_plan(params)
    except PlanError as exc:
        assert all("\n" not in str(p) for p in exc.problems)
        assert all(p.file in {*(q.name for q in FIXTURE.glob("*.csv"))} for p in exc.problems)
    finally:
        shutil.copyfile(FIXTURE / file, params / file)


def test_repeated_ref_in_target(params: Path) -> None:
    line = set_cell(params, "targets.csv", "TB01", "refs", "B01.2020;B01.2022;B01.2020")
    assert expect(params, "targets.csv", line, "refs", text="more than once").value == "B01.2020"


def test_negative_lag(params: Path) -> None:
    set_cell(params, "links.csv", 2, "lag_days", "-30")
    assert "SS link" in expect(params, "links.csv", 2, "lag_days", text="leads are not supported").hint
