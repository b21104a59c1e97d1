"""Scenario batches on common random numbers: run every scenario, resume, compare.

Every scenario is run with the same seed, so each uncertain quantity it shares
with the others gets the same draws (:mod:`sim.engine.streams`). The effect of a
scenario on a target is then the paired difference, replication by replication,
against the baseline (the scenario named ``baseline``; when none is listed, the
plan as it is, run as ``baseline`` first)::

    d_r = met_scenario(r) - met_reference(r)        (in {-1, 0, 1})
    difference = mean(d),  se = sd(d) / sqrt(n),  95 % interval = difference ± 1.96 se

so a scenario compared with itself differs by exactly zero.

Layout of a batch directory ``OUT``::

    OUT/runs/<scenario>/     one run directory per scenario (sim.studies.workflow.run_plan)
    OUT/batch.json           status of every scenario (done, reused, failed + error)
    OUT/comparison.csv|xlsx, comparison.<lang>.html|png

A scenario is finished when its run directory is complete (never a
``.partial``) and its manifest's ``batch_key`` (seed, runs, params hash,
scenario file hash, engine, sampling) matches; ``resume`` skips those. Every file
is written atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim.engine import streams
from sim.analysis import scenarios
from sim.engine.replicate import column
from sim.engine.runner import RunConfig
from sim.model.entities import Plan
from sim.model.problems import PlanError
from sim.results import (read_record_kind, read_records, read_table, write_atomic, write_bytes, write_json,
                         write_table, write_text)

BASELINE = "baseline"
Event = Callable[[str, str, str], None]  # (what, scenario, detail)


class BatchError(Exception):
    """A batch that cannot start (e.g. two scenarios with the same name)."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one scenario of a batch."""

    name: str
    file: str
    status: str  # done | reused | failed
    run_dir: str = ""
    error: str = ""
    seconds: float = 0.0
    scenario_hash: str = ""


@dataclass
class BatchResult:
    """The outcomes, the comparison table and the files written."""

    out: Path
    outcomes: list[Outcome]
    reference: str | None
    comparison: pd.DataFrame
    files: dict[str, Path] = field(default_factory=dict)
    money: pd.DataFrame = field(default_factory=pd.DataFrame)  # programme cost per scenario (comparison_money.csv)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def scenario_name(path: Path | str) -> str:
    """A scenario's name: its file name without ``.yaml``."""
    return Path(path).stem


Prepare = Callable[[Plan], tuple[Plan, dict]]


def batch_key(config: RunConfig, *, params_hash: str, scenario_hash: str) -> dict:
    """What must match for a finished run directory to be reused by ``--resume``."""
    return {"seed": config.seed, "runs": config.runs, "chunk_size": streams.CHUNK, "params_hash": params_hash,
            "scenario_hash": scenario_hash, "engine": str(config.engine), "lhs": bool(config.lhs),
            "precision": config.precision, "package_version": sim.__version__}


def is_finished(run_dir: Path, key: dict) -> bool:
    """Whether ``run_dir`` is a complete run made with ``key`` (see module docstring)."""
    from sim.results import RECORDS, manifest_if_readable

    manifest = manifest_if_readable(run_dir)
    return manifest is not None and (run_dir / RECORDS).is_file() and manifest.get("batch_key") == key


