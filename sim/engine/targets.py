"""Evaluate targets from a chunk's finishes and KPI paths, vectorised.

For every target and replication two numbers: ``achieved`` (the day the target
was reached: an item's finish, the k-th finish among refs, the first grid day a
KPI reached its threshold; +inf if never) and ``met`` (reached by the deadline
under the target's rule). A ref that is a target counts as met when that target
is met by its own deadline.
"""

from __future__ import annotations

import numpy as np

from sim.engine.compiled import CompiledModel
from sim.model.clock import DAYS_PER_YEAR
from sim.model.enums import TargetRule


def evaluate_targets(model: CompiledModel, finish: np.ndarray, kpi_path: np.ndarray,
                     invest: dict[int, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``achieved`` (rows, targets) float and ``met`` (rows, targets) bool.

    ``invest`` holds the completion rate of each ``invest_ge`` target (target index -> rows),
    computed by :func:`sim.engine.cost.invest_ratios`; such a target is achieved at its deadline.
    """
    rows = finish.shape[0]
    n_t = len(model.targets)
    achieved = np.full((rows, n_t), np.inf)
    met = np.zeros((rows, n_t), dtype=bool)
    grid = model.kpi_grid
    single, kpi_ge = _bulk(model)
    # the two commonest rules at once (nothing they read is another target); the rest one by one after
    if single[0].size:
        t_idx, items, deadlines = single
        achieved[:, t_idx] = finish[:, items]
        met[:, t_idx] = finish[:, items] <= deadlines
    if kpi_ge[0].size:
        t_idx, kpis, g, thresholds = kpi_ge
        path = kpi_path[:, kpis, :]  # (rows, targets, grid)
        met[:, t_idx] = path[:, np.arange(t_idx.size), g] >= thresholds
        reached = path >= thresholds[None, :, None]
        first = np.argmax(reached, axis=2)
        achieved[:, t_idx] = np.where(reached.any(axis=2), grid[first], np.inf)
    done = set(single[0].tolist()) | set(kpi_ge[0].tolist())
    for t, spec in enumerate(model.targets):
        if t in done:
            continue
        if spec.rule in (TargetRule.KPI_GE, TargetRule.KPI_CAGR_GE):
            path = kpi_path[:, spec.kpi_ref, :]
            g = int(np.searchsorted(grid, spec.deadline_day))
            value = path[:, min(g, len(grid) - 1)]
            if spec.rule is TargetRule.KPI_GE:
                met[:, t] = value >= spec.threshold
                reached = path >= spec.threshold
                first = np.argmax(reached, axis=1)
                achieved[:, t] = np.where(reached.any(axis=1), grid[first], np.inf)
            else:
                years = spec.deadline_day / DAYS_PER_YEAR
                base = path[:, int(np.searchsorted(grid, 0.0))]  # the value at day 0 (the grid may start earlier)
                with np.errstate(divide="ignore", invalid="ignore"):
                    cagr = np.where(base > 0, (value / base) ** (1.0 / years) - 1.0, -np.inf)
                met[:, t] = cagr >= spec.threshold
                achieved[:, t] = np.where(met[:, t], spec.deadline_day, np.inf)
            continue
        if spec.rule is TargetRule.INVEST_GE:
            ratio = (invest or {}).get(t)
            if ratio is None:
                raise ValueError(f"target {spec.id}: rule invest_ge needs the investment completion rates")
            met[:, t] = ratio >= spec.threshold
            achieved[:, t] = np.where(met[:, t], spec.deadline_day, np.inf)
            continue
        ref_day = np.concatenate([finish[:, spec.item_refs], achieved[:, spec.target_refs]], axis=1)
        ref_ok = np.concatenate(
            [finish[:, spec.item_refs] <= spec.deadline_day, met[:, spec.target_refs]], axis=1
        )
        if spec.rule is TargetRule.ITEM_BY or spec.rule is TargetRule.ALL_OF:
            achieved[:, t] = ref_day.max(axis=1) if ref_day.shape[1] else 0.0
            met[:, t] = ref_ok.all(axis=1)
        else:  # K_OF_N
            k = max(1, min(spec.k, ref_day.shape[1]))
            achieved[:, t] = np.partition(ref_day, k - 1, axis=1)[:, k - 1]
            met[:, t] = ref_ok.sum(axis=1) >= spec.k
    return achieved, met


def _bulk(model: CompiledModel):
    """(targets, items, deadlines) of one-item ITEM_BY targets and (targets, KPIs, grid index, thresholds)
    of KPI_GE targets, built once per model."""
    cached = model.meta.get("target_bulk")
    if cached is not None:
        return cached
    grid = model.kpi_grid
    one = [(t, int(s.item_refs[0]), s.deadline_day) for t, s in enumerate(model.targets)
           if s.rule is TargetRule.ITEM_BY and len(s.item_refs) == 1 and len(s.target_refs) == 0]
    ge = [(t, s.kpi_ref, min(int(np.searchsorted(grid, s.deadline_day)), len(grid) - 1), s.threshold)
          for t, s in enumerate(model.targets) if s.rule is TargetRule.KPI_GE]
    single = (np.array([x[0] for x in one], dtype=np.int64), np.array([x[1] for x in one], dtype=np.int64),
              np.array([x[2] for x in one], dtype=np.float64))
    kpi_ge = (np.array([x[0] for x in ge], dtype=np.int64), np.array([x[1] for x in ge], dtype=np.int64),
              np.array([x[2] for x in ge], dtype=np.int64), np.array([x[3] for x in ge], dtype=np.float64))
    model.meta["target_bulk"] = (single, kpi_ge)
    return model.meta["target_bulk"]
