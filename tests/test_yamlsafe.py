"""Issue 10 item 8: bounded YAML (billion laughs, nesting, size), duplicate keys naming both lines, FIFOs."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
import yaml

from sim.model import yamlsafe
from sim.model.planmeta import read_meta
from sim.model.problems import PlanError
from sim.model.scenario import load_scenario

FIXTURE = Path(__file__).parent / "fixtures" / "mini_params"

# the 352-byte document: 9^9 "lol"s once expanded
LAUGHS = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
          + "".join(f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")))


def _problem(path: Path) -> str:
    with pytest.raises(PlanError) as info:
        load_scenario(path)
    return info.value.report()


def test_billion_laughs_fails_in_under_a_second(tmp_path):
    assert len(LAUGHS.encode()) < 400
    f = tmp_path / "laughs.yaml"
    f.write_text(LAUGHS, encoding="utf-8")
    t0 = time.perf_counter()
    report = _problem(f)
    assert time.perf_counter() - t0 < 1.0
    assert "expands to more than" in report and "laughs.yaml" in report


def test_moderate_aliases_are_still_fine():
    assert yamlsafe.load("a: &x {k: 1}\nb: *x\n") == {"a": {"k": 1}, "b": {"k": 1}}


def test_deep_nesting_is_a_problem_not_a_recursion_error(tmp_path):
    f = tmp_path / "deep.yaml"
    f.write_text("slip: " + "[" * 20000 + "]" * 20000 + "\n", encoding="utf-8")
    assert "nested more than" in _problem(f)


def test_recursive_alias_is_refused():
    with pytest.raises(yaml.YAMLError, match="recursive"):
        yamlsafe.load("a: &a [1, *a]\n")


def test_duplicate_keys_name_both_lines(tmp_path):
    # the issue: a doubled slip: ran the 1-month slip, not the 6-month one
    f = tmp_path / "twice.yaml"
    f.write_text("description: doubled\nslip:\n  T05.1: 6m\nslip:\n  T05.1: 1m\n", encoding="utf-8")
    report = _problem(f)
    assert "duplicate key 'slip' on lines 2 and 4" in report
    with pytest.raises(yaml.YAMLError, match="lines 2 and 3"):
        yamlsafe.load("slip:\n  T05.1: 6m\n  T05.1: 1m\n")


def test_oversized_and_nul_files_are_problems(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("description: " + "x" * (yamlsafe.MAX_BYTES + 10) + "\n", encoding="utf-8")
    assert "more than" in _problem(big)
    nul = tmp_path / "nul.yaml"
    nul.write_bytes(b"description: a\x00b\n")
    assert "NUL" in _problem(nul)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_scenario_does_not_block(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("r", _problem(fifo)), daemon=True)
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "reading a FIFO blocked"
    assert "regular file" in result["r"]


def test_plan_yaml_duplicate_keys_and_laughs(tmp_path):
    params = tmp_path / "p"
    shutil.copytree(FIXTURE, params)
    text = (params / "plan.yaml").read_text(encoding="utf-8")
    (params / "plan.yaml").write_text(text + "\n" + next(l for l in text.splitlines() if l.startswith("title:")) + "\n", encoding="utf-8")
    meta, problems = read_meta(params)
    assert meta is None and "duplicate key" in problems[0].message
    (params / "plan.yaml").write_text(LAUGHS, encoding="utf-8")
    t0 = time.perf_counter()
    meta, problems = read_meta(params)
    assert time.perf_counter() - t0 < 1.0 and "expands" in problems[0].message
