"""Workbooks keep user text as text: a name such as ``=HYPERLINK(...)`` never becomes a live formula.

openpyxl stores any string starting with ``=`` as a formula. Nothing the tool
writes is meant to be one, so every workbook is saved through :func:`save`,
which turns each such cell back into a plain text cell first.
"""

from __future__ import annotations

from pathlib import Path


def as_text(wb) -> int:
    """Make every formula cell of ``wb`` a text cell holding the same characters; returns how many."""
    n = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
                    n += 1
    return n


def save(wb, path: Path) -> Path:
    """:func:`as_text`, then ``wb.save(path)``."""
    as_text(wb)
    wb.save(path)
    return Path(path)
