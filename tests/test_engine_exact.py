"""Statistical tests against exact answers (docs/calibration.md §2.3-2.5, §3).

Each test builds a small plan whose project-finish (or KPI) distribution is
known exactly: by numerical convolution of densities, a product of CDFs, full
enumeration, a mixture, a one-dimensional integral or a closed form. The
Monte Carlo estimate is compared with it using a tolerance derived in the test
from the standard error of that estimate:

* a probability p from n replications: |p_hat - p| <= K * sqrt(p (1 - p) / n);
* a mean: |mean - mu| <= K * s / sqrt(n) (s the sample standard deviation);
* a variance: |s^2 - sigma^2| <= K * sqrt((m4 - s^4) / n);
* a whole discrete distribution: a chi-square goodness-of-fit test at ALPHA.

K = 4 makes a false alarm about 6e-5 per comparison. Seeds are fixed, so the
tests are deterministic. Schedules run through both engines (the SimPy
reference semantics and the vectorised forward pass) on the same draws.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

import numpy as np
import pytest
from planfactory import (
    Factor,
    Kpi,
    KpiBoost,
    KpiKind,
    counter,
    discrete,
    dist,
    item,
    link,
    plan,
    risk,
    shock,
)
from scipy import integrate, signal, stats

from sim.engine.compiled import CompiledModel, compile_plan
from sim.model.clock import DAYS_PER_YEAR, end_of
from sim.engine.forward import forward_pass
from sim.engine.processes import simulate_rows
from sim.engine.replicate import Engine, run_chunk
from sim.engine.sampling import draw_chunk

K = 4.0  # tolerance in standard errors
ALPHA = 1e-3  # significance level of the goodness-of-fit tests
CHUNKS = 20  # 20,000 replications per estimate
SEED = 20200116
GRID_STEP = 1e-3  # days, for numerical convolution
ENGINES = [Engine.VECTOR, pytest.param(Engine.SIMPY, marks=pytest.mark.slow, id="simpy")]


# -- running ------------------------------------------------------------------------------
@dataclass
class Sample:
    model: CompiledModel
    start: np.ndarray  # (n, items) float64
    finish: np.ndarray
    multiplier: np.ndarray
    pause_start: np.ndarray
    pause_end: np.ndarray
    risk_fired: np.ndarray

    def finish_of(self, iid: str) -> np.ndarray:
        return self.finish[:, self.model.index[iid]]

    def start_of(self, iid: str) -> np.ndarray:
        return self.start[:, self.model.index[iid]]


def simulate(p, engine: Engine, *, chunks: int = CHUNKS, seed: int = SEED) -> Sample:
    """Schedules of ``chunks`` full chunks, in float64, through the chosen engine."""
    m = compile_plan(p)
    parts = []
    for c in range(chunks):
        d = draw_chunk(m, seed=seed, chunk=c)
        s, f = simulate_rows(m, d) if engine is Engine.SIMPY else forward_pass(m, d)
        parts.append((s, f, d.multiplier, d.pause_start, d.pause_end, d.risk_fired))
    return Sample(m, *(np.concatenate(col) for col in zip(*parts)))


# -- exact distributions on a grid ------------------------------------------------------------
@dataclass
class GridDist:
    """A continuous distribution as cell masses on [lo + j h, lo + (j + 1) h)."""

    lo: float
    mass: np.ndarray
    h: float = GRID_STEP

    @staticmethod
    def of(frozen, lo: float, hi: float, h: float = GRID_STEP) -> "GridDist":
        edges = lo + h * np.arange(int(np.ceil((hi - lo) / h)) + 1)
        return GridDist(lo, np.diff(frozen.cdf(edges)), h)

    def __add__(self, other: "GridDist") -> "GridDist":
        """Distribution of the sum of independent variables (convolution of densities)."""
        mass = np.clip(signal.fftconvolve(self.mass, other.mass), 0.0, None)
        # cell i + cell j spans [lo1 + lo2 + (i + j) h, ... + 2h): centred on the right edge
        return GridDist(self.lo + other.lo + 0.5 * self.h, mass, self.h)

    def shift(self, by: float) -> "GridDist":
        return GridDist(self.lo + by, self.mass, self.h)

    def cdf(self, x) -> np.ndarray:
        mids = self.lo + self.h * (np.arange(len(self.mass)) + 0.5)
        return np.interp(x, mids, np.cumsum(self.mass), left=0.0, right=1.0)

    def mean(self) -> float:
        return float(np.sum((self.lo + self.h * (np.arange(len(self.mass)) + 0.5)) * self.mass))

    def quantile(self, q) -> np.ndarray:
        mids = self.lo + self.h * (np.arange(len(self.mass)) + 0.5)
        return np.interp(q, np.cumsum(self.mass), mids)


def tri(lo: float, mode: float, hi: float):
    """scipy's Triangular(lo, mode, hi)."""
    return stats.triang((mode - lo) / (hi - lo), loc=lo, scale=hi - lo)


