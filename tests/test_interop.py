"""Import from P6 (XER), MS Project (MSPDI) and Excel; export of a run's dates; the progress workbook.

The schedules are published sample files (tests/fixtures/schedules/README.md).
Expected values are read from the files' raw text in the test (an independent
parse: plain splitting and regular expressions), or from what the file's authors
wrote into task names (``Duration 25%``), never from the importer itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sim.cli import main
from sim.interop.mspdi import read_mspdi
from sim.interop.schedule import ImportError_
from sim.interop.xer import read_xer
from sim.model.load import load_plan
from sim.model.problems import PlanError
from conftest import ROOT

FIX = ROOT / "tests" / "fixtures" / "schedules"
SP10 = FIX / "sp10-bicester-road-embankment.xer"
PCT = FIX / "percent-complete-8.4.xer"
RATES = FIX / "resource-rates-test.xer"
LINKS = FIX / "task-links-project2016-mspdi.xml"
ASSIGN = FIX / "assignment-assignments-project2016-mspdi.xml"
CAL = FIX / "calendar-recurring-exceptions-project2016-mspdi.xml"


def _raw_xer(path: Path) -> dict[str, list[dict[str, str]]]:
    """Tables of an XER by plain splitting (independent of sim.interop.xer)."""
    out, fields, name = {}, [], None
    for line in path.read_bytes().decode("cp1252").splitlines():
        cells = line.split("\t")
        if cells[0] == "%T":
            name = cells[1]
            out[name] = []
        elif cells[0] == "%F":
            fields = cells[1:]
        elif cells[0] == "%R":
            out[name].append(dict(zip(fields, cells[1:])))
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# --- XER ------------------------------------------------------------------------------------

def test_xer_tasks_links_and_constraints_match_the_raw_tables() -> None:
    raw = _raw_xer(SP10)
    s = read_xer(SP10)
    assert len(s.tasks) == len(raw["TASK"]) == 63
    assert Counter(ln.type for ln in s.links) == Counter(p["pred_type"][3:] for p in raw["TASKPRED"])
    by_id = {t.uid: t for t in s.tasks}
    for p in raw["TASKPRED"]:  # every lag in working days = hours / the calendar's hours per day
        ln = next(x for x in s.links if x.pred == p["pred_task_id"] and x.succ == p["task_id"])
        assert ln.lag_days == pytest.approx(float(p["lag_hr_cnt"]) / 8.0)
    for r in raw["TASK"]:
        t = by_id[r["task_id"]]
        assert t.plan_finish == dt.date.fromisoformat(r["target_end_date"][:10])
        assert (t.actual_finish is not None) == bool(r["act_end_date"])
        assert t.milestone == (r["task_type"] in ("TT_Mile", "TT_FinMile"))
        if r["cstr_type"] == "CS_MSOA":
            assert t.constraint == "SNET" and t.constraint_date == dt.date.fromisoformat(r["cstr_date"][:10])
    assert s.status_date == dt.date.fromisoformat(raw["PROJECT"][0]["last_recalc_date"][:10])
    # a working exception (a day with hours in the calendar's exceptions) cannot be mapped: listed
    working = [(c["clndr_name"], dt.date(1899, 12, 30) + dt.timedelta(days=int(serial)))
               for c in raw["CALENDAR"] for serial in re.findall(r"\(d\|(\d+)\)\([\s\x7f]*\(0\|\|", c["clndr_data"])]
    assert working and sorted((u.where.split("(", 1)[1][:-1], u.what.split()[1]) for u in s.unmapped
                              if "working exception" in u.why) == sorted((n, d.isoformat()) for n, d in working)
    # every UDF type is either read or listed as not mapped
    assert {u.what for u in s.unmapped if u.where.startswith("UDFTYPE")} == {
        f"TASK UDF {u['udf_type_label']!r}" for u in raw["UDFTYPE"]}


def test_xer_percent_complete_of_each_kind() -> None:
    """MPXJ's sample names each activity by its percent-complete type and value ("Physical 75%")."""
    s = read_xer(PCT)
    assert len(s.tasks) == 12
    for t in s.tasks:
        expected = int(re.search(r"(\d+)%", t.name).group(1)) / 100
        got = t.percent_complete if t.percent_complete is not None else 0.0
        assert got == pytest.approx(expected), t.name
    cal = next(iter(s.calendars.values()))
    raw = _raw_xer(PCT)["CALENDAR"][0]["clndr_data"]
    serials = re.findall(r"\(d\|(\d+)\)\(\)", raw)
    assert len(cal.holidays) == len(set(serials)) == 24
    assert cal.working_weekdays == (1, 2, 3, 4, 5)


