"""The cost model (docs/calibration-cost.md): loading and its checks, exact cases, stream isolation.

Exact cases: a fixed cost multiplier with a known delay gives the standing cost exactly;
a cost risk adds its share exactly in the rows where it fired; with rho = 1 the cost
multiplier is the comonotone transform of the schedule multiplier; with rho = 0 the mean
matches the lognormal's closed form within K standard errors computed here.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from planfactory import dist, item, plan, risk
from scipy import stats

from sim.cli import main
from sim.engine.compiled import compile_plan
from sim.engine.cost import DAYS_PER_YEAR
from sim.engine.replicate import run_chunk
from sim.model.entities import CostClass, DurationClass
from sim.model.load import load_plan
from sim.model.problems import PlanError

PARAMS = Path(__file__).resolve().parent.parent / "params"
K = 4.0
SEED = 7


def _costed(it, budget: float):
    return replace(it, investment_cny_100m=budget)


def _cost_plan(items, *, cost_dist, rho=0.0, standing=0.0, risks=(), classes=None):
    cc = (CostClass("generic", "generic", cost_dist, rho_schedule=rho, standing_per_year=standing),)
    return replace(plan(items, risks=risks, classes=classes), cost_classes=cc)


def _chunks(p, n_chunks=5):
    m = compile_plan(p)
    recs = [run_chunk(m, seed=SEED, chunk=c) for c in range(n_chunks)]
    return m, recs


# -- exact cases ----------------------------------------------------------------------------
def test_standing_cost_of_a_known_delay_is_exact() -> None:
    # 100 working days planned, multiplier fixed 1.5: 50 days late, cost = B (1.2 + 0.1 * 50 / 365.25)
    it = _costed(item("A", 100, mult=dist("fixed", 1.5)), 10.0)
    m, recs = _chunks(_cost_plan([it], cost_dist=dist("fixed", 1.2), standing=0.1), 1)
    late = recs[0].finish[:, 0] - m.plan_finish_day[0]
    assert np.allclose(late, 50.0)
    expected = 10.0 * (1.2 + 0.1 * late.astype(np.float64) / DAYS_PER_YEAR)
    assert np.allclose(recs[0].cost[:, 0], expected, rtol=1e-6)


def test_cost_risk_adds_its_share_where_it_fired() -> None:
    it = _costed(item("A", 100), 8.0)
    r = replace(risk("RC", 0.3, dist("fixed", 0.0), ["A"]), cost_impact=dist("fixed", 0.25))
    m, recs = _chunks(_cost_plan([it], cost_dist=dist("fixed", 1.0), risks=[r]), 3)
    for rec in recs:
        fired = rec.risk[:, 0].astype(bool)
        assert np.allclose(rec.cost[:, 0], np.where(fired, 8.0 * 1.25, 8.0))
    n = sum(rec.rows for rec in recs)
    p_hat = sum(rec.risk[:, 0].sum() for rec in recs) / n
    assert abs(p_hat - 0.3) <= K * np.sqrt(0.3 * 0.7 / n)


def test_rho_one_is_comonotone_with_the_schedule_multiplier() -> None:
    sched = dist("lognormal_sigma", 1.1, 0.3)
    cost = dist("lognormal_sigma", 1.3, 0.2)
    it = _costed(item("A", 200, mult=sched), 5.0)
    m, recs = _chunks(_cost_plan([it], cost_dist=cost, rho=1.0), 2)
    for rec in recs:
        r = rec.multiplier[:, 0].astype(np.float64)
        u = stats.lognorm.cdf(r, s=0.3, scale=1.1)
        expected = stats.lognorm.ppf(u, s=0.2, scale=1.3)
        assert np.allclose(rec.cost[:, 0] / 5.0, expected, rtol=1e-4)


def test_rho_zero_mean_matches_the_closed_form() -> None:
    cost = dist("lognormal_sigma", 1.2, 0.3)
    it = _costed(item("A", 50, mult=dist("lognormal_sigma", 1.0, 0.2)), 1.0)
    m, recs = _chunks(_cost_plan([it], cost_dist=cost, rho=0.0), 10)
    c = np.concatenate([rec.cost[:, 0] for rec in recs]).astype(np.float64)
    mu = 1.2 * np.exp(0.3**2 / 2)
    assert abs(c.mean() - mu) <= K * c.std(ddof=1) / np.sqrt(c.size)
    r = np.concatenate([rec.multiplier[:, 0] for rec in recs])
    rho_hat = stats.spearmanr(r, c).statistic
    assert abs(rho_hat) <= K / np.sqrt(c.size)  # independent: rank correlation 0 within K SE


def test_rank_correlation_follows_rho() -> None:
    # Gaussian copula: Spearman rank correlation = (6 / pi) asin(rho / 2)
    rho = 0.6
    it = _costed(item("A", 50, mult=dist("lognormal_sigma", 1.0, 0.2)), 1.0)
    m, recs = _chunks(_cost_plan([it], cost_dist=dist("lognormal_sigma", 1.2, 0.3), rho=rho), 10)
    c = np.concatenate([rec.cost[:, 0] for rec in recs])
    r = np.concatenate([rec.multiplier[:, 0] for rec in recs])
    n = c.size
    exact = 6 / np.pi * np.arcsin(rho / 2)
    # SE of Spearman's rho under a bivariate normal, approximately (1 - rs^2) / sqrt(n - 3) (Fieller et al.)
    se = 1.06 * (1 - exact**2) / np.sqrt(n - 3)
    assert abs(stats.spearmanr(r, c).statistic - exact) <= K * se


def test_items_without_investment_have_no_cost_column() -> None:
    p = _cost_plan([_costed(item("A", 10), 2.0), item("B", 10)], cost_dist=dist("fixed", 1.0))
    m = compile_plan(p)
    assert m.cost.ids == ("A",)
    assert m.cost.uncosted == ("B",)
    cols = run_chunk(m, seed=1, chunk=0, rows=10).to_table(m).column_names
    assert "cost:A" in cols and "cost:B" not in cols


def test_cost_streams_leave_every_schedule_draw_unchanged() -> None:
    items = [_costed(item("A", 80, mult=dist("lognormal_sigma", 1.1, 0.3)), 3.0),
             _costed(item("B", 40, mult=dist("lognormal_sigma", 1.0, 0.2)), 1.0)]
    r = replace(risk("R", 0.4, dist("triangular", 5, 10, 20), ["A"]), cost_impact=dist("fixed", 0.1))
    with_cost = _cost_plan(items, cost_dist=dist("lognormal_sigma", 1.2, 0.3), rho=0.5, risks=[r])
    without = replace(with_cost, cost_classes=())
    a, b = run_chunk(compile_plan(with_cost), seed=3, chunk=0), run_chunk(compile_plan(without), seed=3, chunk=0)
    for name in ("start", "finish", "met", "risk", "multiplier", "factor"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.cost.shape[1] == 2 and b.cost.shape[1] == 0


# -- loading and validation -----------------------------------------------------------------
@pytest.fixture
def params(tmp_path: Path) -> Path:
    target = tmp_path / "params"
    shutil.copytree(PARAMS, target)
    return target


def test_shipped_plan_costs_the_transport_investment() -> None:
    p = load_plan(PARAMS)
    m = compile_plan(p)
    transport = sum(p.item(i).investment_cny_100m for i in m.cost.ids if p.item(i).campaign == "transport")
    assert abs(transport - 629.0) < 1.0  # the plan: 629 亿 for the transport projects
    assert {r.id for r in p.risks if r.cost_impact is not None} >= {"R_RLA"}
    assert all(c.source for c in p.cost_classes)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _problems(params: Path) -> list[str]:
    with pytest.raises(PlanError) as err:
        load_plan(params)
    return [str(p) for p in err.value.problems]


def test_bad_rho_names_file_line_and_column(params: Path) -> None:
    _edit(params / "cost_classes.csv", "lognormal_sigma,1.4085,0.1890,,0.3,", "lognormal_sigma,1.4085,0.1890,,1.3,")
    found = _problems(params)
    assert any(s.startswith("cost_classes.csv:5 [rho_schedule]") for s in found), found


def test_invested_item_without_cost_class_is_a_problem(params: Path) -> None:
    lines = (params / "cost_classes.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (params / "cost_classes.csv").write_text("".join(l for l in lines if not l.startswith("rail,")), encoding="utf-8")
    found = _problems(params)
    assert any(s.startswith("items.csv:") and "[project_type] = 'rail'" in s and "T14" in s for s in found), found


def test_planned_figures_above_the_investment_are_refused(params: Path) -> None:
    (params / "investment_plan.csv").write_text(
        "item,year,amount_cny_100m,source\nT01,2020,2.0,x\nT01,2021,2.0,x\nT15,2020,1,x\n", encoding="utf-8")
    found = _problems(params)
    assert any(s.startswith("investment_plan.csv:3 [amount_cny_100m]") for s in found), found
    assert any(s.startswith("investment_plan.csv:4 [item]") and "no investment" in s for s in found), found


def test_bad_cost_impact_of_a_risk(params: Path) -> None:
    _edit(params / "risks.csv", "triangular,0.02,0.06,0.12", "triangular,0.2,0.06,0.12")
    found = _problems(params)
    assert any(s.startswith("risks.csv:2 [cost_dist,cost_p1,cost_p2,cost_p3]") for s in found), found


def test_validate_cli_counts_costs_and_exits_2_on_bad_input(params: Path, capsys) -> None:
    assert main(["validate", "--params", str(params)]) == 0
    out = capsys.readouterr().out
    assert "Costs: 25 items with an investment" in out and "cost risks: 3" in out
    _edit(params / "cost_classes.csv", ",0.0464,2,2,", ",-1,2,2,")
    assert main(["validate", "--params", str(params)]) == 2
    err = capsys.readouterr().err
    assert "cost_classes.csv:2 [standing_per_year]" in err and "Traceback" not in err
