"""Checks of the plan's rows and records; each returns a list of Problems.

Per-cell checks (numbers, dates, enums, ids) live in :class:`sim.model.csvio.Cells`;
here are the checks that relate cells, rows and files: references to ids of
other files, duplicates, dependency and target cycles, factor loadings and
correlations, and the rules of targets. All functions are pure: rows and
records in, problems out. Records come *located*, as ``(line, record)`` pairs,
so that a problem can name the line an editor shows.
"""

from __future__ import annotations

import dataclasses

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from sim.model.clock import DAYS_PER_YEAR
from sim.model.entities import Factor, FactorCorrelation, Item, Link, Target
from sim.model.enums import TargetRule
from sim.model.links import directed, kind as link_kind
from sim.model.problems import Problem
from sim.model.select import resolve, selector_problem, unknown_hint

R = TypeVar("R")
Located = tuple[int, R]  # (line in the file, record)

LINKS = "links.csv"
FACTORS = "factors.csv"
CORRELATIONS = "factor_correlations.csv"
TARGETS = "targets.csv"


# Target sections and campaigns are open lists, read from params/plan.yaml (sim.model.planmeta).


@dataclass(frozen=True, slots=True)
class Catalog:
    """The ids each file defines, as read from its rows (even rows with problems).

    A field is None when its file could not be read; references to it are then
    not checked, so that one broken file does not cascade into many problems.
    """

    item_ids: frozenset[str] | None
    groups: frozenset[str] | None
    unit_ids: frozenset[str] | None
    project_types: frozenset[str] | None
    calendars: frozenset[str] | None
    kpi_ids: frozenset[str] | None
    target_ids: frozenset[str] | None
    factor_ids: frozenset[str] | None
    campaigns: frozenset[str] | None = None  # from plan.yaml; None: any id
    sections: frozenset[str] | None = None


def unknown_refs(file: str, line: int, column: str, values: Iterable[str], known: Collection[str] | None,
                 *, what: str, home: str) -> list[Problem]:
    """Problems for values of a reference cell that are not ids of the file they refer to.

    Parameters
    ----------
    file, line, column
        Where the references are.
    values
        The referenced ids (blank ones are skipped).
    known
        The ids that exist, or None when unknown (nothing is checked).
    what, home
        What kind of id it is (``unit``) and where such ids are defined (``units.csv id``).
    """
    if known is None:
        return []
    return [
        Problem(file, line, column, v, f"unknown {what} {v!r} (not a {home})", unknown_hint(v, known, home=home))
        for v in values
        if v and v not in known
    ]


def selector_problems(file: str, line: int, column: str, selectors: Iterable[str],
                      catalog: Catalog) -> list[Problem]:
    """Problems for selectors naming a type, campaign, unit, group or item that does not exist."""
    problems = []
    for s in selectors:
        found = selector_problem(s, item_ids=catalog.item_ids, groups=catalog.groups,
                                 unit_ids=catalog.unit_ids, project_types=catalog.project_types,
                                 campaigns=catalog.campaigns)
        if found:
            problems.append(Problem(file, line, column, s, *found))
    return problems


def duplicate_ids(file: str, column: str, located: Iterable[tuple[int, Hashable]]) -> list[Problem]:
    """One problem per repeated id, naming the line of its first occurrence."""
    first: dict[Hashable, int] = {}
    problems = []
    for line, key in located:
        if key in ("", None):
            continue
        if key in first:
            shown = key if isinstance(key, str) else ",".join(map(str, key)) if isinstance(key, tuple) else str(key)
            problems.append(Problem(file, line, column, shown, f"duplicate {column} {shown!r}: also on line {first[key]}",
                                    "ids must be unique within a file: rename or delete one of the two rows"))
        else:
            first[key] = line
    return problems


def date_order(file: str, line: int, first: tuple[str, dt.date | None],
               second: tuple[str, dt.date | None]) -> list[Problem]:
    """A problem when the date of column ``first`` is after that of ``second``."""
    (col_a, a), (col_b, b) = first, second
    if a is None or b is None or a <= b:
        return []
    return [Problem(file, line, col_a, a.isoformat(), f"{col_a} {a} is after {col_b} {b}",
                    f"{col_a} must be on or before {col_b}: swap or correct the dates")]


# --- dependencies -------------------------------------------------------------------------

NEGATIVE_LAG_HINT = ("use 0 or a positive lag; model an overlap with an SS link and a positive lag from the "
                     "predecessor's start")


