"""The Excel plan template: one sheet per params table, zh/en headers, drop-down lists (openpyxl).

Layout of a table sheet: row 1 holds the column keys (English, as in the CSV),
row 2 their Chinese labels, data from row 3. The sheets ``plan``, ``end_dates``,
``campaigns`` and ``sections`` hold plan.yaml. ``sim import plan.xlsx --out DIR``
turns the workbook back into a params directory (CSV files and plan.yaml), and
the loader then checks it with the same messages as hand-written CSVs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from sim.interop.cli import InteropError
from sim.xlsxtext import save as save_text
from sim.model.enums import DistFamily, KpiKind, KpiMeasure, LinkType, RiskMode, RiskPhase, Status, TargetRule
from sim.model.load import SCHEMA
from sim.model.planmeta import EndDate, Label, PlanMeta, dump_meta, read_meta

ZH = {  # Chinese header labels of the params columns (the English header is the column key)
    "id": "编号", "key": "键", "value": "取值", "unit": "单位", "source": "来源/依据", "name_zh": "中文名称",
    "name_en": "英文名称", "capacity": "并行能力", "group": "所属条目", "campaign": "大会战/板块", "seq": "序号",
    "units": "责任单位（*为牵头）", "project_type": "项目类型", "status": "状态", "plan_start": "计划开始",
    "plan_finish": "计划完成", "start_aspirational": "开始为力争", "finish_aspirational": "完成为力争",
    "plan_text_zh": "计划原文", "length_km": "长度（公里）", "investment_cny_100m": "投资（亿元）",
    "duration_days": "工期（天）", "dist": "分布", "p1": "参数1", "p2": "参数2", "p3": "参数3", "calendar": "日历",
    "outdoor": "露天施工", "resource_unit": "占用资源单位", "pred": "紧前事项", "succ": "紧后事项", "type": "类型",
    "lag_days": "间隔（天）", "note": "备注", "floor": "下限", "in_progress_sigma_scaling": "在建按剩余缩放",
    "loading": "载荷", "members": "成员", "a": "因子A", "b": "因子B", "rho": "相关系数", "probability": "概率",
    "targets": "作用对象", "mode": "方式", "phase": "阶段", "window_start": "窗口开始", "window_end": "窗口结束",
    "affects": "影响对象", "start": "开始", "end": "结束", "kind": "类别", "unit_en": "计量单位",
    "baseline": "基数", "rate_per_year": "年增速", "rate_cv": "增速变异系数", "measure": "口径",
    "attrition_years": "失效年限", "renewal_prob": "续期概率", "volatility": "波动率", "kpi": "指标", "item": "事项",
    "step": "增量", "section": "目标分组", "rule": "判定规则", "refs": "关联对象", "k": "至少k项",
    "threshold": "阈值", "deadline": "截止日期", "text_zh": "目标原文", "actual_start": "实际开始",
    "actual_finish": "实际完成", "percent_complete": "完成比例", "zh": "中文", "en": "英文", "external": "计划外",
    "date": "日期",
}
BOOL = ("true", "false")
ENUMS = {  # column -> allowed values (for every sheet that has the column)
    "status": [s.value for s in Status], "rule": [r.value for r in TargetRule], "dist": [d.value for d in DistFamily],
    "kind": [k.value for k in KpiKind], "measure": [m.value for m in KpiMeasure], "mode": [m.value for m in RiskMode],
    "phase": [p.value for p in RiskPhase], "start_aspirational": BOOL, "finish_aspirational": BOOL, "outdoor": BOOL,
    "in_progress_sigma_scaling": BOOL, "external": BOOL,
}
SHEET_ENUMS = {"links": {"type": [t.value for t in LinkType]}}
META_SHEETS = ("plan", "end_dates", "campaigns", "sections")
PLAN_KEYS = ("title_zh", "title_en", "document_zh", "document_en", "as_of", "checkpoints")
HEAD = PatternFill("solid", fgColor="DDE6F0")
ITEM_EXTRA = ("actual_start", "actual_finish", "percent_complete")


def _sheet_name(file: str) -> str:
    return file.removesuffix(".csv")


def _columns(file: str) -> tuple[str, ...]:
    cols = SCHEMA[file][0]
    return cols + ITEM_EXTRA if file == "items.csv" else cols


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _header(ws, columns) -> None:
    for j, col in enumerate(columns, start=1):
        a = ws.cell(row=1, column=j, value=col)
        b = ws.cell(row=2, column=j, value=ZH.get(col, col))
        for c in (a, b):
            c.font, c.fill, c.alignment = Font(bold=True), HEAD, Alignment(wrap_text=True)
        ws.column_dimensions[get_column_letter(j)].width = max(10, min(40, len(col) + 4))
    ws.freeze_panes = "A3"


def _validate(ws, columns, sheet: str, *, rows: int) -> None:
    last = max(rows + 2, 500)
    for j, col in enumerate(columns, start=1):
        options = SHEET_ENUMS.get(sheet, {}).get(col) or ENUMS.get(col)
        formula = None
        if options:
            formula = '"' + ",".join(options) + '"'
        elif col == "campaign" and sheet == "items":
            formula = "campaigns!$A$3:$A$200"
        elif col == "section" and sheet == "targets":
            formula = "sections!$A$3:$A$200"
        if formula is None:
            continue
        dv = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True,
                            errorTitle="sim", error=f"{col}: choose a value from the list")
        ws.add_data_validation(dv)
        letter = get_column_letter(j)
        dv.add(f"{letter}3:{letter}{last}")


def write_template(out: Path, *, params: Path | None) -> int:
    """Write the plan template ``out``, filled from ``params`` (or empty); returns the number of sheets."""
    wb = Workbook()
    wb.remove(wb.active)
    meta = None
    if params is not None:
        if not Path(params).is_dir():
            raise InteropError(f"{params}: no such params directory (pass --params, or --empty)")
        meta, problems = read_meta(params)
        if problems:
            raise InteropError(f"{params}/plan.yaml: {problems[0].message}")
    _meta_sheets(wb, meta)
    for file in SCHEMA:
        sheet = _sheet_name(file)
        ws = wb.create_sheet(sheet)
        columns = _columns(file)
        _header(ws, columns)
        rows = _read_rows(Path(params) / file) if params is not None else []
        for i, r in enumerate(rows, start=3):
            for j, col in enumerate(columns, start=1):
                value = r.get(col, "")
                if value not in ("", None):
                    ws.cell(row=i, column=j, value=value)
        _validate(ws, columns, sheet, rows=len(rows))
    save_text(wb, out)
    return len(wb.sheetnames)


def _meta_sheets(wb: Workbook, meta: PlanMeta | None) -> None:
    ws = wb.create_sheet("plan")
    _header(ws, ("key", "value"))
    values = {"title_zh": meta.title_zh, "title_en": meta.title_en, "document_zh": meta.document_zh,
              "document_en": meta.document_en, "as_of": meta.as_of.isoformat() if meta.as_of else "",
              "checkpoints": ";".join(d.isoformat() for d in meta.checkpoints)} if meta else {}
    for i, key in enumerate(PLAN_KEYS, start=3):
        ws.cell(row=i, column=1, value=key)
        ws.cell(row=i, column=2, value=values.get(key, ""))
    ws.column_dimensions["B"].width = 70
    for name, cols, entries in (
            ("end_dates", ("date", "zh", "en"), [(e.date.isoformat(), e.zh, e.en) for e in meta.end_dates] if meta else []),
            ("campaigns", ("id", "zh", "en", "external"),
             [(c.id, c.zh, c.en, "true" if c.external else "false") for c in meta.campaigns] if meta else []),
            ("sections", ("id", "zh", "en"), [(s.id, s.zh, s.en) for s in meta.sections] if meta else [])):
        ws = wb.create_sheet(name)
        _header(ws, cols)
        for i, entry in enumerate(entries, start=3):
            for j, v in enumerate(entry, start=1):
                ws.cell(row=i, column=j, value=v)
        _validate(ws, cols, name, rows=len(entries))


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value).strip()


def _table(ws) -> tuple[list[str], list[list[str]]]:
    rows = list(ws.iter_rows(values_only=True))
    if not rows:
        return [], []
    header = [_cell(v) for v in rows[0]]
    while header and not header[-1]:
        header.pop()
    data = []
    for r in rows[2:]:
        cells = [_cell(v) for v in r[:len(header)]]
        if any(cells):
            data.append(cells + [""] * (len(header) - len(cells)))
    return header, data


def import_workbook(path: Path, out: Path) -> dict:
    """Write the params directory ``out`` from a workbook in the template's layout."""
    from sim.interop.toparams import check_new_dir, write_params_dir

    out = Path(out)
    check_new_dir(out)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is no workbook
        raise InteropError(f"{path}: not an Excel workbook ({type(exc).__name__}: {exc})") from None
    files: dict[str, str] = {}
    unknown = [s for s in wb.sheetnames if s not in META_SHEETS and f"{s}.csv" not in SCHEMA and s != "results"]
    for file in SCHEMA:
        sheet = _sheet_name(file)
        if sheet not in wb.sheetnames:
            continue
        header, data = _table(wb[sheet])
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        w.writerows(data)
        files[file] = buf.getvalue()
    if "plan" in wb.sheetnames:
        files["plan.yaml"] = "# From the workbook's plan, end_dates, campaigns and sections sheets.\n" + \
            dump_meta(_meta_from(wb, path))
    wb.close()
    sheets = len(files)
    if unknown:
        files["import_report.md"] = ("# Import report\n\nSheets not read (not a params table):\n\n" +
                                     "".join(f"- {s}\n" for s in unknown))
    write_params_dir(out, files)
    for s in unknown:
        print(f"  not mapped: sheet {s!r} (not a params table)")
    return {"sheets": sheets, "unknown": unknown}


