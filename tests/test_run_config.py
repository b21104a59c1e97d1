"""The run configuration: one typed object from the command line to the streams and the manifest."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sim.cli import build_parser
from sim.engine import streams
from sim.engine.options import DEFAULT_SEED, Engine, Executor
from sim.engine.runner import RunConfig, choose_executor
from sim.engine.streams import ChunkStreams


def test_the_manifest_round_trip_is_typed_and_exact():
    config = RunConfig(runs=2500, seed=11, workers=3, executor=Executor.POOL, engine=Engine.VECTOR, lhs=True,
                       precision=0.01, progress=False)
    text = json.dumps({"seed": 11, "config": config.to_manifest()})
    back = RunConfig.from_manifest(json.loads(text))
    assert back == config
    assert type(back.engine) is Engine and type(back.executor) is Executor and back.lhs is True


def test_an_older_manifest_keeps_the_defaults_it_does_not_record():
    back = RunConfig.from_manifest({"seed": 5, "config": {"engine": "simpy", "lhs": False}})
    assert back == RunConfig(seed=5, engine=Engine.SIMPY)
    assert RunConfig.from_manifest({"seed": 9}).seed == 9


@pytest.mark.parametrize("bad", [{"lhs": "true"}, {"runs": "300"}, {"engine": "fast"}])
def test_a_wrong_type_in_the_manifest_is_refused(bad):
    with pytest.raises(ValueError):
        RunConfig.from_manifest({"seed": 1, "config": bad})


def test_the_seed_default_is_one_constant():
    args = build_parser().parse_args(["run", "--no-report"])
    assert args.seed == DEFAULT_SEED == RunConfig().seed


@pytest.mark.parametrize(("config", "chunks", "chosen"), [
    (RunConfig(workers=4), 5, (Executor.POOL, 4)),
    (RunConfig(workers=1), 5, (Executor.INLINE, 1)),
    (RunConfig(workers=4), 1, (Executor.INLINE, 4)),
    (RunConfig(workers=4, executor=Executor.INLINE), 5, (Executor.INLINE, 4)),
    (RunConfig(workers=4, scheduler="local"), 5, (Executor.DASK, 4)),
    (RunConfig(workers=2, executor=Executor.POOL, scheduler="tcp://h:8786"), 1, (Executor.DASK, 2)),
])
def test_the_executor_is_chosen_in_one_place(config, chunks, chosen):
    assert choose_executor(config, chunks) == chosen


def test_chunk_streams_are_the_keyed_streams():
    cs = RunConfig(seed=3, lhs=True).streams(4)
    assert cs == ChunkStreams(3, 4, True)
    np.testing.assert_array_equal(cs.uniforms("k", size=50), streams.uniforms(3, 4, "k", size=50, lhs=True))
    np.testing.assert_array_equal(cs.normals("k"), streams.normals(3, 4, "k", lhs=True))
    np.testing.assert_array_equal(cs.generator("k").random(5), streams.generator(3, 4, "k").random(5))