def run_batch(files: Sequence[Path], *, params_dir: Path, config: RunConfig, out: Path, resume: bool = False,
              on_event: Event | None = None, prepare: Prepare | None = None, force: bool = False) -> BatchResult:
    """Run every scenario on common random numbers, then compare them.

    Parameters
    ----------
    files
        Scenario YAML files; names (file stems) must be unique.
    params_dir
        The params directory every scenario overlays.
    config
        Runs, seed, executor (``scheduler`` for Dask) ... shared by every scenario.
    out
        Batch directory (see module docstring).
    resume
        Reuse the finished run directories of an earlier, interrupted batch.
        Without it (or ``force``) an existing ``out`` is refused: a batch
        never overwrites an earlier one (:class:`sim.safety.OwnedDir`).
    force
        Replace an earlier batch directory of the tool at ``out``.
    on_event
        Called as ``on_event(what, scenario, detail)`` with what in ``start``,
        ``done``, ``reused``, ``failed`` (for progress output).
    prepare
        Applied to each scenario's plan after the scenario (e.g. moving it to an
        as-of date with actuals): returns the plan and manifest entries. Its
        ``key`` attribute (a JSON-able value) joins the resume key.

    Returns
    -------
    BatchResult
        A failed scenario is in ``failed`` with its error; the others complete.

    Raises
    ------
    PlanError
        When params/ itself cannot be loaded (no scenario can run).
    BatchError
        Duplicate scenario names, a name that cannot name a folder, or no scenario.
    OutputError
        ``out`` exists and is not an earlier batch to resume or replace, or another
        process is writing it.
    KeyboardInterrupt
        Propagates; finished scenarios stay finished for ``resume``.
    """
    from sim.model.load import load_plan
    from sim.results import params_hash

    from sim.safety import OwnedDir, safe_name

    names = [scenario_name(f) for f in files]
    if not names:
        raise BatchError("no scenario files given")
    for name, given in zip(names, files):
        why = safe_name(name)
        if why:
            raise BatchError(f"{given}: the scenario's name {why}; rename the file")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise BatchError(f"scenario names must be unique in a batch, repeated: {', '.join(dupes)}")
    jobs: list[tuple[str, Path | None]] = list(zip(names, map(Path, files)))
    if BASELINE not in names:  # every scenario is compared with the plan as it is, never with itself
        jobs.insert(0, (BASELINE, None))
    emit = on_event or (lambda *_: None)
    out = Path(out)
    plan = load_plan(params_dir)
    if not plan.targets:  # the baseline, which every scenario is compared with, would have nothing to forecast
        raise BatchError(f"{params_dir}: the plan has no target (targets.csv has no row): a batch compares "
                         "the scenarios' targets; add one")
    digest = params_hash(params_dir)
    owned = OwnedDir(out, kind="batch", resume=resume, force=force)
    try:
        (out / "runs").mkdir(exist_ok=True)
        outcomes: list[Outcome] = []
        task = _Task(plan, config, out, digest, resume, prepare)
        order = {name: k for k, (name, _) in enumerate(jobs)}
        for outcome in _outcomes(task, jobs, emit):  # as they finish
            outcomes.append(outcome)
            outcomes.sort(key=lambda o: order[o.name])  # batch.json lists them in job order
            emit(outcome.status, outcome.name, outcome.error or outcome.run_dir)
            write_json(out / "batch.json", _batch_meta(config, params_dir, digest, outcomes))
        ok = {o.name: Path(o.run_dir) for o in outcomes if o.status != "failed"}
        reference = BASELINE if BASELINE in ok else None
        comparison = compare(ok, reference=reference) if reference else pd.DataFrame()
        meta = {**_batch_meta(config, params_dir, digest, outcomes), "reference": reference}
        result = BatchResult(out, outcomes, reference, comparison)
        if reference:
            result.files = write_comparison(out, comparison, outcomes, meta)
            from sim.analysis.investment import money_comparison  # programme cost per scenario (issue 15)

            money = money_comparison(ok, reference=reference)
            if not money.empty:
                result.files["money_csv"] = out / "comparison_money.csv"
                write_table(out, "comparison_money.csv", money, float_format="%.6g")
                result.money = money
        write_json(out / "batch.json", meta)
    finally:
        owned.release()
    return result


@dataclass(frozen=True)
class _Task:
    """What every scenario of a batch shares (handed to the scenario workers once, by fork)."""

    plan: Plan
    config: RunConfig
    out: Path
    digest: str
    resume: bool
    prepare: Prepare | None

    def run(self, name: str, file: Path | None, config: RunConfig | None = None) -> Outcome:
        return _run_one(self.plan, file, name, config=config or self.config, out=self.out, digest=self.digest,
                        resume=self.resume, prepare=self.prepare)


