"""The report's money section on the shipped plan: annual investment by unit 2020-2022,
P(annual investment completed) per year, JCL table and chart, items without a figure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.engine.runner import Executor, RunConfig
from sim.model.load import load_plan
from sim.report.build import write_report
from sim.studies.workflow import run_plan

PARAMS = Path(__file__).resolve().parent.parent / "params"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("money") / "run"
    run_plan(load_plan(PARAMS), config=RunConfig(runs=1000, workers=1, executor=Executor.INLINE), out=out)
    write_report(out, lang="zh", driver_runs=100)
    return out


def test_run_directory_has_the_money_tables(run_dir: Path) -> None:
    inv = pd.read_csv(run_dir / "investment.csv")
    units = inv[inv["level"] == "unit"]
    assert {2020, 2021, 2022} <= set(units["year"])
    assert {"SCT", "STT", "SJT"} <= set(units["key"])
    prog = inv[inv["level"] == "programme"].set_index("year")
    # P(completed) of the transport campaign equals the engine's invest_ge targets (two computations)
    targets = pd.read_csv(run_dir / "targets.csv").set_index("id")
    trans = inv[(inv["level"] == "campaign") & (inv["key"] == "transport")].set_index("year")
    for y in (2020, 2021, 2022):
        assert trans.loc[y, "p_completed"] == pytest.approx(targets.loc[f"TG_INV_{y}", "p_met"], abs=1e-9)
        assert prog.loc[y, "planned_assumed"]
    jcl = pd.read_csv(run_dir / "jcl.csv")
    assert jcl.iloc[0]["level"] == "programme" and 0 <= jcl.iloc[0]["jcl"] <= jcl.iloc[0]["p_time"]


def test_report_shows_the_investment_section(run_dir: Path) -> None:
    html = (run_dir / "report.zh.html").read_text(encoding="utf-8")
    for text in ("各责任单位年度投资（2020—2022年，亿元）", "年度投资及年度投资完成概率", "费用—进度联合置信度（JCL）",
                 "无投资数额的项目（不计费用）", "均匀分摊（假设）"):
        assert text in html, text
    book = pd.read_excel(run_dir / "report.zh.xlsx", sheet_name=None)
    units = book["investment_units"]
    assert any(c.startswith("2020") for c in units.columns) and any(c.startswith("2022") for c in units.columns)
    assert "T05.1" in set(book["uncosted"].iloc[:, 0])
    for chart in ("invest_s_curves", "invest_units", "jcl"):
        assert (run_dir / "charts" / "zh" / f"{chart}.png").exists()
