"""Monte Carlo runner: chunks of replications over an executor, in chunk order.

Chunk ``c`` always holds replications ``c*CHUNK ... c*CHUNK + CHUNK - 1`` and
its draws depend only on (seed, c, quantity), so the records are bit-identical
for any executor and worker count. Records reach the ``sink`` in chunk order.

Executors: ``inline`` (this process), ``pool`` (a fork process pool over all
cores) and ``dask`` (a ``dask.distributed`` scheduler address, or ``local`` for
a LocalCluster). :func:`choose_executor` is the one place that picks one.

:class:`RunConfig` is the one typed description of a run, from the command line
to the streams of each chunk (:meth:`RunConfig.streams`) and into the manifest
(:meth:`RunConfig.to_manifest`, read back typed by :meth:`RunConfig.from_manifest`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
import dataclasses
import multiprocessing as mp
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.engine import streams
from sim.errors import ExecutorError
from sim.engine.compiled import CompiledModel
from sim.engine.options import DEFAULT_SEED, Engine, Executor, Records
from sim.engine.replicate import ChunkRecord, choose_engine, simulate_chunk
from sim.engine.streams import ChunkStreams


@dataclass(frozen=True)
class RunConfig:
    """How to run: every field is recorded in the manifest."""

    runs: int = 10_000
    seed: int = DEFAULT_SEED
    workers: int | None = None  # None: all cores
    executor: Executor | None = None  # None: chosen by :func:`choose_executor`
    scheduler: str | None = None  # dask address or "local"
    engine: Engine = Engine.AUTO
    lhs: bool = False
    precision: float | None = None  # stop when every target's standard error is below
    min_runs: int = 2 * streams.CHUNK
    progress: bool = False
    records: Records = Records.FULL  # record columns kept on disk (--records)

    def streams(self, chunk: int) -> ChunkStreams:
        """The random streams of replication chunk ``chunk``."""
        return ChunkStreams(self.seed, chunk, self.lhs)

    def to_manifest(self) -> dict[str, Any]:
        """The fields as JSON values (enums by value), for the manifest's ``config``."""
        return {k: (v.value if isinstance(v, (Engine, Executor, Records)) else v) for k, v in dataclasses.asdict(self).items()}

    @staticmethod
    def from_manifest(manifest: dict[str, Any]) -> RunConfig:
        """The configuration a run directory's manifest records (its ``config``), typed.

        Fields it does not record keep their defaults; the seed falls back to the
        manifest's top-level ``seed``. A value of the wrong type raises ValueError.
        """
        cfg = dict(manifest.get("config") or {})
        if "seed" not in cfg and "seed" in manifest:
            cfg["seed"] = manifest["seed"]
        out: dict[str, Any] = {}
        for f in dataclasses.fields(RunConfig):
            if f.name not in cfg:
                continue
            out[f.name] = _typed(f.name, cfg[f.name])
        return RunConfig(**out)


_ENUMS = {"engine": Engine, "executor": Executor, "records": Records}
_INTS = ("runs", "seed", "workers", "min_runs")


def _typed(name: str, value: Any) -> Any:
    if value is None or name == "scheduler":
        return value
    if name in _ENUMS:
        return _ENUMS[name](value)
    if name in _INTS and isinstance(value, int) and not isinstance(value, bool):
        return value
    if name in ("lhs", "progress") and isinstance(value, bool):
        return value
    if name == "precision" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"manifest config: {name} = {value!r} is not a valid value")


def choose_executor(config: RunConfig, chunks: int) -> tuple[Executor, int]:
    """The executor and worker count a run uses: Dask when a scheduler is named, else the one asked
    for, else a pool; a pool with one worker or one chunk runs inline (it would only add its start-up)."""
    workers = config.workers or os.cpu_count() or 1
    executor = Executor.DASK if config.scheduler else (config.executor or Executor.POOL)
    if executor is Executor.POOL and (workers == 1 or chunks == 1):
        executor = Executor.INLINE
    return executor, workers


@dataclass
class RunStats:
    """What the runner measured while running."""

    runs: int = 0
    chunks: int = 0
    engine: str = ""
    executor: str = ""
    workers: int = 1
    wall_seconds: float = 0.0
    stopped_by_precision: bool = False
    max_target_se: float = float("nan")
    met_counts: np.ndarray | None = field(default=None, repr=False)


def chunk_rows(runs: int) -> list[tuple[int, int]]:
    """(chunk index, rows) for ``runs`` replications."""
    full, rest = divmod(runs, streams.CHUNK)
    out = [(c, streams.CHUNK) for c in range(full)]
    if rest:
        out.append((full, rest))
    return out


