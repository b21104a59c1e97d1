"""Issue 10 items 6 and 10: expected failures end in one `sim: ...` line (or argparse's usage error), exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sim.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "mini_params"
RUN = ["run", "--no-report", "--params", str(FIXTURE), "--quiet", "--workers", "1"]


def _fails(argv, capsys) -> str:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse: usage line + error, exit 2
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("extra,words", [
    (["--seed", "-1"], "--seed"),
    (["--precision", "0"], "--precision"),
    (["--precision", "-1"], "--precision"),
    (["--precision", "nan"], "--precision"),
    (["--runs", str(10**12)], "--runs"),
    (["--runs", "0"], "--runs"),
    (["--as-of", "9999-12-31"], "9999-12-31"),
])
def test_bad_run_arguments(tmp_path, capsys, extra, words):
    err = _fails([*RUN, "--runs", "100", *extra, "--out", tmp_path / "o"], capsys)
    assert words in err
    assert list(tmp_path.iterdir()) == []


def test_memory_estimate_refuses_a_run_that_cannot_fit(tmp_path, capsys, monkeypatch):
    import sim.engine.budget as budget

    monkeypatch.setattr(budget, "physical_memory_bytes", lambda: 64 * 2**20)  # a 64 MiB machine
    err = _fails([*RUN, "--runs", "100000", "--out", tmp_path / "o"], capsys)
    assert "at most" in err and "runs fit" in err
    assert list(tmp_path.iterdir()) == []


def test_too_many_workers_are_capped_with_a_message(tmp_path, capsys):
    from sim.engine.budget import max_workers

    assert main([*RUN, "--runs", "100", "--workers", "1000", "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert f"using {max_workers()}" in err
    man = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert man["workers"] <= max_workers()


def test_report_of_broken_run_directories(tmp_path, capsys):
    _fails(["report", tmp_path / "none"], capsys)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text("{not json", encoding="utf-8")
    assert "manifest.json" in _fails(["report", bad], capsys)
    (bad / "manifest.json").write_text("[1, 2]", encoding="utf-8")
    assert "JSON object" in _fails(["report", bad], capsys)
    (bad / "manifest.json").write_text("{}", encoding="utf-8")
    assert "records" in _fails(["report", bad], capsys)
    (bad / "records.parquet").write_bytes(b"PAR1 not parquet")
    assert "records" in _fails(["report", bad], capsys)
    assert "--driver-runs" in _fails(["report", bad, "--driver-runs", "0"], capsys)


def test_backtest_of_broken_run_directories(tmp_path, capsys):
    good = tmp_path / "good"
    assert main([*RUN, "--runs", "100", "--out", str(good)]) == 0
    acts = tmp_path / "a.csv"
    acts.write_text("kind,id,date,reported,value,source,note\nfinish,T05.1,2020-11-30,,,news,\n", encoding="utf-8")
    broken = tmp_path / "broken"
    shutil.copytree(good, broken)
    man = json.loads((broken / "manifest.json").read_text())
    del man["as_of"]
    (broken / "manifest.json").write_text(json.dumps(man), encoding="utf-8")
    capsys.readouterr()
    err = _fails(["backtest", broken, "--actuals", acts, "--params", FIXTURE, "--out", tmp_path / "bt"], capsys)
    assert "as_of" in err
    assert not (tmp_path / "bt").exists() and not (tmp_path / "bt.partial").exists()


def test_calendar_and_bench_bounds(capsys):
    assert "--first" in _fails(["calendar", "--first", "1800", "--last", "1801"], capsys)
    assert "--last" in _fails(["calendar", "--first", "2020", "--last", "2200"], capsys)
    assert "--workers" in _fails(["bench", "--workers", "0"], capsys)
    assert "--workers" in _fails(["bench", "--workers", "-5"], capsys)


@pytest.mark.parametrize("file,old,new,words", [
    ("items.csv", "2022-12-31,false,false,2022年基本建成", "9999-12-31,false,false,2022年基本建成", "9999-12-31"),
    ("assumptions.csv", "horizon_years,15", "horizon_years,1000000000", "between 1 and 60"),
    # an index KPI's growth of 1e9 a year (or a noise of 1e9) overflowed the records to inf, exit 0
    ("kpis.csv", ",index,CNY 100 m,20,0.30,0.1,,,,0.05,", ",index,CNY 100 m,20,1e9,0.1,,,,0.05,", "kpis.csv:4"),
    ("kpis.csv", ",index,CNY 100 m,20,0.30,0.1,,,,0.05,", ",index,CNY 100 m,20,0.30,0.1,,,,1e9,", "1e+12"),
    ("kpis.csv", ",index,CNY 100 m,20,0.30,0.1,,,,0.05,", ",index,CNY 100 m,20,-2,0.1,,,,0.05,", "> -1"),
])
def test_plan_values_out_of_range(tmp_path, capsys, file, old, new, words):
    params = tmp_path / "p"
    shutil.copytree(FIXTURE, params)
    text = (params / file).read_text(encoding="utf-8")
    if old not in text:
        pytest.skip(f"{file} of the fixture has no {old!r}")
    (params / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    err = _fails(["validate", "--params", params], capsys)
    assert words in err and file in err


def test_report_past_every_checkpoint_and_decided_targets(tmp_path, capsys):
    # issue 10 items 10 and 12: KeyError 'id' in the report when kpis.csv is empty; thresholds of -inf;
    # ci95_low of 1.08e-19 instead of 0
    import pandas as pd

    acts = tmp_path / "a.csv"
    acts.write_text("kind,id,date,reported,value,source,note\n"
                    "kpi,KPI_HITECH,2023-06-30,2023-07-01,950,statistics bureau,\n", encoding="utf-8")
    out = tmp_path / "run"
    assert main(["run", "--params", str(FIXTURE), "--runs", "200", "--quiet", "--workers", "1", "--lang", "en",
                 "--actuals", str(acts), "--out", str(out)]) == 0
    assert (out / "report.en.html").is_file()
    text = (out / "targets.csv").read_text(encoding="utf-8")
    assert "inf" not in text
    targets = pd.read_csv(out / "targets.csv")
    assert ((targets["ci95_low"] == 0) | (targets["ci95_low"] > 1e-6)).all()
    assert ((targets["ci95_high"] == 1) | (targets["ci95_high"] < 1 - 1e-6)).all()
    assert (targets.loc[targets["p_met"] == 0, "ci95_low"] == 0).all()


def test_kpi_growth_bound_is_the_documented_one(tmp_path, capsys):
    """The bound of load._kpi_growth_problems against its closed form: an index KPI's median growth
    (1 + rate)^years alone just under / just over MAX_KPI_CHANGE (rate_cv and volatility 0)."""
    import math
    from datetime import date

    from sim.model.validate import MAX_KPI_CHANGE

    years = (date(2022, 12, 31) - date(2020, 1, 16)).days / 365.25  # the fixture's as-of to its last deadline
    edge = math.exp(math.log(MAX_KPI_CHANGE) / years) - 1
    for rate, ok in ((edge * 0.99, True), (edge * 1.01, False)):
        params = tmp_path / f"p{ok}"
        shutil.copytree(FIXTURE, params)
        text = (params / "kpis.csv").read_text(encoding="utf-8")
        (params / "kpis.csv").write_text(text.replace(",index,CNY 100 m,20,0.30,0.1,,,,0.05,",
                                                      f",index,CNY 100 m,20,{rate!r},0,,,,0,"), encoding="utf-8")
        if ok:
            assert main(["validate", "--params", str(params)]) == 0
        else:
            err = _fails(["run", "--no-report", "--params", params, "--runs", "10", "--out", tmp_path / "o"], capsys)
            assert "kpis.csv:4" in err and "rate_per_year" in err and "Traceback" not in err
    capsys.readouterr()


@pytest.fixture
def no_target_params(tmp_path):
    """The small fixture plan with targets.csv reduced to its header (a valid plan without any target)."""
    params = tmp_path / "no_targets"
    shutil.copytree(FIXTURE, params)
    header = (params / "targets.csv").read_text(encoding="utf-8").splitlines()[0]
    (params / "targets.csv").write_text(header + "\n", encoding="utf-8")
    return params


@pytest.mark.parametrize("command", ["run", "batch", "slip", "tolerance", "responses", "appraise", "backtest"])
def test_every_command_refuses_a_plan_without_targets(tmp_path, capsys, no_target_params, command):
    assert main(["validate", "--params", str(no_target_params)]) == 0  # the plan itself is valid
    scenario = tmp_path / "plain.yaml"
    scenario.write_text("description: the plan as it is\n", encoding="utf-8")
    acts = tmp_path / "a.csv"
    acts.write_text("kind,id,date,reported,value,source,note\nfinish,T05.1,2020-11-30,,,news,\n", encoding="utf-8")
    common = ["--params", no_target_params, "--runs", "20", "--workers", "1", "--quiet"]
    argv = {
        "run": ["run", "--no-report", *common],
        "batch": ["batch", scenario, *common],
        "slip": ["slip", "T05.1", "--by", "30", *common],
        "tolerance": ["tolerance", "T05.1", "--target", "TT05", *common],
        "responses": ["responses", *common],
        "appraise": ["appraise", "--years", "2020", "--actuals", acts, *common],
        "backtest": ["backtest", tmp_path / "good", "--actuals", acts, "--params", no_target_params],
    }[command]
    if command == "backtest":  # runs made with targets, scored against params without any
        assert main([*RUN, "--runs", "20", "--out", str(tmp_path / "good")]) == 0
    capsys.readouterr()
    out = tmp_path / "out"
    err = _fails([*argv, "--out", out], capsys)
    assert err.startswith("sim: ") and err.count("\n") == 1, err
    assert "no target" in err and str(no_target_params) in err
    assert not out.exists() and not Path(f"{out}.partial").exists()


def _batch_stderr_failures(err: str) -> list[str]:
    return [line for line in err.splitlines() if "failed" in line and not line.startswith("sim batch: 1 scenario")]


def test_batch_failing_scenario_is_one_line_naming_its_file(tmp_path, capsys):
    good = tmp_path / "plain.yaml"
    good.write_text("description: the plan as it is\n", encoding="utf-8")
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: not a key of a scenario\n", encoding="utf-8")
    argv = ["batch", good, bad, "--params", FIXTURE, "--runs", "20", "--workers", "1", "--out", tmp_path / "b"]
    assert main([str(a) for a in argv]) == 1  # the others completed: exit 1, not 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = _batch_stderr_failures(err)
    assert len(lines) == 1 and str(bad) in lines[0] and "broken" in lines[0] and "name" in lines[0], err
    assert (tmp_path / "b" / "comparison.csv").is_file()


def test_batch_scenario_crash_is_one_line_without_traceback(tmp_path, capsys, monkeypatch):
    import sim.studies.workflow as workflow

    real = workflow.run_plan

    def crash_on_second(plan, *, scenario, **kw):
        if scenario == "second":
            raise RuntimeError("disk on fire\nsecond line of the message")
        return real(plan, scenario=scenario, **kw)

    monkeypatch.setattr(workflow, "run_plan", crash_on_second)
    files = []
    for name in ("first", "second"):
        files.append(tmp_path / f"{name}.yaml")
        files[-1].write_text("description: the plan as it is\n", encoding="utf-8")
    argv = ["batch", *files, "--params", FIXTURE, "--runs", "20", "--workers", "1", "--quiet", "--out", tmp_path / "b"]
    assert main([str(a) for a in argv]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = _batch_stderr_failures(err)
    assert len(lines) == 1 and str(files[1]) in lines[0] and "RuntimeError: disk on fire" in lines[0], err


def test_scenario_cannot_overflow_a_kpi(tmp_path, capsys):
    # the same bound on a plan a scenario changed, addressed to the scenario's key
    scenario = tmp_path / "boom.yaml"
    scenario.write_text("description: an index growing 1e9 a year\nkpis:\n  KPI_TECHTRADE: {rate_per_year: 1000000000}\n",
                        encoding="utf-8")
    err = _fails([*RUN, "--runs", "10", scenario, "--out", tmp_path / "o"], capsys)
    assert "boom.yaml" in err and "KPI_TECHTRADE" in err and "1e+12" in err
    scenario.write_text("description: an index falling 200% a year\nkpis:\n  KPI_TECHTRADE: {rate_per_year: -2}\n",
                        encoding="utf-8")
    assert "> -1" in _fails([*RUN, "--runs", "10", scenario, "--out", tmp_path / "o"], capsys)
    assert not (tmp_path / "o").exists()


def test_export_never_deletes_a_users_file_and_reports_a_broken_manifest(tmp_path, capsys):
    run = tmp_path / "run"
    assert main([*RUN, "--runs", "50", "--out", str(run)]) == 0
    to = tmp_path / "out.xlsx"
    mine = tmp_path / "out.xlsx.partial"  # a user's file with the name the export stages under
    mine.write_text("keep", encoding="utf-8")
    assert "out.xlsx.partial" in _fails(["export", run, "--to", to], capsys)
    assert mine.read_text(encoding="utf-8") == "keep" and not to.exists()
    mine.unlink()
    (run / "manifest.json").write_text("{not json", encoding="utf-8")
    assert "manifest.json" in _fails(["export", run, "--to", to], capsys)
    assert not to.exists()


def test_export_to_xlsx_leaves_a_file_named_like_its_template_alone(tmp_path, capsys):
    run = tmp_path / "run"
    assert main([*RUN, "--runs", "50", "--out", str(run)]) == 0
    mine = tmp_path / "out.xlsx.partial.tpl.xlsx"  # the name the workbook export once used for its scratch template
    mine.write_text("keep", encoding="utf-8")
    assert main(["export", str(run), "--to", str(tmp_path / "out.xlsx")]) == 0
    assert mine.read_text(encoding="utf-8") == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx", "out.xlsx.partial.tpl.xlsx", "run"]