def negative_lag(lag_days: float) -> str | None:
    """What is wrong with a link's lag, or None: the one rule (leads are not supported), for every reader.

    The engine cannot start an item before the event it depends on has happened.
    """
    if lag_days < 0:
        return f"lag_days must be >= 0, got {lag_days:g} (leads are not supported)"
    return None


def link_problems(links: Sequence[Located[Link]]) -> list[Problem]:
    """SYNC links of an item with itself, negative lags, lags on SYNC links, and repeated links.

    (An FS/SS/FF link of an item with itself is a cycle: see :func:`dependency_cycles`.)
    """
    problems = []
    for line, link in links:
        if link_kind(link.type).symmetric and link.pred == link.succ:
            problems.append(Problem(LINKS, line, "succ", link.succ, f"SYNC link of {link.pred} with itself",
                                    "pred and succ must be different items"))
        lag = negative_lag(link.lag_days)
        if lag is not None:
            problems.append(Problem(LINKS, line, "lag_days", f"{link.lag_days:g}", lag, NEGATIVE_LAG_HINT))
        if not link_kind(link.type).lag_allowed and link.lag_days != 0:
            problems.append(Problem(LINKS, line, "lag_days", f"{link.lag_days:g}",
                                    "a SYNC link (同步建成) finishes both items together and takes no lag",
                                    "leave lag_days blank or 0, or use an FF link for a lagged finish"))
    pairs = [(line, (ln.pred, ln.succ, ln.type.value)) for line, ln in links]
    return problems + duplicate_ids(LINKS, "pred,succ,type", pairs)


def dependency_cycles(links: Sequence[Located[Link]]) -> list[Problem]:
    """Cycles of FS/SS/FF links, a SYNC group (items that finish together) counting as one node.

    SYNC links alone never form a cycle; any FS/SS/FF link inside a SYNC group,
    or a loop through several groups and items, does. One cycle is printed per
    strongly connected knot, as ``T01 -FS-> T02 -SYNC- T03 -SS-> T01``.
    Only ``pred``, ``succ`` and ``type`` of the links matter, so the caller may
    pass links read from rows that have problems in other cells.
    """
    node = _sync_nodes(links)
    edges = [(node(ln.pred), node(ln.succ), (line, ln)) for line, ln in links if directed(ln.type)]
    syncs = {frozenset((ln.pred, ln.succ)): line for line, ln in links if not directed(ln.type)}
    problems = []
    for cycle in find_cycles(edges):
        lines = sorted({line for line, _ in cycle})
        chain = [ln for _, ln in cycle]
        hops = {syncs[pair] for pair in _sync_hops(chain) if pair in syncs}
        text = _render_link_cycle(chain)
        problems.append(Problem(
            LINKS, lines[0], "pred,succ", text, "dependency cycle",
            "a task cannot wait for itself: delete or reverse one of these links", rows=(*lines, *sorted(hops))))
    return problems


def at_lines(problem: Problem) -> Problem:
    """``problem`` with the file lines of every record it involves named in its message (CSV callers)."""
    if len(problem.rows) < 1:
        return problem
    return dataclasses.replace(problem, message=f"{problem.message} through {problem.file} {_lines(problem.rows)}")


def _lines(lines: Sequence[int]) -> str:
    return ("line " if len(lines) == 1 else "lines ") + ", ".join(map(str, lines))


