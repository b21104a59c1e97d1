"""Actuals: observed facts about the plan (starts, finishes, progress, KPI values).

The actuals CSV (``actuals/README.md``) lists facts, each with the date it refers
to (``date``) and the date it became known (``reported``). :func:`read_actuals`
checks every row against a plan and returns :class:`Actuals` or raises one
:class:`~sim.model.problems.PlanError` naming file, line and column of every
problem. :func:`apply_actuals` turns the plan into the plan as of a later date,
using only the facts reported by then (never facts known later).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from pathlib import Path

import numpy as np

from sim.model.calendar import plan_calendar, planned_work_days
from sim.model.clock import DAYS_PER_YEAR, end_of, years_to
from sim.model.csvio import Cells, decode, parse_csv
from sim.model.entities import Item, Kpi, Plan, Risk, Shock, Target
from sim.model.enums import KpiKind, KpiMeasure, RiskPhase, Status, TargetRule
from sim.model.problems import PlanError, Problem
from sim.model.select import resolve, unknown_hint

COLUMNS = ("kind", "id", "date", "reported", "value", "source", "note")
REQUIRED_COLUMNS = ("kind", "id", "date", "source")
_README = "see actuals/README.md"


class FactKind(StrEnum):
    """What a fact says about its ``id``."""

    START = "start"  # the item started on ``date``
    FINISH = "finish"  # the item finished on ``date``
    PROGRESS = "progress"  # share of the item's work done on ``date`` (``value`` in [0, 1])
    KPI = "kpi"  # the KPI's value on ``date`` (``value``)


@dataclass(frozen=True, slots=True)
class Fact:
    """One observed fact. ``line`` is its line in the file (header = 1), for messages."""

    kind: FactKind
    id: str
    date: date
    reported: date
    value: float | None = None
    source: str = ""
    note: str = ""
    line: int | None = None

    def known_by(self, as_of: date) -> bool:
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
    """Read and check an actuals CSV against ``plan``.

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
    if path.suffix.lower() == ".xlsx":  # the progress workbook of `sim template progress.xlsx`
        from sim.interop.progress import read_progress_workbook
        return read_progress_workbook(path, plan)
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
    if kind is FactKind.KPI:
        known, what, home = {k.id for k in plan.kpis}, "KPI", "kpis.csv id"
    else:
        known, what, home = {it.id for it in plan.items}, "item", "items.csv id"
    if kind is not None and fid and fid not in known:
        c.flag("id", fid, f"unknown {what} {fid!r} (a {kind} fact names a {home})", unknown_hint(fid, known, home=home))
    value = None
    if kind is FactKind.PROGRESS:
        value = c.number("value", required=True, low=0, high=1)
    elif kind is FactKind.KPI:
        value = c.number("value", required=True, low=0)  # counts, amounts and shares: never negative
    elif c.raw("value"):
        c.flag("value", c.raw("value"), f"a {kind} fact takes no value",
               "leave value blank: it is the share done (progress) or the KPI value (kpi)")
    if when is not None and reported is not None and reported < when:
        c.flag("reported", reported.isoformat(), f"reported {reported} is before the date {when} of the fact",
               "a fact cannot be known before it happens: reported is on or after date (blank = date)")
    if not c.ok:
        return None, c.problems
    return Fact(kind, fid, when, reported, value, source, c.raw("note"), c.line), []


def fact_problems(facts: Iterable[Fact], *, file: str) -> list[Problem]:
    """Problems between facts of one item: duplicates, a finish before its start, progress out of order."""
    by_item: dict[str, list[Fact]] = defaultdict(list)
    for f in facts:
        if f.kind is not FactKind.KPI:
            by_item[f.id].append(f)
    problems = []
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
        progress = sorted((f for f in fs if f.kind is FactKind.PROGRESS), key=lambda f: (f.date, f.line))
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
            if b.value < a.value:
                problems.append(Problem(file, b.line, "value", f"{b.value:g}",
                                        f"progress of item {iid} falls from {a.value:g} on {a.date} (line {a.line}) "
                                        f"to {b.value:g} on {b.date}", "progress is the share done: it cannot fall"))
    return problems


