"""Probabilistic branching (conditional gates, branches.csv) on top of either schedule engine.

A branch's condition is read per replication: ``risk_fired`` from the drawn risk
occurrences; ``not_finished`` (item X not finished by the end of date D) from a first
schedule pass. Validation (:mod:`sim.model.branchload`) guarantees that X depends on no
branched item and shares no finite-capacity unit with one, so X's finish is the same with
or without the branches. Where a condition holds the draws of the branched item change:

* ``duration``: its working days times ``value``;
* ``delay``: its earliest start ``value`` days later;
* ``add``: a contingent item, which has work only where the condition holds (zero work,
  and no cost, elsewhere);
* ``drop``: the deliverable is dropped: it never finishes (``FAR_DAY``), its targets fail
  and it costs nothing.

The schedule is then run again on the changed draws by the same engine, so the SimPy
processes and the vectorised pass support branching alike and agree row by row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from sim.model.clock import FAR_DAY, end_of

if TYPE_CHECKING:  # pragma: no cover
    from sim.engine.compiled import CompiledModel
    from sim.engine.sampling import Draws
    from sim.model.entities import Plan


@dataclass(frozen=True)
class BranchSpec:
    id: str
    item: int
    condition: str
    ref_item: int  # -1 for risk conditions
    risk_cols: np.ndarray  # risk instance indices (risk conditions)
    deadline_day: float
    action: str
    value: float


def compile_branches(plan: Plan, model: CompiledModel) -> tuple[BranchSpec, ...]:
    out = []
    for b in plan.branches:
        if b.item not in model.index or (b.condition == "not_finished" and b.ref not in model.index):
            continue  # a derived plan without the item (a lone-item calibration plan, a scenario's removal)
        if b.condition == "risk_fired":
            cols = [r for r, inst in enumerate(model.risks) if inst.key == b.ref or inst.risk_id == b.ref]
            out.append(BranchSpec(b.id, model.index[b.item], b.condition, -1, np.array(cols, dtype=np.int64),
                                  np.inf, b.action, b.value))
        else:
            assert b.date is not None  # sim.model.branchload requires a date for not_finished
            out.append(BranchSpec(b.id, model.index[b.item], b.condition, model.index[b.ref],
                                  np.zeros(0, dtype=np.int64), float(end_of(b.date, plan.as_of)), b.action, b.value))
    return tuple(out)


def needs_schedule(model: CompiledModel) -> bool:
    """Whether a condition reads a finish (so a first schedule pass is needed)."""
    return any(b.condition == "not_finished" for b in model.branches)


def condition_items(model: CompiledModel) -> list[int]:
    """The items whose finish a ``not_finished`` condition reads (all :func:`branch_mask` needs of a schedule)."""
    return sorted({b.ref_item for b in model.branches if b.condition == "not_finished"})


def branch_mask(model: CompiledModel, draws: Draws, finish: np.ndarray | None) -> np.ndarray:
    """Where each branch's condition holds: bool (rows, branches)."""
    rows = draws.work.shape[0]
    out = np.zeros((rows, len(model.branches)), dtype=bool)
    for k, b in enumerate(model.branches):
        if b.condition == "risk_fired":
            out[:, k] = draws.risk_fired[:, b.risk_cols].any(axis=1) if b.risk_cols.size else False
        else:
            assert finish is not None  # a not_finished branch makes needs_schedule true: the caller passes it
            out[:, k] = finish[:, b.ref_item] > b.deadline_day
    return out


def apply_branches(model: CompiledModel, draws: Draws, fired: np.ndarray) -> Draws:
    """Draws with every branch's alternative where its condition holds (branches in file order)."""
    work, wait = draws.work.copy(), draws.wait.copy()
    for k, b in enumerate(model.branches):
        hit, i = fired[:, k], b.item
        if model.fixed[i]:
            continue  # done on the as-of date: nothing left to switch
        if b.action == "duration":
            work[hit, i] *= b.value
        elif b.action == "delay":
            wait[hit, i] += b.value
        elif b.action == "add":
            work[~hit, i] = 0.0
        else:  # drop
            work[hit, i] = FAR_DAY
    return replace(draws, work=work, wait=wait)


def cost_presence(model: CompiledModel, fired: np.ndarray) -> dict[int, np.ndarray]:
    """Item index -> 0/1 factor on its cost: a contingent item costs only where added, a dropped one nothing."""
    out: dict[int, np.ndarray] = {}
    for k, b in enumerate(model.branches):
        if b.action == "add":
            out[b.item] = out.get(b.item, 1.0) * fired[:, k]
        elif b.action == "drop":
            out[b.item] = out.get(b.item, 1.0) * (~fired[:, k])
    return out
