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
from sim.model.enums import DistFamily, KpiKind, LinkType, Status, TargetRule

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
    campaign: str = "transport",
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


# -- helpers for the engine tests (tests/test_engine_*.py) ---------------------------
def discrete(values, weights) -> Distribution:
    """A discrete distribution on ``values`` with (unnormalised) ``weights``."""
    return Distribution(
        DistFamily.DISCRETE, values=tuple(float(v) for v in values), weights=tuple(float(w) for w in weights)
    )


def window(first: int, last: int, calendar: str = "construction") -> CalendarWindow:
    """A non-working window over days ``first .. last`` (inclusive) of ``calendar``."""
    return CalendarWindow(calendar, day(first), day(last))


def shock(
    sid: str,
    start_day: int,
    length: Distribution,
    *,
    end_day: int | None = None,
    probability: float = 1.0,
    affects=("all",),
) -> Shock:
    """A stoppage beginning uniformly in days [start_day, end_day] (fixed when end_day is None)."""
    return Shock(
        id=sid,
        name_zh=sid,
        name_en=sid,
        probability=probability,
        window_start=day(start_day),
        window_end=day(start_day if end_day is None else end_day),
        length=length,
        affects=tuple(affects),
    )


def risk(rid: str, probability: float, impact: Distribution, targets, *, mode: str = "each",
         phase: str = "duration") -> Risk:
    """A register risk adding ``impact`` days to each target item with ``probability``."""
    from sim.model.enums import RiskMode, RiskPhase

    return Risk(id=rid, name_zh=rid, name_en=rid, probability=probability, impact=impact,
                targets=tuple(targets), mode=RiskMode(mode), phase=RiskPhase(phase))


def counter(kid: str, rate_per_year: float, *, cv: float = 0.0, baseline: float = 0.0,
            measure: str = "cumulative") -> Kpi:
    """A counter KPI: Poisson arrivals at a (Gamma-distributed when cv > 0) yearly rate."""
    from sim.model.enums import KpiMeasure

    return Kpi(id=kid, name_zh=kid, name_en=kid, kind=KpiKind.COUNTER, unit_en="count",
               baseline=baseline, rate_per_year=rate_per_year, rate_cv=cv, measure=KpiMeasure(measure))


def target_by(tid: str, item_id: str, deadline: date) -> Target:
    """Target: ``item_id`` finishes by (the end of) ``deadline``."""
    return Target(id=tid, name_zh=tid, name_en=tid, section="block", rule=TargetRule.ITEM_BY,
                  refs=(item_id,), deadline=deadline)


def float32_step(*arrays) -> float:
    """One float32 step at the largest finite magnitude in ``arrays``.

    The engines compute in float64 (the SimPy processes and the forward pass agree to
    about 1e-9 days) and records are float32, so equal results may differ by this much.
    """
    import numpy as np

    top = max((float(np.nanmax(np.abs(a[np.isfinite(a)]))) for a in map(np.asarray, arrays)
               if np.isfinite(a).any()), default=1.0)
    return float(np.spacing(np.float32(top)))
