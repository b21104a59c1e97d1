"""The rooms of sim/ and the direction of imports (docs/architecture.md).

A module may import from its own layer and from layers below it, never from
one above. Imports inside functions count too (they are found with ``ast``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"

# lowest first; a layer may import from any layer with a rank not above its own
LAYERS = {
    "errors": 0,  # the exceptions the CLI prints (no imports)
    "model": 0,  # pure domain: records, clock, calendar, distributions, loading and checking
    "engine": 1,  # randomness and SimPy: streams, sampling, schedules, the Monte Carlo runner
    "results": 2,  # the run directory: records, tables, manifest, plan snapshot
    "safety": 2,  # output directories the tool may write (ownership marks, staging, locks)
    "xlsxtext": 2,  # workbooks that keep user text as text
    "analysis": 3,  # pandas in, pandas out
    "report": 4,  # charts, pages, workbooks
    "interop": 5,  # schedule and workbook import/export (reads run directories, writes reports)
    "studies": 6,  # orchestration: run, batch, slip, tolerance, appraise, backtest, bench
    "serve": 7,  # the what-if web page
    "cli": 8,  # the command line
    "__main__": 8,  # python -m sim
}


def _modules():
    for path in sorted(SIM.rglob("*.py")):
        rel = path.relative_to(SIM.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        if len(parts) >= 2:
            yield path, parts[1]


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def test_every_module_has_a_layer():
    assert {room for _, room in _modules()} <= set(LAYERS)


@pytest.mark.parametrize(("path", "room"), list(_modules()), ids=lambda v: str(v).split("sim/")[-1])
def test_no_module_imports_from_a_layer_above_it(path, room):
    upward = []
    for line, module in _imports(path):
        parts = module.split(".")
        if parts[0] == "sim" and len(parts) >= 2 and LAYERS.get(parts[1], -1) > LAYERS[room]:
            upward.append(f"{path.relative_to(SIM.parent)}:{line} ({room}) imports {module}")
    assert not upward, "\n".join(upward)


def test_the_model_has_no_randomness_and_no_simpy():
    found = []
    for path, room in _modules():
        if room != "model":
            continue
        for line, module in _imports(path):
            if module.split(".")[0] in ("simpy", "random") or module.startswith("numpy.random"):
                found.append(f"{path.relative_to(SIM.parent)}:{line} imports {module}")
        text = path.read_text(encoding="utf-8")
        if "np.random." in text or "default_rng" in text:
            found.append(f"{path.relative_to(SIM.parent)} draws random numbers")
    assert not found, "\n".join(found)
