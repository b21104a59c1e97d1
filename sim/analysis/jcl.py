"""Joint cost and schedule confidence (JCL): P(finish <= date and cost <= budget).

For an item, a group of items or the programme: the finish is the latest finish of its
items, the cost the sum of their outturn costs (items without an investment add no cost).
The plan point is (latest plan date, sum of the plan's investment figures).

* :func:`jcl` — the joint probability and its Monte Carlo standard error;
* :func:`budget_for` — the smallest budget that reaches a chosen JCL by a date;
* :func:`frontier` — that budget over a range of dates (an iso-JCL curve, e.g. P70, P80).

>>> import numpy as np
>>> f = np.array([1.0, 2.0, 3.0, 4.0]); c = np.array([4.0, 3.0, 2.0, 1.0])
>>> jcl(f, c, day=2.5, budget=3.5)[0]
0.25
>>> float(budget_for(f, c, day=4.0, level=0.5))
2.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.engine.compiled import CompiledModel
from sim.model.clock import end_of
from sim.engine.replicate import column
from sim.results import record_array, record_arrays
from sim.model.select import resolve


@dataclass(frozen=True)
class JointSample:
    """Finish day and cost per replication of one scope, with its plan point."""

    scope: str
    finish: np.ndarray
    cost: np.ndarray
    plan_day: float
    budget: float


def jcl(finish: np.ndarray, cost: np.ndarray, *, day: float, budget: float) -> tuple[float, float]:
    """P(finish <= day and cost <= budget) and its standard error sqrt(p (1 - p) / n)."""
    ok = (np.asarray(finish) <= day) & (np.asarray(cost) <= budget)
    p = float(ok.mean())
    return p, math.sqrt(p * (1 - p) / ok.size)


def budget_for(finish: np.ndarray, cost: np.ndarray, *, day: float, level: float) -> float:
    """Smallest budget b with P(finish <= day and cost <= b) >= level; inf if the date alone is short of it."""
    n = np.asarray(finish).size
    need = math.ceil(level * n - 1e-9)
    on_time = np.sort(np.asarray(cost)[np.asarray(finish) <= day])
    if need <= 0:
        return float("-inf")
    if on_time.size < need:
        return float("inf")
    return float(on_time[need - 1])


def frontier(finish: np.ndarray, cost: np.ndarray, *, days: np.ndarray, level: float) -> np.ndarray:
    """:func:`budget_for` at every day of ``days`` (an iso-JCL curve)."""
    return np.array([budget_for(finish, cost, day=float(d), level=level) for d in days])


def scope_sample(model: CompiledModel, records, scope: str, selectors: tuple[str, ...] | None = None, *,
                 ids: tuple[str, ...] | None = None) -> JointSample:
    """The joint sample of ``scope``: ``programme`` (every invested item), the items ``selectors`` pick,
    or exactly the item ``ids`` given."""
    spec = model.costs
    plan = model.plan
    if ids is None:
        ids = tuple(spec.ids) if selectors is None else resolve(plan, selectors)
    known = set(spec.ids)
    invested = [i for i in ids if i in known]
    if not ids:
        raise ValueError(f"scope {scope}: no items")
    finish = np.max(np.column_stack(record_arrays(records, [column("finish", i) for i in ids])), axis=1)
    cost = np.zeros(finish.shape)
    for i in invested:
        cost += record_array(records, column("cost", i))
    plan_day = max(float(end_of(plan.item(i).plan_finish, plan.as_of)) for i in ids)
    budget = float(sum(plan.item(i).investment_cny_100m or 0.0 for i in invested))  # invested: figure present
    return JointSample(scope, finish, cost, plan_day, budget)


def jcl_table(model: CompiledModel, records, *, levels=(0.7, 0.8)) -> pd.DataFrame:
    """JCL at the plan point, and the budget needed for each level by the plan date and by the P90 finish.

    Scopes: the programme (every invested item), each campaign with invested items and each
    invested item.
    """
    spec = model.cost
    if spec is None or not spec.n:
        return pd.DataFrame()
    plan = model.plan
    scopes: list[tuple[str, str, tuple[str, ...] | None]] = [("programme", "all", None)]
    invested = set(spec.ids)
    for c in sorted({plan.item(i).campaign for i in spec.ids}):
        # in plan order, as a selector of these ids would resolve them (the budget's sum order)
        scopes.append(("campaign", c, tuple(it.id for it in plan.items if it.id in invested and it.campaign == c)))
    scopes += [("item", i, (i,)) for i in spec.ids]
    rows = []
    for level, key, sel in scopes:
        s = scope_sample(model, records, key, ids=sel)
        p, se = jcl(s.finish, s.cost, day=s.plan_day, budget=s.budget)
        row = {"level": level, "key": key, "plan_date": _date(model, s.plan_day), "budget": s.budget,
               "p_time": float(np.mean(s.finish <= s.plan_day)), "p_cost": float(np.mean(s.cost <= s.budget)),
               "jcl": p, "se_jcl": se}
        p90_day = float(np.quantile(s.finish, 0.9))
        row["p90_finish"] = _date(model, p90_day)
        for lv in levels:
            row[f"budget_p{round(lv * 100)}_by_plan_date"] = budget_for(s.finish, s.cost, day=s.plan_day, level=lv)
            # the plan date is often out of reach at a high JCL: the budget by the schedule's P90 date too
            row[f"budget_p{round(lv * 100)}_by_p90_finish"] = budget_for(s.finish, s.cost, day=p90_day, level=lv)
        rows.append(row)
    return pd.DataFrame(rows)


def _date(model: CompiledModel, day: float):
    from sim.model.clock import date_of

    return date_of(day, model.plan.as_of)
