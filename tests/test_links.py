"""The link-type registry (sim.model.links) and the places that consult it."""

from __future__ import annotations

import dataclasses

from sim.engine.compiled import compile_plan
from sim.model.entities import Link
from sim.model.enums import LinkType
from sim.model.links import LINKS, End, kind
from sim.model.load import load_plan
from sim.report.i18n import ENUMS
from conftest import SHIPPED_PARAMS


def test_every_link_type_is_registered_with_both_ends_and_labels() -> None:
    assert set(LINKS) == set(LinkType)
    for t, k in LINKS.items():
        assert k.type is t and isinstance(k.pred_end, End) and isinstance(k.succ_end, End)
        assert k.label_en.startswith(str(t)) and k.label_zh.startswith(str(t))
        assert ENUMS[str(t)] == (k.label_en, k.label_zh)  # the report names link types from the registry
        # a link either gates one end of its successor or is symmetric, never both
        assert (k.gates_start or k.gates_finish) != k.symmetric


def test_the_compiled_model_classifies_links_as_the_registry_says() -> None:
    """start_preds hold the start-gating links, ff_preds the finish-gating ones, SYNC partners share a group."""
    plan = load_plan(SHIPPED_PARAMS)
    ids = [it.id for it in plan.items]
    # one more link of every type between items the shipped links leave unrelated (no cycle can form:
    # each goes from an earlier item to a later one that has no link yet)
    free = [i for i in ids if not any(i in (ln.pred, ln.succ) for ln in plan.links)]
    extra = [Link(free[2 * k], free[2 * k + 1], t, 0.0 if not kind(t).lag_allowed else 3.0)
             for k, t in enumerate(LinkType)]
    plan = dataclasses.replace(plan, links=(*plan.links, *extra))
    assert {ln.type for ln in plan.links} == set(LinkType)
    model = compile_plan(plan)
    pos = {iid: k for k, iid in enumerate(model.item_ids)}
    starts = {(pos[ln.pred], pos[ln.succ], ln.type) for ln in plan.links if kind(ln.type).gates_start}
    finishes = {(pos[ln.pred], pos[ln.succ]) for ln in plan.links if kind(ln.type).gates_finish}
    assert {(p, i, t) for i, preds in enumerate(model.start_preds) for p, t, _ in preds} == starts
    assert {(p, i) for i, preds in enumerate(model.ff_preds) for p, _ in preds} == finishes
    for ln in plan.links:
        same = model.sync_group[pos[ln.pred]] == model.sync_group[pos[ln.succ]]
        assert same if kind(ln.type).symmetric else True
    # what the engines are to read instead of naming FS/SS (sim.engine.forward, sim.engine.processes)
    assert model.start_pred_on_finish() == tuple(tuple(t is LinkType.FS for _, t, _ in preds)
                                                 for preds in model.start_preds)
