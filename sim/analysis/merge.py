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

An item's finish is the latest of its paths' finishes: its own work from its
own earliest start, its work from each FS/SS predecessor's date (+ lag), each
FF predecessor's finish (+ lag) and each SYNC partner's own finish (the
rail-bus connection T15 waits for the S2 rail T14). Each path is judged against
the item's plan finish, so ``p_joint`` is P(item finishes by plan) (without
resource queues). A target's paths are its refs, on plan when met by the
deadline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.drivers import achieved_days, item_days, natural_finish
from sim.analysis.summary import prob_se
from sim.model.calendar import advance_with_pauses
from sim.engine.compiled import CompiledModel
from sim.model.clock import FAR_DAY
from sim.engine.forward import pauses_for
from sim.engine.replicate import column
from sim.engine.sampling import Draws
from sim.model.enums import TargetRule
from sim.model.links import kind as link_kind


def merge_bias(model: CompiledModel, records: pd.DataFrame, *, draws: Draws | None = None,
               natural: np.ndarray | None = None) -> pd.DataFrame:
    """One row per gate: an item whose finish two or more paths decide, or an ``all_of`` target.

    Item gates need the sampled work and waits, hence the run's ``draws``
    (:func:`sim.analysis.drivers.draws_for`); without them only targets are reported. ``natural``:
    :func:`sim.analysis.drivers.natural_finish` of these records and draws, if already computed.
    """
    finish = item_days(model, records, "finish")
    rows = []
    if draws is not None:
        start = item_days(model, records, "start")
        natural = natural_finish(model, start, finish, draws) if natural is None else natural
        rows += [_item_gate(model, i, start, finish, natural, draws) for i in range(model.n_items)]
    achieved = achieved_days(model, records)
    rows += [_target_gate(model, t, records, finish, achieved) for t in range(len(model.targets))]
    rows = [r for r in rows if r is not None]
    if not rows:
        return pd.DataFrame(columns=["gate", "kind", "paths", "p_joint", "p_min", "p_product"])
    return pd.DataFrame(rows).sort_values("merge_gap", ascending=False, kind="stable").reset_index(drop=True)


def _item_gate(model: CompiledModel, i: int, start, finish, natural, draws: Draws) -> dict | None:
    """The finish of item i along each path alone; on plan by i's plan finish."""
    partners = [j for j in np.flatnonzero(model.sync_group == model.sync_group[i]) if j != i]
    if model.fixed[i] or len(model.start_preds[i]) + len(model.ff_preds[i]) + len(partners) == 0:
        return None
    ps, pe = pauses_for(model, draws, i)
    cal = model.calendars[model.item_calendar[i]]

    def working_from(day: np.ndarray) -> np.ndarray:
        return advance_with_pauses(cal, day, draws.work[:, i], ps, pe)[1]

    ids = model.item_ids
    names, arrivals = [f"{ids[i]} (own)"], [working_from(draws.wait[:, i])]
    for p, typ, lag in model.start_preds[i]:
        names.append(f"{ids[p]} ({typ})")
        arrivals.append(working_from((finish[:, p] if link_kind(typ).refs_finish else start[:, p]) + lag))
    for p, lag in model.ff_preds[i]:
        names.append(f"{ids[p]} (FF)")
        arrivals.append(finish[:, p] + lag)
    for j in partners:
        names.append(f"{ids[j]} (SYNC)")
        arrivals.append(natural[:, j])
    arrive = np.column_stack(arrivals)
    return _row(ids[i], "item", names, arrive <= model.plan_finish_day[i] + 1e-6, arrive)


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