# --- applying -----------------------------------------------------------------------------------

def apply_actuals(plan: Plan, facts: Iterable[Fact], as_of: date, *, notes: list[str] | None = None) -> Plan:
    """The plan as of ``as_of``, given the facts reported by then.

    Rules (actuals/README.md, "How facts change the forecast"):

    * items with a finish fact get ``actual_start``/``actual_finish`` (fixed);
    * items with a start or progress fact, and (when the as-of date moves past the
      plan's) items in progress in params, get ``actual_start`` (and
      ``percent_complete``): their duration is drawn conditioned on the time spent;
    * items not started whose plan start has passed keep their full planned
      duration and start no earlier than the as-of date;
    * KPIs start from their last observed value (rolled forward at the expected
      rate when it is older than the as-of date; with none, from the plan
      baseline so rolled forward); KPI targets whose deadline has passed are
      decided by the facts; CAGR thresholds are restated from the new start;
    * shocks that ended are dropped, a straddling window is clipped; start risks
      are restricted to items not yet started, duration risks to items not done;
    * checkpoints before the as-of date are dropped.

    Parameters
    ----------
    plan
        The plan as loaded (its own as-of date, plan dates untouched).
    facts
        Facts, e.g. ``Actuals.facts``; those reported after ``as_of`` are ignored.
    as_of
        The new day 0; not before ``plan.as_of``.
    notes
        If given, a readable line is appended for every assumption made.

    Returns
    -------
    Plan
        A new plan (``dataclasses.replace``); ``plan`` itself is not changed.
    """
    if as_of < plan.as_of:
        raise ValueError(f"as-of date {as_of} is before the plan's as-of date {plan.as_of}")
    notes = [] if notes is None else notes
    known = [f for f in facts if f.known_by(as_of)]
    moved = as_of > plan.as_of
    if not known and not moved:
        return plan
    items = tuple(_item_as_of(plan, it, [f for f in known if f.id == it.id and f.kind is not FactKind.KPI],
                              as_of, moved) for it in plan.items)
    new = replace(plan, as_of=as_of, items=items,
                  checkpoints=tuple(d for d in plan.checkpoints if d >= as_of))
    unseen: list[str] = []
    kpis = tuple(_kpi_as_of(plan, new, k, [f for f in known if f.kind is FactKind.KPI and f.id == k.id],
                            as_of, notes, unseen) for k in plan.kpis)
    if unseen:
        years = (as_of - plan.as_of).days / DAYS_PER_YEAR
        notes.append(f"{len(unseen)} KPIs have no value reported by {as_of}; they start from their expected "
                     f"value {years:.2f} years after the plan date (add kpi facts): " + ", ".join(unseen))
    new = replace(new, kpis=kpis)
    new = replace(new, risks=_risks_as_of(new), shocks=_shocks_as_of(plan.shocks, as_of, notes),
                  targets=_targets_as_of(plan, new, known, notes))
    _contradictions(new, notes)
    return _exhausted(new, notes)


TAIL_EXHAUSTED = 1e-6


def _contradictions(new: Plan, notes: list[str]) -> None:
    """One note per start that contradicts a link: the item started before its FS predecessor finished
    (or its SS predecessor started). The start is used and the link taken as met (sim/engine/compiled.py)."""
    items = {it.id: it for it in new.items}
    for ln in new.links:
        succ, pred = items.get(ln.succ), items.get(ln.pred)
        if succ is None or pred is None or succ.actual_start is None or succ.actual_finish is not None:
            continue
        if ln.type.value == "FS":
            done = pred.actual_finish
            if done is None and pred.status is Status.DONE:
                continue
            if done is None or done > succ.actual_start:
                shown = "has no finish fact" if done is None else f"finished only on {done}"
                notes.append(f"item {succ.id} started on {succ.actual_start} but its FS predecessor {pred.id} {shown}: "
                             f"the start of {succ.id} is used and the link is taken as met")
        elif ln.type.value == "SS":
            began = pred.actual_start or pred.actual_finish
            if pred.status is Status.NOT_STARTED and began is None:
                notes.append(f"item {succ.id} started on {succ.actual_start} but its SS predecessor {pred.id} has no "
                             f"start fact: the start of {succ.id} is used and the link is taken as met")


