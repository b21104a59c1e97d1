"""Responses (responses.csv): zero effect changes nothing row by row; exact effects on common
random numbers; paired SE; ranking; loading checks."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from planfactory import dist, item, plan, risk, target_by, day

from sim.cli import main
from sim.engine.compiled import compile_plan
from sim.engine.replicate import run_chunk
from sim.engine.responses import apply_response
from sim.model.entities import CostClass, Response
from sim.model.load import load_plan
from sim.model.problems import PlanError
from sim.studies.responses import response_table

K = 4.0
PARAMS = Path(__file__).resolve().parent.parent / "params"
ARRAYS = ("start", "finish", "kpi", "achieved", "met", "risk", "multiplier", "shock_start", "factor", "cost",
          "invest")


def _plan():
    a = replace(item("A", 100, mult=dist("lognormal_sigma", 1.0, 0.2)), investment_cny_100m=4.0)
    b = item("B", 50, mult=dist("lognormal_sigma", 1.0, 0.1))
    r1 = replace(risk("R1", 0.4, dist("triangular", 10, 20, 40), ["A"]), cost_impact=dist("fixed", 0.1))
    r2 = risk("R2", 0.3, dist("fixed", 15), ["B"], phase="start")
    p = plan([a, b], risks=[r1, r2], targets=[target_by("TA", "A", day(109)), target_by("TB", "B", day(55))])
    return replace(p, cost_classes=(CostClass("generic", "g", dist("lognormal_sigma", 1.2, 0.2), rho_schedule=0.3,
                                              standing_per_year=0.05),))


def _resp(effect: str, acts_on, value: float, cost: float = 1.0) -> Response:
    return Response(f"X_{effect}", "x", "x", cost, effect, tuple(acts_on), value)


@pytest.mark.parametrize("effect,acts_on", [("probability", ["R1", "R2"]), ("impact", ["R1"]), ("duration", ["all"])])
def test_zero_effect_response_changes_nothing_row_by_row(effect, acts_on) -> None:
    model = compile_plan(_plan())
    same = apply_response(model, _resp(effect, acts_on, 1.0))
    for c in range(2):
        a, b = run_chunk(model, seed=5, chunk=c), run_chunk(same, seed=5, chunk=c)
        for name in ARRAYS:
            x, y = getattr(a, name), getattr(b, name)
            assert np.array_equal(x, y, equal_nan=True), (effect, name)


def test_probability_effect_on_common_random_numbers() -> None:
    # item of 100 fixed days, risk p = 0.5 adds 30 days: on time iff the risk does not fire
    p = plan([item("A", 100)], risks=[risk("R", 0.5, dist("fixed", 30), ["A"])],
             targets=[target_by("TA", "A", day(99))])
    p = replace(p, responses=(_resp("probability", ["R"], 0.4, cost=2.0),))
    t = response_table(p, runs=20000, seed=9, target="TA")
    row = t.iloc[0]
    exact_gain = 0.5 * (1 - 0.4)  # P(on time) from 0.5 to 0.8
    assert abs(row["gain"] - exact_gain) <= K * row["se_gain"]
    # paired: a response never makes a replication worse here (the risk fires in a subset of the rows)
    n, q = 20000, exact_gain  # differences are 0/1 with P(1) = q = 0.3
    se_exact = np.sqrt(q * (1 - q) / n)
    # the estimated SE moves with q-hat: d sqrt(q(1-q)/n) / dq = (1 - 2q) / (2 sqrt(n q (1-q))), times SE(q-hat)
    se_of_se = abs(1 - 2 * q) / (2 * np.sqrt(n * q * (1 - q))) * se_exact
    assert abs(row["se_gain"] - se_exact) <= K * se_of_se + 1e-12
    assert row["gain_per_100m"] == pytest.approx(row["gain"] / 2.0)


def test_duration_and_impact_effects_are_exact_on_fixed_durations() -> None:
    p = plan([item("A", 100), item("B", 100)], risks=[risk("R", 1.0, dist("fixed", 20), ["B"])])
    model = compile_plan(p)
    faster = apply_response(model, _resp("duration", ["A"], 0.8))
    halved = apply_response(model, _resp("impact", ["R"], 0.5))
    base = run_chunk(model, seed=1, chunk=0, rows=10)
    assert np.allclose(run_chunk(faster, seed=1, chunk=0, rows=10).finish[:, 0], 0.8 * base.finish[:, 0])
    assert np.allclose(base.finish[:, 1], 120.0)
    assert np.allclose(run_chunk(halved, seed=1, chunk=0, rows=10).finish[:, 1], 110.0)


def test_ranking_is_by_gain_per_100m() -> None:
    p = replace(_plan(), responses=(_resp("probability", ["R1"], 0.0, cost=10.0),
                                    replace(_resp("impact", ["R1"], 0.0, cost=0.5), id="CHEAP")))
    t = response_table(p, runs=2000, seed=3)
    assert list(t["gain_per_100m"]) == sorted(t["gain_per_100m"], reverse=True)
    assert t.iloc[0]["id"] == "CHEAP"


@pytest.fixture
def params(tmp_path: Path) -> Path:
    target = tmp_path / "params"
    shutil.copytree(PARAMS, target)
    return target


def test_bad_responses_name_file_line_and_column(params: Path, capsys) -> None:
    path = params / "responses.csv"
    text = path.read_text(encoding="utf-8")
    text = text.replace(",probability,R_RLA,0.5,", ",probability,R_NOPE,0.5,", 1)
    text = text.replace(",impact,R_UTILITY,0.5,", ",faster,R_UTILITY,0.5,", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError) as err:
        load_plan(params)
    found = [str(p) for p in err.value.problems]
    assert any(s.startswith("responses.csv:2 [acts_on] = 'R_NOPE'") for s in found), found
    assert any(s.startswith("responses.csv:5 [effect] = 'faster'") for s in found), found
    assert main(["validate", "--params", str(params)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_validate_counts_responses() -> None:
    from sim.model.load import plan_summary

    assert "Responses: 5 (probability 3, impact 1, duration 1" in plan_summary(load_plan(PARAMS))


def test_scenarios_change_budgets_classes_and_responses() -> None:
    from sim.model.scenario import apply_scenario, load_scenario

    base = load_plan(PARAMS)
    root = PARAMS.parent / "scenarios"
    mitigated = apply_scenario(base, load_scenario(root / "mitigated.yaml"))
    assert mitigated.applied_responses == tuple(r.id for r in base.responses)
    m0, m1 = compile_plan(base), compile_plan(mitigated)
    a, b = run_chunk(m0, seed=8, chunk=0, rows=300), run_chunk(m1, seed=8, chunk=0, rows=300)
    assert np.array_equal(a.multiplier, b.multiplier)  # same draws
    assert (b.finish <= a.finish + 1e-3).all() and (b.finish < a.finish - 1).any()  # never later, sometimes earlier
    china = apply_scenario(base, load_scenario(root / "cost-china.yaml"))
    c = run_chunk(compile_plan(china), seed=8, chunk=0, rows=300)
    assert np.array_equal(a.finish, c.finish) and not np.array_equal(a.cost, c.cost)


def test_responses_out_refuses_a_params_folder(tmp_path, capsys) -> None:
    """`--out` takes a run directory only: a params folder's own responses.csv is never overwritten."""
    params = tmp_path / "params"
    shutil.copytree(Path(__file__).resolve().parent.parent / "params", params)
    before = (params / "responses.csv").read_bytes()
    assert main(["responses", "--params", str(params), "--runs", "100", "--out", str(params)]) == 2
    assert "not a run directory" in capsys.readouterr().err
    assert (params / "responses.csv").read_bytes() == before
