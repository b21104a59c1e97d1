"""Re-validation of a plan a scenario changed: the checks of :mod:`sim.model.validate`, re-addressed.

A problem in the new plan is reported against the scenario key that caused it
(``add.links[0]``, ``items.T14.calendar``), not a CSV line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from sim.model import planmeta
from sim.model import validate as v
from sim.model.entities import Link, Plan
from sim.model.problems import Problem


def link_key(link: Link) -> str:
    """A link's key in an applier's ``touched`` map: ``pred>succ>type``."""
    return f"{link.pred}>{link.succ}>{link.type}"


def catalog_of_plan(plan: Plan) -> v.Catalog:
    """The ids a plan defines, as :class:`sim.model.validate.Catalog` (for its checks)."""
    return v.Catalog(
        item_ids=frozenset(i.id for i in plan.items), groups=frozenset(i.group for i in plan.items),
        unit_ids=frozenset(u.id for u in plan.units),
        project_types=frozenset(c.project_type for c in plan.duration_classes),
        calendars=frozenset(w.calendar for w in plan.calendar_windows) | {"construction"},
        kpi_ids=frozenset(k.id for k in plan.kpis), target_ids=frozenset(t.id for t in plan.targets),
        factor_ids=frozenset(f.id for f in plan.factors),
        campaigns=frozenset(c.id for c in planmeta.campaigns(plan)) or frozenset(i.campaign for i in plan.items),
        sections=frozenset(s.id for s in planmeta.sections(plan)) or None,
    )


def revalidate(plan: Plan, file: str, touched: Mapping[tuple[str, str], str]) -> list[Problem]:
    """The checks of :mod:`sim.model.validate` on the new plan, re-addressed to the scenario's keys."""
    cat = catalog_of_plan(plan)
    found: list[Problem] = []

    def where(table: str, key: str, fallback: str) -> str:
        return touched.get((table, key), f"{fallback} ({table} {key})")

    def readdress(problems: list[Problem], records: list, table: str, key: Callable, fallback: str) -> None:
        for p in problems:
            record = records[p.row - 1] if p.row and 0 < p.row <= len(records) else None
            column = where(table, key(record), fallback) if record is not None else fallback
            # several records (a cycle): name the scenario's own one among them
            involved = [key(records[r - 1]) for r in p.rows if 0 < r <= len(records)]
            column = next((touched[(table, k)] for k in involved if (table, k) in touched), column)
            found.append(Problem(file, None, column, p.value, p.message, p.hint))

    for it in plan.items:
        if ("items", it.id) not in touched:
            continue
        path = touched[("items", it.id)]
        for column, values, known, what in (("project_type", [it.project_type], cat.project_types, "project type"),
                                            ("calendar", [it.calendar], cat.calendars, "calendar"),
                                            ("campaign", [it.campaign], cat.campaigns, "campaign"),
                                            ("units", it.units, cat.unit_ids, "unit"),
                                            ("resource_unit", [it.resource_unit or ""], cat.unit_ids, "unit")):
            for p in v.unknown_refs(file, 0, column, values, known, what=what, home=f"{column} of the plan"):
                found.append(dataclasses.replace(p, row=None, column=f"{path}.{column}"))
        if it.plan_start is not None and it.duration_days is None:
            for p in v.date_order(file, 0, ("plan_start", it.plan_start), ("plan_finish", it.plan_finish)):
                found.append(dataclasses.replace(p, row=None, column=f"{path}.plan_start"))
    for table, records, column in (("risks", plan.risks, "targets"), ("shocks", plan.shocks, "affects"),
                                   ("factors", plan.factors, "members")):
        for r in records:
            if (table, r.id) in touched:
                for p in v.selector_problems(file, 0, column, getattr(r, column), cat):
                    found.append(dataclasses.replace(p, row=None, column=f"{touched[(table, r.id)]}.{column}"))
    from sim.model.distribution import negative_problem

    for it in plan.items:
        if ("items", it.id) in touched and it.multiplier is not None:
            why = negative_problem(it.multiplier, "the duration multiplier")
            if why:
                found.append(Problem(file, None, f"{touched[('items', it.id)]}.multiplier", it.multiplier.describe(),
                                     why, "give values >= 0"))
    for c in plan.duration_classes:
        if ("duration_classes", c.project_type) in touched:
            why = negative_problem(c.multiplier, "the duration multiplier")
            if why:
                found.append(Problem(file, None, f"{touched[('duration_classes', c.project_type)]}.multiplier",
                                     c.multiplier.describe(), why, "give values >= 0"))
    for s in plan.shocks:
        if ("shocks", s.id) in touched:
            why = negative_problem(s.length, "the shock length")
            if why:
                found.append(Problem(file, None, f"{touched[('shocks', s.id)]}.length", s.length.describe(), why,
                                     "give values >= 0"))
    for s in plan.shocks:
        if (("shocks", s.id) in touched) and s.window_start > s.window_end:
            found.append(Problem(file, None, f"{touched[('shocks', s.id)]}.window_start", s.window_start.isoformat(),
                                 f"window_start {s.window_start} is after window_end {s.window_end}",
                                 "correct the window"))
    links = list(plan.links)
    located = list(enumerate(links, start=1))
    readdress(v.link_problems(located) + v.dependency_cycles(located), links, "links", link_key, "add.links")
    factors = list(plan.factors)
    readdress(v.loading_problems(list(enumerate(factors, start=1)), list(plan.items)), factors, "factors",
              lambda f: f.id, "factors")
    corr = list(plan.factor_correlations)
    readdress(v.correlation_problems(list(enumerate(corr, start=1)), [f.id for f in factors]), corr,
              "factor_correlations", lambda c: "~".join(sorted((c.a, c.b))), "correlations")
    targets = list(plan.targets)
    for t in targets:
        if ("targets", t.id) in touched:
            for p in v.unknown_refs(file, 0, "section", [t.section], cat.sections, what="section",
                                    home="plan.yaml sections id"):
                found.append(dataclasses.replace(p, row=None, column=f"{touched[('targets', t.id)]}.section"))
    for k, t in enumerate(targets, start=1):
        readdress(v.target_rule_problems(k, rule=t.rule, refs=t.refs, k=t.k, threshold=t.threshold, catalog=cat),
                  targets, "targets", lambda t: t.id, "targets")
    readdress(v.target_cycles([(k, t.id, t.refs) for k, t in enumerate(targets, start=1)]), targets, "targets",
              lambda t: t.id, "targets")
    readdress(v.deadline_problems(list(enumerate(targets, start=1)), plan.as_of), targets, "targets",
              lambda t: t.id, "as_of")
    for day in plan.checkpoints:
        if day < plan.as_of:
            found.append(Problem(file, None, touched.get(("assumptions", "checkpoints"), "as_of"), day.isoformat(),
                                 f"checkpoint {day} is before as_of {plan.as_of}", "checkpoints must fall after as_of"))
    for kpi in plan.kpis:
        if ("kpis", kpi.id) in touched and str(kpi.kind) == "counter" and kpi.rate_per_year < 0:
            found.append(Problem(file, None, f"{touched[('kpis', kpi.id)]}.rate_per_year", f"{kpi.rate_per_year:g}",
                                 "a counter's arrival rate must be >= 0", "write a rate of 0 or more"))
        if ("kpis", kpi.id) in touched and str(kpi.kind) == "index" and not kpi.rate_per_year > -1:
            found.append(Problem(file, None, f"{touched[('kpis', kpi.id)]}.rate_per_year", f"{kpi.rate_per_year:g}",
                                 "an index's growth rate must be > -1 (-100% a year)", "write a rate above -1"))
    kpis = list(plan.kpis)
    last = max([plan.as_of, *plan.checkpoints, *(t.deadline for t in targets)])
    readdress(v.kpi_growth_problems(file, list(enumerate(kpis, start=1)), plan.kpi_boosts, plan.as_of, last),
              kpis, "kpis", lambda k: k.id, "kpis")
    boosts_ok = {k.id for k in plan.kpis}, {i.id for i in plan.items}
    for b in plan.kpi_boosts:
        if b.kpi not in boosts_ok[0] or b.item not in boosts_ok[1]:
            found.append(Problem(file, None, "remove", f"{b.kpi}/{b.item}", "a KPI boost refers to a removed id",
                                 "remove the boost too (remove.kpi_boosts)"))
    return found
