"""`sim run --as-of DATE --actuals FILE`: the moved plan, and the manifest saying what was used."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from sim.model.actuals import apply_actuals, read_actuals
from sim.cli import main
from sim.engine.compiled import compile_plan
from sim.model.clock import end_of
from sim.model.load import load_plan
from conftest import ROOT, EXAMPLE_ACTUALS as EXAMPLE, MINI_PARAMS as FIXTURE


FACTS = "kind,id,date,reported,value,source,note\nfinish,T01,2020-11-30,2020-12-05,,news,\n"


def _run(out: Path, params: Path, *extra: str) -> dict:
    assert main(["run", "--no-report", "--params", str(params), "--runs", "1000", "--seed", "2", "--workers", "1", "--quiet",
                 "--out", str(out), *extra]) == 0
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def test_manifest_records_as_of_and_actuals(tmp_path: Path):
    acts = tmp_path / "facts.csv"
    acts.write_text(FACTS, encoding="utf-8")
    man = _run(tmp_path / "r", FIXTURE, "--as-of", "2020-12-31", "--actuals", str(acts))
    assert man["as_of"] == "2020-12-31" and man["plan_as_of"] == "2020-01-16"
    assert man["actuals"]["file"] == str(acts) and man["actuals"]["facts_used"] == 1
    assert len(man["actuals"]["sha256"]) == 64
    assert any("S_COVID" in n for n in man["actuals_notes"])


def test_actuals_without_as_of_use_the_latest_report(tmp_path: Path):
    acts = tmp_path / "facts.csv"
    acts.write_text(FACTS, encoding="utf-8")
    man = _run(tmp_path / "r", FIXTURE, "--actuals", str(acts))
    assert man["as_of"] == "2020-12-05"


def test_bad_as_of_and_bad_actuals_exit_2(tmp_path: Path, capsys):
    acts = tmp_path / "facts.csv"
    acts.write_text("kind,id,date,source\nfinish,T99,2020-11-30,news\n", encoding="utf-8")
    out = tmp_path / "r"
    assert main(["run", "--no-report", "--params", str(FIXTURE), "--runs", "100", "--quiet", "--out", str(out),
                 "--actuals", str(acts)]) == 2
    assert "T99" in capsys.readouterr().err and not out.exists()
    with pytest.raises(SystemExit):
        main(["run", "--no-report", "--params", str(FIXTURE), "--as-of", "31/12/2021"])
    assert main(["run", "--no-report", "--params", str(FIXTURE), "--runs", "100", "--quiet", "--out", str(out),
                 "--as-of", "2019-12-31"]) == 2


def test_example_as_of_2021_end_t10_done_t14_in_progress(tmp_path: Path):
    man = _run(tmp_path / "r", ROOT / "params", "--as-of", "2021-12-31", "--actuals", str(EXAMPLE))
    assert man["as_of"] == "2021-12-31" and man["actuals"]["facts_used"] == 1  # S2's opening is known later
    rec = pd.read_parquet(tmp_path / "r" / "records.parquet", columns=["finish:T10", "finish:T14"])
    assert (rec["finish:T10"] == end_of(date(2021, 12, 31), date(2021, 12, 31))).all()  # done, on 2021-12-31
    # in progress, uncertain: drawn for its planned total conditioned on the elapsed share, so it can finish
    # any day from the as-of date on (a draw at the conditioning boundary finishes on day 0)
    assert (rec["finish:T14"] >= 0).all() and rec["finish:T14"].nunique() > 100
    plan = load_plan(ROOT / "params")
    moved = apply_actuals(plan, read_actuals(EXAMPLE, plan).facts, date(2021, 12, 31))
    t14 = moved.item("T14")
    assert t14.actual_start == plan.item("T14").plan_start and t14.actual_finish is None
    model = compile_plan(moved)
    assert model.elapsed_work[model.index["T14"]] > 0  # conditioned on the time spent since its start


def test_target_table_when_half_the_replications_never_achieve():
    import numpy as np

    from planfactory import Kpi, KpiKind, Target, TargetRule, item, plan
    from sim.analysis.summary import target_table
    from sim.engine.replicate import column

    k = Kpi("K", "k", "k", KpiKind.COUNTER, "n", baseline=0.0, rate_per_year=1.0)
    t = Target("T", "t", "t", "headline", TargetRule.KPI_GE, ("K",), date(2022, 12, 31), threshold=5.0)
    model = compile_plan(plan([item("A", 10)], kpis=[k], targets=[t]))
    records = pd.DataFrame({column("met", "T"): np.array([1, 0] * 50, dtype=np.uint8),
                            column("achieved", "T"): np.array([300.0, np.inf] * 50, dtype=np.float32)})
    table = target_table(model, records)
    assert table.loc[0, "p50_achieved"] is None or table.loc[0, "p50_achieved"] > date(2020, 1, 1)


def test_batch_moves_every_scenario_to_the_as_of_date(tmp_path: Path):
    acts = tmp_path / "facts.csv"
    acts.write_text(FACTS, encoding="utf-8")
    scen = tmp_path / "baseline.yaml"
    scen.write_text("description: the params as they are\n", encoding="utf-8")
    out = tmp_path / "batch"
    args = ["batch", str(scen), "--params", str(FIXTURE), "--runs", "500", "--seed", "2", "--workers", "1",
            "--quiet", "--out", str(out), "--as-of", "2020-12-31", "--actuals", str(acts)]
    assert main(args) == 0
    man = json.loads((out / "runs" / "baseline" / "manifest.json").read_text(encoding="utf-8"))
    assert man["as_of"] == "2020-12-31" and man["actuals"]["facts_used"] == 1
    assert man["batch_key"]["prepare"]["as_of"] == "2020-12-31"
    # a resumed batch with other actuals must not reuse the run
    acts.write_text(FACTS.replace("2020-11-30", "2020-11-20"), encoding="utf-8")
    assert main([*args, "--resume"]) == 0
    again = json.loads((out / "runs" / "baseline" / "manifest.json").read_text(encoding="utf-8"))
    assert again["batch_key"]["prepare"]["actuals_sha256"] != man["batch_key"]["prepare"]["actuals_sha256"]
