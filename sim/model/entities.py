"""Frozen records of the plan: items, links, uncertainty, KPIs, targets.

Pure data: no SimPy, no I/O, no randomness. Dates are ``datetime.date`` here
(the edge); the engine converts them to days from the as-of date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import date

from sim.model.distribution import Distribution
from sim.model.enums import (
    KpiKind,
    KpiMeasure,
    LinkType,
    RiskMode,
    RiskPhase,
    Status,
    TargetRule,
)


@dataclass(frozen=True, slots=True)
class Unit:
    """A responsible unit (责任单位). ``capacity`` None means unlimited."""

    id: str
    name_zh: str
    name_en: str
    capacity: int | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class Item:
    """A task: a transport phase, block deliverable, environment sub-item, policy task.

    ``duration_days`` overrides the planned (remaining) working-day duration that
    is otherwise derived from ``plan_start``/``plan_finish`` and the calendar.
    ``multiplier`` overrides the reference-class multiplier of ``project_type``.
    """

    id: str
    group: str  # annex item (B01, T05, E27, K03, X01 ...)
    campaign: str  # an id of plan.yaml campaigns (open list)
    name_zh: str
    name_en: str
    units: tuple[str, ...]
    lead_units: tuple[str, ...]
    project_type: str
    status: Status
    plan_finish: date
    plan_start: date | None = None
    start_aspirational: bool = False
    finish_aspirational: bool = False
    plan_text_zh: str = ""
    length_km: float | None = None
    investment_cny_100m: float | None = None
    duration_days: float | None = None
    multiplier: Distribution | None = None
    calendar: str = "construction"
    outdoor: bool = True
    resource_unit: str | None = None
    source: str = ""
    # progress facts known on the as-of date (actuals); None when not reported
    actual_start: date | None = None
    actual_finish: date | None = None
    percent_complete: float | None = None  # share of the work done, in [0, 1]


@dataclass(frozen=True, slots=True)
class Link:
    """Dependency ``pred`` -> ``succ``; SYNC means both finish together (同步建成)."""

    pred: str
    succ: str
    type: LinkType
    lag_days: float = 0.0
    note: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class DurationClass:
    """Reference class of duration multipliers R = actual / planned (docs/calibration.md §2.2)."""

    project_type: str
    name_en: str
    multiplier: Distribution
    in_progress_sigma_scaling: bool = True  # scale sigma by sqrt(remaining fraction)
    source: str = ""
    # the published reference class alone (docs/calibration.md §2.2) when ``multiplier`` is narrowed
    # because the register adds discrete risks and shocks (§2.4); None: ``multiplier`` is the reference class
    reference: Distribution | None = None
    name_zh: str = ""  # optional Chinese name (the report's zh tables)


@dataclass(frozen=True, slots=True)
class Factor:
    """A common-cause factor of the Gaussian copula.

    Every item matched by ``members`` loads on the factor with variance share
    ``loading`` (its Z gets ``sqrt(loading) * G``); an item's shares must sum to <= 1.
    """

    id: str
    loading: float
    members: tuple[str, ...]  # selectors
    name_en: str = ""
    source: str = ""
    name_zh: str = ""  # optional Chinese name (the report's zh tables)


@dataclass(frozen=True, slots=True)
class FactorCorrelation:
    """Correlation between two factors' latent normals (rank correlation between groups)."""

    a: str
    b: str
    rho: float
    source: str = ""


@dataclass(frozen=True, slots=True)
class Risk:
    """A register entry: Bernoulli(probability) x impact, in days (negative = opportunity)."""

    id: str
    name_zh: str
    name_en: str
    probability: float
    impact: Distribution
    targets: tuple[str, ...]  # selectors of the items it can hit
    mode: RiskMode = RiskMode.EACH
    phase: RiskPhase = RiskPhase.DURATION
    source: str = ""
    # cost impact when it fires, as a share of each hit item's investment (None: a schedule-only risk);
    # ``impact`` fixed at 0 makes a cost-only risk
    cost_impact: Distribution | None = None


