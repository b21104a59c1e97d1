"""Actuals: observed facts about the plan (starts, finishes, progress, KPI values).

The actuals CSV (``actuals/README.md``) lists facts, each with the date it refers
to (``date``) and the date it became known (``reported``).
:mod:`~sim.model.actuals.read` reads and checks them (:func:`read_actuals` returns
:class:`Actuals` or raises one :class:`~sim.model.problems.PlanError` naming file,
line and column of every problem); :mod:`~sim.model.actuals.apply` turns the plan
into the plan as of a later date, using only the facts reported by then.
"""

from sim.model.actuals.apply import TAIL_EXHAUSTED, apply_actuals, expected_kpi
from sim.model.actuals.read import (
    COLUMNS, ITEM_KINDS, KPI_KINDS, REQUIRED_COLUMNS, Actuals, Fact, FactKind, parse_actuals, read_actuals,
)

__all__ = ["COLUMNS", "ITEM_KINDS", "KPI_KINDS", "REQUIRED_COLUMNS", "TAIL_EXHAUSTED", "Actuals", "Fact", "FactKind", "apply_actuals",
           "expected_kpi", "parse_actuals", "read_actuals"]
