"""An item's timing on the as-of date: planned wait, planned work and the multiplier drawn for it.

The one home of the rule (docs/calibration.md §2.1) that the engine compiles
(:func:`sim.engine.compiled.compile_plan`) and the actuals consult (an item
still unfinished beyond its multiplier's tail). Pure: calendar and distribution
arithmetic only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from sim.model.calendar import WorkCalendar, plan_calendar, planned_work_days
from sim.model.clock import day_of, end_of
from sim.model.distribution import Distribution, cdf_at, lognormal_sigma, scale_median, with_lognormal_sigma
from sim.model.entities import DurationClass, Item, Plan
from sim.model.enums import Status


def duration_rules(plan: Plan) -> tuple[dict[str, DurationClass], DurationClass | None, float]:
    """The duration classes by project type, the pre-construction class and the 力争 uplift of ``plan``."""
    classes = {c.project_type: c for c in plan.duration_classes}
    raw = plan.assumption("aspirational_uplift")
    uplift = float(raw) if raw not in (None, "") else 1.0
    pre_type = plan.assumption("preconstruction_type", "preconstruction")
    pre_class = classes.get(pre_type) if pre_type is not None else None
    return classes, pre_class, uplift


def plan_timings(plan: Plan) -> dict[str, ItemTiming]:
    """:func:`item_timing` of every item of ``plan`` (file order), keyed by item id."""
    classes, pre_class, uplift = duration_rules(plan)
    return {it.id: item_timing(it, plan_calendar(plan, it.calendar), plan.as_of, classes[it.project_type],
                               pre_class, uplift) for it in plan.items}


@dataclass(frozen=True)
class ItemTiming:
    """An item's planned wait, work and multiplier on the as-of date, as the engine compiles them."""

    wait: float = 0.0
    work: float = 0.0
    mult: Distribution | None = None
    wait_dist: Distribution | None = None
    fixed: bool = False
    fixed_start: float = 0.0
    fixed_finish: float = 0.0
    elapsed: float = 0.0
    cond_cdf: float = 0.0
    can_wait: bool = False
    real_start: float = float("nan")


def item_timing(it: Item, cal: WorkCalendar, as_of: date, cls, pre_class, uplift: float) -> ItemTiming:
    """Planned wait, planned working duration and multiplier of one item on the as-of date.

    * done (status or reported finish): fixed at its (actual) dates;
    * not started: waits until its plan start (pre-construction multiplier), then
      works the plan's duration from plan start to plan date (``duration_days`` overrides);
    * in progress without a start before the as-of date (none given): the work from
      the as-of date to the plan date (``duration_days`` overrides);
    * in progress with a start before the as-of date (reported, or the params'
      ``plan_start``): total = planned total x R with R drawn conditioned on
      exceeding the elapsed share, minus the working days spent, so R < 1 (ahead of
      schedule) stays possible and slack to the plan date is never counted as work;
      with a reported percentage, (1 - pct) x planned total x R, sigma scaled by
      sqrt(1 - pct) (docs/calibration.md §2.1).
    """
    fin = end_of(it.plan_finish, as_of)
    st = None if it.plan_start is None else day_of(it.plan_start, as_of)
    dist = it.multiplier if it.multiplier is not None else cls.multiplier
    scaling = it.multiplier is None and cls.in_progress_sigma_scaling
    sigma = lognormal_sigma(dist) if scaling else None
    asp = uplift if it.finish_aspirational else 1.0
    if it.actual_finish is not None or it.status is Status.DONE:
        ff = fin if it.actual_finish is None else end_of(it.actual_finish, as_of)
        first = it.actual_start or it.plan_start
        return ItemTiming(mult=dist, fixed=True, fixed_finish=ff,
                       fixed_start=ff if first is None else day_of(first, as_of))
    started = it.actual_start
    if started is None and it.status is Status.IN_PROGRESS and st is not None and st < 0 and (
            it.duration_days is None or fin <= 0):
        # under way on the as-of date (plan_start is its start): the planned total duration and the share
        # of it already elapsed, never the slack to the plan date (docs/calibration.md §2.1); a stated
        # duration_days is the work remaining (params/README.md) and is kept as such
        started = it.plan_start
    if started is None and it.status is Status.NOT_STARTED:
        begin = st if st is not None else 0
        work = planned_work_days(it, cal, as_of)
        wait = max(begin, 0)
        wd = None
        if wait > 0 and pre_class is not None:
            wd = scale_median(pre_class.multiplier, uplift if it.start_aspirational else 1.0)
        return ItemTiming(wait=wait, work=work, mult=scale_median(dist, asp), wait_dist=wd, can_wait=True)
    if started is None:  # in progress as the plan states it
        work = max(float(cal.work_at(fin) - cal.work_at(0)), 0.0)
        if it.duration_days is not None:
            work = it.duration_days
        return ItemTiming(work=work, mult=scale_median(dist, asp))
    a = day_of(started, as_of)
    total = float(cal.work_at(fin) - cal.work_at(min(a, st if st is not None else a)))
    if it.duration_days is not None:
        total = it.duration_days
    spent = float(cal.work_at(0) - cal.work_at(a))
    if it.percent_complete is not None:
        left = max(1.0 - it.percent_complete, 0.0)
        if sigma:
            dist = with_lognormal_sigma(dist, sigma * np.sqrt(left))
        return ItemTiming(work=total * left, mult=scale_median(dist, asp), real_start=float(a))
    dist = scale_median(dist, asp)
    return ItemTiming(work=total, mult=dist, elapsed=spent, cond_cdf=cdf_at(dist, spent / max(total, 1e-9)),
                   real_start=float(a))
