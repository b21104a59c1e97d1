"""The chart defects of issue 13, each checked on the drawn figure."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from sim.report import charts, charts_time


def _targets(p):
    n = len(p)
    return pd.DataFrame({"id": [f"T{i}" for i in range(n)], "section": ["s"] * n, "name_zh": ["目标"] * n,
                         "name_en": ["target"] * n, "p_met": p, "ci95_low": p, "ci95_high": p})


def _bars(fig):
    ax = fig.axes[0]
    return [r for r in ax.patches if isinstance(r, Rectangle) and r.get_height() > 0]


def _texts(fig):
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def test_zero_percent_bars_are_visible_and_labelled():
    fig = charts.target_probability_chart(_targets([0.0, 0.5, 1.0]), lang="en")
    widths = sorted(r.get_width() for r in _bars(fig))
    assert widths[0] > 0  # the 0 % bar is drawn
    assert {"0.0%", "50.0%", "100.0%"} <= set(_texts(fig))


def _overlaps(fig, legend, ax):
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    box = legend.get_window_extent(r)
    return any(box.overlaps(p.get_window_extent(r)) for p in ax.patches)


def test_legends_do_not_cover_bars():
    fig = charts.target_probability_chart(_targets([0.9, 0.95, 0.99, 1.0]), lang="en")
    ax = fig.axes[0]
    assert not _overlaps(fig, ax.get_legend(), ax)
    crit = pd.DataFrame({"target": "X", "item": ["A", "B", "C"], "criticality": [1.0, 1.0, 0.0],
                         "decisive": [1.0, 0.5, 0.0]})
    fig = charts.criticality_chart(crit, target="X", lang="zh")
    ax = fig.axes[0]
    assert not _overlaps(fig, ax.get_legend(), ax)
    assert min(r.get_width() for r in ax.patches) > 0  # the 0 % item shows


def test_gantt_legend_lists_only_what_is_drawn():
    items = pd.DataFrame({"id": ["A", "B"], "name_zh": ["甲", "乙"], "name_en": ["a", "b"],
                          "plan_finish": ["2022-12-31"] * 2, "p10_finish": ["2022-01-01"] * 2,
                          "p50_finish": ["2022-06-30", "2022-07-31"], "p90_finish": ["2022-12-01"] * 2})
    fig = charts_time.gantt_chart(items, lang="en")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "P10–P90 finish (median late)" not in labels and "P10–P90 finish (median on plan)" in labels


def test_scorecard_cells_with_nothing_due_are_not_red():
    sc = pd.DataFrame({"unit": ["U", "U"], "name_zh": ["单位"] * 2, "name_en": ["unit"] * 2,
                       "year_end": [date(2020, 12, 31), date(2021, 12, 31)], "expected_share": [0.0, 0.6],
                       "planned_share": [0.0, 1.0]})
    fig = charts.scorecard_chart(sc, lang="zh")
    im = fig.axes[0].images[0]
    arr = np.ma.masked_invalid(im.get_array())
    assert arr.mask[0, 0] and not arr.mask[0, 1]  # nothing due in 2020: masked (grey), not 0 % red
    assert any("无到期事项" in t for t in _texts(fig))


def test_zh_tornado_has_chinese_units_and_no_negative_zero():
    drv = pd.DataFrame({"driver": ["R1", "R2"], "target": "X", "effect_p_met": [0.0001, -0.00001],
                        "effect_se": [0.0, 0.0], "p80_shift_days": [12.0, 3.0], "mean_shift_se": [1.0, 1.0]})
    text = " ".join(_texts(charts.tornado_chart(drv, target="X", lang="zh")))
    assert "-0.0" not in text and " pp" not in text and "个百分点" in text
    assert charts.signed(-0.00001) == "0.0" and charts.signed(0.26) == "+0.3"


def test_identical_s_curves_are_drawn_once_and_said_so():
    grid = pd.DataFrame({"day": [10.0, 20.0, 30.0], "date": ["2020-01-11", "2020-01-21", "2020-01-31"],
                         "p": [0.1, 0.5, 1.0]})
    curves = pd.concat([grid.assign(id="A"), grid.assign(id="B"), grid.assign(id="C", p=[0.2, 0.6, 1.0])])
    items = pd.DataFrame({"id": ["A", "B", "C"], "name_zh": ["甲", "乙", "丙"], "name_en": ["a", "b", "c"],
                          "plan_finish": ["2020-01-20"] * 3, "p50_finish": ["2020-01-21"] * 3,
                          "p80_finish": ["2020-01-31"] * 3})
    fig = charts_time.s_curve_chart(curves, items, lang="en")
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_linewidth() == 1.6]
    assert len(lines) == 2
    assert any("A = B" in t for t in _texts(fig))


def test_tornado_says_earlier_for_a_negative_p80_shift_and_thick_single_bars():
    drv = pd.DataFrame({"driver": ["R1", "R2", "R3"], "target": "X", "effect_p_met": [0.05, -0.03, 0.01],
                        "effect_se": [0.001] * 3, "p80_shift_days": [12.0, -3.0, 0.2], "mean_shift_se": [1.0] * 3})
    for lang, later, earlier, same in (("en", "P80 later by 12 days", "P80 earlier by 3 days", "P80 unchanged"),
                                       ("zh", "P80推迟 12天", "P80提前 3天", "P80不变")):
        text = " ".join(_texts(charts.tornado_chart(drv, target="X", lang=lang)))
        assert later in text and earlier in text and same in text and "-3" not in text
    one = charts.tornado_chart(drv.head(1), target="X", lang="en")
    lo, hi = one.axes[0].get_ylim()
    assert hi - lo >= 3  # one driver gets a bar as thick as in a list of three, not the whole axes


def test_provenance_reads_as_words_not_python_values():
    from sim.report.html import _provenance

    man = {"engine": "vector", "executor": "inline", "stopped_by_precision": False, "max_target_se": 0.0111803342,
           "timings_seconds": {"total": 2.48312}}
    zh = _provenance(man, "zh")
    assert "False" not in zh and "否" in zh and "1.12%" in zh and "向量化" in zh and "2.5<" in zh
    en = _provenance(man, "en")
    assert "False" not in en and ">no<" in en and "0.0111803342" not in en
