"""The results I/O module: run directories, Parquet records, tables, manifest.

A run is written into ``<out>.partial`` and renamed to ``<out>`` only when
complete, so a failed or interrupted run never leaves a directory that looks
finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.engine.compiled import CompiledModel
from sim.errors import RunDirError, SnapshotError
from sim.engine.replicate import ChunkRecord

RECORDS = "records.parquet"
# chunks per Parquet row group: with ~1,700 columns a 1,000-row group makes the footer (one entry per
# column and group) the bulk of the write; ten chunks a group cut it tenfold. Dictionary encoding and
# column statistics are off: the values are floats that never repeat and nothing filters on them.
CHUNKS_PER_ROW_GROUP = 10
KEEP_BYTES = 96 * 2**20  # records up to this size stay in memory for the summaries (a 10,000-rep run: 54 MiB)
MANIFEST = "manifest.json"
PLAN_SNAPSHOT = "plan.json"  # the plan simulated (after scenario and actuals), as data, for `sim report`
OLD_PLAN_PICKLE = "plan.pickle"  # written by earlier versions; refused, never loaded


def params_hash(params_dir: Path) -> str:
    """SHA-256 over the params files (names and bytes), independent of file order on disk."""
    h = hashlib.sha256()
    for p in sorted([*Path(params_dir).glob("*.csv"), *Path(params_dir).glob("plan.yaml")]):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def default_run_dir(root: Path, scenario: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return Path(root) / f"{scenario}-{stamp}"


class RunWriter:
    """Streams chunk records to Parquet inside a partial directory; ``commit`` finishes it.

    The directory is staged by :class:`sim.safety.StagedDir`: ``out`` must not
    exist, or be an earlier run of the tool and ``force`` given; a second writer
    of the same ``out`` is refused (:class:`sim.errors.OutputError`).
    """

    def __init__(self, out: Path, model: CompiledModel, *, force: bool = False,
                 kinds: frozenset[str] | None = None):
        from sim.safety import StagedDir

        self.out = Path(out)
        self._stage = StagedDir(self.out, kind="run", force=force)
        self.partial = self._stage.path
        self.model = model
        self.last_finish_day = float("-inf")
        self._writer: pq.ParquetWriter | None = None
        self._pending: list[pa.Table] = []  # chunk tables of the row group being gathered
        # every chunk table while they fit in KEEP_BYTES: the summaries then read them, not the file
        self._kept: list[pa.Table] | None = []
        self._kept_bytes = 0
        self.kinds = kinds  # record column kinds kept (None: all; sim.engine.options.Records)

    def __call__(self, rec: ChunkRecord) -> None:
        table = rec.arrow(self.model, self.kinds)
        rec.table = None  # the parent keeps no second copy
        if self.kinds is None or "finish" in self.kinds:
            self._track_last_finish(rec.finish)
        self._pending.append(table)
        if self._kept is not None:
            self._kept.append(table)
            self._kept_bytes += table.nbytes
            if self._kept_bytes > KEEP_BYTES:
                self._kept = None
        if len(self._pending) >= CHUNKS_PER_ROW_GROUP:
            self._flush()

    def _track_last_finish(self, finish: np.ndarray) -> None:
        """Keep the latest finite finish day of any item (for the calendar coverage warning).

        Read from the chunk's finish array in one step (the records' finish columns are its
        columns): per column it cost the parent of a two-worker run a fifth of its time.
        """
        from sim.model.clock import FAR_DAY

        done = finish[finish < FAR_DAY]
        if done.size:
            self.last_finish_day = max(self.last_finish_day, float(done.max()))

    def _flush(self) -> None:
        if not self._pending:
            return
        table = pa.concat_tables(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending = []
        if self._writer is None:
            # lz4: 2.5x faster to write than zstd here, files about 10 % larger
            self._writer = pq.ParquetWriter(self.partial / RECORDS, table.schema, compression="lz4",
                                            use_dictionary=False, write_statistics=False)
        self._writer.write_table(table, row_group_size=table.num_rows)

    def close_records(self) -> Path:
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        return self.partial / RECORDS

    def records(self) -> RecordColumns:
        """The records written (after :meth:`close_records`): from memory when every chunk table was
        kept (a run whose records are at most :data:`KEEP_BYTES`), else read back from the file.
        The same values either way (the file holds these tables)."""
        self.close_records()
        if self._kept:
            table = pa.concat_tables(self._kept).combine_chunks()
            self._kept = None  # held by the RecordColumns only
            return RecordColumns.of_table(table)
        return RecordColumns(self.partial)

    def write_table(self, name: str, df: pd.DataFrame) -> None:
        write_table(self.partial, name, df)

    def write_plan(self, plan) -> None:
        """Keep the plan the run simulated beside its records."""
        write_plan_snapshot(self.partial, plan)

    def write_manifest(self, manifest: dict) -> None:
        write_manifest(self.partial, manifest)

    @property
    def path(self) -> Path:
        return self.partial

    def drop_records(self) -> None:
        """Delete the records file the tables were computed from (``--records none``)."""
        self.close_records()
        (self.partial / RECORDS).unlink(missing_ok=True)

    def commit(self) -> Path:
        self.close_records()
        return self._stage.commit()

    def abort(self) -> None:
        self._pending = []
        self._kept = None
        try:
            if self._writer is not None:
                try:
                    self._writer.close()
                except OSError:  # e.g. the disk is full: the file is removed with the directory
                    pass
                finally:
                    self._writer = None
        finally:
            self._stage.abort()


class RecordColumns:
    """Lazy access to a run's record columns, read a block at a time.

    ``records[name]`` returns a Series like a DataFrame column; the block of
    ``block`` columns that follows ``name`` in the file is read with it. The most
    recently used blocks are kept up to ``cache_bytes`` (64 MiB) in all (at least one
    block), so a summary that alternates between two kinds of column (an item's
    finish and its cost) does not re-read the file, while a 100,000-replication
    run is still never held whole.
    """

    def __init__(self, run_dir: Path | None, *, block: int = 64, cache_bytes: int = 64 * 2**20,
                 table: pa.Table | None = None):
        self._table = table  # of_table: every column in memory, nothing read
        self._file: pq.ParquetFile | None = None
        if table is not None:
            self._names, self._rows = table.column_names, table.num_rows
        elif run_dir is None:
            raise TypeError("RecordColumns needs a run directory or a table")
        else:
            self._file = pq.ParquetFile(Path(run_dir) / RECORDS)
            self._names, self._rows = self._file.schema_arrow.names, self._file.metadata.num_rows
        self._pos = {n: i for i, n in enumerate(self._names)}
        self._block = block
        self._cache_bytes = cache_bytes
        self._blocks: OrderedDict[int, dict[str, np.ndarray]] = OrderedDict()  # block start -> columns
        self._held = 0  # bytes in self._blocks

    @classmethod
    def of_table(cls, table: pa.Table) -> RecordColumns:
        """The columns of an in-memory records table (one chunk per column: arrays are zero-copy views)."""
        return cls(None, table=table)

    def __len__(self) -> int:
        return self._rows

    @property
    def in_memory(self) -> bool:
        """True when the columns come from a table in memory (:meth:`of_table`), not the file."""
        return self._table is not None

    @property
    def columns(self) -> list[str]:
        return list(self._names)

    def __getitem__(self, name: str) -> pd.Series:
        return pd.Series(self.array(name), name=name, copy=False)

    def array(self, name: str) -> np.ndarray:
        """Column ``name`` as its stored numpy array (read-only use; no Series is built)."""
        first = self._pos[name]  # KeyError names the column, as a DataFrame would
        if self._table is not None:
            return self._table.column(first).to_numpy()
        start = first - first % self._block
        cols = self._blocks.get(start)
        if cols is None:
            assert self._file is not None
            table = self._file.read(columns=self._names[start:start + self._block])
            cols = {n: table.column(n).to_numpy() for n in table.column_names}
            self._blocks[start] = cols
            self._held += sum(a.nbytes for a in cols.values())
            self._evict()
        else:
            self._blocks.move_to_end(start)
        return cols[name]

    def arrays(self, names: list[str]) -> list[np.ndarray]:
        """Columns ``names`` (read-only use), the ones not held read from the file in one call.

        For scattered columns (e.g. the invested items' finishes): :meth:`array` reads the whole
        block around each, which for one column in a block is many times the work."""
        if self._table is not None:
            return [self.array(n) for n in names]
        held = {}
        for n in names:
            first = self._pos[n]  # KeyError names the column
            cols = self._blocks.get(first - first % self._block)
            if cols is not None:
                held[n] = cols[n]
        missing = list(dict.fromkeys(n for n in names if n not in held))
        if len(missing) <= 2:  # a column or two: their blocks (kept, and neighbours are often asked next)
            held |= {n: self.array(n) for n in missing}
        elif missing:
            assert self._file is not None
            table = self._file.read(columns=missing)
            held |= {n: table.column(n).to_numpy() for n in missing}
        return [held[n] for n in names]

    def _evict(self) -> None:
        while len(self._blocks) > 1 and self._held > self._cache_bytes:
            _, dropped = self._blocks.popitem(last=False)
            self._held -= sum(a.nbytes for a in dropped.values())


def record_array(records: pd.DataFrame | RecordColumns, name: str, dtype=np.float64) -> np.ndarray:
    """Record column ``name`` as a numpy array of ``dtype``, from a DataFrame or a :class:`RecordColumns`
    (the latter without building a Series: summaries read thousands of columns)."""
    values = records.array(name) if isinstance(records, RecordColumns) else records[name].to_numpy()
    return np.asarray(values, dtype=dtype)


def record_arrays(records: pd.DataFrame | RecordColumns, names: list[str], dtype=np.float64) -> list[np.ndarray]:
    """:func:`record_array` of each of ``names`` (from a :class:`RecordColumns` in one read of those not held)."""
    if isinstance(records, RecordColumns):
        return [np.asarray(v, dtype=dtype) for v in records.arrays(names)]
    return [record_array(records, n, dtype) for n in names]


def records_estimate_bytes(model: CompiledModel, runs: int, kinds: frozenset[str] | None = None) -> int:
    """The records' values in bytes (float32, uint8 flags, int64 rep): an upper bound of the file in practice.

    The Parquet file (lz4) is about 85 % of it on the shipped plan (floats compress little, flags more).
    """
    per_kind = {"start": (model.n_items, 4), "finish": (model.n_items, 4),
                "kpi": (len(model.kpis) * len(model.checkpoints), 4), "achieved": (len(model.targets), 4),
                "met": (len(model.targets), 1), "risk": (len(model.risks), 1), "mult": (model.n_items, 4),
                "shock_start": (len(model.shocks), 4), "shock_length": (len(model.shocks), 4),
                "factor": (len(model.factor_ids), 4), "rate": (len(model.kpis), 4)}
    row = 8 + sum(n * b for k, (n, b) in per_kind.items() if kinds is None or k in kinds)
    return int(row) * int(runs)


def write_plan_snapshot(run_dir: Path, plan) -> Path:
    """Write the plan as data (``plan.json``) into ``run_dir``."""
    from sim.model.plan_json import plan_to_data

    path = Path(run_dir) / PLAN_SNAPSHOT
    return write_text(path, json.dumps(plan_to_data(plan), ensure_ascii=False, separators=(",", ":")))


def read_plan_snapshot(run_dir: Path):
    """The plan of :func:`write_plan_snapshot`, rebuilt from data (nothing is unpickled or evaluated).

    Raises :class:`SnapshotError` naming the file when it is missing, not JSON, or
    not a plan snapshot; a directory holding only an old ``plan.pickle`` is refused.
    """
    from sim.model.plan_json import SnapshotFormatError, plan_from_data

    path = Path(run_dir) / PLAN_SNAPSHOT
    if not path.is_file():
        if (Path(run_dir) / OLD_PLAN_PICKLE).exists():
            raise SnapshotError(f"{Path(run_dir) / OLD_PLAN_PICKLE}: run directories of earlier versions keep the "
                                "plan as a pickle, which is never loaded (it could run code); re-run the scenario")
        raise SnapshotError(f"{path}: the run's plan snapshot is missing")
    try:
        return plan_from_data(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # SnapshotFormatError is a ValueError
        kind = "not a plan snapshot" if isinstance(exc, SnapshotFormatError) else "cannot be read"
        raise SnapshotError(f"{path}: {kind} ({exc})") from None


def read_records(run_dir: Path, columns: list[str] | None = None) -> pd.DataFrame:
    return pd.read_parquet(Path(run_dir) / RECORDS, columns=columns)


def record_names(run_dir: Path) -> list[str]:
    """The record columns of a run (``rep``, ``met:<target>``, ...), from the Parquet schema only."""
    return list(pq.ParquetFile(Path(run_dir) / RECORDS).schema_arrow.names)


def read_record_kind(run_dir: Path, kind: str) -> pd.DataFrame:
    """``rep`` and every record column of one kind (``met`` -> ``met:<target>`` ...) of a run."""
    prefix = f"{kind}:"
    return read_records(run_dir, columns=["rep"] + [c for c in record_names(run_dir) if c.startswith(prefix)])


def has_table(directory: Path, name: str) -> bool:
    """Whether the run, batch or appraisal ``directory`` holds the table ``name`` (e.g. ``costs.csv``)."""
    return (Path(directory) / name).is_file()


def read_table(directory: Path, name: str, *, dtype: dict | None = None) -> pd.DataFrame:
    """A CSV table of a run, batch or appraisal directory, as written by the tool.

    ``name`` is relative to the directory (``items.csv``, ``analysis/criticality.csv``,
    ``appraisal_changes.csv``); ``dtype`` as for :func:`pandas.read_csv` (e.g. ids kept as
    text). A file without columns (e.g. ``kpis.csv`` of a plan without KPIs) reads as an
    empty frame.
    """
    try:
        return pd.read_csv(Path(directory) / name, encoding="utf-8", dtype=dtype)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def write_table(directory: Path, name: str, df: pd.DataFrame, **to_csv) -> Path:
    """Write ``df`` as the CSV table ``name`` of ``directory`` atomically (UTF-8, no index; ``to_csv`` options)."""
    path = Path(directory) / name
    write_atomic(path, lambda p: df.to_csv(p, index=False, encoding="utf-8", **to_csv))
    return path


ANALYSIS_DIR = "analysis"  # the report's cached analysis tables inside a run directory
CACHE_STAMP = "meta.json"  # what a cache folder of a run directory was computed from


def read_cached_tables(run_dir: Path, folder: str, stamp: dict, names) -> dict[str, pd.DataFrame] | None:
    """The tables ``names`` cached in ``run_dir/folder`` when its stamp equals ``stamp``, else None.

    A missing or unreadable stamp means the cache is stale (it is recomputed, never trusted).
    """
    meta = Path(run_dir) / folder / CACHE_STAMP
    try:
        current = json.loads(meta.read_text(encoding="utf-8")) if meta.is_file() else None
    except (OSError, UnicodeDecodeError, ValueError):
        current = None
    if current != stamp or not all((Path(run_dir) / folder / f"{k}.csv").is_file() for k in names):
        return None  # stale, or a table of it was removed: recomputed
    return {k: read_table(Path(run_dir) / folder, f"{k}.csv") for k in names}


def write_cached_tables(run_dir: Path, folder: str, stamp: dict, tables: dict[str, pd.DataFrame]) -> None:
    """Cache ``tables`` as ``run_dir/folder/<name>.csv`` with the stamp they were computed from."""
    directory = Path(run_dir) / folder
    directory.mkdir(exist_ok=True)
    for k, df in tables.items():
        write_table(directory, f"{k}.csv", df)
    text = json.dumps(stamp, indent=2) + "\n"
    write_atomic(directory / CACHE_STAMP, lambda p: p.write_text(text, encoding="utf-8"))


def manifest_if_readable(run_dir: Path) -> dict | None:
    """The manifest of ``run_dir``, or None when it is missing or broken (e.g. to decide whether to reuse it)."""
    try:
        return read_manifest(run_dir)
    except RunDirError:
        return None


def read_manifest(run_dir: Path) -> dict:
    """The manifest of a run directory; :class:`RunDirError` naming the file when it is missing or broken."""
    path = Path(run_dir) / MANIFEST
    try:
        if not path.is_file():
            raise RunDirError(f"{run_dir}: not a run directory (no {MANIFEST}); pass a directory written by sim run")
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise RunDirError(f"{path}: {path.stat().st_size} bytes, more than a manifest can be")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RunDirError(f"{path}: cannot be read as a run manifest ({exc})") from None
    if not isinstance(data, dict):
        raise RunDirError(f"{path}: not a run manifest (a JSON object is expected)")
    return data


MAX_MANIFEST_BYTES = 50_000_000


def check_run_dir(run_dir: Path) -> dict:
    """The manifest of ``run_dir`` after checking that it is a run with readable records."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: not a directory; pass a run directory written by sim run")
    manifest = read_manifest(run_dir)
    try:
        meta = pq.read_metadata(run_dir / RECORDS)
    except (OSError, ValueError) as exc:  # pyarrow's errors are OSError / ArrowInvalid (a ValueError)
        raise RunDirError(f"{run_dir / RECORDS}: cannot be read as the run's records ({exc})") from None
    if meta.num_rows < 1:
        raise RunDirError(f"{run_dir / RECORDS}: holds no replication")
    reps = manifest.get("replications")
    if isinstance(reps, int) and reps != meta.num_rows:
        raise RunDirError(f"{run_dir}: the manifest says {reps} replications, the records hold {meta.num_rows}")
    return manifest


