"""MPXJ as the optional reader (.mpp, .mpx, .pmxml ...) and as an independent check of the own parsers.

MPXJ is a separate, widely used implementation of the P6 and MS Project formats. Where it reads the same
file as sim/interop/xer.py or sim/interop/mspdi.py, the two must give the same tasks, dates, progress,
WBS, links and lags; where MS Project saved the same project as .mpp and as MSPDI XML, or P6 as XER and
as P6 XML, MPXJ's reading of one must equal our parser's reading of the other. The tests skip, saying
why, where MPXJ or a Java runtime is missing (`python3 dev.py test` installs both where it can).
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main
from sim.interop.mspdi import read_mspdi
from sim.interop.xer import read_xer

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "schedules"
OWN = {".xer": read_xer, ".xml": read_mspdi}
MPP = FIX / "task-links-project2016-mpp14.mpp"
MPX = FIX / "task-links-project98.mpx"
PMXML = FIX / "percent-complete-8.4.pmxml"
TWINS = [(MPP, FIX / "task-links-project2016-mspdi.xml"), (PMXML, FIX / "percent-complete-8.4.xer")]


def _why_not() -> str | None:
    try:
        from sim.interop.viampxj import mpxj_available
    except ImportError as exc:  # pragma: no cover
        return str(exc)
    return mpxj_available()


NO_MPXJ = _why_not()
needs_mpxj = pytest.mark.skipif(NO_MPXJ is not None, reason=f"MPXJ cannot run here: {NO_MPXJ}")


def _task(t) -> tuple:
    return (t.uid, t.code, t.name, t.milestone, t.summary, t.plan_start, t.plan_finish, t.actual_start,
            t.actual_finish, None if t.percent_complete is None else round(t.percent_complete, 6), t.wbs,
            t.constraint, t.constraint_date, t.three_point, tuple(sorted(set(t.resources))),
            None if t.duration_days is None else round(t.duration_days, 6))


def _links(s) -> list[tuple]:
    return sorted((ln.pred, ln.succ, ln.type, round(ln.lag_days, 6)) for ln in s.links)


def _calendars(s) -> dict[str, tuple]:
    """Holidays and hours of the calendars the tasks use."""
    used = {t.calendar for t in s.tasks}
    return {u: (c.name, c.holidays, c.hours_per_day) for u, c in s.calendars.items() if u in used}


@needs_mpxj
@pytest.mark.parametrize("path", sorted(p for p in FIX.iterdir() if p.suffix in OWN), ids=lambda p: p.name)
def test_mpxj_and_the_own_parser_read_the_same_schedule(path: Path) -> None:
    from sim.interop.viampxj import read_with_mpxj
    own, other = OWN[path.suffix](path), read_with_mpxj(path)
    import jpype
    assert not jpype.isJVMStarted()  # MPXJ ran in a child process: this one may still fork workers
    assert other.status_date == own.status_date
    assert sorted(_task(t) for t in other.tasks) == sorted(_task(t) for t in own.tasks)  # MPXJ orders by WBS
    assert _links(other) == _links(own)
    assert _calendars(other) == _calendars(own)
    assert {u: r.name for u, r in other.resources.items() if u in own.resources} == \
        {u: r.name for u, r in own.resources.items()}


@needs_mpxj
@pytest.mark.parametrize("binary, twin", TWINS, ids=lambda p: p.name)
def test_mpxj_reading_of_a_binary_or_p6_xml_equals_our_reading_of_its_twin(binary: Path, twin: Path) -> None:
    """The same project saved by MS Project as .mpp and as MSPDI XML (P6: as .pmxml and as .xer)."""
    from sim.interop.viampxj import read_with_mpxj
    own, other = OWN[twin.suffix](twin), read_with_mpxj(binary)
    assert len(own.tasks) >= 12
    assert [_task(t)[1:] for t in other.tasks] == [_task(t)[1:] for t in own.tasks]  # uids may be renumbered
    ids_own, ids_other = [t.uid for t in own.tasks], [t.uid for t in other.tasks]
    rename = dict(zip(ids_other, ids_own))
    assert sorted((rename[a], rename[b], k, lag) for a, b, k, lag in _links(other)) == _links(own)
    assert {k for _, _, k, _ in _links(own)} >= ({"FS", "SS", "FF", "SF"} if twin.suffix == ".xml" else set())


@needs_mpxj
def test_mpxj_expands_recurring_exceptions_as_we_do(tmp_path: Path) -> None:
    """Our expansion of MSPDI recurring exceptions (from the patterns alone) equals MPXJ's."""
    import re
    from sim.interop.viampxj import read_with_mpxj
    text = (FIX / "calendar-recurring-exceptions-project2016-mspdi.xml").read_text(encoding="utf-8")
    path = tmp_path / "patterns.xml"
    path.write_text(re.sub(r"<WeekDay>\s*<DayType>0</DayType>.*?</WeekDay>", "", text, flags=re.S),
                    encoding="utf-8")
    own = {c.name: c.holidays for c in read_mspdi(path).calendars.values()}
    other = {c.name: c.holidays for c in read_with_mpxj(path).calendars.values()}
    assert own["Standard"] and own == {k: v for k, v in other.items() if k in own}


