"""How long a report takes and how large it is, for `sim bench` (never a timed test).

:func:`report_timing` simulates the plan (records only), then writes both
languages' reports the way `sim run` does and measures each stage: the
analysis computed once for both languages (risk-effect re-runs, criticality,
tables, headline) and, per language, charts + HTML + workbook, with the HTML's
size. The target of issue 13: each language at most 15 s at 10,000
replications on the 2-core reference machine, each HTML at most 3 MB.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

LANG_SECONDS = 15.0  # per language at 10,000 replications (issue 13)
HTML_MB = 3.0


def report_timing(params: Path, *, runs: int = 10_000, workers: int | None = None) -> dict:
    """Seconds and sizes of a report of a fresh ``runs``-replication run of ``params``.

    Returns ``{"runs", "simulate_s", "analysis_s", "lang_s": {lang: s}, "html_mb": {lang: MB}}``.
    """
    from sim.engine.runner import RunConfig
    from sim.model.load import load_plan
    from sim.report.build import prepare_report, write_report
    from sim.studies.workflow import run_plan

    plan = load_plan(params)
    out: dict = {"runs": runs, "lang_s": {}, "html_mb": {}}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_dir = run_plan(plan, config=RunConfig(runs=runs, workers=workers), out=Path(tmp) / "run")
        out["simulate_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        inputs = prepare_report(run_dir, plan=plan)
        out["analysis_s"] = time.perf_counter() - t0
        for lang in ("zh", "en"):
            t0 = time.perf_counter()
            paths = write_report(run_dir, lang=lang, inputs=inputs)
            out["lang_s"][lang] = time.perf_counter() - t0
            out["html_mb"][lang] = paths["html"].stat().st_size / 1e6
    return out


def report_lines(params: Path, *, runs: int = 10_000, workers: int | None = None) -> list[str]:
    """:func:`report_timing` as `sim bench` lines, each figure against its target."""
    t = report_timing(params, runs=runs, workers=workers)
    lines = [f"report of {t['runs']} replications (simulation {t['simulate_s']:.1f} s, not counted):",
             f"  analysis once for both languages (risk-effect re-runs, criticality, headline) {t['analysis_s']:6.1f} s"]
    for lang, s in t["lang_s"].items():
        mb = t["html_mb"][lang]
        ok = "ok" if s <= LANG_SECONDS and mb <= HTML_MB else "OVER"
        lines.append(f"  {lang}: charts + HTML + workbook {s:6.1f} s (target <= {LANG_SECONDS:.0f} s), "
                     f"HTML {mb:4.2f} MB (target <= {HTML_MB:.0f} MB)  {ok}")
    return lines