def scenario_workers(config: RunConfig, scenarios: int) -> int:
    """How many scenarios run at once: one per worker, each on one core, when the run would use a
    process pool and there is more than one scenario; else 1 (chunks of one scenario at a time
    over the executor the run chose, e.g. Dask).

    A scenario per core spares the pool's parent its share of every replication (receiving and
    writing records) and runs the summaries in parallel too; every record is bit-identical for any
    executor and worker count, so the results are the same.
    """
    import multiprocessing as mp
    import os

    from sim.engine.options import Executor

    if config.scheduler or config.executor not in (None, Executor.POOL) or "fork" not in mp.get_all_start_methods():
        return 1  # (the workers inherit the batch's plan and preparation by fork: closures do not pickle)
    return max(1, min(config.workers or os.cpu_count() or 1, scenarios))


def _outcomes(task: _Task, jobs: list[tuple[str, Path | None]], emit: Event):
    """The outcome of every job as it finishes; scenarios run :func:`scenario_workers` at a time,
    each announced (``start``) when it starts."""
    def start(name: str, file: Path | None) -> None:
        emit("start", name, str(file) if file else "params as they are (no scenario)")

    workers = scenario_workers(task.config, len(jobs))
    if workers == 1:
        for name, file in jobs:
            start(name, file)
            yield task.run(name, file)
        return
    from concurrent.futures import FIRST_COMPLETED, Future, wait
    from concurrent.futures.process import BrokenProcessPool

    from sim.engine.options import Executor

    single = replace(task.config, executor=Executor.INLINE, workers=1, progress=False)
    todo = list(jobs)
    pool = _scenario_pool(workers, task)
    try:
        running: dict[Future[Outcome], tuple[str, Path | None]] = {}
        while todo or running:
            while todo and len(running) < workers:
                name, file = todo.pop(0)
                start(name, file)
                running[pool.submit(_run_in_worker, name, file, single)] = (name, file)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            lost = []
            for fut in done:
                name, file = running.pop(fut)
                try:
                    yield fut.result()
                except BrokenProcessPool:  # a worker died (killed, out of memory): its pool is gone
                    lost.append((name, file))
            if lost:  # every scenario still running went with the pool; the rest get a new one
                for name, file in [*lost, *running.values()]:
                    yield Outcome(name, str(file) if file is not None else "", "failed", error=_WORKER_DIED)
                running.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = _scenario_pool(workers, task)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


_WORKER_DIED = ("a scenario worker process ended without a result (killed, or out of memory?); "
                "run the batch again with --resume")