def _meta_from(wb, path: Path) -> PlanMeta:
    _, rows = _table(wb["plan"])
    kv = {r[0]: r[1] if len(r) > 1 else "" for r in rows if r and r[0]}

    def given_date(text: str, where: str) -> dt.date:
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            raise InteropError(f"{path} sheet {where}: {text!r} is not a date YYYY-MM-DD") from None

    def date(text: str, where: str) -> dt.date | None:
        return given_date(text, where) if text else None

    def entries(sheet: str) -> list[list[str]]:
        return _table(wb[sheet])[1] if sheet in wb.sheetnames else []

    checkpoints = tuple(d for d in (date(x.strip(), "plan checkpoints") for x in kv.get("checkpoints", "").split(";"))
                        if d)
    ends = tuple(EndDate(given_date(r[0], "end_dates"), r[1] or r[0], r[2] or r[1] or r[0]) for r in entries("end_dates")
                 if r[0])
    camps = tuple(Label(r[0], r[1] or r[0], r[2] or r[1] or r[0], (r[3] if len(r) > 3 else "").lower() == "true")
                  for r in entries("campaigns") if r[0])
    secs = tuple(Label(r[0], r[1] or r[0], r[2] or r[1] or r[0]) for r in entries("sections") if r[0])
    return PlanMeta(title_zh=kv.get("title_zh", ""), title_en=kv.get("title_en", ""),
                    document_zh=kv.get("document_zh", ""), document_en=kv.get("document_en", ""),
                    as_of=date(kv.get("as_of", ""), "plan as_of"), checkpoints=checkpoints, end_dates=ends,
                    campaigns=camps, sections=secs, given=True)


