"""Slippage: propagation along links only, paired effects on CRN, the monotone tolerance search."""

from __future__ import annotations


import numpy as np
import pytest

import planfactory as pf
from sim.cli import main
from sim.engine.compiled import compile_plan
from sim.engine.replicate import run_chunk
from sim.engine.runner import Executor, RunConfig
from sim.model.enums import DistFamily
from sim.analysis.slip_propagation import with_slip, zero_variance
from sim.studies.slip import deterministic_slip, probabilistic_slip, simulate_met, tolerance, tolerance_lines
from conftest import MINI_PARAMS as FIXTURE

CONFIG = RunConfig(runs=1000, seed=11, workers=1, executor=Executor.INLINE)


@pytest.fixture(scope="module")
def s2_plan():
    """S2 -> T15 (FF) -> T16 (FS), and an item UNREL with no path from S2."""
    ln = pf.dist("lognormal", 1.05, 1.4)
    items = [pf.item("S2", 100, mult=ln), pf.item("T15", 50, mult=ln), pf.item("T16", 30),
             pf.item("UNREL", 80, mult=ln)]
    links = [pf.link("S2", "T15", "FF"), pf.link("T15", "T16", "FS")]
    targets = [pf.target_by("TS2", "S2", pf.day(120)), pf.target_by("TT15", "T15", pf.day(125)),
               pf.target_by("TT16", "T16", pf.day(160)), pf.target_by("TUN", "UNREL", pf.day(90))]
    return pf.plan(items, links, targets=targets, factors=[pf.Factor("F", 0.5, ("all",))])


def test_slip_moves_connected_items_only_in_every_replication(s2_plan):
    base = run_chunk(compile_plan(s2_plan), seed=3, chunk=0, rows=1000)
    model = compile_plan(with_slip(s2_plan, "S2", 30))
    slipped = run_chunk(model, seed=3, chunk=0, rows=1000)
    col = model.index
    assert np.array_equal(base.finish[:, col["UNREL"]], slipped.finish[:, col["UNREL"]])
    assert np.array_equal(base.start[:, col["UNREL"]], slipped.start[:, col["UNREL"]])
    assert np.allclose(slipped.finish[:, col["S2"]] - base.finish[:, col["S2"]], 30, atol=1e-3)
    for i in ("T15", "T16"):
        shift = slipped.finish[:, col[i]] - base.finish[:, col[i]]
        assert (shift >= -1e-3).all() and (shift > 1).any()
    assert np.array_equal(base.met[:, 3], slipped.met[:, 3])  # TUN


def test_deterministic_propagation_names_the_links(s2_plan):
    det = deterministic_slip(s2_plan, "S2", [30, 60])
    rows = det[det["slip_days"] == 30].set_index("id")
    assert set(rows.index) == {"S2", "T15", "T16", "TS2", "TT15", "TT16"}
    assert rows.loc["S2", "finish_shift_days"] == 30 and rows.loc["T16", "finish_shift_days"] == 30
    assert rows.loc["T15", "path"] == "S2 -FF-> T15" and rows.loc["T16", "path"] == "S2 -FF-> T15 -FS-> T16"
    assert rows.loc["T16", "start_shift_days"] == 30
    assert rows.loc["TS2", "met_base"] and not rows.loc["TS2", "met_slipped"]
    assert "UNREL" not in rows.index and "TUN" not in rows.index
    assert det[det["slip_days"] == 60].set_index("id").loc["T16", "finish_shift_days"] == 60


def test_zero_variance_copy(s2_plan):
    flat = zero_variance(with_slip(s2_plan, "S2", 10))
    assert all(i.multiplier.family is DistFamily.FIXED and i.multiplier.params == (1.0,) for i in flat.items)
    assert flat.risks == () and flat.shocks == ()


def test_probabilistic_effect_is_paired(s2_plan):
    prob = probabilistic_slip(s2_plan, "S2", [20], CONFIG).set_index("target")
    assert prob.loc["TUN", "difference"] == 0 and prob.loc["TUN", "difference_se"] == 0
    assert not prob.loc["TUN", "excludes_zero"]
    for t in ("TS2", "TT15"):
        assert prob.loc[t, "difference"] < 0 and prob.loc[t, "excludes_zero"]
        assert prob.loc[t, "ci95_low"] < prob.loc[t, "difference"] < prob.loc[t, "ci95_high"]


def test_a_plan_compared_with_itself_differs_by_zero(s2_plan):
    prob = probabilistic_slip(s2_plan, "S2", [0], CONFIG)
    assert (prob["difference"] == 0).all() and (prob["difference_se"] == 0).all()


def test_tolerance_is_monotone_and_brackets_the_answer(s2_plan):
    tol = tolerance(s2_plan, "S2", "TT15", confidence=0.5, config=CONFIG, max_days=120)
    assert tol.monotone and tol.days is not None and 0 < tol.days < 120
    assert tol.low_days <= tol.days <= tol.high_days
    p = tol.table().set_index("slip_days")["p_met"]
    assert p.is_monotonic_decreasing
    assert tol.p[tol.days] >= 0.5 > tol.p[tol.days + 1]
    # independent check of both ends, straight from fresh runs
    ids, at = simulate_met(with_slip(s2_plan, "S2", tol.days), CONFIG)
    _, after = simulate_met(with_slip(s2_plan, "S2", tol.days + 1), CONFIG)
    k = ids.index("TT15")
    assert at[:, k].mean() >= 0.5 > after[:, k].mean()
    assert (at[:, k] >= after[:, k]).all()  # per replication: a longer slip never helps
    assert "largest slip" in "\n".join(tolerance_lines(tol))


def test_tolerance_below_the_level_without_a_slip_asks_for_an_advance(s2_plan):
    tol = tolerance(s2_plan, "S2", "TS2", confidence=0.95, config=CONFIG, max_days=60)
    assert tol.p[0] < 0.95 and tol.days is not None and tol.days < 0
    assert tol.p[tol.days] >= 0.95
    assert "earlier" in "\n".join(tolerance_lines(tol))


def test_cli_slip_and_tolerance(capsys):
    common = ["--params", str(FIXTURE), "--runs", "200", "--workers", "1"]
    assert main(["slip", "T05.1", "--by", "1m", "3m", *common]) == 0
    out = capsys.readouterr().out
    assert "T05.1 -FS-> T05.2" in out and "TT05" in out
    assert main(["tolerance", "T05.1", "--target", "TB01", "--confidence", "0.05", "--max", "6m", *common]) == 0
    assert "tolerance of TB01" in capsys.readouterr().out


def test_cli_slip_errors(capsys):
    assert main(["slip", "NOPE", "--by", "1m", "--params", str(FIXTURE), "--runs", "10"]) == 2
    err = capsys.readouterr().err
    assert "unknown item 'NOPE'" in err and "Traceback" not in err
    assert main(["tolerance", "T05.1", "--target", "NOPE", "--params", str(FIXTURE), "--runs", "10"]) == 2
    assert "unknown target 'NOPE'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["slip", "T05.1", "--by", "soon", "--params", str(FIXTURE)])
    assert exit_.value.code == 2
