"""Tables for the annual appraisal and the report's charts, computed from records.

* :func:`contingency_table` -- P50/P80/P90 against plan, per item and per target;
* :func:`convergence_table` -- running estimate of key probabilities with its s.e.;
* :func:`unit_scorecard` -- expected share of each responsible unit's items done
  by each year end (年度比拼);
* :func:`targets_met_distribution` -- how many programme-end targets are met;
* :func:`kpi_fan_table` -- KPI quantiles at the as-of date and each year end,
  with the target line;
* :func:`s_curve_table` -- cumulative probability of finishing by each date.
* :func:`snapshot_wide` -- targets x appraisal snapshots of P(met) (from
  :func:`sim.analysis.snapshot_events.target_table`).

Days are converted to dates only here, at the edge (end-of-day convention of
:func:`sim.engine.compiled.date_of`).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from sim.analysis.drivers import KPI_RULES, achieved_days, item_days
from sim.analysis.summary import contingency_days, day_quantiles, kpi_event_days, prob_se
from sim.engine.compiled import CompiledModel
from sim.model.clock import DAYS_PER_YEAR, date_of, day_of, end_of
from sim.engine.replicate import column
from sim.model import planmeta
from sim.model.enums import KpiKind, KpiMeasure, TargetRule


def _quantile_dates(days: np.ndarray, plan_day: float, as_of: date) -> dict:
    q50, q80, q90 = day_quantiles(days, [0.5, 0.8, 0.9])
    return {
        "p50": date_of(q50, as_of),
        "p80": date_of(q80, as_of),
        "p90": date_of(q90, as_of),
        "contingency_p80_days": contingency_days(q80, plan_day),
        "contingency_p90_days": contingency_days(q90, plan_day),
    }


def contingency_table(model: CompiledModel, records: pd.DataFrame) -> pd.DataFrame:
    """Schedule contingency (P80 - plan, P90 - plan, in calendar days) per item and per target.

    A target's plan date is its deadline; a KPI target that some replications
    never reach has no date-based contingency (NaN).
    """
    finish = item_days(model, records, "finish")
    achieved = achieved_days(model, records)
    rows = []
    for k, iid in enumerate(model.item_ids):
        rows.append({"kind": "item", "id": iid, "plan": date_of(model.plan_finish_day[k], model.as_of),
                     **_quantile_dates(finish[:, k], model.plan_finish_day[k], model.as_of)})
    for t, spec in enumerate(model.targets):
        rows.append({"kind": "target", "id": spec.id, "plan": date_of(spec.deadline_day, model.as_of),
                     **_quantile_dates(kpi_event_days(achieved[:, t], spec.rule), spec.deadline_day, model.as_of)})
    return pd.DataFrame(rows)


def convergence_table(model: CompiledModel, records: pd.DataFrame, target_ids: list[str], *, points: int = 40) -> pd.DataFrame:
    """Running P(met) of ``target_ids`` after n = 100 ... N replications (log-spaced), with its s.e."""
    n_all = len(records)
    grid = np.unique(np.geomspace(min(100, n_all), n_all, points).astype(np.int64))
    frames = []
    order = records["rep"].to_numpy().argsort(kind="stable")
    for tid in target_ids:
        met = records[column("met", tid)].to_numpy(dtype=np.float64)[order]
        p = np.cumsum(met)[grid - 1] / grid
        frames.append(pd.DataFrame({"target": tid, "n": grid, "p_met": p, "se": prob_se(p, 1) / np.sqrt(grid)}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["target", "n", "p_met", "se"])


def unit_scorecard(model: CompiledModel, records: pd.DataFrame) -> pd.DataFrame:
    """Per lead unit and year end: expected and planned share of the unit's items done.

    Every item counts for each of its lead units; external milestones are left out.
    Expected share = mean over the unit's items of P(finish by the year end).
    """
    finish = item_days(model, records, "finish")
    by_id = {it.id: it for it in model.plan.items}
    names = {u.id: u for u in model.plan.units}
    rows = []
    unit_items: dict[str, list[int]] = {}
    external = planmeta.external_campaigns(model.plan)
    for k, iid in enumerate(model.item_ids):
        it = by_id[iid]
        if it.campaign in external:
            continue
        for u in it.lead_units or it.units:
            unit_items.setdefault(u, []).append(k)
    for u, ks in unit_items.items():
        for d in model.checkpoints:
            day = end_of(d, model.as_of)
            done = finish[:, ks] <= day
            per_rep = done.mean(axis=1)
            rows.append(
                {
                    "unit": u,
                    "name_zh": names[u].name_zh if u in names else u,
                    "name_en": names[u].name_en if u in names else u,
                    "year_end": d,
                    "items": len(ks),
                    "expected_share": float(per_rep.mean()),
                    "se": float(per_rep.std(ddof=1) / np.sqrt(len(per_rep))) if len(per_rep) > 1 else 0.0,
                    "planned_share": float(np.mean(model.plan_finish_day[ks] <= day)),
                    "p_all_done": float(done.all(axis=1).mean()),
                }
            )
    return pd.DataFrame(rows)


def end_targets(model: CompiledModel) -> list[str]:
    """Ids of targets whose deadline is the programme's end (the last end date of plan.yaml)."""
    end = end_of(planmeta.programme_end(model.plan), model.as_of)
    return [t.id for t in model.targets if t.deadline_day == end]