def tri_grid(lo: float, mode: float, hi: float) -> GridDist:
    return GridDist.of(tri(lo, mode, hi), lo, hi)


# -- comparisons ------------------------------------------------------------------------------
def assert_prob(hits: np.ndarray, p: float, what: str) -> None:
    """Proportion of ``hits`` equals ``p`` within K standard errors."""
    n = hits.size
    p_hat = float(np.mean(hits))
    tol = K * np.sqrt(p * (1.0 - p) / n)
    assert abs(p_hat - p) <= tol, f"{what}: estimate {p_hat:.5f}, exact {p:.5f}, tolerance {tol:.5f} (n={n})"


def assert_cdf(sample: np.ndarray, xs, exact, what: str) -> None:
    """Empirical CDF of ``sample`` at each x equals ``exact(x)`` within K standard errors."""
    for x in np.atleast_1d(xs):
        p = float(exact(x))
        assert 0.0 < p < 1.0, f"{what}: choose interior points (F({x:g}) = {p})"
        assert_prob(sample <= x, p, f"{what}: P(X <= {x:.3f})")


def assert_mean(sample: np.ndarray, mu: float, what: str) -> None:
    n = sample.size
    tol = K * sample.std(ddof=1) / np.sqrt(n)
    assert abs(sample.mean() - mu) <= tol, f"{what}: mean {sample.mean():.5f}, exact {mu:.5f}, tolerance {tol:.5f}"


def assert_variance(sample: np.ndarray, var: float, what: str) -> None:
    n = sample.size
    c = sample - sample.mean()
    s2 = float(np.mean(c**2))
    tol = K * np.sqrt((np.mean(c**4) - s2**2) / n)
    assert abs(sample.var(ddof=1) - var) <= tol, f"{what}: variance {sample.var(ddof=1):.4f}, exact {var:.4f}, tolerance {tol:.4f}"


def assert_pmf(sample: np.ndarray, support: np.ndarray, pmf: np.ndarray, what: str) -> None:
    """Chi-square goodness of fit of an integer sample to ``pmf`` on ``support`` (tails lumped)."""
    n = sample.size
    assert abs(pmf.sum() - 1.0) < 1e-9 or pmf.sum() < 1.0
    observed = np.array([np.sum(sample == v) for v in support], dtype=float)
    expected = n * pmf
    # lump the rest of the mass (both tails) into one cell
    observed = np.append(observed, n - observed.sum())
    expected = np.append(expected, n - expected.sum())
    # merge cells in order until each expects at least 5
    obs_m, exp_m, o, e = [], [], 0.0, 0.0
    for oi, ei in zip(observed, expected):
        o, e = o + oi, e + ei
        if e >= 5:
            obs_m.append(o)
            exp_m.append(e)
            o = e = 0.0
    if e > 0 or o > 0:
        obs_m[-1] += o
        exp_m[-1] += e
    res = stats.chisquare(obs_m, exp_m)
    assert res.pvalue > ALPHA, f"{what}: chi-square p = {res.pvalue:.2e} over {len(obs_m)} cells"


PROBS = (0.05, 0.25, 0.5, 0.75, 0.95)


# -- (a) serial chain: convolution -----------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_serial_chain_of_two_is_the_convolution(engine):
    p = plan(
        [item("A", 10, mult=dist("triangular", 0.8, 1.0, 1.5)), item("B", 20, mult=dist("triangular", 0.9, 1.1, 1.6))],
        [link("A", "B")],
    )
    total = tri_grid(8, 10, 15) + tri_grid(18, 22, 32)
    assert abs(total.mean() - (33 / 3 + 72 / 3)) < 1e-6  # the oracle itself: E = sum of (lo + mode + hi) / 3
    fin = simulate(p, engine).finish_of("B")
    assert_cdf(fin, total.quantile(PROBS), total.cdf, "A + B")
    assert_mean(fin, total.mean(), "A + B")


