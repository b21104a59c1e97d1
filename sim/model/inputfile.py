"""Reading an input file safely: regular files only, of bounded size (issue 10 item 6).

A FIFO given as ``--actuals`` blocked for ever and ``/dev/zero`` filled the
memory: input files are opened without blocking, must be regular files and at
most ``limit`` bytes, and are read whole only then.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_INPUT_BYTES = 50_000_000  # far above any plan, scenario or actuals file


class InputFileError(ValueError):
    """An input path that is not a readable regular file of acceptable size; the message says why."""


def read_input_bytes(path: Path | str, *, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of regular file ``path`` (at most ``limit``); :class:`InputFileError` otherwise."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InputFileError("cannot be read: no such file") from None
    except IsADirectoryError:
        raise InputFileError("is a directory, not a file") from None
    except OSError as exc:
        raise InputFileError(f"cannot be opened ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file (a pipe, device or socket)"
            raise InputFileError(f"is {kind}; give a regular file")
        if st.st_size > limit:
            raise InputFileError(f"is {st.st_size:,} bytes, more than the {limit:,} accepted")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputFileError(f"cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise InputFileError(f"is more than the {limit:,} bytes accepted")
    return data