def write_results_workbook(run_dir: Path, res, out: Path) -> int:
    """The plan template of the run's params with a ``results`` sheet (one row per item)."""
    import os
    import tempfile

    from sim.results import read_manifest
    params_text = read_manifest(Path(run_dir)).get("params")
    params = Path(params_text) if isinstance(params_text, str) and params_text else None
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tpl.xlsx", dir=out.parent)  # new: ours alone
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if params is not None and params.is_dir():
            write_template(tmp, params=params)
            wb = load_workbook(tmp)
        else:
            wb = Workbook()
            wb.remove(wb.active)
        ws = wb.create_sheet("results", 0)
        cols = ("id", "name_zh", "name_en", "plan_finish", "p50_finish", "p80_finish", "p90_finish", "p_by_plan",
                "criticality")
        zh = {"p50_finish": "P50完成", "p80_finish": "P80完成", "p90_finish": "P90完成", "p_by_plan": "按计划完成概率",
              "criticality": "关键性"}
        _header(ws, cols)
        for j, col in enumerate(cols, start=1):
            ws.cell(row=2, column=j, value=zh.get(col, ZH.get(col, col)))
        for i, row in enumerate(res[list(cols)].itertuples(index=False), start=3):
            for j, v in enumerate(row, start=1):
                ws.cell(row=i, column=j, value=None if v != v else v)
        save_text(wb, out)
    finally:
        tmp.unlink(missing_ok=True)
    return len(res)
