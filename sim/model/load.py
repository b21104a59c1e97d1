"""Load params/ into a validated :class:`~sim.model.entities.Plan`, or say everything that is wrong.

``load_plan`` reads every file of the data dictionary (params/README.md), learns
the ids each file defines, builds the frozen records row by row (checking each
cell and each reference), then checks what relates rows: duplicates, cycles,
factor loadings, correlations, targets. It returns a complete Plan or raises
one :class:`~sim.model.problems.PlanError` carrying every problem found.
"""

from __future__ import annotations

import math
import re

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sim.model import branchload, costload, planmeta
from sim.model import validate as v
from sim.model.csvio import NO_DATE, Cells, Table, parse_date, read_table, split_list
from sim.model.distribution import Distribution
from sim.model.entities import (
    Assumption,
    CalendarWindow,
    DurationClass,
    Factor,
    FactorCorrelation,
    Item,
    Kpi,
    KpiBoost,
    Link,
    Plan,
    Risk,
    Shock,
    Target,
    Unit,
)
from sim.model.enums import (
    DistFamily,
    KpiKind,
    KpiMeasure,
    LinkType,
    RiskMode,
    RiskPhase,
    Status,
    TargetRule,
)
from sim.model.problems import PlanError, Problem

#: The data dictionary: file -> (columns, required). Optional files may be absent.
SCHEMA: dict[str, tuple[tuple[str, ...], bool]] = {
    "assumptions.csv": (("key", "value", "unit", "source"), True),
    "units.csv": (("id", "name_zh", "name_en", "capacity", "source"), True),
    "items.csv": (("id", "group", "campaign", "seq", "name_zh", "name_en", "units", "project_type", "status",
                   "plan_start", "plan_finish", "start_aspirational", "finish_aspirational", "plan_text_zh",
                   "length_km", "investment_cny_100m", "duration_days", "dist", "p1", "p2", "p3", "calendar",
                   "outdoor", "resource_unit", "source"), True),
    "links.csv": (("pred", "succ", "type", "lag_days", "note", "source"), True),
    "duration_classes.csv": (("project_type", "name_en", "dist", "p1", "p2", "p3", "floor",
                              "in_progress_sigma_scaling", "source"), True),
    "factors.csv": (("id", "name_en", "loading", "members", "source"), True),
    "factor_correlations.csv": (("a", "b", "rho", "source"), False),
    "risks.csv": (("id", "name_zh", "name_en", "probability", "dist", "p1", "p2", "p3", "targets", "mode",
                   "phase", "source"), False),
    "shocks.csv": (("id", "name_zh", "name_en", "probability", "window_start", "window_end", "dist", "p1", "p2",
                    "p3", "affects", "source"), False),
    "calendar.csv": (("calendar", "start", "end", "name_en", "source"), True),
    "kpis.csv": (("id", "name_zh", "name_en", "kind", "unit_en", "baseline", "rate_per_year", "rate_cv",
                  "measure", "attrition_years", "renewal_prob", "volatility", "units", "group", "source"), True),
    "kpi_boosts.csv": (("kpi", "item", "step", "rate_per_year", "source"), False),
    "targets.csv": (("id", "name_zh", "name_en", "section", "rule", "refs", "k", "threshold", "deadline",
                     "text_zh", "source"), True),
    **costload.SCHEMA,
    **branchload.SCHEMA,
}

#: The column holding each file's id (unique within the file).
ID_COLUMN = {
    "units.csv": "id", "items.csv": "id", "duration_classes.csv": "project_type", "factors.csv": "id",
    "risks.csv": "id", "shocks.csv": "id", "kpis.csv": "id", "targets.csv": "id", "assumptions.csv": "key",
}

DEFAULT_CALENDAR = "construction"
MAX_HORIZON_YEARS = 60

#: Values of the optional ``evidence`` column of kpis.csv (docs/calibration.md §9).
KPI_EVIDENCE = ("", "direct", "related", "none")

Tables = Mapping[str, Table | None]
Builder = Callable[[Cells, v.Catalog], Any]


