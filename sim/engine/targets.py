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


def evaluate_targets(model: CompiledModel, finish: np.ndarray, kpi_path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``achieved`` (rows, targets) float and ``met`` (rows, targets) bool."""
    rows = finish.shape[0]
    n_t = len(model.targets)
    achieved = np.full((rows, n_t), np.inf)
    met = np.zeros((rows, n_t), dtype=bool)
    grid = model.kpi_grid
    for t, spec in enumerate(model.targets):
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
