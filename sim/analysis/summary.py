"""From replication records to the run's summary tables (pandas in, pandas out).

``records`` is a DataFrame of record columns, or anything with ``len()`` and
``records[column]`` returning a Series (e.g. :class:`sim.results.RecordColumns`,
which reads a large run block by block).

Every probability carries its Monte Carlo standard error sqrt(p(1-p)/n) and a
95 % Wilson interval.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from sim.engine.compiled import CompiledModel
from sim.model.clock import FAR_DAY, date_of, end_of
from sim.engine.replicate import column
from sim.model import planmeta
from sim.results import record_array

BLOCK = 64  # columns whose quantiles are taken in one call (one call per column costs more than the sort)
BLOCK_BYTES = 8 * 2**20  # ... at most this many bytes of float64 values per block (each is also copied to sort it)

Z95 = 1.959964  # standard normal 97.5th percentile: 95 % two-sided intervals
QUANTILES = (0.10, 0.50, 0.80, 0.90)


def prob_se(p: np.ndarray | float, n: int) -> np.ndarray:
    """Standard error of a proportion estimated from ``n`` replications."""
    p = np.asarray(p, dtype=np.float64)
    return np.sqrt(p * (1.0 - p) / max(n, 1))


def wilson(p: np.ndarray, n: int, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """95 % Wilson score interval for proportions ``p`` from ``n`` replications."""
    p = np.asarray(p, dtype=np.float64)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at p = 0 (1) the bound is exactly 0 (1); the formula leaves rounding noise such as 1.08e-19
    lo = np.where(p <= 0, 0.0, np.clip(centre - half, 0, 1))
    hi = np.where(p >= 1, 1.0, np.clip(centre + half, 0, 1))
    return lo, hi


#: np.quantile's ``method`` values used here (numpy types the argument as a literal)
QuantileMethod = Literal["linear", "inverted_cdf", "higher", "lower", "nearest", "midpoint"]


def day_quantiles(days: np.ndarray, qs, *, method: QuantileMethod = "linear") -> np.ndarray:
    """Quantiles ``qs`` of ``days``; +inf ("not achieved") for a quantile that reaches "never".

    An interpolated quantile between a finite day and the "never" sentinel
    (:data:`FAR_DAY`) is no date at all: a quantile is "never" as soon as the
    upper order statistic it uses is. ``days`` of shape (replications, columns)
    gives one column of quantiles per column, shape (len(qs), columns).

    >>> day_quantiles(np.array([1.0, 2.0, 3.0, 4.0]), [0.5])
    array([2.5])
    >>> day_quantiles(np.array([1.0, 2.0, 3.0, FAR_DAY]), [0.5, 0.9]).tolist()
    [2.5, inf]
    """
    days = np.asarray(days)
    if days.ndim == 1:
        return sorted_row_quantiles(np.sort(days)[None, :], qs, method=method)[:, 0]
    return sorted_row_quantiles(np.sort(days.T, axis=1), qs, method=method)


def sorted_row_quantiles(rows: np.ndarray, qs, *, method: QuantileMethod = "linear") -> np.ndarray:
    """:func:`day_quantiles` of each row of ``rows`` (columns, replications), each row sorted ascending.

    Shape (len(qs), columns). Sorting a float32 row (the stored records' dtype) and reading
    the order statistics is several times faster than numpy's partition; the conversion to
    float64 is exact and keeps the order, as does the cap at :data:`FAR_DAY`.
    """
    capped = np.minimum(np.asarray(rows, dtype=np.float64), FAR_DAY)
    q = sorted_quantiles(capped, qs, method=method)
    if capped.shape[1] and (capped[:, -1] >= FAR_DAY).any():  # else no order statistic is "never"
        upper = sorted_quantiles(capped, qs, method="higher")
        q[upper >= FAR_DAY] = np.inf
    return q


def sorted_quantiles(rows: np.ndarray, qs, *, method: QuantileMethod = "linear") -> np.ndarray:
    """``np.quantile(rows, qs, axis=1, method=method)`` of rows already sorted ascending (NaN last).

    Shape (len(qs), rows), float64 for float64 rows. For "linear" numpy's own arithmetic is
    done on the two order statistics each quantile reads (its ``_lerp``: the same operations
    in the same order, so the same bits: tests/test_summary_quantiles.py compares with
    np.quantile); numpy would partition the sorted row again. Other methods go to np.quantile.
    """
    qs = np.atleast_1d(np.asarray(qs, dtype=np.float64))
    rows = np.asarray(rows)
    n = rows.shape[1]
    if method != "linear" or n == 0 or rows.dtype != np.float64:
        return np.atleast_1d(np.quantile(rows, qs, axis=1, method=method))
    v = (n - 1) * qs  # numpy's virtual index of the linear method
    prev = np.floor(v)
    nxt = prev + 1
    last = v >= n - 1
    prev[last] = nxt[last] = -1  # the largest value, as numpy takes it
    first = v < 0
    prev[first] = nxt[first] = 0
    gamma = (v - prev)[:, None]
    a, b = rows[:, prev.astype(np.intp)].T, rows[:, nxt.astype(np.intp)].T
    diff = b - a
    out = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    nan = np.isnan(rows[:, -1])
    if nan.any():
        out[:, nan] = np.nan
    return out


def column_quantiles(values: np.ndarray, qs, *, method: QuantileMethod = "linear") -> np.ndarray:
    """``np.quantile(values, qs, axis=0, method=method)`` for a (replications, columns) array, by sorting."""
    return sorted_quantiles(np.sort(np.asarray(values).T, axis=1), qs, method=method)


def kpi_event_days(days: np.ndarray, rule) -> np.ndarray:
    """Achieved days of a target for dating: a KPI target already reached at day 0 is reached on the as-of date.

    Day 0 is the start of the as-of date; by the end-of-day convention of
    :func:`sim.model.clock.date_of` it would be dated the day before, which is right
    for an item finished yesterday but not for a KPI that is at its threshold when
    the forecast starts.
    """
    from sim.model.enums import TargetRule

    days = np.asarray(days, dtype=np.float64)
    if rule in (TargetRule.KPI_GE, TargetRule.KPI_CAGR_GE):
        return np.where(days == 0, 1.0, days)
    return days


def mean_day(days: np.ndarray) -> float:
    """Mean of ``days``; +inf when any replication never gets there."""
    days = np.asarray(days, dtype=np.float64)
    return float(np.inf) if (days >= FAR_DAY).any() else float(days.mean())


def contingency_days(day: float, plan_day: float) -> float:
    """Quantile day minus plan day in whole days; NaN when the quantile is "not achieved"."""
    return float(np.ceil(day) - plan_day) if np.isfinite(day) else np.nan


def _share(count: int | np.integer, n: int) -> float:
    """``count / n`` (the mean of 0/1 values: their sum is exact); NaN without replications, as a mean."""
    return count / n if n else float("nan")


def _dates(days: np.ndarray, as_of: date) -> list[date | None]:
    return [date_of(float(d), as_of) for d in days]


def item_table(model: CompiledModel, records: pd.DataFrame) -> pd.DataFrame:
    """Per item: P(by plan date), P(by the programme end), mean and P10/P50/P80/P90 finish, contingency."""
    plan = model.plan
    by_id = {it.id: it for it in plan.items}
    n = len(records)
    end_day = end_of(planmeta.programme_end(plan), plan.as_of)
    finishes = ColumnBlocks(records, [column("finish", iid) for iid in model.item_ids], QUANTILES)
    m = len(model.item_ids)
    p_plan, p_end, mean, q = np.empty(m), np.empty(m), np.empty(m), np.empty((len(QUANTILES), m))
    for k in range(m):
        f = finishes.values(k)
        # a count over n is the mean of the 0/1 values exactly (their sum is exact)
        p_plan[k] = _share(np.count_nonzero(f <= model.plan_finish_day[k]), n)
        p_end[k] = _share(np.count_nonzero(f <= end_day), n)
        mean[k] = mean_day(f)
        q[:, k] = finishes.quantiles(k)
    items = [by_id[iid] for iid in model.item_ids]
    plan_day = np.asarray(model.plan_finish_day, dtype=np.float64)[:m]
    cols: dict[str, list] = {
        "id": list(model.item_ids),
        "group": [it.group for it in items],
        "campaign": [str(it.campaign) for it in items],
        "name_zh": [it.name_zh for it in items],
        "name_en": [it.name_en for it in items],
        "lead_unit": [";".join(it.lead_units) for it in items],
        "project_type": [it.project_type for it in items],
        "plan_finish": [it.plan_finish for it in items],
        "p_by_plan": p_plan.tolist(),
        "se_by_plan": prob_se(p_plan, n).tolist(),
        "p_by_end": p_end.tolist(),
        "se_by_end": prob_se(p_end, n).tolist(),
        "mean_finish": _dates(mean, plan.as_of),
        "p10_finish": _dates(q[0], plan.as_of),
        "p50_finish": _dates(q[1], plan.as_of),
        "p80_finish": _dates(q[2], plan.as_of),
        "p90_finish": _dates(q[3], plan.as_of),
        "contingency_p80_days": [contingency_days(d, pd_) for d, pd_ in zip(q[2].tolist(), plan_day.tolist())],
        "contingency_p90_days": [contingency_days(d, pd_) for d, pd_ in zip(q[3].tolist(), plan_day.tolist())],
    }
    return pd.DataFrame(cols) if m else pd.DataFrame([])


class ColumnBlocks:
    """Columns ``names`` and their :func:`day_quantiles` (with ``days=False`` plain quantiles, no
    "never"), taken a block of columns at a time
    (:data:`BLOCK` columns, fewer when their values would pass :data:`BLOCK_BYTES`).

    ``values(k)`` and ``quantiles(k)`` give column ``k``'s; only the current block is held
    (columns are asked for in order). ``prepare(k, values)``, if given, maps column ``k``
    before its quantiles are taken.
    """

    def __init__(self, records, names: list[str], qs, *, method: QuantileMethod = "linear", prepare=None,
                 days: bool = True):
        self._records, self._names, self._qs, self._method, self._prepare = records, names, qs, method, prepare
        self._of_sorted = sorted_row_quantiles if days else sorted_quantiles
        # 64 columns at 10,000 replications, 10 at 100,000
        self._width = max(1, min(BLOCK, BLOCK_BYTES // (8 * max(len(records), 1))))
        self._lo = -1
        self._values: list[np.ndarray] = []
        self._q = np.empty((0, 0))

    def _load(self, k: int) -> int:
        lo = k - k % self._width
        if lo != self._lo:
            names = self._names[lo:lo + self._width]
            if self._prepare is None:  # the stored values (float32): sorted as they are, means in float64
                raw = [record_array(self._records, name, dtype=None) for name in names]
                self._values = [np.asarray(c, dtype=np.float64) for c in raw]
            else:
                raw = self._values = [self._prepare(lo + j, record_array(self._records, name))
                                      for j, name in enumerate(names)]
            rows = np.sort(np.stack(raw), axis=1)
            self._q = self._of_sorted(np.asarray(rows, dtype=np.float64), self._qs, method=self._method)
            self._lo = lo
        return k - lo

    def values(self, k: int) -> np.ndarray:
        j = self._load(k)
        return self._values[j]

    def quantiles(self, k: int) -> np.ndarray:
        j = self._load(k)
        return self._q[:, j]


def target_table(model: CompiledModel, records: pd.DataFrame) -> pd.DataFrame:
    """Per target: P(met) with standard error and 95 % interval; P50/P80 of the achieved date."""
    plan = model.plan
    by_id = {t.id: t for t in plan.targets}
    n = len(records)
    rules = [by_id[spec.id].rule for spec in model.targets]
    # an order statistic, never an interpolation between a day and "never reached"
    achieved = ColumnBlocks(records, [column("achieved", spec.id) for spec in model.targets], [0.5, 0.8],
                            method="inverted_cdf", prepare=lambda k, a: kpi_event_days(a, rules[k]))
    m = len(model.targets)
    p, q = np.empty(m), np.empty((2, m))
    for k, spec in enumerate(model.targets):
        # met is 0/1: the count over n is its mean exactly
        p[k] = _share(np.count_nonzero(record_array(records, column("met", spec.id), dtype=None)), n)
        q[:, k] = achieved.quantiles(k)
    lo, hi = wilson(p, n)
    ts = [by_id[spec.id] for spec in model.targets]
    cols: dict[str, list] = {
        "id": [t.id for t in ts],
        "section": [t.section for t in ts],
        "name_zh": [t.name_zh for t in ts],
        "name_en": [t.name_en for t in ts],
        "rule": [str(t.rule) for t in ts],
        "refs": [";".join(t.refs) for t in ts],
        "k": [t.k for t in ts],
        # a target decided by the actuals has threshold -inf/+inf in the model: no threshold to show
        "threshold": [t.threshold if t.threshold is None or math.isfinite(t.threshold) else None for t in ts],
        "deadline": [t.deadline for t in ts],
        "aspirational": [t.aspirational for t in ts],  # 力争/争取 in the plan
        "p_met": p.tolist(),
        "se": prob_se(p, n).tolist(),
        "ci95_low": lo.tolist(),
        "ci95_high": hi.tolist(),
        "p50_achieved": _dates(q[0], plan.as_of),
        "p80_achieved": _dates(q[1], plan.as_of),
    }
    order = {t.id: k for k, t in enumerate(plan.targets)}
    return pd.DataFrame(cols).sort_values("id", key=lambda s: s.map(order)).reset_index(drop=True)


def kpi_table(model: CompiledModel, records: pd.DataFrame, targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per KPI and checkpoint: mean, P10/P50/P90; the P(met) of targets on the KPI."""
    plan = model.plan
    rows = []
    linked_of: dict[str, list] = {}  # KPI id -> targets on it, in file order (one pass over the targets)
    for t in plan.targets:
        for r in dict.fromkeys(t.refs):
            linked_of.setdefault(r, []).append(t)
    met_of = {}
    if targets is not None:
        met_of = dict(zip(targets["id"], zip(targets["p_met"].astype(float), targets["threshold"].astype(float))))
    names = [column("kpi", k.id, d.isoformat()) for k in plan.kpis for d in model.checkpoints]
    values = ColumnBlocks(records, names, [0.1, 0.5, 0.9], days=False)
    at = 0
    for k in plan.kpis:
        linked = linked_of.get(k.id, [])
        for d in model.checkpoints:
            v = values.values(at)
            q10, q50, q90 = values.quantiles(at)
            at += 1
            row = {
                "id": k.id,
                "name_zh": k.name_zh,
                "name_en": k.name_en,
                "kind": str(k.kind),
                "unit": k.unit_en,
                "checkpoint": d,
                "mean": float(v.mean()),
                "p10": float(q10),
                "p50": float(q50),
                "p90": float(q90),
                "targets": ";".join(t.id for t in linked),
                # what the prior rests on (docs/calibration.md §9); "none" is shown as "no evidence"
                "evidence": "no evidence" if k.evidence == "none" else k.evidence,
            }
            if targets is not None and linked:
                p_met, thresholds = zip(*(met_of[t.id] for t in linked))
                row["p_target_met"] = _min_skipna(p_met)  # as pandas' min: missing values skipped
                row["target_threshold"] = _min_skipna(thresholds)
            rows.append(row)
    return pd.DataFrame(rows)


def _min_skipna(values) -> float:
    kept = [v for v in values if v == v]
    return float(min(kept)) if kept else float("nan")


def paired_difference(x: np.ndarray, y: np.ndarray | None, *, z: float = Z95) -> dict:
    """Mean of the paired differences ``x - y`` (per replication, common random numbers).

    Returns ``p_reference`` (mean of y), ``difference``, ``difference_se`` (sd of the
    differences / sqrt(n)), the 95 % interval ``ci95_low``/``ci95_high`` and whether
    it ``excludes_zero``; NaNs when there is no reference.
    """
    if y is None or len(x) == 0:
        nan = float("nan")
        return {"p_reference": nan, "difference": nan, "difference_se": nan, "ci95_low": nan, "ci95_high": nan,
                "excludes_zero": False}
    d = np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    mean = float(d.mean())
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0
    lo, hi = mean - z * se, mean + z * se
    return {"p_reference": float(np.mean(y)), "difference": mean, "difference_se": se, "ci95_low": lo,
            "ci95_high": hi, "excludes_zero": bool(lo > 0 or hi < 0)}
