"""`sim export`: a run's risk-adjusted dates back into the analyst's tool.

Per item: P50, P80 and P90 finish, P(finish by plan date) and criticality (the
share of replications in which the item is on the programme's driving path).

* MSPDI: task custom fields (ExtendedAttributes) Date1-3 and Number1-2, or the
  first free ones, aliased ``SIM P50 finish`` ... When the params were imported
  from an MSPDI file (``import_source.json``) or ``--source`` names one, that file
  is copied with the fields added; otherwise a new project is written.
* XER: project-level user-defined fields (UDFTYPE/UDFVALUE on TASK), the layout
  Primavera Risk Analysis users expect; the source XER is copied with the UDFs
  added, or a new XER is written.
* xlsx: the Excel plan template of the run's plan with a ``results`` sheet.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pandas as pd

from sim.interop.cli import InteropError
from sim.interop.toparams import MAPPING
from sim.results import read_manifest

FIELDS = (  # (key, label, kind)
    ("p50_finish", "SIM P50 finish", "date"),
    ("p80_finish", "SIM P80 finish", "date"),
    ("p90_finish", "SIM P90 finish", "date"),
    ("p_by_plan", "SIM P(by plan date)", "number"),
    ("criticality", "SIM criticality", "number"),
    # money (issue 15): only items with an investment figure carry them (blank elsewhere)
    ("p50_cost", "SIM P50 cost (CNY 100 m)", "number"),
    ("p90_cost", "SIM P90 cost (CNY 100 m)", "number"),
    ("p_within_budget", "SIM P(cost <= budget)", "number"),
)
DATE_IDS = [188743945 + k for k in range(10)]  # Date1..Date10
NUMBER_IDS = [188743767 + k for k in range(5)] + [188743982 + k for k in range(15)]  # Number1..Number20


def results_frame(run_dir: Path) -> pd.DataFrame:
    """One row per item: id, plan dates and the exported fields (criticality 0 when never on the path)."""
    from sim.results import ANALYSIS_DIR
    from sim.results import has_table, read_table

    run_dir = Path(run_dir)
    if not has_table(run_dir, "items.csv"):
        raise InteropError(f"{run_dir}: not a run directory (no items.csv)")
    items = read_table(run_dir, "items.csv")
    crit_name = f"{ANALYSIS_DIR}/criticality.csv"
    if has_table(run_dir, crit_name):
        crit = read_table(run_dir, crit_name)
        from sim.analysis.criticality import PROGRAMME_ID
        prog = crit[crit["target"] == PROGRAMME_ID].set_index("item")["criticality"]
        items["criticality"] = items["id"].map(prog).fillna(0.0)
    else:
        items["criticality"] = _criticality(run_dir, items)
    cost_cols = ["p50_cost", "p90_cost", "p_within_budget"]
    if has_table(run_dir, "costs.csv"):
        costs = read_table(run_dir, "costs.csv").set_index("id")
        for c in cost_cols:
            items[c] = items["id"].map(costs[c])
    else:
        for c in cost_cols:
            items[c] = float("nan")
    return items


def _criticality(run_dir: Path, items: pd.DataFrame) -> pd.Series:
    """The programme criticality of each item, computed from the run's records (no report was written)."""
    from sim.analysis.criticality import PROGRAMME_ID, criticality_table
    from sim.engine.compiled import compile_plan
    from sim.engine.runner import RunConfig
    from sim.report.build import run_plan_of
    from sim.results import read_manifest, read_records
    plan = run_plan_of(run_dir)
    manifest = read_manifest(run_dir)
    model = compile_plan(plan)
    config = RunConfig.from_manifest(manifest)  # lhs is recorded in the config (top-level "lhs" never was)
    table = criticality_table(model, read_records(run_dir), seed=config.seed, lhs=config.lhs)
    prog = table[table["target"] == PROGRAMME_ID].set_index("item")["criticality"]
    return items["id"].map(prog).fillna(0.0)


