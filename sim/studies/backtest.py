"""The backtest of run directories: read each run, score it against the actuals, write a backtest directory.

Outcomes, forecasts and scores are :mod:`sim.analysis.backtest`; the charts and
the Markdown summary are :mod:`sim.report.backtest`. The directory holds
``outcomes.csv``, ``scores.csv``, ``paired.csv``, ``reliability.csv``, ``pit.csv``, the PNG
charts, ``backtest.md`` and ``manifest.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from sim.model.actuals import apply_actuals
from sim.analysis.backtest import (
    EPS, forecast_from_records, outcomes, paired_differences, pit_histogram, plan_certain, reference_class,
    reliability, score_table, summarise,
)
from sim.engine.compiled import compile_plan
from sim.engine.replicate import column
from sim.model.entities import Plan


@dataclass
class BacktestResult:
    """Tables of a backtest: per outcome and forecaster, and mean scores per forecast."""

    outcomes: pd.DataFrame
    summary: pd.DataFrame
    notes: list[str]
    out: object = None  # the directory written
    paired: pd.DataFrame = None  # model minus each baseline, with s.e. (analysis.backtest.paired_differences)


def _manifest_date(run: Path, man: dict) -> date:
    from sim.errors import RunDirError

    try:
        int(man["replications"]), int(man["seed"])
        return date.fromisoformat(str(man["as_of"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise RunDirError(f"{run}/manifest.json: not a run manifest (as_of, replications, seed: {exc})") from None


def backtest_runs(run_dirs, *, plan: Plan, actuals, out, params_digest: str = "",
                  refclass: bool = True, force: bool = False) -> BacktestResult:
    """Score the forecasts of ``run_dirs`` against ``actuals`` and write tables and charts to ``out``.

    Parameters
    ----------
    run_dirs
        Run directories (records.parquet, manifest.json); each is one forecast at its as-of date.
    plan
        The plan as loaded from params (plan dates, target rules, the naive baselines).
    actuals
        :class:`sim.model.actuals.Actuals`; outcomes are as of its latest fact.
    out
        Directory for outcomes.csv, scores.csv, reliability/PIT tables and PNG charts, backtest.md;
        staged and renamed into place when complete (``force``: replace an earlier backtest of the tool).
    params_digest
        SHA-256 of the params read, compared with each run's (a mismatch is noted).
    refclass
        Whether to compute the reference-class baseline (an engine run per forecast).
    """
    from sim.report.backtest import backtest_markdown, write_charts
    from sim.results import read_manifest, read_records, write_manifest, write_table

    from sim.safety import StagedDir

    final = Path(out)
    stage = StagedDir(final, kind="backtest", force=force)
    out = stage.path
    try:
        found = outcomes(plan, actuals.facts)
        notes: list[str] = []
        tables = []
        for run in map(Path, run_dirs):
            man = read_manifest(run)
            as_of = _manifest_date(run, man)
            if params_digest and man.get("params_hash") and man["params_hash"] != params_digest:
                notes.append(f"{run.name}: run from params with a different hash than the params read now")
            wanted = []
            for o in found:
                wanted += ([column("finish", o.id)] if o.kind == "item"
                           else [column("met", o.id), column("achieved", o.id)])
            records = read_records(run)
            records = records[[c for c in dict.fromkeys(wanted) if c in records.columns]]
            forecasts = [forecast_from_records("model", as_of, records)]
            plan_at = apply_actuals(plan, actuals.facts, as_of)
            forecasts.append(plan_certain(compile_plan(plan_at)))
            if refclass:
                forecasts.append(reference_class(plan_at, runs=int(man["replications"]), seed=int(man["seed"])))
            tables.append(score_table(forecasts, found, label=run.name))
        table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
        summary = summarise(table) if len(table) else pd.DataFrame()
        paired = paired_differences(table) if len(table) else pd.DataFrame()
        footer = (f"actuals {actuals.file} (sha256 {actuals.sha256[:12]}), outcomes as of {actuals.latest}; "
                  f"log scores clip p to [{EPS:g}, {1 - EPS:g}]")
        write_table(out, "outcomes.csv", table)
        write_table(out, "scores.csv", summary)
        write_table(out, "paired.csv", paired)
        if len(table):
            rel, hist = reliability(table), pit_histogram(table)
            write_table(out, "reliability.csv", rel)
            write_table(out, "pit.csv", hist)
            write_charts(out, rel, hist, summary, footer=footer)
        (out / "backtest.md").write_text(backtest_markdown(summary, table, actuals=actuals, notes=notes,
                                                           paired=paired),
                                         encoding="utf-8")
        meta = {"actuals": actuals.manifest(), "outcomes_as_of": actuals.latest, "eps": EPS,
                "runs": [str(r) for r in run_dirs], "notes": notes}
        write_manifest(out, meta)
    except BaseException:
        stage.abort()
        raise
    stage.commit()
    return BacktestResult(table, summary, notes, final, paired)
