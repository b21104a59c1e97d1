"""Build small in-memory plans for engine tests (no files, no loader)."""

from __future__ import annotations

from datetime import date, timedelta

from sim.model.distribution import Distribution
from sim.model.entities import (
    Assumption,
    CalendarWindow,
    DurationClass,
    Factor,
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
from sim.model.enums import Campaign, DistFamily, KpiKind, LinkType, Status, TargetRule

AS_OF = date(2020, 1, 1)
FIXED1 = Distribution(DistFamily.FIXED, (1.0,))


def day(n: int) -> date:
    """The date ``n`` days after the as-of date (so a task of n days ending there is on time)."""
    return AS_OF + timedelta(days=n)


def item(
    iid: str,
    days: float,
    *,
    mult: Distribution | None = FIXED1,
    start_wait: int | None = None,
    resource: str | None = None,
    ptype: str = "generic",
    campaign: Campaign = Campaign.TRANSPORT,
    status: Status = Status.NOT_STARTED,
) -> Item:
    """A task of ``days`` working days, planned to finish ``days`` (+ wait) after the as-of date."""
    wait = start_wait or 0
    return Item(
        id=iid,
        group=iid,
        campaign=campaign,
        name_zh=iid,
        name_en=iid,
        units=("U1",),
        lead_units=("U1",),
        project_type=ptype,
        status=status,
        plan_start=day(wait) if start_wait else None,
        plan_finish=day(wait + int(days) - 1) if days >= 1 else day(wait),
        duration_days=float(days),
        multiplier=mult,
        resource_unit=resource,
    )


def link(a: str, b: str, typ: str = "FS", lag: float = 0.0) -> Link:
    return Link(pred=a, succ=b, type=LinkType(typ), lag_days=lag)


def plan(
    items,
    links=(),
    *,
    factors=(),
    risks=(),
    shocks=(),
    windows=(),
    kpis=(),
    boosts=(),
    targets=(),
    capacity: int | None = None,
    classes=None,
    checkpoints=(date(2020, 12, 31), date(2021, 12, 31), date(2022, 12, 31)),
) -> Plan:
    classes = classes or (DurationClass("generic", "generic", FIXED1, in_progress_sigma_scaling=False),)
    return Plan(
        as_of=AS_OF,
        items=tuple(items),
        links=tuple(links),
        units=(Unit("U1", "单位", "Unit 1", capacity=capacity),),
        duration_classes=tuple(classes),
        factors=tuple(factors),
        factor_correlations=(),
        risks=tuple(risks),
        shocks=tuple(shocks),
        calendar_windows=tuple(windows),
        kpis=tuple(kpis),
        kpi_boosts=tuple(boosts),
        targets=tuple(targets),
        assumptions=(Assumption("horizon_years", "6"),),
        checkpoints=tuple(checkpoints),
    )


def dist(family: str, *params: float, floor: float | None = None) -> Distribution:
    return Distribution(DistFamily(family), tuple(float(p) for p in params), floor=floor)


__all__ = [
    "AS_OF",
    "CalendarWindow",
    "Factor",
    "Kpi",
    "KpiBoost",
    "KpiKind",
    "Risk",
    "Shock",
    "Target",
    "TargetRule",
    "day",
    "dist",
    "item",
    "link",
    "plan",
]
