"""Benchmark (run on demand: ``sim bench``; never a test): every cost as a ratio to the draws-only floor.

On a shared machine absolute times drift, so everything is measured in one run
and reported against one yardstick measured in the same run: the **floor**, the
cost of drawing a replication's random numbers alone (the same keyed streams,
the same count of numbers, no transform, no schedule). Measurements that compare
with each other are interleaved (round after round, the median per figure), so
a burst of load hits them alike.

Figures:

* floor; the whole replication of the vectorised engine (draws, schedule, KPIs,
  targets and its records written to Parquet) and of the SimPy engine on the plan
  with its units' capacities cut until they bind; the vectorised forward pass
  alone (the numba kernel of :mod:`sim.engine.kernels` when numba is there, as a run
  uses it), the numpy level pass and the item-by-item pass it replaced (its oracles);
  a peer: a pmcontrols-style FS-only network pass on the same draws;
* summaries (items, targets, KPI tables) against simulating, at 1x and 20x the plan;
* two workers against one on the same run;
* the report step, a batch of 7 scenarios (extrapolated to 50), peak memory and disk of a
  large run, and start-up of ``sim --help`` and ``sim run --runs 1 --no-report``.

The load is sampled throughout. On Linux the bench measures the cores kept busy by
*other* processes (the machine's busy time minus its own process tree's), because its
two-worker steps load two cores by design; when that rose above ``cpu_count - 1.5``
(elsewhere: the load average above ``cpu_count - 0.5``) the ratios are withheld (the
absolute figures are still printed, marked).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sim.engine import streams
from sim.engine.compiled import compile_plan
from sim.engine.forward import forward_pass
from sim.engine.options import Engine, Executor
from sim.engine.replicate import run_chunk
from sim.engine.runner import RunConfig, run_monte_carlo
from sim.engine.sampling import draw_chunk
from sim.model.entities import Plan
from sim.model.enums import LinkType
from sim.model.load import load_plan


# -- the floor: the replication's own random numbers --------------------------------------------
class _Counting:
    """A generator that tallies how many numbers each method call draws."""

    def __init__(self, rng, tally: list, key: str):
        self._rng, self._tally, self._key = rng, tally, key

    def __getattr__(self, name):
        method = getattr(self._rng, name)

        def counted(*args, **kwargs):
            out = method(*args, **kwargs)
            self._tally.append((self._key, int(np.size(out))))
            return out

        return counted


def stream_usage(model, *, seed: int = 1, chunk: int = 0, engine: Engine = Engine.VECTOR) -> list[tuple[str, int]]:
    """(key, numbers drawn) of every stream one chunk uses, recorded from a real chunk."""
    tally: list[tuple[str, int]] = []
    real = streams.generator

    def counting(seed_, chunk_, key):
        return _Counting(real(seed_, chunk_, key), tally, key)

    streams.generator = counting
    try:
        run_chunk(model, seed=seed, chunk=chunk, engine=engine)
    finally:
        streams.generator = real
    return tally


def draw_floor(usage: list[tuple[str, int]], *, seed: int, chunk: int) -> None:
    """Draw the same count of raw uniforms from the same keyed streams (what a chunk cannot avoid)."""
    for key, n in usage:
        streams.generator(seed, chunk, key).random(n)


# -- the peer: a pmcontrols-style pass -----------------------------------------------------------
def fs_only_pass(model, work: np.ndarray) -> np.ndarray:
    """Finish days of an FS-only network (no calendar, pauses, lags or other links), item by item.

    The textbook Monte Carlo CPM forward pass as pmcontrols-style tools run it: each
    task's start is the latest finish of its FS predecessors, its finish start + duration.
    """
    finish = np.zeros(work.shape)
    for group in model.order:
        for i in group:
            es = np.zeros(work.shape[0])
            for p, typ, _ in model.start_preds[i]:
                if typ is LinkType.FS:
                    np.maximum(es, finish[:, p], out=es)
            finish[:, i] = es + work[:, i]
    return finish


# -- load ------------------------------------------------------------------------------------------
def _system_busy_seconds() -> float | None:
    """CPU-seconds the whole machine spent busy since boot (Linux ``/proc/stat``), or None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    ticks = [int(v) for v in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_tree_seconds() -> float | None:
    """CPU-seconds used by this process and its live descendants (Linux ``/proc``), or None elsewhere."""
    tck = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return None
    for e in entries:
        try:
            stat = Path(f"/proc/{e}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        rest = stat[stat.rindex(")") + 2:].split()
        parents[int(e)] = int(rest[1])
        used[int(e)] = (int(rest[11]) + int(rest[12]) + int(rest[13]) + int(rest[14])) / tck
    me = os.getpid()
    total = 0.0
    for pid in used:
        q, seen = pid, 0
        while q not in (me, 0, 1) and seen < 64:
            q, seen = parents.get(q, 0), seen + 1
        if q == me:
            total += used[pid] if pid != me else 0.0
    # this process itself: utime + stime (its reaped children are in its cutime/cstime, counted above)
    return total + used.get(me, 0.0)


@dataclass
class LoadWatch:
    """Samples, every second while the bench runs, the 1-minute load average and the load from *other* processes.

    The bench's own two-worker steps keep two cores busy by design, so the raw load average
    cannot tell a quiet machine from a busy one. On Linux the watch therefore also measures
    the cores other processes kept busy: the machine's busy CPU time (``/proc/stat``) minus
    this process tree's (``/proc/<pid>/stat``), averaged over the last minute.
    """

    samples: list[float] = field(default_factory=list)
    others: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _marks: list[tuple[float, float, float]] = field(default_factory=list)

    def __enter__(self) -> LoadWatch:
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        self.samples.append(os.getloadavg()[0])
        busy, own = _system_busy_seconds(), _own_tree_seconds()
        if busy is None or own is None:
            return
        now = time.monotonic()
        self._marks.append((now, busy, own))
        old = next((m for m in self._marks if now - m[0] <= 60.0), self._marks[0])
        if now - old[0] >= 5.0:
            # own CPU can only grow; a child reaped between samples moves into cutime, so clamp at 0
            self.others.append(max(0.0, ((busy - old[1]) - max(0.0, own - old[2])) / (now - old[0])))

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self._sample()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def peak(self) -> float:
        return max(self.samples)

    @property
    def others_peak(self) -> float | None:
        return max(self.others) if self.others else None

    def quiet(self) -> bool:
        """True when ratios may be reported (see :func:`load_limit`)."""
        if self.others_peak is not None:
            return self.others_peak <= others_limit()
        return self.peak <= load_limit()


def load_limit() -> float:
    """Without /proc: above this 1-minute load average ratios are not reported: cpu_count - 0.5."""
    return (os.cpu_count() or 1) - 0.5


def others_limit() -> float:
    """Above this many cores kept busy by other processes (1-minute mean) ratios are not reported.

    cpu_count - 1.5: the issue's rule (load at most cpu_count - 0.5 while the bench itself keeps
    one core busy), applied to the load the bench did not cause, so its own two-worker steps count
    as what they are.
    """
    return max(0.25, (os.cpu_count() or 1) - 1.5)


# -- helpers ---------------------------------------------------------------------------------------
def _draw_floors(usage: list[tuple[str, int]], base: int, chunks: int) -> None:
    """The stream floor of ``chunks`` chunks from chunk ``base`` on."""
    for c in range(chunks):
        draw_floor(usage, seed=1, chunk=base + c)


def _cpu(fn) -> float:
    """Seconds of this process's CPU spent in ``fn()`` (single-threaded work: wall would count others)."""
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def _wall(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def binding_plan(plan):
    """The plan with each unit's capacity cut to a third of its items (at least 1), so capacities bind."""
    users: dict[str, int] = {}
    for it in plan.items:
        if it.resource_unit:
            users[it.resource_unit] = users.get(it.resource_unit, 0) + 1
    units = tuple(replace(u, capacity=max(1, users.get(u.id, 0) // 3)) if u.capacity is not None else u
                  for u in plan.units)
    return replace(plan, units=units)


class _Writer:
    """Records of a chunk into a run directory's Parquet file, as a run writes them."""

    def __init__(self, model, tmp: Path):
        from sim.results import RunWriter

        self.w = RunWriter(tmp / f"w{time.monotonic_ns()}", model)

    def __call__(self, rec) -> None:
        self.w(rec)

    def close(self) -> None:
        self.w.close_records()
        self.w.abort()


@dataclass(frozen=True)
class Sizes:
    """How much each part of the bench runs (``full``: the issue's sizes; ``quick``; ``smoke``: a test)."""

    rounds: int = 7  # interleaved rounds of the per-replication figures (medians reported)
    chunks: int = 5  # chunks per round of the vectorised figures
    simpy_rows: int = 1000
    summary_runs: int = 10_000
    summary_scale: int = 20
    worker_runs: int = 100_000
    big_runs: int = 100_000  # peak memory and disk of one large run, then the report step on it
    batch_scenarios: int = 7
    batch_runs: int = 100_000
    steps: bool = True  # report and batch (child processes)


SIZES = {
    "full": Sizes(),
    "quick": Sizes(rounds=3, chunks=2, simpy_rows=200, summary_runs=2000, worker_runs=20_000, big_runs=20_000,
                   batch_runs=2000),
    "smoke": Sizes(rounds=1, chunks=1, simpy_rows=20, summary_runs=1000, summary_scale=2, worker_runs=2000,
                   big_runs=1000, batch_scenarios=2, batch_runs=1000, steps=False),
}


@dataclass
class Figure:
    name: str
    seconds: float  # per replication (or per run for whole steps)
    per: str = "rep"  # rep | run
    note: str = ""


# -- the bench ---------------------------------------------------------------------------------
def bench(params: Path, *, size: str = "full", workers: int | None = None,
          more: Callable[[Plan], list[str]] | None = None) -> list[str]:
    """Run the benchmark and return the report lines (see the module docstring); ``more(plan)`` adds
    lines after the table (``sim bench`` passes the what-if page's timing, :func:`sim.serve.bench.whatif_lines`)."""
    workers = workers or os.cpu_count() or 1
    sz = SIZES[size]
    plan = load_plan(params)
    model = compile_plan(plan)
    tight = compile_plan(binding_plan(plan))
    lines = [f"plan: {params}: {model.n_items} items, {len(model.kpis)} KPIs, {len(model.targets)} targets, "
             f"{len(model.risks)} risk instances, {len(model.shocks)} shocks; SimPy figures on capacities "
             f"cut to bind (contention: {tight.has_contention()})"]
    with LoadWatch() as load, tempfile.TemporaryDirectory(prefix="sim-bench-") as tmp_s:
        tmp = Path(tmp_s)
        figs, usage = _per_replication(model, tight, sz, tmp)
        lines.append(f"floor: {len(usage)} keyed streams, {sum(n for _, n in usage) / streams.CHUNK:.0f} "
                     f"numbers per replication")
        figs += _summaries(plan, sz, tmp)
        figs += _workers(model, workers, sz, tmp)
        figs += _steps(params, workers, sz, tmp)
        extra: list[str] = []
        if sz.steps:
            from sim.studies.report_timing import report_lines

            if more is not None:
                extra += more(plan)
            extra += report_lines(params, runs=10_000 if size == "full" else 2000, workers=workers)
    return lines + _table(figs, load) + extra


def _per_replication(model, tight, sz: Sizes, tmp: Path):
    usage = stream_usage(model)
    draws = draw_chunk(model, seed=1, chunk=0)
    run_chunk(tight, seed=1, chunk=0, engine=Engine.SIMPY, rows=20)  # warm caches (level plans, tables)
    chunks, simpy_rows = sz.chunks, sz.simpy_rows
    t: dict[str, list[float]] = {k: [] for k in ("floor", "vector", "simpy", "forward", "forward_levels", "peer",
                                                 "forward_item")}
    from sim.engine import kernels
    from sim.engine.forward import forward_pass_by_item, forward_pass_levels

    if kernels.prime():  # the kernel from the first timed chunk on, as in a long run; loaded before timing
        kernels.forward_kernel(model, draws)

    c0 = 100  # chunks not used above (cold streams, as in a run)
    for r in range(sz.rounds):
        base = c0 + r * chunks
        t["floor"].append(_cpu(lambda: _draw_floors(usage, base, chunks))
                          / (chunks * streams.CHUNK))
        t["vector"].append(_cpu(lambda: _whole(model, Engine.VECTOR, base, chunks, streams.CHUNK, tmp))
                           / (chunks * streams.CHUNK))
        t["forward"].append(_cpu(lambda: forward_pass(model, draws)) / streams.CHUNK)
        t["forward_levels"].append(_cpu(lambda: forward_pass_levels(model, draws)) / streams.CHUNK)
        t["forward_item"].append(_cpu(lambda: forward_pass_by_item(model, draws)) / streams.CHUNK)
        t["peer"].append(_cpu(lambda: fs_only_pass(model, draws.work)) / streams.CHUNK)
        if r < max(1, sz.rounds // 2):
            t["simpy"].append(_cpu(lambda: _whole(tight, Engine.SIMPY, base, 1, simpy_rows, tmp)) / simpy_rows)
    med = {k: statistics.median(v) for k, v in t.items()}
    events = _simpy_events(tight)
    return [
        Figure("floor: the replication's random numbers alone", med["floor"]),
        Figure("vectorised engine, whole replication (draws, schedule, KPIs, targets, Parquet)", med["vector"]),
        Figure("SimPy engine, whole replication, capacities binding", med["simpy"],
               note=f"{events:.0f} SimPy events/rep (waits in time of queued items only)"),
        Figure("forward pass alone (pre-sampled draws; the compiled kernel when numba is there)", med["forward"],
               note="numba kernel" if kernels.enabled() else "numpy level pass (numba off or missing)"),
        Figure("forward pass alone, numpy level at a time (the kernel's oracle)", med["forward_levels"]),
        Figure("forward pass alone, item by item (the level pass's oracle)", med["forward_item"]),
        Figure("peer: pmcontrols-style FS-only network pass (same draws)", med["peer"]),
    ], usage


def _whole(model, engine: Engine, first: int, chunks: int, rows: int, tmp: Path) -> None:
    """Whole replications as a run does them: simulate chunks and write their records."""
    w = _Writer(model, tmp)
    for c in range(chunks):
        w(run_chunk(model, seed=1, chunk=first + c, engine=engine, rows=rows))
    w.close()


def _simpy_events(model) -> float:
    """SimPy events per replication of the SimPy engine (counted on 50 replications).

    Only waits in time are SimPy events (:mod:`sim.engine.processes`): a queued item's
    earliest start, natural finish and FF-gated finish; what is due at the same
    instant (a grant, a release, an open gate) runs from the engine's own queue.
    """
    import simpy

    from sim.engine.processes import simulate_rows

    count = [0]
    real = simpy.Environment.step

    def step(self):
        count[0] += 1
        return real(self)

    simpy.Environment.step = step  # type: ignore[method-assign]  # counting SimPy events, restored below
    try:
        simulate_rows(model, draw_chunk(model, seed=1, chunk=0).rows(slice(0, 50)))
    finally:
        simpy.Environment.step = real  # type: ignore[method-assign]  # restore the patched method
    return count[0] / 50


def _summaries(plan, sz: Sizes, tmp: Path) -> list[Figure]:
    """Summary tables against simulating them (vectorised engine), at 1x and ``summary_scale`` x the plan."""
    from sim.results import read_manifest
    from sim.studies.workflow import run_plan

    out = []
    runs = sz.summary_runs
    for scale in (1, sz.summary_scale):
        p = plan if scale == 1 else scaled_plan(plan, scale)
        cfg = RunConfig(runs=runs, executor=Executor.INLINE, workers=1, seed=3, engine=Engine.VECTOR)
        tm = read_manifest(run_plan(p, config=cfg, out=tmp / f"sum{scale}"))["timings_seconds"]
        share = (tm["total"] - tm["simulate"]) / tm["total"]
        out.append(Figure(f"summaries at {scale}x the plan ({len(p.items)} items), share of the run",
                          (tm["total"] - tm["simulate"]) / runs, note=f"{share:.1%} of the run (goal <= 15 %)"))
    return out


def scaled_plan(plan, k: int):
    """``k`` copies of the plan's items, links and targets (ids suffixed ``~c``), for the scaling of summaries.

    KPIs, risks, shocks and factors are shared (their selectors may reach the copies).
    """
    items, links, targets = list(plan.items), list(plan.links), list(plan.targets)
    ids = {it.id for it in plan.items} | {t.id for t in plan.targets}
    for c in range(1, k):
        def ren(x: str) -> str:
            return f"{x}~{c}" if x in ids else x

        items += [replace(it, id=ren(it.id)) for it in plan.items]
        links += [replace(ln, pred=ren(ln.pred), succ=ren(ln.succ)) for ln in plan.links]
        targets += [replace(t, id=ren(t.id), refs=tuple(ren(r) for r in t.refs)) for t in plan.targets]
    return replace(plan, items=tuple(items), links=tuple(links), targets=tuple(targets))


def _workers(model, workers: int, sz: Sizes, tmp: Path) -> list[Figure]:
    runs = sz.worker_runs
    res = {}
    for n, ex in ((1, Executor.INLINE), (workers, Executor.POOL)):
        w = _Writer(model, tmp)
        res[n] = _wall(lambda: run_monte_carlo(model, RunConfig(runs=runs, executor=ex, workers=n), w)) / runs
        w.close()
    return [Figure(f"vectorised engine, {runs} reps, 1 worker (wall)", res[1]),
            Figure(f"vectorised engine, {runs} reps, {workers} workers (wall)", res[workers],
                   note=f"speed-up {res[1] / res[workers]:.2f}x")]


def _sim(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from sim.cli import main; sys.exit(main())", *args]


def _child(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MiB) of the largest process of the child's tree, exit code.

    The peak is each process's own high-water mark (``VmHWM`` in /proc), polled: the
    ``ru_maxrss`` of ``wait4`` would also count the pages of this (large) bench process
    that the child was forked from before it exec'd.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _tree_hwm_mib(proc.pid))
        time.sleep(0.2)
    return time.perf_counter() - t0, peak, proc.returncode


def _tree_hwm_mib(pid: int) -> float:
    """Largest VmHWM (MiB) among ``pid`` and its descendants (0 where /proc cannot tell)."""
    best, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    best = max(best, int(line.split()[1]) / 1024)
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return best


def _steps(params: Path, workers: int, sz: Sizes, tmp: Path) -> list[Figure]:
    out = []
    help_s = min(_child(_sim("--help"))[0] for _ in range(3))
    run1 = min(_child(_sim("run", "--runs", "1", "--no-report", "--quiet", "--params", str(params),
                           "--out", str(tmp / f"one{k}")))[0] for k in range(3))
    out += [Figure("start-up: sim --help", help_s, per="run"),
            Figure("start-up: sim run --runs 1 --no-report", run1, per="run")]
    big = sz.big_runs
    wall, rss, rc = _child(_sim("run", "--runs", str(big), "--no-report", "--quiet", "--workers", str(workers),
                                "--params", str(params), "--out", str(tmp / "big")))
    size = sum(p.stat().st_size for p in (tmp / "big").glob("*")) / 2**20 if rc == 0 else float("nan")
    out.append(Figure(f"sim run --runs {big} --workers {workers} (wall per rep)", wall / big,
                      note=f"peak RSS {rss:.0f} MiB, run directory {size:.0f} MiB" if rc == 0 else "FAILED"))
    if not sz.steps:
        return out
    rep_wall, _, rc = _child(_sim("report", str(tmp / "big"), "--lang", "en", "--driver-runs", "500"))
    out.append(Figure(f"report step (sim report --lang en) on the {big}-rep run", rep_wall, per="run",
                      note="" if rc == 0 else "FAILED"))
    scen = [p for p in sorted((Path(params).resolve().parent / "scenarios").glob("*.yaml"))][:sz.batch_scenarios]
    n_b = sz.batch_runs
    if scen:
        b_wall, b_rss, rc = _child(_sim("batch", *map(str, scen), "--runs", str(n_b), "--quiet", "--params",
                                        str(params), "--workers", str(workers), "--out", str(tmp / "batch")))
        per50 = b_wall / len(scen) * 50
        out.append(Figure(f"sim batch {len(scen)} scenarios x {n_b} reps (wall per rep)", b_wall / (len(scen) * n_b),
                          note=(f"{b_wall:.0f} s; 50 x {n_b}: {per50 / 60:.1f} min (extrapolated), "
                                f"peak RSS {b_rss:.0f} MiB") if rc == 0 else "FAILED"))
    return out


def _table(figs: list[Figure], load: LoadWatch) -> list[str]:
    floor = figs[0].seconds
    quiet = load.quiet()
    lines = [f"load average (1 min) during the bench: start {load.samples[0]:.2f}, peak {load.peak:.2f}, "
             f"end {load.samples[-1]:.2f} ({os.cpu_count()} CPUs)"]
    if load.others_peak is not None:
        lines.append(f"cores kept busy by other processes (1-min mean): peak {load.others_peak:.2f}; "
                     f"limit for ratios {others_limit():.2f}")
    else:
        lines.append(f"limit for ratios: load average {load_limit():.1f}")
    if not quiet:
        lines.append("RATIOS WITHHELD: the load rose above the limit, figures below are not comparable")
    lines.append(f"{'figure':<92}{'per rep':>12}{'rep/s':>10}{'x floor':>10}  note")
    for f in figs:
        if f.per == "rep":
            per, rate = f"{f.seconds * 1e6:,.1f} us", f"{1 / f.seconds:,.0f}" if f.seconds > 0 else "-"
        else:
            per, rate = f"{f.seconds:,.2f} s", ""
        ratio = f"{f.seconds / floor:,.2f}" if quiet and floor > 0 else "-"
        lines.append(f"{f.name:<92}{per:>12}{rate:>10}{ratio:>10}  {f.note}")
    if quiet and len(figs) > 1:
        lines.append(f"goal: whole replication <= 2x floor; vectorised engine is {figs[1].seconds / floor:.2f}x")
    return lines
