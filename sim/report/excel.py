"""The Excel workbook: one sheet per table, readable headers, real dates, percentages."""

from __future__ import annotations

import math
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from sim.report.fonts import Lang
from sim.report.i18n import header
from sim.report.tables import PCT, View, with_dates

SHEETS = ("summary", "items", "KPIs", "targets", "responsible units", "drivers")  # always present, in this order
HEAD_FILL = PatternFill("solid", fgColor="DDE7F0")


def write_workbook(path: Path, sheets: dict[str, View], *, lang: Lang) -> Path:
    """Write ``sheets`` (sheet name -> view) to ``path``; returns the path.

    Date columns of a view become Excel dates (yyyy-mm-dd), probability columns
    are stored as fractions formatted as percentages.
    """
    wb = Workbook()
    wb.remove(wb.active)
    for name, view in sheets.items():
        ws = wb.create_sheet(title=name[:31])
        df = with_dates(view.frame, view.dates)
        ws.append([header(c, lang) for c in df.columns])
        for row in df.itertuples(index=False):
            ws.append([_cell_value(v) for v in row])
        for j, col in enumerate(df.columns, start=1):
            pct = PCT if view.pct is None else view.pct
            fmt = "yyyy-mm-dd" if col in view.dates else ("0.0%" if col in pct else dict(view.numbers).get(col))
            width = max([len(str(header(col, lang))) * (2 if lang is Lang.ZH else 1)]
                        + [min(len(str(v)), 60) for v in df[col].head(200)]) + 2
            ws.column_dimensions[get_column_letter(j)].width = min(max(width, 8), 60)
            if fmt:
                for cell in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    cell[0].number_format = fmt
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = HEAD_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.freeze_panes = "B2" if df.shape[1] > 2 else "A2"
        if len(df):
            ws.auto_filter.ref = ws.dimensions
    from sim.xlsxtext import save

    return save(wb, Path(path))


def _cell_value(v):
    """Plain Python values for openpyxl (NaN -> empty cell)."""
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v