def run_monte_carlo(
    model: CompiledModel,
    config: RunConfig,
    sink: Callable[[ChunkRecord], None],
) -> RunStats:
    """Run ``config.runs`` replications (fewer if the precision rule stops earlier).

    Parameters
    ----------
    model : CompiledModel
    config : RunConfig
    sink : callable
        Receives every :class:`ChunkRecord`, in chunk order.
    """
    from sim.engine.budget import check_memory

    check_memory(model, config.runs)
    t0 = time.perf_counter()
    executor, workers = choose_executor(config, len(chunk_rows(config.runs)))
    stats = RunStats(engine=str(choose_engine(model, config.engine)), executor=str(executor), workers=workers)
    met = np.zeros(len(model.targets))
    bar = _progress(config)
    for rec in _records(model, config, executor, workers):
        sink(rec)
        stats.runs += rec.rows
        stats.chunks += 1
        met += rec.met.sum(axis=0)
        if bar is not None:
            bar.update(rec.rows)
        stats.max_target_se = _max_se(met, stats.runs)
        if (config.precision and stats.runs >= config.min_runs
                and _max_se(met, stats.runs, conservative=True) < config.precision):
            stats.stopped_by_precision = True
            break
    if bar is not None:
        bar.close()
    stats.met_counts = met
    stats.wall_seconds = time.perf_counter() - t0
    return stats


def _max_se(met: np.ndarray, n: int, *, conservative: bool = False) -> float:
    """Largest standard error sqrt(p(1-p)/n) over targets.

    ``conservative`` (the stopping rule) uses the Laplace estimate p = (m + 1) / (n + 2),
    so that a target seen met in none (or all) of the replications so far does not
    count as known exactly. With no targets there is nothing to estimate: 0.
    """
    if met.size == 0:
        return 0.0
    if n == 0:
        return float("inf")
    p = (met + 1.0) / (n + 2.0) if conservative else met / n
    return float(np.sqrt(p * (1 - p) / n).max())


def _progress(config: RunConfig):
    if not config.progress:
        return None
    from tqdm import tqdm

    return tqdm(total=config.runs, unit="rep", desc="simulating", leave=False)


def _records(model, config: RunConfig, executor: Executor, workers: int) -> Iterator[ChunkRecord]:
    jobs = chunk_rows(config.runs)
    if executor is Executor.INLINE:
        for c, rows in jobs:
            yield simulate_chunk(model, config.streams(c), rows=rows, engine=config.engine)
    elif executor is Executor.POOL:
        yield from _pool_records(model, jobs, config, workers)
    else:
        yield from _dask_records(model, jobs, config, workers, config.scheduler or "local")


# -- process pool --------------------------------------------------------------
_WORKER_MODEL: CompiledModel | None = None  # set once per worker process by the initializer


def _init_worker(model: CompiledModel) -> None:
    global _WORKER_MODEL
    _WORKER_MODEL = model
    die_with_parent()


def die_with_parent() -> None:
    """On Linux, ask the kernel to end this worker when its parent dies (e.g. a killed batch)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not fatal: the worker then ends when its queue closes
        pass


def _pool_chunk(chunk: int, rows: int, config: RunConfig) -> ChunkRecord:
    assert _WORKER_MODEL is not None
    rec = simulate_chunk(_WORKER_MODEL, config.streams(chunk), rows=rows, engine=config.engine)
    rec.arrow(_WORKER_MODEL, config.records.kinds())  # the Arrow table is built here, in parallel
    return rec


def _pool_records(model, jobs, config: RunConfig, workers: int) -> Iterator[ChunkRecord]:
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    window = 2 * workers  # bound memory: at most this many chunks in flight
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(model,)) as pool:
        pending = []
        it = iter(jobs)
        for c, rows in it:
            pending.append(pool.submit(_pool_chunk, c, rows, config))
            if len(pending) >= window:
                break
        while pending:
            rec = pending.pop(0).result()
            nxt = next(it, None)
            if nxt is not None:
                pending.append(pool.submit(_pool_chunk, nxt[0], nxt[1], config))
            yield rec


# -- dask ------------------------------------------------------------------------
DASK_CONNECT_TIMEOUT = "20s"  # how long to wait for a scheduler address before giving up

def _dask_chunk(model: CompiledModel, chunk: int, rows: int, config: RunConfig) -> ChunkRecord:
    rec = simulate_chunk(model, config.streams(chunk), rows=rows, engine=config.engine)
    rec.arrow(model, config.records.kinds())
    return rec


def _dask_records(model, jobs, config: RunConfig, workers: int, scheduler: str) -> Iterator[ChunkRecord]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the environment
        raise ExecutorError("the Dask executor needs `pip install dask[distributed]`") from None
    cluster = None
    try:
        if scheduler == "local":
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=40)
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise ExecutorError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}; start one with "
                            f"`dask scheduler` (and `dask worker ADDRESS`), or use --scheduler local") from None
    try:
        remote_model = client.scatter(model, broadcast=True)
        window = max(2 * workers, 4)
        it = iter(jobs)
        pending = [client.submit(_dask_chunk, remote_model, c, r, config, pure=False)
                   for c, r in (next(it) for _ in range(min(window, len(jobs))))]
        while pending:
            fut = pending.pop(0)
            rec = fut.result()
            nxt = next(it, None)
            if nxt is not None:
                pending.append(client.submit(_dask_chunk, remote_model, nxt[0], nxt[1], config, pure=False))
            yield rec
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
