"""Plans written by someone else, end to end: every published schedule fixture (XER, MSPDI, the Excel
template, and the formats read through MPXJ) is imported and run with both reports.

Each must import and run (exit 0), its reports must carry its own title and programme end and none of
the Wenzhou plan's labels; the file with no task must stop with one line (exit 2). And the default
duration class gives an imported plan duration uncertainty that `--duration-class fixed` takes away.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from sim.cli import main
from sim.model import planmeta
from sim.model.load import load_plan

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "schedules"
OWN_READER = {".xer", ".xml"}
NO_TASKS = FIX / "calendar-recurring-exceptions-project2016-mspdi.xml"
SCHEDULES = sorted(p for p in FIX.iterdir() if p.suffix != ".md" and p != NO_TASKS)

pytestmark = pytest.mark.slow


def _no_mpxj() -> str | None:
    from sim.interop.viampxj import mpxj_available
    return mpxj_available()


def _wenzhou_labels() -> list[str]:
    """The shipped plan's own labels (from params/plan.yaml), without the report's generic words.

    Its end date 2022-12-31 is left out: an imported plan has its own year-end checkpoints, which may fall on
    that day; the programme end shown must be the imported plan's (checked below)."""
    wz = load_plan(ROOT / "params")
    labels = [planmeta.plan_title(wz, "zh"), planmeta.plan_title(wz, "en"), planmeta.plan_document(wz, "zh")]
    labels += [c.zh for c in planmeta.campaigns(wz)] + [c.en for c in planmeta.campaigns(wz)]
    labels += [s.zh for s in planmeta.sections(wz)] + [s.en for s in planmeta.sections(wz)]
    from sim.report.i18n import TEXT
    generic = {t for pair in TEXT.values() for t in pair}
    return [x for x in labels if x not in generic] + ["大罗山", "Daluo", "温州", "Wenzhou"]


def _visible_text(html: str) -> str:
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    return re.sub(r"data:[^\"']+", "", html)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _import_and_run(src: Path, tmp: Path, *extra: str) -> tuple[Path, Path]:
    params, run = tmp / "params", tmp / "run"
    assert main(["import", str(src), "--out", str(params), *extra]) == 0
    args = ["run", "--params", str(params), "--runs", "200", "--workers", "1", "--quiet", "--out", str(run)]
    if not _rows(params / "targets.csv"):  # every planned date is before the status date: nothing to forecast
        assert main(args) == 2 and not run.exists()
        _add_committed_finish(params)  # as the analyst is told to: a newly committed finish date
    assert main(args) == 0
    return params, run


def _add_committed_finish(params: Path) -> None:
    import datetime as dt
    as_of = load_plan(params).meta.as_of
    open_ids = [r["id"] for r in _rows(params / "items.csv") if r["status"] != "done"]
    with (params / "targets.csv").open(encoding="utf-8") as fh:
        columns = next(csv.reader(fh))
    row = {c: "" for c in columns} | {"id": "TG_NEW", "name_zh": "新承诺完成日期", "name_en": "New committed finish",
                                      "section": "programme", "rule": "all_of", "refs": ";".join(open_ids),
                                      "deadline": (as_of + dt.timedelta(days=90)).isoformat(),
                                      "source": "test: a committed finish 90 days after as_of"}
    with (params / "targets.csv").open("a", encoding="utf-8", newline="") as fh:
        csv.DictWriter(fh, fieldnames=columns, lineterminator="\n").writerow(row)


def _own_words(params: Path) -> str:
    """Everything the imported plan itself says (its params files): a Wenzhou label found there (a generic
    word such as "Environment" in a task name) is the schedule's own, not an assumption of the tool."""
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(params.iterdir()) if p.is_file())


def _check_reports(params: Path, run: Path) -> None:
    plan = load_plan(params)
    own = _own_words(params)
    foreign = [x for x in _wenzhou_labels() if not re.search(rf"(?<!\w){re.escape(x)}(?!\w)", own)]
    assert "温州" in foreign and "Wenzhou" in foreign
    for lang in ("zh", "en"):
        text = _visible_text((run / f"report.{lang}.html").read_text(encoding="utf-8"))
        assert planmeta.plan_title(plan, lang) in text, lang
        assert any(t.deadline.isoformat() in text for t in plan.targets), lang
        for label in foreign:  # whole words (a label "Environment" is not in "Environmental")
            assert not re.search(rf"(?<!\w){re.escape(label)}(?!\w)", text), (lang, label)


@pytest.mark.parametrize("src", SCHEDULES, ids=lambda p: p.name)
def test_every_published_schedule_imports_and_runs(tmp_path: Path, src: Path) -> None:
    if src.suffix not in OWN_READER:
        why = _no_mpxj()
        if why:
            pytest.skip(f"MPXJ cannot run here: {why}")
    params, run = _import_and_run(src, tmp_path)
    _check_reports(params, run)
    assert len(_rows(run / "items.csv")) == len(_rows(params / "items.csv"))


def test_the_excel_template_of_an_imported_plan_imports_and_runs(tmp_path: Path) -> None:
    """A plan in the Excel template (written from an imported P6 export, as an analyst would fill it)."""
    first = tmp_path / "first"
    assert main(["import", str(FIX / "sp10-bicester-road-embankment.xer"), "--out", str(first)]) == 0
    book = tmp_path / "plan.xlsx"
    assert main(["template", str(book), "--params", str(first)]) == 0
    params, run = _import_and_run(book, tmp_path)
    _check_reports(params, run)
    assert _rows(params / "items.csv") == _rows(first / "items.csv")


def test_a_schedule_without_tasks_stops_with_one_line(tmp_path: Path, capsys) -> None:
    assert main(["import", str(NO_TASKS), "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sim: {NO_TASKS}: no task") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "p").exists()


def test_default_duration_class_gives_uncertainty_that_fixed_removes(tmp_path: Path) -> None:
    """SP10 (no three-point estimates, no risk register): with the default class the open items' P10 and P90
    finish differ; with `--duration-class fixed` every multiplier is 1 and each item's finish is one date."""
    src = FIX / "sp10-bicester-road-embankment.xer"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    params, run = _import_and_run(src, tmp_path / "a")
    open_ids = {r["id"] for r in _rows(params / "items.csv") if r["status"] != "done"}
    spread = [r for r in _rows(run / "items.csv") if r["id"] in open_ids]
    assert spread and all(r["p90_finish"] > r["p10_finish"] for r in spread if r["p10_finish"])
    params, run = _import_and_run(src, tmp_path / "b", "--duration-class", "fixed")
    fixed = [r for r in _rows(run / "items.csv") if r["id"] in open_ids]
    assert fixed and all(r["p90_finish"] == r["p10_finish"] for r in fixed)