def _source_of(run_dir: Path, source: Path | None) -> tuple[Path | None, dict[str, str]]:
    """(source schedule, item id -> source task uid) from --source or the params' import_source.json."""
    manifest = read_manifest(Path(run_dir))  # one-line RunDirError for a missing or broken manifest
    params = manifest.get("params")
    mapping_file = Path(params) / MAPPING if isinstance(params, str) and params else None
    uid_of: dict[str, str] = {}
    recorded = None
    if mapping_file is not None and mapping_file.is_file():
        try:
            data = json.loads(mapping_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InteropError(f"{mapping_file}: cannot be read ({exc}); re-import the schedule") from None
        if not isinstance(data, dict) or not isinstance(data.get("tasks", {}), dict):
            raise InteropError(f"{mapping_file}: not a mapping written by sim import; re-import the schedule")
        uid_of = {iid: uid for uid, iid in data.get("tasks", {}).items()}
        recorded = Path(data["source"]) if data.get("source") else None
    chosen = source or recorded
    if chosen is not None and not chosen.is_file():
        raise InteropError(f"{chosen}: the source schedule does not exist (pass --source)")
    return chosen, uid_of


def export_run(run_dir: Path, to: Path, *, kind: str, source: Path | None = None) -> int:
    """Write ``to`` (refusing to overwrite); returns the number of tasks annotated."""
    to = Path(to)
    if to.exists():
        raise InteropError(f"{to} exists: choose a new file name (nothing is overwritten)")
    res = results_frame(run_dir)
    src, uid_of = _source_of(run_dir, source)
    tmp = to.with_name(to.name + ".partial")
    converted = to.with_name(to.stem + ".source.partial" + to.suffix)  # keeps the suffix the writers check
    for staging in (tmp, converted):  # removed below: so they must be ours, never a user's file
        if staging.exists() or staging.is_symlink():
            raise InteropError(f"{staging} exists (an interrupted export, or not ours): move it away first")
    try:
        if src is not None and kind in ("MSPDI", "XER") and src.suffix.lower() not in (".xml", ".xer", ".xlsx"):
            src = _convert_with_mpxj(src, kind, converted)  # e.g. an .mpp: its tasks keep their unique ids
        if kind == "MSPDI":
            n = _write_mspdi(res, tmp, src if src is not None and src.suffix.lower() == ".xml" else None, uid_of)
        elif kind == "XER":
            n = _write_xer(res, tmp, src if src is not None and src.suffix.lower() == ".xer" else None, uid_of)
        else:
            from sim.interop.workbook import write_results_workbook
            n = write_results_workbook(run_dir, res, tmp)
        tmp.rename(to)
    finally:
        tmp.unlink(missing_ok=True)
        converted.unlink(missing_ok=True)
    return n


def _convert_with_mpxj(src: Path, kind: str, out: Path) -> Path:
    """``src`` (a format read through MPXJ, such as .mpp) written as MSPDI or XER by MPXJ into ``out``, so
    that the export annotates the whole project (InteropError with how to install MPXJ when it cannot)."""
    from sim.interop.schedule import ImportError_
    from sim.interop.viampxj import convert_with_mpxj
    if out.exists():
        raise InteropError(f"{out} exists (an interrupted export, or not ours): move it away first")
    try:
        convert_with_mpxj(src, kind, out)
    except ImportError_ as exc:
        raise InteropError(str(exc)) from None
    return out


def _iso(value) -> str:
    return "" if pd.isna(value) else str(value)[:10]


# --- MSPDI ------------------------------------------------------------------------------------

def _write_mspdi(res: pd.DataFrame, out: Path, src: Path | None, uid_of: dict[str, str]) -> int:
    from sim.interop.mspdi import NS, parse
    ET.register_namespace("", NS)

    def q(tag: str) -> str:
        return f"{{{NS}}}{tag}"

    if src is not None:
        root = parse(src)
    else:
        root = ET.Element(q("Project"))
        ET.SubElement(root, q("Name")).text = out.stem
        ET.SubElement(root, q("Tasks"))
    defs = root.find(q("ExtendedAttributes"))
    if defs is None:
        defs = ET.Element(q("ExtendedAttributes"))
        anchor = root.find(q("Calendars"))
        idx = list(root).index(anchor) if anchor is not None else len(root)
        root.insert(idx, defs)
    used = {(d.findtext(q("FieldID")) or "") for d in defs.findall(q("ExtendedAttribute"))}
    ours: dict[str, str] = {}
    free = {"date": [i for i in DATE_IDS if str(i) not in used], "number": [i for i in NUMBER_IDS if str(i) not in used]}
    for key, label, kind in FIELDS:
        existing = next((d for d in defs.findall(q("ExtendedAttribute")) if d.findtext(q("Alias")) == label), None)
        if existing is not None:  # a file exported before: reuse its field
            ours[key] = existing.findtext(q("FieldID")) or ""
            continue
        if not free[kind]:
            raise InteropError(f"{src}: no free {kind} custom field left for {label!r}")
        fid = free[kind].pop(0)
        d = ET.SubElement(defs, q("ExtendedAttribute"))
        ET.SubElement(d, q("FieldID")).text = str(fid)
        k = (DATE_IDS.index(fid) + 1) if kind == "date" else (NUMBER_IDS.index(fid) + 1)
        ET.SubElement(d, q("FieldName")).text = f"{'Date' if kind == 'date' else 'Number'}{k}"
        ET.SubElement(d, q("Alias")).text = label
        ours[key] = str(fid)
    tasks_el = root.find(q("Tasks"))
    by_uid = {t.findtext(q("UID")): t for t in tasks_el.findall(q("Task"))} if tasks_el is not None else {}
    n = 0
    for k, row in enumerate(res.itertuples(index=False), start=1):
        uid = uid_of.get(row.id)
        task = by_uid.get(uid) if uid is not None else None
        if task is None:
            if src is not None or tasks_el is None:
                continue  # an item the source does not have (e.g. added by a scenario); a fresh file has Tasks
            task = ET.SubElement(tasks_el, q("Task"))
            for tag, value in (("UID", str(k)), ("ID", str(k)), ("Name", row.name_en), ("WBS", row.id),
                               ("Finish", f"{_iso(row.plan_finish)}T17:00:00")):
                ET.SubElement(task, q(tag)).text = value
        for old in [e for e in task.findall(q("ExtendedAttribute")) if e.findtext(q("FieldID")) in ours.values()]:
            task.remove(old)
        for key, _label, kind in FIELDS:
            value = getattr(row, key)
            if pd.isna(value):
                continue
            ea = ET.Element(q("ExtendedAttribute"))
            ET.SubElement(ea, q("FieldID")).text = ours[key]
            ET.SubElement(ea, q("Value")).text = (f"{_iso(value)}T17:00:00" if kind == "date" else f"{float(value):.4f}")
            # ExtendedAttribute elements come after the task's fields and before Baseline/TimephasedData
            pos = next((i for i, e in enumerate(task) if e.tag in (q("Baseline"), q("TimephasedData"))), len(task))
            task.insert(pos, ea)
        n += 1
    ET.ElementTree(root).write(out, encoding="UTF-8", xml_declaration=True)
    return n


# --- XER --------------------------------------------------------------------------------------

UDF_FIELDS = ("udf_type_id", "table_name", "udf_type_name", "udf_type_label", "logical_data_type", "super_flag",
              "indicator_expression", "summary_indicator_expression")
UDFVALUE_FIELDS = ("udf_type_id", "fk_id", "proj_id", "udf_date", "udf_number", "udf_text", "udf_code_id")


def _write_xer(res: pd.DataFrame, out: Path, src: Path | None, uid_of: dict[str, str]) -> int:
    from sim.interop.xer import read_tables
    if src is not None:
        tables, _where, header, encoding = read_tables(src)
        order = list(tables)
        fields = _xer_fields(src, encoding)
    else:
        encoding, header = "utf-8", "ERMHDR\t8.0\t" + dt.date.today().isoformat() + "\tProject\tsim\tsim\tsim\tsim\tCNY"
        tables, order, fields = _fresh_xer(res), [], {}
        order = list(tables)
        uid_of = {row.id: str(10000 + k) for k, row in enumerate(res.itertuples(index=False))}
    tasks = {t["task_id"]: t for t in tables.get("TASK", [])}
    proj_id = next(iter(tasks.values()))["proj_id"] if tasks else "1"
    udftype = tables.setdefault("UDFTYPE", [])
    fields.setdefault("UDFTYPE", list(UDF_FIELDS))
    # a row cut short before its id has no id to reuse: its label gets a fresh one
    labels = {u.get("udf_type_label"): u["udf_type_id"] for u in udftype if "udf_type_id" in u}
    next_id = max([int(u["udf_type_id"]) for u in udftype if u.get("udf_type_id", "").isdigit()] + [900]) + 1
    ids: dict[str, str] = {}
    for key, label, kind in FIELDS:
        if label in labels:
            ids[key] = labels[label]
            continue
        ids[key] = str(next_id)
        udftype.append({"udf_type_id": str(next_id), "table_name": "TASK", "udf_type_name": f"user_field_{next_id}",
                        "udf_type_label": label, "logical_data_type": "FT_START_DATE" if kind == "date" else
                        "FT_FLOAT_2_DECIMALS", "super_flag": "N", "indicator_expression": "",
                        "summary_indicator_expression": ""})
        next_id += 1
    values = tables.setdefault("UDFVALUE", [])
    fields.setdefault("UDFVALUE", list(UDFVALUE_FIELDS))
    ours = set(ids.values())
    values[:] = [v for v in values if v.get("udf_type_id") not in ours]
    n = 0
    for row in res.itertuples(index=False):
        uid = uid_of.get(row.id)
        if uid is None or uid not in tasks:
            continue
        for key, _label, kind in FIELDS:
            value = getattr(row, key)
            if pd.isna(value):
                continue
            values.append({"udf_type_id": ids[key], "fk_id": uid, "proj_id": tasks[uid].get("proj_id", proj_id),
                           "udf_date": f"{_iso(value)} 17:00" if kind == "date" else "",
                           "udf_number": "" if kind == "date" else f"{float(value):.4f}", "udf_text": "",
                           "udf_code_id": ""})
        n += 1
    for name in ("UDFTYPE", "UDFVALUE"):
        if name not in order:
            order.append(name)
    lines = [header]
    for name in order:
        cols = fields.get(name) or (list(tables[name][0]) if tables[name] else [])
        lines.append(f"%T\t{name}")
        lines.append("\t".join(["%F", *cols]))
        for r in tables[name]:
            lines.append("\t".join(["%R", *[str(r.get(c, "")) for c in cols]]))
    lines.append("%E")
    out.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252" if encoding == "cp1252" else "utf-8",
                                                         errors="replace"))
    return n


