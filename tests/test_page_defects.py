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
