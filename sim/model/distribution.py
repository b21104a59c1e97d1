"""Distributions as pure data, and the one registry of their families.

A :class:`Distribution` is a family name with parameters. Everything the code
knows about a family lives in its :class:`Family` record in :data:`FAMILIES`:
the names of its parameters, when they make sense, its quantile function (every
draw is an inverse transform of uniforms, so plain Monte Carlo, Latin hypercube
sampling and the Gaussian copula share one code path) and how it scales. Loading
(CSV and scenario YAML), describing, checking, scaling and the engine's sampling
all look the family up here; adding a family is one :func:`register` call (see
tests/test_distribution_registry.py for an example family registered by a test).

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

>>> d = Distribution(DistFamily.PERT, (0.9, 1.0, 1.6))
>>> d.describe(), d.problems()
('pert(min=0.9, mode=1, max=1.6)', [])
>>> scale_median(d, 2.0).params
(1.8, 2.0, 3.2)
>>> Distribution(DistFamily.LOGNORMAL, (1.2, 1.0)).problems()
['lognormal needs P90 > median, got P90=1 <= median=1.2']
>>> float(ppf(Distribution(DistFamily.UNIFORM, (2.0, 4.0)), np.array([0.25]))[0])
2.5
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sim.model.enums import DistFamily

Z90 = 1.2815515655446004  # standard normal 90th percentile
PERT_LAMBDA = 4.0


@dataclass(frozen=True, slots=True)
class Distribution:
    """A univariate distribution, stated by family and parameters.

    ``family`` is a registered family name; the built-in ones are kept as their
    :class:`~sim.model.enums.DistFamily` member (so ``dist.family is DistFamily.PERT`` holds).
    """

    family: str
    params: tuple[float, ...] = ()
    values: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()
    floor: float | None = None

    def __post_init__(self) -> None:
        if self.family in _BUILTIN and type(self.family) is not DistFamily:
            object.__setattr__(self, "family", DistFamily(self.family))

    @staticmethod
    def fixed(value: float) -> Distribution:
        return Distribution(DistFamily.FIXED, (float(value),))

    def problems(self) -> list[str]:
        """Return what is wrong with the parameters (empty when valid)."""
        fam, p = family(self.family), self.params
        if fam.tabulated:
            return fam.check(self)
        need = len(fam.param_names)
        if len(p) != need:
            return [f"{fam.name} takes {need} parameter(s), got {len(p)}"]
        if any(not math.isfinite(x) for x in p):
            return [f"{fam.name} parameters must be finite numbers, got {p}"]
        return fam.check(self)

    def describe(self) -> str:
        """Short human-readable form, e.g. ``lognormal(median=1.1, P90=1.5)``."""
        fam = family(self.family)
        if fam.tabulated:
            body = ", ".join(f"{v:g}:{w:g}" for v, w in zip(self.values, self.weights))
        else:
            body = ", ".join(f"{n}={v:g}" for n, v in zip(fam.param_names, self.params))
        floor = f", floor={self.floor:g}" if self.floor is not None else ""
        return f"{fam.name}({body}{floor})"


# -- the registry -------------------------------------------------------------------------------

def _nothing_wrong(dist: Distribution) -> list[str]:
    return []


def _scale_every_parameter(dist: Distribution, factor: float) -> Distribution:
    floor = None if dist.floor is None else dist.floor * factor
    return Distribution(dist.family, tuple(p * factor for p in dist.params), floor=floor)


@dataclass(frozen=True)
class Family:
    """Everything about one distribution family.

    ``ppf(dist, u)`` gives the quantiles at probabilities ``u`` (an array in (0, 1)),
    before the floor; ``check(dist)`` what is wrong with parameters already counted and
    finite; ``scale(dist, factor)`` the distribution of ``factor * X`` (floor included);
    ``log_sigma(dist)`` the sigma of ``ln X`` for a lognormal family (None otherwise).
    A ``tabulated`` family states values and weights instead of parameters.
    ``array_params``: its ``ppf`` also takes the parameters as arrays broadcast against
    ``u`` (element-wise the same operations), so the engine can transform many
    quantities of the family in one call (``sim.engine.distributions.ppf_columns``).
    """

    name: str
    param_names: tuple[str, ...]
    ppf: Callable[[Distribution, np.ndarray], np.ndarray]
    check: Callable[[Distribution], list[str]] = _nothing_wrong
    scale: Callable[[Distribution, float], Distribution] = _scale_every_parameter
    log_sigma: Callable[[Distribution], float] | None = None
    tabulated: bool = False
    array_params: bool = False


FAMILIES: dict[str, Family] = {}


def register(fam: Family) -> Family:
    """Add a family to the registry (its name must be new); returns it."""
    if fam.name in FAMILIES:
        raise ValueError(f"distribution family {fam.name!r} is already registered")
    FAMILIES[fam.name] = fam
    return fam


def family(name: str) -> Family:
    """The registered family called ``name``."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown distribution family {name!r}") from None


