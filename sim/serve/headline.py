"""The programme headline of a what-if against its base, paired replication by replication.

The figures are those of the report (:mod:`sim.analysis.headline`): for each
programme end date the number of targets due then that are met (mean, P10-P90),
and P(all headline targets met). Here both are computed for the base and the
what-if on the same replications, with the paired difference and its standard
error sd(d)/sqrt(n).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis import headline as hl
from sim.analysis.summary import paired_difference
from sim.engine.compiled import CompiledModel
from sim.engine.replicate import column

rag = hl.rag


def _records(ids: list[str], met: np.ndarray, cols: dict[str, int]) -> pd.DataFrame:
    """The ``rep`` and ``met:<target>`` columns :mod:`sim.analysis.headline` reads."""
    data = {"rep": np.arange(met.shape[0])}
    data.update({column("met", t): met[:, cols[t]].astype(np.int8) for t in ids if t in cols})
    return pd.DataFrame(data)


def compare(model: CompiledModel, base_met: np.ndarray, whatif_met: np.ndarray) -> dict:
    """Headline figures of the base and the what-if (``model``'s target order, same replications)."""
    plan = model.plan
    cols = {t.id: k for k, t in enumerate(model.targets)}
    head = hl.headline_ids(plan)
    ids = list(dict.fromkeys([*head, *(t.id for t in plan.targets)]))
    base_rec, what_rec = _records(ids, base_met, cols), _records(ids, whatif_met, cols)
    base_ends, what_ends = hl.end_date_counts(plan, base_rec), hl.end_date_counts(plan, what_rec)
    out = []
    for b, w in zip(base_ends.itertuples(), what_ends.itertuples()):
        due = [cols[t] for t in hl.targets_due(plan, b.end_date)]
        if not due:
            continue
        d = paired_difference(whatif_met[:, due].sum(axis=1), base_met[:, due].sum(axis=1))
        out.append({"date": b.end_date.isoformat(), "zh": b.label_zh, "en": b.label_en, "targets": int(b.targets),
                    "base": {"mean": b.expected_met, "p10": b.p10, "p50": b.p50, "p90": b.p90},
                    "whatif": {"mean": w.expected_met, "p10": w.p10, "p50": w.p50, "p90": w.p90},
                    "diff": d["difference"], "se": d["difference_se"]})
    p_all = None
    if head:
        b, w = hl.p_all_met(plan, base_rec, head), hl.p_all_met(plan, what_rec, head)
        k = [cols[t] for t in head]
        d = paired_difference(np.asarray(whatif_met[:, k].all(axis=1)), np.asarray(base_met[:, k].all(axis=1)))
        p_all = {"targets": b["targets"], "base": b["p"], "whatif": w["p"], "diff": d["difference"],
                 "se": d["difference_se"]}
    return {"end_dates": out, "p_all_headline": p_all}
