"""Block draws (several keys at once) equal the one-key draws bit for bit, plain and Latin-hypercube."""

from __future__ import annotations

import pytest

from sim.engine import streams
from sim.engine.streams import ChunkStreams


@pytest.mark.parametrize("lhs", [False, True])
def test_blocks_equal_one_key_at_a_time(lhs):
    keys = ["item/T1/eps", "risk/R3/occ", "risk/R3/impact", "shock/S1/length"]
    cs = ChunkStreams(seed=17, chunk=4, lhs=lhs)
    u = cs.uniform_block(keys, size=300)
    z = cs.normal_block(keys, size=300)
    assert u.shape == z.shape == (300, len(keys))
    for j, key in enumerate(keys):
        assert u[:, j].tobytes() == cs.uniforms(key, size=300).tobytes()
        assert z[:, j].tobytes() == cs.normals(key, size=300).tobytes()
    assert streams.uniform_block(17, 4, [], size=5).shape == (5, 0)
