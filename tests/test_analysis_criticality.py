"""Criticality, cruciality and SSI on small networks with known answers."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from planfactory import dist, item, link, plan

from sim.analysis.criticality import PROGRAMME_ID, criticality_table
from sim.analysis.drivers import (
    chain_links,
    decisive_items,
    draws_for,
    driving_chains,
    item_days,
)
from sim.engine.compiled import compile_plan
from sim.engine.replicate import Engine
from sim.engine.runner import Executor, RunConfig, run_monte_carlo
from sim.model.entities import Target
from sim.model.enums import TargetRule
from sim.results import RunWriter, read_records

SEED = 7
RUNS = 2000
END = date(2022, 12, 31)


def target(tid: str, refs, rule: TargetRule = TargetRule.ALL_OF, k: int | None = None) -> Target:
    return Target(id=tid, name_zh=tid, name_en=tid, section="transport", rule=rule, refs=tuple(refs),
                  deadline=END, k=k)


def simulate(p, tmp_path, *, engine: Engine = Engine.VECTOR):
    """Records of ``RUNS`` replications of plan ``p`` (through the real run writer)."""
    model = compile_plan(p)
    writer = RunWriter(tmp_path / "run", model)
    run_monte_carlo(model, RunConfig(runs=RUNS, seed=SEED, workers=1, executor=Executor.INLINE, engine=engine),
                    writer)
    return model, read_records(writer.close_records().parent)


def crit_of(table, tid: str) -> dict[str, float]:
    rows = table[table["target"] == tid]
    return dict(zip(rows["item"], rows["criticality"]))


def test_one_path_always_longer_is_always_critical(tmp_path):
    """A (90..110 days) always ends after B (9..11 days): criticality 1 and 0, exactly."""
    p = plan(
        [item("A", 100, mult=dist("uniform", 0.9, 1.1)), item("B", 10, mult=dist("uniform", 0.9, 1.1))],
        targets=[target("T", ["A", "B"])],
    )
    model, rec = simulate(p, tmp_path)
    tab = criticality_table(model, rec, seed=SEED)
    t = tab[tab["target"] == "T"].set_index("item")
    assert t.loc["A", "criticality"] == 1.0 and t.loc["A", "decisive"] == 1.0
    assert t.loc["B", "criticality"] == 0.0 and t.loc["B", "decisive"] == 0.0
    # the target's date is A's finish = A's duration: cruciality 1, SSI 1
    assert t.loc["A", "cruciality"] == pytest.approx(1.0, abs=1e-6)
    assert t.loc["A", "ssi"] == pytest.approx(1.0, abs=1e-6)
    assert t.loc["B", "ssi"] == 0.0


def test_two_identical_independent_paths_share_criticality(tmp_path):
    """Two i.i.d. paths: each decides half the time, within 4 standard errors."""
    mult = dist("lognormal", 1.0, 1.5)
    p = plan([item("A", 100, mult=mult), item("B", 100, mult=mult)], targets=[target("T", ["A", "B"])])
    model, rec = simulate(p, tmp_path)
    t = criticality_table(model, rec, seed=SEED).query("target == 'T'").set_index("item")
    se = np.sqrt(0.25 / RUNS)
    for iid in ("A", "B"):
        assert abs(t.loc[iid, "criticality"] - 0.5) < 4 * se
        assert t.loc[iid, "criticality_se"] == pytest.approx(se, rel=0.05)
    assert t["criticality"].sum() == pytest.approx(1.0)


def test_predecessor_on_the_driving_chain(tmp_path):
    """C -> D (FS) against E: C drives D's start in every replication, so crit(C) == crit(D)."""
    mult = dist("lognormal", 1.0, 1.5)
    p = plan(
        [item("C", 50, mult=mult), item("D", 50, mult=mult), item("E", 100, mult=mult)],
        [link("C", "D")],
        targets=[target("T", ["D", "E"])],
    )
    model, rec = simulate(p, tmp_path)
    t = criticality_table(model, rec, seed=SEED).query("target == 'T'").set_index("item")
    assert t.loc["C", "criticality"] == t.loc["D", "criticality"]
    assert t.loc["C", "decisive"] == 0.0  # decisive is the ref itself, never its predecessor
    assert t.loc["D", "criticality"] + t.loc["E", "criticality"] == pytest.approx(1.0)
    assert 0.0 < t.loc["D", "criticality"] < 1.0


