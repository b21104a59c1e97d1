"""The run directory's report: workbook, HTML, analysis cache, `sim report`."""

from __future__ import annotations

import html
import json
import shutil

import openpyxl
import pandas as pd
import pytest
from test_report_support import EVIL, reported_run

from sim.cli import main
from sim.report.build import PLAN_FILE, write_report
from sim.report.excel import SHEETS
from sim.report.i18n import run_key


@pytest.fixture(scope="module")
def run_dir():
    return reported_run()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_workbook_has_the_documented_sheets(run_dir, lang):
    book = pd.read_excel(run_dir / f"report.{lang}.xlsx", sheet_name=None)
    assert list(book)[: len(SHEETS)] == list(SHEETS)
    items = book["items"]
    assert len(items) == 5
    assert ("编号" if lang == "zh" else "id") in items.columns
    assert ("按计划完成概率" if lang == "zh" else "P(by plan date)") in items.columns
    name = items.set_index(items.columns[0]).loc["T14"].iloc[0]
    assert name == ("市域铁路S2线一期工程" if lang == "zh" else "Suburban railway S2, phase 1")


def test_workbook_dates_are_dates_and_probabilities_percentages(run_dir):
    ws = openpyxl.load_workbook(run_dir / "report.en.xlsx")["items"]
    head = [c.value for c in ws[1]]
    plan_cell = ws.cell(row=2, column=head.index("plan finish") + 1)
    p_cell = ws.cell(row=2, column=head.index("P(by plan date)") + 1)
    assert plan_cell.is_date and plan_cell.number_format == "yyyy-mm-dd"
    assert isinstance(p_cell.value, float) and 0 <= p_cell.value <= 1 and p_cell.number_format == "0.0%"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_html_escapes_user_text(run_dir, lang):
    text = (run_dir / f"report.{lang}.html").read_text(encoding="utf-8")
    assert EVIL not in text
    assert html.escape(EVIL, quote=True) in text
    assert text.count("<script>") == 1  # only the report's own sorting script


def test_html_is_self_contained_with_method_and_provenance(run_dir):
    text = (run_dir / "report.zh.html").read_text(encoding="utf-8")
    charts = sorted((run_dir / "charts" / "zh").glob("*.png"))
    assert len(charts) >= 10 and text.count('src="data:image/png;base64,') == len(charts)
    assert "http://" not in text and "https://" not in text  # nothing to fetch
    assert 'class="sortable"' in text and "@font-face" in text
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    for key in ("params_hash", "seed", "replications"):
        assert f"<dt>{run_key(key, 'zh')}</dt>" in text  # run-info keys in the report's language
    assert f"<dd>{manifest['seed']}</dd>" in text
    for section in ("风险登记", "标量假设", "工期参考类", "指标基数与增速", "责任单位"):
        assert section in text  # risks, assumptions, duration classes, KPI baselines, units: with sources
    assert not list((run_dir / "charts" / "zh").glob("*.svg"))  # SVG copies only on request (--svg)


def test_tables_name_the_items_the_dependencies_make_decisive(run_dir):
    crit = pd.read_csv(run_dir / "analysis" / "criticality.csv")
    t15 = crit[crit["target"] == "TG_T15"].set_index("item")
    assert t15.loc["T15", "decisive"] == 1.0
    assert t15.loc["T14", "criticality"] > 0.5  # S2 rail drives the connection through the FF link
    drivers = pd.read_csv(run_dir / "analysis" / "drivers.csv")
    never = drivers[drivers["driver"] == "R_NEVER"]
    assert (never["effect_p_met"] == 0).all() and len(never) == 5
    land = drivers.set_index(["driver", "target"]).loc[("R_LAND", "TG_T15")]
    assert land["effect_p_met"] > 3 * land["effect_se"]


