"""Report tables: every row present, numbers as numbers, risk ranking by effect, zh vocabulary."""

from __future__ import annotations

import json
import re

import pandas as pd
from test_report_support import reported_run

from sim.report.fonts import Lang
from sim.report.html import STATIC_ROWS, table_html
from sim.report.i18n import enum_text, unit_text
from sim.report.tables import View


def _data(html: str) -> dict:
    raw = re.search(r'<script type="application/json" class="tdata">(.*?)</script>', html, re.S).group(1)
    return json.loads(raw)


def test_a_long_table_keeps_every_row_with_raw_numbers():
    n = 774
    df = pd.DataFrame({"id": [f"R{i}" for i in range(n)], "contingency_p80_days": [float(10 * i) for i in range(n)],
                       "p_met": [i / n for i in range(n)], "name": ["<b>x</b>"] * n})
    html = table_html(View("t", df), Lang.EN)
    data = _data(html)
    assert len(data["rows"]) == n  # nothing cut
    assert data["kinds"] == ["text", "num", "pct", "text"]
    assert [r[1] for r in data["rows"][:3]] == [0, 10, 20]  # whole floats are numbers, so 10 < 110 < 1147
    assert sorted(r[1] for r in data["rows"]) == [r[1] for r in data["rows"]]
    assert "<b>" not in html.split('class="tdata">')[1]  # markup inside the data is escaped


def test_a_short_table_is_plain_rows_with_numeric_sort_keys():
    df = pd.DataFrame({"id": ["a", "b", "c"], "contingency_p80_days": [10.0, 110.0, 1147.0]})
    html = table_html(View("t", df), Lang.EN)
    assert len(df) <= STATIC_ROWS and "tdata" not in html
    assert re.findall(r'class="num" data-v="([^"]+)"', html) == ["10.0", "110.0", "1147.0"]


def test_report_risk_ranking_is_sorted_by_effect_and_complete():
    run = reported_run()
    drv = pd.read_csv(run / "analysis" / "drivers.csv")
    moving = drv[(drv["effect_p_met"] != 0) | (drv["p80_shift_days"].fillna(0) != 0)]
    text = (run / "report.en.html").read_text(encoding="utf-8")
    block = text.split('id="t-tbl_drivers"')[1].split("</table>")[0]
    if "tdata" in text.split('id="t-tbl_drivers"')[1].split("<h3")[0]:
        rows = _data(text.split('id="t-tbl_drivers"')[1])["rows"]
        effects = [r[7] for r in rows]  # driver, name, kind, target, name, with, without, effect
    else:
        effects = [float(x) for x in re.findall(r'<tr>(?:<td[^>]*>.*?</td>){7}<td class="num" data-v="([^"]+)"',
                                                block)]
    assert len(effects) == len(moving)
    assert effects == sorted(effects, reverse=True)
    assert effects[0] == moving["effect_p_met"].max()


def test_zh_vocabulary_and_units():
    assert enum_text("item_by", "zh") == "事项按期完成" and enum_text("item_by", "en") == "item by deadline"
    assert enum_text("unknown-word", "zh") == "unknown-word"
    assert unit_text("firms", "zh") == "家" and unit_text("firms", "en") == "firms"
    text = (reported_run() / "report.zh.html").read_text(encoding="utf-8")
    assert "事项按期完成" in text and ">item_by<" not in text


def test_zh_method_tables_name_factors_classes_and_holidays_in_chinese():
    from pathlib import Path

    from sim.model.load import load_plan
    from sim.report.i18n import holiday_text
    from sim.report.sources import assumption_views

    plan = load_plan(Path(__file__).parent.parent / "params")
    views = {v.key: v.frame for v in assumption_views(plan, Lang.ZH)}
    assert views["factors"].set_index("id").loc["F_ALL", "name"].startswith("全局共因")
    assert views["duration_classes"].set_index("type").loc["arterial", "name"] == "环路/城市主干道"
    assert "春节" in " ".join(views["calendar"]["name"])
    assert holiday_text("Spring Festival 2021", "zh") == "春节 2021"
    en = {v.key: v.frame for v in assumption_views(plan, Lang.EN)}
    assert en["factors"].set_index("id").loc["F_ALL", "name"].startswith("Programme-wide")
