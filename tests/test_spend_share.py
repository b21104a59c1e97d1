"""``spent_share`` (all cost columns at once on a calendar stack) equals the column-by-column loop bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.engine.compiled import compile_plan
from sim.engine.cost import invest_ratios, spend_begin, spent_share
from sim.engine.replicate import run_chunk
from sim.model.load import load_plan
from sim.model.spend import s_curve

ROOT = Path(__file__).resolve().parents[1]


def _by_column(model, begin, finish, t):
    """The previous implementation: one column at a time on its own WorkCalendar (the oracle)."""
    spec = model.costs
    out = np.zeros(begin.shape)
    for j, i in enumerate(spec.items):
        cal = model.calendars[model.item_calendar[i]]
        b, f = begin[:, j], finish[:, i].astype(np.float64)
        wb, wf = cal.work_at(b), cal.work_at(f)
        span = wf - wb
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.where(span > 0, (cal.work_at(np.full(b.shape, t)) - wb) / np.where(span > 0, span, 1.0),
                         (t >= f).astype(np.float64))
        out[:, j] = s_curve(x, spec.profile_a[j], spec.profile_b[j])
    return out


def test_spent_share_equals_column_loop_on_shipped_plan():
    from sim.studies.asof import prepare_plan

    base = load_plan(ROOT / "params")
    moved, _, _ = prepare_plan(base, actuals_path=ROOT / "actuals" / "example.csv", as_of=None)
    for p in (base, moved):
        m = compile_plan(p)
        assert m.costs.n
        rec = run_chunk(m, seed=3, chunk=1)
        for start, finish in ((rec.start, rec.finish), (rec.start.astype(np.float64), rec.finish.astype(np.float64))):
            begin = spend_begin(m, start[:, m.costs.items])
            for t in (-5.0, 0.0, 100.0, 365.25, 700.5, 1200.0, 1e5):
                new, old = spent_share(m, begin, finish[:, m.costs.items], t), _by_column(m, begin, finish, t)
                assert new.shape == old.shape
                np.testing.assert_array_equal(new, old)
        ratios = invest_ratios(m, rec.start.astype(np.float64), rec.finish.astype(np.float64),
                               rec.cost.astype(np.float64))
        assert ratios  # the shipped plan has invest_ge targets