def load_plan(params_dir: Path) -> Plan:
    """Read and validate a params directory.

    Parameters
    ----------
    params_dir
        Directory holding the CSV files of params/README.md.

    Returns
    -------
    Plan
        The complete plan, records in file order.

    Raises
    ------
    PlanError
        Carrying every problem found (file, line, column, value, what to do);
        nothing is returned when there is any.
    """
    params_dir = Path(params_dir)
    tables, problems = _read_all(params_dir)
    meta, found = planmeta.read_meta(params_dir)
    problems += found
    catalog = catalog_of(tables, meta)
    records: dict[str, list] = {}
    for file, builder in _BUILDERS.items():
        records[file], found = _build(tables.get(file), builder, catalog)
        problems += found
    problems += _id_problems(tables)
    problems += _meta_dates(records, meta)
    problems += _plan_problems(records, tables, catalog)
    if problems:
        order = {name: i for i, name in enumerate(SCHEMA)}
        raise PlanError(sorted(problems, key=lambda p: (order.get(p.file, -1), p.row or 0)),
                        what=str(params_dir))
    return _assemble(records, tables, origin=str(params_dir), meta=meta)


def _read_all(params_dir: Path) -> tuple[dict[str, Table | None], list[Problem]]:
    if not params_dir.is_dir():
        raise PlanError([Problem(str(params_dir), None, None, None, "the params directory does not exist",
                                 "pass --params with the directory holding items.csv, links.csv, ...")],
                        what=str(params_dir))
    tables, problems = {}, []
    for file, (columns, required) in SCHEMA.items():
        tables[file], found = read_table(params_dir / file, columns=columns, required=required)
        problems += found
    return tables, problems


def _ids(tables: Tables, file: str, column: str) -> frozenset[str] | None:
    table = tables.get(file)
    if table is None or not table.has(column):
        return None
    return frozenset(r.get(column) for r in table.rows if r.get(column))


def catalog_of(tables: Tables, meta: planmeta.PlanMeta | None = None) -> v.Catalog:
    """The ids each table defines, read from the raw rows (campaigns and sections from plan.yaml)."""
    return v.Catalog(
        campaigns=frozenset(c.id for c in meta.campaigns) if meta is not None and meta.campaigns
        else _ids(tables, "items.csv", "campaign"),
        sections=frozenset(s.id for s in meta.sections) if meta is not None and meta.sections else None,
        item_ids=_ids(tables, "items.csv", "id"),
        groups=_ids(tables, "items.csv", "group"),
        unit_ids=_ids(tables, "units.csv", "id"),
        project_types=_ids(tables, "duration_classes.csv", "project_type"),
        calendars=_ids(tables, "calendar.csv", "calendar"),
        kpi_ids=_ids(tables, "kpis.csv", "id"),
        target_ids=_ids(tables, "targets.csv", "id"),
        factor_ids=_ids(tables, "factors.csv", "id"),
    )


def _build(table: Table | None, builder: Builder, catalog: v.Catalog) -> tuple[list, list[Problem]]:
    """Build one record per row; a row with any problem yields no record."""
    if table is None:
        return [], []
    located, problems = [], []
    for row in table.rows:
        cells = Cells(table, row)
        record = builder(cells, catalog)
        problems += cells.problems
        if cells.ok and record is not None:
            located.append((row.line, record))
    return located, problems


def _id_problems(tables: Tables) -> list[Problem]:
    problems = []
    for file, column in ID_COLUMN.items():
        table = tables.get(file)
        if table is not None and table.has(column):
            problems += v.duplicate_ids(file, column, [(r.line, r.get(column)) for r in table.rows])
    boosts = tables.get("kpi_boosts.csv")
    if boosts is not None and boosts.has("kpi") and boosts.has("item"):  # one boost per (KPI, item): never counted twice
        problems += v.duplicate_ids("kpi_boosts.csv", "kpi,item",
                                    [(r.line, (r.get("kpi"), r.get("item"))) for r in boosts.rows])
    return problems


# --- one builder per file: the Cells of a row -> a record, kept only when the cells are ok ---

