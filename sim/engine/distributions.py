"""Sampling helpers on top of the distribution registry (:mod:`sim.model.distribution`).

Every distribution is sampled by inverse transform, ``ppf(dist, u)``; the family's
quantile function, checks and scaling live in its registry entry, so this module
only adds what sampling needs beyond them (a CDF by bisection, the normal CDF of
the copula). The registry's operations are re-exported for the engine's callers.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from sim.model.distribution import (
    PERT_LAMBDA,
    Distribution,
    lognormal_sigma,
    ppf,
    scale_median,
    triangular_ppf,
    trigen_bounds,
    with_lognormal_sigma,
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
    "PERT_LAMBDA",
    "ppf",
    "triangular_ppf",
    "trigen_bounds",
    "lognormal_sigma",
    "with_lognormal_sigma",
    "scale_median",
    "norm_cdf",
    "cdf_at",
]