@pytest.mark.parametrize("engine", ENGINES)
def test_serial_chain_of_three_is_the_convolution(engine):
    p = plan(
        [
            item("A", 10, mult=dist("triangular", 0.8, 1.0, 1.5)),
            item("B", 20, mult=dist("triangular", 0.9, 1.1, 1.6)),
            item("C", 5, mult=dist("triangular", 1.0, 1.0, 2.0)),  # mode at the minimum
        ],
        [link("A", "B"), link("B", "C")],
    )
    total = tri_grid(8, 10, 15) + tri_grid(18, 22, 32) + tri_grid(5, 5, 10)
    s = simulate(p, engine)
    fin = s.finish_of("C")
    assert_cdf(fin, total.quantile(PROBS), total.cdf, "A + B + C")
    # each start is exactly its predecessor's finish
    np.testing.assert_array_equal(s.start_of("C"), s.finish_of("B"))


# -- (b) merge of parallel activities: product of CDFs -----------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("k", [2, 4])
def test_merge_of_parallel_activities_is_the_product_of_cdfs(engine, k):
    specs = [(0.8, 1.0, 1.5), (0.9, 1.0, 1.2), (0.7, 1.2, 1.4), (0.95, 1.0, 1.6)][:k]
    bases = [20, 22, 18, 19][:k]
    items = [item(f"P{j}", b, mult=dist("triangular", *sp)) for j, (b, sp) in enumerate(zip(bases, specs))]
    p = plan([*items, item("M", 0)], [link(f"P{j}", "M") for j in range(k)])
    cdfs = [tri(b * lo, b * mode, b * hi).cdf for b, (lo, mode, hi) in zip(bases, specs)]

    def exact(x):
        return np.prod([F(x) for F in cdfs])

    xs = [19.0, 20.5, 22.0, 24.0, 26.0]
    xs = [x for x in xs if 0.01 < exact(x) < 0.99]
    assert len(xs) >= 3
    assert_cdf(simulate(p, engine).finish_of("M"), xs, exact, f"max of {k}")


# -- (c) discrete durations: full enumeration ----------------------------------------------------
DISCRETE_NET = {
    "A": ([2, 3, 5], [0.2, 0.5, 0.3]),
    "B": ([4, 6], [0.6, 0.4]),
    "C": ([1, 4], [0.5, 0.5]),
    "D": ([2, 7], [0.7, 0.3]),
    "E": ([3, 9], [0.8, 0.2]),
}


def _discrete_net_finish(d: dict[str, float]) -> float:
    """Project finish by hand: A->C FS, B->C FS+1, A->D SS+2, C->E FF+1, E starts at 0; end = max(D, E)."""
    c_fin = max(d["A"], d["B"] + 1) + d["C"]
    d_fin = 2 + d["D"]
    e_fin = max(d["E"], c_fin + 1)
    return max(d_fin, e_fin)


@pytest.mark.parametrize("engine", ENGINES)
def test_discrete_network_matches_full_enumeration(engine):
    p = plan(
        [*(item(i, 1, mult=discrete(v, w)) for i, (v, w) in DISCRETE_NET.items()), item("END", 0)],
        [
            link("A", "C"), link("B", "C", "FS", 1), link("A", "D", "SS", 2), link("C", "E", "FF", 1),
            link("D", "END"), link("E", "END"),
        ],
    )
    exact: dict[float, float] = {}
    names = list(DISCRETE_NET)
    for combo in itertools.product(*(list(zip(*DISCRETE_NET[i])) for i in names)):
        value = _discrete_net_finish({i: v for i, (v, _) in zip(names, combo)})
        exact[value] = exact.get(value, 0.0) + float(np.prod([w for _, w in combo]))
    support = np.array(sorted(exact))
    pmf = np.array([exact[v] for v in support])
    assert abs(pmf.sum() - 1.0) < 1e-12

    fin = simulate(p, engine).finish_of("END")
    assert set(np.unique(fin)) <= set(support), "a finish outside the enumerated support"
    assert_pmf(fin, support, pmf, "discrete network")
    for v, pv in zip(support, pmf):
        assert_prob(fin == v, pv, f"P(finish = {v:g})")