@dataclass(frozen=True, slots=True)
class CostClass:
    """Reference class of cost for a project type (docs/calibration.md §10).

    ``multiplier`` is C = outturn cost / budget (the plan's investment figure). Its latent
    normal is correlated with the item's schedule latent normal with ``rho_schedule``
    (Gaussian copula). ``standing_per_year`` is the extra cost, as a share of the budget,
    per year of finish after the plan date. Spending follows a Beta(``profile_a``,
    ``profile_b``) S-curve over the item's working time.
    """

    project_type: str
    name_en: str
    multiplier: Distribution
    rho_schedule: float = 0.0
    standing_per_year: float = 0.0
    profile_a: float = 2.0
    profile_b: float = 2.0
    source: str = ""


@dataclass(frozen=True, slots=True)
class Response:
    """A mitigation or response of the register, with its cost and effect (responses.csv).

    ``effect`` is ``probability`` (the risks' probability times ``value``), ``impact`` (their
    schedule and cost impact times ``value``) or ``duration`` (the planned work of the
    items ``acts_on`` selects times ``value``). ``acts_on`` holds risk ids for the first two,
    item selectors for ``duration``.
    """

    id: str
    name_zh: str
    name_en: str
    cost_cny_100m: float
    effect: str
    acts_on: tuple[str, ...]
    value: float
    source: str = ""


@dataclass(frozen=True, slots=True)
class Branch:
    """A conditional gate (branches.csv): when ``condition`` holds, ``item`` switches to an alternative.

    ``condition``: ``not_finished`` (item ``ref`` not finished by the end of ``date``) or
    ``risk_fired`` (risk ``ref``, a risk id or an instance key ``RISK/ITEM``, fired).
    ``action``: ``duration`` (the item's work times ``value``), ``delay`` (its start ``value``
    days later), ``add`` (a contingent item: it has work only when the condition holds) or
    ``drop`` (the deliverable is dropped: the item never finishes, and the targets on it fail).
    """

    id: str
    item: str
    condition: str
    ref: str
    action: str
    value: float = 1.0
    date: date | None = None
    name_en: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class PlannedSpend:
    """The plan's own investment figure for one item and calendar year (亿元)."""

    item: str
    year: int
    amount_cny_100m: float
    source: str = ""


@dataclass(frozen=True, slots=True)
class Shock:
    """A stoppage common to every affected item in a replication.

    With probability ``probability`` it begins on a day uniform in
    [``window_start``, ``window_end``] and lasts ``length`` days, during which
    affected items make no progress and do not start.
    """

    id: str
    name_zh: str
    name_en: str
    probability: float
    window_start: date
    window_end: date
    length: Distribution
    affects: tuple[str, ...]  # selectors
    source: str = ""


@dataclass(frozen=True, slots=True)
class CalendarWindow:
    """A non-working window [start, end] (inclusive) of a named calendar."""

    calendar: str
    start: date
    end: date
    name_en: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class Kpi:
    """A counter or index KPI.

    Counter: stock = ``baseline`` + Poisson arrivals at ``rate_per_year`` (the rate
    itself Gamma-distributed with coefficient of variation ``rate_cv``), minus
    attrition: each unit lapses ``attrition_years`` after it arrived unless renewed
    with probability ``renewal_prob``.  Index: grows at ``rate_per_year``
    (log-growth uncertainty ``rate_cv`` as sd, monthly volatility ``volatility``).
    """

    id: str
    name_zh: str
    name_en: str
    kind: KpiKind
    unit_en: str
    baseline: float
    rate_per_year: float
    rate_cv: float = 0.0
    measure: KpiMeasure = KpiMeasure.STOCK
    attrition_years: float | None = None
    renewal_prob: float = 1.0
    volatility: float = 0.0
    units: tuple[str, ...] = ()
    group: str = ""
    source: str = ""
    # what the rate and baseline rest on (docs/calibration.md §9): "direct" (a 2019 figure of the same
    # quantity), "related" (a related 2019 figure times an assumed share), "none" (no evidence: a wide prior,
    # flagged in the KPI table); "" = not stated
    evidence: str = ""
    lead_units: tuple[str, ...] = ()
    # the date ``baseline`` refers to, when before the plan's as-of date (actuals: a KPI not observed since the
    # plan date, or last observed earlier); the engine simulates the KPI from there. None = the as-of date
    origin: date | None = None


