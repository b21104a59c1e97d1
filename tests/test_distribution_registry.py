"""The distribution registry: a new family is one ``register`` call, and then every layer knows it.

The example family is registered by this test (and removed again): a log-uniform
``loguniform(min, max)``, ln X ~ Uniform(ln min, ln max). Nothing else in the code
changes, yet the CSV loader reads it and checks its parameters, ``describe`` and
``scale_median`` handle it, and the engine samples it with the stated law
(checked against scipy's log-uniform with a tolerance from the binomial standard
error computed here).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from planfactory import item, plan
from scipy import stats

from sim.engine.compiled import compile_plan
from sim.engine.forward import forward_pass
from sim.engine.sampling import draw_chunk
from sim.model import distribution as registry
from sim.model.distribution import Distribution, Family, scale_median
from sim.model.load import load_plan
from sim.model.problems import PlanError
from conftest import MINI_PARAMS as FIXTURE

K = 4.5  # standard errors (nine probabilities, family-wise false alarm well below 1e-4)


def _check(d: Distribution) -> list[str]:
    lo, hi = d.params
    return [] if 0 < lo < hi else [f"loguniform needs 0 < min < max, got min={lo:g} max={hi:g}"]


LOGUNIFORM = Family("loguniform", ("min", "max"),
                    ppf=lambda d, u: d.params[0] * (d.params[1] / d.params[0]) ** u, check=_check)


@pytest.fixture
def loguniform():
    registry.register(LOGUNIFORM)
    yield LOGUNIFORM.name
    del registry.FAMILIES[LOGUNIFORM.name]


def test_a_registered_family_is_described_checked_and_scaled(loguniform):
    d = Distribution(loguniform, (0.8, 2.0))
    assert d.describe() == "loguniform(min=0.8, max=2)" and d.problems() == []
    assert Distribution(loguniform, (2.0, 1.0)).problems() == ["loguniform needs 0 < min < max, got min=2 max=1"]
    assert Distribution(loguniform, (1.0,)).problems() == ["loguniform takes 2 parameter(s), got 1"]
    assert scale_median(d, 1.5).params == (0.8 * 1.5, 2.0 * 1.5)


def test_a_registered_family_is_read_from_the_params(loguniform, tmp_path):
    params = tmp_path / "params"
    shutil.copytree(FIXTURE, params)
    path = params / "duration_classes.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("environment,Environment works,pert,0.9,1.0,1.5,",
                                 "environment,Environment works,loguniform,0.9,1.5,,"), encoding="utf-8")
    cls = next(c for c in load_plan(params).duration_classes if c.project_type == "environment")
    assert cls.multiplier == Distribution("loguniform", (0.9, 1.5))
    path.write_text(text.replace("environment,Environment works,pert,0.9,1.0,1.5,",
                                 "environment,Environment works,loguniform,1.5,0.9,,"), encoding="utf-8")
    with pytest.raises(PlanError, match="loguniform needs 0 < min < max"):
        load_plan(params)


def test_an_unregistered_family_is_refused_with_the_known_ones(tmp_path):
    params = tmp_path / "params"
    shutil.copytree(FIXTURE, params)
    path = params / "duration_classes.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",pert,0.9,1.0,1.5,", ",loguniform,0.9,1.5,,"),
                    encoding="utf-8")
    with pytest.raises(PlanError, match="unknown dist 'loguniform'.*allowed values: fixed, uniform"):
        load_plan(params)


def test_the_engine_samples_a_registered_family_by_its_law(loguniform):
    m = compile_plan(plan([item("A", 10, mult=Distribution(loguniform, (0.8, 2.0)))]))
    x = np.concatenate([draw_chunk(m, seed=11, chunk=c).multiplier[:, 0] for c in range(8)])
    exact = stats.loguniform(0.8, 2.0)
    n = x.size
    for q in np.linspace(0.1, 0.9, 9):
        se = np.sqrt(q * (1 - q) / n)
        assert abs(np.mean(x <= exact.ppf(q)) - q) <= K * se, q
    d = draw_chunk(m, seed=11, chunk=0)
    _, finish = forward_pass(m, d)
    np.testing.assert_allclose(finish[:, 0], 10 * d.multiplier[:, 0], rtol=1e-12)
