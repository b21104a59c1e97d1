"""The sorted-row quantiles of the summaries equal np.quantile bit for bit (they replace it for speed)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from sim.analysis.summary import column_quantiles, day_quantiles, sorted_quantiles
from sim.model.clock import FAR_DAY

QS = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6)
VALUES = arrays(np.float64, st.tuples(st.integers(1, 40), st.integers(1, 5)),
                elements=st.one_of(st.floats(-1e6, 1e6, width=32), st.sampled_from([0.0, 1.5, 1.5, FAR_DAY]),
                                   st.just(np.inf), st.just(np.nan)))


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


@settings(max_examples=400, deadline=None)
@given(VALUES, QS, st.sampled_from(["linear", "higher", "inverted_cdf"]))
def test_column_quantiles_equal_numpy(values, qs, method):
    with np.errstate(invalid="ignore"):  # inf - inf in numpy's interpolation, as in ours
        want = np.quantile(values, qs, axis=0, method=method)
        got = column_quantiles(values, qs, method=method)
    assert _same(got, want), (values, qs, method, got, want)


@settings(max_examples=200, deadline=None)
@given(VALUES.filter(lambda a: not np.isnan(a).any()), QS)
def test_day_quantiles_equal_the_numpy_definition(values, qs):
    """day_quantiles is np.quantile of the capped days, +inf where the 'higher' order statistic is never."""
    capped = np.minimum(values, FAR_DAY)
    want = np.quantile(capped, qs, axis=0)
    want[np.quantile(capped, qs, axis=0, method="higher") >= FAR_DAY] = np.inf
    assert _same(day_quantiles(values, qs), want)


def test_float32_rows_sort_to_the_same_order_statistics():
    """The records are float32: sorting them before the float64 conversion changes no quantile."""
    rng = np.random.default_rng(5)
    a32 = rng.gamma(2.0, 300.0, (3, 1001)).astype(np.float32)
    got = sorted_quantiles(np.sort(a32, axis=1).astype(np.float64), [0.1, 0.5, 0.8, 0.9])
    assert _same(got, np.quantile(a32.astype(np.float64), [0.1, 0.5, 0.8, 0.9], axis=1))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_tiny_samples(n):
    rows = np.sort(np.arange(float(n))[::-1])[None, :]
    assert _same(sorted_quantiles(rows, [0.0, 0.25, 0.5, 1.0]), np.quantile(rows, [0.0, 0.25, 0.5, 1.0], axis=1))


def test_the_halfway_point_uses_numpys_upper_form():
    """At gamma = 0.5 numpy interpolates from the upper value (b - (b - a)(1 - t)); the lower form
    a + (b - a) t differs in the last bit for these two values."""
    a, b = 33.58557530546435, 857.4042765875694
    assert a + (b - a) * 0.5 != b - (b - a) * 0.5  # the case is a real test of which form is used
    rows = np.array([[a, b]])
    assert _same(sorted_quantiles(rows, [0.5]), np.quantile(rows, [0.5], axis=1))
