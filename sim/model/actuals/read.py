"""Reading actuals: the fact records, the CSV (or progress workbook) reader and its checks.

:func:`read_actuals` checks every row against a plan and returns :class:`Actuals`
or raises one :class:`~sim.model.problems.PlanError` naming file, line and column
of every problem.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path


from sim.model.csvio import Cells, decode, parse_csv
from sim.model.entities import Plan
from sim.model.problems import PlanError, Problem
from sim.model.select import unknown_hint

COLUMNS = ("kind", "id", "date", "reported", "value", "source", "note")
REQUIRED_COLUMNS = ("kind", "id", "date", "source")
_README = "see actuals/README.md"


class FactKind(StrEnum):
    """What a fact says about its ``id``."""

    START = "start"  # the item started on ``date``
    FINISH = "finish"  # the item finished on ``date``
    PROGRESS = "progress"  # share of the item's work done on ``date`` (``value`` in [0, 1])
    KPI = "kpi"  # the KPI's value on ``date`` (``value``)
    UNFINISHED = "unfinished"  # the item was not finished on ``date`` (``value``: share done, optional, < 1)
    KPI_AT_LEAST = "kpi_at_least"  # the KPI was at least ``value`` on ``date``
    SHOCK = "shock"  # the shock began on ``date`` and lasted ``value`` days; value 0: it had not happened by ``date``


ITEM_KINDS = frozenset({FactKind.START, FactKind.FINISH, FactKind.PROGRESS, FactKind.UNFINISHED})
KPI_KINDS = frozenset({FactKind.KPI, FactKind.KPI_AT_LEAST})


@dataclass(frozen=True, slots=True)
class Fact:
    """One observed fact. ``line`` is its line in the file (header = 1), for messages."""

    kind: FactKind
    id: str
    date: dt.date  # dt.: the field's name hides the type inside the class body
    reported: dt.date
    value: float | None = None
    source: str = ""
    note: str = ""
    line: int | None = None

    def known_by(self, as_of: dt.date) -> bool:
        """Whether the fact had been reported on or before ``as_of``."""
        return self.reported <= as_of


@dataclass(frozen=True)
class Actuals:
    """The facts of one actuals file, with the file's name and SHA-256 (for manifests)."""

    facts: tuple[Fact, ...]
    file: str = ""
    sha256: str = ""

    def known_by(self, as_of: date) -> tuple[Fact, ...]:
        """The facts reported on or before ``as_of``."""
        return tuple(f for f in self.facts if f.known_by(as_of))

    @property
    def latest(self) -> date | None:
        """The latest ``reported`` date: the date the file describes the world as of."""
        return max((f.reported for f in self.facts), default=None)

    def manifest(self, as_of: date | None = None) -> dict:
        """What a run manifest records about the actuals used."""
        used = self.facts if as_of is None else self.known_by(as_of)
        return {"file": self.file, "sha256": self.sha256, "facts": len(self.facts), "facts_used": len(used)}


# --- reading ------------------------------------------------------------------------------------

def read_actuals(path: Path, plan: Plan) -> Actuals:
    """Read and check an actuals CSV against ``plan`` (a progress workbook:
    :func:`sim.interop.progress.read_actuals_file`).

    Parameters
    ----------
    path
        The CSV file (UTF-8, or GBK as saved by Excel).
    plan
        The plan whose item and KPI ids the facts must name.

    Returns
    -------
    Actuals
        Every fact, in file order, with the file's SHA-256.

    Raises
    ------
    PlanError
        Carrying every problem found (file, line, column, value, what to do).
    """
    path = Path(path)
    file = str(path)
    from sim.model.inputfile import InputFileError, read_input_bytes

    try:
        data = read_input_bytes(path)
    except InputFileError as exc:
        raise PlanError([Problem(file, None, None, None, f"the actuals file {exc}",
                                 "pass --actuals with the path of an actuals CSV (" + _README + ")")],
                        what=file) from None
    decoded = decode(data, file=file)
    if isinstance(decoded, Problem):
        raise PlanError([decoded], what=file)
    facts = parse_actuals(decoded[0], file=file, plan=plan, encoding=decoded[1])
    return Actuals(facts, file=file, sha256=hashlib.sha256(data).hexdigest())


def parse_actuals(text: str, *, file: str, plan: Plan, encoding: str = "UTF-8") -> tuple[Fact, ...]:
    """The facts of actuals CSV ``text``; raises :class:`PlanError` with every problem found."""
    table, problems = parse_csv(text, file=file, encoding=encoding)
    if table is None:
        raise PlanError(problems, what=file)
    for name in REQUIRED_COLUMNS:
        if not table.has(name):
            problems.append(Problem(file, 1, name, None, f"missing column {name!r}",
                                    f"the header must name the columns: {', '.join(COLUMNS)} ({_README})"))
    for name in table.header:
        if name and name not in COLUMNS:
            problems.append(Problem(file, 1, name, name, f"unknown column {name!r}",
                                    f"the columns are: {', '.join(COLUMNS)} ({_README})"))
    if problems:
        raise PlanError(problems, what=file)
    facts = []
    for row in table.rows:
        fact, found = _fact(Cells(table, row), plan)
        problems += found
        if fact is not None:
            facts.append(fact)
    problems += fact_problems(facts, file=file)
    if problems:
        raise PlanError(sorted(problems, key=lambda p: p.row or 0), what=file)
    return tuple(facts)


