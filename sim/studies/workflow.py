"""Run a plan end to end: compile, simulate, summarise, write a complete run directory."""

from __future__ import annotations

import platform
import time
from datetime import datetime, UTC
from pathlib import Path

import numpy as np

import sim
from sim.analysis.summary import item_table, kpi_table, target_table
from sim.engine import streams
from sim.engine.compiled import compile_plan
from sim.engine.options import Records
from sim.engine.runner import RunConfig, run_monte_carlo
from sim.model.entities import Plan
from sim.results import RunWriter


def run_plan(
    plan: Plan,
    *,
    config: RunConfig,
    out: Path,
    scenario: str = "baseline",
    params_digest: str = "",
    extra_manifest: dict | None = None,
    force: bool = False,
) -> Path:
    """Simulate ``plan`` and write ``out`` (records, tables, manifest) atomically.

    Returns the finished run directory. On any error (or Ctrl-C) the partial
    directory is removed and the error propagates. ``out`` must not exist, or
    hold an earlier run of the tool with ``force`` given (:mod:`sim.safety`).
    """
    t0 = time.perf_counter()
    model = compile_plan(plan)
    writer = RunWriter(out, model, force=force, kinds=config.records.kinds())
    try:
        stats = run_monte_carlo(model, config, writer)
        writer.close_records()
        t_sim = time.perf_counter() - t0
        # columns are read a block at a time: a 100k-replication run never sits in memory whole
        records = writer.records()
        targets = target_table(model, records)
        writer.write_table("items.csv", item_table(model, records))
        writer.write_table("targets.csv", targets)
        writer.write_table("kpis.csv", kpi_table(model, records, targets))
        # money tables (issue 15): when the plan has costs and the records keep starts and costs (--records full)
        if model.cost is not None and model.cost.n and f"cost:{model.cost.ids[0]}" in records.columns \
                and f"start:{model.item_ids[0]}" in records.columns:
            from sim.analysis.investment import cost_table, investment_table
            from sim.analysis.jcl import jcl_table

            writer.write_table("costs.csv", cost_table(model, records))
            writer.write_table("investment.csv", investment_table(model, records))
            writer.write_table("jcl.csv", jcl_table(model, records))
        writer.write_plan(plan)
        from sim.model.clock import date_of
        from sim.model.holidays import coverage_note

        last = date_of(writer.last_finish_day, plan.as_of) if writer.last_finish_day > 0 else None
        calendar_note = coverage_note(plan, last)
        writer.write_manifest(
            {
                "scenario": scenario,
                "calendar_note": calendar_note,
                "seed": config.seed,
                "replications": stats.runs,
                "replications_requested": config.runs,
                "chunk_size": streams.CHUNK,
                "as_of": plan.as_of,
                "params": plan.origin,
                "params_hash": params_digest,
                "package_version": sim.__version__,
                "engine": stats.engine,
                "executor": stats.executor,
                "workers": stats.workers,
                "config": config.to_manifest(),
                "stopped_by_precision": stats.stopped_by_precision,
                "max_target_se": stats.max_target_se,
                "timings_seconds": {
                    "simulate": round(t_sim, 3),
                    "total": round(time.perf_counter() - t0, 3),
                },
                "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "numpy": np.__version__,
                **(extra_manifest or {}),
            }
        )
        if config.records is Records.NONE:
            writer.drop_records()
        return writer.commit()
    except BaseException:
        writer.abort()
        raise
