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


class Records(StrEnum):
    """Which record columns a run keeps on disk (``--records``)."""

    FULL = "full"  # every column: what the report's drivers, criticality and re-runs read
    SUMMARY = "summary"  # what the tables, batch comparisons and backtests read (SUMMARY_KINDS)
    NONE = "none"  # the summary columns while the tables are computed, then deleted

    def kinds(self) -> frozenset[str] | None:
        """The column kinds written (None: all)."""
        return None if self is Records.FULL else SUMMARY_KINDS


SUMMARY_KINDS = frozenset({"finish", "kpi", "achieved", "met"})


class Executor(StrEnum):
    """Where chunks run: this process, a fork pool, or a Dask cluster."""

    INLINE = "inline"
    POOL = "pool"
    DASK = "dask"
