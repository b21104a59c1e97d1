"""Reading the params CSV files: encoding, header, rows with their line numbers.

This is the only module that touches the files of params/ (``sim.model.load``
calls it). It turns a file into a :class:`Table` (header and rows, every row
knowing the line an editor shows it on) or into
:class:`~sim.model.problems.Problem` s saying why it cannot, and reads the
cells of a row as typed values with :class:`Cells`.

Encodings: UTF-8 (with or without BOM) is tried first, strictly; then GB18030,
the superset of the GBK that Excel on Chinese Windows writes for "CSV (逗号分隔)".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from sim.model.distribution import FAMILY_CHOICE, Distribution, FamilyChoice
from sim.model.distribution import family as registry_family
from sim.model.problems import Problem

UTF8 = "UTF-8"
FIRST_YEAR, LAST_YEAR = 1900, 2099  # every date of a plan: the years lunardate converts (sim.model.holidays)
MAX_MAGNITUDE = 1e9  # no count, rate, day or amount of a plan is larger; beyond it arithmetic overflows
UTF8_BOM = "UTF-8 with BOM"
GB18030 = "GBK/GB18030"

_RESAVE_HINT = (
    "re-save it as UTF-8: in Excel 'File > Save As > CSV UTF-8 (逗号分隔)', "
    "or in a text editor choose the encoding UTF-8"
)


@dataclass(frozen=True, slots=True)
class Row:
    """One record of a CSV file: its first line number (header = 1) and its cells."""

    line: int
    cells: Mapping[str, str]

    def get(self, column: str) -> str:
        """Return the stripped cell of ``column`` ('' when blank or absent)."""
        return self.cells.get(column, "")


@dataclass(frozen=True, slots=True)
class Table:
    """A CSV file as read: header names, non-blank rows, and the encoding found ('' for an absent optional file)."""

    file: str
    header: tuple[str, ...]
    rows: tuple[Row, ...]
    encoding: str

    def has(self, column: str) -> bool:
        """Whether the header names ``column``."""
        return column in self.header


def decode(data: bytes, *, file: str) -> tuple[str, str] | Problem:
    """Decode the bytes of a CSV file.

    Parameters
    ----------
    data
        The file's bytes.
    file
        File name, for the problem.

    Returns
    -------
    (text, encoding) or Problem
        The text and a human name of the encoding found (``UTF-8``,
        ``UTF-8 with BOM`` or ``GBK/GB18030``), or a problem when the file is
        neither UTF-8 nor GBK.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Problem(file, None, None, None,
                       "the file is UTF-16 (Excel 'Unicode Text'), not UTF-8 or GBK", _RESAVE_HINT)
    try:
        text = data.decode("utf-8-sig")
        return text, (UTF8_BOM if data.startswith(b"\xef\xbb\xbf") else UTF8)
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        return Problem(file, None, None, None,
                       f"the file is neither UTF-8 nor GBK/GB18030 (undecodable byte at offset {exc.start})",
                       _RESAVE_HINT)
    if "\x00" in text:
        return Problem(file, None, None, None, "the file contains NUL bytes; it is not a text CSV", _RESAVE_HINT)
    return text, GB18030