@needs_mpxj
def test_sim_import_mpp_maps_links_and_lists_what_it_cannot(tmp_path: Path, capsys) -> None:
    out = tmp_path / "p"
    assert main(["import", str(MPP), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "(MPP)" in printed and "assumption to review" in printed
    with (out / "links.csv").open(encoding="utf-8") as fh:
        links = list(csv.DictReader(fh))
    own = read_mspdi(FIX / "task-links-project2016-mspdi.xml")
    assert sorted(r["type"] for r in links) == sorted(ln.type for ln in own.links if ln.type != "SF")
    report = (out / "import_report.md").read_text(encoding="utf-8")
    assert "read through MPXJ" in report and "SF link" in report and "not supported" in report


@needs_mpxj
def test_reader_option_mpxj_for_xer(tmp_path: Path) -> None:
    a, b = tmp_path / "own", tmp_path / "mpxj"
    xer = FIX / "sp10-bicester-road-embankment.xer"
    assert main(["import", str(xer), "--out", str(a)]) == 0
    assert main(["import", str(xer), "--out", str(b), "--reader", "mpxj"]) == 0
    def rows(d: Path, name: str) -> list[dict]:  # order aside (MPXJ lists tasks in WBS order)
        with (d / name).open(encoding="utf-8") as fh:
            got = [{k: v for k, v in r.items() if k not in ("source", "name_en", "seq")} for r in csv.DictReader(fh)]
        if name == "targets.csv":
            for r in got:
                r["refs"] = ";".join(sorted(r["refs"].split(";")))
        return sorted(got, key=lambda r: sorted(r.items()))
    for name in ("items.csv", "links.csv", "targets.csv", "calendar.csv"):
        assert rows(b, name) == rows(a, name), name


def _run_without(module_patch: str, args: list[str]) -> subprocess.CompletedProcess:
    code = f"import sys\n{module_patch}\nfrom sim.cli import main\nsys.exit(main({args!r}))"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_without_mpxj_a_one_line_error_says_how_to_install(tmp_path: Path) -> None:
    res = _run_without("sys.modules['mpxj'] = None", ["import", str(MPP), "--out", str(tmp_path / "p")])
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith(f"sim: {MPP}: reading this format needs MPXJ") and "pip install" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "p").exists()


def test_without_a_java_runtime_a_one_line_error_says_how_to_install(tmp_path: Path) -> None:
    pytest.importorskip("jpype", reason="jpype1 (the schedule extra) is not installed")
    patch = ("import jpype\n"
             "def _none(*a, **k):\n"
             "    raise jpype.JVMNotFoundException('No JVM shared library file (libjvm.so) found')\n"
             "jpype.getDefaultJVMPath = _none")
    res = _run_without(patch, ["import", str(MPX), "--out", str(tmp_path / "p")])
    assert res.returncode == 2, res.stderr
    assert "needs a Java runtime" in res.stderr and "default-jre-headless" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "p").exists()