def _fact(c: Cells, plan: Plan) -> tuple[Fact | None, list[Problem]]:
    kind = c.choice("kind", FactKind)
    fid = c.ident("id")
    when = c.date("date", required=True)
    reported = c.date("reported") or when
    source = c.text("source", required=True)
    if kind in KPI_KINDS:
        known, what, home = {k.id for k in plan.kpis}, "KPI", "kpis.csv id"
    elif kind is FactKind.SHOCK:
        known, what, home = {s.id for s in plan.shocks}, "shock", "shocks.csv id"
    else:
        known, what, home = {it.id for it in plan.items}, "item", "items.csv id"
    if kind is not None and fid and fid not in known:
        c.flag("id", fid, f"unknown {what} {fid!r} (a {kind} fact names a {home})", unknown_hint(fid, known, home=home))
    value = None
    if kind is FactKind.PROGRESS:
        value = c.number("value", required=True, low=0, high=1)
    elif kind in KPI_KINDS:
        value = c.number("value", required=True, low=0)  # counts, amounts and shares: never negative
    elif kind is FactKind.UNFINISHED:
        value = c.number("value", low=0, high=1)
        if value is not None and value >= 1:
            c.flag("value", c.raw("value"), "an unfinished item cannot be 100% done",
                   "write the share done below 1, or a finish fact")
    elif kind is FactKind.SHOCK:
        value = c.number("value", required=True, low=0)
        shock = next((s for s in plan.shocks if s.id == fid), None)
        if shock is not None and value and when is not None and not shock.window_start <= when <= shock.window_end:
            c.flag("date", when.isoformat(), f"shock {fid} can only begin in its window {shock.window_start} .. "
                   f"{shock.window_end} (shocks.csv)", "correct the date, or widen the window in shocks.csv")
    elif c.raw("value"):
        c.flag("value", c.raw("value"), f"a {kind} fact takes no value",
               "leave value blank: it is the share done (progress, unfinished), the KPI value (kpi, "
               "kpi_at_least) or the days a shock lasted (shock)")
    if when is not None and reported is not None and reported < when:
        c.flag("reported", reported.isoformat(), f"reported {reported} is before the date {when} of the fact",
               "a fact cannot be known before it happens: reported is on or after date (blank = date)")
    if not c.ok or when is None or reported is None:  # a missing date is flagged: not ok
        return None, c.problems
    return Fact(kind, fid, when, reported, value, source, c.raw("note"), c.line), []


def fact_problems(facts: Iterable[Fact], *, file: str) -> list[Problem]:
    """Problems between facts of one item: duplicates, a finish before its start, progress out of order."""
    by_item: dict[str, list[Fact]] = defaultdict(list)
    facts = list(facts)
    for f in facts:
        if f.kind in ITEM_KINDS:
            by_item[f.id].append(f)
    problems = _shock_problems(facts, file=file)
    for iid, fs in by_item.items():
        starts = [f for f in fs if f.kind is FactKind.START]
        finishes = [f for f in fs if f.kind is FactKind.FINISH]
        for kind, rows in (("start", starts), ("finish", finishes)):
            for extra in rows[1:]:
                problems.append(Problem(file, extra.line, "kind", kind,
                                        f"item {iid} has a second {kind} fact (first on line {rows[0].line})",
                                        f"keep one {kind} row per item"))
        first_start = starts[0].date if starts else None
        finish = finishes[0].date if finishes else None
        if first_start and finish and finish < first_start:
            problems.append(Problem(file, finishes[0].line, "date", finish.isoformat(),
                                    f"item {iid} finishes on {finish}, before its start on {first_start} "
                                    f"(line {starts[0].line})", "correct one of the two dates"))
        for f in fs:
            if f.kind is FactKind.UNFINISHED and finish and f.date >= finish:
                problems.append(Problem(file, f.line, "date", f.date.isoformat(),
                                        f"item {iid} is reported unfinished on {f.date}, on or after its finish on "
                                        f"{finish}", "correct the unfinished fact or the finish"))
        progress = sorted((f for f in fs if f.kind is FactKind.PROGRESS or (f.kind is FactKind.UNFINISHED
                                                                           and f.value is not None)),
                          key=lambda f: (f.date, f.line))
        for f in progress:
            if first_start and f.date < first_start and (f.value or 0) > 0:
                problems.append(Problem(file, f.line, "date", f.date.isoformat(),
                                        f"progress of item {iid} on {f.date} is before its start on {first_start}",
                                        "correct the date of the progress or of the start"))
            if finish and f.date > finish and (f.value or 0) < 1:
                problems.append(Problem(file, f.line, "value", f"{f.value:g}",
                                        f"item {iid} is {f.value:.0%} done on {f.date}, after it finished on {finish}",
                                        "correct the progress or the finish"))
        for a, b in zip(progress, progress[1:]):
            if a.value is not None and b.value is not None and b.value < a.value:
                problems.append(Problem(file, b.line, "value", f"{b.value:g}",
                                        f"progress of item {iid} falls from {a.value:g} on {a.date} (line {a.line}) "
                                        f"to {b.value:g} on {b.date}", "progress is the share done: it cannot fall"))
    return problems
def _shock_problems(facts: list[Fact], *, file: str) -> list[Problem]:
    """One occurrence per shock; "not happened by D" cannot follow an occurrence before D."""
    problems = []
    by_shock: dict[str, list[Fact]] = defaultdict(list)
    for f in facts:
        if f.kind is FactKind.SHOCK:
            by_shock[f.id].append(f)
    for sid, fs in by_shock.items():
        hits = [f for f in fs if f.value]
        for extra in hits[1:]:
            problems.append(Problem(file, extra.line, "kind", "shock", f"shock {sid} is reported to occur twice "
                                    f"(first on line {hits[0].line})", "keep one occurrence per shock"))
        for f in fs:
            if hits and not f.value and f.date >= hits[0].date:
                problems.append(Problem(file, f.line, "value", "0", f"shock {sid} is reported not to have happened "
                                        f"by {f.date}, but it began on {hits[0].date} (line {hits[0].line})",
                                        "correct one of the two facts"))
    return problems


