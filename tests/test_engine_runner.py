"""Monte Carlo runner: reproducibility contract, common random numbers, precision stop, failures.

streams keyed by (seed, chunk, quantity) make records identical
for any executor and worker count, let one chunk be re-run alone, make the
first n replications independent of the run length, and let scenarios share
the draws of every quantity they have in common.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from planfactory import (
    float32_step,
    Factor,
    KpiBoost,
    Target,
    TargetRule,
    counter,
    day,
    discrete,
    dist,
    item,
    link,
    plan,
    risk,
    shock,
    target_by,
    window,
)

from sim.engine import streams
from sim.engine.compiled import compile_plan
from sim.engine.replicate import ChunkRecord, Engine, run_chunk
from sim.engine.runner import Executor, RunConfig, chunk_rows, run_monte_carlo
from sim.results import MANIFEST, RECORDS, RunWriter, read_manifest, read_records
from sim.studies.workflow import run_plan

SEED = 20200116
TABLES = ("items.csv", "targets.csv", "kpis.csv")


def runner_plan(*, extra_item: bool = False):
    """A small programme with every kind of uncertain quantity, KPIs and targets."""
    tri = dist("triangular", 0.8, 1.0, 1.6)
    items = [
        item("A", 200, mult=tri),
        item("B", 150, mult=dist("lognormal", 1.1, 1.5)),
        item("C", 120, mult=tri, start_wait=30),
        item("D", 90, mult=dist("pert", 0.9, 1.0, 1.8)),
    ]
    if extra_item:
        items.insert(2, item("X", 60, mult=tri))  # unrelated to the others
    return plan(
        items,
        [link("A", "B", "SS", 20), link("A", "D"), link("C", "D", "FF", 10)],
        factors=[Factor("CITY", 0.3, ("all",))],
        risks=[risk("R1", 0.3, dist("triangular", 10, 20, 60), ["all"])],
        shocks=[shock("COVID", 38, dist("triangular", 20, 30, 60), probability=0.8)],
        windows=[window(24, 31)],
        kpis=[counter("K_HT", 40.0, cv=0.3, baseline=100.0, measure="stock")],
        boosts=[KpiBoost("K_HT", "D", rate_per_year=30.0)],
        targets=[
            target_by("T_A", "A", day(268)),  # about the median: P(met) near 1/2
            target_by("T_D", "D", day(330)),
            Target("T_K", "T_K", "T_K", "keywork", TargetRule.KPI_GE, ("K_HT",), date(2021, 12, 31),
                   threshold=180.0),
            Target("T_ALL", "T_ALL", "T_ALL", "headline", TargetRule.ALL_OF, ("T_A", "T_D"), date(2021, 6, 30)),
        ],
    )


def collect(model, config: RunConfig) -> tuple[pd.DataFrame, list[ChunkRecord], object]:
    """Run and return the records as one DataFrame, the chunk records and the run stats."""
    recs: list[ChunkRecord] = []
    stats = run_monte_carlo(model, config, recs.append)
    table = pd.concat([r.to_table(model).to_pandas() for r in recs], ignore_index=True)
    return table, recs, stats


def assert_same_run_dir(a, b) -> None:
    """Records equal and summary tables byte-identical (the manifest has timings, so it differs)."""
    pd.testing.assert_frame_equal(read_records(a), read_records(b), check_exact=True)
    for name in TABLES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name} differs"


# -- executors ------------------------------------------------------------------------------
def test_records_identical_inline_and_pool():
    m = compile_plan(runner_plan())
    inline, _, s1 = collect(m, RunConfig(runs=3500, seed=SEED, executor=Executor.INLINE, workers=1))
    pool, _, s2 = collect(m, RunConfig(runs=3500, seed=SEED, executor=Executor.POOL, workers=2))
    assert (s1.executor, s2.executor) == ("inline", "pool")
    assert len(inline) == 3500
    np.testing.assert_array_equal(inline["rep"], np.arange(3500))
    pd.testing.assert_frame_equal(inline, pool, check_exact=True)


def test_run_dirs_identical_inline_and_pool(tmp_path):
    p = runner_plan()
    a = run_plan(p, config=RunConfig(runs=2500, seed=SEED, executor=Executor.INLINE, workers=1), out=tmp_path / "a")
    b = run_plan(p, config=RunConfig(runs=2500, seed=SEED, executor=Executor.POOL, workers=2), out=tmp_path / "b")
    for d in (a, b):
        assert {f.name for f in d.iterdir()} >= {*TABLES, RECORDS, MANIFEST}
    assert_same_run_dir(a, b)
    ma, mb = read_manifest(a), read_manifest(b)
    assert (ma["executor"], mb["executor"]) == ("inline", "pool")
    assert ma["seed"] == mb["seed"] == SEED and ma["replications"] == mb["replications"] == 2500


def test_a_different_seed_gives_different_records():
    m = compile_plan(runner_plan())
    a, _, _ = collect(m, RunConfig(runs=1000, seed=SEED, executor=Executor.INLINE, workers=1))
    b, _, _ = collect(m, RunConfig(runs=1000, seed=SEED + 1, executor=Executor.INLINE, workers=1))
    assert not np.array_equal(a["finish:A"], b["finish:A"])


@pytest.mark.slow
def test_run_dirs_identical_inline_and_dask_local(tmp_path):
    pytest.importorskip("dask.distributed")
    p = runner_plan()
    a = run_plan(p, config=RunConfig(runs=2500, seed=SEED, executor=Executor.INLINE, workers=1), out=tmp_path / "a")
    b = run_plan(p, config=RunConfig(runs=2500, seed=SEED, executor=Executor.DASK, workers=2, scheduler="local"),
                 out=tmp_path / "b")
    assert read_manifest(b)["executor"] == "dask"
    assert_same_run_dir(a, b)


# -- chunking -------------------------------------------------------------------------------
def test_chunk_rows_cover_the_run():
    assert chunk_rows(2500) == [(0, 1000), (1, 1000), (2, 500)]
    assert chunk_rows(2000) == [(0, 1000), (1, 1000)]
    assert chunk_rows(1) == [(0, 1)]


def test_first_replications_do_not_depend_on_the_run_length():
    m = compile_plan(runner_plan())
    short, _, _ = collect(m, RunConfig(runs=1500, seed=SEED, executor=Executor.INLINE, workers=1))
    long, _, _ = collect(m, RunConfig(runs=2500, seed=SEED, executor=Executor.INLINE, workers=1))
    assert len(short) == 1500 and len(long) == 2500
    pd.testing.assert_frame_equal(long.iloc[:1500].reset_index(drop=True), short, check_exact=True)


def test_one_chunk_rerun_alone_reproduces_it():
    m = compile_plan(runner_plan())
    _, recs, _ = collect(m, RunConfig(runs=3000, seed=SEED, executor=Executor.INLINE, workers=1))
    alone = run_chunk(compile_plan(runner_plan()), seed=SEED, chunk=2)
    pd.testing.assert_frame_equal(alone.to_table(m).to_pandas(), recs[2].to_table(m).to_pandas(), check_exact=True)
    # and a part of it: the first rows of a chunk are those of the whole chunk
    part = run_chunk(m, seed=SEED, chunk=2, rows=123).to_table(m).to_pandas()
    pd.testing.assert_frame_equal(part, recs[2].to_table(m).to_pandas().iloc[:123], check_exact=True)


def test_rep_numbers_follow_the_chunk():
    m = compile_plan(runner_plan())
    rec = run_chunk(m, seed=SEED, chunk=4, rows=10)
    np.testing.assert_array_equal(rec.to_table(m).column("rep").to_numpy(), 4 * streams.CHUNK + np.arange(10))


def test_engines_give_the_same_records_through_the_runner():
    m = compile_plan(runner_plan())
    simpy, _, s1 = collect(m, RunConfig(runs=1200, seed=SEED, executor=Executor.INLINE, workers=1,
                                        engine=Engine.SIMPY))
    vector, _, s2 = collect(m, RunConfig(runs=1200, seed=SEED, executor=Executor.INLINE, workers=1,
                                         engine=Engine.VECTOR))
    assert (s1.engine, s2.engine) == ("simpy", "vector")
    numeric = simpy.select_dtypes("number").to_numpy(dtype=float)
    pd.testing.assert_frame_equal(simpy, vector, check_exact=False, rtol=0, atol=float32_step(numeric))


# -- common random numbers ------------------------------------------------------------------------
def test_removing_an_unrelated_item_leaves_other_draws_unchanged():
    with_x = compile_plan(runner_plan(extra_item=True))
    without = compile_plan(runner_plan())
    a = run_chunk(with_x, seed=SEED, chunk=1).to_table(with_x).to_pandas()
    b = run_chunk(without, seed=SEED, chunk=1).to_table(without).to_pandas()
    assert "finish:X" in a and "finish:X" not in b
    shared = [c for c in b.columns if not c.endswith(":X") and "/X" not in c]
    pd.testing.assert_frame_equal(a[shared], b[shared], check_exact=True)


def test_scenarios_share_draws_item_by_item():
    """Changing one item's distribution changes its multiplier only (not its neighbours')."""
    base = runner_plan()
    changed = plan(
        [it if it.id != "C" else item("C", 120, mult=dist("triangular", 1.0, 1.2, 2.0), start_wait=30)
         for it in base.items],
        base.links, factors=base.factors, risks=base.risks, shocks=base.shocks, windows=base.calendar_windows,
        kpis=base.kpis, boosts=base.kpi_boosts, targets=base.targets,
    )
    a = run_chunk(compile_plan(base), seed=SEED, chunk=0)
    b = run_chunk(compile_plan(changed), seed=SEED, chunk=0)
    m = compile_plan(base)
    others = [m.index[i] for i in ("A", "B", "D")]
    np.testing.assert_array_equal(a.multiplier[:, others], b.multiplier[:, others])
    np.testing.assert_array_equal(a.risk, b.risk)
    np.testing.assert_array_equal(a.shock_start, b.shock_start)
    assert not np.array_equal(a.multiplier[:, m.index["C"]], b.multiplier[:, m.index["C"]])
    # A and B do not depend on C: their schedules are the same replication by replication
    np.testing.assert_array_equal(a.finish[:, m.index["A"]], b.finish[:, m.index["A"]])
    np.testing.assert_array_equal(a.finish[:, m.index["B"]], b.finish[:, m.index["B"]])


def test_kpi_arrivals_share_draws_where_their_inputs_are_unchanged():
    """Two scenarios differ only in S's long outcome (2.0 vs 2.5 x 100 days).

    Replications where S takes 100 days in both have identical KPI inputs, so with
    common random numbers their KPI values must be identical too.
    """
    def run(values):
        p = plan([item("S", 100, mult=discrete(values, [0.5, 0.5]))], kpis=[counter("K", 30.0)],
                 boosts=[KpiBoost("K", "S", rate_per_year=50.0)])
        return run_chunk(compile_plan(p), seed=SEED, chunk=0)

    a, b = run([1.0, 2.0]), run([1.0, 2.5])
    same = a.finish[:, 0] == b.finish[:, 0]
    assert 0.4 < same.mean() < 0.6
    np.testing.assert_array_equal(a.kpi[same], b.kpi[same])


# -- precision stop -----------------------------------------------------------------------------
def test_precision_stop_ends_the_run_early_and_says_so(tmp_path):
    cfg = RunConfig(runs=20_000, seed=SEED, executor=Executor.INLINE, workers=1, precision=0.02)
    out = run_plan(runner_plan(), config=cfg, out=tmp_path / "run")
    man = read_manifest(out)
    assert man["stopped_by_precision"] is True
    assert man["replications"] == cfg.min_runs < man["replications_requested"] == 20_000
    assert man["max_target_se"] < 0.02
    assert len(read_records(out, columns=["rep"])) == man["replications"]
    targets = pd.read_csv(out / "targets.csv")
    # the rule's own statistic: every target's standard error, from the records, below the bound
    assert (targets["se"] < 0.02).all()
    assert targets["se"].max() == pytest.approx(man["max_target_se"], rel=1e-9)


def test_precision_stop_waits_for_min_runs_and_checks_after_each_chunk():
    m = compile_plan(runner_plan())
    _, recs, stats = collect(m, RunConfig(runs=20_000, seed=SEED, executor=Executor.INLINE, workers=1,
                                          precision=0.02, min_runs=1000))
    # at n = 1000 the largest possible SE is sqrt(0.25 / 1000) = 0.0158 < 0.02
    assert stats.stopped_by_precision and stats.runs == 1000 and len(recs) == 1

    # T_A is met about half the time: SE = 0.0075 needs about 0.25 / 0.0075^2 = 4,444 replications
    bound = 0.0075
    _, recs, stats = collect(m, RunConfig(runs=20_000, seed=SEED, executor=Executor.INLINE, workers=1,
                                          precision=bound))
    met = np.concatenate([r.met for r in recs]).astype(float)

    def max_se(rows: np.ndarray) -> float:
        p = rows.mean(axis=0)
        return float(np.sqrt(p * (1 - p) / len(rows)).max())

    def rule_se(rows: np.ndarray) -> float:
        """The stopping rule's SE: Laplace estimate (m+1)/(n+2), never 0 for an unseen event."""
        p = (rows.sum(axis=0) + 1) / (len(rows) + 2)
        return float(np.sqrt(p * (1 - p) / len(rows)).max())

    assert stats.stopped_by_precision and stats.runs == len(met) < 20_000
    assert max_se(met) <= rule_se(met) < bound
    assert stats.max_target_se == pytest.approx(max_se(met), rel=1e-12)
    # it stopped at the first chunk boundary where the rule held, not later
    assert rule_se(met[: -streams.CHUNK]) >= bound