# -- (d) risk event: a mixture ----------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_risk_event_with_fixed_impact_is_a_two_component_mixture(engine):
    prob, impact = 0.3, 10.0
    p = plan([item("A", 30, mult=dist("triangular", 0.9, 1.0, 1.4))],
             risks=[risk("R1", prob, dist("fixed", impact), ["A"])])
    F0 = tri(27, 30, 42).cdf

    def exact(x):
        return (1 - prob) * F0(x) + prob * F0(x - impact)

    s = simulate(p, engine)
    fin = s.finish_of("A")
    assert_prob(s.risk_fired[:, 0], prob, "P(risk fires)")
    assert_cdf(fin, [29.0, 32.0, 36.0, 39.0, 42.0, 45.0, 48.0], exact, "mixture")
    # the impact is added exactly when it fires
    np.testing.assert_allclose(fin, 30 * s.multiplier[:, 0] + impact * s.risk_fired[:, 0], rtol=0, atol=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_risk_event_with_random_impact_is_a_mixture_with_a_convolution(engine):
    prob = 0.25
    p = plan([item("A", 30, mult=dist("triangular", 0.9, 1.0, 1.4))],
             risks=[risk("R1", prob, dist("uniform", 5, 15), ["A"])])
    base = tri_grid(27, 30, 42)
    hit = base + GridDist.of(stats.uniform(5, 10), 5, 15)

    def exact(x):
        return (1 - prob) * base.cdf(x) + prob * hit.cdf(x)

    fin = simulate(p, engine).finish_of("A")
    assert_cdf(fin, [30.0, 34.0, 38.0, 42.0, 46.0, 50.0], exact, "mixture with random impact")


def test_common_risk_hits_all_its_items_together():
    prob = 0.4
    p = plan([item("A", 10), item("B", 20)], risks=[risk("R1", prob, dist("fixed", 7), ["A", "B"], mode="common")])
    s = simulate(p, Engine.VECTOR)
    assert s.risk_fired.shape[1] == 1
    np.testing.assert_array_equal(s.finish_of("A") == 17, s.finish_of("B") == 27)
    assert_prob(s.finish_of("A") == 17, prob, "P(common risk fires)")


def test_each_risk_hits_items_independently():
    prob = 0.4
    p = plan([item("A", 10), item("B", 20)], risks=[risk("R1", prob, dist("fixed", 7), ["A", "B"], mode="each")])
    s = simulate(p, Engine.VECTOR)
    both = (s.finish_of("A") == 17) & (s.finish_of("B") == 27)
    assert_prob(both, prob**2, "P(both hit)")


# -- (e) correlation at the two exact ends --------------------------------------------------
TWIN = dist("triangular", 0.8, 1.0, 1.5)


def _twins(factors=()):
    return plan([item("A", 20, mult=TWIN), item("B", 20, mult=TWIN), item("M", 0)],
                [link("A", "M"), link("B", "M")], factors=factors)


@pytest.mark.parametrize("engine", ENGINES)
def test_independent_parallel_items_both_done_is_f_squared(engine):
    F = tri(16, 20, 30).cdf
    fin = simulate(_twins(), engine).finish_of("M")
    assert_cdf(fin, [18.0, 20.0, 22.0, 25.0, 28.0], lambda x: F(x) ** 2, "independent")


@pytest.mark.parametrize("engine", ENGINES)
def test_perfectly_correlated_parallel_items_both_done_is_f(engine):
    F = tri(16, 20, 30).cdf
    s = simulate(_twins([Factor("G", 1.0, ("A", "B"))]), engine)
    np.testing.assert_array_equal(s.multiplier[:, 0], s.multiplier[:, 1])
    assert_cdf(s.finish_of("M"), [18.0, 20.0, 22.0, 25.0, 28.0], F, "comonotone")


def test_full_loading_with_different_marginals_is_comonotone():
    """With loading 1, P(A <= x, B <= x) = min(F_A(x), F_B(x)) for any marginals."""
    lognorm = dist("lognormal", 1.1, 1.5)
    p = plan([item("A", 20, mult=TWIN), item("B", 20, mult=lognorm), item("M", 0)],
             [link("A", "M"), link("B", "M")], factors=[Factor("G", 1.0, ("all",))])
    FA = tri(16, 20, 30).cdf
    sigma = np.log(1.5 / 1.1) / stats.norm.ppf(0.9)
    FB = stats.lognorm(sigma, scale=20 * 1.1).cdf
    s = simulate(p, Engine.VECTOR)
    assert stats.spearmanr(s.multiplier[:, 0], s.multiplier[:, 1]).statistic == pytest.approx(1.0)
    assert_cdf(s.finish_of("M"), [18.0, 21.0, 24.0, 27.0, 29.0], lambda x: min(FA(x), FB(x)), "comonotone")


def test_half_loading_is_the_gaussian_copula():
    """Between the ends: P(both <= x) = Phi_2(z, z; rho) with z = Phi^-1(F(x)), rho = the loading."""
    rho = 0.5
    F = tri(16, 20, 30).cdf
    biv = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]])

    def exact(x):
        z = stats.norm.ppf(F(x))
        return float(biv.cdf([z, z]))

    fin = simulate(_twins([Factor("G", rho, ("A", "B"))]), Engine.VECTOR).finish_of("M")
    assert_cdf(fin, [18.0, 20.0, 22.0, 25.0], exact, "copula rho=0.5")