def _exhausted(new: Plan, notes: list[str]) -> Plan:
    """Note the items still unfinished far beyond any duration their multiplier allows.

    When P(R > time spent / planned) < TAIL_EXHAUSTED the conditioned draw has
    practically no tail left: the engine draws R at the top of its range and
    the item finishes at once. Said in a note, since it rests on the file
    being complete (no finish reported = unfinished).
    """
    from sim.engine.compiled import compile_plan

    model = compile_plan(new)
    for k in np.nonzero(model.cond_cdf > 1.0 - TAIL_EXHAUSTED)[0]:
        it = new.item(model.item_ids[k])
        notes.append(f"item {it.id}: still unfinished on {new.as_of} although due {it.plan_finish} "
                     f"(started {it.actual_start}); beyond its multiplier's tail, so it finishes at once "
                     "in the forecast (add a finish or progress fact)")
    return new


def _item_as_of(plan: Plan, it: Item, facts: list[Fact], as_of: date, moved: bool) -> Item:
    start = next((f.date for f in facts if f.kind is FactKind.START), None)
    finish = next((f.date for f in facts if f.kind is FactKind.FINISH), None)
    progress = max((f for f in facts if f.kind is FactKind.PROGRESS), key=lambda f: (f.date, f.reported), default=None)
    if progress is not None and start is None and not progress.value:
        progress = None  # nothing done and no start reported: not started
    if finish is not None:
        first = start or (it.plan_start if it.plan_start is not None and it.plan_start <= finish else finish)
        return replace(it, status=Status.DONE, actual_start=first, actual_finish=finish, percent_complete=None)
    if start is not None or progress is not None:
        seen = progress.date if progress is not None else as_of
        first = start or (it.plan_start if it.plan_start is not None and it.plan_start <= seen else seen)
        return replace(it, status=Status.IN_PROGRESS, actual_start=first,
                       percent_complete=None if progress is None else progress.value)
    if not moved or it.status is Status.DONE:
        return it
    if it.status is Status.IN_PROGRESS:
        # under way on the plan date: it started by then, so condition on the time spent since
        first = plan.as_of if it.plan_start is None else min(it.plan_start, plan.as_of)
        return replace(it, actual_start=first)
    began = it.plan_start if it.plan_start is not None else plan.as_of
    if began < as_of and it.duration_days is None:
        # not started although planned to: the whole planned duration is still to do
        # its calendar counted from ``began`` (the grid starts there, so no earlier day counts as work)
        cal = plan_calendar(plan, it.calendar, origin=began, horizon=max(end_of(it.plan_finish, began), 1) + 1)
        return replace(it, duration_days=planned_work_days(replace(it, plan_start=began), cal, began))
    return it


def _finish_dates(plan: Plan) -> dict[str, date]:
    """Finish dates fixed in a plan (actual finish, or plan date of an item done in params)."""
    return {it.id: it.actual_finish or it.plan_finish for it in plan.items
            if it.actual_finish is not None or it.status is Status.DONE}


def _steps_by(plan: Plan, kpi: str, day: date) -> float:
    """Step boosts of ``kpi`` from items finished on or before ``day`` (already in a value observed then)."""
    done = _finish_dates(plan)
    return sum(b.step for b in plan.kpi_boosts if b.kpi == kpi and b.item in done and done[b.item] <= day)


def _steps_before(plan: Plan, kpi: str) -> float:
    """Step boosts the engine adds at day 0 (items fixed before the as-of date)."""
    done = _finish_dates(plan)
    return sum(b.step for b in plan.kpi_boosts if b.kpi == kpi and b.item in done and done[b.item] < plan.as_of)


