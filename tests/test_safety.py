"""Issue 10, items 1, 4 and 11: --out never deletes what sim did not make; one writer per --out; a full disk."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from sim.cli import main
from sim.errors import OutputError
from sim.results import RunWriter
from sim.safety import MARKER, StagedDir, check_out, marker_of

FIXTURE = Path(__file__).parent / "fixtures" / "mini_params"


def _run(out: Path, *extra: str, runs: int = 200) -> int:
    return main(["run", "--no-report", "--params", str(FIXTURE), "--runs", str(runs), "--seed", "7", "--quiet",
                 "--workers", "1", "--out", str(out), *extra])


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else b"<dir>") for p in sorted(root.rglob("*"))}


def test_out_holding_a_users_file_is_refused_and_untouched(tmp_path, capsys):
    # the issue: mkdir -p d/x && touch d/x/keep && sim run --runs 200 --no-report --out d/x removed keep
    (tmp_path / "d" / "x").mkdir(parents=True)
    (tmp_path / "d" / "x" / "keep").write_text("mine")
    before = _tree(tmp_path)
    assert _run(tmp_path / "d" / "x") == 2
    assert _tree(tmp_path) == before
    err = capsys.readouterr().err
    assert err.startswith("sim: --out") and "not made by sim" in err and "Traceback" not in err


def test_out_holding_a_users_file_is_refused_even_with_force(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep").write_text("mine")
    before = _tree(tmp_path)
    assert _run(tmp_path / "x", "--force") == 2
    assert _tree(tmp_path) == before


def test_results_folder_with_earlier_runs_is_never_wiped(tmp_path):
    # the issue: --out results wiped earlier runs
    results = tmp_path / "results"
    assert _run(results / "first") == 0
    before = _tree(tmp_path)
    assert _run(results) == 2
    assert _run(results, "--force") == 2  # results/ itself carries no marker
    assert _tree(tmp_path) == before


def test_out_dotdot_and_dot_are_refused(tmp_path, monkeypatch):
    # the issue: --out .. emptied the parent directory
    (tmp_path / "parent" / "child").mkdir(parents=True)
    (tmp_path / "parent" / "precious").write_text("x")
    monkeypatch.chdir(tmp_path / "parent" / "child")
    before = _tree(tmp_path)
    assert _run(Path("..")) == 2
    assert _run(Path("."), "--force") == 2
    assert _run(Path("sub/.."), "--force") == 2
    assert _tree(tmp_path) == before


def test_out_that_is_a_file_is_a_one_line_error(tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("x")
    assert _run(f) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a directory" in err and f.read_text() == "x"
    assert _run(f / "below") == 2  # a file as the parent
    assert f.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories; the check cannot fail as root")
def test_out_in_a_read_only_directory_is_a_one_line_error(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert _run(ro / "run") == 2
        assert "not writable" in capsys.readouterr().err
    finally:
        ro.chmod(0o755)


def test_only_an_earlier_run_of_sim_is_replaced_and_only_with_force(tmp_path):
    out = tmp_path / "run"
    assert _run(out) == 0
    assert marker_of(out)["kind"] == "run"
    first = json.loads((out / MARKER).read_text())["run_id"]
    assert _run(out) == 2  # no --force: refused, kept
    assert json.loads((out / MARKER).read_text())["run_id"] == first
    assert _run(out, "--force") == 0
    assert json.loads((out / MARKER).read_text())["run_id"] != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no lock, partial or old copy left


def test_a_batch_directory_is_not_replaced_by_a_run(tmp_path):
    out = tmp_path / "b"
    stage = StagedDir(out, kind="batch")
    stage.commit()
    with pytest.raises(OutputError, match="batch"):
        check_out(out, force=True, kind="run")


def test_a_second_writer_of_the_same_out_is_refused(tmp_path):
    # the issue: two processes on one --out committed tables of one run with records of the other
    out = tmp_path / "run"
    first = StagedDir(out, kind="run")
    try:
        with pytest.raises(OutputError, match="another sim process"):
            StagedDir(out, kind="run")
        assert first.path.is_dir()  # the second attempt touched nothing of the first
    finally:
        first.abort()
    assert list(tmp_path.iterdir()) == []


def test_a_second_sim_process_on_one_out_exits_2(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "run"
    holder = StagedDir(out, kind="run")  # this test process is "the first sim run"
    try:
        cmd = [sys.executable, "-m", "sim", "run", "--no-report", "--params", str(FIXTURE), "--runs", "200",
               "--quiet", "--out", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
        assert proc.returncode == 2, proc.stderr
        assert "another sim process" in proc.stderr and "Traceback" not in proc.stderr
    finally:
        holder.abort()


def test_a_leftover_partial_that_is_not_ours_is_kept(tmp_path):
    (tmp_path / "run.partial").mkdir()
    (tmp_path / "run.partial" / "notes.txt").write_text("mine")
    before = _tree(tmp_path)
    assert _run(tmp_path / "run") == 2
    assert _tree(tmp_path) == before


def test_a_full_disk_during_the_records_removes_the_partial_and_exits_2(tmp_path, monkeypatch, capsys):
    def full(self, rec):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.partial / "records.parquet"))

    monkeypatch.setattr(RunWriter, "__call__", full)
    assert _run(tmp_path / "run") == 2
    assert list(tmp_path.iterdir()) == []
    err = capsys.readouterr().err
    assert err.startswith("sim: ") and "No space left" in err and "Traceback" not in err


def test_a_full_disk_during_the_report_keeps_the_run_and_says_the_report_is_missing(tmp_path, monkeypatch, capsys):
    import sim.report.build as build

    real_save = build.save
    calls = {"n": 0}

    def save(fig, path, *, lang, **kw):
        calls["n"] += 1
        if calls["n"] > 3:  # some charts written, then the disk fills
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_save(fig, path, lang=lang, **kw)

    monkeypatch.setattr(build, "save", save)
    out = tmp_path / "run"
    code = main(["run", "--params", str(FIXTURE), "--runs", "300", "--seed", "7", "--quiet", "--workers", "1",
                 "--lang", "en", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "report of" in err and "No space left" in err and "Traceback" not in err
    man = json.loads((out / "manifest.json").read_text())
    assert man["reports"]["en"].startswith("missing")
    assert (out / "records.parquet").is_file() and (out / "targets.csv").is_file()
    assert not (out / "charts" / "en").exists() and not list((out / "charts").glob("*.partial"))
    assert not list(out.glob("report.*")) and not list(out.glob(".report*"))
    # the run stays valid: the report can be written later
    monkeypatch.setattr(build, "save", real_save)
    assert main(["report", str(out), "--lang", "en", "--driver-runs", "50"]) == 0
    assert json.loads((out / "manifest.json").read_text())["reports"]["en"] == "written"
    assert (out / "report.en.html").is_file()


def test_write_atomic_never_touches_a_file_beside_the_target(tmp_path):
    """The staging file is created exclusively: a user's file with any hidden name beside the target survives."""
    import os

    from sim.results import write_atomic

    target = tmp_path / "table.csv"
    # the name the writer used to stage under (pid-based), and a glob of plausible others
    theirs = [tmp_path / f".table.csv.tmp{os.getpid()}.csv", tmp_path / ".table.csv.tmp.csv"]
    for f in theirs:
        f.write_text("user data", encoding="utf-8")
    write_atomic(target, lambda p: p.write_text("a,b\n1,2\n", encoding="utf-8"))
    assert target.read_text(encoding="utf-8") == "a,b\n1,2\n"
    for f in theirs:
        assert f.read_text(encoding="utf-8") == "user data"
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())

    def failing(p):
        p.write_text("half", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomic(tmp_path / "other.csv", failing)
    assert not (tmp_path / "other.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name] + [f.name for f in theirs])


def _umask():
    import os
    m = os.umask(0)
    os.umask(m)
    return m
