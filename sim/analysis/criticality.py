"""Criticality, cruciality and the schedule sensitivity index per target and item.

For a target T and an item i, over the replications:

* ``decisive`` -- share in which i is the ref that decides T (see
  :func:`sim.analysis.drivers.decisive_items`);
* ``criticality`` -- share in which i lies on the driving chain of T's decisive
  item (i's own date or duration set T's date through the dependencies);
  always >= ``decisive``;
* ``cruciality`` -- Pearson correlation of i's duration (finish - start, days)
  with T's achieved day; ``finish_corr`` the same for i's finish;
* ``ssi`` -- schedule sensitivity index ``criticality * sd(duration_i) / sd(T)``
  (PMI's SSI; 0 when T's date does not vary).

Every share carries its Monte Carlo standard error sqrt(p(1-p)/n). Targets
whose date only ever depends on one item (no second ref, no predecessor on its
driving chain) add nothing and are left out, as are KPI targets.
The programme as a whole appears as the pseudo-target ``PROGRAMME_ID``: the
latest finish of every item planned to finish by the programme end (plan.yaml end_dates).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.drivers import (
    KPI_RULES,
    achieved_days,
    chain_links,
    contributors,
    decisive_items,
    draws_for,
    driving_chains,
    item_days,
)
from sim.analysis.summary import prob_se
from sim.model import planmeta
from sim.engine.compiled import CompiledModel
from sim.model.clock import FAR_DAY, end_of
from sim.engine.sampling import Draws

PROGRAMME_ID = "PROGRAMME"


def criticality_table(
    model: CompiledModel, records: pd.DataFrame, *, seed: int | None = None, lhs: bool = False,
    draws: Draws | None = None, natural: np.ndarray | None = None,
) -> pd.DataFrame:
    """Long table: one row per (target, item) where the item is a contributor or ever critical.

    Parameters
    ----------
    model : CompiledModel
        The model the records were simulated from.
    records : DataFrame
        Replication records (``rep``, ``start:*``, ``finish:*``, ``achieved:*``).
    seed, lhs : int, bool
        The run's seed and sampling mode, to re-draw the work and pause windows ...
    draws : Draws, optional
        ... or those draws, already made (:func:`sim.analysis.drivers.draws_for`).
    natural : array, optional
        :func:`sim.analysis.drivers.natural_finish` of these records and draws, if already computed.
    """
    start = item_days(model, records, "start")
    finish = item_days(model, records, "finish")
    achieved = achieved_days(model, records)
    if draws is None:
        if seed is None:
            raise TypeError("criticality_table needs the run's seed (or its draws)")
        draws = draws_for(model, records["rep"].to_numpy(), seed=seed, lhs=lhs)
    links = chain_links(model, start, finish, draws, natural)
    decisive = decisive_items(model, finish, achieved)
    duration = finish - start
    frames = []
    for t, (spec, items) in enumerate(zip(model.targets, contributors(model))):
        if spec.rule in KPI_RULES:
            continue
        table = _one_target(spec.id, items, decisive[:, t], achieved[:, t], links, duration, finish)
        if (table["criticality"] > 0).sum() > 1 or len(items) > 1:  # more than one contributor
            frames.append(table)
    frames.append(_programme(model, links, duration, finish))
    frames = [f for f in frames if not f.empty]
    if not frames:  # e.g. a plan of one item (an imported schedule): no target has two contributors
        numbers = ("decisive", "decisive_se", "criticality", "criticality_se", "cruciality", "finish_corr", "ssi")
        return pd.DataFrame({"target": pd.Series([], dtype=object), "item": pd.Series([], dtype=object),
                             **{c: pd.Series([], dtype=np.float64) for c in numbers},
                             "contributor": pd.Series([], dtype=bool)})
    out = pd.concat(frames, ignore_index=True)
    out.insert(1, "item", [model.item_ids[k] for k in out.pop("item_index")])
    return out.sort_values(["target", "criticality"], ascending=[True, False], kind="stable").reset_index(drop=True)


def _programme(model: CompiledModel, links, duration, finish) -> pd.DataFrame:
    end = end_of(planmeta.programme_end(model.plan), model.as_of)
    items = np.flatnonzero((model.plan_finish_day <= end) & ~model.fixed)
    if len(items) < 2:
        return pd.DataFrame()
    dec = items[np.argmax(finish[:, items], axis=1)]
    return _one_target(PROGRAMME_ID, items, dec, finish[:, items].max(axis=1), links, duration, finish)


def _one_target(tid, items, decisive, achieved, links, duration, finish) -> pd.DataFrame:
    n = len(decisive)
    on_chain = driving_chains(links, decisive)
    crit = on_chain.mean(axis=0)
    dec_share = np.bincount(decisive[decisive >= 0], minlength=on_chain.shape[1]) / n
    keep = np.union1d(items, np.flatnonzero(crit > 0))
    # correlations and spreads over the replications in which the dates exist (not "never")
    never = finish[:, keep] >= FAR_DAY
    y = np.where(achieved < FAR_DAY, achieved, np.nan)
    dur = np.where(never, np.nan, duration[:, keep])
    fin = np.where(never, np.nan, finish[:, keep])
    sd_y = np.nanstd(y) if np.isfinite(y).sum() > 1 else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        ssi = np.where(sd_y > 0, crit[keep] * np.nanstd(dur, axis=0) / max(sd_y, 1e-12), 0.0)
    return pd.DataFrame(
        {
            "target": tid,
            "item_index": keep,
            "decisive": dec_share[keep],
            "decisive_se": prob_se(dec_share[keep], n),
            "criticality": crit[keep],
            "criticality_se": prob_se(crit[keep], n),
            "cruciality": _corr(dur, y),
            "finish_corr": _corr(fin, y),
            "ssi": ssi,
            "contributor": np.isin(keep, items),
        }
    )


def _corr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of ``x`` with ``y`` over rows where both are finite; 0 if constant."""
    ok = np.isfinite(x) & np.isfinite(y)[:, None]
    cnt = ok.sum(axis=0)
    xs = np.where(ok, x, 0.0)
    ys = np.where(ok, np.nan_to_num(y)[:, None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        xc = np.where(ok, xs - xs.sum(axis=0) / cnt, 0.0)
        yc = np.where(ok, ys - ys.sum(axis=0) / cnt, 0.0)
        den = np.sqrt((xc**2).sum(axis=0) * (yc**2).sum(axis=0))
        r = (xc * yc).sum(axis=0) / den
    return np.where((den > 0) & (cnt > 1), r, 0.0)