def expected_kpi(k: Kpi, years: float) -> float:
    """Expected (index: median) value of a KPI ``years`` after its baseline, without boosts."""
    if k.kind is KpiKind.INDEX:
        return k.baseline * (1.0 + k.rate_per_year) ** years
    if k.measure is KpiMeasure.CUMULATIVE:
        return k.rate_per_year * years
    lapsed = 0.0
    if k.attrition_years:
        lapsed = k.baseline * (1.0 - k.renewal_prob) * min(years, k.attrition_years) / k.attrition_years
    return k.baseline - lapsed + k.rate_per_year * years


def _kpi_as_of(plan: Plan, new: Plan, k: Kpi, facts: list[Fact], as_of: date, notes: list[str],
               unseen: list[str]) -> Kpi:
    last = max(facts, key=lambda f: (f.date, f.reported), default=None)
    if last is None and as_of == plan.as_of:
        return k
    if last is not None:
        seen = float(last.value) - _steps_by(new, k.id, last.date)
        gap = (as_of - last.date).days / DAYS_PER_YEAR
        # a stale observation is rolled forward at the KPI's expected rate, so growth does not stop
        stock = replace(k, baseline=seen, measure=KpiMeasure.STOCK,
                        attrition_years=k.attrition_years if k.measure is KpiMeasure.STOCK else None)
        start = expected_kpi(stock, gap) if gap > 0 else seen
        if last.date < as_of:
            notes.append(f"KPI {k.id}: last observed {last.value:g} on {last.date}, {(as_of - last.date).days} "
                         f"days before the as-of date {as_of}; starts from {start:.4g}, that value rolled "
                         f"forward at its expected rate")
    else:
        years = (as_of - plan.as_of).days / DAYS_PER_YEAR
        value = expected_kpi(k, years)
        start = value
        unseen.append(f"{k.id} {value:.4g}")
    if k.kind is KpiKind.COUNTER:
        start = max(start, 0.0)
    # a cumulative count observed since the plan date continues as a stock without lapses
    return replace(k, baseline=start, measure=KpiMeasure.STOCK if k.kind is KpiKind.COUNTER else k.measure,
                   attrition_years=k.attrition_years if k.measure is KpiMeasure.STOCK else None)


def _risks_as_of(new: Plan) -> tuple[Risk, ...]:
    started = {it.id for it in new.items
               if it.actual_start is not None or it.actual_finish is not None or it.status is not Status.NOT_STARTED}
    done = set(_finish_dates(new))
    out = []
    for r in new.risks:
        hit = resolve(new, r.targets)
        gone = started if r.phase is RiskPhase.START else done
        left = tuple(i for i in hit if i not in gone)
        if len(left) == len(hit):
            out.append(r)
        elif left:
            out.append(replace(r, targets=left))
    return tuple(out)


def _shocks_as_of(shocks: tuple[Shock, ...], as_of: date, notes: list[str]) -> tuple[Shock, ...]:
    out = []
    for s in shocks:
        if s.window_end < as_of:
            notes.append(f"shock {s.id}: its window ended {s.window_end}, before the as-of date; dropped")
        elif s.window_start < as_of:
            notes.append(f"shock {s.id}: window clipped to start on the as-of date {as_of}")
            out.append(replace(s, window_start=as_of))
        else:
            out.append(s)
    return tuple(out)


def _targets_as_of(plan: Plan, new: Plan, known: list[Fact], notes: list[str]) -> tuple[Target, ...]:
    base = {k.id: k for k in plan.kpis}
    now = {k.id: k for k in new.kpis}
    out = []
    for t in plan.targets:
        kpi = next((r for r in t.refs if r in now), None)
        if kpi is None or t.rule not in (TargetRule.KPI_GE, TargetRule.KPI_CAGR_GE):
            out.append(t)
            continue
        if t.deadline < new.as_of:
            out.append(_decided(plan, t, base[kpi], [f for f in known if f.kind is FactKind.KPI and f.id == kpi],
                                new, notes))
        elif t.rule is TargetRule.KPI_CAGR_GE and new.as_of > plan.as_of:
            out.append(_restated_cagr(plan, new, t, base[kpi], now[kpi], notes))
        else:
            out.append(t)
    return tuple(out)