def targets_met_distribution(model: CompiledModel, records: pd.DataFrame) -> pd.DataFrame:
    """Distribution of the number of the programme-end targets met in a replication."""
    ids = end_targets(model)
    met = np.column_stack([records[column("met", t)].to_numpy() for t in ids]) if ids else np.zeros((len(records), 0))
    count = met.sum(axis=1).astype(np.int64)
    freq = np.bincount(count, minlength=len(ids) + 1) / max(len(records), 1)
    return pd.DataFrame(
        {
            "targets_met": np.arange(len(ids) + 1),
            "of": len(ids),
            "probability": freq,
            "p_at_least": freq[::-1].cumsum()[::-1],
        }
    )


def kpi_fan_table(model: CompiledModel, records: pd.DataFrame) -> pd.DataFrame:
    """KPI P10/P50/P90 at the as-of date and every checkpoint, with the target line.

    ``target`` is, for ``kpi_ge`` targets, the threshold at the first date on or
    after their deadline (NaN elsewhere; ``target_kind`` "level"), and for a
    ``kpi_cagr_ge`` target with growth g the required path
    ``baseline * (1 + g)^years`` at every date (``target_kind`` "path").
    """
    plan = model.plan
    rows = []
    for j, k in enumerate(plan.kpis):
        start = 0.0 if (k.kind is KpiKind.COUNTER and k.measure is KpiMeasure.CUMULATIVE) else float(k.baseline)
        linked = [(t, s) for t, s in zip(plan.targets, model.targets) if s.kpi_ref == j and t.rule in KPI_RULES]
        # a KPI simulated from an earlier date (actuals) starts there
        points = [(k.origin or model.as_of, np.full(len(records), start))]
        points += [(d, records[column("kpi", k.id, d.isoformat())].to_numpy(dtype=np.float64)) for d in model.checkpoints]
        dates = [d for d, _ in points]
        line, kind = _target_line(linked, dates, model.as_of, float(k.baseline))
        for (d, v), target in zip(points, line):
            q10, q50, q90 = np.quantile(v, [0.1, 0.5, 0.9])
            rows.append({"id": k.id, "date": d, "p10": q10, "p50": q50, "p90": q90, "mean": float(v.mean()),
                         "target": target, "target_kind": kind, "target_ids": ";".join(t.id for t, _ in linked)})
    columns = ["id", "date", "p10", "p50", "p90", "mean", "target", "target_kind", "target_ids"]
    return pd.DataFrame(rows, columns=columns)


def _target_line(linked, dates: list[date], as_of: date, baseline: float) -> tuple[list[float], str]:
    line = [np.nan] * len(dates)
    kind = ""
    for t, spec in linked:
        if t.rule is TargetRule.KPI_CAGR_GE:
            kind = "path"
            line = [baseline * (1.0 + float(spec.threshold)) ** (day_of(d, as_of) / DAYS_PER_YEAR) for d in dates]
    if kind:
        return line, kind
    for t, spec in linked:
        at = next((i for i, d in enumerate(dates) if d >= t.deadline), len(dates) - 1)
        line[at] = float(spec.threshold) if np.isnan(line[at]) else max(line[at], float(spec.threshold))
        kind = "level"
    return line, kind


def s_curve_table(model: CompiledModel, records: pd.DataFrame, item_ids: list[str], *, points: int = 120) -> pd.DataFrame:
    """P(finish by date) on a grid of dates spanning P1 ... P99.5 of each item's finish."""
    frames = []
    for iid in item_ids:
        f = np.sort(records[column("finish", iid)].to_numpy(dtype=np.float64))
        lo, hi = np.quantile(f, [0.01, 0.995])
        grid = np.unique(np.ceil(np.linspace(lo - 30, hi + 30, points)))
        p = np.searchsorted(f, grid, side="right") / len(f)
        frames.append(pd.DataFrame({"id": iid, "day": grid, "date": [date_of(g, model.as_of) for g in grid], "p": p}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["id", "day", "date", "p"])


def s_curves_across(finishes: dict[str, dict[str, np.ndarray]], item_ids: list[str], as_of: date, *,
                    points: int = 120) -> pd.DataFrame:
    """P(finish by date) of each item in each scenario on one date grid per item (shared x-scale).

    ``finishes`` maps scenario -> item id -> finish days (from the as-of date); the
    grid spans P1 ... P99.5 over every scenario, so curves overlay on one axis.
    Returns columns ``scenario, id, day, date, p``.
    """
    frames = []
    for iid in item_ids:
        have = {s: np.sort(np.asarray(f[iid], dtype=np.float64)) for s, f in finishes.items() if iid in f}
        if not have:
            continue
        allf = np.concatenate(list(have.values()))
        lo, hi = np.quantile(allf, [0.01, 0.995])
        grid = np.unique(np.ceil(np.linspace(lo - 30, hi + 30, points)))
        dates = [date_of(g, as_of) for g in grid]
        for s, f in have.items():
            p = np.searchsorted(f, grid, side="right") / len(f)
            frames.append(pd.DataFrame({"scenario": s, "id": iid, "day": grid, "date": dates, "p": p}))
    return (pd.concat(frames, ignore_index=True) if frames
            else pd.DataFrame(columns=["scenario", "id", "day", "date", "p"]))


def snapshot_wide(table: pd.DataFrame, section: str | None = "headline") -> pd.DataFrame:
    """Targets x snapshots of P(met) (one section, or all when None), from an appraisal target table."""
    sel = table if section is None else table[table["section"] == section]
    w = sel.pivot_table(index=["id", "name_en"], columns="snapshot", values="p_met", sort=False)
    return w[[c for c in dict.fromkeys(sel["snapshot"]) if c in w.columns]]
