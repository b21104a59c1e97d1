"""The appraisal page (年度比拼) in Chinese and English: charts, per-year tables, changes and their reasons.

The tables come from :mod:`sim.analysis.annual` (per year, campaign, unit and
section) and :func:`sim.analysis.snapshot_events.target_table`; the page uses the report's CSS,
sortable tables and embedded CJK font (:mod:`sim.report.html`). "No data" is
shown as such, never as 0 % or 100 %.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.model import planmeta
from sim.report.fonts import Lang
from sim.report.html import Chart, Marked, esc, figure_html, page, table_html
from sim.report.i18n import labelled, name_of
from sim.report.style import new_figure, styled
from sim.report.tables import PCT, View

DPI = 130
STATUS_COLORS = {"done_on_time": "#66a182", "done_late": "#edae49", "open": "#d1495b", "no_report": "#d9d9d9"}
EXAMPLE_MARK = "EXAMPLE"  # sources of invented facts start with this word (actuals/example-appraisal.csv)

# key: (English, 中文)
TEXT: dict[str, tuple[str, str]] = {
    "title": ("Annual appraisal: {title}", "年度比拼：{title}"),
    "plan_date": ("plan date", "计划编制日"),
    "subtitle": ("Snapshots {snaps} · {n} replications each · actuals {file}",
                 "快照 {snaps} · 每次 {n} 次重复 · 实绩文件 {file}"),
    "example": ("The facts in this actuals file are invented examples (their source says EXAMPLE); "
                "they show how the appraisal reads, not what happened.",
                "本实绩文件中的事实为虚构示例（来源栏标注 EXAMPLE），仅用于演示比拼的读法，并非实际进展。"),
    "bottom_line": ("Bottom line", "结论"),
    "year_line": ("{year}: {due} items due, {on_time} done on time, {late} late, {open} reported not done, "
                  "{none} with no report; targets due: {tmet} met, {tnot} not met, {tfc} still a forecast, "
                  "{tnone} no data. "
                  "Targets that moved: {real} on new reports, {mixed} on reports for only some of their items, "
                  "{unrep} with nothing reported.",
                  "{year}年：到期事项 {due} 项，按期完成 {on_time} 项，逾期完成 {late} 项，已报告未完成 {open} 项，"
                  "未报告 {none} 项；到期目标：达成 {tmet} 个，未达成 {tnot} 个，仍为预测 {tfc} 个，无数据 {tnone} 个。"
                  "概率变动的目标：有新报告 {real} 个，仅部分事项有新报告 {mixed} 个，无任何报告 {unrep} 个。"),
    "charts": ("Charts", "图表"),
    "chart_status": ("Items due each year, per campaign: what was done", "各年到期事项完成情况（按大会战）"),
    "chart_status_x": ("items due in the year", "当年到期事项数"),
    "chart_targets": ("{section}: P(met) {ago} → {now}", "{section}：达成概率 {ago} → {now}"),
    "chart_targets_x": ("P(met by deadline)", "按期达成概率"),
    "year_ago": ("a year ago", "一年前"),
    "now": ("now", "现在"),
    "by_campaign": ("Per year and campaign", "分年度、分大会战"),
    "by_unit": ("Per year and lead unit", "分年度、分牵头单位"),
    "by_section": ("Targets per year and section", "目标：分年度、分类别"),
    "headline_wide": ("Headline targets: P(met) at each snapshot", "主要目标：各快照达成概率"),
    "real_changes": ("Changes on new reports", "有新报告的变动"),
    "unreported_changes": ("Moves with nothing reported ({n})", "无任何报告的变动（{n}个）"),
    "unreported_text": ("These targets moved although nothing about their items or KPIs was reported in the year: "
                        "an item with no report is taken as unfinished and a KPI with no value as at its expected "
                        "value, so the move is that rule meeting the calendar, not news. Report on them to "
                        "appraise them.",
                        "这些目标当年其事项或指标均无任何报告，概率变动仅因“未报告即未完成、指标取期望值”的规则随时间推移而产生，"
                        "并非新情况。请补报相关进展后再比拼。"),
    "all_targets": ("All targets, every year", "全部目标（逐年）"),
    "caveats": ("How to read this", "阅读说明"),
    "caveat_items": ("An item is 'done' with a finish fact, 'reported not done' with a start, progress or "
                     "unfinished fact dated in the year, and 'no report' otherwise: not known either way. "
                     "P(met) now is the share done on time among the items with a report; with none it is 'no "
                     "data'. A year ago is the forecast then of the same items finishing by their plan dates.",
                     "有完成事实的事项为“已完成”；当年有开工、进度或未完成报告的为“已报告未完成”；其余为“未报告”，即情况不明。"
                     "现在的达成概率为有报告事项中按期完成的比例；均无报告时为“无数据”。一年前为当时对同一批事项按计划完成的预测。"),
    "caveat_changes": ("A change is counted when it exceeds twice its Monte Carlo standard error.",
                       "变动超过蒙特卡洛标准误两倍时才计为变动。"),
    "notes": ("Notes from moving the plan", "推进计划时的说明"),
    "no_data": ("no data", "无数据"),
    "none_listed": ("none", "无"),
    # enumerations in tables
    "met": ("met", "达成"),
    "not met": ("not met", "未达成"),
    "forecast": ("forecast", "预测"),
    "reported": ("new report", "有新报告"),
    "unreported": ("nothing reported", "无报告"),
    "none_such": ("none in these years", "这几年没有此类情况"),
    "none": ("no change", "无变动"),
    "mixed": ("new report on some items, none on others", "部分事项有新报告、部分无报告"),
    "mixed_changes": ("Changes with new reports on some items and none on others", "部分有新报告的变动"),
    "done_on_time": ("done on time", "按期完成"),
    "done_late": ("done late", "逾期完成"),
    "open": ("reported not done", "已报告未完成"),
    "no_report": ("no report", "未报告"),
}


def tx(key: str, lang: Lang | str, **fmt) -> str:
    """The appraisal text of ``key`` in ``lang``."""
    en, zh = TEXT.get(key, (key, key))
    text = zh if Lang(lang) is Lang.ZH else en
    return text.format(**fmt) if fmt else text


def _pct(v, lang: Lang) -> Marked | float:
    return Marked(tx("no_data", lang)) if pd.isna(v) else float(v)


def _pp(v, lang: Lang) -> Marked:
    if pd.isna(v):
        return Marked(tx("no_data", lang))
    pp = 100 * float(v)
    return Marked(f"{pp:+.1f} pp" if lang is Lang.EN else f"{pp:+.1f}个百分点", sort=float(v))


# --- charts -------------------------------------------------------------------------------------

def plot_status(campaigns: pd.DataFrame, plan, *, lang: Lang) -> Figure:
    """One stacked bar per year and campaign: items due, split by what is known of them."""
    rows = campaigns[campaigns["due"] > 0].iloc[::-1]
    with styled(lang):
        fig = new_figure((8.6, 0.42 * max(len(rows), 2) + 1.9))
        ax = fig.add_subplot()
        labels = [f"{r.year} · {planmeta.campaign_label(plan, r.group, lang)}" for r in rows.itertuples()]
        y = np.arange(len(rows))
        left = np.zeros(len(rows))
        room = 0.04 * max(float(rows[list(STATUS_COLORS)].to_numpy().sum(axis=1).max()) if len(rows) else 1.0, 1.0)
        outside: list[list[str]] = [[] for _ in range(len(rows))]  # counts too small to fit in their segment
        for status, color in STATUS_COLORS.items():
            w = rows[status].to_numpy(dtype=float)
            ax.barh(y, w, left=left, color=color, edgecolor="white", hatch="//" if status == "no_report" else None,
                    label=tx(status, lang))
            for yi, (x0, wi) in enumerate(zip(left, w)):
                if wi >= max(room, 1):  # a count inside its segment where it fits
                    ax.text(x0 + wi / 2, yi, f"{int(wi)}", ha="center", va="center", fontsize=8)
                elif wi > 0:
                    outside[yi].append(f"{tx(status, lang)} {int(wi)}")
            left += w
        for yi, (end, words) in enumerate(zip(left, outside)):
            if words:  # small segments are counted beside the bar, so no count is left unsaid
                ax.annotate(" · ".join(words), (end, yi), xytext=(4, 0), textcoords="offset points", va="center",
                            fontsize=7, color="#444")
        ax.set_yticks(y, labels)
        ax.set_xlabel(tx("chart_status_x", lang))
        ax.set_title(tx("chart_status", lang), loc="left")
        ax.grid(axis="y", visible=False)
        fig.legend(loc="outside lower center", ncols=4, frameon=False, fontsize=8)
    return fig


def plot_targets(changes: pd.DataFrame, plan, *, lang: Lang) -> Figure:
    """Headline targets at the last snapshot: P(met) a year ago (open) and now (filled), sorted by now."""
    section = planmeta.headline_section(plan)
    last = changes[changes["year"] == changes["year"].iloc[-1]] if len(changes) else changes
    sel = last[last["section"] == section]
    if sel.empty:
        sel = last
    sel = sel[pd.to_datetime(sel["deadline"]) > pd.to_datetime(sel["as_of"]) - pd.DateOffset(years=1)]
    sel = sel.assign(o=sel["p_met"].fillna(-1)).sort_values("o")
    ago = sel["year_ago"].iloc[0] if len(sel) else ""
    ago = tx("plan_date", lang) if ago == "baseline" else ago
    now = sel["year"].iloc[0] if len(sel) else ""
    with styled(lang):
        fig = new_figure((8.6, 0.34 * max(len(sel), 2) + 1.9))
        ax = fig.add_subplot()
        y = np.arange(len(sel))
        p0, p1 = sel["p_met_year_ago"].to_numpy(float), sel["p_met"].to_numpy(float)
        known = ~np.isnan(p1)
        ax.hlines(y[known], p0[known], p1[known], color="#9aa5b1", lw=1.5)
        ax.scatter(p0, y, facecolors="white", edgecolors="#1f5f8b", s=36, zorder=3,
                   label=f"{tx('year_ago', lang)} ({ago})")
        ax.scatter(p1[known], y[known], color="#1f5f8b", s=36, zorder=4, label=f"{tx('now', lang)} ({now})")
        for yi in y[~known]:
            right = p0[yi] < 0.75
            ax.text(p0[yi] + (0.03 if right else -0.03), yi, tx("no_data", lang), va="center", fontsize=8,
                    color="#777", style="italic", ha="left" if right else "right")
        ax.set_yticks(y, [labelled(r.id, name_of(r, lang), 44) for r in sel.itertuples()], fontsize=8)
        ax.set_xlim(-0.02, 1.02)
        ax.set_xticks(np.linspace(0, 1, 6), [f"{v:.0%}" for v in np.linspace(0, 1, 6)])
        ax.set_xlabel(tx("chart_targets_x", lang))
        ax.set_title(tx("chart_targets", lang, section=planmeta.section_label(plan, section, lang), ago=ago,
                        now=now), loc="left")
        fig.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=8)
    return fig


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


# --- tables -------------------------------------------------------------------------------------

def _due_view(key: str, df: pd.DataFrame, names: dict[str, str], lang: Lang) -> View:
    out = pd.DataFrame({
        "year": df["year"], "group": [names.get(g, g) for g in df["group"]], "due": df["due"],
        "done_on_time": df["done_on_time"], "done_late": df["done_late"], "open": df["open"],
        "no_report": df["no_report"], "p_met": [_pct(v, lang) for v in df["p_met"]],
        "p_met_year_ago": df["p_met_year_ago"], "change": [_pp(v, lang) for v in df["change"]],
    })
    return View(key, out)


# the reasons of a change (sim.analysis.snapshot_events.why_text and fact_text) are English data; the zh page says them in
# Chinese, phrase by phrase (ids, dates and numbers unchanged)
_WHY_ZH = (
    (re.compile(r"P50 finish (\S+) -> (\S+) \(([+-]\d+) d\)"), r"P50完成日 \1 → \2（\3天）"),
    (re.compile(r"P50 at (\S+): (\S+) -> (\S+) \(([^)]*)\)"), r"\1的P50 \2 → \3（\4）"),
    (re.compile(r", nothing reported"), "，无任何报告"),
    (re.compile(r"no value reported for ([^:;]+): simulated from the plan date"), r"\1无报告值：自计划日期起模拟"),
    (re.compile(r"\bfinished (\d{4}-\d\d-\d\d)"), r"\1完成"),
    (re.compile(r"\bstarted (\d{4}-\d\d-\d\d)"), r"\1开工"),
    (re.compile(r"(\d+)% done on (\d{4}-\d\d-\d\d)"), r"\2完成\1%"),
    (re.compile(r"not finished on (\d{4}-\d\d-\d\d)"), r"\1未完成"),
    (re.compile(r"observed (\S+) on (\d{4}-\d\d-\d\d)"), r"\2实测\1"),
    (re.compile(r"at least (\S+) on (\d{4}-\d\d-\d\d)"), r"\2至少\1"),
    (re.compile(r"began (\d{4}-\d\d-\d\d), (\S+) days"), r"\1发生，持续\2天"),
    (re.compile(r"had not happened by (\d{4}-\d\d-\d\d)"), r"截至\1未发生"),
    (re.compile(r"; \+(\d+) more\b"), r"；另有\1条"),
    (re.compile(r"（\+inf%）"), "（原为0）"),
    (re.compile(r"; "), "；"),
)


def why_in(text, lang: Lang) -> str:
    """A change's reasons in ``lang`` (they are stored in English)."""
    text = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    if Lang(lang) is not Lang.ZH:
        return text
    for pattern, repl in _WHY_ZH:
        text = pattern.sub(repl, text)
    return text