@dataclass(frozen=True, slots=True)
class KpiBoost:
    """When ``item`` finishes, add ``step`` to the KPI and ``rate_per_year`` to its rate."""

    kpi: str
    item: str
    step: float = 0.0
    rate_per_year: float = 0.0
    source: str = ""


@dataclass(frozen=True, slots=True)
class Target:
    """A target with the rule that decides "met"."""

    id: str
    name_zh: str
    name_en: str
    section: str  # an id of plan.yaml sections (open list)
    rule: TargetRule
    refs: tuple[str, ...]
    deadline: date
    k: int | None = None
    threshold: float | None = None
    text_zh: str = ""
    source: str = ""
    # written 力争/争取 in the plan: a stretch target (shown in the target table; a scenario can relax it)
    aspirational: bool = False


@dataclass(frozen=True, slots=True)
class Assumption:
    """A scalar assumption (key = value [unit]) with its source."""

    key: str
    value: str
    unit: str = ""
    source: str = ""


@dataclass(frozen=True)
class Plan:
    """The whole plan as loaded and validated. Tuples keep the file order."""

    as_of: date
    items: tuple[Item, ...]
    links: tuple[Link, ...]
    units: tuple[Unit, ...]
    duration_classes: tuple[DurationClass, ...]
    factors: tuple[Factor, ...]
    factor_correlations: tuple[FactorCorrelation, ...]
    risks: tuple[Risk, ...]
    shocks: tuple[Shock, ...]
    calendar_windows: tuple[CalendarWindow, ...]
    kpis: tuple[Kpi, ...]
    kpi_boosts: tuple[KpiBoost, ...]
    targets: tuple[Target, ...]
    assumptions: tuple[Assumption, ...] = ()
    cost_classes: tuple[CostClass, ...] = ()  # cost_classes.csv (empty: no cost model)
    planned_spend: tuple[PlannedSpend, ...] = ()  # investment_plan.csv (the plan's annual figures)
    responses: tuple[Response, ...] = ()  # responses.csv (mitigations with a cost and an effect)
    branches: tuple[Branch, ...] = ()  # branches.csv (conditional gates)
    applied_responses: tuple[str, ...] = ()  # responses in effect (a scenario's apply_responses)
    origin: str = ""  # where it was loaded from (for messages and the manifest)
    checkpoints: tuple[date, ...] = field(default=())  # KPI record dates (year ends)
    meta: object = None  # sim.model.planmeta.PlanMeta: title, end dates, campaigns, sections (plan.yaml)
    # (file, encoding found) per file read; provenance, so not part of equality
    file_encodings: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def item(self, item_id: str) -> Item:
        """The item with id ``item_id`` (KeyError if there is none)."""
        return self._items_by_id[item_id]

    @cached_property
    def derived(self) -> dict:
        """A memo of what is derived from this plan by pure functions (e.g. which items a selector
        matches, :func:`sim.model.select.resolve`); the plan is frozen, so it cannot go stale."""
        return {}

    @cached_property
    def _items_by_id(self) -> dict[str, Item]:
        # an index built on first use (the plan is frozen, so it cannot go stale); the first of
        # duplicate ids wins, as the linear search did (validation rejects duplicates anyway)
        index: dict[str, Item] = {}
        for it in self.items:
            index.setdefault(it.id, it)
        return index

    def cost_class(self, project_type: str) -> CostClass | None:
        """The cost class of ``project_type``, or None."""
        for c in self.cost_classes:
            if c.project_type == project_type:
                return c
        return None

    def assumption(self, key: str, default: str | None = None) -> str | None:
        for a in self.assumptions:
            if a.key == key:
                return a.value
        return default