def _restated_cagr(plan: Plan, new: Plan, t: Target, k0: Kpi, k1: Kpi, notes: list[str]) -> Target:
    """Growth from the new start that reaches the value the target asks of growth from the plan date."""
    start0 = k0.baseline + _steps_before(plan, k0.id)
    start1 = k1.baseline + _steps_before(new, k1.id)
    if start0 <= 0 or start1 <= 0:
        notes.append(f"target {t.id}: KPI {k0.id} starts at or below zero; growth threshold left as in the plan")
        return t
    need = start0 * (1.0 + t.threshold) ** years_to(t.deadline, plan.as_of)
    with_np = math.log(need / start1) / years_to(t.deadline, new.as_of)
    threshold = math.expm1(min(with_np, 700.0))
    notes.append(f"target {t.id}: growth of {t.threshold:g}/yr from {plan.as_of} needs {k0.id} >= {need:.4g} "
                 f"by {t.deadline}; restated as {threshold:.4g}/yr from {new.as_of}")
    return replace(t, threshold=threshold)


def _decided(plan: Plan, t: Target, k0: Kpi, facts: list[Fact], new: Plan, notes: list[str]) -> Target:
    """A KPI target whose deadline has passed: met or not, as the facts say (certain in the run)."""
    near = min(facts, key=lambda f: (abs((f.date - t.deadline).days), f.date), default=None)
    if near is not None:
        value, seen = float(near.value), f"observed {near.value:g} on {near.date}"
        basis = "per actuals"
    else:
        basis = "by its expected value; no fact"
        value = expected_kpi(k0, (t.deadline - plan.as_of).days / DAYS_PER_YEAR) + _steps_before(plan, k0.id)
        seen = f"no value reported; its expected value {value:.4g} on the deadline is used"
    if t.rule is TargetRule.KPI_GE:
        met = value >= t.threshold
    else:
        start0 = k0.baseline + _steps_before(plan, k0.id)
        met = start0 > 0 and value > 0 and (value / start0) ** (1 / years_to(t.deadline, plan.as_of)) - 1 >= t.threshold
    notes.append(f"target {t.id}: deadline {t.deadline} before the as-of date; KPI {k0.id} {seen}: "
                 f"{'met' if met else 'not met'} (carried as certain)")
    # the engine simulates no KPI days before day 0, so the decided target sits at the as-of date
    return replace(t, rule=TargetRule.KPI_GE, threshold=-math.inf if met else math.inf, deadline=new.as_of,
                   name_en=f"{t.name_en} [due {t.deadline}: {'met' if met else 'not met'} {basis}]")


def prepare_plan(plan: Plan, *, actuals_path: Path | None, as_of: date | None) -> tuple[Plan, dict, list[str]]:
    """For the CLI: the plan as of ``as_of`` with the facts of ``actuals_path``, and its manifest entries.

    Without ``as_of`` the latest ``reported`` date of the file is used; without a
    file no facts are known. Returns (plan, manifest entries, notes).
    """
    actuals = read_actuals(actuals_path, plan) if actuals_path is not None else Actuals(())
    when = as_of or actuals.latest or plan.as_of
    notes: list[str] = []
    if when < plan.as_of:
        raise PlanError([Problem(str(actuals_path or "--as-of"), None, "as_of", when.isoformat(),
                                 f"the as-of date {when} is before the plan's as-of date {plan.as_of}",
                                 "use a date on or after the plan date")], what="--as-of")
    moved = apply_actuals(plan, actuals.facts, when, notes=notes)
    extra = {"actuals": actuals.manifest(when) if actuals_path is not None else None,
             "plan_as_of": plan.as_of, "actuals_notes": notes}
    return moved, extra, notes
