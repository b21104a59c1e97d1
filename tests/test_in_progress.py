"""Items under way on the as-of date (docs/calibration.md §2.1): planned total and elapsed share, never slack.

Exact answers: with a fixed multiplier R the finish is known in closed form, and
with a lognormal R the conditioned draw has a closed-form distribution.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from sim.engine.compiled import compile_plan
from sim.engine.forward import forward_pass
from sim.engine.processes import simulate_rows
from sim.engine.sampling import draw_chunk
from sim.model.enums import Status
from tests.planfactory import FIXED1, day, dist, item, link, plan


def _under_way(iid: str, started: int, finish: int, mult=FIXED1):
    """An item started ``started`` days before the as-of date, planned to finish on day ``finish``."""
    it = item(iid, 10, mult=mult)
    return replace(it, status=Status.IN_PROGRESS, plan_start=day(-started), plan_finish=day(finish),
                   duration_days=None)


def _run(p, seed=3):
    model = compile_plan(p)
    draws = draw_chunk(model, seed=seed, chunk=0)
    return model, draws, forward_pass(model, draws), simulate_rows(model, draws.rows(slice(0, 50)))


def test_slack_is_not_work():
    """Started 100 days ago, planned 200 days in total, R = 1: finishes on its plan date, not later."""
    p = plan([_under_way("A", 100, 99)])  # plan start day -100 .. plan finish day 99 = 200 days
    _, _, (s, f), (s2, f2) = _run(p)
    assert np.allclose(f[:, 0], 100.0)  # end of day 99
    assert np.allclose(f2[:, 0], 100.0)


def test_an_item_can_be_ahead_of_schedule():
    """R = 0.8 on a 200-day item started 100 days ago: 60 days left, 40 days ahead of its plan date."""
    p = plan([_under_way("A", 100, 99, mult=dist("fixed", 0.8))])
    _, _, (s, f), (s2, f2) = _run(p)
    assert np.allclose(f[:, 0], 60.0)
    assert np.allclose(f2[:, 0], 60.0)


def test_remaining_work_is_the_conditioned_total_minus_the_time_spent():
    """R ~ lognormal conditioned on R > elapsed share 0.5: the finish's distribution in closed form."""
    med, sigma = 1.0, 0.4
    p = plan([_under_way("A", 100, 99, mult=dist("lognormal_sigma", med, sigma))])
    model, draws, (s, f), _ = _run(p, seed=5)
    total, spent = 200.0, 100.0
    r = (f[:, 0] + spent) / total  # finish day = total * R - spent
    lo = stats.lognorm(s=sigma, scale=med).cdf(spent / total)
    for q in (0.1, 0.5, 0.9):
        x = np.quantile(r, q)
        expected = (stats.lognorm(s=sigma, scale=med).cdf(x) - lo) / (1 - lo)
        se = math.sqrt(q * (1 - q) / len(r))
        assert abs(expected - q) <= 4 * se + 1e-9, (q, expected)
    assert np.mean(f[:, 0] < 100.0) > 0.3  # many finish before the plan date (ahead of schedule)


@pytest.mark.parametrize("lag", [30, 120])
def test_ss_link_from_an_item_under_way_counts_from_its_real_start(lag):
    """A started 100 days before the as-of date; B starts SS + lag: on day max(0, lag - 100), not on day lag."""
    a = _under_way("A", 100, 99)
    b = item("B", 10)
    p = plan([a, b], [link("A", "B", "SS", lag)])
    _, _, (s, f), (s2, f2) = _run(p)
    want = max(0.0, lag - 100.0)
    assert np.allclose(s[:, 1], want)
    assert np.allclose(s2[:, 1], want)
    assert np.allclose(f[:, 1], want + 10.0)
