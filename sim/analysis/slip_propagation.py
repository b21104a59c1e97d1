"""What else moves when an item slips: the zero-variance plan run with and without the slip.

:func:`deterministic_slip` fixes every multiplier at 1 and drops risks and shocks
(:func:`zero_variance`), schedules the plan with and without the slip
(:func:`with_slip`, the scenario overlay ``slip: {ITEM: d}``) and lists which
items and schedule targets move, by how many days, along which driving links.
Orchestration and the probabilistic effect are :mod:`sim.studies.slip`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import pandas as pd

from sim.engine.compiled import CompiledModel, compile_plan
from sim.engine.replicate import Engine, run_chunk
from sim.model.clock import date_of
from sim.model.distribution import Distribution
from sim.model.entities import Assumption, Plan
from sim.model.enums import TargetRule
from sim.model.links import kind as link_kind
from sim.model.scenario import apply_scenario, scenario_from_dict

SCHEDULE_RULES = (TargetRule.ITEM_BY, TargetRule.ALL_OF, TargetRule.K_OF_N)
_EPS = 0.01  # days: smaller shifts are float32 rounding, not movement


def with_slip(plan: Plan, item: str, days: float) -> Plan:
    """The plan with ``item`` slipped by ``days`` (the scenario overlay ``slip: {item: days}``)."""
    if days == 0:
        return plan
    return apply_scenario(plan, scenario_from_dict({"slip": {item: float(days)}}, name=f"slip-{item}",
                                                   file=f"<slip {item}>"))


def zero_variance(plan: Plan) -> Plan:
    """The plan with every duration multiplier (and pre-construction wait) fixed at 1, no risks, no shocks.

    KPI arrivals stay random: targets on KPIs are left to :func:`probabilistic_slip`.
    """
    one = Distribution.fixed(1.0)
    assumptions = tuple(a for a in plan.assumptions if a.key != "aspirational_uplift")
    return dataclasses.replace(
        plan,
        items=tuple(dataclasses.replace(it, multiplier=one) for it in plan.items),
        duration_classes=tuple(dataclasses.replace(c, multiplier=one) for c in plan.duration_classes),
        risks=(), shocks=(),
        assumptions=(*assumptions, Assumption("aspirational_uplift", "1", "multiplier", "zero-variance copy")),
    )


def deterministic_slip(plan: Plan, item: str, slips_days: Sequence[float]) -> pd.DataFrame:
    """Which items and schedule targets move when ``item`` slips, in the zero-variance plan.

    Returns
    -------
    DataFrame
        One row per (slip, moved item or target): ``slip_days, kind, id, name_en,
        base_finish, slipped_finish, finish_shift_days, start_shift_days,
        met_base, met_slipped, via, path`` where ``path`` is the chain of
        driving links from the slipped item, e.g. ``T14 -FF-> T15``.
    """
    flat = zero_variance(plan)
    base_model = compile_plan(flat)
    base = _one_schedule(base_model)
    frames = []
    for days in slips_days:
        model = compile_plan(with_slip(flat, item, days))
        frames.append(_moves(model, base, _one_schedule(model), item, days))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _one_schedule(model: CompiledModel) -> dict:
    rec = run_chunk(model, seed=0, chunk=0, rows=1, engine=Engine.AUTO)
    ids = model.item_ids
    return {"start": dict(zip(ids, rec.start[0].astype(float))), "finish": dict(zip(ids, rec.finish[0].astype(float))),
            "achieved": {t.id: float(rec.achieved[0, k]) for k, t in enumerate(model.targets)},
            "met": {t.id: bool(rec.met[0, k]) for k, t in enumerate(model.targets)}}


def _moves(model: CompiledModel, base: dict, slip: dict, item: str, days: float) -> pd.DataFrame:
    plan, as_of = model.plan, model.plan.as_of
    names = {it.id: it.name_en for it in plan.items}
    moved = {i for i in model.item_ids
             if abs(slip["finish"][i] - base["finish"][i]) > _EPS or abs(slip["start"][i] - base["start"][i]) > _EPS}
    parent = _driving_links(plan, slip, moved, item)
    rows = []
    for i in model.item_ids:
        if i not in moved and i != item:
            continue
        rows.append({"slip_days": days, "kind": "item", "id": i, "name_en": names[i],
                     "base_finish": date_of(base["finish"][i], as_of),
                     "slipped_finish": date_of(slip["finish"][i], as_of),
                     "finish_shift_days": round(slip["finish"][i] - base["finish"][i], 1),
                     "start_shift_days": round(slip["start"][i] - base["start"][i], 1),
                     "met_base": None, "met_slipped": None,
                     "via": parent[i][1] if i in parent else "", "path": _path(parent, i, item)})
    rules = {t.id: t for t in plan.targets}
    moved_targets = {t.id for t in model.targets
                     if abs(slip["achieved"][t.id] - base["achieved"][t.id]) > _EPS
                     or slip["met"][t.id] != base["met"][t.id]}
    for t in model.targets:
        if rules[t.id].rule not in SCHEDULE_RULES:
            continue
        shift = slip["achieved"][t.id] - base["achieved"][t.id]
        if not (abs(shift) > _EPS or slip["met"][t.id] != base["met"][t.id]) or math.isnan(shift):
            continue
        rows.append({"slip_days": days, "kind": "target", "id": t.id, "name_en": rules[t.id].name_en,
                     "base_finish": date_of(base["achieved"][t.id], as_of),
                     "slipped_finish": date_of(slip["achieved"][t.id], as_of),
                     "finish_shift_days": round(shift, 1), "start_shift_days": float("nan"),
                     "met_base": base["met"][t.id], "met_slipped": slip["met"][t.id], "via": "",
                     "path": " + ".join(r for r in rules[t.id].refs if r in moved or r in moved_targets)})
    return pd.DataFrame(rows)


def _driving_links(plan: Plan, s: dict, moved: set[str], item: str) -> dict[str, tuple[str, str]]:
    """For each moved item, the moved predecessor whose link binds in the slipped schedule, and the link type."""
    parent: dict[str, tuple[str, str]] = {}
    for ln in plan.links:
        link = link_kind(ln.type)  # which end of a it references, which end of b it constrains (sim.model.links)
        pairs = [(ln.pred, ln.succ)] + ([(ln.succ, ln.pred)] if link.symmetric else [])
        for a, b in pairs:
            if b not in moved or a not in moved or b == item or a == b:
                continue
            ref = s[link.pred_end][a] + ln.lag_days if link.lag_allowed else s[link.pred_end][a]
            binds = abs(s[link.succ_end][b] - ref) <= _EPS
            if binds and (b not in parent or parent[b][1].endswith("?")):
                parent[b] = (a, str(ln.type))
            elif b not in parent:
                parent[b] = (a, f"{ln.type}?")  # moved predecessor, link not exactly binding
    return parent


def _path(parent: dict[str, tuple[str, str]], node: str, root: str) -> str:
    if node == root:
        return root
    chain, seen = [node], {node}
    while node in parent and node != root:
        node, kind = parent[node]
        if node in seen:
            break
        chain += [f"-{kind}->", node]
        seen.add(node)
    if node != root:
        return "(resource or calendar) " + " ".join(reversed(chain))
    return " ".join(reversed(chain))
