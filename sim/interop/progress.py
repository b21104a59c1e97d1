"""The progress workbook of the monthly meeting: one sheet per responsible unit.

``sim template progress.xlsx [--unit UNIT]`` lists each lead unit's items and
KPIs with cells for start, finish, percent complete and KPI value. The filled
workbook is an actuals file: ``sim run --actuals progress.xlsx`` (and appraise,
backtest) turn its rows into the facts of actuals/README.md and check them with
the same checks and messages as the CSV, naming the sheet and row.

Sheet layout: B2 the date the sheet reports (as of), B3 the default source;
row 5 the column keys, row 6 their Chinese labels, data from row 7.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from sim.model.entities import Plan
from sim.xlsxtext import save as save_text
from sim.model.problems import PlanError, Problem

COLUMNS = ("type", "id", "name_zh", "name_en", "plan_start", "plan_finish", "start", "finish", "percent_complete",
           "kpi_value", "measured_on", "source", "note")
ZH = {"type": "类型", "id": "编号", "name_zh": "名称", "name_en": "英文名称", "plan_start": "计划开始",
      "plan_finish": "计划完成", "start": "实际开始", "finish": "实际完成", "percent_complete": "完成比例(0-1)",
      "kpi_value": "指标值", "measured_on": "统计日期(空=报告日期)", "source": "来源", "note": "备注"}
INPUT = ("start", "finish", "percent_complete", "kpi_value", "measured_on", "source", "note")
HEADER_ROW, DATA_ROW = 5, 7
NO_UNIT = "no_unit"


def _unit_of_item(it) -> str:
    return (it.lead_units or it.units or (NO_UNIT,))[0]


def write_progress_template(plan: Plan, out: Path, *, units: list[str] | None = None) -> int:
    """Write the workbook; returns the number of unit sheets."""
    names = {u.id: u for u in plan.units}
    chosen = list(dict.fromkeys([_unit_of_item(i) for i in plan.items] + [(k.units or (NO_UNIT,))[0]
                                                                           for k in plan.kpis]))
    if units:
        unknown = [u for u in units if u not in chosen]
        if unknown:
            from sim.interop.cli import InteropError
            raise InteropError(f"--unit {', '.join(unknown)}: no item or KPI has that lead unit "
                               f"(units: {', '.join(chosen[:12])}{' ...' if len(chosen) > 12 else ''})")
        chosen = [u for u in chosen if u in units]
    wb = Workbook()
    wb.remove(wb.active)
    fill, bold = PatternFill("solid", fgColor="DDE6F0"), Font(bold=True)
    entry = PatternFill("solid", fgColor="FFF8DC")
    for unit in chosen:
        ws = wb.create_sheet(unit[:31])
        u = names.get(unit)
        ws["A1"] = f"{u.name_zh} {u.name_en}" if u else unit
        ws["A1"].font = Font(bold=True, size=13)
        ws["A2"], ws["A3"] = "reported 报告日期", "source 来源"
        ws["C2"] = "the date this sheet describes (YYYY-MM-DD) / 本表数据截至日期"
        ws["C3"] = "default source of the rows / 各行默认来源"
        for c in ("B2", "B3"):
            ws[c].fill = entry
        for j, col in enumerate(COLUMNS, start=1):
            for r, text in ((HEADER_ROW, col), (HEADER_ROW + 1, ZH[col])):
                cell = ws.cell(row=r, column=j, value=text)
                cell.font, cell.fill, cell.alignment = bold, fill, Alignment(wrap_text=True)
            ws.column_dimensions[get_column_letter(j)].width = 36 if col.startswith("name") else 14
        rows: list[tuple[str, str, str, str, dt.date | None, dt.date | None]]
        rows = [("item", i.id, i.name_zh, i.name_en, i.plan_start, i.plan_finish) for i in plan.items
                if _unit_of_item(i) == unit]
        rows += [("kpi", k.id, k.name_zh, k.name_en, None, None) for k in plan.kpis
                 if (k.units or (NO_UNIT,))[0] == unit]
        for i, row in enumerate(rows, start=DATA_ROW):
            for j, v in enumerate(row, start=1):
                ws.cell(row=i, column=j, value=v.isoformat() if isinstance(v, dt.date) else v)
            for col in INPUT:
                ws.cell(row=i, column=COLUMNS.index(col) + 1).fill = entry
        dv = DataValidation(type="decimal", operator="between", formula1="0", formula2="1", allow_blank=True,
                            showErrorMessage=True, error="percent_complete: a share in [0, 1], e.g. 0.6")
        ws.add_data_validation(dv)
        col = get_column_letter(COLUMNS.index("percent_complete") + 1)
        dv.add(f"{col}{DATA_ROW}:{col}{DATA_ROW + max(len(rows), 1) + 50}")
        ws.freeze_panes = f"C{DATA_ROW}"
    save_text(wb, out)
    return len(chosen)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def read_actuals_file(path: Path, plan: Plan):
    """The facts of an actuals file: a progress workbook (``.xlsx``, :func:`read_progress_workbook`)
    or an actuals CSV (:func:`sim.model.actuals.read_actuals`)."""
    if Path(path).suffix.lower() == ".xlsx":  # the progress workbook of `sim template progress.xlsx`
        return read_progress_workbook(Path(path), plan)
    from sim.model.actuals import read_actuals

    return read_actuals(path, plan)


def read_progress_workbook(path: Path, plan: Plan):
    """The facts of a filled progress workbook, as :class:`sim.model.actuals.Actuals` (same checks as the CSV)."""
    from sim.model.actuals import COLUMNS as FACT_COLUMNS
    from sim.model.actuals import Actuals, parse_actuals
    from sim.model.inputfile import InputFileError, read_input_bytes

    path = Path(path)
    try:
        data = read_input_bytes(path)
    except InputFileError as exc:
        raise PlanError([Problem(str(path), None, None, None, f"the progress workbook {exc}",
                                 "pass the progress.xlsx written by `sim template progress.xlsx`")],
                        what=str(path)) from None
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # not a workbook
        raise PlanError([Problem(str(path), None, None, None, f"not an Excel workbook ({type(exc).__name__})",
                                 "pass the progress.xlsx written by `sim template progress.xlsx`, or an actuals CSV")],
                        what=str(path)) from None
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(FACT_COLUMNS)
    origin: dict[int, tuple[str, int, dict[str, str]]] = {}  # CSV line -> (sheet, row, CSV column -> sheet column)
    problems: list[Problem] = []
    line = 1
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        if len(rows) < HEADER_ROW or [_text(v) for v in rows[HEADER_ROW - 1][:2]] != list(COLUMNS[:2]):
            problems.append(Problem(f"{path} [{ws.title}]", HEADER_ROW, None, None,
                                    "not a progress sheet (row 5 must hold the column keys type, id, ...)",
                                    "use the workbook written by `sim template progress.xlsx`"))
            continue
        reported = _text(rows[1][1] if len(rows[1]) > 1 else None)
        default_source = _text(rows[2][1] if len(rows[2]) > 1 else None)
        pos = {c: k for k, c in enumerate(_text(v) for v in rows[HEADER_ROW - 1])}
        for r, values in enumerate(rows[DATA_ROW - 1:], start=DATA_ROW):
            cell = {c: _text(values[k]) if k < len(values) else "" for c, k in pos.items()}
            if not any(cell.get(c) for c in ("start", "finish", "percent_complete", "kpi_value")):
                continue
            source = cell.get("source") or default_source
            when = cell.get("measured_on") or reported
            cells_read = []
            if cell.get("type") == "kpi":
                if cell.get("kpi_value"):
                    cells_read.append(("kpi", when, cell["kpi_value"], "kpi_value"))
            else:
                if cell.get("start"):
                    cells_read.append(("start", cell["start"], "", "start"))
                if cell.get("finish"):
                    cells_read.append(("finish", cell["finish"], "", "finish"))
                if cell.get("percent_complete"):
                    cells_read.append(("progress", when, cell["percent_complete"], "percent_complete"))
            for kind, date, value, column in cells_read:
                line += 1
                w.writerow([kind, cell.get("id", ""), date, reported if kind != "kpi" or not cell.get("measured_on")
                            else reported, value, source, cell.get("note", "")])
                origin[line] = (ws.title, r, {"date": column if kind in ("start", "finish") else "measured_on",
                                              "value": column, "reported": "B2 (reported)", "source": "source",
                                              "id": "id", "kind": "type"})
    wb.close()
    if problems:
        raise PlanError(problems, what=str(path))
    try:
        facts = parse_actuals(buf.getvalue(), file=str(path), plan=plan)
    except PlanError as exc:
        raise PlanError([_relocate(p, path, origin) for p in exc.problems], what=str(path)) from None
    facts = tuple(dataclasses.replace(f, line=origin[f.line][1]) if f.line in origin else f for f in facts)
    return Actuals(facts, file=str(path), sha256=hashlib.sha256(data).hexdigest())


def _relocate(p: Problem, path: Path, origin: dict) -> Problem:
    """A problem of the generated CSV, addressed to the sheet, row and column of the workbook."""
    if p.row in origin:
        sheet, row, columns = origin[p.row]
        return dataclasses.replace(p, file=f"{path} [{sheet}]", row=row, column=columns.get(p.column, p.column))
    return dataclasses.replace(p, file=str(path))