def mark_report(run_dir: Path, lang: str, status: str) -> None:
    """Record in the manifest whether the report in ``lang`` was written (atomically rewritten)."""
    path = Path(run_dir) / MANIFEST
    manifest = read_manifest(run_dir)
    prior = manifest.get("reports")
    reports = prior if isinstance(prior, dict) else {}
    manifest["reports"] = {**reports, str(lang): status}
    try:
        write_json(path, manifest)
    except OSError:
        if not status.startswith("missing"):
            raise


def manifest_text(manifest: dict) -> str:
    """The text of a ``manifest.json``: every run, batch, appraisal and backtest directory writes it so."""
    return json.dumps(manifest, ensure_ascii=False, indent=2, default=_json_default) + "\n"


def write_manifest(directory: Path, manifest: dict) -> Path:
    """Write ``directory/manifest.json`` (staged and renamed into place)."""
    return write_json(Path(directory) / MANIFEST, manifest)


def write_json(path: Path, data: dict) -> Path:
    """Write ``data`` as a manifest-style JSON file (staged and renamed into place)."""
    text = manifest_text(data)
    write_atomic(Path(path), lambda p: p.write_text(text, encoding="utf-8"))
    return Path(path)


def write_text(path: Path, text: str) -> Path:
    """Write a UTF-8 text file (a page, a Markdown summary) atomically."""
    write_atomic(Path(path), lambda p: p.write_text(text, encoding="utf-8"))
    return Path(path)


def write_bytes(path: Path, data: bytes) -> Path:
    """Write a binary file (a chart's PNG) atomically."""
    write_atomic(Path(path), lambda p: p.write_bytes(data))
    return Path(path)


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write a file whole or not at all: ``write`` fills a temporary file beside ``path``, renamed into place.

    The temporary file is created exclusively (``mkstemp``), so it can never be a file someone else made,
    and only that file is removed if ``write`` fails. It gets the permissions a plain ``open`` would give.
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _json_default(o):
    if isinstance(o, (date, datetime)):
        return o.isoformat()
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "item"):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