def _changes_view(key: str, df: pd.DataFrame, lang: Lang, why: dict) -> View:
    out = pd.DataFrame({
        "year": df["year"], "id": df["id"], "name": [name_of(r, lang) for r in df.itertuples()],
        "deadline": df["deadline"], "status": [tx(s, lang) for s in df["status"]],
        "p_met_year_ago": df["p_met_year_ago"], "p_met": [_pct(v, lang) for v in df["p_met"]],
        "change": [_pp(v, lang) for v in df["change"]], "change_kind": [tx(k, lang) for k in df["change_kind"]],
        "why": [why_in(why.get((r.year, r.id), "") or r.new_facts, lang) for r in df.itertuples()],
    })
    return View(key, out, frozenset({"deadline"}))


def _section_view(df: pd.DataFrame, plan, lang: Lang) -> View:
    out = df.assign(group=[planmeta.section_label(plan, g, lang) for g in df["group"]])
    return View("by_section", out)


def _wide_view(table: pd.DataFrame, changes: pd.DataFrame, plan, lang: Lang) -> View:
    """Headline targets x snapshots of P(met), "no data" where a past-deadline target has no report."""
    section = planmeta.headline_section(plan)
    sel = table[table["section"] == section]
    if sel.empty:
        sel = table
    nodata = {(r.year, r.id) for r in changes.itertuples() if r.status == "no_data"}
    snaps = list(dict.fromkeys(sel["snapshot"].astype(str)))
    col = {s: ("snapshot_baseline" if s == "baseline" else s) for s in snaps}  # "baseline" is a KPI word
    rows = []
    for tid, g in sel.groupby("id", sort=False):
        row = {"id": tid, "name": name_of(g.iloc[0], lang)}
        for r in g.itertuples():
            s = str(r.snapshot)
            row[col[s]] = Marked(tx("no_data", lang)) if (s, tid) in nodata else float(r.p_met)
        rows.append(row)
    df = pd.DataFrame(rows, columns=["id", "name", *col.values()])
    return View("headline_wide", df, pct=frozenset(PCT) | frozenset(col.values()))  # P(met) in %, not 0.128


