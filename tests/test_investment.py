"""Spending over time (sim.model.spend, sim.engine.cost, sim.analysis.investment): exact cases.

* Beta(2, 2) S-curve: spending in a year equals cost x (S(x1) - S(x0)) with S(x) = 3x^2 - 2x^3,
  computed here independently from calendar days (the factory plan has no stoppages);
* a target of rule invest_ge: with a fixed schedule and a lognormal cost multiplier the
  completion rate is C x (known share) / (known plan), so P(met) is a lognormal tail, compared
  within K standard errors computed in the test;
* the plan's even profile and its own annual figures;
* validation of invest_ge rows.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from planfactory import AS_OF, dist, item, plan
from scipy import stats

from sim.analysis.investment import investment_table
from sim.engine.compiled import compile_plan
from sim.engine.replicate import column, run_chunk
from sim.model.entities import CostClass, PlannedSpend, Target
from sim.model.enums import TargetRule
from sim.model.load import load_plan
from sim.model.problems import PlanError
from sim.model.spend import even_share, planned_amount

K = 4.0
PARAMS = Path(__file__).resolve().parent.parent / "params"


def _s(x):
    x = np.clip(x, 0, 1)
    return 3 * x**2 - 2 * x**3


def _plan(days: int, budget: float, cost_dist, *, targets=(), spends=()):
    it = replace(item("A", days), investment_cny_100m=budget)
    p = plan([it], targets=targets)
    return replace(p, cost_classes=(CostClass("generic", "g", cost_dist, profile_a=2, profile_b=2),),
                   planned_spend=tuple(spends))


class _Records(dict):
    def __len__(self):
        return len(next(iter(self.values())))


def _records(model, recs) -> _Records:
    import pandas as pd

    tables = [r.to_table(model).to_pandas() for r in recs]
    df = pd.concat(tables, ignore_index=True)
    return _Records({c: df[c] for c in df.columns})


def test_annual_spending_follows_the_s_curve_exactly() -> None:
    # 600 days from 2020-01-01 with cost fixed at 1.1 x 50: spending in 2020 and 2021 from the closed form
    p = _plan(600, 50.0, dist("fixed", 1.1))
    m = compile_plan(p)
    rec = run_chunk(m, seed=1, chunk=0, rows=5)
    table = investment_table(m, _records(m, [rec]))
    prog = table[(table.level == "programme")].set_index("year")
    end_2020 = (date(2021, 1, 1) - AS_OF).days
    x = end_2020 / 600.0
    assert prog.loc[2020, "p50"] == pytest.approx(55.0 * _s(x), rel=1e-6)
    assert prog.loc[2021, "p50"] == pytest.approx(55.0 * (1 - _s(x)), rel=1e-6)
    assert prog.loc[2022, "p50"] == pytest.approx(0.0, abs=1e-9)
    # the plan: even over the 600 days from 2020-01-01 (plan dates of the factory item)
    assert prog.loc[2020, "planned"] == pytest.approx(50.0 * end_2020 / 600.0, rel=1e-9)
    assert bool(prog.loc[2020, "planned_assumed"])


def test_invest_target_probability_is_a_lognormal_tail() -> None:
    median, sigma = 1.1, 0.25
    deadline = date(2020, 12, 31)
    tgt = Target("TI", "TI", "TI", "investment", TargetRule.INVEST_GE, ("all",), deadline, threshold=1.0)
    p = _plan(600, 10.0, dist("lognormal_sigma", median, sigma), targets=[tgt])
    m = compile_plan(p)
    recs = [run_chunk(m, seed=11, chunk=c) for c in range(10)]
    met = np.concatenate([r.met[:, 0] for r in recs]).astype(float)
    end_2020 = (date(2021, 1, 1) - AS_OF).days
    share, planned = _s(end_2020 / 600.0), end_2020 / 600.0
    # met <=> C * 10 * share >= 1.0 * 10 * planned
    exact = stats.lognorm.sf(planned / share, s=sigma, scale=median)
    n = met.size
    assert abs(met.mean() - exact) <= K * np.sqrt(exact * (1 - exact) / n)
    ratio = np.concatenate([r.invest[:, 0] for r in recs]).astype(np.float64)
    cost = np.concatenate([r.cost[:, 0] for r in recs]).astype(np.float64)
    assert np.allclose(ratio, cost * share / (10.0 * planned), rtol=1e-5)
    assert column("invest", "TI") in recs[0].to_table(m).column_names


def test_plan_figures_replace_the_even_profile() -> None:
    spends = [PlannedSpend("A", 2020, 4.0), PlannedSpend("A", 2021, 6.0)]
    p = _plan(600, 10.0, dist("fixed", 1.0), spends=spends)
    m = compile_plan(p)
    table = investment_table(m, _records(m, [run_chunk(m, seed=1, chunk=0, rows=3)]))
    prog = table[table.level == "programme"].set_index("year")
    assert prog.loc[2020, "planned"] == pytest.approx(4.0)
    assert prog.loc[2021, "planned"] == pytest.approx(6.0)
    assert not bool(prog.loc[2020, "planned_assumed"])


def test_even_share_counts_calendar_days() -> None:
    assert even_share(date(2020, 7, 1), date(2021, 6, 30), date(2020, 1, 1), date(2020, 12, 31)) \
        == pytest.approx(184 / 365)
    amount, assumed = planned_amount(investment=36.5, plan_start=None, plan_finish=date(2020, 12, 31),
                                     as_of=date(2020, 1, 16), lo=date(2020, 1, 16), hi=date(2020, 6, 30))
    assert assumed and amount == pytest.approx(36.5 * 167 / 351)


@pytest.fixture
def params(tmp_path: Path) -> Path:
    target = tmp_path / "params"
    shutil.copytree(PARAMS, target)
    return target


def test_invest_target_needs_a_threshold_and_known_selectors(params: Path) -> None:
    text = (params / "targets.csv").read_text(encoding="utf-8")
    text = text.replace("invest_ge,campaign:transport,,1,2020-12-31", "invest_ge,campaign:nowhere,,,2020-12-31", 1)
    (params / "targets.csv").write_text(text, encoding="utf-8")
    line = next(k for k, l in enumerate(text.splitlines(), 1) if l.startswith("TG_INV_2020,"))
    with pytest.raises(PlanError) as err:
        load_plan(params)
    found = [str(p) for p in err.value.problems]
    assert any(s.startswith(f"targets.csv:{line} [refs] = 'campaign:nowhere'") for s in found), found
    assert any(s.startswith(f"targets.csv:{line} [threshold]") for s in found), found


def test_shipped_plan_has_a_completion_target_per_year() -> None:
    p = load_plan(PARAMS)
    years = sorted(t.deadline.year for t in p.targets if t.rule is TargetRule.INVEST_GE)
    assert years == [2020, 2021, 2022]
