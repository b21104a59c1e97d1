"""Probabilistic branching (branches.csv): exact enumeration on a small network, both engines
row by row, records, and the validation of decisions that cannot be known in time.

Network: X (100 days x {1.0, 1.5}, equally likely) -FS-> Y (100 days x {1.0 w.p. 1/4, 1.3 w.p. 3/4});
branch B1 "X not finished by day 120" makes Y 20 % longer; risk R (p = 0.3, no delay) fires
branch B2, which drops Z (50 days), and branch B3, which adds the contingent W (40 days).
Enumerating the 2 x 2 outcomes of X and Y gives Y's finish exactly:
200 (1/8), 230 (3/8), 270 (1/8), 306 (3/8); Z is on time with probability 0.7; W works only
where R fired.
"""

from __future__ import annotations

import itertools
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from planfactory import day, discrete, dist, float32_step, item, link, plan, risk, target_by

from sim.engine.compiled import compile_plan
from sim.engine.options import Engine
from sim.engine.replicate import run_chunk
from sim.model.clock import FAR_DAY
from sim.model.entities import Branch, CostClass
from sim.model.load import load_plan
from sim.model.problems import PlanError

K = 4.0
PARAMS = Path(__file__).resolve().parent.parent / "params"


def _network(y_mult=None):
    x = item("X", 100, mult=discrete([1.0, 1.5], [1, 1]))
    y = item("Y", 100, mult=y_mult or discrete([1.0, 1.3], [1, 3]))
    z = replace(item("Z", 50), investment_cny_100m=2.0)
    w = replace(item("W", 40), investment_cny_100m=1.0)
    r = risk("R", 0.3, dist("fixed", 0), ["Z"])
    p = plan([x, y, z, w], [link("X", "Y")], risks=[r], targets=[target_by("TZ", "Z", day(59))])
    branches = (Branch("B1", "Y", "not_finished", "X", "duration", 1.2, date=day(119)),
                Branch("B2", "Z", "risk_fired", "R", "drop"),
                Branch("B3", "W", "risk_fired", "R/Z", "add"))
    return replace(p, branches=branches,
                   cost_classes=(CostClass("generic", "g", dist("fixed", 1.0)),))


def test_exact_enumeration_of_the_branches() -> None:
    m = compile_plan(_network())
    recs = [run_chunk(m, seed=17, chunk=c) for c in range(10)]
    n = sum(r.rows for r in recs)
    y = np.concatenate([r.finish[:, m.index["Y"]] for r in recs]).astype(np.float64)
    exact = {}
    for (xm, px), (ym, py) in itertools.product([(1.0, 0.5), (1.5, 0.5)], [(1.0, 0.25), (1.3, 0.75)]):
        fin = 100 * xm + 100 * ym * (1.2 if 100 * xm > 120 else 1.0)
        exact[round(fin, 6)] = exact.get(round(fin, 6), 0.0) + px * py
    assert sorted(exact) == [200.0, 230.0, 270.0, 306.0]
    assert np.isin(np.round(y, 3), list(exact)).all()
    for value, p in exact.items():
        p_hat = float(np.mean(np.isclose(y, value)))
        assert abs(p_hat - p) <= K * np.sqrt(p * (1 - p) / n), (value, p_hat, p)
    fired = np.concatenate([r.risk[:, 0] for r in recs]).astype(bool)
    z = np.concatenate([r.finish[:, m.index["Z"]] for r in recs])
    w = np.concatenate([r.finish[:, m.index["W"]] for r in recs])
    assert np.all(z[fired] >= FAR_DAY * 0.99) and np.allclose(z[~fired], 50.0)
    assert np.allclose(w[fired], 40.0) and np.allclose(w[~fired], 0.0)
    met = np.concatenate([r.met[:, 0] for r in recs]).astype(float)
    assert np.array_equal(met, (~fired).astype(float))  # the dropped deliverable's target fails
    assert abs(met.mean() - 0.7) <= K * np.sqrt(0.21 / n)
    cost = np.concatenate([r.cost for r in recs])
    cols = {iid: j for j, iid in enumerate(m.cost.ids)}
    assert np.allclose(cost[fired, cols["Z"]], 0.0) and np.allclose(cost[~fired, cols["Z"]], 2.0)
    assert np.allclose(cost[fired, cols["W"]], 1.0) and np.allclose(cost[~fired, cols["W"]], 0.0)
    b1 = np.concatenate([r.branch[:, 0] for r in recs]).astype(bool)
    x = np.concatenate([r.finish[:, m.index["X"]] for r in recs])
    assert np.array_equal(b1, x > 120)


def test_both_engines_agree_row_by_row_with_branches() -> None:
    m = compile_plan(_network(y_mult=dist("lognormal_sigma", 1.1, 0.3)))
    for c in range(2):
        a = run_chunk(m, seed=4, chunk=c, rows=300, engine=Engine.VECTOR)
        b = run_chunk(m, seed=4, chunk=c, rows=300, engine=Engine.SIMPY)
        tol = float32_step(a.finish, b.finish)
        for name in ("start", "finish"):
            x, y = getattr(a, name), getattr(b, name)
            assert np.allclose(x, y, rtol=0, atol=4 * tol), name
        assert np.array_equal(a.branch, b.branch) and np.array_equal(a.met, b.met)


def test_branch_columns_in_the_records() -> None:
    m = compile_plan(_network())
    cols = run_chunk(m, seed=1, chunk=0, rows=5).to_table(m).column_names
    assert {"branch:B1", "branch:B2", "branch:B3"} <= set(cols)


@pytest.fixture
def params(tmp_path: Path) -> Path:
    target = tmp_path / "params"
    shutil.copytree(PARAMS, target)
    return target


def test_validation_rejects_a_condition_known_only_after_the_branch_starts(params: Path) -> None:
    (params / "branches.csv").write_text(
        "id,name_en,condition,ref,date,item,action,value,source\n"
        "B_OK,x,not_finished,X_S3,2021-06-30,T04,duration,1.1,x\n"
        "B_LATE,x,not_finished,T03,2022-06-30,T04,duration,1.1,x\n"
        "B_BAD,x,risk_fired,R_NOPE,,T04,grow,1,x\n", encoding="utf-8")
    with pytest.raises(PlanError) as err:
        load_plan(params)
    found = [str(p) for p in err.value.problems]
    assert any(s.startswith("branches.csv:3 [date] = '2022-06-30'") and "after T04 starts" in s for s in found), found
    assert any(s.startswith("branches.csv:4 [action] = 'grow'") for s in found), found
    assert not any(s.startswith("branches.csv:2") for s in found), found


def test_shipped_branches_change_only_t04_and_what_depends_on_it() -> None:
    p = load_plan(PARAMS)
    assert {b.id for b in p.branches} == {"BR_T04_S3", "BR_T04_RLA"}
    with_b, without = compile_plan(p), compile_plan(replace(p, branches=()))
    a, b = run_chunk(with_b, seed=2, chunk=0, rows=200), run_chunk(without, seed=2, chunk=0, rows=200)
    changed = {with_b.item_ids[j] for j in np.flatnonzero((a.finish != b.finish).any(axis=0))}
    assert changed <= {"T04"} and np.array_equal(a.multiplier, b.multiplier)
