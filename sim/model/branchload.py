"""Reading branches.csv (conditional gates) and checking that each decision can be taken in time.

A branch switches an item to an alternative when its condition holds. The decision must be
known when the branch's item starts: a condition "item X not finished by D" is accepted
only when D is on or before the item's plan start, or when X is a predecessor of the item
(through FS/SS/SYNC links, so the item cannot start before X has finished). A condition on
an item that can finish after the branch's start is rejected with its file and line. The
engine evaluates conditions on a first schedule pass, so X must also not depend on any
branched item, nor share a finite-capacity unit with one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from sim.model import validate as v
from sim.model.csvio import Cells, Table
from sim.model.entities import Branch, Item, Link
from sim.model.links import kind as link_kind
from sim.model.problems import Problem

BRANCHES = "branches.csv"
CONDITIONS = ("not_finished", "risk_fired")
ACTIONS = ("duration", "delay", "add", "drop")

SCHEMA: dict[str, tuple[tuple[str, ...], bool]] = {
    BRANCHES: (("id", "name_en", "condition", "ref", "date", "item", "action", "value", "source"), False),
}


def branch(c: Cells, cat: v.Catalog) -> Branch:
    """One row of branches.csv."""
    condition = c.text("condition", required=True)
    if condition and condition not in CONDITIONS:
        c.flag("condition", condition, f"unknown condition {condition!r}", "allowed values: " + ", ".join(CONDITIONS))
    action = c.text("action", required=True)
    if action and action not in ACTIONS:
        c.flag("action", action, f"unknown action {action!r}", "allowed values: " + ", ".join(ACTIONS))
    item, ref = c.ident("item"), c.text("ref", required=True)
    c.extend(v.unknown_refs(c.file, c.line, "item", [item], cat.item_ids, what="item", home="items.csv id"))
    day = c.date("date", required=condition == "not_finished")
    if condition == "not_finished":
        c.extend(v.unknown_refs(c.file, c.line, "ref", [ref], cat.item_ids, what="item", home="items.csv id"))
    value = c.number("value", required=action in ("duration", "delay"), default=1.0,
                     low=0 if action == "delay" else None, above=0 if action == "duration" else None)
    return Branch(id=c.ident("id"), item=item, condition=condition, ref=ref, action=action,
                  value=1.0 if value is None else value, date=day, name_en=c.raw("name_en"), source=c.raw("source"))


BUILDERS = {BRANCHES: branch}


def _graph(links: Sequence[tuple[int, Link]]) -> dict[str, set[str]]:
    succ: dict[str, set[str]] = defaultdict(set)
    for _, ln in links:
        k = link_kind(ln.type)
        if k.gates_start or k.symmetric:
            succ[ln.pred].add(ln.succ)
        if k.symmetric:
            succ[ln.succ].add(ln.pred)
    return succ


def _downstream(succ: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in succ.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def branch_problems(branches: Sequence[tuple[int, Branch]], items: Sequence[tuple[int, Item]],
                    links: Sequence[tuple[int, Link]], tables: Mapping[str, Table | None], as_of) -> list[Problem]:
    """The checks across branches.csv, items.csv, links.csv and risks.csv."""
    problems: list[Problem] = []
    table = tables.get(BRANCHES)
    if table is not None:
        problems += v.duplicate_ids(BRANCHES, "id", [(r.line, r.get("id")) for r in table.rows])
    by_id = {it.id: it for _, it in items}
    succ = _graph(links)
    start_links: dict[str, set[str]] = defaultdict(set)  # predecessors whose finish gates a start (FS, SYNC)
    for _, ln in links:
        if link_kind(ln.type).refs_finish and (link_kind(ln.type).gates_start or link_kind(ln.type).symmetric):
            start_links[ln.succ].add(ln.pred)
    risks = tables.get("risks.csv")
    risk_ids = None if risks is None else {r.get("id") for r in risks.rows}
    branched = {b.item for _, b in branches}
    for line, b in branches:
        if b.condition == "risk_fired":
            rid = b.ref.split("/", 1)[0]
            if risk_ids is not None and rid not in risk_ids:
                problems.append(Problem(BRANCHES, line, "ref", b.ref, f"unknown risk {rid!r}",
                                        "name a risks.csv id, or an instance RISK/ITEM of an `each` risk"))
            continue
        x, y = by_id.get(b.ref), by_id.get(b.item)
        if x is None or y is None:
            continue  # unknown ids: already reported
        gated = b.ref in _upstream(start_links, b.item)
        y_start = y.plan_start or as_of
        if b.date is not None and as_of is not None and b.date > max(y_start, as_of) and not gated:
            problems.append(Problem(
                BRANCHES, line, "date", b.date.isoformat(),
                f"branch {b.id}: the condition refers to {b.ref} finishing by {b.date}, after {b.item} starts "
                f"({max(y_start, as_of)}); {b.ref} is not a predecessor of {b.item}, so the decision is not known "
                "when the item starts",
                f"use a date on or before {max(y_start, as_of)}, or condition on a predecessor of {b.item}"))
        for other in sorted(branched):
            if b.ref == other or b.ref in _downstream(succ, other):
                problems.append(Problem(
                    BRANCHES, line, "ref", b.ref,
                    f"branch {b.id}: the condition's item {b.ref} depends on the branched item {other}, so it "
                    f"can finish after {other} starts", "condition on an item that does not depend on a branched item"))
                break
        units_table = tables.get("units.csv")
        finite = {u.get("id") for u in (units_table.rows if units_table else ())
                  if u.get("capacity")}
        if x.resource_unit and x.resource_unit in finite and any(
                by_id[o].resource_unit == x.resource_unit for o in branched if o in by_id):
            problems.append(Problem(BRANCHES, line, "ref", b.ref,
                                    f"branch {b.id}: {b.ref} shares the finite-capacity unit {x.resource_unit} "
                                    "with a branched item, so its finish could depend on the branch",
                                    "condition on an item of another unit"))
    return problems


def _upstream(preds: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for p in preds.get(todo.pop(), ()):
            if p not in seen:
                seen.add(p)
                todo.append(p)
    return seen


def branch_summary(plan) -> list[str]:
    """The `sim validate` line about branches."""
    if not plan.branches:
        return ["Branches: 0"]
    from collections import Counter

    cond = Counter(b.condition for b in plan.branches)
    act = Counter(b.action for b in plan.branches)
    return [f"Branches: {len(plan.branches)} (" + ", ".join(f"{k} {n}" for k, n in cond.items()) + "; "
            + ", ".join(f"{k} {n}" for k, n in act.items()) + ")"]