def parse_csv(text: str, *, file: str, encoding: str = UTF8) -> tuple[Table | None, list[Problem]]:
    """Split CSV text into a header and rows, keeping editor line numbers.

    Cells are stripped of surrounding whitespace; rows whose cells are all blank
    are skipped; a short row is padded with blanks.

    Parameters
    ----------
    text
        Decoded file content.
    file
        File name, for the table and the problems.
    encoding
        Name of the encoding the text was decoded from.

    Returns
    -------
    (Table or None, problems)
        None when the file has no header.
    """
    # strict: an unterminated quote is an error, not a cell that swallows the rest of the file
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[Problem] = []
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        return None, [Problem(file, line, None, None, "the file contains a NUL byte; it is not a text CSV",
                              _RESAVE_HINT)]
    try:
        raw = _records(reader)
    except _RecordError as exc:
        return None, [Problem(file, exc.line, None, None, f"the CSV cannot be read: {exc.reason}",
                              "check the quotes from this line on: a cell that starts with \" must end with \"")]
    swallowed = _swallowed_rows(raw)
    if swallowed is not None:
        return None, [Problem(file, swallowed, None, None,
                              "a quoted cell that starts on this line holds whole CSV rows (a quote left open?)",
                              "close the quote on this line, or remove the stray \"")]
    while raw and not any(c.strip() for c in raw[0][1]):
        raw.pop(0)
    if not raw:
        return None, [Problem(file, 1, None, None, "the file is empty (no header row)",
                              "the first line must name the columns")]
    _, head = raw[0]
    header = tuple(h.strip() for h in head)
    problems += _header_problems(file, header)
    rows = []
    for line, cells in raw[1:]:
        row, row_problems = _row(file, header, line, cells)
        problems += row_problems
        if row is not None:
            rows.append(row)
    return Table(file, header, tuple(rows), encoding), problems


class _RecordError(Exception):
    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line, self.reason = line, reason


def _records(reader) -> list[tuple[int, list[str]]]:
    """Read every record with the line it starts on (a quoted cell may span lines)."""
    out = []
    start = 1
    try:
        for record in reader:
            out.append((start, record))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise _RecordError(start, str(exc)) from None
    return out


def _swallowed_rows(raw: list[tuple[int, list[str]]]) -> int | None:
    """The line of a record whose multi-line cell contains lines shaped like whole rows, if any."""
    if not raw:
        return None
    width = len(raw[0][1])
    if width < 2:
        return None
    for line, cells in raw:
        for cell in cells:
            if "\n" in cell and any(part.count(",") >= width - 1 for part in cell.splitlines()):
                return line
    return None


def _header_problems(file: str, header: tuple[str, ...]) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for name in header:
        if name and name in seen:
            problems.append(Problem(file, 1, name, name, f"column {name!r} appears twice in the header",
                                    "delete or rename one of them"))
        seen.add(name)
    return problems


def _row(file: str, header: tuple[str, ...], line: int,
         cells: list[str]) -> tuple[Row | None, list[Problem]]:
    values = [c.strip() for c in cells]
    if not any(values):
        return None, []
    problems = []
    extra = values[len(header):]
    if any(extra):
        problems.append(Problem(
            file, line, None, ",".join(v for v in extra if v),
            f"the row has {len(values)} cells but the header names {len(header)} columns",
            "a cell probably contains an unquoted comma: quote it (\"a,b\") or remove the comma"))
    for name, value in zip(header, values):
        if not name and value:
            problems.append(Problem(file, line, None, value, "a cell sits under a column without a name",
                                    "name the column in the header or delete the cell"))
    mapping = {name: value for name, value in zip(header, values) if name}
    return Row(line, mapping), problems


def read_table(path: Path, *, columns: Sequence[str], required: bool = True) -> tuple[Table | None, list[Problem]]:
    """Read one params file and check that its header has the expected columns.

    Parameters
    ----------
    path
        The CSV file.
    columns
        Columns the data dictionary (params/README.md) gives for the file.
    required
        Whether a missing file is a problem (otherwise it is read as empty).

    Returns
    -------
    (Table or None, problems)
        None when the file is missing, unreadable or has no header. A missing
        column is reported but the table is still returned, its cells blank.
    """
    file = path.name
    if not path.is_file():
        if not required:
            return Table(file, tuple(columns), (), ""), []
        return None, [Problem(file, None, None, None, f"required file {file} is missing from {path.parent}",
                              f"create it with the columns: {', '.join(columns)} (see params/README.md)")]
    from sim.model.inputfile import InputFileError, read_input_bytes

    try:
        data = read_input_bytes(path)
    except InputFileError as exc:
        return None, [Problem(file, None, None, None, f"the file {exc}", "check that it exists and is readable")]
    decoded = decode(data, file=file)
    if isinstance(decoded, Problem):
        return None, [decoded]
    text, encoding = decoded
    table, problems = parse_csv(text, file=file, encoding=encoding)
    if table is not None:
        problems += missing_columns(table, columns)
    return table, problems