def test_unreachable_precision_runs_everything(tmp_path):
    cfg = RunConfig(runs=2500, seed=SEED, executor=Executor.INLINE, workers=1, precision=1e-6)
    man = read_manifest(run_plan(runner_plan(), config=cfg, out=tmp_path / "run"))
    assert man["stopped_by_precision"] is False and man["replications"] == 2500


# -- failures -------------------------------------------------------------------------------------
class Boom(RuntimeError):
    pass


def _failing_sink_after(n_ok: int):
    original = RunWriter.__call__
    calls = {"n": 0}

    def sink(self, rec):
        calls["n"] += 1
        if calls["n"] > n_ok:
            raise Boom(f"disk full at chunk {rec.chunk}")
        original(self, rec)

    return sink


@pytest.mark.parametrize("executor", [Executor.INLINE, Executor.POOL])
def test_a_failing_run_leaves_no_finished_looking_directory(tmp_path, monkeypatch, executor):
    monkeypatch.setattr(RunWriter, "__call__", _failing_sink_after(1))
    out = tmp_path / "run"
    with pytest.raises(Boom):
        run_plan(runner_plan(), config=RunConfig(runs=3000, seed=SEED, executor=executor, workers=2), out=out)
    assert not out.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert all(name.endswith(".partial") for name in leftovers), leftovers
    assert leftovers == []  # the partial directory is removed too


