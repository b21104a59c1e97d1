"""Joint cost-schedule confidence against closed forms, through the engine.

One item of D working days (no stoppages), schedule multiplier R = m_R exp(s_R Z) and cost
multiplier C = m_C exp(s_C W) with W = rho Z + sqrt(1 - rho^2) eta (the cost copula). Then
ln finish and ln cost are bivariate normal with correlation rho, so with
x = ln(d / (D m_R)) / s_R and y = ln(b / (B m_C)) / s_C:

* rho = 0 (independent): P(F <= d, C <= b) = Phi(x) Phi(y);
* rho = 1 (comonotone): min(Phi(x), Phi(y));
* rho = 0.5: the bivariate normal CDF (scipy.stats.multivariate_normal).

Tolerance: K standard errors sqrt(p (1 - p) / n) of the estimate, computed here.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from planfactory import dist, item, plan
from scipy import stats

from sim.analysis.jcl import budget_for, jcl, jcl_table
from sim.engine.compiled import compile_plan
from sim.engine.replicate import run_chunk
from sim.model.entities import CostClass

K = 4.0
D, B = 400, 10.0
M_R, S_R, M_C, S_C = 1.1, 0.3, 1.2, 0.2
CHUNKS = 20
POINTS = [(440.0, 12.0), (520.0, 11.0), (380.0, 13.5)]  # (day, budget)


def _sample(rho: float):
    it = replace(item("A", D, mult=dist("lognormal_sigma", M_R, S_R)), investment_cny_100m=B)
    p = replace(plan([it]), cost_classes=(CostClass("generic", "g", dist("lognormal_sigma", M_C, S_C),
                                                    rho_schedule=rho),))
    m = compile_plan(p)
    recs = [run_chunk(m, seed=2020, chunk=c) for c in range(CHUNKS)]
    finish = np.concatenate([r.finish[:, 0] for r in recs]).astype(np.float64)
    cost = np.concatenate([r.cost[:, 0] for r in recs]).astype(np.float64)
    return m, recs, finish, cost


def _xy(day: float, budget: float) -> tuple[float, float]:
    return np.log(day / (D * M_R)) / S_R, np.log(budget / (B * M_C)) / S_C


def _exact(rho: float, day: float, budget: float) -> float:
    x, y = _xy(day, budget)
    if rho == 0:
        return stats.norm.cdf(x) * stats.norm.cdf(y)
    if rho == 1:
        return min(stats.norm.cdf(x), stats.norm.cdf(y))
    return float(stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([x, y]))


@pytest.mark.parametrize("rho", [0.0, 1.0, 0.5], ids=["independent", "comonotone", "bivariate-normal"])
def test_jcl_matches_the_closed_form(rho: float) -> None:
    _, _, finish, cost = _sample(rho)
    for day, budget in POINTS:
        p, se = jcl(finish, cost, day=day, budget=budget)
        exact = _exact(rho, day, budget)
        tol = K * np.sqrt(exact * (1 - exact) / finish.size)
        assert abs(p - exact) <= tol, (day, budget, p, exact)
        assert se == pytest.approx(np.sqrt(p * (1 - p) / finish.size))


def test_budget_for_a_jcl_matches_the_comonotone_quantile() -> None:
    # rho = 1 and a date with P(F <= d) > level: the budget is the level-quantile of the cost
    _, _, finish, cost = _sample(1.0)
    day, level = 560.0, 0.7
    assert stats.norm.cdf(_xy(day, 1.0)[0]) > level
    b_hat = budget_for(finish, cost, day=day, level=level)
    b_star = B * M_C * np.exp(S_C * stats.norm.ppf(level))
    density = stats.lognorm.pdf(b_star, s=S_C, scale=B * M_C)
    se = np.sqrt(level * (1 - level) / finish.size) / density  # SE of a sample quantile
    assert abs(b_hat - b_star) <= K * se
    assert jcl(finish, cost, day=day, budget=b_hat)[0] >= level


def test_budget_for_is_infinite_when_the_date_alone_falls_short() -> None:
    _, _, finish, cost = _sample(0.5)
    assert budget_for(finish, cost, day=300.0, level=0.8) == float("inf")


def test_jcl_table_programme_row() -> None:
    m, recs, finish, cost = _sample(0.5)

    class R(dict):
        def __len__(self):
            return finish.size

    records = R({"finish:A": _S(finish), "cost:A": _S(cost)})
    t = jcl_table(m, records)
    prog = t[t.level == "programme"].iloc[0]
    assert prog["budget"] == B
    plan_day = m.plan_finish_day[0]
    exact = _exact(0.5, plan_day, B)
    assert abs(prog["jcl"] - exact) <= K * np.sqrt(exact * (1 - exact) / finish.size)


class _S:
    def __init__(self, a):
        self.a = a

    def to_numpy(self, dtype=None):
        return self.a.astype(dtype) if dtype else self.a
