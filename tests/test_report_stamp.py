"""Every chart of the run report carries the as-of date (and scenario, replications, seed)."""

from __future__ import annotations

import json

import pytest
from test_report_support import reported_run

from sim.report import build
from sim.report.fonts import resolve_lang
from sim.results import read_table


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_chart_is_stamped_with_the_as_of_date(lang, tmp_path, monkeypatch):
    run_dir = reported_run()
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    stamp = build.chart_stamp(manifest, resolve_lang(lang))
    assert manifest["as_of"] in stamp and str(manifest["seed"]) in stamp
    seen = []
    real_save = build.save

    def spy(fig, path, *, lang, svg=False):
        seen.append([t.get_text() for t in fig.texts])
        return real_save(fig, tmp_path / path.name, lang=lang, svg=svg)

    monkeypatch.setattr(build, "save", spy)
    plan = build.run_plan_of(run_dir)
    model = build.compile_plan(plan)
    frames = build.analysis_tables(run_dir, plan, model)
    for name in ("items", "targets", "kpis"):
        frames[name] = read_table(run_dir, f"{name}.csv")
    focus = build.focus_targets(frames["targets"], frames)
    charts = build.render_charts(plan, frames, focus, lang=resolve_lang(lang), out=tmp_path, stamp=stamp)
    assert charts and len(seen) == len(charts)
    assert all(stamp in texts for texts in seen)
