"""Scenario batches: paired comparison on CRN, failures kept apart, interrupted batches resume identically."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim.studies.workflow
from sim.studies.batch import BatchError, Outcome, run_batch
from sim.cli import main
from sim.safety import write_marker
from sim.engine.runner import Executor, RunConfig
from sim.report.comparison import comparison_html
from sim.results import read_records
from conftest import MINI_PARAMS as FIXTURE

CONFIG = RunConfig(runs=500, seed=5, workers=1, executor=Executor.INLINE)


@pytest.fixture
def scenarios(tmp_path: Path) -> dict[str, Path]:
    texts = {"baseline": "description: params as they are\n",
             "copy": "description: the same plan under another name\n",
             "slipped": "description: T05.1 two months late\nslip: {T05.1: 2m}\n",
             "broken": "slip: {T99: 1m}\n"}
    d = tmp_path / "scenarios"
    d.mkdir()
    for name, text in texts.items():
        (d / f"{name}.yaml").write_text(text, encoding="utf-8")
    return {name: d / f"{name}.yaml" for name in texts}


def _files(scenarios, *names):
    return [scenarios[n] for n in names]


def test_batch_compares_on_common_random_numbers(tmp_path, scenarios):
    result = run_batch(_files(scenarios, "slipped", "baseline", "copy", "broken"), params_dir=FIXTURE,
                       config=CONFIG, out=tmp_path / "b")
    assert [o.status for o in result.outcomes] == ["done", "done", "done", "failed"]
    assert result.reference == "baseline"
    cmp = result.comparison.set_index(["scenario", "target"])
    copy = cmp.loc["copy"]
    assert (copy["difference"] == 0).all() and (copy["difference_se"] == 0).all()  # exactly zero
    assert (copy["p_met"] == cmp.loc["baseline"]["p_met"]).all()
    slipped = cmp.loc["slipped"]
    assert slipped.loc["TT05", "difference"] < 0 and slipped.loc["TT05", "excludes_zero"]
    assert slipped.loc["HHITECH", "difference"] == 0  # no path from T05.1 to the KPI
    # the standard error is that of the per-replication paired differences
    runs = tmp_path / "b" / "runs"
    a = read_records(runs / "slipped", ["rep", "met:TT05"]).sort_values("rep")["met:TT05"].to_numpy(float)
    b = read_records(runs / "baseline", ["rep", "met:TT05"]).sort_values("rep")["met:TT05"].to_numpy(float)
    assert slipped.loc["TT05", "difference_se"] == pytest.approx((a - b).std(ddof=1) / math.sqrt(len(a)))
    assert slipped.loc["TT05", "ci95_high"] == pytest.approx(
        slipped.loc["TT05", "difference"] + 1.959964 * slipped.loc["TT05", "difference_se"])


def test_failed_scenario_is_reported_and_others_kept(tmp_path, scenarios):
    result = run_batch(_files(scenarios, "broken", "baseline", "slipped"), params_dir=FIXTURE, config=CONFIG,
                       out=tmp_path / "b")
    (failed,) = result.failed
    assert failed.name == "broken" and "slip.T99" in failed.error and "unknown item" in failed.error
    out = tmp_path / "b"
    for name in ("comparison.csv", "comparison.xlsx", "comparison.zh.png", "comparison.en.png", "comparison.zh.html",
                 "comparison.en.html", "batch.json"):
        assert (out / name).stat().st_size > 0, name
    status = {s["name"]: s["status"] for s in json.loads((out / "batch.json").read_text())["scenarios"]}
    assert status == {"broken": "failed", "baseline": "done", "slipped": "done"}
    assert set(pd.read_csv(out / "comparison.csv")["scenario"]) == {"baseline", "slipped"}
    sheets = pd.read_excel(out / "comparison.xlsx", sheet_name=None)
    assert set(sheets) == {"headline", "headline_p_all", "comparison", "p_met", "difference", "scenarios"}
    assert not list(out.rglob("*.partial"))


def test_without_baseline_yaml_the_plan_as_it_is_is_the_reference(tmp_path, scenarios):
    # issue 10 item 7: a scenario was compared with itself when baseline.yaml was not listed
    result = run_batch(_files(scenarios, "slipped", "copy"), params_dir=FIXTURE, config=CONFIG, out=tmp_path / "b")
    assert [o.name for o in result.outcomes] == ["baseline", "slipped", "copy"]
    assert result.reference == "baseline"
    cmp = result.comparison.set_index(["scenario", "target"])
    assert cmp.loc[("slipped", "TT05"), "difference"] < 0  # not zero: compared with the baseline
    assert (cmp.loc["copy"]["difference"] == 0).all()  # the copy is the baseline
    listed = run_batch(_files(scenarios, "baseline", "slipped"), params_dir=FIXTURE, config=CONFIG,
                       out=tmp_path / "b2")
    pd.testing.assert_frame_equal(listed.comparison.query("scenario == 'slipped'").reset_index(drop=True),
                                  result.comparison.query("scenario == 'slipped'").reset_index(drop=True))


def test_scenario_names_cannot_leave_the_batch_directory(tmp_path, scenarios):
    # issue 10 item 7: stem '..' deleted the finished baseline run, '..yaml' (stem '.') replaced b/runs
    out = tmp_path / "b"
    assert main(["batch", str(scenarios["baseline"]), "--params", str(FIXTURE), "--runs", "200", "--workers", "1",
                 "--quiet", "--out", str(out)]) == 0
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    for stem in ("..", ".", ".hidden", "x.partial", "a b"):
        bad = tmp_path / "evil" / f"{stem}.yaml"
        bad.parent.mkdir(exist_ok=True)
        bad.write_text("description: x\n", encoding="utf-8")
        before = sorted(str(p) for p in tmp_path.rglob("*"))
        with pytest.raises(BatchError, match="cannot name a folder"):
            run_batch([scenarios["baseline"], bad], params_dir=FIXTURE, config=CONFIG, out=out, resume=True)
        assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_a_batch_never_overwrites_an_earlier_batch(tmp_path, scenarios, capsys):
    out = tmp_path / "b"
    args = [str(scenarios["baseline"]), "--params", str(FIXTURE), "--runs", "200", "--workers", "1", "--quiet"]
    assert main(["batch", *args, "--out", str(out)]) == 0
    first = (out / "comparison.csv").read_bytes(), (out / "batch.json").read_bytes()
    assert main(["batch", *args, "--seed", "3", "--out", str(out)]) == 2
    assert "earlier batch" in capsys.readouterr().err
    assert ((out / "comparison.csv").read_bytes(), (out / "batch.json").read_bytes()) == first
    assert main(["batch", *args, "--seed", "3", "--out", str(out), "--force"]) == 0
    assert json.loads((out / "batch.json").read_text())["seed"] == 3
    user = tmp_path / "mine"
    user.mkdir()
    (user / "keep").write_text("x")
    assert main(["batch", *args, "--out", str(user), "--force"]) == 2
    assert main(["batch", *args, "--out", str(user), "--resume"]) == 2
    assert [p.name for p in user.iterdir()] == ["keep"]


def _interrupt_second_scenario(monkeypatch):
    """Ctrl-C in the middle of the second scenario's simulation (after its first chunk)."""
    real = sim.studies.workflow.run_monte_carlo
    calls = []

    def run(model, config, sink):
        calls.append(1)
        if len(calls) < 2:
            return real(model, config, sink)

        def interrupting(rec):
            sink(rec)
            raise KeyboardInterrupt

        return real(model, config, interrupting)

    monkeypatch.setattr(sim.studies.workflow, "run_monte_carlo", run)


