"""Money tables from a run's records: cost per item, investment per year, campaign and unit.

Spending per replication is rebuilt from the recorded starts, finishes and costs with the
S-curve of each item's cost class (:func:`sim.engine.cost.spent_share`), so the tables need
nothing but the records. Every quantile comes with the plan's own figure, and every
probability with its Monte Carlo standard error.

Units: an item's spending is attributed to its lead units in equal shares (all its units
when it names no lead); an assumption, since the plan does not split investment by unit.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from sim.analysis.summary import ColumnBlocks, column_quantiles, prob_se
from sim.engine.compiled import CompiledModel
from sim.model.clock import day_of, end_of
from sim.engine.cost import spend_begin, spent_share, spent_shares
from sim.engine.replicate import column
from sim.results import record_array, record_arrays
from sim.model.spend import planned_amount, year_span

QUANTILES = (0.1, 0.5, 0.9)


def cost_table(model: CompiledModel, records) -> pd.DataFrame:
    """Per invested item: budget, mean and P10/P50/P90 outturn cost, P(cost <= budget) with SE."""
    spec = model.costs
    plan = model.plan
    n = len(records)
    rows = []
    costs = ColumnBlocks(records, [column("cost", iid) for iid in spec.ids], QUANTILES, days=False)
    for j, iid in enumerate(spec.ids):
        it = plan.item(iid)
        c, q = costs.values(j), costs.quantiles(j)
        p = float(np.mean(c <= spec.budget[j] * (1 + 1e-6)))
        rows.append({"id": iid, "campaign": it.campaign, "name_zh": it.name_zh, "name_en": it.name_en,
                     "lead_unit": ";".join(it.lead_units), "project_type": it.project_type,
                     "budget_cny_100m": spec.budget[j], "mean_cost": c.mean(), "p10_cost": q[0], "p50_cost": q[1],
                     "p90_cost": q[2], "p_within_budget": p, "se_within_budget": float(prob_se(p, n))})
    return pd.DataFrame(rows)


def unit_shares(model: CompiledModel) -> dict[str, dict[str, float]]:
    """Item id -> {unit: share} (lead units in equal shares, else all units)."""
    out = {}
    for iid in model.costs.ids:
        it = model.plan.item(iid)
        units = it.lead_units or it.units
        out[iid] = {u: 1.0 / len(units) for u in units}
    return out


def years_of(model: CompiledModel) -> list[int]:
    """Calendar years from the as-of date to the last checkpoint (the appraisal years)."""
    last = max(model.checkpoints) if model.checkpoints else model.plan.as_of
    return list(range(model.plan.as_of.year, last.year + 1))


def spending(model: CompiledModel, records, years: list[int]) -> np.ndarray:
    """Spending per replication, invested item and year: array (rows, items, years), 亿元."""
    spec = model.costs
    if not spec.n:
        return np.zeros((len(records), 0, len(years)))
    start, finish = _cost_item_days(model, records, "start"), _cost_item_days(model, records, "finish")
    cost = np.column_stack([record_array(records, column("cost", iid)) for iid in spec.ids])
    begin = spend_begin(model, start)
    as_of = model.plan.as_of
    edges = [float(day_of(year_span(y, as_of)[0], as_of)) for y in years] + \
        [float(end_of(date(years[-1], 12, 31), as_of))]
    shares = list(spent_shares(model, begin, finish, edges))
    return np.stack([(shares[k + 1] - shares[k]) * cost for k in range(len(years))], axis=2)


def _cost_item_days(model: CompiledModel, records, kind: str) -> np.ndarray:
    """``kind`` (start | finish) days of each cost column's item, (rows, cost columns): only the
    invested items' record columns are read."""
    ids = model.item_ids
    return np.column_stack(record_arrays(records, [column(kind, ids[i]) for i in model.costs.items.tolist()]))


