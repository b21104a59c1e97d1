"""The plan as of a date, for ``sim run --as-of/--actuals``: read the facts, apply them, say what was used."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sim.interop.progress import read_actuals_file
from sim.model.actuals import Actuals, apply_actuals
from sim.model.entities import Plan
from sim.model.problems import PlanError, Problem


def prepare_plan(plan: Plan, *, actuals_path: Path | None, as_of: date | None) -> tuple[Plan, dict, list[str]]:
    """For the CLI: the plan as of ``as_of`` with the facts of ``actuals_path``, and its manifest entries.

    Without ``as_of`` the latest ``reported`` date of the file is used; without a
    file no facts are known. Returns (plan, manifest entries, notes).
    """
    actuals = read_actuals_file(actuals_path, plan) if actuals_path is not None else Actuals(())
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