# -- (f) SS and FF lags with random durations ---------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_ss_and_ff_lags_with_random_durations(engine):
    """P -FS-> X; X -SS+3-> A; X -FF+2-> B (B itself starts at 0).

    start(A) = dP + 3; finish(A) = dP + 3 + dA; finish(B) = max(dB, dP + dX + 2).
    """
    p = plan(
        [
            item("P", 10, mult=dist("triangular", 0.8, 1.0, 1.5)),
            item("X", 20, mult=dist("triangular", 0.9, 1.0, 1.3)),
            item("A", 6, mult=dist("triangular", 1.0, 1.5, 2.0)),
            item("B", 36, mult=dist("triangular", 0.8, 1.0, 1.2)),
        ],
        [link("P", "X"), link("X", "A", "SS", 3), link("X", "B", "FF", 2)],
    )
    dP, dX, dA = tri_grid(8, 10, 15), tri_grid(18, 20, 26), tri_grid(6, 9, 12)
    FB = tri(28.8, 36, 43.2).cdf
    s = simulate(p, engine)
    np.testing.assert_allclose(s.start_of("A") - s.start_of("X"), 3.0, rtol=0, atol=1e-9)
    start_a = tri(8, 10, 15).cdf
    assert_cdf(s.start_of("A"), [11.5, 13.0, 15.0], lambda x: start_a(x - 3), "SS start")
    fin_a = dP.shift(3) + dA
    assert_cdf(s.finish_of("A"), fin_a.quantile(PROBS), fin_a.cdf, "SS finish")
    gate = (dP + dX).shift(2)

    def exact_b(x):
        return FB(x) * gate.cdf(x)

    assert_cdf(s.finish_of("B"), [32.0, 34.0, 36.0, 38.0, 40.0], exact_b, "FF finish")


# -- (g) gated finish: a product of CDFs and a one-dimensional integral --------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_gated_finish_is_the_product_of_bus_and_shifted_rail(engine):
    lag = 10.0
    p = plan(
        [item("RAIL", 100, mult=dist("triangular", 0.8, 1.0, 1.4)),
         item("BUS", 100, mult=dist("triangular", 0.9, 1.1, 1.5))],
        [link("RAIL", "BUS", "FF", lag)],
    )
    F_rail, F_bus = tri(80, 100, 140).cdf, tri(90, 110, 150).cdf

    def exact(x):
        return F_bus(x) * F_rail(x - lag)

    fin = simulate(p, engine).finish_of("BUS")
    assert_cdf(fin, [100.0, 110.0, 120.0, 130.0, 140.0], exact, "gated")
    # E[finish] = integral of the survival function over its support [90, 150]
    mean = 90.0 + integrate.quad(lambda x: 1.0 - exact(x), 90.0, 150.0, points=[100, 110, 150])[0]
    assert_mean(fin, mean, "gated finish mean")