def _scenario_pool(workers: int, task: _Task):
    """A fork pool whose workers hold ``task`` (inherited, never pickled) and end with this process."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"), initializer=_init_worker,
                               initargs=(task,))


_WORKER_TASK: _Task | None = None  # the batch a scenario worker serves (set by _init_worker, inherited by fork)


def _init_worker(task: _Task) -> None:
    from sim.engine.runner import die_with_parent

    global _WORKER_TASK
    _WORKER_TASK = task
    die_with_parent()


def _run_in_worker(name: str, file: Path | None, config: RunConfig) -> Outcome:
    assert _WORKER_TASK is not None, "a scenario worker without its batch"
    return _WORKER_TASK.run(name, file, config)


def _run_one(plan, file: Path | None, name: str, *, config: RunConfig, out: Path, digest: str, resume: bool,
             prepare: Prepare | None = None) -> Outcome:
    """One scenario of the batch; ``file`` None is the baseline (params as they are, no overlay)."""
    from sim.model.scenario import apply_scenario, load_scenario
    from sim.studies.workflow import run_plan

    t0 = time.perf_counter()
    run_dir = out / "runs" / name
    label = str(file) if file is not None else ""
    try:
        scenario = load_scenario(file) if file is not None else None
        scenario_hash = scenario.digest if scenario is not None else ""
        key = batch_key(config, params_hash=digest, scenario_hash=scenario_hash)
        if prepare is not None:
            key["prepare"] = getattr(prepare, "key", None)
        if resume and is_finished(run_dir, key):
            return Outcome(name, label, "reused", str(run_dir), scenario_hash=scenario_hash)
        scenario_plan = apply_scenario(plan, scenario) if scenario is not None else plan
        extra: dict = {}
        if prepare is not None:
            scenario_plan, extra = prepare(scenario_plan)
        if not scenario_plan.targets:
            return Outcome(name, label, "failed", error="the scenario leaves the plan without any target: "
                           "nothing to forecast", seconds=time.perf_counter() - t0)
        run_plan(scenario_plan, config=config, out=run_dir, scenario=name, params_digest=digest, force=True,
                 extra_manifest={**extra, **(scenario.manifest() if scenario is not None else {}),
                                 "batch_key": key})
    except PlanError as exc:
        return Outcome(name, label, "failed", error=exc.report(), seconds=time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - one failing scenario must not lose the others
        return Outcome(name, label, "failed", error=f"{type(exc).__name__}: {exc}",
                       seconds=time.perf_counter() - t0)
    return Outcome(name, label, "done", str(run_dir), seconds=round(time.perf_counter() - t0, 3),
                   scenario_hash=scenario_hash)


def _batch_meta(config: RunConfig, params_dir: Path, digest: str, outcomes: list[Outcome]) -> dict:
    return {"seed": config.seed, "runs": config.runs, "params": str(params_dir), "params_hash": digest,
            "package_version": sim.__version__, "scenarios": [asdict(o) for o in outcomes]}


# --- the paired comparison: read the runs, compare them (sim.analysis.scenarios) -----------------

def _target_info(run_dir: Path) -> pd.DataFrame:
    return read_table(run_dir, "targets.csv", dtype={"id": str})


def _met(run_dir: Path, target_ids: list[str]) -> pd.DataFrame:
    cols = [column("met", t) for t in target_ids]
    rec = read_records(run_dir, columns=["rep", *cols]).sort_values("rep").set_index("rep")
    return rec.rename(columns=dict(zip(cols, target_ids)))


def compare(runs: dict[str, Path], *, reference: str) -> pd.DataFrame:
    """P(met) of every target per scenario and its paired difference against ``reference``.

    ``runs``: scenario name -> finished run directory, in batch order. The table is
    :func:`sim.analysis.scenarios.compare` of their targets tables and met records.
    """
    infos = {name: _target_info(d) for name, d in runs.items()}
    ref_met = _met(runs[reference], list(infos[reference]["id"]))
    met = {name: ref_met if name == reference else _met(d, list(infos[name]["id"])) for name, d in runs.items()}
    return scenarios.compare(infos, met, reference=reference)


# --- files: CSV, Excel, chart, HTML (drawn by sim.report.comparison) -----------------------------

LANGS = ("zh", "en")  # the comparison page and its charts, one per language


def write_comparison(out: Path, comparison: pd.DataFrame, outcomes: list[Outcome], meta: dict) -> dict[str, Path]:
    """Write comparison.csv and .xlsx, and per language comparison.<lang>.html and its charts, each atomically."""
    from sim.report.comparison import comparison_html, comparison_workbook, difference_chart, s_curve_overlay_chart
    from sim.report.fonts import Lang
    from sim.report.html import Chart
    from sim.report.i18n import tr
    from sim.report.style import png_bytes

    out = Path(out)
    files = {f"html_{lang}": out / f"comparison.{lang}.html" for lang in LANGS}
    files.update({"xlsx": out / "comparison.xlsx", "csv": out / "comparison.csv"})
    runs = {o.name: Path(o.run_dir) for o in outcomes if o.status != "failed"}
    reference = meta.get("reference")
    headlines, curves, item_names = _headline_inputs(runs, reference, comparison)
    write_table(out, files["csv"].name, comparison, float_format="%.6g")
    if not headlines.empty:
        files["headline_csv"] = out / "comparison_headline.csv"
        write_table(out, files["headline_csv"].name, headlines, float_format="%.6g")
    status = pd.DataFrame([asdict(o) for o in outcomes])
    write_atomic(files["xlsx"], lambda p: comparison_workbook(p, comparison,
                                                         p_met=scenarios.wide(comparison, "p_met"),
                                                         difference=scenarios.wide(comparison, "difference"),
                                                         scenarios=status, headlines=headlines))
    for code in LANGS:
        lang = Lang(code)
        diff_png = png_bytes(difference_chart(comparison, lang=lang), lang=lang)
        files[f"png_{code}"] = out / f"comparison.{code}.png"
        write_bytes(files[f"png_{code}"], diff_png)
        charts = [Chart("differences", tr("cmp_chart_diff", lang), diff_png)]
        if not curves.empty:
            curve_png = png_bytes(s_curve_overlay_chart(curves, names=item_names, lang=lang), lang=lang)
            files[f"s_curves_png_{code}"] = out / f"comparison_s_curves.{code}.png"
            write_bytes(files[f"s_curves_png_{code}"], curve_png)
            charts.append(Chart("s_curves", tr("cmp_scurves", lang), curve_png))
        page = comparison_html(comparison, outcomes, meta, lang=lang, headlines=headlines, charts=charts)
        write_text(files[f"html_{code}"], page)
    return files


def _headline_inputs(runs: dict[str, Path], reference: str | None, comparison: pd.DataFrame):
    """Per-scenario headline rows, S-curves of the key items on shared grids, and the items' names."""
    from sim.analysis.appraisal import s_curves_across
    from sim.analysis.headline import scenario_headlines
    from sim.results import read_plan_snapshot

    empty = pd.DataFrame()
    if not runs or reference not in runs:
        return empty, empty, {}
    try:
        plans = {n: read_plan_snapshot(d) for n, d in runs.items()}
    except Exception:  # noqa: BLE001 - an old run without a snapshot: the comparison still gets written
        return empty, empty, {}
    met = {n: read_record_kind(d, "met") for n, d in runs.items()}
    headlines = scenario_headlines({n: (plans[n], met[n]) for n in runs}, reference=reference)
    ref_plan = plans[reference]
    ids = [it.id for it in ref_plan.items]
    finishes = {}
    for n, d in runs.items():
        have = [i for i in ids if i in {it.id for it in plans[n].items}]
        rec = read_records(d, columns=["rep"] + [column("finish", i) for i in have]).sort_values("rep")
        finishes[n] = {i: rec[column("finish", i)].to_numpy(dtype=np.float64) for i in have}
    key = scenarios.key_items(finishes, reference, ids)
    curves = s_curves_across(finishes, key, ref_plan.as_of) if key else empty
    names = {it.id: (it.name_zh or "", it.name_en or "") for it in ref_plan.items}
    return headlines, curves, names