def _assumption(c: Cells, cat: v.Catalog) -> Assumption:
    key = c.ident("key")
    if key == "as_of":
        c.date("value", required=True)
    elif key == "checkpoints":
        for day in split_list(c.raw("value")):
            if isinstance(parse_date(day), str):
                c.flag("value", day, f"checkpoint {parse_date(day)}", "write dates YYYY-MM-DD separated by ';'")
    elif key == "aspirational_uplift":
        c.number("value", required=True, above=0)
    elif key == "horizon_years":  # the working-day grid: long enough for late items, never unbounded
        c.number("value", required=True, low=1, high=MAX_HORIZON_YEARS)
    elif key == "preconstruction_type":
        c.extend(v.unknown_refs(c.file, c.line, "value", [c.text("value", required=True)], cat.project_types,
                                what="project type", home="duration_classes.csv project_type"))
    return Assumption(key, c.raw("value"), c.raw("unit"), c.raw("source"))


def _unit(c: Cells, cat: v.Catalog) -> Unit:
    return Unit(c.ident("id"), c.text("name_zh", required=True), c.text("name_en", required=True),
                c.positive_int("capacity"), c.raw("source"))


def _item(c: Cells, cat: v.Catalog) -> Item:
    units, leads = _unit_cell(c.entries("units"))
    c.extend(v.unknown_refs(c.file, c.line, "units", units, cat.unit_ids, what="unit", home="units.csv id"))
    c.extend(v.unknown_refs(c.file, c.line, "project_type", [c.ident("project_type")], cat.project_types,
                            what="project type", home="duration_classes.csv project_type"))
    calendar = c.ident("calendar", required=False) or DEFAULT_CALENDAR
    c.extend(v.unknown_refs(c.file, c.line, "calendar", [calendar], cat.calendars,
                            what="calendar", home="calendar.csv calendar"))
    resource_unit = c.ident("resource_unit", required=False) or None
    c.extend(v.unknown_refs(c.file, c.line, "resource_unit", [resource_unit or ""], cat.unit_ids,
                            what="unit", home="units.csv id"))
    start, finish = c.date("plan_start"), c.date("plan_finish", required=True)
    c.extend(v.date_order(c.file, c.line, ("plan_start", start), ("plan_finish", finish)))
    plan_finish = c.needed(finish, NO_DATE)
    c.number("seq", low=0)
    # progress facts: optional columns (not yet in params/README.md), read when present
    actual_start, actual_finish = c.date("actual_start"), c.date("actual_finish")
    c.extend(v.date_order(c.file, c.line, ("actual_start", actual_start), ("actual_finish", actual_finish)))
    return Item(
        id=c.ident("id"), group=c.ident("group"), campaign=_open_choice(c, "campaign", cat.campaigns),
        name_zh=c.text("name_zh", required=True), name_en=c.text("name_en", required=True),
        units=units, lead_units=leads, project_type=c.raw("project_type"), status=c.choice("status", Status),
        plan_finish=plan_finish, plan_start=start,
        start_aspirational=c.boolean("start_aspirational", default=False),
        finish_aspirational=c.boolean("finish_aspirational", default=False),
        plan_text_zh=c.raw("plan_text_zh"),
        length_km=c.number("length_km", low=0), investment_cny_100m=c.number("investment_cny_100m", low=0),
        duration_days=c.number("duration_days", low=0), multiplier=c.distribution(required=False, nonnegative="the duration multiplier"),
        calendar=calendar, outdoor=c.boolean("outdoor", default=True), resource_unit=resource_unit,
        source=c.raw("source"), actual_start=actual_start, actual_finish=actual_finish,
        percent_complete=c.number("percent_complete", low=0, high=1),
    )