# --- the page -----------------------------------------------------------------------------------

def is_example(actuals) -> bool:
    """Whether the actuals are (all) invented examples: every source starts with EXAMPLE."""
    return bool(actuals.facts) and all(f.source.strip().upper().startswith(EXAMPLE_MARK) for f in actuals.facts)


def bottom_line(campaigns: pd.DataFrame, changes: pd.DataFrame, sections: pd.DataFrame, lang: Lang) -> list[str]:
    """One sentence per appraisal year: items due and done, targets due, real and unreported moves."""
    lines = []
    for year, g in campaigns.groupby("year", sort=False):
        s = sections[sections["year"] == year]
        c = changes[changes["year"] == year]["change_kind"].value_counts()
        lines.append(tx("year_line", lang, year=year, due=int(g["due"].sum()), on_time=int(g["done_on_time"].sum()),
                        late=int(g["done_late"].sum()), open=int(g["open"].sum()), none=int(g["no_report"].sum()),
                        tmet=int(s["met"].sum()), tnot=int(s["not_met"].sum()), tnone=int(s["no_data"].sum()), tfc=int(s["forecast"].sum()),
                        real=int(c.get("reported", 0)), mixed=int(c.get("mixed", 0)),
                        unrep=int(c.get("unreported", 0))))
    return lines


