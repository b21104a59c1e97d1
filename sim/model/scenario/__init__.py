"""Scenario overlays: YAML files that change any assumption of params/.

A scenario (scenarios/README.md documents every key) is read in two steps:

1. :func:`load_scenario` reads the file (``yaml.safe_load`` only) and the
   files it ``extends``, and checks keys and types without a plan: every
   unknown key and every wrongly typed value is a :class:`Problem` whose file
   is the YAML path and whose column is the dotted key path
   (``items.T14.multiplier.p2``).
2. :func:`apply_scenario` applies it to a loaded :class:`Plan` with
   ``dataclasses.replace`` (a chain ``base.yaml <- child.yaml`` applies the
   base first), checks ids against the plan, then re-validates the resulting
   plan with the checks of :mod:`sim.model.validate` (cycles, loadings,
   correlations, target rules, deadlines). It returns a new Plan or raises one
   :class:`PlanError` carrying every problem.

A slip (``slip: {T14: 6m}``) is added *work*: a register risk ``slip.T14`` with
probability 1, phase ``duration`` and a fixed impact equal to the working days
of the item's calendar in the slip's calendar span after its plan finish (6m =
182.6 days after 2022-12-31, less the Spring Festival stoppage in it). An item
that would finish on its plan date then finishes exactly the slip later; the
extra work propagates through every link type (FS, SS, FF, SYNC), and the
risk draws from its own random streams, so every other quantity keeps its draws
(common random numbers).

Modules: :mod:`~sim.model.scenario.readers` (typed values and their problems),
:mod:`~sim.model.scenario.schema` (every key), :mod:`~sim.model.scenario.read`
(files, ``extends``, digest), :mod:`~sim.model.scenario.apply` (an overlay on a
plan), :mod:`~sim.model.scenario.durations` (multipliers, planned work, slips as
the engine sees them), :mod:`~sim.model.scenario.revalidate` (the plan checks,
re-addressed to scenario keys).
"""

from sim.model.scenario.apply import apply_scenario
from sim.model.scenario.durations import (
    SLIP_PREFIX, effective_multiplier, planned_work_days, slip_risk, slip_work_days,
)
from sim.model.scenario.read import Overlay, Scenario, load_scenario, scenario_from_dict
from sim.model.scenario.readers import DURATION_HINT, MONTH_DAYS, parse_duration
from sim.model.scenario.revalidate import catalog_of_plan
from sim.model.scenario.schema import (
    ADD_FIELDS, ADD_RECORDS, ADJUST_FIELDS, ASSUMPTION_KEYS, BOOST_FIELDS, CLASS_FIELDS, CORRELATION_FIELDS,
    FACTOR_FIELDS, ITEM_FIELDS, KPI_FIELDS, LINK_FIELDS, REMOVE_FIELDS, REMOVE_RECORDS, RISK_FIELDS, SCHEMA,
    SECTION_ORDER, SHOCK_FIELDS, TARGET_FIELDS, UNIT_FIELDS, WINDOW_FIELDS, schema_keys,
)

__all__ = [
    "ADD_FIELDS", "ADD_RECORDS", "ADJUST_FIELDS", "ASSUMPTION_KEYS", "BOOST_FIELDS", "CLASS_FIELDS",
    "CORRELATION_FIELDS", "DURATION_HINT", "FACTOR_FIELDS", "ITEM_FIELDS", "KPI_FIELDS", "LINK_FIELDS", "MONTH_DAYS",
    "REMOVE_FIELDS", "REMOVE_RECORDS", "RISK_FIELDS", "SCHEMA", "SECTION_ORDER", "SHOCK_FIELDS", "SLIP_PREFIX",
    "TARGET_FIELDS", "UNIT_FIELDS", "WINDOW_FIELDS", "Overlay", "Scenario", "apply_scenario", "catalog_of_plan",
    "effective_multiplier", "load_scenario", "parse_duration", "planned_work_days", "scenario_from_dict",
    "schema_keys", "slip_risk", "slip_work_days",
]
