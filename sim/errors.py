"""Errors that end a command cleanly (the CLI prints them without a traceback).

Kept free of heavy imports so that the CLI can name them before numpy loads.
"""


class ExecutorError(RuntimeError):
    """An executor cannot run (e.g. the Dask scheduler is unreachable); nothing was simulated."""


class SnapshotError(Exception):
    """A run directory whose plan snapshot is missing, unreadable or not ours (e.g. an old pickle)."""


class UsageError(Exception):
    """A command-line argument that cannot be used; printed without traceback."""
