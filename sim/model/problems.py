"""Problems found in input files, and the error that carries all of them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input file.

    ``row`` is the 1-based line number in the file as an editor shows it (the
    header is line 1); None for whole-file problems. ``rows`` lists every record
    involved when there are several (a dependency cycle), by the same numbering,
    so that a caller can name them in its own terms (CSV lines, scenario keys).
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str
    hint: str = ""
    rows: tuple[int, ...] = ()

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f":{self.row}"
        if self.column:
            where += f" [{self.column}]"
        val = f" = {self.value!r}" if self.value not in (None, "") else ""
        hint = f" — {self.hint}" if self.hint else ""
        return f"{where}{val}: {self.message}{hint}"


class PlanError(Exception):
    """Raised when input cannot be loaded; carries every problem found."""

    def __init__(self, problems: list[Problem], *, what: str = "params"):
        self.problems = list(problems)
        self.what = what
        super().__init__(self.report())

    def report(self) -> str:
        n = len(self.problems)
        head = f"{self.what}: {n} problem{'s' if n != 1 else ''} found, nothing was loaded"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])