class FamilyChoice:
    """The registered family names as a choice for the readers: called with a name it returns the
    family's key (its ``DistFamily`` member when built in), iterated it lists them."""

    def __call__(self, value: str) -> str:
        if not isinstance(value, str) or value not in FAMILIES:
            raise ValueError(value)
        return DistFamily(value) if value in _BUILTIN else value

    def __iter__(self) -> Iterator[DistFamily | _Named]:
        return iter([DistFamily(n) if n in _BUILTIN else _Named(n) for n in FAMILIES])


@dataclass(frozen=True)
class _Named:
    value: str


FAMILY_CHOICE = FamilyChoice()


# -- operations -----------------------------------------------------------------------------------

def ppf(dist: Distribution, u: np.ndarray) -> np.ndarray:
    """Quantiles of ``dist`` at probabilities ``u`` (array in (0, 1)), floor applied."""
    u = np.asarray(u, dtype=np.float64)
    x = family(dist.family).ppf(dist, u)
    if dist.floor is not None:
        x = np.maximum(x, dist.floor)
    return x


def lowest(dist: Distribution) -> float:
    """The smallest value ``dist`` can take (its 1e-12 quantile; the floor applied)."""
    return float(ppf(dist, np.array([1e-12]))[0])


def negative_problem(dist: Distribution, what: str) -> str | None:
    """Why ``dist`` cannot be a duration, multiplier or length (it can be negative), or None."""
    low = lowest(dist)
    if not math.isfinite(low) or low < 0:
        return f"{what} can be negative (lowest value {low:g}): durations, multipliers and lengths are >= 0"
    return None


def scale_median(dist: Distribution, factor: float) -> Distribution:
    """The distribution of ``factor * X`` (floor scaled too): 力争 uplifts and scenario scales."""
    if factor == 1.0:
        return dist
    return family(dist.family).scale(dist, factor)


def lognormal_sigma(dist: Distribution) -> float | None:
    """The log-scale sigma of a lognormal distribution, or None for other families."""
    sigma = family(dist.family).log_sigma
    return None if sigma is None else sigma(dist)


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


def with_lognormal_sigma(dist: Distribution, sigma: float, *, median_factor: float = 1.0) -> Distribution:
    """A lognormal with the same floor, median scaled by ``median_factor`` and the given sigma."""
    med = dist.params[0] * median_factor
    return Distribution(DistFamily.LOGNORMAL_SIGMA, (med, max(sigma, 1e-9)), floor=dist.floor)


# -- the built-in families ---------------------------------------------------------------------------

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


def _pert_ppf(dist: Distribution, u: np.ndarray) -> np.ndarray:
    from scipy import special

    lo, mode, hi = dist.params
    a = 1.0 + PERT_LAMBDA * (mode - lo) / (hi - lo)
    b = 1.0 + PERT_LAMBDA * (hi - mode) / (hi - lo)
    return lo + (hi - lo) * special.betaincinv(a, b, u)


def _lognormal_ppf(dist: Distribution, u: np.ndarray) -> np.ndarray:
    from scipy import special

    med, p90 = dist.params
    return med * np.exp(np.log(p90 / med) / Z90 * special.ndtri(u))


def _lognormal_sigma_ppf(dist: Distribution, u: np.ndarray) -> np.ndarray:
    from scipy import special

    return dist.params[0] * np.exp(dist.params[1] * special.ndtri(u))


def _discrete_ppf(dist: Distribution, u: np.ndarray) -> np.ndarray:
    values = np.asarray(dist.values, dtype=np.float64)
    cdf = np.cumsum(dist.weights, dtype=np.float64)
    cdf /= cdf[-1]
    idx = np.searchsorted(cdf, u, side="right")
    return values[np.minimum(idx, len(values) - 1)]


def _uniform_check(dist: Distribution) -> list[str]:
    p = dist.params
    return [] if p[0] < p[1] else [f"uniform needs min < max, got min={p[0]:g} max={p[1]:g}"]


