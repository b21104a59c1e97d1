"""Reading the money tables of params/: cost classes and the plan's annual investment figures.

Both files are optional. ``cost_classes.csv`` gives, per project type, the reference
class of the cost multiplier C = outturn / budget, its copula correlation with the
schedule, the standing cost of delay and the spending S-curve (docs/calibration.md
§10). ``investment_plan.csv`` holds the plan's own annual investment figures where
the plan gives them; items without any row spread their investment evenly between
their plan dates (an assumption the report states).

Checks that relate the files: every item with an investment needs the cost class of
its project type (problem on the items.csv line); a planned figure must name an item
with an investment, and an item's yearly figures must not exceed its investment.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

from sim.model import validate as v
from sim.model.csvio import Cells, Table, split_list
from sim.model.entities import CostClass, Item, PlannedSpend, Response
from sim.model.problems import Problem

COST_CLASSES = "cost_classes.csv"
INVESTMENT_PLAN = "investment_plan.csv"
RESPONSES = "responses.csv"
RESPONSE_EFFECTS = ("probability", "impact", "duration")

SCHEMA: dict[str, tuple[tuple[str, ...], bool]] = {
    COST_CLASSES: (("project_type", "name_en", "dist", "p1", "p2", "p3", "rho_schedule", "standing_per_year",
                    "profile_a", "profile_b", "source"), False),
    INVESTMENT_PLAN: (("item", "year", "amount_cny_100m", "source"), False),
    RESPONSES: (("id", "name_zh", "name_en", "cost_cny_100m", "effect", "acts_on", "value", "source"), False),
}


def cost_class(c: Cells, cat: v.Catalog) -> CostClass:
    """One row of cost_classes.csv."""
    ptype = c.ident("project_type")
    return CostClass(
        project_type=ptype, name_en=c.text("name_en"),
        multiplier=c.needed_distribution(),
        rho_schedule=c.needed_number("rho_schedule", default=0.0, low=-1, high=1),
        standing_per_year=c.needed_number("standing_per_year", default=0.0, low=0),
        profile_a=c.needed_number("profile_a", default=2.0, above=0),
        profile_b=c.needed_number("profile_b", default=2.0, above=0),
        source=c.raw("source"),
    )


def planned_spend(c: Cells, cat: v.Catalog) -> PlannedSpend:
    """One row of investment_plan.csv."""
    item = c.ident("item")
    if item:
        c.extend(v.unknown_refs(c.file, c.line, "item", [item], cat.item_ids, what="item", home="items.csv id"))
    year = c.positive_int("year", required=True)
    return PlannedSpend(item=item, year=year or 0,
                        amount_cny_100m=c.needed_number("amount_cny_100m", required=True, low=0), source=c.raw("source"))


def response(c: Cells, cat: v.Catalog) -> Response:
    """One row of responses.csv (risk ids are checked against risks.csv in :func:`cost_problems`)."""
    effect = c.text("effect", required=True)
    if effect and effect not in RESPONSE_EFFECTS:
        c.flag("effect", effect, f"unknown effect {effect!r}", "allowed values: " + ", ".join(RESPONSE_EFFECTS))
    acts_on = c.entries("acts_on", required=True)
    if effect == "duration":
        c.extend(v.selector_problems(c.file, c.line, "acts_on", acts_on, cat))
    return Response(id=c.ident("id"), name_zh=c.text("name_zh", required=True),
                    name_en=c.text("name_en", required=True),
                    cost_cny_100m=c.needed_number("cost_cny_100m", required=True, low=0), effect=effect, acts_on=acts_on,
                    value=c.needed_number("value", required=True, low=0), source=c.raw("source"))


BUILDERS = {COST_CLASSES: cost_class, INVESTMENT_PLAN: planned_spend, RESPONSES: response}


def cost_problems(items: Sequence[tuple[int, Item]], classes: Sequence[tuple[int, CostClass]],
                  spends: Sequence[tuple[int, PlannedSpend]], tables: Mapping[str, Table | None]) -> list[Problem]:
    """Checks across items.csv, cost_classes.csv and investment_plan.csv."""
    problems: list[Problem] = []
    cc_table = tables.get(COST_CLASSES)
    have_costs = cc_table is not None and bool(cc_table.rows)
    known = {c.project_type for _, c in classes}
    seen: dict[str, int] = {}
    for line, c in classes:
        if c.project_type in seen:
            problems.append(Problem(COST_CLASSES, line, "project_type", c.project_type,
                                    f"project type {c.project_type!r} already has a cost class on line "
                                    f"{seen[c.project_type]}", "keep one row per project type"))
        seen.setdefault(c.project_type, line)
    if have_costs:
        for line, it in items:
            if it.investment_cny_100m is not None and it.project_type not in known:
                problems.append(Problem("items.csv", line, "project_type", it.project_type,
                                        f"item {it.id} has an investment but its project type has no cost class",
                                        f"add a row for {it.project_type} to {COST_CLASSES}, "
                                        "or leave investment_cny_100m blank"))
    problems += _response_problems(tables)
    by_id = {it.id: (line, it) for line, it in items}
    total: dict[str, float] = defaultdict(float)
    years: dict[tuple[str, int], int] = {}
    for line, s in spends:
        if s.item not in by_id:
            continue  # unknown id: already reported
        it = by_id[s.item][1]
        if it.investment_cny_100m is None:
            problems.append(Problem(INVESTMENT_PLAN, line, "item", s.item,
                                    f"item {s.item} has no investment in items.csv",
                                    "give its investment_cny_100m, or drop the row"))
            continue
        if (s.item, s.year) in years:
            problems.append(Problem(INVESTMENT_PLAN, line, "year", str(s.year),
                                    f"{s.item} {s.year} is already given on line {years[(s.item, s.year)]}",
                                    "keep one row per item and year"))
        years.setdefault((s.item, s.year), line)
        total[s.item] += s.amount_cny_100m
        if total[s.item] > it.investment_cny_100m * (1 + 1e-9):
            problems.append(Problem(INVESTMENT_PLAN, line, "amount_cny_100m", f"{s.amount_cny_100m:g}",
                                    f"the yearly figures of {s.item} add up to {total[s.item]:g}, more than its "
                                    f"investment {it.investment_cny_100m:g} 亿元",
                                    "correct the figures or the item's investment_cny_100m"))
    return problems


def _response_problems(tables: Mapping[str, Table | None]) -> list[Problem]:
    """Risk ids of probability/impact responses must be risks.csv ids; ids unique."""
    table, risks = tables.get(RESPONSES), tables.get("risks.csv")
    if table is None:
        return []
    known = None if risks is None else {r.get("id") for r in risks.rows}
    problems = v.duplicate_ids(RESPONSES, "id", [(r.line, r.get("id")) for r in table.rows])
    for r in table.rows:
        if r.get("effect") in ("probability", "impact") and known is not None:
            problems += v.unknown_refs(RESPONSES, r.line, "acts_on", split_list(r.get("acts_on")), known,
                                       what="risk", home="risks.csv id")
    return problems


def cost_summary(plan) -> list[str]:
    """Lines of `sim validate` about money: invested items, cost classes, cost risks, planned figures."""
    invested = [i for i in plan.items if i.investment_cny_100m is not None]
    costed = [i for i in invested if plan.cost_class(i.project_type) is not None]
    total = sum(i.investment_cny_100m for i in costed)
    by_campaign = Counter(i.campaign for i in costed)
    cost_risks = [r for r in plan.risks if r.cost_impact is not None]
    both = sum(1 for r in cost_risks if not _zero(r.impact))
    lines = [
        f"Costs: {len(costed)} items with an investment and a cost class, {total:.2f} 亿元 in all ("
        + ", ".join(f"{c} {n}" for c, n in by_campaign.items()) + f"); {len(plan.items) - len(costed)} items "
        "without an investment figure have no cost",
        f"  cost classes: {len(plan.cost_classes)}; cost risks: {len(cost_risks)} ({both} with a schedule impact "
        f"as well, {len(cost_risks) - both} cost only); planned annual figures: {len(plan.planned_spend)} "
        "(other items: even profile between plan dates, assumption)",
        f"Responses: {len(plan.responses)}" + (" (" + ", ".join(
            f"{e} {n}" for e, n in Counter(r.effect for r in plan.responses).items()) + "; "
            f"{sum(r.cost_cny_100m for r in plan.responses):.2f} 亿元 in all)" if plan.responses else ""),
    ]
    return lines


def _zero(dist) -> bool:
    return str(getattr(dist.family, "value", dist.family)) == "fixed" and dist.params and dist.params[0] == 0