def test_k_of_n_decided_by_the_kth_finish(tmp_path):
    """1 of {A, B}: the earlier finish decides; A (about 10 days) always beats B (about 100)."""
    p = plan(
        [item("A", 10, mult=dist("uniform", 0.9, 1.1)), item("B", 100, mult=dist("uniform", 0.9, 1.1))],
        targets=[target("T", ["A", "B"], rule=TargetRule.K_OF_N, k=1)],
    )
    model, rec = simulate(p, tmp_path)
    assert crit_of(criticality_table(model, rec, seed=SEED), "T") == {"A": 1.0, "B": 0.0}


def test_decisive_item_recurses_through_target_refs(tmp_path):
    """T2 = all_of(T1, C) with T1 = all_of(A, B): the decisive item of T2 is an item, never a target."""
    u = dist("uniform", 0.9, 1.1)
    p = plan(
        [item("A", 100, mult=u), item("B", 10, mult=u), item("C", 50, mult=u)],
        targets=[target("T1", ["A", "B"]), target("T2", ["T1", "C"])],
    )
    model, rec = simulate(p, tmp_path)
    finish = item_days(model, rec, "finish")
    achieved = np.column_stack([rec[f"achieved:{t.id}"].to_numpy(np.float64) for t in model.targets])
    dec = decisive_items(model, finish, achieved)
    t2 = [t.id for t in model.targets].index("T2")
    assert (dec[:, t2] == model.index["A"]).all()


def test_sync_partner_with_the_later_natural_finish_drives(tmp_path):
    """A and B finish together (SYNC); B's own work is always longer, so B is on the chain, not A."""
    u = dist("uniform", 0.9, 1.1)
    p = plan([item("A", 10, mult=u), item("B", 100, mult=u), item("Z", 1, mult=u)], [link("A", "B", "SYNC")],
             targets=[target("T", ["A", "Z"])])
    model, rec = simulate(p, tmp_path)
    start, finish = item_days(model, rec, "start"), item_days(model, rec, "finish")
    links = chain_links(model, start, finish, draws_for(model, rec["rep"].to_numpy(), seed=SEED))
    on = driving_chains(links, np.full(len(rec), model.index["A"]))
    assert on[:, model.index["B"]].all() and on[:, model.index["A"]].all()
    assert not on[:, model.index["Z"]].any()


def test_simpy_engine_with_a_resource_queue(tmp_path):
    """With capacity 1, B waits for A's crew: the queue, not a link, delays B (chain stops at B)."""
    u = dist("uniform", 0.9, 1.1)
    p = plan([item("A", 50, mult=u, resource="U1"), item("B", 50, mult=u, resource="U1")],
             targets=[target("T", ["A", "B"])], capacity=1)
    model, rec = simulate(p, tmp_path, engine=Engine.SIMPY)
    t = crit_of(criticality_table(model, rec, seed=SEED), "T")
    assert t["A"] + t["B"] == pytest.approx(1.0)


def test_programme_pseudo_target(tmp_path):
    u = dist("uniform", 0.9, 1.1)
    p = plan([item("A", 100, mult=u), item("B", 10, mult=u)], targets=[target("T", ["A"], TargetRule.ITEM_BY)])
    model, rec = simulate(p, tmp_path)
    tab = criticality_table(model, rec, seed=SEED)
    assert set(tab["target"]) == {PROGRAMME_ID}  # T has one contributor: left out
    assert crit_of(tab, PROGRAMME_ID) == {"A": 1.0, "B": 0.0}
