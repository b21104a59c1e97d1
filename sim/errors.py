"""Errors that end a command cleanly (the CLI prints them without a traceback).

Kept free of heavy imports so that the CLI can name them before numpy loads.
"""


class ExecutorError(RuntimeError):
    """An executor cannot run (e.g. the Dask scheduler is unreachable); nothing was simulated."""


class SnapshotError(Exception):
    """A run directory whose plan snapshot is missing, unreadable or not ours (e.g. an old pickle)."""


class UsageError(Exception):
    """A command-line argument that cannot be used; printed without traceback."""


class OutputError(Exception):
    """An output path the tool may not write (exists and is not ours, locked, not writable); nothing was touched."""


class RunDirError(Exception):
    """A directory given as a run (``sim report``, ``sim backtest``) that is not a readable run directory."""


class ResourceError(Exception):
    """A run that would exceed the machine's resources (memory); refused before it starts."""