def test_interrupted_batch_resumes_to_identical_results(tmp_path, scenarios, monkeypatch):
    files = _files(scenarios, "baseline", "slipped", "copy")
    config = dataclasses.replace(CONFIG, runs=2500)  # three chunks, so the interruption is mid-run
    full = run_batch(files, params_dir=FIXTURE, config=config, out=tmp_path / "full")
    _interrupt_second_scenario(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        run_batch(files, params_dir=FIXTURE, config=config, out=tmp_path / "cut")
    monkeypatch.undo()
    runs = tmp_path / "cut" / "runs"
    assert (runs / "baseline" / "manifest.json").is_file()
    assert not (runs / "slipped").exists() and not (runs / "slipped.partial").exists()
    (runs / "copy.partial").mkdir()  # as a killed process would leave it: marked as sim's own
    write_marker(runs / "copy.partial", "run")
    resumed = run_batch(files, params_dir=FIXTURE, config=config, out=tmp_path / "cut", resume=True)
    assert [o.status for o in resumed.outcomes] == ["reused", "done", "done"]
    assert (tmp_path / "cut" / "comparison.csv").read_bytes() == (tmp_path / "full" / "comparison.csv").read_bytes()
    pd.testing.assert_frame_equal(resumed.comparison, full.comparison)


def test_resume_reruns_what_no_longer_matches(tmp_path, scenarios):
    files = _files(scenarios, "baseline", "slipped")
    run_batch(files, params_dir=FIXTURE, config=CONFIG, out=tmp_path / "b")
    again = run_batch(files, params_dir=FIXTURE, config=CONFIG, out=tmp_path / "b", resume=True)
    assert [o.status for o in again.outcomes] == ["reused", "reused"]
    scenarios["slipped"].write_text("slip: {T05.1: 3m}\n", encoding="utf-8")  # the scenario file changed
    changed = run_batch(files, params_dir=FIXTURE, config=CONFIG, out=tmp_path / "b", resume=True)
    assert [o.status for o in changed.outcomes] == ["reused", "done"]
    more = run_batch(files, params_dir=FIXTURE, config=dataclasses.replace(CONFIG, runs=600), out=tmp_path / "b",
                     resume=True)
    assert [o.status for o in more.outcomes] == ["done", "done"]
    assert set(more.comparison["runs"]) == {600}


def test_html_is_escaped():
    cmp = pd.DataFrame([{"scenario": "a<b", "target": "T<1>", "section": "x", "name_en": "<script>", "name_zh": "&",
                         "deadline": "2022-12-31", "runs": 10, "p_met": 0.5, "se": 0.1, "reference": "a<b",
                         "p_reference": 0.5, "difference": 0.0, "difference_se": 0.0, "ci95_low": 0.0,
                         "ci95_high": 0.0, "excludes_zero": False}])
    page = comparison_html(cmp, [Outcome("a<b", "f.yaml", "failed", error="<boom>")], {"reference": "a<b"})
    assert page.count("<script>") == 1  # only the page's own sorting script
    assert "&lt;script&gt;" in page and "&lt;boom&gt;" in page and "T&lt;1&gt;" in page


def test_cli_batch_exit_codes(tmp_path, scenarios, capsys):
    common = ["--params", str(FIXTURE), "--runs", "200", "--workers", "1"]
    ok = [str(scenarios["baseline"]), str(scenarios["slipped"])]
    assert main(["batch", *ok, *common, "--out", str(tmp_path / "ok")]) == 0
    out = capsys.readouterr().out
    assert "slipped: " in out and "targets change" in out and "results:" in out
    for name in ("comparison.zh.html", "comparison.en.html", "comparison.xlsx", "comparison.csv",
                 "comparison_headline.csv"):
        assert str(tmp_path / "ok" / name) in out  # the console names the files written
    assert main(["batch", *ok, str(scenarios["broken"]), *common, "--out", str(tmp_path / "bad")]) == 1
    err = capsys.readouterr().err
    assert f"scenario broken ({scenarios['broken']}) failed" in err and "slip.T99" in err and "Traceback" not in err
    assert main(["batch", *ok, str(scenarios["baseline"]), *common, "--out", str(tmp_path / "dup")]) == 2
    assert "unique" in capsys.readouterr().err


@pytest.mark.slow
def test_batch_on_dask_matches_local(tmp_path, scenarios):
    pytest.importorskip("dask.distributed")
    files = _files(scenarios, "baseline", "slipped")
    local = run_batch(files, params_dir=FIXTURE, config=CONFIG, out=tmp_path / "local")
    dask = dataclasses.replace(CONFIG, executor=Executor.DASK, scheduler="local")
    remote = run_batch(files, params_dir=FIXTURE, config=dask, out=tmp_path / "dask")
    assert [o.status for o in remote.outcomes] == ["done", "done"]
    pd.testing.assert_frame_equal(local.comparison, remote.comparison)
    assert np.array_equal(read_records(tmp_path / "local" / "runs" / "slipped").to_numpy(),
                          read_records(tmp_path / "dask" / "runs" / "slipped").to_numpy())


def test_scenarios_in_parallel_give_the_sequential_results(tmp_path, scenarios):
    """Two scenario workers (one scenario per core) give byte-identical run tables and records, the same
    comparison, the outcomes in job order, and a failing scenario is still reported as failed."""
    from sim.studies.batch import scenario_workers

    files = _files(scenarios, "slipped", "baseline", "broken", "copy")
    parallel = dataclasses.replace(CONFIG, executor=Executor.POOL, workers=2)
    assert scenario_workers(parallel, 4) == 2 and scenario_workers(CONFIG, 4) == 1
    events = []
    seq = run_batch(files, params_dir=FIXTURE, config=CONFIG, out=tmp_path / "seq")
    par = run_batch(files, params_dir=FIXTURE, config=parallel, out=tmp_path / "par",
                    on_event=lambda what, name, _: events.append((what, name)))
    assert [(o.name, o.status) for o in par.outcomes] == [(o.name, o.status) for o in seq.outcomes]
    assert [o.status for o in par.outcomes] == ["done", "done", "failed", "done"]
    assert sorted(events) == sorted([(w, n) for n in ("slipped", "baseline", "broken", "copy")
                                     for w in ("start", "done" if n != "broken" else "failed")])
    pd.testing.assert_frame_equal(seq.comparison, par.comparison)
    for name in ("baseline", "slipped", "copy"):
        a, b = tmp_path / "seq" / "runs" / name, tmp_path / "par" / "runs" / name
        for f in sorted(a.glob("*.csv")) + [a / "records.parquet"]:
            assert f.read_bytes() == (b / f.name).read_bytes(), f"{name}/{f.name} differs"
    assert (tmp_path / "seq" / "comparison.csv").read_bytes() == (tmp_path / "par" / "comparison.csv").read_bytes()


def test_a_scenario_worker_that_dies_fails_its_scenarios_and_the_batch_goes_on(tmp_path, scenarios):
    """A worker killed mid-scenario (here: it exits in the scenario's preparation) fails the scenarios its pool
    held, with a message saying to resume; the scenarios after them run in a new pool; resume completes them."""
    import os

    marker = tmp_path / "died-once"

    def prepare(plan):
        if not marker.exists():  # the first scenario to start kills its worker process
            marker.write_text("x")
            os._exit(1)
        return plan, {}

    files = _files(scenarios, "baseline", "slipped", "copy", "broken")
    parallel = dataclasses.replace(CONFIG, executor=Executor.POOL, workers=2)
    result = run_batch(files, params_dir=FIXTURE, config=parallel, out=tmp_path / "b", prepare=prepare)
    died = [o for o in result.outcomes if "worker process ended without a result" in (o.error or "")]
    assert died and all(o.status == "failed" for o in died)
    assert {o.name for o in result.outcomes} == {"baseline", "slipped", "copy", "broken"}
    assert any(o.status == "done" for o in result.outcomes)  # the rest ran in a new pool
    again = run_batch(files, params_dir=FIXTURE, config=parallel, out=tmp_path / "b", prepare=prepare, resume=True)
    assert [o.status for o in again.outcomes if o.name != "broken"].count("failed") == 0


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])  # scenarios one at a time, or one per worker process
def test_killed_batch_process_resumes(tmp_path, scenarios, workers):
    """A `sim batch` process killed (SIGKILL) after its first scenario resumes to the same comparison."""
    import os
    import signal
    import subprocess
    import sys
    import time

    files = [str(scenarios[n]) for n in ("baseline", "slipped", "copy")]
    args = ["--params", str(FIXTURE), "--runs", "20000", "--seed", "9", "--workers", workers, "--quiet"]
    cmd = [sys.executable, "-m", "sim.cli", "batch", *files, *args]
    cut = tmp_path / "cut"
    proc = subprocess.Popen([*cmd, "--out", str(cut)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # wait for the first scenario's committed run (generous: a loaded CI machine is slow), then kill
    deadline = time.monotonic() + 600
    while not (cut / "runs" / "baseline" / "manifest.json").is_file():
        assert proc.poll() is None, "the batch ended before it could be killed"
        assert time.monotonic() < deadline, "the first scenario did not finish within 600 s"
        time.sleep(0.01)
    assert proc.poll() is None, "the batch finished before it could be killed: nothing left to resume"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (cut / "comparison.csv").exists()
    for extra in (["--out", str(cut), "--resume"], ["--out", str(tmp_path / "full")]):
        done = subprocess.run([*cmd, *extra], capture_output=True, text=True)
        assert done.returncode == 0, f"{extra}: exit {done.returncode}\n{done.stderr[-4000:]}"  # say why
    statuses = [s["status"] for s in json.loads((cut / "batch.json").read_text())["scenarios"]]
    assert statuses[0] == "reused" and "done" in statuses
    assert (cut / "comparison.csv").read_bytes() == (tmp_path / "full" / "comparison.csv").read_bytes()
    assert not list(cut.rglob("*.partial"))


def test_chart_shows_every_scenarios_largest_changes():
    from sim.report.comparison import chart_targets, difference_chart

    rows = []
    for s, diffs in (("base", [0] * 30), ("big", [-0.5] * 29 + [0]), ("small", [0] * 29 + [-0.01])):
        for k, d in enumerate(diffs):
            rows.append({"scenario": s, "target": f"T{k:02d}", "difference": d, "ci95_low": d - 0.001,
                         "ci95_high": d + 0.001, "excludes_zero": d != 0, "reference": "base"})
    cmp = pd.DataFrame(rows)
    chosen = chart_targets(cmp, max_targets=10)
    assert len(chosen) == 10 and "T29" in chosen  # the small scenario's only change is shown
    assert difference_chart(cmp, max_targets=10).axes[0].get_yticklabels()


def test_batch_headline_rows_overlays_and_formatted_outputs(tmp_path, scenarios):
    """Per-scenario headline rows with paired differences (checked against the records), S-curves of
    the items the slip moves, the report's page and font, and a workbook formatted like the report's."""
    import openpyxl

    run_batch(_files(scenarios, "baseline", "slipped", "copy"), params_dir=FIXTURE, config=CONFIG,
               out=tmp_path / "b")
    out = tmp_path / "b"
    head = pd.read_csv(out / "comparison_headline.csv")
    assert set(head["scenario"]) == {"baseline", "slipped", "copy"}
    assert set(head["metric"]) >= {"expected_met"}
    copy = head[head["scenario"] == "copy"]
    assert (copy["difference"] == 0).all() and (copy["difference_se"] == 0).all()
    # the expected number met at the programme end, and its paired difference, from the records directly
    from sim.analysis.headline import targets_due
    from sim.results import read_plan_snapshot

    plan = read_plan_snapshot(out / "runs" / "baseline")
    end = head[(head["metric"] == "expected_met")]["end_date"].iloc[-1]
    due = targets_due(plan, pd.Timestamp(end).date())
    cols = ["rep"] + [f"met:{t}" for t in due]
    a = read_records(out / "runs" / "slipped", cols).sort_values("rep")[cols[1:]].sum(axis=1).to_numpy(float)
    b = read_records(out / "runs" / "baseline", cols).sort_values("rep")[cols[1:]].sum(axis=1).to_numpy(float)
    row = head[(head["scenario"] == "slipped") & (head["end_date"] == end)].iloc[0]
    # the CSV keeps 6 significant digits
    assert row["value"] == pytest.approx(a.mean(), rel=1e-5)
    assert row["difference"] == pytest.approx((a - b).mean(), rel=1e-5, abs=1e-9)
    assert row["difference_se"] == pytest.approx((a - b).std(ddof=1) / math.sqrt(len(a)), rel=1e-5)
    for lang in ("zh", "en"):
        assert (out / f"comparison_s_curves.{lang}.png").is_file()
        page = (out / f"comparison.{lang}.html").read_text(encoding="utf-8")
        assert 'class="top"' in page and 'id="summary"' in page
        assert page.count("data:image/png;base64,") == 2  # differences and S-curves, embedded
    assert "@font-face" in (out / "comparison.zh.html").read_text(encoding="utf-8")  # Chinese without a system font
    ws = openpyxl.load_workbook(out / "comparison.xlsx")["comparison"]
    hdr = [c.value for c in ws[1]]
    deadline = ws.cell(row=2, column=hdr.index("deadline") + 1)
    p_met = ws.cell(row=2, column=hdr.index("P(met)") + 1)
    assert deadline.is_date and deadline.number_format == "yyyy-mm-dd"
    assert p_met.number_format == "0.0%" and ws.freeze_panes and ws.auto_filter.ref
    wb = openpyxl.load_workbook(out / "comparison.xlsx")
    head_ws = wb["headline"]  # expected targets met: dates as dates, counts to 2 decimals (one format a column)
    hdr = [c.value for c in head_ws[1]]
    assert head_ws.cell(row=2, column=hdr.index("end_date") + 1).is_date
    assert head_ws.cell(row=2, column=hdr.index("value") + 1).number_format == "0.00"
    ws_p = wb["headline_p_all"]  # P(all headline met) in %
    hdr = [c.value for c in ws_p[1]]
    assert ws_p.cell(row=2, column=hdr.index("value") + 1).number_format == "0.0%"