# -- (h) stoppage: no mass inside the pause; the shift equals its length -------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_fixed_stoppage_leaves_a_gap_and_shifts_by_its_length(engine):
    begin, length = 30, 15.0
    p = plan([item("A", 40, mult=dist("triangular", 0.5, 1.0, 1.5))],
             shocks=[shock("COVID", begin, dist("fixed", length))])
    F = tri(20, 40, 60).cdf
    s = simulate(p, engine)
    fin = s.finish_of("A")
    natural = 40 * s.multiplier[:, 0]
    assert not np.any((fin > begin) & (fin < begin + length)), "mass inside the pause"
    np.testing.assert_allclose(fin, np.where(natural <= begin, natural, natural + length), rtol=0, atol=1e-9)

    def exact(x):
        return F(min(x, begin)) + (F(x - length) - F(begin) if x > begin + length else 0.0)

    assert_cdf(fin, [25.0, 30.0, 45.0, 50.0, 60.0, 70.0], exact, "stoppage")
    assert_prob(fin <= begin + length, F(begin), "P(finish <= pause end) = P(finish before the pause)")


@pytest.mark.parametrize("engine", ENGINES)
def test_random_stoppage_length_is_added_to_straddling_items(engine):
    begin = 30
    L = tri(10, 20, 40)
    p = plan([item("A", 40, mult=dist("triangular", 0.5, 1.0, 1.5))],
             shocks=[shock("COVID", begin, dist("triangular", 10, 20, 40))])
    A = tri(20, 40, 60)
    s = simulate(p, engine)
    fin = s.finish_of("A")
    natural = 40 * s.multiplier[:, 0]
    ps, pe = s.pause_start[:, 0], s.pause_end[:, 0]
    np.testing.assert_array_equal(ps, begin)
    assert not np.any((fin > ps) & (fin < pe)), "mass inside the pause"
    np.testing.assert_allclose(fin - natural, np.where(natural <= begin, 0.0, pe - ps), rtol=0, atol=1e-9)

    def exact(x):
        straddle = 0.0
        if x > begin:
            straddle = integrate.quad(lambda a: A.pdf(a) * L.cdf(x - a), begin, min(x, 60), points=[40])[0]
        return A.cdf(min(x, begin)) + straddle

    assert_cdf(fin, [28.0, 45.0, 55.0, 62.0, 70.0, 80.0], exact, "random stoppage")


def test_shock_probability_and_start_window():
    prob = 0.35
    p = plan([item("A", 40)], shocks=[shock("S", 10, dist("fixed", 5), end_day=30, probability=prob)])
    s = simulate(p, Engine.VECTOR)
    fired = np.isfinite(s.pause_start[:, 0])
    assert_prob(fired, prob, "P(shock fires)")
    # begins at the start of a day drawn uniformly from days 10..30 (21 days): P(start <= 15 | fired) = 6/21
    starts = s.pause_start[fired, 0]
    assert np.all(starts == np.floor(starts)) and starts.min() >= 10 and starts.max() <= 30
    assert_prob(starts <= 15, 6 / 21, "P(shock starts by day 15)")
    np.testing.assert_array_equal(s.finish_of("A"), np.where(fired, 45.0, 40.0))


# -- (i) KPI arrivals boosted when an uncertain item finishes: mixed Poisson ---------------------
def _kpi_values(p, *, kpi: int = 0, checkpoint: int = 0, chunks: int = CHUNKS) -> tuple[np.ndarray, np.ndarray]:
    m = compile_plan(p)
    vals, fins = [], []
    for c in range(chunks):
        rec = run_chunk(m, seed=SEED, chunk=c, engine=Engine.VECTOR)
        vals.append(rec.kpi[:, kpi, checkpoint].astype(np.float64))
        fins.append(rec.finish.astype(np.float64))
    return np.concatenate(vals), np.concatenate(fins)


@pytest.mark.slow
def test_boosted_poisson_counter_is_mixed_poisson():
    """N(T) ~ Poisson((r0 T + b (T - S)+) / year) with S the enabling item's finish."""
    r0, b = 20.0, 60.0  # per 365.25-day year (the engine's year)
    p = plan([item("S", 100, mult=dist("triangular", 1.0, 1.5, 3.0))], kpis=[counter("K", r0)],
             boosts=[KpiBoost("K", "S", rate_per_year=b)])
    T = end_of(date(2020, 12, 31), p.as_of)  # first checkpoint (366)
    S = tri(100, 150, 300)
    assert S.support()[1] < T

    def lam(s):
        return (r0 * T + b * (T - s)) / DAYS_PER_YEAR

    counts, _ = _kpi_values(p)
    assert np.all(counts == np.round(counts))
    support = np.arange(0, 200)
    pmf = np.array([integrate.quad(lambda s: stats.poisson.pmf(k, lam(s)) * S.pdf(s), 100, 300, points=[150])[0]
                    for k in support])
    assert_pmf(counts, support, pmf, "mixed Poisson")
    mean = lam(S.mean())
    var = mean + (b / DAYS_PER_YEAR) ** 2 * S.var()  # E[lambda] + Var[lambda]
    assert_mean(counts, mean, "mixed Poisson mean")
    assert_variance(counts, var, "mixed Poisson variance")
    assert_prob(counts <= 60, float(pmf[:61].sum()), "P(N <= 60)")


