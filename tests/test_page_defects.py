"""Page defects a reader sees (issue 13's look at every page): number headers over their numbers,
probabilities in %, the appraisal's reasons in the page's language, empty lists said to be empty,
and counts of small bar segments still said."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib.text import Text

from sim.report.fonts import Lang
from sim.report.html import Marked, table_html
from sim.report.tables import View


def test_number_headers_align_with_their_numbers():
    df = pd.DataFrame({"name": ["a", "b"], "due": [3, 4], "p_met": [Marked("no data"), 0.25],
                       "flag": [True, False]})
    html = table_html(View("x", df), Lang.EN)
    heads = re.findall(r"<th([^>]*)>([^<]*)</th>", html)
    right = {text for attrs, text in heads if 'class="num"' in attrs}
    assert len(right) == 2 and "due" in right and "name" not in right and "flag" not in right, heads


def test_a_view_names_its_own_probability_columns():
    df = pd.DataFrame({"id": ["T"], "2021": [0.128]})
    assert "0.128" in table_html(View("x", df), Lang.EN)  # not a probability column by name
    html = table_html(View("x", df, pct=frozenset({"2021"})), Lang.EN)
    assert "12.8%" in html and "0.128<" not in html


def test_appraisal_reasons_are_chinese_on_the_zh_page():
    from sim.report.appraisal import why_in

    why = ("T10 finished 2021-12-31; T09 P50 finish 2023-07-23 -> 2024-07-20 (+363 d), nothing reported; "
           "+4 more; no value reported for K05, K06: simulated from the plan date")
    zh = why_in(why, Lang.ZH)
    assert not re.search(r"[a-z]{3,}", zh), zh
    assert "T10" in zh and "2024-07-20" in zh and "+363天" in zh and "另有4条" in zh and "K05, K06" in zh
    assert why_in(why, Lang.EN) == why and why_in(np.nan, Lang.ZH) == ""


def test_appraisal_status_bars_count_small_segments_beside_the_bar():
    from sim.report.appraisal import plot_status

    from conftest import MINI_PARAMS
    from sim.model.load import load_plan

    camp = pd.DataFrame({"year": [2020, 2021], "group": ["a", "b"], "due": [96, 3], "done_on_time": [0, 0],
                         "done_late": [0, 1], "open": [0, 0], "no_report": [96, 2]})
    fig = plot_status(camp, load_plan(MINI_PARAMS), lang=Lang.EN)
    texts = [t.get_text() for t in fig.findobj(Text) if t.get_visible()]
    assert "96" in texts and any("done late 1" in t and "no report 2" in t for t in texts), texts


def _headline(p_all: float, effects_all: list[float]):
    from sim.analysis.headline import Headline

    targets = pd.DataFrame({"id": ["TG_A_2020", "TG_A_2021"], "name_zh": ["同名目标"] * 2,
                            "name_en": ["A target with a long shared name that a narrow label column cuts"] * 2,
                            "p_met": [0.0, 0.3], "band": ["red", "red"]})
    drivers = pd.DataFrame({"driver": ["R1", "R2"], "effect_expected_met": [0.5, -0.1],
                            "effect_expected_met_se": [0.1, 0.1], "effect_p_all": effects_all})
    return Headline(end_dates=pd.DataFrame(columns=["label_zh", "label_en", "end_date", "expected_met", "targets",
                                                    "p10", "p90"]),
                    p_all={"targets": 2, "p": p_all, "se": (p_all * (1 - p_all) / 2000) ** 0.5},
                    targets=targets, unreachable=pd.DataFrame(), drivers=drivers, replications=2000)


def test_answer_keeps_ids_whole_and_says_nothing_empty():
    from sim.report.summary import headline_html

    for lang in ("en", "zh"):
        html = headline_html(_headline(0.0, [0.0, -0.0001]), lang, driver_names={})
        assert '<span class="tid">TG_A_2020</span>' in html and '<span class="tid">TG_A_2021</span>' in html
        assert "+0.0" not in html and "-0.0" not in html and "± 0.0%" not in html
        assert "2000" in html.split("<ul class='kpis'>")[1].split("</ul>")[0]  # "in none of 2000 replications"
        assert "all headline met" not in html and "全部主要目标</th>" not in html  # a column of zeros is left out
    moved = headline_html(_headline(0.2, [0.0, -0.02]), "en", driver_names={})
    assert "all headline met" in moved and "-2.0 pp" in moved and ">0.0 pp<" in moved and "± 0.9%" in moved


def test_money_charts_hide_nothing_and_draw_no_empty_campaign():
    from datetime import date

    from sim.analysis.jcl import JointSample
    from sim.report.charts_cost import investment_s_curve_chart, jcl_chart, pct_se

    days = np.arange(0, 400, 100.0)
    curves = pd.concat([pd.DataFrame({"campaign": "money", "day": days, "p10": days, "p50": 2 * days,
                                      "p90": 3 * days, "planned": 2 * days}),
                        pd.DataFrame({"campaign": "none", "day": days, "p10": 0.0, "p50": 0.0, "p90": 0.0,
                                      "planned": 0.0})])
    fig = investment_s_curve_chart(curves, as_of=date(2020, 1, 1), names={"money": "M", "none": "N"}, lang="en")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels and all(lab.startswith("M ") for lab in labels)  # the campaign with no money is not a 0 line
    rng = np.random.default_rng(1)
    sample = JointSample(scope="all", finish=rng.normal(1000, 100, 500), cost=rng.normal(900, 50, 500), plan_day=900.0,
                         budget=850.0)
    fig = jcl_chart(sample, as_of=date(2020, 1, 1), lang="zh")
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    assert not ax.get_legend().get_window_extent(r).overlaps(ax.get_window_extent(r))  # below, not on the dots
    assert pct_se(0.0001) == "< 0.1%" and pct_se(0.0) == "0.0%" and pct_se(0.012) == "1.2%"


def test_kpi_panels_share_one_legend_below_them():
    from sim.report.charts_time import kpi_fans_figure

    fan = pd.concat([pd.DataFrame({"id": k, "date": ["2020-01-16", "2020-12-31", "2022-12-31"], "p10": [0, 1, 2],
                                   "p50": [0, 2, 4], "p90": [0, 3, 9], "target": [np.nan, np.nan, 5.0]})
                     for k in ("K1", "K2")])
    kpis = pd.DataFrame({"id": ["K1", "K2"], "name_zh": ["甲", "乙"], "name_en": ["a", "b"], "unit": ["", ""]})
    fig = kpi_fans_figure(fan, kpis, lang="zh")
    assert all(ax.get_legend() is None for ax in fig.axes)  # none inside a panel, over its band
    (legend,) = fig.legends
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    assert not any(legend.get_window_extent(r).overlaps(ax.get_window_extent(r)) for ax in fig.axes)


def test_scorecard_says_early_work_not_a_bare_share_when_nothing_is_due():
    from datetime import date

    from sim.report import charts

    sc = pd.DataFrame({"unit": ["U", "U"], "name_zh": ["单位"] * 2, "name_en": ["unit"] * 2,
                       "year_end": [date(2020, 12, 31), date(2021, 12, 31)], "expected_share": [0.03, 0.0],
                       "planned_share": [0.0, 0.0]})
    texts = [t.get_text() for t in charts.scorecard_chart(sc, lang="zh").findobj(Text)]
    assert "无到期事项（提前完成3%）" in texts and "无到期事项" in texts and "无到期事项 (3%)" not in texts


def test_p_all_with_a_standard_error_below_the_shown_precision_never_reads_as_exact():
    from types import SimpleNamespace

    from sim.report.summary import p_all_text

    h = SimpleNamespace(p_all={"targets": 26, "p": 0.0002, "se": 0.00014}, replications=10_000)
    assert p_all_text(h, "en") == "P(all 26 headline targets met): 0.0% ± < 0.1%"
    assert "± < 0.1%" in p_all_text(h, "zh")
    h = SimpleNamespace(p_all={"targets": 26, "p": 0.25, "se": 0.0043}, replications=10_000)
    assert p_all_text(h, "en").endswith("25.0% ± 0.4%")
