"""Random streams keyed by (seed, chunk, uncertain quantity).

Every uncertain quantity (an item's multiplier, a risk's occurrence, a shock's
length, a KPI's rate ...) has a string key such as ``"item/T14/eps"``. Its draws
for replication chunk ``c`` come from ``SeedSequence(seed, spawn_key=(c, h(key)))``
with ``h`` a stable 64-bit hash. Consequences:

* results do not depend on how chunks are spread over workers or executors;
* any chunk (hence any replication) can be re-drawn alone;
* two scenarios share the draws of every quantity they have in common, and
  adding or removing an item leaves every other quantity's draws unchanged
  (common random numbers).

Draws are always made for a whole chunk of ``CHUNK`` replications and sliced,
so the first ``n`` replications of a run are the same whatever ``n`` is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

CHUNK = 1000  # replications per chunk: fixed, part of the reproducibility contract


@lru_cache(maxsize=65536)
def key_hash(key: str) -> int:
    """Stable 64-bit hash of a quantity key (independent of PYTHONHASHSEED)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")


def generator(seed: int, chunk: int, key: str) -> np.random.Generator:
    """The generator of quantity ``key`` for replication chunk ``chunk``."""
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=(int(chunk), key_hash(key)))
    return np.random.Generator(np.random.PCG64(ss))


def uniforms(seed: int, chunk: int, key: str, *, size: int = CHUNK, lhs: bool = False) -> np.ndarray:
    """``size`` uniforms in (0, 1) for quantity ``key`` in ``chunk``.

    With ``lhs`` the chunk is Latin-hypercube stratified: exactly one draw falls
    in each of ``size`` equal strata, in random order.
    """
    rng = generator(seed, chunk, key)
    u = rng.random(size)
    if lhs:
        u = (rng.permutation(size) + u) / size
    # keep strictly inside (0, 1) for quantile functions (np.clip's own overhead is most of this call)
    np.maximum(u, 1e-12, out=u)
    return np.minimum(u, 1.0 - 1e-12, out=u)


def uniform_block(seed: int, chunk: int, keys, *, size: int = CHUNK, lhs: bool = False) -> np.ndarray:
    """(size, len(keys)) uniforms: column ``j`` equals :func:`uniforms` of ``keys[j]`` bit for bit.

    The same streams and the same arithmetic, with the clipping done once for the block
    instead of once per key (a chunk has about a thousand keys). Columns are contiguous
    (the array is the transpose of a C-ordered (keys, size) block).
    """
    out = np.empty((len(keys), size))
    for j, key in enumerate(keys):
        rng = generator(seed, chunk, key)
        if lhs:
            u = rng.random(size)  # first, as in uniforms: the permutation is drawn after
            out[j] = (rng.permutation(size) + u) / size
        else:
            rng.random(out=out[j])  # the same numbers as rng.random(size), written in place
    np.maximum(out, 1e-12, out=out)
    return np.minimum(out, 1.0 - 1e-12, out=out).T


def normal_block(seed: int, chunk: int, keys, *, size: int = CHUNK, lhs: bool = False) -> np.ndarray:
    """(size, len(keys)) standard normals: column ``j`` equals :func:`normals` of ``keys[j]`` bit for bit."""
    from scipy.special import ndtri

    return ndtri(uniform_block(seed, chunk, keys, size=size, lhs=lhs))


def normals(seed: int, chunk: int, key: str, *, size: int = CHUNK, lhs: bool = False) -> np.ndarray:
    """Standard normals for quantity ``key`` (inverse transform of :func:`uniforms`)."""
    from scipy.special import ndtri

    return ndtri(uniforms(seed, chunk, key, size=size, lhs=lhs))


@dataclass(frozen=True, slots=True)
class ChunkStreams:
    """The streams of one replication chunk: the run's seed, the chunk index and whether draws are
    Latin-hypercube stratified. Every sampler of a chunk takes this one object.

    >>> s = ChunkStreams(seed=7, chunk=0)
    >>> bool((s.uniforms("item/T1/eps", size=3) == uniforms(7, 0, "item/T1/eps", size=3)).all())
    True
    """

    seed: int
    chunk: int
    lhs: bool = False

    def generator(self, key: str) -> np.random.Generator:
        """The generator of quantity ``key`` in this chunk (plain draws, never stratified)."""
        return generator(self.seed, self.chunk, key)

    def uniforms(self, key: str, *, size: int = CHUNK) -> np.ndarray:
        """:func:`uniforms` of quantity ``key`` in this chunk."""
        return uniforms(self.seed, self.chunk, key, size=size, lhs=self.lhs)

    def normals(self, key: str, *, size: int = CHUNK) -> np.ndarray:
        """:func:`normals` of quantity ``key`` in this chunk."""
        return normals(self.seed, self.chunk, key, size=size, lhs=self.lhs)

    def uniform_block(self, keys, *, size: int = CHUNK) -> np.ndarray:
        """:func:`uniform_block` of ``keys`` in this chunk."""
        return uniform_block(self.seed, self.chunk, keys, size=size, lhs=self.lhs)

    def normal_block(self, keys, *, size: int = CHUNK) -> np.ndarray:
        """:func:`normal_block` of ``keys`` in this chunk."""
        return normal_block(self.seed, self.chunk, keys, size=size, lhs=self.lhs)
