"""A small plan with Chinese names, and a finished run of it, shared by the report tests.

(The module holds helpers only; pytest collects no test from it.)
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path

from planfactory import counter, dist, item, link, plan, risk

from sim.engine.runner import Executor, RunConfig
from sim.model.entities import Target, Unit
from sim.model.enums import TargetRule
from sim.studies.workflow import run_plan

RUNS = 2000
SEED = 5
END = date(2022, 12, 31)
EVIL = '<script>alert("x")</script>'


def _named(it, zh: str, en: str, unit: str = "U1"):
    return replace(it, name_zh=zh, name_en=en, lead_units=(unit,), units=(unit,))


def _target(tid, zh, en, section, rule, refs, *, k=None, threshold=None) -> Target:
    return Target(id=tid, name_zh=zh, name_en=en, section=section, rule=rule, refs=tuple(refs), deadline=END,
                  k=k, threshold=threshold, source="test")


def report_plan():
    """Rail (T14) -> rail-bus connection (T15, FF), two roads, a block; risks (one never fires), a KPI."""
    logn = dist("lognormal", 1.1, 1.6)
    items = [
        _named(item("T14", 900, mult=logn), "市域铁路S2线一期工程", "Suburban railway S2, phase 1"),
        _named(item("T15", 300, mult=logn, start_wait=500), "轨道交通公交衔接", "Rail-bus connection"),
        _named(item("T05", 800, mult=logn), f"环山路{EVIL}", f"Ring-mountain Road {EVIL}"),
        _named(item("T06", 700, mult=logn), "环山南路", "Ring-mountain South Road", unit="U2"),
        _named(item("B01", 850, mult=logn, campaign="block"), "浙南科技城核心区", "Zhenan Sci-tech City core",
               unit="U2"),
    ]
    p = plan(
        items,
        [link("T14", "T15", "FF")],
        risks=[risk("R_LAND", 0.4, dist("pert", 30, 90, 240), ["T05", "T06", "T14"]),
               risk("R_NEVER", 0.0, dist("pert", 30, 90, 240), ["T14", "T15"])],
        kpis=[replace(counter("K_HT", 120.0, cv=0.2, baseline=600.0, measure="stock"), name_zh="有效高新技术企业",
                      name_en="Valid high-tech enterprises", unit_en="firms")],
        targets=[
            _target("TG_T15", "轨道交通公交衔接", "Rail-bus connection", "transport", TargetRule.ITEM_BY, ["T15"]),
            _target("TG_ROADS", "环山路网建成", "Ring roads built", "transport", TargetRule.ALL_OF, ["T05", "T06"]),
            _target("TG_1030", "“1030”交通体系基本成型", "'1030' transport system formed", "headline",
                    TargetRule.K_OF_N, ["TG_T15", "TG_ROADS", "T14"], k=2),
            _target("TG_B01", "浙南科技城基本建成", "Zhenan Sci-tech City built", "block", TargetRule.ITEM_BY, ["B01"]),
            _target("TG_HT", "有效高新技术企业900家", "900 valid high-tech enterprises", "headline",
                    TargetRule.KPI_GE, ["K_HT"], threshold=900.0),
        ],
    )
    units = (Unit("U1", "市交通局", "Transport Bureau", source="test"),
             Unit("U2", "瓯海区政府", "Ouhai District Government", source="test"))
    return replace(p, units=units)


def make_run(out: Path) -> Path:
    """Simulate :func:`report_plan` into ``out`` (inline, ``RUNS`` replications)."""
    config = RunConfig(runs=RUNS, seed=SEED, workers=1, executor=Executor.INLINE)
    return run_plan(report_plan(), config=config, out=out)


@functools.cache
def reported_run() -> Path:
    """One run of :func:`report_plan` with both reports written, made once per test session.

    Tests must not change it; copy it first (``shutil.copytree``) to modify.
    """
    from sim.report.build import write_report

    root = Path(tempfile.mkdtemp(prefix="report-run-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    run_dir = make_run(root / "run")
    write_report(run_dir, lang="zh", plan=report_plan())
    write_report(run_dir, lang="en")  # from the run's plan snapshot
    return run_dir
