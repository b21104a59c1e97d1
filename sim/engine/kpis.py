"""KPI paths on the monthly grid, vectorised over replications (one clock for all KPIs).

Counters: Poisson arrivals whose per-replication rate was drawn Gamma (so counts
are negative binomial), plus rate boosts that start when an enabling item
finishes (exposure-weighted, so a boost starting mid-month counts for the part
of the month after it) and step boosts; stocks lose units whose certificates
lapse after ``attrition_years`` unless renewed. Indices: geometric growth with
an uncertain annual log-growth, monthly volatility and boosts.

KPIs do not feed back into the schedule, so they are computed after it from
the items' finish days; the same function serves both schedule engines.
"""

from __future__ import annotations

import numpy as np

from sim.engine import streams
from sim.engine.streams import ChunkStreams
from sim.engine.compiled import CompiledModel, KpiSpec
from sim.model.clock import DAYS_PER_MONTH, DAYS_PER_YEAR
from sim.model.enums import KpiKind, KpiMeasure



def kpi_paths(model: CompiledModel, finish: np.ndarray, kpi_rate: np.ndarray, cs: ChunkStreams) -> np.ndarray:
    """KPI values at every grid day: array (rows, kpis, len(model.kpi_grid)).

    ``finish`` may have fewer rows than a chunk (a partial last chunk); the
    random draws are made for the whole chunk and the first rows kept, so a
    replication's KPI path does not depend on how many others were run.
    """
    rows = finish.shape[0]
    size = streams.CHUNK
    if rows < size:
        finish = np.vstack([finish, np.full((size - rows, finish.shape[1]), np.inf)])
        kpi_rate = np.vstack([kpi_rate, np.repeat(kpi_rate[-1:], size - rows, axis=0)])
    grid = model.kpi_grid
    out = np.empty((size, len(model.kpis), len(grid)))
    for j, k in enumerate(model.kpis):
        if k.kind is KpiKind.COUNTER:
            out[:, j, :] = _counter(k, grid, finish, kpi_rate[:, j], cs)
        else:
            out[:, j, :] = _index(k, grid, finish, kpi_rate[:, j], cs)
    return out[:rows]


def _active(k: KpiSpec, grid: np.ndarray) -> np.ndarray:
    """1 for the grid intervals on or after the KPI's origin, 0 before (the grid holds the origin day)."""
    return (grid[:-1] >= k.origin_day).astype(np.float64)


def _exposure_years(grid: np.ndarray, since: np.ndarray) -> np.ndarray:
    """Years of each grid interval after ``since`` (rows,) -> (rows, intervals)."""
    lo, hi = grid[:-1][None, :], grid[1:][None, :]
    return np.clip(hi - np.maximum(lo, since[:, None]), 0.0, hi - lo) / DAYS_PER_YEAR


def _steps(k: KpiSpec, grid: np.ndarray, finish: np.ndarray) -> np.ndarray:
    """Cumulative step boosts at each grid day (rows, len(grid))."""
    total = np.zeros((finish.shape[0], len(grid)))
    for item, step in zip(k.boost_items, k.boost_steps):
        if step:
            total += step * (finish[:, item][:, None] <= grid[None, :])
    return total


SEQUENTIAL_MAX_LAM = 30.0  # above this the search would take many steps: the incomplete-gamma route


