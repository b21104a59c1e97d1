"""The shipped plan (params/) loads, counts what the plan has, compiles and simulates."""

from __future__ import annotations

import re

import numpy as np
import pytest

from planfactory import float32_step

from sim.engine.compiled import compile_plan
from sim.engine.replicate import Engine, run_chunk
from sim.model.load import load_plan, plan_summary
from conftest import SHIPPED_PARAMS as PARAMS


@pytest.fixture(scope="module")
def plan():
    return load_plan(PARAMS)


def test_summary_counts_every_annex_entry(plan):
    text = plan_summary(plan)
    counts = dict(re.findall(r"^  (block|transport|environment|keywork): (\d+) entries", text, flags=re.M))
    assert counts == {"block": "12", "transport": "20", "environment": "37", "keywork": "31"}


def test_both_engines_agree_on_the_full_plan(plan):
    model = compile_plan(plan)
    vec = run_chunk(model, seed=3, chunk=0, rows=60, engine=Engine.VECTOR)
    des = run_chunk(model, seed=3, chunk=0, rows=60, engine=Engine.SIMPY)
    one_step = float32_step(vec.finish, des.finish)  # float32 records of float64-equal results
    np.testing.assert_allclose(des.start, vec.start, rtol=0, atol=one_step)
    np.testing.assert_allclose(des.finish, vec.finish, rtol=0, atol=one_step)
    np.testing.assert_array_equal(des.met, vec.met)


def test_plan_dates_are_reachable_with_unit_multipliers(plan):
    """With every multiplier 1, no 力争 uplift and no risks or shocks, no item finishes after
    its plan date unless a dependency pushes it (the plan as written is internally consistent)."""
    import dataclasses

    from sim.model.distribution import Distribution
    from sim.model.enums import DistFamily

    one = Distribution(DistFamily.FIXED, (1.0,))
    items = tuple(dataclasses.replace(it, multiplier=one) for it in plan.items)
    assumptions = tuple(dataclasses.replace(a, value="1") if a.key == "aspirational_uplift" else a
                        for a in plan.assumptions)
    det = dataclasses.replace(plan, items=items, risks=(), shocks=(), assumptions=assumptions,
                              duration_classes=tuple(dataclasses.replace(c, multiplier=one)
                                                     for c in plan.duration_classes))
    model = compile_plan(det)
    rec = run_chunk(model, seed=1, chunk=0, rows=1, engine=Engine.VECTOR)
    late = [(iid, float(rec.finish[0, k]) - model.plan_finish_day[k])
            for k, iid in enumerate(model.item_ids)
            if rec.finish[0, k] > model.plan_finish_day[k] + 1e-3]
    gated = {ln.succ for ln in plan.links} | {ln.pred for ln in plan.links if ln.type == "SYNC"}
    assert all(iid in gated for iid, _ in late), late
