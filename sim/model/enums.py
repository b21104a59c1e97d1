"""Closed vocabularies of the plan-as-data files (every option is a StrEnum)."""

from __future__ import annotations

from enum import StrEnum


# Campaigns and target sections are open lists, read from params/plan.yaml (sim.model.planmeta).


class Status(StrEnum):
    """State of an item on the as-of date."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class LinkType(StrEnum):
    """Dependency types. SYNC is 同步建成: finish-to-finish both ways."""

    FS = "FS"
    SS = "SS"
    FF = "FF"
    SYNC = "SYNC"


class DistFamily(StrEnum):
    """Distribution families; parameterisation documented in params/README.md."""

    FIXED = "fixed"  # p1 = value
    UNIFORM = "uniform"  # p1 = min, p2 = max
    TRIANGULAR = "triangular"  # p1 = min, p2 = mode, p3 = max
    PERT = "pert"  # BetaPERT, p1 = min, p2 = mode, p3 = max (lambda = 4)
    TRIGEN = "trigen"  # p1 = P10, p2 = mode, p3 = P90 (triangular fitted to them)
    LOGNORMAL = "lognormal"  # p1 = median, p2 = P90
    LOGNORMAL_SIGMA = "lognormal_sigma"  # p1 = median, p2 = sigma of log
    EXPONENTIAL = "exponential"  # p1 = mean
    DISCRETE = "discrete"  # values "v1|v2|...", weights "w1|w2|..."


class KpiKind(StrEnum):
    COUNTER = "counter"  # countable stock or flow, Poisson-Gamma arrivals
    INDEX = "index"  # continuous quantity with growth and volatility


class KpiMeasure(StrEnum):
    """How a counter's target is read."""

    STOCK = "stock"  # baseline + arrivals - attrition
    CUMULATIVE = "cumulative"  # arrivals since the as-of date only ("累计新增")


class TargetRule(StrEnum):
    ITEM_BY = "item_by"  # the one ref (item) finishes by the deadline
    ALL_OF = "all_of"  # every ref met by the deadline
    K_OF_N = "k_of_n"  # at least k refs met by the deadline
    KPI_GE = "kpi_ge"  # KPI value at the deadline >= threshold
    KPI_CAGR_GE = "kpi_cagr_ge"  # index KPI: compound annual growth from as-of >= threshold
    # 年度投资完成率: investment spent in the deadline's calendar year (up to the deadline) by the items the refs
    # select, over the plan's investment for that period, >= threshold (refs are selectors)
    INVEST_GE = "invest_ge"


class RiskMode(StrEnum):
    """How one risk of the register hits the items it names."""

    COMMON = "common"  # one occurrence and one impact for all its items
    EACH = "each"  # independent occurrence and impact per item


class RiskPhase(StrEnum):
    DURATION = "duration"  # adds working days to the item's duration
    START = "start"  # adds calendar days to the item's start (pre-construction)


class Selector(StrEnum):
    """Selector words and prefixes: `all`, `outdoor`, `type:rail;campaign:environment;T14`."""

    ALL = "all"
    OUTDOOR = "outdoor"  # every item with outdoor = true (typhoon stoppages)
    TYPE = "type"
    CAMPAIGN = "campaign"
    UNIT = "unit"
    GROUP = "group"
