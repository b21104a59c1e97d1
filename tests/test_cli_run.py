"""End-to-end: `sim run` into tmp_path — files, columns, same-seed reruns identical."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from conftest import MINI_PARAMS as FIXTURE

TABLES = ("items.csv", "targets.csv", "kpis.csv")


def _run(out: Path, *extra: str) -> int:
    return main(["run", "--no-report", "--params", str(FIXTURE), "--runs", "1500", "--seed", "7", "--quiet", "--out", str(out), *extra])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "base"
    assert _run(out, "--workers", "1") == 0
    return out


def test_run_writes_every_file_with_documented_columns(run_dir: Path):
    for name in (*TABLES, "records.parquet", "manifest.json"):
        assert (run_dir / name).is_file(), name
    items = pd.read_csv(run_dir / "items.csv")
    for col in ("id", "p_by_plan", "se_by_plan", "p_by_end", "p10_finish", "p50_finish", "p80_finish",
                "p90_finish", "contingency_p80_days"):
        assert col in items.columns
    targets = pd.read_csv(run_dir / "targets.csv")
    assert {"id", "p_met", "se", "ci95_low", "ci95_high"} <= set(targets.columns)
    assert ((targets.p_met >= targets.ci95_low) & (targets.p_met <= targets.ci95_high)).all()
    man = json.loads((run_dir / "manifest.json").read_text())
    assert man["replications"] == 1500 and man["seed"] == 7 and len(man["params_hash"]) == 64
    rec = pd.read_parquet(run_dir / "records.parquet")
    assert len(rec) == 1500 and rec["rep"].tolist() == list(range(1500))
    assert str(rec[f"finish:{items.id[0]}"].dtype) == "float32"


def test_same_seed_rerun_is_byte_identical_across_worker_counts(run_dir: Path, tmp_path: Path):
    other = tmp_path / "again"
    assert _run(other, "--workers", "2") == 0
    for name in TABLES:
        assert (run_dir / name).read_bytes() == (other / name).read_bytes(), name
    pd.testing.assert_frame_equal(pd.read_parquet(run_dir / "records.parquet"),
                                  pd.read_parquet(other / "records.parquet"))


def test_simpy_engine_gives_the_same_tables(run_dir: Path, tmp_path: Path):
    other = tmp_path / "simpy"
    assert _run(other, "--workers", "1", "--engine", "simpy") == 0
    for name in TABLES:
        assert (run_dir / name).read_bytes() == (other / name).read_bytes(), name


def test_bad_arguments_exit_2_without_a_run_directory(tmp_path: Path, capsys):
    out = tmp_path / "bad"
    assert _run(out, "--runs", "0") == 2
    assert "--runs" in capsys.readouterr().err
    assert not out.exists() and not out.with_name("bad.partial").exists()


def test_broken_params_exit_2_and_name_the_file(tmp_path: Path, capsys):
    broken = tmp_path / "params"
    broken.mkdir()
    for f in FIXTURE.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "links.csv").write_text("pred,succ,type,lag_days,note,source\nNOPE,ALSO_NOPE,FS,0,,\n",
                                      encoding="utf-8")
    code = main(["run", "--no-report", "--params", str(broken), "--runs", "10", "--quiet", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert "links.csv" in err and "NOPE" in err
    assert "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_targets_rarely_reached_have_no_interpolated_date(tmp_path: Path):
    """A median between a finite day and 'never reached' is an order statistic, not a huge date."""
    out = tmp_path / "few"
    assert main(["run", "--no-report", "--params", str(FIXTURE), "--runs", "20", "--seed", "1", "--quiet", "--workers", "1",
                 "--out", str(out)]) == 0
    targets = pd.read_csv(out / "targets.csv")
    dates = pd.to_datetime(targets["p50_achieved"].dropna())
    assert (dates.dt.year < 2100).all()


@pytest.mark.slow
def test_default_run_writes_the_report(tmp_path: Path):
    """The main job: records, tables, plan snapshot, and the HTML report and workbook."""
    out = tmp_path / "with-report"
    assert main(["run", "--params", str(FIXTURE), "--runs", "1000", "--seed", "3", "--quiet", "--workers", "1",
                 "--lang", "en", "--out", str(out)]) == 0
    for name in ("plan.json", "records.parquet", "targets.csv"):
        assert (out / name).is_file(), name
    assert list(out.glob("*.html")) and list(out.glob("*.xlsx"))


def test_sim_calendar_regenerates_the_shipped_calendar(capsys):
    """`sim calendar` (the generator named in params/README.md) prints params/calendar.csv exactly."""
    assert main(["calendar", "--first", "2020", "--last", "2030"]) == 0
    shipped = (Path(__file__).resolve().parents[1] / "params" / "calendar.csv").read_text(encoding="utf-8")
    assert capsys.readouterr().out == shipped


def test_unreachable_dask_scheduler_is_a_clear_error(tmp_path: Path, capsys, monkeypatch):
    import socket

    from sim.engine import runner

    monkeypatch.setattr(runner, "DASK_CONNECT_TIMEOUT", "2s")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "dask"
    assert _run(out, "--scheduler", f"127.0.0.1:{port}") == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler" in err and "Traceback" not in err
    assert not out.exists() and not out.with_name("dask.partial").exists()
