"""The batch comparison page and charts in each language (issue 13): words follow the page's language,
legends cover no data, an exact zero reads as "no change", a tiny standard error never reads as ± 0."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib.text import Text

from sim.report.comparison import comparison_html, difference_chart, s_curve_overlay_chart
from sim.studies.batch import Outcome

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
WORD = re.compile(r"[A-Za-z]{3,}")


def _cmp() -> pd.DataFrame:
    rows = []
    for s, diff in (("base", 0.0), ("worse", -0.2), ("same", 0.0)):
        for k in range(3):
            d = diff if k < 2 else 0.0
            rows.append({"scenario": s, "target": f"TG_{k}", "section": "x", "name_en": f"Target {k}",
                         "name_zh": f"目标{k}", "deadline": "2022-12-31", "runs": 100, "p_met": 0.5 + d, "se": 0.05,
                         "reference": "base", "p_reference": 0.5, "difference": d, "difference_se": 0.04 if d else 0.0,
                         "ci95_low": d - 0.08 if d else 0.0, "ci95_high": d + 0.08 if d else 0.0,
                         "excludes_zero": bool(d)})
    return pd.DataFrame(rows)


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def _curves() -> pd.DataFrame:
    grid = pd.DataFrame({"date": ["2021-01-01", "2022-01-01", "2023-01-01"], "p": [0.1, 0.5, 1.0]})
    return pd.concat([grid.assign(id=i, scenario=s) for i in ("A", "B") for s in ("base", "worse")])


DATA_WORDS = {"base", "worse", "same"}  # scenario names and ids are data, not words of the page


def test_difference_chart_speaks_the_page_language():
    zh = " ".join(_texts(difference_chart(_cmp(), lang="zh")))
    assert CJK.search(zh) and "vs" not in zh and "interval" not in zh
    assert set(WORD.findall(zh)) <= DATA_WORDS, set(WORD.findall(zh)) - DATA_WORDS
    en = " ".join(_texts(difference_chart(_cmp(), lang="en")))
    assert not CJK.search(en), en
    assert "Target 0" in en  # the targets are named, not only numbered
    assert "-0" not in en.replace("-0.", "")  # no "-0" tick


def test_comparison_legends_cover_no_data():
    for fig in (difference_chart(_cmp(), lang="zh"),
                s_curve_overlay_chart(_curves(), names={"A": ("甲", "a"), "B": ("乙", "b")}, lang="zh")):
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        (legend,) = fig.legends
        box = legend.get_window_extent(r)
        assert all(not box.overlaps(ax.get_window_extent(r)) for ax in fig.axes if ax.get_visible())
    en = " ".join(_texts(s_curve_overlay_chart(_curves(), names={"A": ("甲", "a")}, lang="en")))
    assert not CJK.search(en) and "A a" in en


def _page(lang: str, headlines=None) -> str:
    outcomes = [Outcome("base", "base.yaml", "done"), Outcome("worse", "w.yaml", "done"),
                Outcome("same", "s.yaml", "reused")]
    meta = {"reference": "base", "runs": 100, "seed": 1, "params": "p", "params_hash": "abc"}
    return comparison_html(_cmp(), outcomes, meta, lang=lang, headlines=headlines)


def _visible(page: str) -> str:
    body = page.split("<body>", 1)[1]
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


def test_zh_page_has_no_english_words_of_its_own():
    text = _visible(_page("zh"))
    allowed = DATA_WORDS | {"yaml", "params", "sha", "abc"}  # scenario names, files, the params directory
    assert set(WORD.findall(text)) <= allowed, set(WORD.findall(text)) - allowed
    assert "完成" in text and "沿用" in text  # the scenario statuses in Chinese


def test_en_page_has_no_chinese_words_of_its_own():
    assert not CJK.search(_visible(_page("en")))


def test_exact_zero_is_no_change_and_never_minus_zero():
    for lang, words in (("en", "no change"), ("zh", "无变化")):
        page = _page(lang)
        assert words in page
        assert "+0.0%" not in page and "-0.0" not in page and "+0.0 pp" not in page
    assert "Δ -20.0 pp [-28.0, -12.0]" in _page("en")


def test_tiny_standard_errors_do_not_read_as_zero():
    head = pd.DataFrame([
        {"scenario": s, "metric": "expected_met", "end_date": "2022-12-31", "label_zh": "2022年底",
         "label_en": "end-2022", "targets": 10, "value": v, "se": 0.2, "difference": d, "difference_se": dse,
         "excludes_zero": bool(d)} for s, v, d, dse in (("base", 5.0, np.nan, np.nan), ("worse", 5.04, 0.04, 0.003))])
    page = _page("en", head)
    assert "Δ +0.04 ± &lt; 0.01" in page and "± 0.00" not in page
    assert "expected targets met, end-2022" in page and "2022年底" not in page
    assert "2022年底预计达成目标数" in _page("zh", head)


def test_a_blank_name_read_back_as_nan_is_no_name():
    from sim.report.comparison import _name

    assert _name(pd.Series({"name_zh": float("nan"), "name_en": "Ring road"}), "zh") == "Ring road"
    assert _name(pd.Series({"name_zh": float("nan"), "name_en": float("nan")}), "en") == ""