def _sync_nodes(links: Sequence[Located[Link]]) -> Callable[[str], str]:
    """Map each item to one representative of its SYNC group (union-find)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for _, link in links:
        if not directed(link.type):
            a, b = find(link.pred), find(link.succ)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return find


def _sync_hops(cycle: Sequence[Link]) -> list[frozenset[str]]:
    """The item pairs a cycle crosses inside a SYNC group (one link's successor, the next one's predecessor)."""
    return [frozenset((link.succ, following.pred)) for link, following in zip(cycle, [*cycle[1:], cycle[0]])
            if link.succ != following.pred]


def _render_link_cycle(cycle: Sequence[Link]) -> str:
    parts = [cycle[0].pred]
    for link, following in zip(cycle, [*cycle[1:], cycle[0]]):
        parts.append(f"-{link.type}-> {link.succ}")
        if link.succ != following.pred:
            parts.append(f"-SYNC- {following.pred}")
    return " ".join(parts)


def find_cycles(edges: Sequence[tuple[str, str, R]]) -> list[list[R]]:
    """One shortest cycle per strongly connected part of a directed graph.

    Parameters
    ----------
    edges
        ``(source, target, payload)`` triples, in a stable order.

    Returns
    -------
    list of cycles
        Each cycle as the payloads of its edges, in order; a self-loop is a
        cycle of one edge. Deterministic for a given edge order.
    """
    out: dict[str, list[tuple[str, R]]] = defaultdict(list)
    for src, dst, payload in edges:
        out[src].append((dst, payload))
    seen: set[str] = set()
    cycles = []
    for start in out:
        if start in seen:
            continue
        path = _shortest_cycle(start, out)
        if path is None:
            continue
        cycles.append([payload for _, payload in path])
        seen |= _knot(start, out)
    return cycles


def _shortest_cycle(start: str, out: dict[str, list[tuple[str, R]]]) -> list[tuple[str, R]] | None:
    """Breadth-first search for the shortest path from ``start`` back to itself."""
    back: dict[str, tuple[str, R]] = {}
    frontier = [start]
    while frontier:
        following = []
        for src in frontier:
            for dst, payload in out.get(src, ()):
                if dst == start:
                    path = [(dst, payload)]
                    while src != start:
                        prev, pay = back[src]
                        path.append((src, pay))
                        src = prev
                    return path[::-1]
                if dst not in back:
                    back[dst] = (src, payload)
                    following.append(dst)
        frontier = following
    return None


def _knot(start: str, out: dict[str, list[tuple[str, R]]]) -> set[str]:
    """Nodes both reachable from ``start`` and reaching it (its strongly connected part)."""
    ahead = _reach(start, {s: [d for d, _ in es] for s, es in out.items()})
    inverse: dict[str, list[str]] = defaultdict(list)
    for src, es in out.items():
        for dst, _ in es:
            inverse[dst].append(src)
    return ahead & _reach(start, inverse)


def _reach(start: str, graph: dict[str, list[str]]) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for nxt in graph.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


# --- factors ------------------------------------------------------------------------------

def loading_problems(factors: Sequence[Located[Factor]], items: Sequence[Item]) -> list[Problem]:
    """Items whose factor loadings sum to more than 1, grouped by the factors involved."""
    hits: dict[str, list[Located[Factor]]] = defaultdict(list)
    for line, factor in factors:
        for item_id in resolve(items, factor.members):
            hits[item_id].append((line, factor))
    by_combo: dict[tuple[int, ...], list[str]] = defaultdict(list)
    for item_id, located in hits.items():
        if sum(f.loading for _, f in located) > 1 + 1e-9:
            by_combo[tuple(line for line, _ in located)].append(item_id)
    lookup = dict(factors)
    problems = []
    for lines, item_ids in by_combo.items():
        terms = " + ".join(f"{lookup[n].id} (line {n}: {lookup[n].loading:g})" for n in lines)
        total = sum(lookup[n].loading for n in lines)
        shown = ", ".join(item_ids[:10]) + (f" ... ({len(item_ids)} items)" if len(item_ids) > 10 else "")
        problems.append(Problem(
            FACTORS, lines[0], "loading", "+".join(f"{lookup[n].loading:g}" for n in lines),
            f"item{'s' if len(item_ids) > 1 else ''} {shown} load on {terms} = {total:g} > 1",
            "an item's loadings must sum to <= 1: lower them or narrow the factors' members"))
    return problems


def correlation_problems(correlations: Sequence[Located[FactorCorrelation]],
                         factor_ids: Sequence[str]) -> list[Problem]:
    """Self-pairs, repeated pairs, and a correlation matrix that is not positive semi-definite."""
    problems = []
    for line, c in correlations:
        if c.a == c.b:
            problems.append(Problem(CORRELATIONS, line, "b", c.b, f"correlation of factor {c.a} with itself",
                                    "a and b must be different factors (a factor's own correlation is 1)"))
    pairs = [(line, tuple(sorted((c.a, c.b)))) for line, c in correlations]
    problems += duplicate_ids(CORRELATIONS, "a,b", pairs)
    if problems:
        return problems
    index = {f: i for i, f in enumerate(factor_ids)}
    matrix = np.eye(len(index))
    for _, c in correlations:
        if c.a in index and c.b in index:
            matrix[index[c.a], index[c.b]] = matrix[index[c.b], index[c.a]] = c.rho
    smallest = float(np.linalg.eigvalsh(matrix).min()) if len(index) else 0.0
    if smallest < -1e-9:
        problems.append(Problem(
            CORRELATIONS, None, "rho", None,
            f"the factor correlation matrix is not positive semi-definite (smallest eigenvalue {smallest:.3g})",
            "these correlations cannot all hold at once: weaken the strongest ones (e.g. A~B and B~C high but A~C low)"))
    return problems


# --- targets ------------------------------------------------------------------------------

def target_rule_problems(line: int, *, rule: TargetRule | None, refs: Sequence[str], k: int | None,
                         threshold: float | None, catalog: Catalog) -> list[Problem]:
    """What a target's rule requires of its refs, ``k`` and ``threshold``."""
    if rule is None:
        return []
    if rule in (TargetRule.KPI_GE, TargetRule.KPI_CAGR_GE):
        problems = _single_ref(line, rule, refs, catalog.kpi_ids, what="KPI", home="kpis.csv id", catalog=catalog)
        if threshold is None:
            problems.append(Problem(TARGETS, line, "threshold", "", f"rule {rule} needs a threshold",
                                    "write the value the KPI must reach, e.g. 900"))
        return problems
    if rule is TargetRule.ITEM_BY:
        return _single_ref(line, rule, refs, catalog.item_ids, what="item", home="items.csv id", catalog=catalog)
    if rule is TargetRule.INVEST_GE:
        problems = selector_problems(TARGETS, line, "refs", refs, catalog)
        if threshold is None or threshold <= 0:
            problems.append(Problem(TARGETS, line, "threshold", "" if threshold is None else f"{threshold:g}",
                                    "rule invest_ge needs a threshold > 0 (the completion rate, 1 = 100 %)",
                                    "write e.g. 1 for the year's planned investment completed"))
        return problems
    problems = _composite_refs(line, refs, catalog)
    if rule is TargetRule.K_OF_N:
        if k is None:
            problems.append(Problem(TARGETS, line, "k", "", "rule k_of_n needs k (how many refs must be met)",
                                    f"write a whole number from 1 to {max(len(refs), 1)}"))
        elif k > len(refs):
            problems.append(Problem(TARGETS, line, "k", str(k), f"k = {k} but the target has only {len(refs)} refs",
                                    f"k must be from 1 to {len(refs)}, or add the missing refs"))
    return problems


