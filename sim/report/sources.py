"""Every assumption of the plan with its source, as tables for the method section.

One table per kind of input that carries a ``source`` column: scalar
assumptions, duration classes, factors and their correlations, risks, shocks,
calendar windows, KPI baselines and boosts, units, dependencies, items, targets.
"""

from __future__ import annotations

import pandas as pd

from sim.model.distribution import Distribution
from sim.model.entities import Plan
from sim.report.fonts import Lang
from sim.report.i18n import holiday_text
from sim.report.tables import View


def describe(dist: Distribution | None) -> str:
    """A distribution as text, e.g. ``pert(30, 90, 240)`` or ``lognormal(1.2, 1.8), floor 0.95``."""
    if dist is None:
        return ""
    if dist.values:
        body = ", ".join(f"{v:g}:{w:g}" for v, w in zip(dist.values, dist.weights))
    else:
        body = ", ".join(f"{p:g}" for p in dist.params)
    text = f"{dist.family}({body})"
    return text + (f", floor {dist.floor:g}" if dist.floor is not None else "")


def _name(obj, lang: Lang) -> str:
    zh, en = getattr(obj, "name_zh", ""), getattr(obj, "name_en", "")
    return (zh or en) if lang is Lang.ZH else (en or zh)


def assumption_views(plan: Plan, lang: Lang) -> list[View]:
    """The plan's inputs that are assumptions or carry a source, one view per kind."""
    j = ";".join
    tables = [
        ("scalar_assumptions", [{"key": a.key, "value": a.value, "unit": a.unit, "source": a.source}
                                for a in plan.assumptions]),
        ("duration_classes", [{"type": c.project_type, "name": _name(c, lang), "distribution": describe(c.multiplier),
                               "source": c.source} for c in plan.duration_classes]),
        ("factors", [{"id": f.id, "name": _name(f, lang), "loading": f.loading, "members": j(f.members),
                      "source": f.source} for f in plan.factors]),
        ("factor_correlations", [{"a": c.a, "b": c.b, "rho": c.rho, "source": c.source}
                                 for c in plan.factor_correlations]),
        ("risks", [{"id": r.id, "name": _name(r, lang), "probability_risk": r.probability,
                    "impact": describe(r.impact), "affects": j(r.targets), "mode": str(r.mode),
                    "phase": str(r.phase), "source": r.source} for r in plan.risks]),
        ("shocks", [{"id": s.id, "name": _name(s, lang), "probability_risk": s.probability,
                     "window": f"{s.window_start} – {s.window_end}", "length": describe(s.length),
                     "affects": j(s.affects), "source": s.source} for s in plan.shocks]),
        ("calendar", [{"calendar": w.calendar, "start": w.start, "end": w.end, "name": holiday_text(w.name_en, lang),
                       "source": w.source} for w in plan.calendar_windows]),
        ("kpi_baselines", [{"id": k.id, "name": _name(k, lang), "kind": str(k.kind), "unit": k.unit_en,
                            "baseline": k.baseline, "rate_per_year": k.rate_per_year, "rate_cv": k.rate_cv,
                            "source": k.source} for k in plan.kpis]),
        ("kpi_boosts", [{"id": b.kpi, "item": b.item, "step": b.step, "rate_per_year": b.rate_per_year,
                         "source": b.source} for b in plan.kpi_boosts]),
        ("units_table", [{"id": u.id, "name": _name(u, lang), "capacity": u.capacity, "source": u.source}
                         for u in plan.units]),
        ("links_table", [{"pred": ln.pred, "succ": ln.succ, "type": str(ln.type), "lag_days": ln.lag_days,
                          "source": ln.source} for ln in plan.links]),
        ("items_sources", [{"id": it.id, "name": _name(it, lang), "source": it.source} for it in plan.items]),
        ("targets_sources", [{"id": t.id, "name": _name(t, lang), "source": t.source} for t in plan.targets]),
    ]
    from sim.report.i18n import translated

    return [View(key, translated(pd.DataFrame(rows), lang), frozenset({"start", "end"})) for key, rows in tables
            if rows]
