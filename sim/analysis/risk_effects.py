"""Risk ranking by effect: re-run the plan without one risk (or shock) at a time.

Streams are keyed per uncertain quantity (:mod:`sim.engine.streams`), so a plan
without risk R, run with the run's seed, draws exactly the same numbers for
everything else: common random numbers. The effect of R on a target is then the
paired difference, replication by replication::

    d_r = met_without_R(r) - met_with_R(r)        (in {-1, 0, 1})
    effect on P(met) = mean(d),   standard error = sd(d) / sqrt(n)

so a risk that can never fire has an effect of exactly zero. The shift of the
P80 achieved date is P80(with) - P80(without), in days, and the mean shift of
the achieved day has its own paired standard error.

:func:`programme_effects` reads the same re-runs at programme level (expected
number of programme-end targets met, P(all headline targets met)) and adds two
drivers that are not in the register: duration uncertainty itself (every
duration multiplier at its median) and KPI rate uncertainty (every KPI rate at
its mean).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from sim.analysis.drivers import achieved_days, finite_days
from sim.engine.compiled import compile_plan
from sim.model.clock import FAR_DAY
from sim.engine.replicate import Engine, column
from sim.engine.runner import RunConfig, run_monte_carlo
from sim.model.entities import Plan

DURATION_UNCERTAINTY = "DURATION_UNCERTAINTY"  # pseudo-driver: multipliers at their median
KPI_UNCERTAINTY = "KPI_UNCERTAINTY"  # pseudo-driver: KPI rates at their mean
PROGRAMME_COLUMNS = ["driver", "kind", "effect_expected_met", "effect_expected_met_se", "effect_p_all",
                     "effect_p_all_se", "runs"]
COLUMNS = ["driver", "kind", "target", "p_met_with", "p_met_without", "effect_p_met", "effect_se",
           "p80_shift_days", "mean_shift_days", "mean_shift_se", "runs"]


def without(plan: Plan, driver_id: str) -> Plan:
    """The plan with risk or shock ``driver_id`` removed (every item it would hit)."""
    risks = tuple(r for r in plan.risks if r.id != driver_id)
    shocks = tuple(s for s in plan.shocks if s.id != driver_id)
    if len(risks) == len(plan.risks) and len(shocks) == len(plan.shocks):
        raise KeyError(f"no risk or shock with id {driver_id!r} in the plan")
    return replace(plan, risks=risks, shocks=shocks)


def _median_fixed(dist):
    from sim.engine.distributions import ppf
    from sim.model.distribution import Distribution

    return Distribution.fixed(float(ppf(dist, np.array([0.5]))[0]))


def without_duration_uncertainty(plan: Plan) -> Plan:
    """The plan with every duration multiplier (reference classes and item overrides) fixed at its median."""
    classes = tuple(replace(c, multiplier=_median_fixed(c.multiplier)) for c in plan.duration_classes)
    items = tuple(replace(it, multiplier=_median_fixed(it.multiplier)) if it.multiplier is not None else it
                  for it in plan.items)
    return replace(plan, duration_classes=classes, items=items)


def without_kpi_uncertainty(plan: Plan) -> Plan:
    """The plan with every KPI rate at its mean (rate_cv = 0); arrivals and volatility stay random."""
    return replace(plan, kpis=tuple(replace(k, rate_cv=0.0) for k in plan.kpis))


def simulate_outcomes(
    plan: Plan, *, runs: int, seed: int, engine: Engine = Engine.AUTO, lhs: bool = False, workers: int | None = 1
) -> tuple[np.ndarray, np.ndarray]:
    """``met`` (bool) and ``achieved`` (days) of every target for the first ``runs`` replications."""
    model = compile_plan(plan)
    met, ach = [], []

    def sink(rec) -> None:
        met.append(rec.met.astype(bool))
        ach.append(rec.achieved.astype(np.float64))

    config = RunConfig(runs=runs, seed=seed, engine=engine, lhs=lhs, workers=workers)
    run_monte_carlo(model, config, sink)
    return np.concatenate(met), np.concatenate(ach)


def risk_effects(
    plan: Plan,
    records: pd.DataFrame,
    *,
    seed: int,
    runs: int = 2000,
    engine: Engine = Engine.AUTO,
    lhs: bool = False,
    workers: int | None = 1,
    drivers: list[str] | None = None,
) -> pd.DataFrame:
    """Effect of every risk and shock on every target, one row per (driver, target).

    Parameters
    ----------
    plan : Plan
        The plan the records were simulated from.
    records : DataFrame
        The run's records; its first ``runs`` replications are the baseline
        (they must be replications ``0 .. runs-1``, which every run starts with).
    seed, engine, lhs : as in the run (from its manifest).
    runs : int
        Replications per re-run (the paired design needs far fewer than the run).
    drivers : list of str, optional
        Risk/shock ids to assess; default all of them.

    Returns
    -------
    DataFrame with columns ``driver, kind, target, p_met_with, p_met_without,
    effect_p_met, effect_se, p80_shift_days, mean_shift_days, mean_shift_se, runs``.
    ``effect_p_met`` > 0 means the driver lowers P(met) by that much.
    """
    return effects_tables(plan, records, seed=seed, runs=runs, engine=engine, lhs=lhs, workers=workers,
                          drivers=drivers, programme=False)[0]


def effects_tables(plan: Plan, records: pd.DataFrame, *, seed: int, runs: int = 2000, engine: Engine = Engine.AUTO,
                   lhs: bool = False, workers: int | None = 1, drivers: list[str] | None = None,
                   programme: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(:func:`risk_effects` table, :func:`programme_effects` table) from one set of re-runs.

    With ``programme`` the duration and KPI uncertainty re-runs are added for the
    programme table (they are not rows of the per-target risk ranking).
    """
    model = compile_plan(plan)
    base = records[records["rep"] < runs].sort_values("rep")
    n = len(base)
    base_met = np.column_stack([base[column("met", t.id)].to_numpy().astype(bool) for t in model.targets])
    base_ach = achieved_days(model, base)
    kinds = {r.id: "risk" for r in plan.risks} | {s.id: "shock" for s in plan.shocks}
    variants = [(d, kinds[d], without(plan, d)) for d in (drivers or list(kinds))]
    if programme:
        variants.append((DURATION_UNCERTAINTY, "duration", without_duration_uncertainty(plan)))
        if plan.kpis:
            variants.append((KPI_UNCERTAINTY, "kpi", without_kpi_uncertainty(plan)))
    frames, prog = [], []
    groups = _programme_groups(model)
    for (d, kind, _), (met, ach) in zip(variants, _outcomes([v for _, _, v in variants], runs=n, seed=seed,
                                                             engine=engine, lhs=lhs, workers=workers)):
        if kind in ("risk", "shock"):
            frames.append(_paired(d, kind, model, base_met, base_ach, met, ach))
        if programme:
            prog.append(_programme_row(d, kind, groups, base_met, met))
    table = pd.concat(frames, ignore_index=True)[COLUMNS] if frames else pd.DataFrame(columns=COLUMNS)
    return table, pd.DataFrame(prog, columns=PROGRAMME_COLUMNS)