def _kind_of(ref: str, catalog: Catalog) -> str:
    kinds = [name for name, ids in (("an item", catalog.item_ids), ("a target", catalog.target_ids),
                                    ("a KPI", catalog.kpi_ids)) if ids is not None and ref in ids]
    return " and ".join(kinds) or "not a known id"


def _single_ref(line: int, rule: TargetRule, refs: Sequence[str], known: frozenset[str] | None,
                *, what: str, home: str, catalog: Catalog) -> list[Problem]:
    if len(refs) != 1:
        return [Problem(TARGETS, line, "refs", ";".join(refs), f"rule {rule} takes exactly one ref, got {len(refs)}",
                        f"name one {what} id in refs")]
    ref = refs[0]
    if known is None or ref in known:
        return []
    return [Problem(TARGETS, line, "refs", ref, f"rule {rule} takes one {what} as ref, but {ref!r} is {_kind_of(ref, catalog)}",
                    unknown_hint(ref, known, home=home))]


def _composite_refs(line: int, refs: Sequence[str], catalog: Catalog) -> list[Problem]:
    problems = [Problem(TARGETS, line, "refs", ref, f"ref {ref!r} is listed more than once",
                        "list each ref once") for ref in sorted({r for r in refs if refs.count(r) > 1})]
    if catalog.item_ids is None or catalog.target_ids is None:
        return problems
    for ref in refs:
        is_item, is_target = ref in catalog.item_ids, ref in catalog.target_ids
        if is_item and is_target:
            problems.append(Problem(TARGETS, line, "refs", ref, f"ref {ref!r} is both an item and a target id",
                                    "rename the target so that its id differs from every item id"))
        elif not (is_item or is_target):
            problems.append(Problem(TARGETS, line, "refs", ref, f"ref {ref!r} is neither an item nor a target",
                                    unknown_hint(ref, catalog.item_ids | catalog.target_ids,
                                                 home="items.csv or targets.csv id")))
    return problems