def test_xer_resource_assignments_become_units(tmp_path: Path) -> None:
    out = tmp_path / "p"
    assert main(["import", str(RATES), "--out", str(out)]) == 0
    raw = _raw_xer(RATES)
    units = _rows(out / "units.csv")
    assert [u["name_en"] for u in units] == [r["rsrc_name"] for r in raw["RSRC"]]
    item = _rows(out / "items.csv")[0]
    assert item["units"] == "*" + units[0]["id"]
    report = (out / "import_report.md").read_text(encoding="utf-8")
    for table in ("ROLES", "RSRCRATE", "FINTMPL"):  # nothing dropped silently
        assert f"table {table}" in report


def test_xer_three_point_udfs_become_pert(tmp_path: Path) -> None:
    raw = SP10.read_bytes().decode("cp1252")
    task = _raw_xer(SP10)["TASK"][5]
    days = float(task["target_drtn_hr_cnt"]) / 8
    udfs = "%T\tUDFTYPE\n%F\tudf_type_id\ttable_name\tudf_type_name\tudf_type_label\tlogical_data_type\n" + \
        "".join(f"%R\t{k}\tTASK\tuser_field_{k}\t{label}\tFT_FLOAT_2_DECIMALS\n" for k, label in
                ((1, "Optimistic duration"), (2, "Most likely duration"), (3, "Pessimistic duration")))
    values = "%T\tUDFVALUE\n%F\tudf_type_id\tfk_id\tproj_id\tudf_number\n" + "".join(
        f"%R\t{k}\t{task['task_id']}\t{task['proj_id']}\t{v}\n" for k, v in ((1, days * 0.8), (2, days),
                                                                            (3, days * 1.5)))
    text = re.sub(r"%T\tUDFTYPE.*?(?=%T\tPROJECT)", "", raw, flags=re.S).replace("%E", udfs + values + "%E")
    path = tmp_path / "three.xer"
    path.write_bytes(text.encode("cp1252"))
    out = tmp_path / "p"
    assert main(["import", str(path), "--out", str(out)]) == 0
    row = next(r for r in _rows(out / "items.csv") if f"({task['task_code']})" in r["source"])
    assert (row["dist"], float(row["p1"]), float(row["p2"]), float(row["p3"])) == ("pert", 0.8, 1.0, 1.5)


def test_xer_that_is_not_one() -> None:
    with pytest.raises(ImportError_, match="ERMHDR"):
        read_xer(LINKS)


# --- MSPDI ----------------------------------------------------------------------------------

def test_mspdi_links_and_lags_match_the_raw_xml(tmp_path: Path) -> None:
    text = LINKS.read_text(encoding="utf-8")
    raw = re.findall(r"<PredecessorLink>\s*<PredecessorUID>(\d+)</PredecessorUID>\s*<Type>(\d)</Type>.*?"
                     r"<LinkLag>(-?\d+)</LinkLag>", text, flags=re.S)
    s = read_mspdi(LINKS)
    kinds = {"0": "FF", "1": "FS", "2": "SF", "3": "SS"}
    assert sorted((ln.pred, ln.type, ln.lag_days) for ln in s.links) == sorted(
        (uid, kinds[t], int(lag) / 10 / 480) for uid, t, lag in raw)
    out = tmp_path / "p"
    assert main(["import", str(LINKS), "--out", str(out)]) == 0
    links = _rows(out / "links.csv")
    assert sorted(r["type"] for r in links) == sorted(kinds[t] for _, t, _ in raw if t != "2")
    sf = [(uid, lag) for uid, t, lag in raw if t == "2"]
    assert len(sf) == 1
    report = (out / "import_report.md").read_text(encoding="utf-8")
    assert re.search(rf"Task UID \d+ PredecessorLink from UID {sf[0][0]}: SF link .* not supported", report)
    # lags are working days, scaled to the simulator's calendar days (7 / 5 working days a week)
    fs_lags = sorted(float(r["lag_days"]) for r in links if r["type"] == "FS")
    assert fs_lags == pytest.approx(sorted(int(lag) / 4800 * 7 / 5 for _, t, lag in raw if t == "1"))