def _variant_outcomes(plan: Plan, runs: int, seed: int, engine: Engine, lhs: bool):
    return simulate_outcomes(plan, runs=runs, seed=seed, engine=engine, lhs=lhs, workers=1)


def _outcomes(plans: list[Plan], *, runs: int, seed: int, engine: Engine, lhs: bool, workers: int | None):
    """Outcomes of every plan variant, in order; with ``workers`` > 1 the variants run in parallel
    (one process per variant at a time; streams are keyed, so results do not depend on it)."""
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor

    n_workers = min(workers or os.cpu_count() or 1, len(plans))
    if n_workers <= 1:
        yield from (_variant_outcomes(p, runs, seed, engine, lhs) for p in plans)
        return
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    with ProcessPoolExecutor(n_workers, mp_context=ctx) as pool:
        futures = [pool.submit(_variant_outcomes, p, runs, seed, engine, lhs) for p in plans]
        for f in futures:
            yield f.result()


def programme_effects(plan: Plan, records: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """Effect of each risk, shock, duration and KPI uncertainty on the programme, one row per driver.

    ``effect_expected_met`` = mean over replications of (number of programme-end
    targets met without the driver - with it), with its paired standard error;
    ``effect_p_all`` likewise for "every headline target met". Positive: the
    driver costs that much. Arguments as :func:`risk_effects`.
    """
    return effects_tables(plan, records, **kwargs)[1]


def _programme_groups(model) -> tuple[np.ndarray, np.ndarray]:
    """Column indices of the programme-end targets and of the headline targets."""
    from sim.analysis.headline import headline_ids
    from sim.model import planmeta

    end = planmeta.programme_end(model.plan)
    ids = [t.id for t in model.targets]  # the columns of the met matrices
    deadline = {t.id: t.deadline for t in model.plan.targets}
    due = np.array([k for k, t in enumerate(ids) if deadline[t] == end], dtype=np.int64)
    head = set(headline_ids(model.plan))
    return due, np.array([k for k, t in enumerate(ids) if t in head], dtype=np.int64)


def _programme_row(driver, kind, groups, base_met, met) -> dict:
    due, head = groups
    n = base_met.shape[0]

    def paired(x, y):
        d = x.astype(np.float64) - y.astype(np.float64)
        return float(d.mean()), float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0

    e_met, se_met = paired(met[:, due].sum(axis=1), base_met[:, due].sum(axis=1))
    if len(head):
        e_all, se_all = paired(met[:, head].all(axis=1), base_met[:, head].all(axis=1))
    else:
        e_all, se_all = float("nan"), float("nan")
    return {"driver": driver, "kind": kind, "effect_expected_met": e_met, "effect_expected_met_se": se_met,
            "effect_p_all": e_all, "effect_p_all_se": se_all, "runs": n}


def _paired(driver, kind, model, base_met, base_ach, met, ach) -> pd.DataFrame:
    """Paired differences; date shifts are NaN for a target some replication never reaches."""
    n = base_met.shape[0]
    diff = met.astype(np.int8) - base_met.astype(np.int8)
    base_ach, ach = finite_days(base_ach), finite_days(ach)
    reached = (base_ach < FAR_DAY).all(axis=0) & (ach < FAR_DAY).all(axis=0)
    shift = np.where(reached, base_ach - ach, np.nan)
    sd = diff.std(axis=0, ddof=1) if n > 1 else np.zeros(diff.shape[1])
    sd_shift = shift.std(axis=0, ddof=1) if n > 1 else np.zeros(diff.shape[1])
    p80_shift = np.quantile(base_ach, 0.8, axis=0) - np.quantile(ach, 0.8, axis=0)
    return pd.DataFrame(
        {
            "driver": driver,
            "kind": kind,
            "target": [t.id for t in model.targets],
            "p_met_with": base_met.mean(axis=0),
            "p_met_without": met.mean(axis=0),
            "effect_p_met": diff.mean(axis=0),
            "effect_se": sd / np.sqrt(n),
            "p80_shift_days": np.where(reached, p80_shift, np.nan),
            "mean_shift_days": shift.mean(axis=0),
            "mean_shift_se": sd_shift / np.sqrt(n),
            "runs": n,
        }
    )