def test_boost_after_the_checkpoint_adds_nothing_and_steps_count_once():
    p = plan([item("S", 400)], kpis=[counter("K", 0.0)],
             boosts=[KpiBoost("K", "S", step=5.0, rate_per_year=100.0)])
    counts_2020, _ = _kpi_values(p, checkpoint=0, chunks=2)
    counts_2021, _ = _kpi_values(p, checkpoint=1, chunks=2)
    np.testing.assert_array_equal(counts_2020, 0.0)  # S finishes on day 400 > 366
    # by the end of 2021 (day 732): step 5 + Poisson(100 * 332 / 365.25)
    lam = 100.0 * (end_of(date(2021, 12, 31), p.as_of) - 400) / DAYS_PER_YEAR
    assert counts_2021.min() >= 5
    assert_mean(counts_2021 - 5.0, lam, "boosted arrivals")


# -- (j) Gamma-distributed rate: negative binomial -------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("checkpoint", [0, 2])
def test_gamma_rate_counter_is_negative_binomial(checkpoint):
    rate, cv, baseline = 40.0, 0.5, 100.0
    p = plan([item("A", 10)], kpis=[counter("K", rate, cv=cv, baseline=baseline, measure="stock")])
    T = end_of(p.checkpoints[checkpoint], p.as_of)
    mu = rate * T / DAYS_PER_YEAR
    shape = 1.0 / cv**2
    nb = stats.nbinom(shape, shape / (shape + mu))  # Poisson(Gamma(shape, mu / shape)) = NB
    assert nb.mean() == pytest.approx(mu)
    counts = _kpi_values(p, checkpoint=checkpoint)[0] - baseline
    assert_mean(counts, mu, "NB mean")
    assert_variance(counts, mu + (cv * mu) ** 2, "NB variance")
    support = np.arange(0, int(nb.ppf(0.9999)) + 1)
    assert_pmf(counts, support, nb.pmf(support), "negative binomial")


# -- (k) distribution families: the sampled multipliers follow their stated parameterisation --------
def _lognormal(median, p90):
    return stats.lognorm(np.log(p90 / median) / stats.norm.ppf(0.9), scale=median)


def _pert(lo, mode, hi, lam=4.0):
    a = 1 + lam * (mode - lo) / (hi - lo)
    b = 1 + lam * (hi - mode) / (hi - lo)
    return stats.beta(a, b, loc=lo, scale=hi - lo)