# --- terminal view -------------------------------------------------------------------------------

def summary_lines(result: BatchResult, *, limit: int = 12) -> list[str]:
    """The largest significant differences per scenario, as text lines."""
    lines = []
    for o in result.outcomes:
        lines.append(f"{o.name:<20} {o.status}" + (f": {o.error.splitlines()[0]}" if o.error else ""))
    cmp = result.comparison
    if cmp.empty or result.reference is None:
        return lines
    if not result.money.empty:
        lines.append("programme cost (亿元, invested items): P50 [P10-P90], paired difference against the reference:")
        for r in result.money.itertuples():
            lines.append(f"  {r.scenario:<20} {r.p50_cost:8.1f} [{r.p10_cost:.1f}-{r.p90_cost:.1f}]  "
                         f"Δ mean {r.difference:+.2f} ± {r.difference_se:.2f}")
    lines.append(f"paired differences in P(met) against {result.reference} (95 % interval excludes 0):")
    for name in dict.fromkeys(cmp["scenario"]):
        if name == result.reference:
            continue
        rows = cmp[(cmp["scenario"] == name) & cmp["excludes_zero"]].sort_values("difference", key=np.abs,
                                                                                ascending=False)
        lines.append(f"  {name}: {len(rows)} of {int((cmp['scenario'] == name).sum())} targets change")
        for r in rows.head(limit).itertuples():
            lines.append(f"    {r.target:<16} {r.p_reference:6.1%} -> {r.p_met:6.1%}  Δ {r.difference:+6.1%} "
                         f"[{r.ci95_low:+.1%}, {r.ci95_high:+.1%}]  {r.name_en}")
    return lines
