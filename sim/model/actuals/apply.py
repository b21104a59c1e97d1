"""Applying actuals: the plan as of a later date, from the facts reported by then (never later ones).

:func:`apply_actuals` turns the plan into the plan as of ``as_of``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta

from sim.model.actuals.read import ITEM_KINDS, KPI_KINDS, Fact, FactKind
from sim.model.calendar import plan_calendar, planned_work_days
from sim.model.clock import DAYS_PER_YEAR, end_of, years_to
from sim.model.entities import Item, Kpi, Plan, Risk, Shock, Target
from sim.model.enums import KpiKind, KpiMeasure, RiskPhase, Status, TargetRule
from sim.model.links import kind as link_kind
from sim.model.select import resolve
from sim.model.timing import plan_timings


# --- applying -----------------------------------------------------------------------------------

def _value(f: Fact) -> float:
    """The value of a fact that carries one (kpi, kpi_at_least, a shock that happened: read.py checks it)."""
    if f.value is None:
        raise ValueError(f"{f.kind} fact {f.id} on {f.date} has no value")
    return f.value


def _threshold(t: Target) -> float:
    """The threshold of a KPI target (the loaders require one)."""
    if t.threshold is None:
        raise ValueError(f"target {t.id} has no threshold")
    return t.threshold


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
    items = tuple(_item_as_of(plan, it, [f for f in known if f.id == it.id and f.kind in ITEM_KINDS],
                              as_of, moved) for it in plan.items)
    new = replace(plan, as_of=as_of, items=items,
                  checkpoints=tuple(d for d in plan.checkpoints if d >= as_of))
    unseen: list[str] = []
    kpis = tuple(_kpi_as_of(plan, new, k, [f for f in known if f.kind in KPI_KINDS and f.id == k.id],
                            as_of, notes, unseen) for k in plan.kpis)
    if unseen:
        notes.append(f"{len(unseen)} KPIs have no value reported by {as_of}; they are simulated from the plan "
                     f"date {plan.as_of}, with their spread over the elapsed time (add kpi facts): " + ", ".join(unseen))
    new = replace(new, kpis=kpis)
    shock_facts = [f for f in known if f.kind is FactKind.SHOCK]
    new = replace(new, risks=_risks_as_of(new), shocks=_shocks_as_of(plan.shocks, as_of, notes, shock_facts),
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
        link = link_kind(ln.type)
        if not link.gates_start:
            continue
        if link.refs_finish:  # FS
            done = pred.actual_finish
            if done is None and pred.status is Status.DONE:
                continue
            if done is None or done > succ.actual_start:
                shown = "has no finish fact" if done is None else f"finished only on {done}"
                notes.append(f"item {succ.id} started on {succ.actual_start} but its {ln.type} predecessor {pred.id} {shown}: "
                             f"the start of {succ.id} is used and the link is taken as met")
        else:  # SS: the predecessor's start
            began = pred.actual_start or pred.actual_finish
            if pred.status is Status.NOT_STARTED and began is None:
                notes.append(f"item {succ.id} started on {succ.actual_start} but its {ln.type} predecessor {pred.id} has no "
                             f"start fact: the start of {succ.id} is used and the link is taken as met")


def _exhausted(new: Plan, notes: list[str]) -> Plan:
    """Note the items still unfinished far beyond any duration their multiplier allows.

    When P(R > time spent / planned) < TAIL_EXHAUSTED the conditioned draw has
    practically no tail left: the engine draws R at the top of its range and
    the item finishes at once. Said in a note, since it rests on the file
    being complete (no finish reported = unfinished).
    """
    timings = plan_timings(new)
    for it in new.items:
        if not timings[it.id].cond_cdf > 1.0 - TAIL_EXHAUSTED:
            continue
        notes.append(f"item {it.id}: still unfinished on {new.as_of} although due {it.plan_finish} "
                     f"(started {it.actual_start}); beyond its multiplier's tail, so it finishes at once "
                     "in the forecast (add a finish or progress fact)")
    return new


def _item_as_of(plan: Plan, it: Item, facts: list[Fact], as_of: date, moved: bool) -> Item:
    start = next((f.date for f in facts if f.kind is FactKind.START), None)
    finish = next((f.date for f in facts if f.kind is FactKind.FINISH), None)
    # an unfinished fact with a share done is a progress report; without one it says only "not finished",
    # which the file-is-complete rule already assumes (it is used by the backtest as a censoring date)
    progress = max((f for f in facts if f.kind is FactKind.PROGRESS
                    or (f.kind is FactKind.UNFINISHED and f.value is not None)),
                   key=lambda f: (f.date, f.reported), default=None)
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
    """The KPI as of ``as_of``: from its last observation, or (none) from the plan's baseline, simulated by the
    engine from that date (``Kpi.origin``); a later ``kpi_at_least`` bound above the expected value is used
    as the value on its date."""
    obs = [f for f in facts if f.kind is FactKind.KPI]
    last = max(obs, key=lambda f: (f.date, f.reported), default=None)
    bound = max((f for f in facts if f.kind is FactKind.KPI_AT_LEAST and (last is None or f.date > last.date)),
                key=lambda f: (f.date, f.value), default=None)
    if last is None and bound is None and as_of == plan.as_of:
        return k
    if last is not None:
        out = _observed(k, float(_value(last)) - _steps_by(new, k.id, last.date), last.date, as_of)
        if last.date < as_of:
            notes.append(f"KPI {k.id}: last observed {last.value:g} on {last.date}, {(as_of - last.date).days} "
                         f"days before the as-of date {as_of}; simulated from that value and date")
    else:
        out = replace(k, origin=k.origin or plan.as_of)  # simulated from the plan date: its spread is kept
        unseen.append(k.id)
    if bound is not None:
        origin = out.origin or as_of
        expected = expected_kpi(replace(out, origin=None), max((bound.date - origin).days, 0) / DAYS_PER_YEAR)
        floor = float(_value(bound)) - _steps_by(new, k.id, bound.date)
        if floor > expected:
            out = _observed(k, floor, bound.date, as_of)
            notes.append(f"KPI {k.id}: at least {bound.value:g} on {bound.date} (per actuals), above its expected "
                         f"{expected + _steps_by(new, k.id, bound.date):.4g}: taken at that bound on that date "
                         "and simulated from there")
        else:
            notes.append(f"KPI {k.id}: at least {bound.value:g} on {bound.date} (per actuals), not above its "
                         f"expected value {expected + _steps_by(new, k.id, bound.date):.4g}: the simulation is "
                         "not truncated at the bound")
    return out


def _observed(k: Kpi, value: float, on: date, as_of: date) -> Kpi:
    """The KPI restarted from ``value`` (steps of items done by then removed) on ``on``; a cumulative count
    continues as a stock without lapses, so targets on it keep their meaning."""
    if k.kind is KpiKind.COUNTER:
        value = max(value, 0.0)
    return replace(k, baseline=value, measure=KpiMeasure.STOCK if k.kind is KpiKind.COUNTER else k.measure,
                   attrition_years=k.attrition_years if k.measure is KpiMeasure.STOCK else None,
                   origin=on if on < as_of else None)


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


def _shocks_as_of(shocks: tuple[Shock, ...], as_of: date, notes: list[str],
                  facts: Iterable[Fact] = ()) -> tuple[Shock, ...]:
    facts = list(facts)
    out = []
    for shock in shocks:
        s = _shock_given_facts(shock, [f for f in facts if f.id == shock.id], as_of, notes)
        if s is None:
            continue
        if s.window_end < as_of:
            notes.append(f"shock {s.id}: its window ended {s.window_end}, before the as-of date; dropped")
        elif s.window_start < as_of:
            notes.append(f"shock {s.id}: window clipped to start on the as-of date {as_of}")
            out.append(replace(s, window_start=as_of))
        else:
            out.append(s)
    return tuple(out)


def _shock_given_facts(s: Shock, facts: list[Fact], as_of: date, notes: list[str]) -> Shock | None:
    """The shock conditioned on the facts: it happened (certain, its own dates and length), or it had not
    happened by a date (the window starts after it, the probability updated by Bayes' rule); None if gone.

    The start is uniform on the window's days, so with p = P(it happens), n days in the window and m of them
    known to have passed without it: P(it happens later | not yet) = p (n - m) / n / (1 - p m / n).
    """
    from sim.model.distribution import Distribution
    from sim.model.enums import DistFamily

    hit = next((f for f in facts if f.value), None)
    if hit is not None:
        end = hit.date + timedelta(days=int(round(_value(hit))))
        if end <= as_of:
            notes.append(f"shock {s.id}: happened {hit.date} for {hit.value:g} days, over by the as-of date; "
                         "its effect is in the items' facts; dropped")
            return None
        left = float((end - max(hit.date, as_of)).days)
        notes.append(f"shock {s.id}: happened on {hit.date} for {hit.value:g} days (per actuals): certain, "
                     f"{left:g} days left from {max(hit.date, as_of)}")
        return replace(s, probability=1.0, window_start=max(hit.date, as_of), window_end=max(hit.date, as_of),
                       length=Distribution(DistFamily.FIXED, (left,)))
    quiet = max((f.date for f in facts if not f.value), default=None)
    if quiet is None or quiet < s.window_start:
        return s
    n = (s.window_end - s.window_start).days + 1
    m = min((quiet - s.window_start).days + 1, n)
    if m >= n:
        notes.append(f"shock {s.id}: did not happen in its window (per actuals, to {quiet}); dropped")
        return None
    p = s.probability * (n - m) / n / (1.0 - s.probability * m / n)
    notes.append(f"shock {s.id}: had not happened by {quiet} (per actuals): window from "
                 f"{quiet + timedelta(days=1)}, probability {s.probability:g} -> {p:.3g}")
    return replace(s, probability=p, window_start=quiet + timedelta(days=1))


def _targets_as_of(plan: Plan, new: Plan, known: list[Fact], notes: list[str]) -> tuple[Target, ...]:
    """KPI targets as of the new date.

    * past their deadline: decided by a kpi fact within :data:`KPI_WINDOW_DAYS` of the deadline, or by a
      kpi_at_least fact there at or above the threshold (certain); otherwise, when the KPI is simulated from
      a date on or before the deadline, from the simulated distribution (the engine's KPI path before day
      0); otherwise (observed only well after the deadline) by the fact nearest the deadline;
    * growth (CAGR) targets, once the date has moved: the value the growth asks for at the deadline,
      from the plan date's value (equivalent, and independent of where the KPI restarts).
    """
    base = {k.id: k for k in plan.kpis}
    now = {k.id: k for k in new.kpis}
    out = []
    for t in plan.targets:
        kpi = next((r for r in t.refs if r in now), None)
        if kpi is None or t.rule not in (TargetRule.KPI_GE, TargetRule.KPI_CAGR_GE):
            out.append(t)
            continue
        facts = [f for f in known if f.kind in KPI_KINDS and f.id == kpi]
        absolute = _absolute(plan, t, base[kpi]) if new.as_of > plan.as_of else t
        if t.deadline < new.as_of:
            decided = _decided(plan, t, base[kpi], facts, new, notes, window=KPI_WINDOW_DAYS)
            if decided is None and (now[kpi].origin or new.as_of) <= t.deadline:
                notes.append(f"target {t.id}: deadline {t.deadline} before the as-of date and no value of KPI {kpi} "
                             "reported near it: decided from the KPI's simulated distribution")
                decided = absolute
            if decided is None:
                decided = _decided(plan, t, base[kpi], facts, new, notes)
            if decided is None:  # restarted at a bound after the deadline: its path holds the bound before it
                notes.append(f"target {t.id}: deadline {t.deadline} before the KPI's restart on {now[kpi].origin}; "
                             "judged on the value it restarts from")
                decided = absolute
            out.append(decided)
        else:
            out.append(absolute)
    return tuple(out)


KPI_WINDOW_DAYS = 31  # a KPI value this close to a deadline decides the target (as the backtest)


def _absolute(plan: Plan, t: Target, k0: Kpi) -> Target:
    """A growth target as the KPI value it asks for at its deadline (``kpi_ge``); other targets unchanged."""
    if t.rule is not TargetRule.KPI_CAGR_GE:
        return t
    start0 = k0.baseline + _steps_before(plan, k0.id)
    need = start0 * (1.0 + _threshold(t)) ** years_to(t.deadline, plan.as_of) if start0 > 0 else math.inf
    return replace(t, rule=TargetRule.KPI_GE, threshold=need)


def _decided(plan: Plan, t: Target, k0: Kpi, facts: list[Fact], new: Plan, notes: list[str], *,
             window: int | None = None) -> Target | None:
    """A KPI target whose deadline has passed, met or not as the facts say (certain in the run); None when no
    fact within ``window`` days of the deadline decides it (``window`` None: the nearest kpi fact decides)."""
    near = [f for f in facts if f.kind is FactKind.KPI
            and (window is None or abs((f.date - t.deadline).days) <= window)]
    need = _threshold(_absolute(plan, t, k0) if t.rule is TargetRule.KPI_CAGR_GE else t)
    f = min(near, key=lambda f: (abs((f.date - t.deadline).days), f.date), default=None)
    if f is not None:
        met, seen = float(_value(f)) >= need, f"observed {f.value:g} on {f.date}"
    else:
        bound = [b for b in facts if b.kind is FactKind.KPI_AT_LEAST and abs((b.date - t.deadline).days) <= (window or 0)
                 and float(_value(b)) >= need]
        if not bound:
            return None
        met, seen = True, f"at least {bound[0].value:g} on {bound[0].date}"
    notes.append(f"target {t.id}: deadline {t.deadline} before the as-of date; KPI {k0.id} {seen}: "
                 f"{'met' if met else 'not met'} (carried as certain)")
    # the target is certain: it sits at the as-of date with a threshold every path passes (or none does)
    return replace(t, rule=TargetRule.KPI_GE, threshold=-math.inf if met else math.inf, deadline=new.as_of,
                   name_en=f"{t.name_en} [due {t.deadline}: {'met' if met else 'not met'} per actuals]")
