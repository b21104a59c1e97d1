"""Every analysis table of a run, computed once from its records.

The tables are language-independent; the report renders them in Chinese or
English. :func:`analyse` is pure (plan + records + run settings in, tables out).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sim.analysis.appraisal import (
    contingency_table,
    convergence_table,
    end_targets,
    kpi_fan_table,
    s_curve_table,
    targets_met_distribution,
    unit_scorecard,
)
from sim.analysis.criticality import PROGRAMME_ID, criticality_table
from sim.analysis.drivers import draws_for, item_days, natural_finish
from sim.analysis.merge import merge_bias
from sim.analysis.risk_effects import effects_tables
from sim.engine.compiled import CompiledModel
from sim.engine.replicate import Engine
from sim.engine.runner import RunConfig
from sim.model.entities import Plan

TABLES = (
    "criticality",
    "drivers",
    "programme_drivers",
    "merge_bias",
    "contingency",
    "convergence",
    "scorecard",
    "targets_met",
    "kpi_fan",
    "s_curves",
)


@dataclass(frozen=True)
class RunSettings:
    """What the analysis needs to know about how a run was made (from its manifest)."""

    seed: int
    engine: Engine = Engine.AUTO
    lhs: bool = False
    workers: int | None = 1

    @staticmethod
    def from_manifest(manifest: dict) -> RunSettings:
        """Seed, engine and sampling of the run, read typed (:meth:`RunConfig.from_manifest`).

        The risk-effect re-runs stay in-process (``workers`` 1): on the shared 2-core machine
        spawned workers measured slower (12.7 s against 10.6 s for the 19 variants at load 3)."""
        cfg = RunConfig.from_manifest(manifest)
        return RunSettings(seed=cfg.seed, engine=cfg.engine, lhs=cfg.lhs)


def key_targets(model: CompiledModel, *, limit: int = 8) -> list[str]:
    """Targets whose probabilities the convergence record follows: the headline ones first."""
    head = [t.id for t in model.plan.targets if t.section == "headline"]
    rest = [t for t in end_targets(model) if t not in head]
    return (head + rest)[:limit] or [t.id for t in model.targets][:limit]


def analyse(
    plan: Plan,
    model: CompiledModel,
    records: pd.DataFrame,
    settings: RunSettings,
    *,
    driver_runs: int = 2000,
) -> dict[str, pd.DataFrame]:
    """All analysis tables of :data:`TABLES`, keyed by name.

    ``driver_runs`` replications are re-simulated without each risk and shock, and
    without duration and KPI uncertainty (see :mod:`sim.analysis.risk_effects`);
    the rest only reads the records.
    """
    runs = min(driver_runs, len(records))
    draws = draws_for(model, records["rep"].to_numpy(), seed=settings.seed, lhs=settings.lhs)
    # each item's own finish: read by the criticality chains and the merge gates, computed once
    natural = natural_finish(model, item_days(model, records, "start"), item_days(model, records, "finish"), draws)
    crit = criticality_table(model, records, draws=draws, natural=natural)
    drivers, programme = effects_tables(plan, records, seed=settings.seed, runs=runs, engine=settings.engine,
                                        lhs=settings.lhs, workers=settings.workers)
    return {
        "criticality": crit,
        "drivers": drivers,
        "programme_drivers": programme,
        "merge_bias": merge_bias(model, records, draws=draws, natural=natural),
        "contingency": contingency_table(model, records),
        "convergence": convergence_table(model, records, key_targets(model)),
        "scorecard": unit_scorecard(model, records),
        "targets_met": targets_met_distribution(model, records),
        "kpi_fan": kpi_fan_table(model, records),
        "s_curves": s_curve_table(model, records, key_items(crit)),
    }


def key_items(criticality: pd.DataFrame, *, limit: int = 6) -> list[str]:
    """Items for the S-curves: the most critical for the programme's finish, then for any target."""
    if criticality.empty:
        return []
    ranked = criticality[criticality["criticality"] > 0].sort_values("criticality", ascending=False)
    prog = ranked[ranked["target"] == PROGRAMME_ID]
    rest = ranked
    ids = list(dict.fromkeys([*prog["item"], *rest["item"]]))
    return ids[:limit]