def test_mspdi_assignments_progress_and_three_point(tmp_path: Path) -> None:
    s = read_mspdi(ASSIGN)
    assert [t.resources for t in s.tasks] == [("1",), ("2",), ("3",)]
    text = ASSIGN.read_text(encoding="utf-8")
    pcts = [int(p) / 100 for p in re.findall(r"<Task>.*?<PercentComplete>(\d+)</PercentComplete>", text, flags=re.S)]
    assert [t.percent_complete or 0.0 for t in s.tasks] == pcts[1:]  # the first Task is the project summary
    # three-point estimates from custom fields: add Duration1-3 aliased Optimistic / Most likely / Pessimistic
    defs = "".join(f"<ExtendedAttribute><FieldID>{fid}</FieldID><FieldName>Duration{k}</FieldName>"
                   f"<Alias>{alias}</Alias></ExtendedAttribute>" for k, (fid, alias) in enumerate(
                       (("188743783", "Optimistic duration"), ("188743784", "Most likely duration"),
                        ("188743785", "Pessimistic duration")), start=1))
    values = "".join(f"<ExtendedAttribute><FieldID>{fid}</FieldID><Value>PT{h}H0M0S</Value></ExtendedAttribute>"
                     for fid, h in (("188743783", 64), ("188743784", 80), ("188743785", 160)))
    text = re.sub(r"<ExtendedAttributes\s*/>", f"<ExtendedAttributes>{defs}</ExtendedAttributes>", text, count=1)
    first = text.index("<UID>1</UID>", text.index("<Tasks>"))
    end = text.index("</Task>", first)
    path = tmp_path / "three.xml"
    path.write_text(text[:end] + values + text[end:], encoding="utf-8")
    t = read_mspdi(path).tasks[0]
    assert t.three_point == (8.0, 10.0, 20.0) and t.duration_days == 10.0


