"""Draw every uncertain quantity of one replication chunk, vectorised.

One call per chunk; nothing is drawn scalar by scalar. Each quantity has its own
keyed stream (:mod:`sim.engine.streams`), so draws are shared across scenarios
(common random numbers) and across executors.

Duration multipliers use a Gaussian copula with common-cause factors::

    Z_i = sum_f sqrt(l_if) * G_f + sqrt(1 - sum_f l_if) * eps_i,   R_i = F_i^{-1}(Phi(Z_i))

where ``G`` is jointly normal with the factors' correlation matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from sim.engine import streams
from sim.engine.streams import ChunkStreams
from sim.engine.compiled import CompiledModel
from sim.engine.distributions import gamma_ppf, norm_cdf, ppf, ppf_columns, ppf_elements
from sim.model.enums import KpiKind, RiskPhase


@dataclass
class Draws:
    """The sampled drivers of ``n`` replications (rows)."""

    multiplier: np.ndarray  # (n, items) duration multiplier
    work: np.ndarray  # (n, items) working days to do, after multiplier and risks
    wait: np.ndarray  # (n, items) earliest start (days from as-of)
    pause_start: np.ndarray  # (n, shocks) day the shock begins, +inf if it does not fire
    pause_end: np.ndarray  # (n, shocks)
    risk_fired: np.ndarray  # (n, risk instances) bool
    factor: np.ndarray  # (n, factors) latent normal G
    kpi_rate: np.ndarray  # (n, kpis) sampled rate (per year) or growth
    z: np.ndarray | None = None  # (n, items) latent schedule normal of the copula (the cost copula reads it)

    def rows(self, sl: slice | np.ndarray) -> Draws:
        fields: dict[str, Any] = {k: (None if v is None else v[sl]) for k, v in self.__dict__.items()}
        return Draws(**fields)


def draw_chunk(model: CompiledModel, *, seed: int, chunk: int, lhs: bool = False) -> Draws:
    """Draws for the ``streams.CHUNK`` replications of chunk ``chunk`` (:func:`draw` by keywords)."""
    return draw(model, ChunkStreams(seed, chunk, lhs))


def draw(model: CompiledModel, cs: ChunkStreams) -> Draws:
    """Draws for the ``streams.CHUNK`` replications of the chunk whose streams are ``cs``.

    Every quantity still has its own stream; the transforms run on whole
    (replications, quantities) matrices, column by column equal to doing them one
    quantity at a time.
    """
    size = streams.CHUNK
    n_items = model.n_items
    factor = _factor_normals(model, cs, size)
    loads = model.loadings
    common = factor @ np.sqrt(loads).T if loads.size else np.zeros((size, n_items))
    idio_w = np.sqrt(np.clip(1.0 - loads.sum(axis=1), 0.0, 1.0)) if loads.size else np.ones(n_items)
    eps = cs.normal_block(_keys(model, "eps"), size=size)
    z = common + idio_w[None, :] * eps  # the copula's latent normal (the cost copula reads it)
    u = norm_cdf(z)
    cond = model.cond_cdf
    ip = np.flatnonzero(cond > 0)  # in progress on the as-of date: R given R > elapsed share
    if ip.size:
        u[:, ip] = np.minimum(cond[ip] + u[:, ip] * (1.0 - cond[ip]), 1.0 - 1e-12)
    mult = ppf_columns(model.mult_dist, u)
    wait = np.zeros((size, n_items))
    for i in np.flatnonzero(model.base_wait > 0).tolist():
        wd = model.wait_dist[i]
        key = f"item/{model.item_ids[i]}/wait"
        m = 1.0 if wd is None else ppf(wd, cs.uniforms(key, size=size))
        wait[:, i] = model.base_wait[i] * m
    work = model.base_work[None, :] * mult - model.elapsed_work[None, :]
    fired = _add_risks(model, cs, size, work, wait)
    np.maximum(work, 0.0, out=work)
    np.maximum(wait, 0.0, out=wait)
    work[:, model.fixed] = 0.0
    pause_start, pause_end = _shock_windows(model, cs, size)
    kpi_rate = _kpi_rates(model, cs, size)
    return Draws(mult, work, wait, pause_start, pause_end, fired, factor, kpi_rate, z)


def _add_risks(model: CompiledModel, cs: ChunkStreams, size: int, work: np.ndarray,
               wait: np.ndarray) -> np.ndarray:
    """Draw every risk instance and add its impact where it fired (in register order per item)."""
    n_r = len(model.risks)
    if not n_r:
        return np.zeros((size, 0), dtype=bool)
    fired = cs.uniform_block(_keys(model, "occ"), size=size) < _keys(model, "probability")[None, :]
    u_imp = cs.uniform_block(_keys(model, "impact"), size=size)
    add = np.zeros((size, n_r))
    rows, cols = np.nonzero(fired)  # impacts only where the risk fired
    add[rows, cols] = ppf_elements(tuple(r.impact for r in model.risks), u_imp[rows, cols], cols)
    for r, risk in enumerate(model.risks):
        if risk.impact_scale != 1.0:  # a response acting on the impact (sim.engine.responses)
            add[:, r] *= risk.impact_scale
    wait_ranks, work_ranks = _risk_ranks(model)
    for risks, items in wait_ranks:
        wait[:, items] += add[:, risks]
    for risks, items in work_ranks:
        work[:, items] += add[:, risks]
    return fired


def _keys(model: CompiledModel, what: str):
    """Stream keys of the items' copula normals and the risks' occurrences and impacts, and the risks'
    probabilities as an array. Cached in ``model.meta`` for the very ``item_ids`` and ``risks`` tuples
    they were built from (a model with a response shares ``meta`` but has its own risks)."""
    cached = model.meta.get("draw_keys")
    if cached is None or cached[0] is not model.item_ids or cached[1] is not model.risks:
        cached = model.meta["draw_keys"] = (model.item_ids, model.risks, {
            "eps": [f"item/{iid}/eps" for iid in model.item_ids],
            "occ": [f"risk/{r.key}/occ" for r in model.risks],
            "impact": [f"risk/{r.key}/impact" for r in model.risks],
            "probability": np.array([r.probability for r in model.risks], dtype=np.float64),
        })
    return cached[2][what]


def _risk_ranks(model: CompiledModel):
    """(risk, item) additions grouped so that each group touches an item once, in register order.

    Group ``k`` holds every item's ``k``-th risk; adding the groups in turn sums each
    item's impacts in the same order as adding one risk after another (bit for bit).
    Start-phase risks add to the wait of items whose start is still ahead.
    """
    cached = model.meta.get("risk_ranks")
    if cached is not None:
        return cached
    out = []
    for phase_start in (True, False):
        per_item: dict[int, list[int]] = {}
        for r, risk in enumerate(model.risks):
            if (risk.phase is RiskPhase.START) is not phase_start:
                continue
            hit = risk.items[model.can_wait[risk.items]] if phase_start else risk.items
            for i in hit.tolist():
                per_item.setdefault(i, []).append(r)
        ranks = []
        for k in range(max((len(v) for v in per_item.values()), default=0)):
            pairs = [(rs[k], i) for i, rs in per_item.items() if len(rs) > k]
            ranks.append((np.array([p[0] for p in pairs], dtype=np.int64),
                          np.array([p[1] for p in pairs], dtype=np.int64)))
        out.append(tuple(ranks))
    model.meta["risk_ranks"] = tuple(out)
    return model.meta["risk_ranks"]


def _factor_normals(model: CompiledModel, cs: ChunkStreams, size: int) -> np.ndarray:
    if not model.factor_ids:
        return np.zeros((size, 0))
    g = cs.normal_block([f"factor/{f}" for f in model.factor_ids], size=size)
    return g @ model.factor_chol.T


def _shock_windows(model: CompiledModel, cs: ChunkStreams, size: int):
    k = len(model.shocks)
    start = np.full((size, k), np.inf)
    end = np.full((size, k), np.inf)
    for j, s in enumerate(model.shocks):
        occ = cs.uniforms(f"shock/{s.id}/occ", size=size) < s.probability
        lo, hi = s.window
        # begins at the start of a day drawn uniformly from the inclusive window
        u = cs.uniforms(f"shock/{s.id}/start", size=size)
        when = lo + np.floor(u * (hi - lo + 1.0))
        length = ppf(s.length, cs.uniforms(f"shock/{s.id}/length", size=size))
        start[:, j] = np.where(occ, when, np.inf)
        end[:, j] = np.where(occ, when + np.maximum(length, 0.0), np.inf)
    return start, end


def _kpi_rates(model: CompiledModel, cs: ChunkStreams, size: int) -> np.ndarray:
    """Per-replication rate: Gamma(mean = rate, cv) for counters, normal log-growth for indices."""
    out = np.empty((size, len(model.kpis)))
    for j, k in enumerate(model.kpis):
        u = cs.uniforms(f"kpi/{k.id}/rate", size=size)
        if k.kind is KpiKind.COUNTER:
            if k.rate_cv > 0 and k.rate_per_year > 0:
                shape = 1.0 / k.rate_cv**2
                out[:, j] = gamma_ppf(shape, u) * (k.rate_per_year / shape)
            else:
                out[:, j] = k.rate_per_year
        else:
            out[:, j] = np.log1p(k.rate_per_year) + k.rate_cv * special.ndtri(u)
    return out
