"""Run options as enums, in a module that imports nothing heavy.

The command line builds its parser from these choices; keeping them apart from
the engine lets ``sim --help`` start without numpy, scipy or pyarrow.
"""

from __future__ import annotations

from enum import StrEnum

DEFAULT_SEED = 20200116  # the seed of a run that names none (the plan's date, 2020-01-16)


class Engine(StrEnum):
    """Which schedule engine runs a chunk."""

    AUTO = "auto"  # vectorised when no resource contention is possible, else SimPy
    SIMPY = "simpy"
    VECTOR = "vector"


class Executor(StrEnum):
    """Where chunks run: this process, a fork pool, or a Dask cluster."""

    INLINE = "inline"
    POOL = "pool"
    DASK = "dask"
