"""Resources a run needs, checked before it starts (issue 10: no run may exhaust the machine).

The records of a run are one float32 (or uint8) value per replication and
recorded quantity; the report reads them back whole, and the summaries keep a
second copy of a block of columns. A run whose records alone would take more
than :data:`MEMORY_SHARE` of the machine's memory is refused before the first
replication, with the largest run count that fits.
"""

from __future__ import annotations

import os

from sim.errors import ResourceError

BYTES_PER_VALUE = 4  # float32 records
COPIES = 2  # records read back whole + the analysis' working copies (float64 of a few columns at a time)
MEMORY_SHARE = 0.5  # of the physical memory
MAX_WORKERS_PER_CORE = 4


def record_columns(model) -> int:
    """Number of record columns of a replication of ``model`` (see :meth:`ChunkRecord.to_table`)."""
    items, kpis, checkpoints = len(model.item_ids), len(model.kpis), len(model.checkpoints)
    return (1 + 3 * items + kpis * checkpoints + 2 * len(model.targets) + len(model.risks)
            + 2 * len(model.shocks) + len(model.factor_ids) + kpis)


def physical_memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a small machine
        return 8 * 2**30


def memory_needed_bytes(model, runs: int) -> int:
    """Estimated peak memory of ``runs`` replications of ``model`` and their report."""
    return int(runs) * record_columns(model) * BYTES_PER_VALUE * COPIES


def check_memory(model, runs: int) -> None:
    """Raise :class:`ResourceError` when ``runs`` replications would not fit in memory."""
    need = memory_needed_bytes(model, runs)
    have = physical_memory_bytes() * MEMORY_SHARE
    if need > have:
        fits = int(have // max(1, memory_needed_bytes(model, 1)))
        raise ResourceError(f"--runs {runs}: about {need / 2**30:,.1f} GiB of records for this plan, more than "
                            f"{have / 2**30:,.1f} GiB (half of this machine's memory); at most {fits:,} runs fit")


def max_workers() -> int:
    """The largest worker count accepted: a few per core (more only adds processes)."""
    return MAX_WORKERS_PER_CORE * (os.cpu_count() or 1)
