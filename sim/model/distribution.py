"""A distribution as pure data, with its own consistency check.

Sampling lives in ``sim.engine.distributions``; this module states what a
distribution *is*, whether its parameters make sense (so that loading can
reject an impossible distribution before any simulation object exists), and
the transformations the model applies to one (scaling, a lognormal's sigma).

Parameterisations (all in the unit of the quantity they describe):

========================  =====================================================
family                    parameters
========================  =====================================================
``fixed``                 p1 = the value
``uniform``               p1 = min, p2 = max
``triangular``            p1 = min, p2 = mode, p3 = max
``pert``                  p1 = min, p2 = mode, p3 = max (BetaPERT, lambda = 4)
``trigen``                p1 = P10, p2 = mode, p3 = P90 (a triangular whose 10th
                          and 90th percentiles are p1 and p3)
``lognormal``             p1 = median, p2 = P90 (sigma = ln(P90/median)/1.2816)
``lognormal_sigma``       p1 = median, p2 = sigma of ln X
``exponential``           p1 = mean
``discrete``              values v1|v2|..., weights w1|w2|... (normalised)
========================  =====================================================

``floor`` (optional) clips draws from below (the shipped duration classes have none,
docs/calibration.md §2.1); it is part of the stated distribution, not
a silent truncation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.model.enums import DistFamily

_N_PARAMS = {
    DistFamily.FIXED: 1,
    DistFamily.UNIFORM: 2,
    DistFamily.TRIANGULAR: 3,
    DistFamily.PERT: 3,
    DistFamily.TRIGEN: 3,
    DistFamily.LOGNORMAL: 2,
    DistFamily.LOGNORMAL_SIGMA: 2,
    DistFamily.EXPONENTIAL: 1,
    DistFamily.DISCRETE: 0,
}

Z90 = 1.2815515655446004  # standard normal 90th percentile


@dataclass(frozen=True, slots=True)
class Distribution:
    """A univariate distribution, stated by family and parameters."""

    family: DistFamily
    params: tuple[float, ...] = ()
    values: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()
    floor: float | None = None

    @staticmethod
    def fixed(value: float) -> "Distribution":
        return Distribution(DistFamily.FIXED, (float(value),))

    def problems(self) -> list[str]:
        """Return what is wrong with the parameters (empty when valid)."""
        fam, p = self.family, self.params
        if fam is DistFamily.DISCRETE:
            return _discrete_problems(self.values, self.weights)
        need = _N_PARAMS[fam]
        if len(p) != need:
            return [f"{fam} takes {need} parameter(s), got {len(p)}"]
        if any(not math.isfinite(x) for x in p):
            return [f"{fam} parameters must be finite numbers, got {p}"]
        return _family_problems(fam, p)

    def describe(self) -> str:
        """Short human-readable form, e.g. ``lognormal(median=1.1, P90=1.5)``."""
        names = {
            DistFamily.FIXED: ("value",),
            DistFamily.UNIFORM: ("min", "max"),
            DistFamily.TRIANGULAR: ("min", "mode", "max"),
            DistFamily.PERT: ("min", "mode", "max"),
            DistFamily.TRIGEN: ("P10", "mode", "P90"),
            DistFamily.LOGNORMAL: ("median", "P90"),
            DistFamily.LOGNORMAL_SIGMA: ("median", "sigma"),
            DistFamily.EXPONENTIAL: ("mean",),
        }
        if self.family is DistFamily.DISCRETE:
            body = ", ".join(f"{v:g}:{w:g}" for v, w in zip(self.values, self.weights))
        else:
            body = ", ".join(f"{n}={v:g}" for n, v in zip(names[self.family], self.params))
        floor = f", floor={self.floor:g}" if self.floor is not None else ""
        return f"{self.family}({body}{floor})"


def _family_problems(fam: DistFamily, p: tuple[float, ...]) -> list[str]:
    if fam is DistFamily.UNIFORM and not p[0] < p[1]:
        return [f"uniform needs min < max, got min={p[0]:g} max={p[1]:g}"]
    if fam in (DistFamily.TRIANGULAR, DistFamily.PERT):
        lo, mode, hi = p
        if lo > mode:
            return [f"{fam} needs min <= mode, got min={lo:g} > mode={mode:g}"]
        if mode > hi:
            return [f"{fam} needs mode <= max, got mode={mode:g} > max={hi:g}"]
        if not lo < hi:
            return [f"{fam} needs min < max, got min={lo:g} max={hi:g}"]
    if fam is DistFamily.TRIGEN:
        p10, mode, p90 = p
        if not (p10 <= mode <= p90 and p10 < p90):
            return [f"trigen needs P10 <= mode <= P90 and P10 < P90, got {p10:g}, {mode:g}, {p90:g}"]
    if fam is DistFamily.LOGNORMAL:
        med, p90 = p
        if med <= 0:
            return [f"lognormal needs median > 0, got {med:g}"]
        if p90 <= med:
            return [f"lognormal needs P90 > median, got P90={p90:g} <= median={med:g}"]
    if fam is DistFamily.LOGNORMAL_SIGMA:
        if p[0] <= 0 or p[1] <= 0:
            return [f"lognormal_sigma needs median > 0 and sigma > 0, got {p}"]
    if fam is DistFamily.EXPONENTIAL and p[0] <= 0:
        return [f"exponential needs mean > 0, got {p[0]:g}"]
    return []


def _discrete_problems(values: tuple[float, ...], weights: tuple[float, ...]) -> list[str]:
    if not values:
        return ["discrete needs at least one value"]
    if len(values) != len(weights):
        return [f"discrete needs as many weights as values, got {len(values)} values and {len(weights)} weights"]
    if any(w < 0 or not math.isfinite(w) for w in weights) or sum(weights) <= 0:
        return [f"discrete weights must be >= 0 and sum to > 0, got {weights}"]
    if any(not math.isfinite(v) for v in values):
        return [f"discrete values must be finite, got {values}"]
    return []


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
    """The distribution of ``factor * X`` (floor scaled too): 力争 uplifts and scenario scales."""
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
