"""Benchmark of the engine on the full plan (run on demand: ``sim bench``; never a test).

Figures are measured in one run on one machine and reported with their ratios,
since absolute times on a shared machine drift:

* replications/s of a whole replication (draws, schedule, KPIs, targets) with
  the SimPy engine and with the vectorised engine, one worker;
* the vectorised forward pass alone on pre-sampled draws (the practical limit);
* one worker against all workers on the same number of replications;
* peak memory of ``sim run`` for a large batch (a child process, its peak RSS);
* the response time of the what-if page at 2,000 replications (:mod:`sim.serve.bench`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.engine import streams
from sim.engine.compiled import compile_plan
from sim.engine.forward import forward_pass
from sim.engine.replicate import Engine, run_chunk
from sim.engine.runner import Executor, RunConfig, run_monte_carlo
from sim.engine.sampling import draw_chunk
from sim.model.load import load_plan


def _rate(fn, reps: int) -> float:
    t0 = time.perf_counter()
    fn()
    return reps / (time.perf_counter() - t0)


def _chunks(model, engine: Engine, n_chunks: int) -> None:
    for c in range(n_chunks):
        run_chunk(model, seed=1, chunk=c, engine=engine)


def bench(params: Path, *, scaling_runs: int = 20_000, memory_runs: int = 100_000, workers: int | None = None) -> list[str]:
    """Run the benchmark and return the report lines."""
    plan = load_plan(params)
    model = compile_plan(plan)
    workers = workers or os.cpu_count() or 1
    run_chunk(model, seed=1, chunk=99, engine=Engine.SIMPY, rows=50)  # warm caches
    simpy_rate = _rate(lambda: _chunks(model, Engine.SIMPY, 2), 2 * streams.CHUNK)
    vector_rate = _rate(lambda: _chunks(model, Engine.VECTOR, 5), 5 * streams.CHUNK)
    draws = draw_chunk(model, seed=1, chunk=0)
    forward_rate = _rate(lambda: [forward_pass(model, draws) for _ in range(5)], 5 * streams.CHUNK)
    lines = [
        f"plan: {params} — {model.n_items} items, {len(model.kpis)} KPIs, {len(model.targets)} targets, "
        f"{len(model.risks)} risk instances, {len(model.shocks)} shocks; resource contention: {model.has_contention()}",
        "one worker, whole replications (draws + schedule + KPIs + targets):",
        f"  SimPy engine        {simpy_rate:10.0f} rep/s",
        f"  vectorised engine   {vector_rate:10.0f} rep/s   ({vector_rate / simpy_rate:.1f}x SimPy)",
        f"  forward pass alone  {forward_rate:10.0f} rep/s   (pre-sampled draws; SimPy engine is "
        f"{simpy_rate / forward_rate:.3f} of it)",
    ]
    def sink(rec) -> None:  # what a run does with a record, short of writing it: its Arrow table
        rec.arrow(model)

    for engine in (Engine.SIMPY, Engine.VECTOR):
        runs = scaling_runs if engine is Engine.SIMPY else 5 * scaling_runs
        one = _rate(lambda: run_monte_carlo(model, RunConfig(runs=runs, executor=Executor.INLINE, workers=1,
                                                             engine=engine), sink), runs)
        many = _rate(lambda: run_monte_carlo(model, RunConfig(runs=runs, executor=Executor.POOL, workers=workers,
                                                              engine=engine), sink), runs)
        lines.append(f"{engine} engine, {runs} replications: 1 worker {one:.0f} rep/s, "
                     f"{workers} workers {many:.0f} rep/s, speed-up {many / one:.2f}x")
    from sim.serve.bench import whatif_lines

    lines += whatif_lines(plan)
    lines.append(_memory_line(params, memory_runs, workers))
    return lines


def _memory_line(params: Path, runs: int, workers: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "sim.cli", "run", "--no-report", "--params", str(params), "--runs", str(runs),
               "--workers", str(workers), "--quiet", "--out", str(Path(tmp) / "run")]
        t0 = time.perf_counter()
        # wait4 gives this child's own accounting (it and the workers it waited for), not
        # RUSAGE_CHILDREN, which would also count the pool workers of the runs above
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        stderr = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        peak_mib = usage.ru_maxrss / 1024
        size = sum(p.stat().st_size for p in (Path(tmp) / "run").glob("*")) / 2**20 if proc.returncode == 0 else 0
    if proc.returncode != 0:
        return f"memory run failed: {stderr.strip()[-400:]}"
    return (f"sim run --runs {runs} --workers {workers}: wall {wall:.1f} s, peak RSS of the largest process "
            f"{peak_mib:.0f} MiB, run directory {size:.0f} MiB")