def _three_point_files(tmp: Path) -> list[Path]:
    """The MSPDI and XER samples with three-point estimates added as custom fields / UDFs (as in
    tests/test_interop.py): Duration1-3 aliased Optimistic / Most likely / Pessimistic duration."""
    import re
    text = (FIX / "assignment-assignments-project2016-mspdi.xml").read_text(encoding="utf-8")
    defs = "".join(f"<ExtendedAttribute><FieldID>{fid}</FieldID><FieldName>Duration{k}</FieldName>"
                   f"<Alias>{alias}</Alias></ExtendedAttribute>" for k, (fid, alias) in enumerate(
                       (("188743783", "Optimistic duration"), ("188743784", "Most likely duration"),
                        ("188743785", "Pessimistic duration")), start=1))
    values = "".join(f"<ExtendedAttribute><FieldID>{fid}</FieldID><Value>PT{h}H0M0S</Value></ExtendedAttribute>"
                     for fid, h in (("188743783", 64), ("188743784", 80), ("188743785", 160)))
    text = re.sub(r"<ExtendedAttributes\s*/>", f"<ExtendedAttributes>{defs}</ExtendedAttributes>", text, count=1)
    first = text.index("<UID>1</UID>", text.index("<Tasks>"))
    end = text.index("</Task>", first)
    xml = tmp / "three.xml"
    xml.write_text(text[:end] + values + text[end:], encoding="utf-8")
    sp10 = FIX / "sp10-bicester-road-embankment.xer"
    raw = sp10.read_bytes().decode("cp1252")
    lines = raw.splitlines()[raw.splitlines().index("%T\tTASK"):]
    fields = next(line.split("\t") for line in lines if line.startswith("%F"))
    task = next(line.split("\t") for line in lines if line.startswith("%R\t") and "\tTT_Task\t" in line)
    row = dict(zip(fields[1:], task[1:]))
    udfs = "%T\tUDFTYPE\n%F\tudf_type_id\ttable_name\tudf_type_name\tudf_type_label\tlogical_data_type\n" + \
        "".join(f"%R\t{k}\tTASK\tuser_field_{k}\t{label}\tFT_FLOAT_2_DECIMALS\n" for k, label in
                ((1, "Optimistic duration"), (2, "Most likely duration"), (3, "Pessimistic duration")))
    vals = "%T\tUDFVALUE\n%F\tudf_type_id\tfk_id\tproj_id\tudf_number\n" + "".join(
        f"%R\t{k}\t{row['task_id']}\t{row['proj_id']}\t{v}\n" for k, v in ((1, 8), (2, 10), (3, 15)))
    out = re.sub(r"%T\tUDFTYPE.*?(?=%T\tPROJECT)", "", raw, flags=re.S).replace("%E", udfs + vals + "%E")
    xer = tmp / "three.xer"
    xer.write_bytes(out.encode("cp1252"))
    return [xml, xer]


@needs_mpxj
def test_three_point_estimates_read_alike(tmp_path: Path) -> None:
    from sim.interop.viampxj import read_with_mpxj
    for path in _three_point_files(tmp_path):
        own = {t.uid: t.three_point for t in OWN[path.suffix](path).tasks if t.three_point}
        other = {t.uid: t.three_point for t in read_with_mpxj(path).tasks if t.three_point}
        assert len(own) == 1 and other == own, path.name


@needs_mpxj
@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".xml", ".xer"])
def test_round_trip_from_mpp(tmp_path: Path, suffix: str) -> None:
    """Import the .mpp, run it, export: the whole project comes back (converted by MPXJ) with the run's
    values in its custom fields / UDFs, and re-importing the export gives the same plan."""
    from test_interop import _exported_values
    first, run = tmp_path / "first", tmp_path / "run"
    assert main(["import", str(MPP), "--out", str(first)]) == 0
    assert main(["run", "--params", str(first), "--runs", "200", "--workers", "1", "--quiet", "--no-report",
                 "--out", str(run)]) == 0
    exported = tmp_path / f"out{suffix}"
    assert main(["export", str(run), "--to", str(exported)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first", f"out{suffix}", "run"]  # no leftovers
    second = tmp_path / "second"
    assert main(["import", str(exported), "--out", str(second)]) == 0
    keep = ("id", "campaign", "status", "plan_start", "plan_finish", "actual_start", "actual_finish", "dist")
    with (first / "items.csv").open(encoding="utf-8") as a, (second / "items.csv").open(encoding="utf-8") as b:
        assert [{k: r[k] for k in keep} for r in csv.DictReader(b)] == [{k: r[k] for k in keep}
                                                                          for r in csv.DictReader(a)]
    with (run / "items.csv").open(encoding="utf-8") as fh:
        results = {r["id"]: r for r in csv.DictReader(fh)}
    got = _exported_values(exported, first)
    assert len(got) == len(results) == 16
    for iid, fields in got.items():
        assert fields["SIM P50 finish"] == results[iid]["p50_finish"]
        assert fields["SIM P90 finish"] == results[iid]["p90_finish"]