def _days_2003_style(text: str) -> set[dt.date]:
    """Non-working days of the Standard calendar as MS Project itself wrote them, one WeekDay (DayType 0) per
    occurrence of each exception (the Project 2003 form, written next to the recurring <Exceptions>)."""
    spans = re.findall(r"<DayType>0</DayType>\s*<DayWorking>0</DayWorking>\s*<TimePeriod>\s*<FromDate>(.{10})"
                       r".*?<ToDate>(.{10})", text, flags=re.S)
    return {dt.date.fromisoformat(a) + dt.timedelta(days=k) for a, b in spans
            for k in range((dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days + 1)}


def _covered(holidays) -> set[dt.date]:
    return {lo + dt.timedelta(days=k) for lo, hi in holidays for k in range((hi - lo).days + 1)}


def test_mspdi_recurring_calendar_exceptions_are_expanded(tmp_path: Path) -> None:
    """Daily, every-n-days, weekly, monthly and yearly (by day and by nth weekday) exceptions, expanded from
    the <Exceptions> element alone, give exactly the days MS Project wrote out one by one."""
    text = CAL.read_text(encoding="utf-8")
    truth = _days_2003_style(text)
    assert len(truth) == 137
    # the same file without the one-by-one WeekDay entries: only the recurring patterns are left to read
    only_patterns = re.sub(r"<WeekDay>\s*<DayType>0</DayType>.*?</WeekDay>", "", text, flags=re.S)
    assert "<DayType>0</DayType>" not in only_patterns
    path = tmp_path / "patterns.xml"
    path.write_text(only_patterns, encoding="utf-8")
    s = read_mspdi(path)
    cal = next(c for c in s.calendars.values() if c.name == "Standard")
    assert _covered(cal.holidays) == truth
    kinds = set(re.findall(r"<Type>(\d)</Type>", text))
    assert kinds == {"1", "2", "3", "4", "5", "6", "7"}  # every recurrence type is exercised
    # the one working exception is listed, nothing else is
    assert [u.what.split(" ")[0] for u in s.unmapped if u.where.startswith("Calendar")] == ["2010-01-01..2010-03-06"]
    # and an import keeps them as calendar windows, from a year before as_of on (add a task, as of 2004-01-01)
    task = ("<Tasks><Task><UID>1</UID><ID>1</ID><Name>T</Name><OutlineLevel>1</OutlineLevel>"
            "<Start>2004-01-05T08:00:00</Start><Finish>2004-03-05T17:00:00</Finish><Duration>PT360H0M0S</Duration>"
            "<CalendarUID>1</CalendarUID></Task></Tasks>")
    with_task = re.sub(r"<Tasks>.*?</Tasks>", task, only_patterns, count=1, flags=re.S)
    with_task = with_task.replace("<CurrentDate>2017-11-08T08:00:00</CurrentDate>",
                                  "<CurrentDate>2004-01-01T08:00:00</CurrentDate>")
    path.write_text(with_task, encoding="utf-8")
    out = tmp_path / "p"
    assert main(["import", str(path), "--out", str(out)]) == 0
    assert load_plan(out).meta.as_of == dt.date(2004, 1, 1)
    windows = [(dt.date.fromisoformat(r["start"]), dt.date.fromisoformat(r["end"]))
               for r in _rows(out / "calendar.csv") if r["calendar"] == "construction"]
    kept = {d for d in truth if d >= dt.date(2004, 1, 1) - dt.timedelta(days=366)}
    assert len(kept) > 50 and _covered(windows) == kept


def test_mspdi_recurring_exception_that_cannot_be_expanded_is_listed(tmp_path: Path) -> None:
    text = CAL.read_text(encoding="utf-8").replace("<MonthItem>4</MonthItem>", "<MonthItem>12</MonthItem>", 1)
    path = tmp_path / "bad.xml"
    path.write_text(text, encoding="utf-8")
    s = read_mspdi(path)
    (u,) = [u for u in s.unmapped if "not expanded" in u.why]
    assert "Monthly Relative 1" in u.where and "MonthItem 12" in u.why


def test_mspdi_with_a_dtd_is_refused(tmp_path: Path, capsys) -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE Project [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            '<Project xmlns="http://schemas.microsoft.com/project"><Name>&b;</Name></Project>')
    path = tmp_path / "bomb.xml"
    path.write_text(bomb, encoding="utf-8")
    assert main(["import", str(path), "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sim: ") and "refused" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "p").exists()


def test_import_never_overwrites(tmp_path: Path, capsys) -> None:
    out = tmp_path / "p"
    out.mkdir()
    (out / "mine.txt").write_text("keep", encoding="utf-8")
    assert main(["import", str(LINKS), "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_import_never_deletes_a_staging_folder_it_did_not_make(tmp_path: Path, capsys) -> None:
    """An existing ``<out>.partial`` may be a user's: refused and kept, for schedules and workbooks alike."""
    out = tmp_path / "p"
    partial = tmp_path / "p.partial"
    partial.mkdir()
    (partial / "keep").write_text("mine")
    book = tmp_path / "plan.xlsx"
    assert main(["template", str(book)]) == 0
    for src in (LINKS, book):
        assert main(["import", str(src), "--out", str(out)]) == 2
        assert "p.partial exists" in capsys.readouterr().err
        assert (partial / "keep").read_text() == "mine" and not out.exists()


# --- duration uncertainty of an imported plan ---------------------------------------------

def test_imported_plan_takes_a_published_reference_class_by_default(tmp_path: Path, capsys) -> None:
    """Default: the class `imported` is a lognormal whose mean and share on time are the published figures of
    docs/calibration.md §2.6 (mm_obj1: mean 17 % overrun, about one third on time), computed here with scipy."""
    from scipy.stats import lognorm
    out = tmp_path / "p"
    assert main(["import", str(SP10), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    (row,) = _rows(out / "duration_classes.csv")
    assert (row["project_type"], row["dist"]) == ("imported", "lognormal")
    median, p90 = float(row["p1"]), float(row["p2"])
    sigma = math.log(p90 / median) / 1.2815515655446004
    dist = lognorm(sigma, scale=median)
    assert dist.mean() == pytest.approx(1.17, abs=0.005 + 1e-4)  # published as a whole percent, printed to 4 digits
    assert dist.cdf(1.0) == pytest.approx(1 / 3, abs=1 / 30)  # "about one third" on time
    items = _rows(out / "items.csv")
    open_without = [r for r in items if r["status"] != "done" and not r["dist"]]
    assert open_without and all(r["project_type"] == "imported" for r in items)
    # listed as an assumption to review, on the console and in the report
    assert f"assumption to review: {len(open_without)} open items" in printed and "mm_obj1" in printed
    report = (out / "import_report.md").read_text(encoding="utf-8")
    assert "**Assumption to review:**" in report and "mm_obj1" in report and row["p2"] in report


@pytest.mark.parametrize("key, mean, on_time", [("erdf", 1.26, 0.25), ("odeck_roads", 1.18, 0.5),
                                                ("gb_equipment_obj1", 1.54, 1 / 3)])
def test_duration_class_option_chooses_the_reference_class(tmp_path: Path, key: str, mean: float,
                                                           on_time: float) -> None:
    from scipy.stats import lognorm
    out = tmp_path / "p"
    assert main(["import", str(LINKS), "--out", str(out), "--duration-class", key]) == 0
    (row,) = _rows(out / "duration_classes.csv")
    median, p90 = float(row["p1"]), float(row["p2"])
    dist = lognorm(math.log(p90 / median) / 1.2815515655446004, scale=median)
    assert dist.mean() == pytest.approx(mean, abs=0.005 + 1e-4) and key in row["source"]
    assert dist.cdf(1.0) == pytest.approx(on_time, abs=0.005 + 1e-4)


def test_duration_class_fixed_only_on_request_and_bad_class(tmp_path: Path, capsys) -> None:
    out = tmp_path / "p"
    assert main(["import", str(LINKS), "--out", str(out), "--duration-class", "fixed"]) == 0
    (row,) = _rows(out / "duration_classes.csv")
    assert (row["dist"], row["p1"]) == ("fixed", "1.0")
    assert "fixed 1.0" in capsys.readouterr().out
    assert main(["import", str(LINKS), "--out", str(tmp_path / "q"), "--duration-class", "roads"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sim: --duration-class 'roads'") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "q").exists()


# --- round trips ----------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("sample, suffix", [(SP10, ".xer"), (LINKS, ".xml")])
def test_round_trip_dates_survive(tmp_path: Path, sample: Path, suffix: str) -> None:
    """Import a public sample, run it with its report, export, re-import: the plan survives and the
    exported fields are the run's."""
    src = tmp_path / sample.name
    shutil.copy(sample, src)
    first, run = tmp_path / "first", tmp_path / "run"
    assert main(["import", str(src), "--out", str(first)]) == 0
    assert main(["run", "--params", str(first), "--runs", "200", "--workers", "1", "--quiet", "--out", str(run),
                 "--lang", "en"]) == 0
    assert (run / "report.en.html").is_file()
    exported = tmp_path / f"out{suffix}"
    assert main(["export", str(run), "--to", str(exported)]) == 0
    second = tmp_path / "second"
    assert main(["import", str(exported), "--out", str(second)]) == 0
    keep = ("id", "group", "campaign", "status", "plan_start", "plan_finish", "actual_start", "actual_finish",
            "percent_complete", "dist", "units")
    a, b = _rows(first / "items.csv"), _rows(second / "items.csv")
    assert [{k: r[k] for k in keep} for r in a] == [{k: r[k] for k in keep} for r in b]
    strip = [{k: v for k, v in r.items() if k != "source"} for r in _rows(first / "links.csv")]
    assert strip == [{k: v for k, v in r.items() if k != "source"} for r in _rows(second / "links.csv")]
    # the exported values are the run's
    results = {r["id"]: r for r in _rows(run / "items.csv")}
    got = _exported_values(exported, first)
    assert got and set(got) <= set(results)
    for iid, fields in got.items():
        assert fields["SIM P50 finish"] == results[iid]["p50_finish"]
        assert fields["SIM P90 finish"] == results[iid]["p90_finish"]
        assert float(fields["SIM P(by plan date)"]) == pytest.approx(float(results[iid]["p_by_plan"]), abs=1e-4)
    # and a second export of the exported file replaces the fields instead of adding more
    again = tmp_path / f"again{suffix}"
    assert main(["export", str(run), "--to", str(again), "--source", str(exported)]) == 0
    assert _exported_values(again, first) == got
    # never overwrites
    assert main(["export", str(run), "--to", str(exported)]) == 2


def _exported_values(path: Path, params: Path) -> dict[str, dict[str, str]]:
    import json
    mapping = json.loads((params / "import_source.json").read_text(encoding="utf-8"))["tasks"]
    out: dict[str, dict[str, str]] = {}
    if path.suffix == ".xer":
        raw = _raw_xer(path)
        label = {u["udf_type_id"]: u["udf_type_label"] for u in raw["UDFTYPE"]}
        for v in raw["UDFVALUE"]:
            if label[v["udf_type_id"]].startswith("SIM "):
                value = v["udf_date"][:10] if v["udf_date"] else v["udf_number"]
                out.setdefault(mapping[v["fk_id"]], {})[label[v["udf_type_id"]]] = value
        return out
    text = path.read_text(encoding="utf-8")
    alias = dict(re.findall(r"<ExtendedAttribute><FieldID>(\d+)</FieldID><FieldName>\w+</FieldName>"
                            r"<Alias>(SIM [^<]+)</Alias>", text))
    for task in re.findall(r"<Task>(.*?)</Task>", text, flags=re.S):
        uid = re.search(r"<UID>(\d+)</UID>", task).group(1)
        for fid, value in re.findall(r"<ExtendedAttribute><FieldID>(\d+)</FieldID><Value>([^<]+)</Value>", task):
            if fid in alias:
                out.setdefault(mapping[uid], {})[alias[fid]] = value[:10] if "T" in value else value
    return out


@pytest.mark.slow
def test_export_workbook_has_the_results(tmp_path: Path) -> None:
    first, run = tmp_path / "first", tmp_path / "run"
    assert main(["import", str(PCT), "--out", str(first)]) == 0
    assert main(["run", "--params", str(first), "--runs", "100", "--workers", "1", "--quiet", "--no-report",
                 "--out", str(run)]) == 0
    out = tmp_path / "results.xlsx"
    assert main(["export", str(run), "--to", str(out)]) == 0
    ws = load_workbook(out, read_only=True)["results"]
    rows = list(ws.iter_rows(values_only=True))
    results = _rows(run / "items.csv")
    assert [r[0] for r in rows[2:]] == [r["id"] for r in results]
    assert [str(r[5]) for r in rows[2:]] == [r["p80_finish"] for r in results]


# --- Excel plan template --------------------------------------------------------------------

def test_plan_template_round_trip(tmp_path: Path) -> None:
    params = ROOT / "tests" / "fixtures" / "mini_params"
    book = tmp_path / "plan.xlsx"
    assert main(["template", str(book), "--params", str(params)]) == 0
    wb = load_workbook(book)
    assert {"items", "links", "targets", "plan", "campaigns", "sections"} <= set(wb.sheetnames)
    items = wb["items"]
    assert items["A1"].value == "id" and items["A2"].value == "编号"
    lists = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in items.data_validations.dataValidation}
    col = {c.value: c.column_letter for c in items[1]}
    assert lists[f"{col['status']}3"] == '"not_started,in_progress,done"'
    assert lists[f"{col['campaign']}3"].startswith("campaigns!")
    out = tmp_path / "back"
    assert main(["import", str(book), "--out", str(out)]) == 0
    for f in params.glob("*.csv"):
        a = [{k: v for k, v in r.items()} for r in csv.DictReader(f.open(encoding="utf-8-sig"))]
        b = _rows(out / f.name)
        assert [{k: r.get(k) or "" for k in a[0]} for r in b] == [{k: v or "" for k, v in r.items()} for r in a], f
    assert load_plan(out).meta.campaigns == load_plan(params).meta.campaigns


def test_plan_template_bad_cell_is_reported_like_the_csv(tmp_path: Path, capsys) -> None:
    book = tmp_path / "plan.xlsx"
    assert main(["template", str(book), "--params", str(ROOT / "tests" / "fixtures" / "mini_params")]) == 0
    wb = load_workbook(book)
    ws = wb["items"]
    col = next(c.column for c in ws[1] if c.value == "status")
    ws.cell(row=3, column=col, value="finished")
    wb.save(book)
    assert main(["import", str(book), "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert "items.csv:2 [status] = 'finished'" in err


# --- progress workbook ----------------------------------------------------------------------

def test_progress_workbook_is_read_like_the_csv(tmp_path: Path, capsys) -> None:
    params = ROOT / "examples" / "lakeside-2023" / "params"
    plan = load_plan(params)
    book = tmp_path / "progress.xlsx"
    assert main(["template", str(book), "--params", str(params)]) == 0
    wb = load_workbook(book)
    leads = {i.lead_units[0] for i in plan.items}
    assert set(wb.sheetnames) == leads
    ws = wb["LX_SJ"]
    ws["B2"], ws["B3"] = "2024-01-15", "Data Bureau monthly report"
    rows = {ws.cell(row=r, column=2).value: r for r in range(7, ws.max_row + 1)}
    ws.cell(row=rows["D01"], column=8, value="2023-12-20")  # finish
    ws.cell(row=rows["D02"], column=7, value="2023-08-01")  # start
    ws.cell(row=rows["D02"], column=9, value=0.4)  # percent complete
    ws.cell(row=rows["K_ONLINE"], column=10, value=71)  # KPI value
    wb.save(book)
    from sim.interop.progress import read_actuals_file as read_actuals
    facts = {(f.kind.value, f.id): f for f in read_actuals(book, plan).facts}
    assert set(facts) == {("finish", "D01"), ("start", "D02"), ("progress", "D02"), ("kpi", "K_ONLINE")}
    assert facts[("progress", "D02")].value == 0.4 and facts[("progress", "D02")].date == dt.date(2024, 1, 15)
    assert facts[("kpi", "K_ONLINE")].value == 71
    # the same check and message as the CSV, addressed to the sheet, row and column
    ws.cell(row=rows["D02"], column=9, value=40)
    wb.save(book)
    with pytest.raises(PlanError) as exc:
        read_actuals(book, plan)
    p = exc.value.problems[0]
    assert (p.file, p.row, p.column) == (f"{book} [LX_SJ]", rows["D02"], "percent_complete")
    assert "40" in str(p)
    # and `sim run --actuals progress.xlsx` uses it
    ws.cell(row=rows["D02"], column=9, value=0.4)
    wb.save(book)
    assert main(["run", "--params", str(params), "--runs", "50", "--workers", "1", "--quiet", "--no-report",
                 "--actuals", str(book), "--out", str(tmp_path / "run")]) == 0
    one = tmp_path / "progress-LX_JY.xlsx"
    assert main(["template", str(one), "--params", str(params), "--unit", "LX_JY"]) == 0
    assert load_workbook(one).sheetnames == ["LX_JY"]