def _unit_cell(entries: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Unit ids and lead unit ids of an ``units`` cell (``*`` marks the lead).

    When nothing is marked and there is a single unit, that unit leads.
    """
    units = tuple(e.lstrip("*").strip() for e in entries)
    leads = tuple(e.lstrip("*").strip() for e in entries if e.startswith("*"))
    return units, leads or (units if len(units) == 1 else ())


def _link(c: Cells, cat: v.Catalog) -> Link:
    pred, succ = c.ident("pred"), c.ident("succ")
    for column, value in (("pred", pred), ("succ", succ)):
        c.extend(v.unknown_refs(c.file, c.line, column, [value], cat.item_ids, what="item", home="items.csv id"))
    lag = c.number("lag_days", default=0.0)
    wrong = None if lag is None else v.negative_lag(lag)  # the engine cannot act before an event happens
    if wrong is not None:
        c.flag("lag_days", c.raw("lag_days"), wrong, v.NEGATIVE_LAG_HINT)
    return Link(pred, succ, c.choice("type", LinkType), c.needed(lag, math.nan), c.raw("note"), c.raw("source"))


def _duration_class(c: Cells, cat: v.Catalog) -> DurationClass:
    mult = c.needed_distribution(nonnegative="the duration multiplier")
    # optional columns: the published reference class when the multiplier is narrowed (docs/calibration.md §2.4)
    med, p90 = c.number("ref_median", above=0), c.number("ref_p90", above=0)
    reference = None
    if (med is None) != (p90 is None):
        c.flag("ref_median,ref_p90", f"{med},{p90}", "give both ref_median and ref_p90, or neither",
               "the reference class is a lognormal stated by its median and P90 (params/README.md)")
    elif med is not None and p90 is not None:
        reference = Distribution(DistFamily.LOGNORMAL, (med, p90))
        for message in reference.problems():
            c.flag("ref_median,ref_p90", f"{med},{p90}", message, "the reference class needs P90 > median")
    return DurationClass(c.ident("project_type"), c.text("name_en", required=True), mult,
                         c.boolean("in_progress_sigma_scaling", default=True), c.raw("source"), reference,
                         name_zh=c.raw("name_zh") or "")


def _factor(c: Cells, cat: v.Catalog) -> Factor:
    members = c.entries("members", required=True)
    c.extend(v.selector_problems(c.file, c.line, "members", members, cat))
    return Factor(c.ident("id"), c.needed_number("loading", required=True, low=0, high=1), members,
                  c.raw("name_en"), c.raw("source"), name_zh=c.raw("name_zh") or "")


def _correlation(c: Cells, cat: v.Catalog) -> FactorCorrelation:
    a, b = c.ident("a"), c.ident("b")
    for column, value in (("a", a), ("b", b)):
        c.extend(v.unknown_refs(c.file, c.line, column, [value], cat.factor_ids,
                                what="factor", home="factors.csv id"))
    return FactorCorrelation(a, b, c.needed_number("rho", required=True, low=-1, high=1), c.raw("source"))


def _risk(c: Cells, cat: v.Catalog) -> Risk:
    targets = c.entries("targets", required=True)
    c.extend(v.selector_problems(c.file, c.line, "targets", targets, cat))
    return Risk(
        id=c.ident("id"), name_zh=c.text("name_zh", required=True), name_en=c.text("name_en", required=True),
        probability=c.needed_number("probability", required=True, low=0, high=1),
        impact=c.needed_distribution(), targets=targets,
        mode=c.choice("mode", RiskMode, default=RiskMode.EACH),
        phase=c.choice("phase", RiskPhase, default=RiskPhase.DURATION), source=c.raw("source"),
        cost_impact=c.distribution(required=False, prefix="cost_"),
    )


def _shock(c: Cells, cat: v.Catalog) -> Shock:
    affects = c.entries("affects", required=True)
    c.extend(v.selector_problems(c.file, c.line, "affects", affects, cat))
    start, end = c.date("window_start", required=True), c.date("window_end", required=True)
    c.extend(v.date_order(c.file, c.line, ("window_start", start), ("window_end", end)))
    return Shock(
        id=c.ident("id"), name_zh=c.text("name_zh", required=True), name_en=c.text("name_en", required=True),
        probability=c.needed_number("probability", required=True, low=0, high=1),
        window_start=c.needed(start, NO_DATE), window_end=c.needed(end, NO_DATE),
        length=c.needed_distribution(nonnegative="the shock length"), affects=affects, source=c.raw("source"),
    )


def _calendar_window(c: Cells, cat: v.Catalog) -> CalendarWindow:
    start, end = c.date("start", required=True), c.date("end", required=True)
    c.extend(v.date_order(c.file, c.line, ("start", start), ("end", end)))
    return CalendarWindow(c.ident("calendar"), c.needed(start, NO_DATE), c.needed(end, NO_DATE), c.raw("name_en"), c.raw("source"))


def _kpi(c: Cells, cat: v.Catalog) -> Kpi:
    kind = c.choice("kind", KpiKind)
    measure = c.choice("measure", KpiMeasure, default=KpiMeasure.STOCK)
    cumulative = measure is KpiMeasure.CUMULATIVE
    marked = c.entries("units")
    units = tuple(u.lstrip("*") for u in marked)
    leads = tuple(u.lstrip("*") for u in marked if u.startswith("*"))
    c.extend(v.unknown_refs(c.file, c.line, "units", units, cat.unit_ids, what="unit", home="units.csv id"))
    # optional column (docs/calibration.md §9): what the KPI's prior rests on
    evidence = c.raw("evidence")
    if evidence not in KPI_EVIDENCE:
        c.flag("evidence", evidence, f"evidence must be one of {', '.join(e for e in KPI_EVIDENCE if e)} or blank",
               "direct: a figure of the same quantity; related: a related figure times a share; none: no evidence")
    return Kpi(
        id=c.ident("id"), name_zh=c.text("name_zh", required=True), name_en=c.text("name_en", required=True),
        kind=kind, unit_en=c.text("unit_en", required=True),
        baseline=c.needed_number("baseline", required=not cumulative, default=0.0, low=0),
        # an index's rate is a growth (1 + rate is its yearly factor): at most -100% a year
        rate_per_year=c.needed_number("rate_per_year", required=True, **({"low": 0} if kind is KpiKind.COUNTER else {"above": -1})),
        rate_cv=c.needed_number("rate_cv", default=0.0, low=0), measure=measure,
        attrition_years=c.number("attrition_years", above=0),
        renewal_prob=c.needed_number("renewal_prob", default=1.0, low=0, high=1),
        volatility=c.needed_number("volatility", default=0.0, low=0), units=units, group=c.raw("group"),
        source=c.raw("source"), evidence=evidence, lead_units=leads,
    )


def _kpi_boost(c: Cells, cat: v.Catalog) -> KpiBoost:
    kpi, item = c.ident("kpi"), c.ident("item")
    c.extend(v.unknown_refs(c.file, c.line, "kpi", [kpi], cat.kpi_ids, what="KPI", home="kpis.csv id"))
    c.extend(v.unknown_refs(c.file, c.line, "item", [item], cat.item_ids, what="item", home="items.csv id"))
    return KpiBoost(kpi, item, c.needed_number("step", default=0.0), c.needed_number("rate_per_year", default=0.0),
                    c.raw("source"))


def _target(c: Cells, cat: v.Catalog) -> Target:
    rule, refs = c.choice("rule", TargetRule), c.entries("refs", required=True)
    k, threshold = c.positive_int("k"), c.number("threshold")
    c.extend(v.target_rule_problems(c.line, rule=rule, refs=refs, k=k, threshold=threshold, catalog=cat))
    section = _open_choice(c, "section", cat.sections)
    return Target(
        id=c.ident("id"), name_zh=c.text("name_zh", required=True), name_en=c.text("name_en", required=True),
        section=section, rule=rule, refs=refs,
        deadline=c.needed_date("deadline"), k=k, threshold=threshold, text_zh=c.raw("text_zh"),
        source=c.raw("source"),
        # optional column: the target is written 力争/争取 (params/README.md)
        aspirational=bool(c.boolean("aspirational", default=False)),
    )


def _open_choice(c: Cells, column: str, known: frozenset[str] | None) -> str:
    """An id from an open list of plan.yaml (``campaigns``, ``sections``); any id when plan.yaml has none."""
    value = c.ident(column)
    c.extend(v.unknown_refs(c.file, c.line, column, [value], known, what=column,
                            home=f"{planmeta.PLAN_FILE} {column}s id"))
    return value


_BUILDERS: dict[str, Builder] = {
    "assumptions.csv": _assumption,
    "units.csv": _unit,
    "items.csv": _item,
    "links.csv": _link,
    "duration_classes.csv": _duration_class,
    "factors.csv": _factor,
    "factor_correlations.csv": _correlation,
    "risks.csv": _risk,
    "shocks.csv": _shock,
    "calendar.csv": _calendar_window,
    "kpis.csv": _kpi,
    "kpi_boosts.csv": _kpi_boost,
    "targets.csv": _target,
    **costload.BUILDERS,
    **branchload.BUILDERS,
}


# --- checks across rows and files ----------------------------------------------------------

def _plan_problems(records: Mapping[str, list], tables: Tables, catalog: v.Catalog) -> list[Problem]:
    problems = _assumption_problems(records["assumptions.csv"], tables.get("assumptions.csv"))
    if catalog.calendars is not None and DEFAULT_CALENDAR not in catalog.calendars:
        problems.append(Problem("calendar.csv", None, "calendar", None,
                                f"there is no {DEFAULT_CALENDAR!r} calendar",
                                "add its rows (the Spring Festival stoppages); `sim calendar` generates them"))
    problems += v.link_problems(records["links.csv"])
    problems += [v.at_lines(p) for p in v.dependency_cycles(_link_edges(tables.get("links.csv")))]
    items = [item for _, item in records["items.csv"]]
    problems += v.loading_problems(records["factors.csv"], items)
    factor_ids = [f.id for _, f in records["factors.csv"]]
    problems += v.correlation_problems(records["factor_correlations.csv"], factor_ids)
    targets = records["targets.csv"]
    problems += [v.at_lines(p) for p in v.target_cycles(_target_refs(tables.get("targets.csv")))]
    as_of = _as_of(records["assumptions.csv"])
    if as_of is not None:
        problems += v.deadline_problems(targets, as_of) + v.actuals_problems(records["items.csv"], as_of)
    problems += costload.cost_problems(records["items.csv"], records[costload.COST_CLASSES],
                                       records[costload.INVESTMENT_PLAN], tables)
    problems += branchload.branch_problems(records[branchload.BRANCHES], records["items.csv"], records["links.csv"],
                                           tables, as_of)
    if as_of is not None:
        problems += _kpi_growth_problems(records, as_of)
    return problems


def _kpi_growth_problems(records: Mapping[str, list], as_of: dt.date) -> list[Problem]:
    """KPIs whose rates would change them more than v.MAX_KPI_CHANGE by the last day a KPI is read."""
    last = max([as_of, *_checkpoints(records["assumptions.csv"]), *(t.deadline for _, t in records["targets.csv"])])
    return v.kpi_growth_problems("kpis.csv", records["kpis.csv"], [b for _, b in records["kpi_boosts.csv"]],
                                 as_of, last)


def _meta_dates(records: Mapping[str, list], meta: planmeta.PlanMeta | None) -> list[Problem]:
    """Take as_of and checkpoints from plan.yaml where assumptions.csv has none; both must agree."""
    if meta is None:
        return []
    assumptions = records["assumptions.csv"]
    given = {a.key: a.value for _, a in assumptions}
    problems = []
    for key, value in (("as_of", meta.as_of.isoformat() if meta.as_of else None),
                       ("checkpoints", ";".join(d.isoformat() for d in meta.checkpoints) or None)):
        if value is None:
            continue
        if key not in given:
            assumptions.append((0, Assumption(key, value, "date" if key == "as_of" else "dates", "plan.yaml")))
        elif (key == "as_of" and given[key] != value) or (
                key == "checkpoints" and sorted(split_list(given[key])) != sorted(split_list(value))):
            problems.append(Problem(planmeta.PLAN_FILE, None, key, value,
                                    f"plan.yaml {key} {value} differs from assumptions.csv {key} {given[key]}",
                                    f"give {key} in one of the two files, or the same in both"))
    return problems


def _link_edges(table: Table | None) -> list[tuple[int, Link]]:
    """Links as far as the cycle check needs them, also from rows with problems elsewhere."""
    edges = []
    for row in table.rows if table is not None else ():
        pred, succ, kind = row.get("pred"), row.get("succ"), row.get("type")
        if pred and succ and kind in {t.value for t in LinkType}:
            edges.append((row.line, Link(pred, succ, LinkType(kind))))
    return edges


def _target_refs(table: Table | None) -> list[tuple[int, str, tuple[str, ...]]]:
    """``(line, id, refs)`` of every target row, also rows with problems elsewhere."""
    rows = table.rows if table is not None else ()
    return [(r.line, r.get("id"), split_list(r.get("refs"))) for r in rows if r.get("id")]


def _assumption_problems(assumptions: list[tuple[int, Assumption]], table: Table | None) -> list[Problem]:
    as_of = _as_of(assumptions)
    if as_of is not None:
        line = next(n for n, a in assumptions if a.key == "as_of")
        return [Problem("assumptions.csv", line, "value", day.isoformat(), f"checkpoint {day} is before as_of {as_of}",
                        "checkpoints must fall after as_of") for day in _checkpoints(assumptions) if day < as_of]
    if table is None or any(r.get("key") == "as_of" for r in table.rows):
        return []  # unreadable file or unreadable as_of row: already reported
    return [Problem("assumptions.csv", None, "key", "as_of", "the assumption as_of (day 0 of the forecast) is missing",
                    "add a row: as_of,2020-01-16,date,plan date")]


def _as_of(assumptions: list[tuple[int, Assumption]]) -> dt.date | None:
    for _, a in assumptions:
        if a.key == "as_of":
            return dt.date.fromisoformat(a.value)
    return None


def _checkpoints(assumptions: list[tuple[int, Assumption]]) -> tuple[dt.date, ...]:
    for _, a in assumptions:
        if a.key == "checkpoints":
            return tuple(sorted(dt.date.fromisoformat(d) for d in split_list(a.value)))
    return ()


def _assemble(records: Mapping[str, list], tables: Tables, *, origin: str,
              meta: planmeta.PlanMeta | None = None) -> Plan:
    def rows(file: str) -> tuple:
        return tuple(record for _, record in records[file])

    assumptions = records["assumptions.csv"]
    as_of = _as_of(assumptions)
    if as_of is None:  # _assumption_problems reports a missing as_of, so load_plan raised before assembling
        raise PlanError([Problem("assumptions.csv", None, "key", "as_of",
                                 "the assumption as_of (day 0 of the forecast) is missing",
                                 "add a row: as_of,2020-01-16,date,plan date")], what=origin)
    return Plan(
        as_of=as_of, items=rows("items.csv"), links=rows("links.csv"), units=rows("units.csv"),
        duration_classes=rows("duration_classes.csv"), factors=rows("factors.csv"),
        factor_correlations=rows("factor_correlations.csv"), risks=rows("risks.csv"), shocks=rows("shocks.csv"),
        calendar_windows=rows("calendar.csv"), kpis=rows("kpis.csv"), kpi_boosts=rows("kpi_boosts.csv"),
        targets=rows("targets.csv"), assumptions=rows("assumptions.csv"), origin=origin,
        cost_classes=rows(costload.COST_CLASSES), planned_spend=rows(costload.INVESTMENT_PLAN),
        responses=rows(costload.RESPONSES), branches=rows(branchload.BRANCHES),
        checkpoints=_checkpoints(assumptions),
        meta=planmeta.complete(meta, campaigns=[r.campaign for _, r in records["items.csv"]],
                               sections=[t.section for _, t in records["targets.csv"]],
                               deadlines=[t.deadline for _, t in records["targets.csv"]]
                               or [r.plan_finish for _, r in records["items.csv"]],
                               name=Path(origin).name or origin),
        file_encodings=tuple((t.file, t.encoding) for t in tables.values() if t is not None and t.encoding),
    )


# --- summary -------------------------------------------------------------------------------

def plan_summary(plan: Plan) -> str:
    """A readable multi-line summary of a loaded plan (English, unit names also in Chinese).

    Parameters
    ----------
    plan
        A plan returned by :func:`load_plan`.

    Returns
    -------
    str
        As-of date and checkpoints; annex entries and items per campaign and the
        external milestones; items per lead unit; links by type; KPIs by kind;
        targets by section and rule; risks, shocks, factors, duration classes,
        calendar windows; files not read as plain UTF-8.
    """
    checkpoints = ", ".join(d.isoformat() for d in plan.checkpoints) or "none"
    lines = [f"Plan {plan.origin}: as of {plan.as_of}, KPI checkpoints {checkpoints}"]
    lines += _campaign_lines(plan)
    lines += _unit_lines(plan)
    lines.append(f"Links: {len(plan.links)} ({_tally([ln.type for ln in plan.links], LinkType)})")
    lines.append(f"KPIs: {len(plan.kpis)} ({_tally([k.kind for k in plan.kpis], KpiKind)}); "
                 f"{len(plan.kpi_boosts)} boosts from item completions")
    lines += [f"Targets: {len(plan.targets)}",
              f"  by section: {_tally([t.section for t in plan.targets], planmeta.section_order(plan))}",
              f"  by rule: {_tally([t.rule for t in plan.targets], TargetRule)}"]
    lines += _uncertainty_lines(plan)
    unusual = [f"{file} ({encoding})" for file, encoding in plan.file_encodings if encoding != "UTF-8"]
    if unusual:
        lines.append(f"Encodings: read {', '.join(unusual)}; the other files as UTF-8")
    return "\n".join(lines)


def _tally(values: list, order) -> str:
    counts = Counter(values)
    parts = [f"{option} {counts[option]}" for option in order if counts[option]]
    return ", ".join(parts) or "none"


def _kpi_campaign(group: str, item_campaigns: dict[str, str]) -> str | None:
    """Campaign of a KPI's annex entry: that of the entry's items, else that of every entry with the
    same letter prefix (K05 -> the campaign of K01, K02 ...), else None."""
    if group in item_campaigns:
        return item_campaigns[group]
    m = re.fullmatch(r"([A-Za-z]+)\d+", group)
    if not m:
        return None
    found = {c for g, c in item_campaigns.items() if re.fullmatch(re.escape(m.group(1)) + r"\d+", g)}
    return found.pop() if len(found) == 1 else None


def _campaign_lines(plan: Plan) -> list[str]:
    """Annex entries per campaign, counting entries modelled as items or as KPIs."""
    item_campaigns = {i.group: i.campaign for i in plan.items}
    groups = {item.group for item in plan.items}
    lines = [f"Items: {len(plan.items)} in {len(groups)} annex entries"]
    external = planmeta.external_campaigns(plan)
    for label in planmeta.campaigns(plan):
        campaign = label.id
        items = [i for i in plan.items if i.campaign == campaign]
        if campaign in external:
            lines.append(f"  {campaign} milestones: {len(items)}")
            lines += [f"    {i.id} by {i.plan_finish}: {i.name_en}" for i in items]
            continue
        kpis = [k for k in plan.kpis if _kpi_campaign(k.group, item_campaigns) == campaign]
        entries = {i.group for i in items} | {k.group for k in kpis}
        detail = f"{len(items)} items incl. phases" if len(items) != len({i.group for i in items}) \
            else f"{len(items)} items"
        if kpis:
            only_kpi = len(entries - {i.group for i in items})
            detail += f", {len(kpis)} KPIs" + (f"; {only_kpi} entries as KPIs only" if only_kpi else "")
        lines.append(f"  {campaign}: {len(entries)} entries ({detail})")
    orphans = [k for k in plan.kpis if _kpi_campaign(k.group, item_campaigns) is None]
    if orphans:
        lines.append(f"  KPIs of entries without items: {len(orphans)}")
    return lines


def _unit_lines(plan: Plan) -> list[str]:
    leads = Counter(unit for item in plan.items for unit in item.lead_units)
    unled = sum(1 for item in plan.items if not item.lead_units)
    limited = sum(1 for u in plan.units if u.capacity is not None)
    lines = [f"Units: {len(plan.units)} ({limited} with limited capacity); items per lead unit:"]
    width = max((len(u.id) for u in plan.units), default=0)
    for unit in sorted(plan.units, key=lambda u: (-leads[u.id], u.id)):
        if leads[unit.id]:
            cap = f", capacity {unit.capacity}" if unit.capacity is not None else ""
            lines.append(f"  {unit.id:<{width}} {leads[unit.id]:>4}  {unit.name_zh} ({unit.name_en}{cap})")
    if unled:
        lines.append(f"  {'(none)':<{width}} {unled:>4}  items without a lead unit")
    return lines


def _uncertainty_lines(plan: Plan) -> list[str]:
    calendars = Counter(w.calendar for w in plan.calendar_windows)
    return [
        f"Risks: {len(plan.risks)} ({_tally([r.mode for r in plan.risks], RiskMode)}; "
        f"{_tally([r.phase for r in plan.risks], RiskPhase)})",
        f"Shocks: {len(plan.shocks)}" + (f" ({', '.join(s.id for s in plan.shocks)})" if plan.shocks else ""),
        f"Factors: {len(plan.factors)}, with {len(plan.factor_correlations)} correlations between them",
        f"Duration classes: {len(plan.duration_classes)}",
        "Calendar windows: " + (", ".join(f"{name} {n}" for name, n in calendars.items()) or "none"),
        *costload.cost_summary(plan),
        *branchload.branch_summary(plan),
    ]
