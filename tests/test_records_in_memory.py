"""A run whose records fit in memory computes its tables from the chunk tables it kept; a larger one reads
the file back. Both give the same tables byte for byte, and the kept tables equal the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

import sim.results as results
from conftest import MINI_PARAMS
from sim.engine.compiled import compile_plan
from sim.engine.options import Executor
from sim.engine.runner import RunConfig, run_monte_carlo
from sim.model.load import load_plan
from sim.results import RecordColumns, RunWriter
from sim.studies.workflow import run_plan

TABLES = ("items.csv", "targets.csv", "kpis.csv", "costs.csv", "investment.csv", "jcl.csv")


def _tables(run_dir: Path) -> dict[str, bytes]:
    return {n: (run_dir / n).read_bytes() for n in TABLES if (run_dir / n).exists()}


def test_tables_from_memory_equal_tables_from_the_file(tmp_path: Path, monkeypatch):
    plan = load_plan(MINI_PARAMS)
    cfg = RunConfig(runs=2500, seed=11, workers=1, executor=Executor.INLINE)
    kept = _tables(run_plan(plan, config=cfg, out=tmp_path / "memory"))
    monkeypatch.setattr(results, "KEEP_BYTES", 0)  # nothing fits: read back from the file
    read = _tables(run_plan(plan, config=cfg, out=tmp_path / "file"))
    assert set(kept) >= {"items.csv", "targets.csv", "kpis.csv"} and kept == read


def test_kept_records_are_the_file_and_large_runs_keep_none(tmp_path: Path, monkeypatch):
    model = compile_plan(load_plan(MINI_PARAMS))
    writer = RunWriter(tmp_path / "run", model)
    run_monte_carlo(model, RunConfig(runs=2500, seed=5, workers=1, executor=Executor.INLINE), writer)
    memory = writer.records()
    on_disk = RecordColumns(writer.path)
    assert memory.in_memory and not on_disk.in_memory and len(memory) == len(on_disk) == 2500
    assert memory.columns == on_disk.columns == pq.ParquetFile(writer.path / "records.parquet").schema_arrow.names
    for name in on_disk.columns:
        a, b = memory.array(name), on_disk.array(name)
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), name
    writer.abort()

    monkeypatch.setattr(results, "KEEP_BYTES", 1000)  # the first chunk passes it: nothing is held
    writer = RunWriter(tmp_path / "big", model)
    run_monte_carlo(model, RunConfig(runs=2500, seed=5, workers=1, executor=Executor.INLINE), writer)
    assert writer._kept is None and not writer.records().in_memory
    writer.abort()
