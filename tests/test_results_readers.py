"""sim.results as the one reader and writer of run, batch and appraisal directories."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from sim import results
from conftest import ROOT

# how a module reads a result table or the records itself, instead of asking sim.results
_DIRECT_READ = re.compile(r"pd\.read_csv\(|read_parquet\(|pq\.ParquetFile\(|pq\.read_table\(|pq\.read_metadata\(")


def test_no_module_but_results_reads_tables_or_records_directly() -> None:
    offenders = []
    for path in sorted((ROOT / "sim").rglob("*.py")):
        if path == ROOT / "sim" / "results.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _DIRECT_READ.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "read result directories through sim.results:\n" + "\n".join(offenders)


def test_a_table_written_is_read_back_and_a_file_without_columns_is_empty(tmp_path: Path) -> None:
    df = pd.DataFrame({"id": ["007", "T1"], "p": [0.25, 1.0]})
    path = results.write_table(tmp_path, "t.csv", df)
    assert path.read_bytes() == df.to_csv(index=False).encode("utf-8")  # what a plain to_csv writes
    assert list(results.read_table(tmp_path, "t.csv", dtype={"id": str})["id"]) == ["007", "T1"]
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no staging file left behind
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    assert results.read_table(tmp_path, "empty.csv").empty


def test_a_cache_is_used_only_under_its_stamp_and_a_broken_stamp_is_stale(tmp_path: Path) -> None:
    tables = {"a": pd.DataFrame({"x": [1, 2]})}
    stamp = {"version": 1, "seed": 7}
    assert results.read_cached_tables(tmp_path, "analysis", stamp, ["a"]) is None
    results.write_cached_tables(tmp_path, "analysis", stamp, tables)
    cached = results.read_cached_tables(tmp_path, "analysis", stamp, ["a"])
    assert cached is not None and cached["a"].equals(tables["a"])
    assert results.read_cached_tables(tmp_path, "analysis", {**stamp, "seed": 8}, ["a"]) is None
    (tmp_path / "analysis" / results.CACHE_STAMP).write_text("{not json", encoding="utf-8")
    assert results.read_cached_tables(tmp_path, "analysis", stamp, ["a"]) is None


def test_an_unreadable_manifest_is_none_for_reuse_decisions(tmp_path: Path) -> None:
    assert results.manifest_if_readable(tmp_path) is None
    (tmp_path / results.MANIFEST).write_text("[1, 2]", encoding="utf-8")
    assert results.manifest_if_readable(tmp_path) is None
    results.write_manifest(tmp_path, {"seed": 7})
    assert results.manifest_if_readable(tmp_path) == {"seed": 7}


def test_a_cache_missing_one_of_its_tables_is_stale(tmp_path) -> None:
    """A cached analysis whose stamp matches but which lost a table is recomputed, never a traceback."""
    import pandas as pd

    from sim.results import read_cached_tables, write_cached_tables

    stamp = {"seed": 1}
    write_cached_tables(tmp_path, "analysis", stamp, {"a": pd.DataFrame({"x": [1]}), "b": pd.DataFrame({"y": [2]})})
    assert read_cached_tables(tmp_path, "analysis", stamp, ["a", "b"])["b"]["y"].tolist() == [2]
    (tmp_path / "analysis" / "b.csv").unlink()
    assert read_cached_tables(tmp_path, "analysis", stamp, ["a", "b"]) is None
