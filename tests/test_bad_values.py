"""Issue 10 item 9: values that silently changed results are problems naming file, line and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sim.model.actuals import read_actuals
from sim.model.load import load_plan
from sim.model.problems import PlanError

FIXTURE = Path(__file__).parent / "fixtures" / "mini_params"


@pytest.fixture
def params(tmp_path) -> Path:
    p = tmp_path / "params"
    shutil.copytree(FIXTURE, p)
    return p


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _report(params: Path) -> str:
    with pytest.raises(PlanError) as info:
        load_plan(params)
    return info.value.report()


def test_negative_fixed_multiplier_is_refused(params):
    # the issue: fixed,-1 finished T14 before the as-of date
    _edit(params / "items.csv", "not_started,2021-01-01,2022-12-31,false,false,2022年基本建成,,,,,,,,",
          "not_started,2021-01-01,2022-12-31,false,false,2022年基本建成,,,,fixed,-1,,,")
    report = _report(params)
    assert "items.csv:3" in report and "dist,p1,p2,p3" in report and "negative" in report


def test_negative_shock_length_is_refused(params):
    _edit(params / "shocks.csv", "triangular,30,45,70", "triangular,-90,-45,-10")
    report = _report(params)
    assert "shocks.csv:2" in report and "shock length can be negative" in report


def test_duplicate_kpi_boost_row_is_refused(params):
    path = params / "kpi_boosts.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")
    report = _report(params)
    assert "kpi_boosts.csv" in report and f"also on line 2" in report and f"kpi_boosts.csv:{len(lines) + 1}" in report


def test_nul_byte_is_refused_with_its_line(params):
    path = params / "links.csv"
    path.write_bytes(path.read_bytes().replace(b"whole line", b"whole\x00line"))
    report = _report(params)
    assert "links.csv:2" in report and "NUL" in report


def test_unterminated_quote_does_not_swallow_the_file(params):
    # the issue: links.csv was cut from 66 links to 28 by one open quote, and still validated
    _edit(params / "links.csv", "T05.1,T05.2,FS,0,whole line", 'T05.1,T05.2,FS,0,"whole line')
    report = _report(params)
    assert "links.csv:2" in report and "quote" in report


def test_a_quote_closed_rows_later_is_caught_too(params):
    path = params / "links.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("whole line", '"whole line')
    lines.insert(3, 'T13,T05.1,FS,0,"note",x')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = _report(params)
    assert "links.csv:2" in report and "quote" in report


def test_huge_rate_is_a_problem_not_an_overflow(params):
    _edit(params / "kpis.csv", "counter,enterprises,600,150,", "counter,enterprises,600,1e308,")
    report = _report(params)
    assert "kpis.csv:2" in report and "rate_per_year" in report and "out of range" in report


def test_negative_kpi_fact_is_refused(tmp_path):
    plan = load_plan(FIXTURE)
    acts = tmp_path / "a.csv"
    acts.write_text("kind,id,date,reported,value,source,note\nkpi,KPI_HITECH,2020-12-31,,-5,x,\n", encoding="utf-8")
    with pytest.raises(PlanError) as info:
        read_actuals(acts, plan)
    report = info.value.report()
    assert "a.csv:2" in report and "value" in report and ">= 0" in report


@pytest.mark.parametrize("name", ["dir", "fifo"])
def test_actuals_must_be_a_regular_file(tmp_path, name):
    import os

    plan = load_plan(FIXTURE)
    path = tmp_path / name
    if name == "dir":
        path.mkdir()
    else:
        os.mkfifo(path)  # blocked for ever before
    with pytest.raises(PlanError, match="directory|regular file"):
        read_actuals(path, plan)
