"""The programme headline of a what-if against its base, paired replication by replication.

* For each programme end date (plan.yaml ``end_dates``): the number of targets
  due in (previous end date, end date] that are met, per replication: its mean
  and P10-P90 for the base and the what-if, and the paired difference with its
  standard error.
* P(all headline targets met): the targets of section ``headline``, all met in
  the same replication.

Red/amber/green bands of a P(met): green >= 0.8, amber >= 0.5, red below.
Assumption: the 80 % level is the confidence the planning office asks of a
date elsewhere in the tool (P80 finish, ``sim tolerance --confidence 0.8``);
below an even chance is red.
"""

from __future__ import annotations

import numpy as np

from sim.analysis.summary import paired_difference
from sim.engine.compiled import CompiledModel
from sim.model import planmeta

GREEN, AMBER = 0.8, 0.5
HEADLINE_SECTION = "headline"


def rag(p: float) -> str:
    """'green', 'amber' or 'red' for a probability (see module docstring)."""
    if not np.isfinite(p):
        return ""
    return "green" if p >= GREEN else "amber" if p >= AMBER else "red"


def _spread(count: np.ndarray) -> dict[str, float]:
    return {"mean": float(count.mean()), "p10": float(np.quantile(count, 0.10)),
            "p90": float(np.quantile(count, 0.90))}


def compare(model: CompiledModel, base_met: np.ndarray, whatif_met: np.ndarray) -> dict:
    """Headline figures of the base and the what-if (same target order, same replications)."""
    plan = model.plan
    by_id = {t.id: t for t in plan.targets}
    deadlines = [by_id[t.id].deadline for t in model.targets]
    ends, out, previous = planmeta.end_dates(plan), [], None
    for end in ends:
        cols = [k for k, d in enumerate(deadlines) if d <= end.date and (previous is None or d > previous)]
        previous = end.date
        if not cols:
            continue
        b = base_met[:, cols].sum(axis=1).astype(np.float64)
        w = whatif_met[:, cols].sum(axis=1).astype(np.float64)
        d = paired_difference(w, b)
        out.append({"date": end.date.isoformat(), "zh": end.zh, "en": end.en, "targets": len(cols),
                    "base": _spread(b), "whatif": _spread(w), "diff": d["difference"], "se": d["difference_se"]})
    cols = [k for k, t in enumerate(model.targets) if by_id[t.id].section == HEADLINE_SECTION]
    p_all = None
    if cols:
        b = base_met[:, cols].all(axis=1).astype(np.float64)
        w = whatif_met[:, cols].all(axis=1).astype(np.float64)
        d = paired_difference(w, b)
        p_all = {"targets": len(cols), "base": float(b.mean()), "whatif": float(w.mean()),
                 "diff": d["difference"], "se": d["difference_se"]}
    return {"end_dates": out, "p_all_headline": p_all}