def appraisal_page(*, lang: Lang, plan, actuals, snaps: Sequence, tables: dict, charts: list[Chart],
                   replications: int) -> str:
    """The whole appraisal page in ``lang`` as one self-contained HTML string."""
    campaigns, units, changes, sections = (tables[k] for k in ("campaigns", "units", "changes", "sections"))
    why = tables.get("why", {})
    unit_names = {u.id: (u.name_zh or u.name_en) if lang is Lang.ZH else (u.name_en or u.name_zh)
                  for u in plan.units}
    campaign_names = {c: planmeta.campaign_label(plan, c, lang) for c in set(campaigns["group"])}
    title = tx("title", lang, title=planmeta.plan_title(plan, lang))
    label = {"baseline": tx("plan_date", lang)}
    sub = tx("subtitle", lang, snaps=", ".join(f"{label.get(s.label, s.label)} = {s.as_of}" for s in snaps),
             n=replications,
             file=Path(actuals.file).name)
    sec = ['<section id="summary">', f"<h2>{esc(tx('bottom_line', lang))}</h2>"]
    if is_example(actuals):
        sec.append(f'<p class="note"><strong>{esc(tx("example", lang))}</strong></p>')
    sec += ["<ul>", *[f"<li>{esc(line)}</li>" for line in bottom_line(campaigns, changes, sections, lang)], "</ul>",
            "</section>"]
    sec.append(f'<section id="charts"><h2>{esc(tx("charts", lang))}</h2>{"".join(map(figure_html, charts))}'
               "</section>")
    real = changes[changes["change_kind"] == "reported"].sort_values("change", key=lambda s: -s.abs())
    mixed = changes[changes["change_kind"] == "mixed"].sort_values("change", key=lambda s: -s.abs())
    unrep = changes[changes["change_kind"] == "unreported"].sort_values("change", key=lambda s: -s.abs())
    blocks = [
        ("by_campaign", _due_view("by_campaign", campaigns, campaign_names, lang)),
        ("by_unit", _due_view("by_unit", units, unit_names, lang)),
        ("by_section", _section_view(sections, plan, lang)),
        ("headline_wide", _wide_view(tables["targets"], changes, plan, lang)),
        ("real_changes", _changes_view("real_changes", real, lang, why)),
        ("mixed_changes", _changes_view("mixed_changes", mixed, lang, why)),
    ]
    parts = []
    for key, view in blocks:
        inner = (table_html(view, lang, limit=100_000) if len(view.frame)
                 else f'<p class="note">{esc(tx("none_such", lang))}</p>')  # an empty list is "none", not "no data"
        parts.append(f'<h3 id="t-{key}">{esc(tx(key, lang))}</h3>{inner}')
    parts.append(f"<details><summary>{esc(tx('unreported_changes', lang, n=len(unrep)))}</summary>"
                 f'<p class="note">{esc(tx("unreported_text", lang))}</p>'
                 f"{table_html(_changes_view('unreported', unrep, lang, why), lang, limit=100_000)}</details>")
    parts.append(f"<details><summary>{esc(tx('all_targets', lang))} ({len(changes)})</summary>"
                 f"{table_html(_changes_view('all', changes, lang, why), lang, limit=100_000)}</details>")
    sec.append(f'<section id="tables">{"".join(parts)}</section>')
    notes = sorted({n for s in snaps for n in s.notes})
    cav = [f"<h2>{esc(tx('caveats', lang))}</h2>", f"<p>{esc(tx('caveat_items', lang))}</p>",
           f"<p>{esc(tx('caveat_changes', lang))}</p>"]
    if notes:
        cav.append(f"<details><summary>{esc(tx('notes', lang))} ({len(notes)})</summary><ul>"
                   + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul></details>")
    sec.append(f'<section id="method">{"".join(cav)}</section>')
    nav = [("summary", tx("bottom_line", lang)), ("charts", tx("charts", lang)),
           ("t-by_campaign", tx("by_campaign", lang)), ("t-by_unit", tx("by_unit", lang)),
           ("t-real_changes", tx("real_changes", lang)), ("method", tx("caveats", lang))]
    return page(title, "".join(sec), lang, subtitle=sub, nav=nav)


def summary_markdown(campaigns: pd.DataFrame, changes: pd.DataFrame, sections: pd.DataFrame, *, actuals,
                     snaps: Sequence) -> str:
    """A plain-text (Markdown) summary in English for the console and for diffing; the pages are the HTML."""
    lines = ["# Appraisal snapshots", "",
             f"Actuals: `{actuals.file}` (sha256 `{actuals.sha256[:12]}`), {len(actuals.facts)} facts. "
             "Snapshots: " + ", ".join(f"{s.label} = {s.as_of}" for s in snaps) + ".", ""]
    if is_example(actuals):
        lines += [tx("example", Lang.EN), ""]
    lines += [f"* {line}" for line in bottom_line(campaigns, changes, sections, Lang.EN)]
    real = changes[changes["change_kind"] == "reported"]
    lines += ["", "## Changes on new reports", ""]
    lines += [f"* {r.year} {r.id}: {r.p_met_year_ago:.1%} -> {r.p_met:.1%} (new facts: {r.new_facts})"
              for r in real.itertuples()] or ["* none"]
    mixed = changes[changes["change_kind"] == "mixed"]
    lines += ["", f"{len(mixed)} targets moved with new reports on only some of their items; "
              f"{int((changes['change_kind'] == 'unreported').sum())} moved with nothing reported "
              "(appraisal_changes.csv)."]
    return "\n".join(lines) + "\n"