def test_an_interrupted_run_leaves_no_finished_looking_directory(tmp_path, monkeypatch):
    def interrupt(self, rec):
        raise KeyboardInterrupt

    monkeypatch.setattr(RunWriter, "__call__", interrupt)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_plan(runner_plan(), config=RunConfig(runs=1000, seed=SEED, executor=Executor.INLINE, workers=1), out=out)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_sink_propagates_from_run_monte_carlo():
    m = compile_plan(runner_plan())
    seen = []

    def sink(rec):
        seen.append(rec.chunk)
        if rec.chunk == 1:
            raise Boom("sink failed")

    with pytest.raises(Boom):
        run_monte_carlo(m, RunConfig(runs=4000, seed=SEED, executor=Executor.POOL, workers=2), sink)
    assert seen == [0, 1]  # records arrive in chunk order and nothing after the failure


def test_a_failed_rerun_keeps_the_previous_complete_run(tmp_path, monkeypatch):
    out = run_plan(runner_plan(), config=RunConfig(runs=1000, seed=SEED, executor=Executor.INLINE, workers=1),
                   out=tmp_path / "run")
    before = read_records(out)
    monkeypatch.setattr(RunWriter, "__call__", _failing_sink_after(0))
    with pytest.raises(Boom):
        run_plan(runner_plan(), config=RunConfig(runs=1000, seed=SEED + 1, executor=Executor.INLINE, workers=1),
                 out=out, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    pd.testing.assert_frame_equal(read_records(out), before)


def test_precision_stop_gives_the_same_records_on_a_pool():
    m = compile_plan(runner_plan())
    cfg = dict(runs=20_000, seed=SEED, precision=0.0075)
    inline, _, s1 = collect(m, RunConfig(executor=Executor.INLINE, workers=1, **cfg))
    pool, _, s2 = collect(m, RunConfig(executor=Executor.POOL, workers=2, **cfg))
    assert s1.stopped_by_precision and s2.stopped_by_precision and s1.runs == s2.runs
    pd.testing.assert_frame_equal(inline, pool, check_exact=True)
