"""Issue 10, item 5: user text in any workbook the tool writes is a text cell, never a live formula."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sim.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "mini_params"
EVIL = '=HYPERLINK("http://example.invalid/x","click")'


def _formulas(path: Path) -> list[str]:
    wb = load_workbook(path)
    return [f"{ws.title}!{c.coordinate}" for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if c.data_type == "f"]


def _texts(path: Path) -> set:
    wb = load_workbook(path)
    return {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row}


def _rewrite(path: Path, column: str, value: str) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    fields = list(rows[0])
    for r in rows:
        r[column] = value
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


@pytest.fixture(scope="module")
def evil_params(tmp_path_factory) -> Path:
    params = tmp_path_factory.mktemp("p") / "params"
    shutil.copytree(FIXTURE, params)
    _rewrite(params / "items.csv", "name_en", EVIL)
    _rewrite(params / "targets.csv", "name_en", EVIL)
    return params


def test_report_workbook_keeps_formula_like_names_as_text(evil_params, tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--params", str(evil_params), "--runs", "200", "--quiet", "--workers", "1", "--lang", "en",
                 "--out", str(out)]) == 0
    xlsx = out / "report.en.xlsx"
    assert _formulas(xlsx) == []
    assert EVIL in _texts(xlsx)  # written, as the characters the user typed
    export = tmp_path / "export.xlsx"
    assert main(["export", str(out), "--to", str(export)]) == 0
    assert _formulas(export) == [] and EVIL in _texts(export)


def test_comparison_workbook_keeps_formula_like_names_as_text(evil_params, tmp_path):
    scen = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"
    out = tmp_path / "b"
    assert main(["batch", str(scen), "--params", str(evil_params), "--runs", "200", "--quiet", "--workers", "1",
                 "--out", str(out)]) == 0
    xlsx = out / "comparison.xlsx"
    assert _formulas(xlsx) == [] and EVIL in _texts(xlsx)


@pytest.mark.parametrize("name", ["plan.xlsx", "progress.xlsx"])
def test_templates_keep_formula_like_names_as_text(evil_params, tmp_path, name):
    out = tmp_path / name
    assert main(["template", str(out), "--params", str(evil_params)]) == 0
    assert _formulas(out) == [] and EVIL in _texts(out)
