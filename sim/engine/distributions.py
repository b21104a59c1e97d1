"""Quantile functions: every distribution is sampled by inverse transform.

Sampling ``ppf(dist, u)`` from uniforms ``u`` lets one code path serve plain
Monte Carlo, Latin hypercube sampling and the Gaussian copula (``u = Phi(Z)``).
The parameterisations are those of :mod:`sim.model.distribution`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special

from sim.model.distribution import Z90, Distribution
from sim.model.enums import DistFamily

PERT_LAMBDA = 4.0


def ppf(dist: Distribution, u: np.ndarray) -> np.ndarray:
    """Quantiles of ``dist`` at probabilities ``u`` (array in (0, 1)), floor applied."""
    u = np.asarray(u, dtype=np.float64)
    x = _ppf_raw(dist, u)
    if dist.floor is not None:
        x = np.maximum(x, dist.floor)
    return x


def _ppf_raw(dist: Distribution, u: np.ndarray) -> np.ndarray:
    fam, p = dist.family, dist.params
    if fam is DistFamily.FIXED:
        return np.full(u.shape, p[0])
    if fam is DistFamily.UNIFORM:
        return p[0] + (p[1] - p[0]) * u
    if fam is DistFamily.TRIANGULAR:
        return triangular_ppf(p[0], p[1], p[2], u)
    if fam is DistFamily.TRIGEN:
        lo, mode, hi = trigen_bounds(p[0], p[1], p[2])
        return triangular_ppf(lo, mode, hi, u)
    if fam is DistFamily.PERT:
        lo, mode, hi = p
        a = 1.0 + PERT_LAMBDA * (mode - lo) / (hi - lo)
        b = 1.0 + PERT_LAMBDA * (hi - mode) / (hi - lo)
        return lo + (hi - lo) * special.betaincinv(a, b, u)
    if fam is DistFamily.LOGNORMAL:
        med, p90 = p
        return med * np.exp(np.log(p90 / med) / Z90 * special.ndtri(u))
    if fam is DistFamily.LOGNORMAL_SIGMA:
        return p[0] * np.exp(p[1] * special.ndtri(u))
    if fam is DistFamily.EXPONENTIAL:
        return -p[0] * np.log1p(-u)
    if fam is DistFamily.DISCRETE:
        values = np.asarray(dist.values, dtype=np.float64)
        cdf = np.cumsum(dist.weights, dtype=np.float64)
        cdf /= cdf[-1]
        idx = np.searchsorted(cdf, u, side="right")
        return values[np.minimum(idx, len(values) - 1)]
    raise ValueError(f"unknown distribution family {fam!r}")


def triangular_ppf(lo: float, mode: float, hi: float, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of Triangular(lo, mode, hi)."""
    span = hi - lo
    fc = (mode - lo) / span
    left = lo + np.sqrt(u * span * (mode - lo))
    right = hi - np.sqrt((1.0 - u) * span * (hi - mode))
    return np.where(u < fc, left, right)


@lru_cache(maxsize=256)
def trigen_bounds(p10: float, mode: float, p90: float) -> tuple[float, float, float]:
    """Min, mode, max of the triangular whose 10th and 90th percentiles are given.

    Solved numerically (as @RISK's Trigen does); the result is cached per triple.
    """

    def resid(x: np.ndarray) -> np.ndarray:
        lo, hi = x
        q = triangular_ppf(lo, mode, hi, np.array([0.1, 0.9]))
        return q - np.array([p10, p90])

    from scipy import optimize  # only here: a plan without Trigen never imports it

    width = max(p90 - p10, 1e-12)
    guess = np.array([p10 - 0.5 * width, p90 + 0.5 * width])
    sol = optimize.least_squares(
        resid,
        guess,
        bounds=([-np.inf, mode + 1e-12 * width], [mode - 1e-12 * width, np.inf]),
        xtol=1e-14,
        ftol=1e-14,
    )
    lo, hi = sol.x
    return float(lo), float(mode), float(hi)


def lognormal_sigma(dist: Distribution) -> float | None:
    """The log-scale sigma of a lognormal distribution, or None for other families."""
    if dist.family is DistFamily.LOGNORMAL:
        return float(np.log(dist.params[1] / dist.params[0]) / Z90)
    if dist.family is DistFamily.LOGNORMAL_SIGMA:
        return float(dist.params[1])
    return None


def with_lognormal_sigma(dist: Distribution, sigma: float, *, median_factor: float = 1.0) -> Distribution:
    """A lognormal with the same floor, median scaled by ``median_factor`` and the given sigma."""
    med = dist.params[0] * median_factor
    return Distribution(DistFamily.LOGNORMAL_SIGMA, (med, max(sigma, 1e-9)), floor=dist.floor)


def scale_median(dist: Distribution, factor: float) -> Distribution:
    """The distribution of ``factor * X`` (floor scaled too); used for 力争 uplifts."""
    if factor == 1.0:
        return dist
    if dist.family is DistFamily.DISCRETE:
        return Distribution(
            dist.family,
            values=tuple(v * factor for v in dist.values),
            weights=dist.weights,
            floor=None if dist.floor is None else dist.floor * factor,
        )
    return Distribution(
        dist.family,
        tuple(p * factor if dist.family is not DistFamily.LOGNORMAL_SIGMA or i == 0 else p
              for i, p in enumerate(dist.params)),
        floor=None if dist.floor is None else dist.floor * factor,
    )


def cdf_at(dist: Distribution, x: float) -> float:
    """P(X <= x), by bisection on the quantile function (monotone for every family)."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if float(ppf(dist, np.array([mid]))[0]) <= x:
            lo = mid
        else:
            hi = mid
    return lo


def norm_cdf(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF, kept strictly inside (0, 1) for the quantile functions."""
    return np.clip(special.ndtr(z), 1e-15, 1 - 1e-15)


__all__ = [
    "ppf",
    "triangular_ppf",
    "trigen_bounds",
    "lognormal_sigma",
    "with_lognormal_sigma",
    "scale_median",
    "norm_cdf",
    "cdf_at",
]
