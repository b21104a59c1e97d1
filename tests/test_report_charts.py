"""Charts build in both languages, and Chinese is drawn with a font that has the glyphs."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text
from test_report_support import reported_run

from sim.report import charts, charts_time, fonts
from sim.report.build import ANALYSIS_DIR
from sim.report.fonts import Lang, has_glyphs
from sim.report.style import new_axes, styled

CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


@pytest.fixture(scope="module")
def frames():
    run = reported_run()
    out = {p.stem: pd.read_csv(p) for p in (run / ANALYSIS_DIR).glob("*.csv")}
    for name in ("items", "targets", "kpis"):
        out[name] = pd.read_csv(run / f"{name}.csv")
    return out


def all_charts(frames, lang: str) -> dict[str, Figure]:
    names = {"R_LAND": ("征地拆迁延误", "Land acquisition delay")}
    items = frames["items"]
    return {
        "targets": charts.target_probability_chart(frames["targets"], lang=lang),
        "s_curves": charts_time.s_curve_chart(frames["s_curves"], items, lang=lang),
        "gantt": charts_time.gantt_chart(items[items["campaign"].isin(["transport", "block"])], lang=lang),
        "tornado": charts.tornado_chart(frames["drivers"], target="TG_T15", names=names, lang=lang),
        "kpi": charts_time.kpi_fans_figure(frames["kpi_fan"], frames["kpis"], lang=lang),
        "scorecard": charts.scorecard_chart(frames["scorecard"], lang=lang),
        "histogram": charts.targets_met_chart(frames["targets_met"], lang=lang),
        "convergence": charts.convergence_chart(frames["convergence"], lang=lang),
        "criticality": charts.criticality_chart(frames["criticality"], target="TG_T15", lang=lang),
    }


def texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_chart_builds_and_draws(frames, lang):
    for name, fig in all_charts(frames, lang).items():
        assert isinstance(fig, Figure), name
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. "Glyph ... missing from font(s)"
            fig.canvas.draw()
        shown = " ".join(t.get_text() for t in texts(fig))
        assert bool(CJK.search(shown)) == (lang == "zh"), name


def test_chinese_text_uses_a_font_with_its_glyphs(frames):
    """The font matplotlib picks for each Chinese text has a glyph (index != 0) for every character."""
    checked = 0
    for name, fig in all_charts(frames, "zh").items():
        fig.canvas.draw()
        for t in texts(fig):
            chars = "".join(CJK.findall(t.get_text()))
            if not chars:
                continue
            found = font_manager.findfont(t.get_fontproperties(), fallback_to_default=False)
            path, index = getattr(found, "path", found), getattr(found, "face_index", 0)
            assert has_glyphs(str(path), chars, face_index=index), f"{name}: {t.get_text()!r} in {path}"
            checked += 1
    assert checked > 20


def test_chinese_glyphs_are_not_tofu():
    """Different characters must render as different bitmaps (missing glyphs all draw the same box)."""
    def bitmap(ch: str) -> np.ndarray:
        with styled("zh"):
            fig, ax = new_axes(None, size=(1, 1))
            ax.set_axis_off()
            ax.text(0.5, 0.5, ch, fontsize=40, ha="center", va="center")
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba())[..., 0].copy()

    a, b, c = bitmap("温"), bitmap("州"), bitmap("温")
    assert (a < 128).sum() > 50  # something was drawn
    assert not np.array_equal(a, b) and np.array_equal(a, c)


def test_chart_draws_into_a_given_axes(frames):
    fig = Figure()
    ax = fig.add_subplot()
    assert charts.targets_met_chart(frames["targets_met"], lang="en", ax=ax) is fig
    assert ax.get_title()


def test_without_cjk_font_chinese_falls_back_to_english_with_one_warning(monkeypatch):
    monkeypatch.setattr(fonts, "cjk_font", lambda: None)
    fonts._warn_no_cjk.cache_clear()
    with pytest.warns(RuntimeWarning, match="falls back to English") as caught:
        assert fonts.resolve_lang("zh") is Lang.EN
        assert fonts.resolve_lang("zh") is Lang.EN
    assert len([w for w in caught if "falls back" in str(w.message)]) == 1
    fonts._warn_no_cjk.cache_clear()