FAMILIES = {
    "triangular": (dist("triangular", 0.8, 1.0, 1.6), tri(0.8, 1.0, 1.6)),
    "pert": (dist("pert", 0.9, 1.0, 1.8), _pert(0.9, 1.0, 1.8)),
    "lognormal": (dist("lognormal", 1.1, 1.5), _lognormal(1.1, 1.5)),
    "lognormal_sigma": (dist("lognormal_sigma", 1.05, 0.196), stats.lognorm(0.196, scale=1.05)),
    "uniform": (dist("uniform", 0.9, 1.4), stats.uniform(0.9, 0.5)),
    "exponential": (dist("exponential", 1.2), stats.expon(scale=1.2)),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_multiplier_marginals_match_their_family(family):
    d, ref = FAMILIES[family]
    s = simulate(plan([item("A", 10, mult=d)]), Engine.VECTOR)
    x = s.multiplier[:, 0]
    assert_cdf(x, ref.ppf(PROBS), ref.cdf, family)
    assert_mean(x, ref.mean(), family)
    np.testing.assert_allclose(s.finish_of("A"), 10 * x, rtol=1e-12)


def test_trigen_has_the_stated_p10_and_p90():
    s = simulate(plan([item("A", 10, mult=dist("trigen", 0.9, 1.0, 1.5))]), Engine.VECTOR)
    x = s.multiplier[:, 0]
    assert_prob(x <= 0.9, 0.1, "P(X <= P10)")
    assert_prob(x <= 1.5, 0.9, "P(X <= P90)")
    # the mode is the density peak: equal-width bins either side of it hold less mass
    h = 0.02
    at = np.mean(np.abs(x - 1.0) < h)
    assert at > np.mean(np.abs(x - 1.2) < h) and at > np.mean(np.abs(x - 0.85) < h)


def test_floor_puts_the_clipped_mass_on_the_floor():
    """R = max(0.95, lognormal(median 1.1, P90 1.5)): P(R = 0.95) = P(lognormal <= 0.95) (docs/calibration.md §2.1)."""
    s = simulate(plan([item("A", 10, mult=dist("lognormal", 1.1, 1.5, floor=0.95))]), Engine.VECTOR)
    x = s.multiplier[:, 0]
    ref = _lognormal(1.1, 1.5)
    assert x.min() == 0.95
    assert_prob(x == 0.95, ref.cdf(0.95), "P(R at the floor)")
    assert_cdf(x, [1.0, 1.1, 1.3, 1.5], ref.cdf, "above the floor")


def test_latin_hypercube_keeps_the_marginal_and_stratifies_each_chunk():
    p = plan([item("A", 10, mult=dist("triangular", 0.8, 1.0, 1.6)), item("B", 5, mult=dist("uniform", 1, 2))],
             risks=[risk("R", 0.3, dist("fixed", 5), ["A"])])
    m = compile_plan(p)
    F = tri(0.8, 1.0, 1.6).cdf
    for c in range(3):
        d = draw_chunk(m, seed=SEED, chunk=c, lhs=True)
        n = d.multiplier.shape[0]
        strata = np.floor(F(d.multiplier[:, m.index["A"]]) * n).astype(int)
        np.testing.assert_array_equal(np.sort(strata), np.arange(n))  # one draw per stratum
        strata_b = np.floor((d.multiplier[:, m.index["B"]] - 1.0) * n).astype(int)
        np.testing.assert_array_equal(np.sort(strata_b), np.arange(n))
        assert abs(d.risk_fired[:, 0].sum() - 0.3 * n) <= 1  # stratified occurrence


# -- (l) attrition of the baseline stock: binomial ----------------------------------------------------
@pytest.mark.parametrize("checkpoint", [0, 2])
def test_baseline_attrition_is_binomial(checkpoint):
    """Baseline units come up for renewal uniformly over the first `attrition_years` and lapse w.p. 1 - renewal.

    With no arrivals the stock at T is B - Binomial(B, (1 - renewal) * min(T / period, 1)).
    """
    B, years, renewal = 200, 2.0, 0.7
    kpi = Kpi("HT", "x", "x", KpiKind.COUNTER, "count", baseline=B, rate_per_year=0.0,
              attrition_years=years, renewal_prob=renewal)
    p = plan([item("A", 10)], kpis=[kpi])
    T = end_of(p.checkpoints[checkpoint], p.as_of)
    q = (1 - renewal) * min(T / (years * DAYS_PER_YEAR), 1.0)
    lapsed = B - _kpi_values(p, checkpoint=checkpoint)[0]
    ref = stats.binom(B, q)
    assert_mean(lapsed, ref.mean(), "lapsed units")
    support = np.arange(0, B + 1)
    assert_pmf(lapsed, support, ref.pmf(support), "lapsed units")


# -- (m) index KPI: lognormal ------------------------------------------------------------------------------
def test_index_kpi_is_lognormal():
    """log(V_T / V_0) = g T + vol * sqrt(T / month) * Z with g = log(1 + rate) + cv * Z' (per year)."""
    base, rate, cv, vol = 100.0, 0.08, 0.02, 0.03
    kpi = Kpi("GDP", "x", "x", KpiKind.INDEX, "index", baseline=base, rate_per_year=rate, rate_cv=cv, volatility=vol)
    p = plan([item("A", 10)], kpis=[kpi])
    T = end_of(p.checkpoints[1], p.as_of) / DAYS_PER_YEAR  # years
    mean = np.log1p(rate) * T
    sd = np.sqrt((cv * T) ** 2 + vol**2 * T * 12)
    logs = np.log(_kpi_values(p, checkpoint=1)[0] / base)
    ref = stats.norm(mean, sd)
    assert_cdf(logs, ref.ppf(PROBS), ref.cdf, "log index growth")
    assert_variance(logs, sd**2, "log index growth")
