"""Multipliers and planned work as the engine compiles them, and the risk that carries a slip.

A slip is added *work*: the working days of the item's calendar in the slip's
span after its plan finish, carried by a register risk with probability 1.
"""

from __future__ import annotations


from sim.model import calendar
from sim.model.calendar import plan_calendar
from sim.model.clock import end_of
from sim.model.distribution import Distribution
from sim.model.entities import Item, Plan, Risk
from sim.model.enums import RiskMode, RiskPhase, Status
from sim.model.timing import duration_rules, item_timing

SLIP_PREFIX = "slip."  # id prefix of the risk that carries a slip


def slip_risk(item_id: str, work_days: float, *, days: float | None = None, source: str = "slip") -> Risk:
    """The register entry that carries a fixed slip: ``work_days`` working days added to ``item_id``, always."""
    shown = f"{days:g} days ({work_days:g} working days)" if days is not None else f"{work_days:g} working days"
    return Risk(id=SLIP_PREFIX + item_id, name_zh=f"{item_id}延误", name_en=f"slip of {item_id} by {shown}",
                probability=1.0, impact=Distribution.fixed(work_days), targets=(item_id,), mode=RiskMode.COMMON,
                phase=RiskPhase.DURATION, source=source)


def effective_multiplier(plan: Plan, item: Item) -> Distribution:
    """The multiplier distribution the engine uses for ``item`` before any 力争 uplift.

    The engine's own rule (:func:`sim.model.timing.item_timing`) with no uplift: the
    item's own distribution, or its reference class's; with a reported percentage
    complete, sigma scaled by sqrt(share left) (docs/calibration.md §2.1); otherwise
    the unscaled distribution, which the engine conditions on the elapsed share for
    an item under way (started before the as-of date).
    """
    classes, pre_class, _ = duration_rules(plan)
    timing = item_timing(item, plan_calendar(plan, item.calendar), plan.as_of, classes[item.project_type],
                         pre_class, 1.0)
    assert timing.mult is not None  # every branch of item_timing states the multiplier
    return timing.mult


def wait_days(plan: Plan, item: Item) -> int:
    """The planned pre-construction wait in days (0 unless not started with a later plan start)."""
    if item.status is not Status.NOT_STARTED or item.plan_start is None:
        return 0
    return max((item.plan_start - plan.as_of).days, 0)


def planned_work_days(plan: Plan, item: Item) -> float:
    """The planned working days of a not-started ``item`` (plan start to plan date), as the engine derives them.

    Used to keep an item's duration when ``adjust.wait_scale`` moves its plan start.
    """
    return calendar.planned_work_days(item, plan_calendar(plan, item.calendar), plan.as_of)


def slip_work_days(plan: Plan, item: Item, days: float) -> float:
    """The working days a slip of ``days`` calendar days adds to ``item``.

    Those of the item's calendar in the ``days`` after the end of its plan
    finish date: an item that would finish on its plan date then finishes
    ``days`` later (negative days: earlier).
    """
    cal = plan_calendar(plan, item.calendar)
    end = end_of(item.plan_finish, plan.as_of)
    return cal.work_at1(end + days) - cal.work_at1(end)