def missing_columns(table: Table, columns: Sequence[str]) -> list[Problem]:
    """One problem per expected column absent from the header of ``table``."""
    expected = ", ".join(columns)
    return [
        Problem(table.file, 1, name, None, f"missing column {name!r}",
                f"the header must name the columns: {expected} (see params/README.md)")
        for name in columns
        if not table.has(name)
    ]


ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")
_DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_DIST_COLUMNS = ("dist", "p1", "p2", "p3")

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")
NO_DATE = dt.date.min  # stands in for an unusable date in a record that is dropped (Cells.needed)
_NO_DISTRIBUTION = Distribution.fixed(0.0)  # likewise for a distribution


class Cells:
    """Typed reading of one row's cells; every unreadable cell becomes a Problem.

    Each accessor returns the typed value, or None (or the default) when the
    cell is blank or wrong; what was wrong accumulates in :attr:`problems`.
    A column absent from the header reads as blank without a further problem
    (:func:`missing_columns` reported it) but leaves the row incomplete.

    Parameters
    ----------
    table
        The table the row belongs to.
    row
        The row.
    """

    def __init__(self, table: Table, row: Row):
        self.file = table.file
        self.line = row.line
        self.problems: list[Problem] = []
        self._table = table
        self._row = row
        self._incomplete = False

    @property
    def ok(self) -> bool:
        """Whether every cell read so far was usable (the record can be built)."""
        return not self.problems and not self._incomplete

    def raw(self, column: str) -> str:
        """The stripped text of ``column`` ('' when blank or absent)."""
        return self._row.get(column)

    def flag(self, column: str | None, value: str | None, message: str, hint: str = "") -> None:
        """Record a problem on this row."""
        self.problems.append(Problem(self.file, self.line, column, value, message, hint))

    def extend(self, problems: Sequence[Problem]) -> None:
        """Record problems found by a check of this row."""
        self.problems.extend(problems)

    def _blank(self, column: str, *, required: bool, what: str = "a value") -> bool:
        """True when the cell is blank; a blank required cell is a problem."""
        if self.raw(column):
            return False
        if required:
            if self._table.has(column):
                self.flag(column, "", f"{column} is empty but required", f"fill in {what}")
            else:
                self._incomplete = True
        return True

    def needed(self, value: T | None, placeholder: T) -> T:
        """``value`` for a field the record cannot lack, ``placeholder`` when it is None.

        A None comes from a cell that was blank, wrong or absent, which is already
        reported (or the column's absence is); the row is marked incomplete, so
        :attr:`ok` is False and the record built with the placeholder is dropped: it
        never reaches a plan. This keeps the records' fields typed as what a plan holds.
        """
        if value is None:
            self._incomplete = True
            return placeholder
        return value

    def needed_number(self, column: str, *, required: bool = False, default: float | None = None,
                      low: float | None = None, high: float | None = None, above: float | None = None) -> float:
        """:meth:`number` for a field the record cannot lack (see :meth:`needed`)."""
        return self.needed(self.number(column, required=required, default=default, low=low, high=high,
                                       above=above), math.nan)

    def needed_date(self, column: str) -> dt.date:
        """A required :meth:`date` for a field the record cannot lack (see :meth:`needed`)."""
        return self.needed(self.date(column, required=True), NO_DATE)

    def needed_distribution(self, *, nonnegative: str = "") -> Distribution:
        """A required :meth:`distribution` for a field the record cannot lack (see :meth:`needed`)."""
        return self.needed(self.distribution(required=True, nonnegative=nonnegative), _NO_DISTRIBUTION)

    def text(self, column: str, *, required: bool = False) -> str:
        """The cell as text; ``required`` makes a blank cell a problem."""
        self._blank(column, required=required, what="the text")
        return self.raw(column)

    def ident(self, column: str, *, required: bool = True) -> str:
        """An id: ASCII letters, digits, ``_``, ``.``, ``-``."""
        if self._blank(column, required=required, what="an ASCII id such as T05.1"):
            return ""
        value = self.raw(column)
        problem = id_problem(value)
        if problem:
            self.flag(column, value, problem, "ids use only ASCII letters, digits, '_', '.' and '-'")
        return value

    def number(self, column: str, *, required: bool = False, default: float | None = None,
               low: float | None = None, high: float | None = None, above: float | None = None) -> float | None:
        """A finite number, optionally checked against ``low`` <= x <= ``high`` and x > ``above``."""
        if self._blank(column, required=required, what="a number"):
            return default
        value = self.raw(column)
        try:
            x = float(value)
        except ValueError:
            hint = "write 0.3, not 30%" if value.endswith("%") else "write a plain number such as 12.5"
            self.flag(column, value, f"{column} is not a number", hint)
            return None
        if not math.isfinite(x):
            self.flag(column, value, f"{column} must be a finite number", "write a plain number such as 12.5")
            return None
        if abs(x) > MAX_MAGNITUDE:
            self.flag(column, value, f"{column} is out of range (more than {MAX_MAGNITUDE:g} in size)",
                      "check the value: no quantity of a plan is this large")
            return None
        return self._in_range(column, value, x, low=low, high=high, above=above)

    def _in_range(self, column: str, value: str, x: float, *, low: float | None, high: float | None,
                  above: float | None) -> float | None:
        if low is not None and high is not None and not low <= x <= high:
            self.flag(column, value, f"{column} must be between {low:g} and {high:g}",
                      f"write a value in [{low:g}, {high:g}]" + (", e.g. 0.3 for 30%" if high == 1 else ""))
        elif low is not None and x < low:
            self.flag(column, value, f"{column} must be >= {low:g}, got {x:g}", f"write a value of at least {low:g}")
        elif high is not None and x > high:
            self.flag(column, value, f"{column} must be <= {high:g}, got {x:g}", f"write a value of at most {high:g}")
        elif above is not None and x <= above:
            self.flag(column, value, f"{column} must be > {above:g}, got {x:g}", f"write a value above {above:g}")
        else:
            return x
        return None

    def positive_int(self, column: str, *, required: bool = False) -> int | None:
        """A whole number >= 1 (a blank cell gives None)."""
        if self._blank(column, required=required, what="a whole number >= 1"):
            return None
        value = self.raw(column)
        try:
            x = float(value)
        except ValueError:
            x = math.nan
        if not (math.isfinite(x) and x == int(x) and x >= 1):
            self.flag(column, value, f"{column} must be a positive whole number", "write 1, 2, 3 ... or leave it blank")
            return None
        return int(x)

    def date(self, column: str, *, required: bool = False) -> dt.date | None:
        """An ISO date YYYY-MM-DD."""
        if self._blank(column, required=required, what="a date YYYY-MM-DD"):
            return None
        value = self.raw(column)
        parsed = parse_date(value)
        if isinstance(parsed, str):
            self.flag(column, value, parsed, DATE_HINT)
            return None
        return parsed

    def boolean(self, column: str, *, default: bool) -> bool:
        """true/false, 1/0 or yes/no (any case); blank gives ``default``."""
        value = self.raw(column)
        if not value:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() not in _FALSE:
            self.flag(column, value, f"{column} is not a boolean", "write true or false (or 1/0, yes/no)")
        return False

    def choice(self, column: str, options: type[E] | FamilyChoice, *, default: E | None = None) -> Any:
        """One value of the StrEnum ``options``; blank gives ``default`` (a problem when None)."""
        if self._blank(column, required=default is None, what="one of " + _listing(options)):
            return default
        value = self.raw(column)
        try:
            return options(value)
        except ValueError:
            self.flag(column, value, f"unknown {column} {value!r}", "allowed values: " + _listing(options))
            return None

    def entries(self, column: str, *, required: bool = False) -> tuple[str, ...]:
        """The ';'-separated entries of a list cell, stripped, blanks dropped."""
        self._blank(column, required=required, what="one or more entries separated by ';'")
        return split_list(self.raw(column))

    def distribution(self, *, required: bool, nonnegative: str = "", prefix: str = "") -> Distribution | None:
        """The distribution stated by ``dist, p1, p2, p3`` (and ``floor`` when the file has it).

        ``nonnegative`` names what the distribution is (e.g. ``the duration multiplier``)
        when it must not take negative values. ``prefix`` reads a second distribution of the
        same row, e.g. ``cost_dist, cost_p1, ...`` (without a floor).
        """
        columns = tuple(prefix + c for c in _DIST_COLUMNS)
        if not any(self.raw(c) for c in columns):
            if required:
                self._blank(columns[0], required=True, what="a distribution family, e.g. pert")
            return None
        family = self.choice(columns[0], FAMILY_CHOICE)
        floor = self.number("floor") if not prefix else None
        if family is None:
            return None
        if registry_family(family).tabulated:
            dist = self._discrete(floor, family, columns)
        else:
            dist = self._parametric(family, floor, columns)
        if dist is not None:
            shown = ",".join(self.raw(c) for c in columns).rstrip(",")
            messages = dist.problems()
            for message in messages:
                self.flag(",".join(columns), shown, message,
                          "correct the parameters (see params/README.md, Distributions)")
            if nonnegative and not messages:
                from sim.model.distribution import negative_problem

                negative = negative_problem(dist, nonnegative)
                if negative:
                    self.flag(",".join(columns), shown, negative, "give values >= 0 (or a floor of 0)")
        return dist

    def _parametric(self, family: str, floor: float | None,
                    columns: tuple[str, ...] = _DIST_COLUMNS) -> Distribution | None:
        cells = [self.raw(c) for c in columns[1:]]
        while cells and not cells[-1]:
            cells.pop()
        if "" in cells:
            gap = columns[1 + cells.index("")]
            self.flag(gap, "", f"{gap} is empty but a later parameter is given", "fill the parameters from p1 on")
            return None
        values = [self.number(c) for c in columns[1:1 + len(cells)]]
        given = [v for v in values if v is not None]
        if len(given) < len(values):
            return None
        return Distribution(family, tuple(given), floor=floor)

    def _discrete(self, floor: float | None, family: str,
                  columns: tuple[str, ...] = _DIST_COLUMNS) -> Distribution | None:
        parsed = []
        for column in columns[1:3]:
            value = self.raw(column)
            try:
                parsed.append(tuple(float(x) for x in value.split("|")) if value else ())
            except ValueError:
                self.flag(column, value, f"{column} of a discrete distribution is not a list of numbers",
                          "write values as v1|v2|... in p1 and weights as w1|w2|... in p2")
                return None
        return Distribution(family, values=parsed[0], weights=parsed[1], floor=floor)


DATE_HINT = "write the date as YYYY-MM-DD, e.g. 2020-12-31 (if Excel rewrote it, format the column as text)"


def parse_date(value: str) -> dt.date | str:
    """Parse an ISO date ``YYYY-MM-DD``; return the date or a message saying what is wrong."""
    if not _DATE_PATTERN.fullmatch(value):
        return f"{value!r} is not a date in the form YYYY-MM-DD"
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError as exc:
        return f"{value!r} is not a real date ({exc})"
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        return f"{value!r} is outside the years {FIRST_YEAR}-{LAST_YEAR} the calendars cover"
    return parsed


def split_list(value: str) -> tuple[str, ...]:
    """Split a ';'-separated cell into stripped, non-blank entries."""
    return tuple(part.strip() for part in value.split(";") if part.strip())


def id_problem(value: str) -> str | None:
    """Why ``value`` is not a valid id, or None when it is one."""
    if ID_PATTERN.fullmatch(value):
        return None
    bad = "".join(sorted({ch for ch in value if not ID_PATTERN.fullmatch(ch)}))
    return f"id {value!r} contains characters other than ASCII letters, digits, '_', '.', '-': {bad!r}"


def _listing(options: Any) -> str:
    return ", ".join(o.value for o in options)
