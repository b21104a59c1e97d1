"""Is a KPI's prior derived from its own target?  The check ``sim validate`` warns with (docs/calibration.md §9).

A KPI's rate and baseline must come from evidence that does not look at the
target it is meant to forecast. The check is concrete:

* **stated**: the KPI's ``source`` says the rate or baseline was set to reach
  the target (:data:`DERIVED_WORDS`, e.g. "set so that the mean just reaches",
  "rate = target pace");
* **lands on it**: the KPI's ``evidence`` is blank or ``none`` and, for a
  target on it, the prior's central projection at the deadline lies within
  :data:`TOLERANCE` (relative) of the threshold: for a counter ``baseline +
  rate x years`` (arrivals only, lapses ignored); for an index ``baseline x (1 +
  rate)^years``; for a growth target (``kpi_cagr_ge``) the rate itself against
  the threshold. A KPI resting on a figure of the same quantity (``direct``) or
  a related figure (``related``) may land near its target by itself and is not
  flagged for that.
"""

from __future__ import annotations

import re

from sim.model.clock import years_to
from sim.model.entities import Kpi, Plan, Target
from sim.model.enums import KpiKind, KpiMeasure, TargetRule

TOLERANCE = 0.10
DERIVED_WORDS = re.compile(
    r"set so that|just reach|so that the mean (just )?reaches|rate\s*=\s*target|target pace|"
    r"baseline\s*=\s*(the )?(threshold|target)|at the target level|mean just",
    re.IGNORECASE)


def _years(plan: Plan, t: Target) -> float:
    return max(years_to(t.deadline, plan.as_of), 0.0)


def projection(plan: Plan, kpi: Kpi, t: Target) -> float:
    """The prior's central value of ``kpi`` at ``t``'s deadline (see the module docstring)."""
    y = _years(plan, t)
    if t.rule is TargetRule.KPI_CAGR_GE:
        return kpi.rate_per_year
    if kpi.kind is KpiKind.COUNTER:
        base = 0.0 if kpi.measure is KpiMeasure.CUMULATIVE else kpi.baseline
        return base + kpi.rate_per_year * y
    return kpi.baseline * (1.0 + kpi.rate_per_year) ** y


def derived_from_target(plan: Plan) -> list[str]:
    """One warning line per KPI whose rate or baseline is derived from its own target."""
    by_kpi: dict[str, list[Target]] = {}
    for t in plan.targets:
        if t.rule in (TargetRule.KPI_GE, TargetRule.KPI_CAGR_GE) and t.threshold is not None:
            by_kpi.setdefault(t.refs[0], []).append(t)
    out = []
    for k in plan.kpis:
        m = DERIVED_WORDS.search(k.source or "")
        if m:
            out.append(f"KPI {k.id}: its source says the prior was derived from the target ({m.group(0)!r}); "
                       "set the rate and baseline from evidence (docs/calibration.md §9)")
            continue
        if k.evidence in ("direct", "related"):
            continue
        for t in by_kpi.get(k.id, []):
            proj = projection(plan, k, t)
            if t.threshold and abs(proj / t.threshold - 1.0) <= TOLERANCE:
                what = "rate" if t.rule is TargetRule.KPI_CAGR_GE else "projection"
                out.append(f"KPI {k.id}: evidence {k.evidence or 'not stated'} and its {what} {proj:.4g} is "
                           f"within {TOLERANCE:.0%} of target {t.id} ({t.threshold:g} by {t.deadline}): "
                           "derived from the target? (docs/calibration.md §9)")
                break
    return out


def no_evidence(plan: Plan) -> list[str]:
    """Ids of the KPIs flagged ``evidence = none``."""
    return [k.id for k in plan.kpis if k.evidence == "none"]
