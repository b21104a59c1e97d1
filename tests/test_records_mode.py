"""`--records full|summary|none`: what stays on disk, the same tables either way, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from sim.cli import main
from sim.engine.compiled import compile_plan
from sim.engine.options import SUMMARY_KINDS, Records
from sim.model.load import load_plan
from sim.results import records_estimate_bytes

PARAMS = Path(__file__).resolve().parents[1] / "params"
TABLES = ("items.csv", "targets.csv", "kpis.csv")


def _run(out: Path, *extra: str) -> int:
    return main(["run", "--params", str(PARAMS), "--runs", "1500", "--seed", "3", "--workers", "1", "--quiet",
                 "--no-report", "--out", str(out), *extra])


def test_summary_and_none_keep_the_tables_and_drop_what_they_say(tmp_path: Path):
    for mode in ("full", "summary", "none"):
        assert _run(tmp_path / mode, "--records", mode) == 0
    for name in TABLES:
        full = (tmp_path / "full" / name).read_bytes()
        assert (tmp_path / "summary" / name).read_bytes() == full
        assert (tmp_path / "none" / name).read_bytes() == full
    full_cols = pq.ParquetFile(tmp_path / "full" / "records.parquet").schema_arrow.names
    kept = pq.ParquetFile(tmp_path / "summary" / "records.parquet").schema_arrow.names
    assert kept == [c for c in full_cols if c == "rep" or c.split(":", 1)[0] in SUMMARY_KINDS]
    assert any(c.startswith("start:") for c in full_cols) and not any(c.startswith("start:") for c in kept)
    assert not (tmp_path / "none" / "records.parquet").exists()


def test_estimate_bounds_the_records_file_from_above(tmp_path: Path):
    """The estimate counts the values' bytes (4 per float, 1 per flag); lz4 on Parquet writes less."""
    assert _run(tmp_path / "full") == 0
    m = compile_plan(load_plan(PARAMS))
    on_disk = (tmp_path / "full" / "records.parquet").stat().st_size
    est = records_estimate_bytes(m, 1500, Records.FULL.kinds())
    assert on_disk <= est <= 2 * on_disk
    assert records_estimate_bytes(m, 1500, SUMMARY_KINDS) < est


def test_report_and_batch_refuse_what_they_cannot_do(tmp_path: Path, capsys):
    assert main(["run", "--params", str(PARAMS), "--runs", "10", "--records", "summary", "--quiet",
                 "--out", str(tmp_path / "r")]) == 2
    assert "--no-report" in capsys.readouterr().err
    assert _run(tmp_path / "s", "--records", "summary") == 0
    assert main(["report", str(tmp_path / "s")]) == 2
    assert "--records full" in capsys.readouterr().err
    scen = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
    assert main(["batch", str(scen), "--params", str(PARAMS), "--runs", "10", "--records", "none",
                 "--out", str(tmp_path / "b")]) == 2
    assert "--records summary" in capsys.readouterr().err
