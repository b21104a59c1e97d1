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
    # the two commonest rules at once (nothing they read is another target); the rest by depth after
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
    for groups, rest in _steps(model):  # a depth of target references at a time
        for group in groups:
            _all_of(group, finish, achieved, met)
        for t in rest:
            _one(model, t, finish, kpi_path, invest, achieved, met)
    return achieved, met


def _all_of(group, finish: np.ndarray, achieved: np.ndarray, met: np.ndarray) -> None:
    """ITEM_BY / ALL_OF targets with the same numbers of item and target refs at once: the latest
    ref's day, and every ref met (what :func:`_one` computes for each)."""
    t_idx, items, deadlines, tgts = group
    days, oks = [], []
    if items.shape[1]:
        fd = finish[:, items]  # (rows, targets, refs)
        days.append(fd.max(axis=2))
        oks.append((fd <= deadlines[None, :, None]).all(axis=2))
    if tgts.shape[1]:
        days.append(achieved[:, tgts].max(axis=2))
        oks.append(met[:, tgts].all(axis=2))
    achieved[:, t_idx] = days[0] if len(days) == 1 else np.maximum(days[0], days[1])
    met[:, t_idx] = oks[0] if len(oks) == 1 else oks[0] & oks[1]


def _steps(model: CompiledModel):
    """Targets not done in bulk, by depth of target references (a target's refs are all shallower):
    per depth the ITEM_BY / ALL_OF targets with refs in groups for :func:`_all_of`, and the others."""
    cached = model.meta.get("target_steps")
    if cached is not None:
        return cached
    single, kpi_ge = _bulk(model)
    done = set(single[0].tolist()) | set(kpi_ge[0].tolist())
    depth: list[int] = []
    for spec in model.targets:
        depth.append(1 + max((depth[int(r)] for r in spec.target_refs), default=-1))
    steps = []
    for d in range(max(depth, default=-1) + 1):
        members = [t for t in range(len(model.targets)) if depth[t] == d and t not in done]
        by_shape: dict[tuple[int, int], list[int]] = {}
        rest = []
        for t in members:
            spec = model.targets[t]
            shape = (len(spec.item_refs), len(spec.target_refs))
            if spec.rule in (TargetRule.ITEM_BY, TargetRule.ALL_OF) and shape != (0, 0):
                by_shape.setdefault(shape, []).append(t)
            else:
                rest.append(t)
        groups = tuple(_group(model, ts, *shape) for shape, ts in by_shape.items())
        steps.append((groups, tuple(rest)))
    model.meta["target_steps"] = tuple(steps)
    return model.meta["target_steps"]


def _group(model: CompiledModel, ts: list[int], n_items: int, n_targets: int):
    specs = [model.targets[t] for t in ts]
    items = np.array([s.item_refs for s in specs], dtype=np.int64).reshape(len(ts), n_items)
    tgts = np.array([s.target_refs for s in specs], dtype=np.int64).reshape(len(ts), n_targets)
    deadlines = np.array([s.deadline_day for s in specs], dtype=np.float64)
    return np.array(ts, dtype=np.int64), items, deadlines, tgts


def _one(model: CompiledModel, t: int, finish: np.ndarray, kpi_path: np.ndarray,
         invest: dict[int, np.ndarray] | None, achieved: np.ndarray, met: np.ndarray) -> None:
    """One target by its own rule (the rules not gathered in bulk)."""
    grid = model.kpi_grid
    spec = model.targets[t]
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
        return
    if spec.rule is TargetRule.INVEST_GE:
        ratio = (invest or {}).get(t)
        if ratio is None:
            raise ValueError(f"target {spec.id}: rule invest_ge needs the investment completion rates")
        met[:, t] = ratio >= spec.threshold
        achieved[:, t] = np.where(met[:, t], spec.deadline_day, np.inf)
        return
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