def poisson_ppf(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Smallest k with P(Poisson(lam) <= k) >= u, elementwise (inverse transform).

    Sequential search (the textbook inversion): walk k = 0, 1, ... adding the pmf
    ``p_k = p_{k-1} lam / k`` until the CDF reaches ``u``; each step only touches the
    elements still below. Rates here are small (a boost over one interval), so a
    few steps finish almost every element; large rates take scipy's ``pdtrik``.
    """
    u = np.asarray(u, dtype=np.float64)
    lam = np.broadcast_to(np.asarray(lam, dtype=np.float64), u.shape)
    out = np.zeros(u.shape)
    pos = np.flatnonzero(lam > 0)
    if pos.size == 0:
        return out
    flat_u, flat_lam, flat_out = u.reshape(-1), lam.reshape(-1), out.reshape(-1)
    big = flat_lam[pos] > SEQUENTIAL_MAX_LAM
    if big.any():
        flat_out[pos[big]] = _poisson_ppf_gamma(flat_u[pos[big]], flat_lam[pos[big]])
        pos = pos[~big]
    ll = flat_lam[pos]
    uu = flat_u[pos]
    pmf = np.exp(-ll)
    cdf = pmf.copy()
    k = 0
    idx = np.flatnonzero(cdf < uu)  # elements whose quantile is above k
    while idx.size:
        k += 1
        pmf, ll, uu, cdf = pmf[idx] * ll[idx] / k, ll[idx], uu[idx], cdf[idx]
        cdf += pmf
        pos = pos[idx]
        flat_out[pos] = k
        # rounding can leave the summed CDF a hair below u = 1 - 1e-12 forever: stop at the pmf's underflow
        idx = np.flatnonzero((cdf < uu) & (pmf > 0))
    return out


def _poisson_ppf_gamma(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    from scipy import special

    k = np.maximum(np.ceil(special.pdtrik(u, lam)), 0.0)
    below = (k >= 1) & (special.pdtr(np.maximum(k - 1, 0), lam) >= u)
    return np.where(below, k - 1, k)


def binomial_ppf(u: np.ndarray, n: np.ndarray, p: float) -> np.ndarray:
    """Smallest k with P(Binomial(n, p) <= k) >= u, elementwise (inverse transform).

    Sequential search as in :func:`poisson_ppf`, with ``p_k = p_{k-1} (n-k+1)/k p/(1-p)``.
    """
    u = np.asarray(u, dtype=np.float64)
    n = np.broadcast_to(np.asarray(n, dtype=np.float64), u.shape)
    out = np.zeros(u.shape)
    if p <= 0:
        return out
    if p >= 1:
        return np.maximum(n, 0.0).copy()
    flat_u, flat_n, flat_out = u.reshape(-1), n.reshape(-1), out.reshape(-1)
    pos = np.flatnonzero(flat_n > 0)
    nn, uu = flat_n[pos], flat_u[pos]
    pmf = np.exp(nn * np.log1p(-p))
    cdf = pmf.copy()
    odds = p / (1.0 - p)
    k = 0
    idx = np.flatnonzero((cdf < uu) & (nn > 0))
    while idx.size:
        k += 1
        pmf, nn, uu, cdf, pos = pmf[idx] * (nn[idx] - k + 1) / k * odds, nn[idx], uu[idx], cdf[idx], pos[idx]
        cdf += pmf
        flat_out[pos] = k
        idx = np.flatnonzero((cdf < uu) & (k < nn) & (pmf > 0))
    return out


def _counter(k: KpiSpec, grid, finish, rate, cs: ChunkStreams) -> np.ndarray:
    """Counter path. Random numbers keep common random numbers across scenarios: the base
    arrivals' stream depends only on the KPI's own rate, and each boost's arrivals are drawn
    by inverse transform from a fixed-size stream of their own, so moving an item's finish
    changes only the replications whose exposure moved."""
    n = finish.shape[0]
    dt_years = np.diff(grid) / DAYS_PER_YEAR * _active(k, grid)  # nothing arrives before the KPI's origin
    lam = rate[:, None] * dt_years[None, :]
    rng = cs.generator(f"kpi/{k.id}/arrivals")
    arrivals = rng.poisson(np.maximum(lam, 0.0)).astype(np.float64)
    for item, item_id, add in zip(k.boost_items, k.boost_ids, k.boost_rates):
        if add:
            key = f"kpi/{k.id}/boost/{item_id}"
            u = cs.generator(key).random(arrivals.shape)
            since = np.maximum(finish[:, item], k.origin_day)
            arrivals += poisson_ppf(u, max(add, 0.0) * _exposure_years(grid, since))
    lapses = np.zeros_like(arrivals)
    if k.measure is KpiMeasure.STOCK and k.attrition_years:
        lapses = _lapses(k, grid, arrivals, cs)
    start = k.baseline if k.measure is KpiMeasure.STOCK else 0.0
    path = np.empty((n, len(grid)))
    path[:, 0] = start
    path[:, 1:] = start + np.cumsum(arrivals - lapses, axis=1)
    return path + _steps(k, grid, finish)


def _lapses(k: KpiSpec, grid: np.ndarray, arrivals: np.ndarray, cs: ChunkStreams) -> np.ndarray:
    """Units whose certificate lapses in each interval and is not renewed.

    Baseline units come up for renewal uniformly over the first ``attrition_years``
    (assumption: their certificate ages are uniform on the as-of date); units that
    arrive later come up ``attrition_years`` after arrival (interval midpoint).
    Renewed units would come up again after a further period, beyond any horizon
    used here, and are not followed.
    """
    n, g = arrivals.shape
    assert k.attrition_years  # called only for a stock KPI with attrition (see _counter)
    period = k.attrition_years * DAYS_PER_YEAR
    p_lapse = 1.0 - k.renewal_prob
    rng = cs.generator(f"kpi/{k.id}/lapses")
    base_total = rng.binomial(int(round(k.baseline)), p_lapse, size=n)
    age = np.maximum(grid - k.origin_day, 0.0)  # certificate ages count from the KPI's origin
    share = np.clip(np.minimum(age[1:], period) - np.minimum(age[:-1], period), 0.0, None) / period
    pvals = np.append(share, max(0.0, 1.0 - share.sum()))
    lapses = rng.multinomial(base_total, pvals)[:, :g].astype(np.float64)
    mids = 0.5 * (grid[:-1] + grid[1:]) + period
    due = np.searchsorted(grid[1:], mids, side="left")  # interval in which each cohort is due
    u = cs.generator(f"kpi/{k.id}/later_lapses").random(arrivals.shape)
    for src in np.nonzero(due < g)[0]:
        lapses[:, due[src]] += binomial_ppf(u[:, src], arrivals[:, src], p_lapse)
    return lapses


def _index(k: KpiSpec, grid, finish, log_growth, cs: ChunkStreams) -> np.ndarray:
    n = finish.shape[0]
    dt = np.diff(grid) * _active(k, grid)  # no growth before the KPI's origin
    dlog = log_growth[:, None] * (dt / DAYS_PER_YEAR)[None, :]
    for item, add in zip(k.boost_items, k.boost_rates):
        if add:
            dlog = dlog + add * _exposure_years(grid, np.maximum(finish[:, item], k.origin_day))
    if k.volatility > 0:
        z = cs.generator(f"kpi/{k.id}/noise").standard_normal((n, len(dt)))
        dlog = dlog + k.volatility * np.sqrt(dt / DAYS_PER_MONTH)[None, :] * z
    path = np.empty((n, len(grid)))
    path[:, 0] = 0.0
    path[:, 1:] = np.cumsum(dlog, axis=1)
    return k.baseline * np.exp(path) + _steps(k, grid, finish)
