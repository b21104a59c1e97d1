"""Merge bias: where several paths meet, the joint date is later than any path's.

A gate (an item with two or more predecessor constraints, or an ``all_of``
target with two or more refs) opens when its *last* path arrives. Planning
with single-point dates treats the gate as on time when each path is; the
simulation gives the joint probability directly. For every gate:

* ``p_joint`` -- P(every path arrives by its plan day) -- the gate on plan;
* ``p_min`` -- the smallest single-path probability (what a path-by-path view
  suggests), and ``p_product`` -- the product (exact only for independent paths);
* ``mean_of_max - max_of_means`` -- the shift of the mean gate day (days) that
  merging causes (>= 0 always), over the replications in which every path
  arrives at all (``p_never`` is the share in which some path never does).

Paths of an item gate arrive at ``pred finish + lag`` (FS, FF, SYNC) or
``pred start + lag`` (SS); their plan days are the predecessor's plan finish
(+ lag), or its plan start for SS. Paths of a target gate are its refs, on plan
when met.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.drivers import achieved_days, item_days
from sim.analysis.summary import prob_se
from sim.engine.compiled import FAR_DAY, CompiledModel, day_of
from sim.engine.replicate import column
from sim.model.enums import LinkType, TargetRule


def merge_bias(model: CompiledModel, records: pd.DataFrame) -> pd.DataFrame:
    """One row per gate (item or target where two or more paths meet)."""
    start = item_days(model, records, "start")
    finish = item_days(model, records, "finish")
    rows = [_item_gate(model, i, start, finish) for i in range(model.n_items)]
    achieved = achieved_days(model, records)
    rows += [_target_gate(model, t, records, finish, achieved) for t in range(len(model.targets))]
    rows = [r for r in rows if r is not None]
    if not rows:
        return pd.DataFrame(columns=["gate", "kind", "paths", "p_joint", "p_min", "p_product"])
    return pd.DataFrame(rows).sort_values("merge_gap", ascending=False, kind="stable").reset_index(drop=True)


def _item_gate(model: CompiledModel, i: int, start, finish) -> dict | None:
    plan_by_id = {it.id: it for it in model.plan.items}
    paths: list[tuple[str, np.ndarray, float]] = []
    for p, typ, lag in model.start_preds[i]:
        pred = plan_by_id[model.item_ids[p]]
        if typ is LinkType.SS:
            if pred.plan_start is None:
                continue
            paths.append((model.item_ids[p], start[:, p] + lag, day_of(pred.plan_start, model.as_of) + lag))
        else:
            paths.append((model.item_ids[p], finish[:, p] + lag, model.plan_finish_day[p] + lag))
    for p, lag in model.ff_preds[i]:
        paths.append((model.item_ids[p], finish[:, p] + lag, model.plan_finish_day[p] + lag))
    if len(paths) < 2:
        return None
    arrive = np.column_stack([a for _, a, _ in paths])
    ok = arrive <= np.array([d for _, _, d in paths])[None, :] + 1e-6
    return _row(model.item_ids[i], "item", [nm for nm, _, _ in paths], ok, arrive)


def _target_gate(model: CompiledModel, t: int, records: pd.DataFrame, finish, ach) -> dict | None:
    spec = model.targets[t]
    if spec.rule is not TargetRule.ALL_OF:
        return None
    names = [model.item_ids[k] for k in spec.item_refs] + [model.targets[k].id for k in spec.target_refs]
    if len(names) < 2:
        return None
    arrive = np.concatenate([finish[:, spec.item_refs], ach[:, spec.target_refs]], axis=1)
    met_refs = [records[column("met", model.targets[k].id)].to_numpy().astype(bool) for k in spec.target_refs]
    ok = np.column_stack([finish[:, spec.item_refs] <= spec.deadline_day, *met_refs])
    return _row(spec.id, "target", names, ok, arrive)


def _row(gate: str, kind: str, names: list[str], ok: np.ndarray, arrive: np.ndarray) -> dict:
    n = ok.shape[0]
    p_each = ok.mean(axis=0)
    p_joint = float(ok.all(axis=1).mean())
    reached = (arrive < FAR_DAY).all(axis=1)  # the mean shift is over replications where every path arrives
    arrive = arrive[reached]
    mean_of_max = float(arrive.max(axis=1).mean()) if len(arrive) else np.nan
    max_of_means = float(arrive.mean(axis=0).max()) if len(arrive) else np.nan
    return {
        "gate": gate,
        "kind": kind,
        "paths": ";".join(names),
        "p_paths": ";".join(f"{p:.3f}" for p in p_each),
        "p_joint": p_joint,
        "p_joint_se": float(prob_se(p_joint, n)),
        "p_min": float(p_each.min()),
        "p_product": float(np.prod(p_each)),
        "merge_gap": float(p_each.min() - p_joint),
        "mean_of_max_days": mean_of_max,
        "max_of_means_days": max_of_means,
        "mean_shift_days": mean_of_max - max_of_means,
        "p_never": float(1.0 - reached.mean()),
    }