def _xer_fields(src: Path, encoding: str) -> dict[str, list[str]]:
    """Field order of every table of ``src`` (kept on writing)."""
    text = src.read_bytes().decode("utf-8-sig" if encoding == "UTF-8" else encoding, errors="replace")
    fields, name = {}, None
    for line in text.splitlines():
        cells = line.split("\t")
        if cells[0] == "%T":
            name = cells[1].strip()
        elif cells[0] == "%F" and name:
            fields[name] = [c.strip() for c in cells[1:]]
    return fields


def _fresh_xer(res: pd.DataFrame) -> dict[str, list[dict[str, str]]]:
    """A minimal XER project of the run's items (PROJECT, PROJWBS, TASK) for a plan not imported from P6."""
    project = {"proj_id": "1", "proj_short_name": "SIM", "last_recalc_date": "", "plan_start_date": "",
               "clndr_id": "1"}
    wbs = {"wbs_id": "1", "proj_id": "1", "wbs_short_name": "SIM", "wbs_name": "SIM", "proj_node_flag": "Y",
           "parent_wbs_id": ""}
    tasks = []
    for k, row in enumerate(res.itertuples(index=False)):
        tasks.append({"task_id": str(10000 + k), "proj_id": "1", "wbs_id": "1", "clndr_id": "1",
                      "task_code": row.id, "task_name": row.name_en, "task_type": "TT_Task",
                      "status_code": "TK_NotStart", "target_end_date": f"{_iso(row.plan_finish)} 17:00"})
    return {"PROJECT": [project], "PROJWBS": [wbs], "TASK": tasks}