def test_sim_report_reuses_the_analysis_without_simulating(run_dir, tmp_path, monkeypatch, capsys):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)

    def no_analysis(*args, **kwargs):
        raise AssertionError("the cached analysis should have been used")

    monkeypatch.setattr("sim.report.build.analyse", no_analysis)
    assert main(["report", str(copy), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "report.en.html" in out and "report.en.xlsx" in out


def test_report_without_plan_snapshot_or_params_says_so(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / PLAN_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="params directory"):
        write_report(copy, lang="en")


def test_sim_report_on_a_directory_that_is_no_run(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_report_of_a_plan_without_risks_or_kpis(tmp_path):
    """Empty tables (no risks, no KPIs) still give a complete report."""
    from datetime import date

    from planfactory import dist, item, plan

    from sim.engine.runner import Executor, RunConfig
    from sim.model.entities import Target
    from sim.model.enums import TargetRule
    from sim.studies.workflow import run_plan

    p = plan([item("A", 100, mult=dist("uniform", 0.9, 1.2)), item("B", 200)],
             targets=[Target("T", "目标", "Target", "block", TargetRule.ALL_OF, ("A", "B"), date(2022, 12, 31))])
    run = run_plan(p, config=RunConfig(runs=500, seed=1, workers=1, executor=Executor.INLINE), out=tmp_path / "r")
    paths = write_report(run, lang="en", plan=p)
    book = pd.read_excel(paths["xlsx"], sheet_name=None)
    assert list(book)[: len(SHEETS)] == list(SHEETS) and book["drivers"].empty
    assert "tornado" not in " ".join(x.name for x in paths["charts"].glob("*.png"))


def test_plan_snapshot_is_data_and_rebuilds_the_plan_exactly(run_dir, tmp_path):
    """plan.json is plain JSON and decodes into records equal to the plan written (nothing unpickled)."""
    from pathlib import Path

    from sim.model.load import load_plan
    from sim.results import read_plan_snapshot, write_plan_snapshot

    assert json.loads((run_dir / PLAN_FILE).read_text(encoding="utf-8"))["plan"]["items"]
    shipped = load_plan(Path(__file__).resolve().parents[1] / "params")
    write_plan_snapshot(tmp_path, shipped)
    assert read_plan_snapshot(tmp_path) == shipped


def test_old_pickle_and_crafted_snapshots_are_refused_without_running_code(run_dir, tmp_path, capsys):
    import pickle

    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    (old / PLAN_FILE).unlink()
    flag = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(flag), "w"))

    (old / "plan.pickle").write_bytes(pickle.dumps(Evil()))
    assert main(["report", str(old), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert "plan.pickle" in err and "never loaded" in err and "Traceback" not in err
    assert not flag.exists()

    crafted = tmp_path / "crafted"
    shutil.copytree(run_dir, crafted)
    data = json.loads((crafted / PLAN_FILE).read_text(encoding="utf-8"))
    data["plan"]["items"][0]["status"] = {"__reduce__": "os.system"}
    (crafted / PLAN_FILE).write_text(json.dumps(data), encoding="utf-8")
    assert main(["report", str(crafted), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert "not a plan snapshot" in err and "items[0].status" in err


def test_report_opens_with_the_answer_computed_from_the_records(run_dir):
    """The first section's figures equal direct computations on the run's records."""
    from sim.results import read_records

    targets = pd.read_csv(run_dir / "targets.csv")
    rec = read_records(run_dir)
    due = targets[targets["deadline"] == targets["deadline"].max()]["id"]
    count = rec[[f"met:{t}" for t in due]].sum(axis=1)
    from sim.model import planmeta
    from sim.results import read_plan_snapshot

    first_section = planmeta.headline_section(read_plan_snapshot(run_dir))  # plan.yaml's first section
    head = targets[targets["section"] == first_section]["id"]
    p_all = rec[[f"met:{t}" for t in head]].astype(bool).all(axis=1).mean()
    text = (run_dir / "report.en.html").read_text(encoding="utf-8")
    first = text.split('<section id="summary"')[1].split("</section>")[0]
    assert text.index('id="summary"') < text.index('id="charts"')  # before any detail
    assert f"{count.mean():.1f} of {len(due)} targets due expected met" in first
    q10, q90 = count.quantile(0.1, interpolation="lower"), count.quantile(0.9, interpolation="lower")
    assert f"(P10–P90: {q10:.0f}–{q90:.0f})" in first
    assert f"P(all {len(head)} headline targets met): {p_all:.1%}" in first
    for t in head:  # every headline target has a bar with its P(met)
        assert f"· {t}" in first and f"{targets.set_index('id').loc[t, 'p_met']:.1%}" in first


def test_sim_run_prints_the_answer_and_the_files_to_open(tmp_path, capsys):
    from pathlib import Path

    fixture = Path(__file__).parent / "fixtures" / "mini_params"
    out = tmp_path / "run"
    assert main(["run", "--params", str(fixture), "--runs", "200", "--workers", "1", "--out", str(out),
                 "--lang", "en"]) == 0
    captured = capsys.readouterr()
    assert "The answer:" in captured.out and "targets due expected met" in captured.out
    assert "open:" in captured.out and str(out / "report.en.html") in captured.out
    for stage in ("analysis", "charts (en)", "HTML (en)", "workbook (en)"):
        assert f"... {stage}" in captured.err  # each stage printed as it starts


def test_compare_with_a_previous_run_says_what_changed(run_dir, tmp_path):
    """--compare RUN_DIR: against itself every paired difference is exactly zero, and the page says so."""
    copy = tmp_path / "again"
    shutil.copytree(run_dir, copy)
    paths = write_report(copy, lang="en", compare=run_dir)
    text = paths["html"].read_text(encoding="utf-8")
    first = text.split('<section id="summary"')[1].split("</section>")[0]
    assert f"Changed since {run_dir.name}" in first and "no difference larger than 1.96 s.e." in first
    assert "(+0.00 ± 0.00)" in first