def planned_by_year(model: CompiledModel, years: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The plan's investment per invested item and year (items, years) and whether each is assumed."""
    spec = model.costs
    plan = model.plan
    figures: dict[str, dict[int, float]] = {}
    for s in plan.planned_spend:
        figures.setdefault(s.item, {})[s.year] = s.amount_cny_100m
    amount = np.zeros((spec.n, len(years)))
    assumed = np.zeros((spec.n, len(years)), dtype=bool)
    for j, iid in enumerate(spec.ids):
        it = plan.item(iid)
        for k, y in enumerate(years):
            lo, hi = year_span(y, plan.as_of)
            amount[j, k], assumed[j, k] = planned_amount(
                investment=float(spec.budget[j]), plan_start=it.plan_start, plan_finish=it.plan_finish,
                as_of=plan.as_of, lo=lo, hi=hi, figures=figures.get(iid))
    return amount, assumed


def investment_table(model: CompiledModel, records, *, threshold: float = 1.0) -> pd.DataFrame:
    """Annual and cumulative investment per year by programme, campaign and lead unit.

    Columns: ``level`` (programme | campaign | unit), ``key``, ``year``, ``planned`` (亿元; the
    plan's figure or the even profile), ``planned_assumed`` (True where any part is the even
    profile), P10/P50/P90 and mean of the simulated spending, the same for the cumulative
    spending from the as-of date to the year end against the cumulative plan, and
    P(spending >= threshold x planned) with its SE.
    """
    spec = model.costs
    if spec is None or not spec.n:
        return pd.DataFrame()
    years = years_of(model)
    spend = spending(model, records, years)
    planned, assumed = planned_by_year(model, years)
    n = spend.shape[0]
    groups: list[tuple[str, str, np.ndarray]] = [("programme", "all", np.ones(spec.n))]
    campaigns = sorted({model.plan.item(i).campaign for i in spec.ids})
    for c in campaigns:
        groups.append(("campaign", c, np.array([1.0 if model.plan.item(i).campaign == c else 0.0 for i in spec.ids])))
    shares = unit_shares(model)
    for u in sorted({u for s in shares.values() for u in s}):
        groups.append(("unit", u, np.array([shares[i].get(u, 0.0) for i in spec.ids])))
    rows = []
    for level, key, w in groups:
        s = np.einsum("rjy,j->ry", spend, w)
        pl = w @ planned
        guess = np.any(assumed & (w[:, None] > 0), axis=0)
        cum, cum_pl = np.cumsum(s, axis=1), np.cumsum(pl)
        qs, qcs = column_quantiles(s, QUANTILES), column_quantiles(cum, QUANTILES)
        for k, y in enumerate(years):
            q, qc = qs[:, k], qcs[:, k]
            p = float(np.mean(s[:, k] >= threshold * pl[k])) if pl[k] > 0 else float("nan")
            rows.append({"level": level, "key": key, "year": y, "planned": pl[k], "planned_assumed": bool(guess[k]),
                         "mean": s[:, k].mean(), "p10": q[0], "p50": q[1], "p90": q[2],
                         "p_completed": p, "se_completed": float(prob_se(p, n)) if p == p else float("nan"),
                         "cum_planned": cum_pl[k], "cum_p10": qc[0], "cum_p50": qc[1], "cum_p90": qc[2]})
    return pd.DataFrame(rows)


def s_curves(model: CompiledModel, records, *, keys: list[str] | None = None, step_days: int = 30) -> pd.DataFrame:
    """Cumulative investment over time (P10/P50/P90 and the plan's even profile) per campaign, monthly."""
    spec = model.costs
    plan = model.plan
    start, finish = _cost_item_days(model, records, "start"), _cost_item_days(model, records, "finish")
    cost = np.column_stack([record_array(records, column("cost", iid)) for iid in spec.ids])
    begin = spend_begin(model, start)
    last = end_of(max(model.checkpoints), plan.as_of) if model.checkpoints else 3 * 365
    days = np.arange(0, last + 1, step_days, dtype=np.float64)
    campaign = np.array([plan.item(i).campaign for i in spec.ids])
    keys = keys or sorted(set(campaign))
    base = spent_share(model, begin, finish, 0.0) * cost
    out = []
    for t, share in zip(days, spent_shares(model, begin, finish, [float(t) for t in days])):
        spent = share * cost - base
        for key in keys:
            sel = campaign == key
            v = spent[:, sel].sum(axis=1)
            q = np.quantile(v, QUANTILES)
            pl = 0.0
            for j in np.flatnonzero(sel):
                it = plan.item(spec.ids[j])
                first = it.plan_start or plan.as_of
                total = (it.plan_finish - first).days + 1
                done = min(max(t - day_of(max(first, plan.as_of), plan.as_of), 0.0),
                           (it.plan_finish - max(first, plan.as_of)).days + 1)
                pl += spec.budget[j] * max(done, 0.0) / max(total, 1)
            out.append({"campaign": key, "day": t, "p10": q[0], "p50": q[1], "p90": q[2], "planned": pl})
    return pd.DataFrame(out)


def money_comparison(runs: dict, *, reference: str) -> pd.DataFrame:
    """Programme cost per scenario of a batch, with the paired difference against ``reference``.

    ``runs``: scenario name -> run directory. Columns: ``scenario, runs, mean_cost, p10_cost,
    p50_cost, p90_cost, difference, difference_se`` (亿元, every invested item summed; the
    difference pairs replications by ``rep``, common random numbers). Empty when no run has costs.
    """
    from sim.results import read_records, record_names

    def totals(run_dir) -> pd.Series | None:
        cols = [c for c in record_names(run_dir) if c.startswith("cost:")]
        if not cols:
            return None
        rec = read_records(run_dir, columns=["rep", *cols]).set_index("rep")
        return rec[cols].sum(axis=1)

    found = {name: totals(d) for name, d in runs.items()}
    ref = found.get(reference)
    rows = []
    for name, total in found.items():
        if total is None:
            continue
        q = np.quantile(total.to_numpy(), QUANTILES)
        row = {"scenario": name, "runs": len(total), "mean_cost": float(total.mean()), "p10_cost": q[0],
               "p50_cost": q[1], "p90_cost": q[2], "difference": np.nan, "difference_se": np.nan}
        if ref is not None:
            reps = total.index.intersection(ref.index)
            d = (total.loc[reps] - ref.loc[reps]).to_numpy(np.float64)
            row["difference"] = float(d.mean())
            row["difference_se"] = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0
        rows.append(row)
    return pd.DataFrame(rows)