def target_cycles(targets: Sequence[tuple[int, str, Sequence[str]]]) -> list[Problem]:
    """Targets whose refs lead back to themselves, printed as ``H01 -> H02 -> H01``.

    Parameters
    ----------
    targets
        ``(line, target id, refs)`` per row of targets.csv.
    """
    ids = {tid for _, tid, _ in targets}
    edges = [(tid, ref, (line, tid, ref)) for line, tid, refs in targets for ref in refs if ref in ids]
    problems = []
    for cycle in find_cycles(edges):
        text = " -> ".join([cycle[0][1], *(ref for _, _, ref in cycle)])
        lines = sorted({line for line, _, _ in cycle})
        problems.append(Problem(TARGETS, lines[0], "refs", text, "target refs form a cycle",
                                "a target cannot depend on itself: remove one of these refs", rows=tuple(lines)))
    return problems


def deadline_problems(targets: Sequence[Located[Target]], as_of: dt.date) -> list[Problem]:
    """Targets whose deadline is before the as-of date (nothing left to simulate)."""
    return [
        Problem(TARGETS, line, "deadline", t.deadline.isoformat(), f"deadline {t.deadline} is before as_of {as_of}",
                "correct the deadline (or the as_of assumption)")
        for line, t in targets
        if t.deadline < as_of
    ]


def actuals_problems(items: Sequence[Located[Item]], as_of: dt.date) -> list[Problem]:
    """Actual start/finish dates after the as-of date (progress facts must be known on it)."""
    problems = []
    for line, item in items:
        for column, day in (("actual_start", item.actual_start), ("actual_finish", item.actual_finish)):
            if day is not None and day > as_of:
                problems.append(Problem("items.csv", line, column, day.isoformat(),
                                        f"{column} {day} is after as_of {as_of}",
                                        "actuals are facts known on as_of: leave it blank or correct the date"))
    return problems


# the largest change a KPI may be given over its forecast span: a 10^12-fold growth of an index, 10^12
# arrivals of a counter (assumption: no indicator of a plan moves this much; with baselines <= 1e9 every
# value stays far inside the float32 records, whose overflow would otherwise write infinite KPIs)
MAX_KPI_CHANGE = 1e12
KPI_TAIL_SD = 4.0  # the tail of the growth draws the bound covers (4 standard deviations, p ~ 3e-5)


def kpi_growth_problems(file: str, located_kpis: Sequence, boosts: Iterable, as_of: dt.date,
                        last: dt.date) -> list[Problem]:
    """KPIs whose rates would change them more than :data:`MAX_KPI_CHANGE` from ``as_of`` to ``last``.

    ``located_kpis`` holds (line, Kpi) pairs; ``last`` is the last day a KPI is read (the
    last checkpoint or target deadline). A counter's expected arrivals are its rate plus its
    boosts' rates times the span; an index's log growth is its log yearly factor plus its boosts
    times the span, plus :data:`KPI_TAIL_SD` standard deviations of the per-replication rate
    (``rate_cv``) and of the monthly noise (``volatility``). Beyond the bound the engine's
    values overflow to infinity.
    """
    years = max(1.0, (last - as_of).days / DAYS_PER_YEAR)
    added: dict[str, float] = defaultdict(float)
    for b in boosts:
        added[b.kpi] += abs(b.rate_per_year)
    problems = []
    for line, k in located_kpis:
        add = added.get(k.id, 0.0)
        if str(k.kind) == "counter":
            change = (k.rate_per_year + add) * years
            size = f"{change:.3g} expected arrivals"
        elif not k.rate_per_year > -1:  # refused as a rate of its own (an index falls at most 100% a year)
            continue
        else:
            log_growth = years * (abs(math.log1p(k.rate_per_year)) + add)
            log_growth += KPI_TAIL_SD * (k.rate_cv * years + k.volatility * math.sqrt(12 * years))
            change = math.exp(min(log_growth, 700.0))
            size = f"a {change:.3g}-fold change (growth, boosts and {KPI_TAIL_SD:g} s.d. of rate_cv and volatility)"
        if not change <= MAX_KPI_CHANGE:
            problems.append(Problem(
                file, line, "rate_per_year", f"{k.rate_per_year:g}",
                f"KPI {k.id}: over the {years:.1f} years to {last} this gives {size}, more than {MAX_KPI_CHANGE:g}",
                "check rate_per_year, rate_cv, volatility and the boosts: an index's rate is a yearly growth "
                "(0.3 for 30%), a counter's the new units a year"))
    return problems
