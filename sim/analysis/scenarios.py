"""Scenario comparison on common random numbers: P(met) per scenario and the paired differences.

Pandas in, pandas out: each scenario comes as its ``targets.csv`` table and its ``met``
records (one row per replication, indexed by ``rep``, one 0/1 column per target). Reading
the run directories is :mod:`sim.studies.batch`. For a target ``t`` and replication ``r``::

    d_r = met_scenario(r) - met_reference(r)        (in {-1, 0, 1})
    difference = mean(d),  se = sd(d) / sqrt(n),  95 % interval = difference ± 1.96 se

so a scenario compared with itself differs by exactly zero.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.analysis.summary import paired_difference

KEY_ITEMS = 4  # items whose S-curves are overlaid across scenarios
KEY_ITEM_MIN_SHIFT = 0.5  # days the median finish must move for an item to be a key item


def compare(infos: dict[str, pd.DataFrame], met: dict[str, pd.DataFrame], *, reference: str) -> pd.DataFrame:
    """P(met) of every target per scenario and its paired difference against ``reference``.

    Parameters
    ----------
    infos
        Scenario name -> its targets table (``id, section, name_en, name_zh, deadline``), in batch order.
    met
        Scenario name -> its met records: index ``rep``, one column per target id of its table.
    reference
        The scenario the others are compared with.

    Returns
    -------
    DataFrame
        One row per (scenario, target): ``scenario, target, section, name_en,
        name_zh, deadline, runs, p_met, se, p_reference, difference,
        difference_se, ci95_low, ci95_high, excludes_zero``. The difference is
        NaN for a target the reference does not have.
    """
    ref_met = met[reference]
    rows = []
    for name, info in infos.items():
        scen = met[name]
        reps = scen.index.intersection(ref_met.index)
        for t in info.itertuples(index=False):
            x = scen[t.id].to_numpy(dtype=np.float64)
            p = float(x.mean())
            row = {"scenario": name, "target": t.id, "section": t.section, "name_en": t.name_en,
                   "name_zh": t.name_zh, "deadline": t.deadline, "runs": len(x), "p_met": p,
                   "se": math.sqrt(p * (1 - p) / len(x)), "reference": reference}
            row.update(paired_difference(scen.loc[reps, t.id].to_numpy(dtype=np.float64),
                                         ref_met.loc[reps, t.id].to_numpy(dtype=np.float64)
                                         if t.id in ref_met.columns else None))
            rows.append(row)
    return pd.DataFrame(rows)


def wide(comparison: pd.DataFrame, value: str) -> pd.DataFrame:
    """One row per target, one column per scenario, of ``value`` (e.g. ``p_met`` or ``difference``)."""
    order = list(dict.fromkeys(comparison["scenario"]))
    targets = list(dict.fromkeys(comparison["target"]))
    table = comparison.pivot(index="target", columns="scenario", values=value)
    return table.reindex(index=targets, columns=order)


def key_items(finishes: dict[str, dict[str, np.ndarray]], reference: str, ids: list[str],
              limit: int = KEY_ITEMS) -> list[str]:
    """Items whose median finish moves most between the reference and any scenario (none if nothing moves).

    ``finishes``: scenario -> item id -> finish days per replication.
    """
    ref = finishes[reference]
    shift: dict[str, float] = {}
    for n, f in finishes.items():
        if n == reference:
            continue
        for i in ids:
            if i in f and i in ref:
                d = abs(float(np.median(f[i]) - np.median(ref[i])))
                shift[i] = max(shift.get(i, 0.0), d)
    moved = sorted((i for i in shift if shift[i] > KEY_ITEM_MIN_SHIFT), key=lambda i: (-shift[i], ids.index(i)))
    return moved[:limit]
