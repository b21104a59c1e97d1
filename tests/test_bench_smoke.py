"""`sim bench` runs end to end and prints its table (a smoke test: no timing is asserted here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sim.studies.bench import SIZES, bench, binding_plan, fs_only_pass, stream_usage
from sim.engine.compiled import compile_plan
from sim.engine.sampling import draw_chunk
from sim.model.load import load_plan

PARAMS = Path(__file__).resolve().parents[1] / "params"


@pytest.mark.slow
def test_bench_smoke_prints_every_figure_against_the_floor():
    lines = bench(PARAMS, size="smoke", workers=2)
    text = "\n".join(lines)
    assert "load average" in text and "x floor" in text
    for name in ("floor:", "vectorised engine, whole replication", "SimPy engine, whole replication",
                 "peer: pmcontrols-style", "summaries at 1x", "summaries at 2x", "2 workers", "start-up: sim --help",
                 "start-up: sim run --runs 1"):
        assert name in text, name
    assert "FAILED" not in text
    assert set(SIZES) == {"full", "quick", "smoke"}


def test_floor_counts_the_streams_a_chunk_really_uses():
    m = compile_plan(load_plan(PARAMS))
    usage = stream_usage(m)
    keys = {k for k, _ in usage}
    assert {f"item/{i}/eps" for i in m.item_ids} <= keys
    assert {f"risk/{r.key}/occ" for r in m.risks} <= keys
    assert all(n > 0 for _, n in usage)


def test_binding_plan_binds_and_peer_pass_is_a_cpm_pass():
    p = load_plan(PARAMS)
    assert not compile_plan(p).has_contention() and compile_plan(binding_plan(p)).has_contention()
    m = compile_plan(p)
    d = draw_chunk(m, seed=1, chunk=0).rows(slice(0, 10))
    f = fs_only_pass(m, d.work)
    assert (f >= d.work - 1e-9).all()  # a finish is at least its own duration after day 0


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="Linux /proc only")
def test_load_watch_counts_its_own_cpu_as_its_own():
    """The bench's own work (here: a child process spinning) is in its own tree's CPU time, and the
    machine's busy time includes it, so it is not taken for load from other processes."""
    import subprocess
    import sys

    from sim.studies.bench import _own_tree_seconds, _system_busy_seconds

    own0, busy0 = _own_tree_seconds(), _system_busy_seconds()
    child = subprocess.Popen([sys.executable, "-c", "import time\nt=time.process_time()\n"
                              "while time.process_time() - t < 0.6: pass\ntime.sleep(5)"])
    try:
        import time
        deadline = time.monotonic() + 60
        while _own_tree_seconds() - own0 < 0.5:  # the live child's CPU is seen before it is reaped
            assert time.monotonic() < deadline, "the spinning child's CPU time never showed in the tree"
            time.sleep(0.05)
        busy1 = _system_busy_seconds()
    finally:
        child.kill()
        child.wait()
    tick = 1 / os.sysconf("SC_CLK_TCK")
    assert busy1 - busy0 >= 0.5 - 2 * tick
