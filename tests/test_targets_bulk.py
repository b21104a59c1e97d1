"""Targets gathered by depth of references (``evaluate_targets``) equal the target-by-target loop bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.engine.compiled import compile_plan
from sim.engine.cost import invest_ratios, sample_costs
from sim.engine.forward import forward_pass
from sim.engine.kpis import kpi_paths
from sim.engine.sampling import draw
from sim.engine.streams import ChunkStreams
from sim.engine.targets import _one, evaluate_targets
from sim.model.load import load_plan

ROOT = Path(__file__).resolve().parents[1]


def _target_by_target(model, finish, path, invest):
    """Every target in plan order by its own rule (the loop the bulk steps replace: the oracle)."""
    achieved = np.full((finish.shape[0], len(model.targets)), np.inf)
    met = np.zeros(achieved.shape, dtype=bool)
    for t in range(len(model.targets)):
        _one(model, t, finish, path, invest, achieved, met)
    return achieved, met


def test_bulk_targets_equal_target_by_target():
    from sim.studies.asof import prepare_plan

    base = load_plan(ROOT / "params")
    moved, _, _ = prepare_plan(base, actuals_path=ROOT / "actuals" / "example.csv", as_of=None)
    for p in (base, moved):
        m = compile_plan(p)
        assert any(len(t.target_refs) for t in m.targets)  # nested targets are exercised
        for chunk in (0, 2):
            cs = ChunkStreams(4, chunk)
            d = draw(m, cs)
            s, f = forward_pass(m, d)
            path = kpi_paths(m, f, d.kpi_rate, cs)
            inv = invest_ratios(m, s, f, sample_costs(m, d, f, seed=4, chunk=chunk))
            f[::7, :] = np.inf  # never-finished rows too
            a_new, m_new = evaluate_targets(m, f, path, invest=inv)
            a_old, m_old = _target_by_target(m, f, path, inv)
            assert a_new.tobytes() == a_old.tobytes()
            np.testing.assert_array_equal(m_new, m_old)
            assert m_new.any() and not m_new.all()