def _min_mode_max_check(dist: Distribution) -> list[str]:
    fam, (lo, mode, hi) = dist.family, dist.params
    if lo > mode:
        return [f"{fam} needs min <= mode, got min={lo:g} > mode={mode:g}"]
    if mode > hi:
        return [f"{fam} needs mode <= max, got mode={mode:g} > max={hi:g}"]
    if not lo < hi:
        return [f"{fam} needs min < max, got min={lo:g} max={hi:g}"]
    return []


def _trigen_check(dist: Distribution) -> list[str]:
    p10, mode, p90 = dist.params
    if not (p10 <= mode <= p90 and p10 < p90):
        return [f"trigen needs P10 <= mode <= P90 and P10 < P90, got {p10:g}, {mode:g}, {p90:g}"]
    return []


def _lognormal_check(dist: Distribution) -> list[str]:
    med, p90 = dist.params
    if med <= 0:
        return [f"lognormal needs median > 0, got {med:g}"]
    if p90 <= med:
        return [f"lognormal needs P90 > median, got P90={p90:g} <= median={med:g}"]
    return []


def _lognormal_sigma_check(dist: Distribution) -> list[str]:
    p = dist.params
    if p[0] <= 0 or p[1] <= 0:
        return [f"lognormal_sigma needs median > 0 and sigma > 0, got {p}"]
    return []


def _exponential_check(dist: Distribution) -> list[str]:
    return [f"exponential needs mean > 0, got {dist.params[0]:g}"] if dist.params[0] <= 0 else []


def _discrete_check(dist: Distribution) -> list[str]:
    values, weights = dist.values, dist.weights
    if not values:
        return ["discrete needs at least one value"]
    if len(values) != len(weights):
        return [f"discrete needs as many weights as values, got {len(values)} values and {len(weights)} weights"]
    if any(w < 0 or not math.isfinite(w) for w in weights) or sum(weights) <= 0:
        return [f"discrete weights must be >= 0 and sum to > 0, got {weights}"]
    if any(not math.isfinite(v) for v in values):
        return [f"discrete values must be finite, got {values}"]
    return []


def _scale_median_only(dist: Distribution, factor: float) -> Distribution:
    floor = None if dist.floor is None else dist.floor * factor
    return Distribution(dist.family, (dist.params[0] * factor, *dist.params[1:]), floor=floor)


def _scale_values(dist: Distribution, factor: float) -> Distribution:
    floor = None if dist.floor is None else dist.floor * factor
    return Distribution(dist.family, values=tuple(v * factor for v in dist.values), weights=dist.weights, floor=floor)


_BUILTIN = frozenset(f.value for f in DistFamily)
for _fam in (
    # 0 + value: the value itself, and parameters may be arrays (array_params)
    Family(DistFamily.FIXED, ("value",), lambda d, u: np.zeros(u.shape) + d.params[0], array_params=True),
    Family(DistFamily.UNIFORM, ("min", "max"), lambda d, u: d.params[0] + (d.params[1] - d.params[0]) * u,
           check=_uniform_check, array_params=True),
    Family(DistFamily.TRIANGULAR, ("min", "mode", "max"), lambda d, u: triangular_ppf(d.params[0], d.params[1], d.params[2], u),
           check=_min_mode_max_check, array_params=True),
    Family(DistFamily.PERT, ("min", "mode", "max"), _pert_ppf, check=_min_mode_max_check, array_params=True),
    Family(DistFamily.TRIGEN, ("P10", "mode", "P90"), lambda d, u: triangular_ppf(*trigen_bounds(*d.params), u),
           check=_trigen_check),
    Family(DistFamily.LOGNORMAL, ("median", "P90"), _lognormal_ppf, check=_lognormal_check,
           log_sigma=lambda d: float(np.log(d.params[1] / d.params[0]) / Z90), array_params=True),
    Family(DistFamily.LOGNORMAL_SIGMA, ("median", "sigma"), _lognormal_sigma_ppf, check=_lognormal_sigma_check,
           scale=_scale_median_only, log_sigma=lambda d: float(d.params[1]), array_params=True),
    Family(DistFamily.EXPONENTIAL, ("mean",), lambda d, u: -d.params[0] * np.log1p(-u), check=_exponential_check,
           array_params=True),
    Family(DistFamily.DISCRETE, (), _discrete_ppf, check=_discrete_check, scale=_scale_values, tabulated=True),
):
    register(_fam)
