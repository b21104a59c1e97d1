"""The bottom line, shown first: the report's opening section and the lines `sim run` prints.

Both take a :class:`sim.analysis.headline.Headline` (language-independent) and
render it in Chinese or English; every figure is the headline's own, so the page,
the console and the tests read the same numbers.
"""

from __future__ import annotations

import html as _html
from pathlib import Path

import pandas as pd

from sim.analysis.headline import GREEN_FROM, RED_BELOW, Headline
from sim.report.i18n import se_text

# key: (English, 中文)
WORDS: dict[str, tuple[str, str]] = {
    "bottom_line": ("The answer", "结论"),
    "expected_met": ("{label}: {mean:.1f} of {n} targets due expected met (P10–P90: {p10:.0f}–{p90:.0f})",
                     "{label}：到期 {n} 项目标中预计达成 {mean:.1f} 项（P10—P90：{p10:.0f}—{p90:.0f}）"),
    "p_all": ("P(all {n} headline targets met): {p:.1%} ± {se}%", "全部 {n} 项主要目标均达成的概率：{p:.1%} ± {se}%"),
    "p_all_never": ("P(all {n} headline targets met): 0.0% (in none of {runs} replications)",
                    "全部 {n} 项主要目标均达成的概率：0.0%（{runs} 次重复中无一次）"),
    "p_all_always": ("P(all {n} headline targets met): 100.0% (in all {runs} replications)",
                     "全部 {n} 项主要目标均达成的概率：100.0%（{runs} 次重复中每次均达成）"),
    "head_bars": ("Headline targets by P(met)", "主要目标达成概率（由低到高）"),
    "bands": ("green: P(met) ≥ {g:.0%}; amber: {r:.0%}–{g:.0%}; red: below {r:.0%}; dashed lines at {r:.0%} and {g:.0%}",
              "绿：达成概率 ≥ {g:.0%}；黄：{r:.0%}—{g:.0%}；红：低于 {r:.0%}；虚线为 {r:.0%} 与 {g:.0%}"),
    "unreachable": ("Unreachable as planned", "按计划无法达成"),
    "unreachable_note": ("the plan's own dates rule these out; P(met) is how often shorter durations still make it",
                         "计划自身日期使其无法按期达成；达成概率为工期短于计划时仍达成的比例"),
    "drivers": ("What moves the programme", "影响全局的因素"),
    "drivers_note": ("change in the targets met at {end} without each driver (paired re-runs on the same random "
                     "numbers, ± s.e.); negative: without it fewer are met (for duration uncertainty: targets that "
                     "are late at the median durations are met only in the lucky replications)",
                     "去掉各因素后 {end} 达成目标数的变化（相同随机数下配对重算，± 标准误）；负值表示去掉后达成更少"
                     "（工期不确定性：按中位数工期会延误的目标只在工期较短的重复中达成）"),
    "changes": ("Changed since {ref}", "与 {ref} 相比的变化"),
    "no_changes": ("no difference larger than 1.96 s.e.", "无超过 1.96 倍标准误的变化"),
    "driver_DURATION_UNCERTAINTY": ("Duration uncertainty (multipliers at their median)", "工期不确定性（倍数取中位数）"),
    "driver_KPI_UNCERTAINTY": ("KPI rate uncertainty (rates at their mean)", "指标增速不确定性（取均值）"),
    "expected_met_metric": ("expected targets met by {end}", "{end} 预计达成目标数"),
    "p_all_metric": ("P(all headline targets met)", "全部主要目标达成概率"),
    "targets_word": ("targets", "项"),
    "open_files": ("open", "打开"),
    "pp": ("pp", "个百分点"),
}


def w(key: str, lang, **fmt) -> str:
    en, zh = WORDS[key]
    text = zh if str(lang) == "zh" else en
    return text.format(**fmt) if fmt else text


def esc(v) -> str:
    return _html.escape("" if v is None else str(v), quote=True)


BAND_COLOUR = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828"}


def _name(row, lang) -> str:
    zh, en = str(row.get("name_zh") or ""), str(row.get("name_en") or "")
    return (zh or en) if str(lang) == "zh" else (en or zh)


def _end_label(row, lang) -> str:
    return str(row["label_zh"] if str(lang) == "zh" else row["label_en"]) or str(row["end_date"])


def _signed_pp(x: float, lang) -> str:
    v = round(100 * x, 1)
    text = "0.0" if v == 0 else f"{v:+.1f}"  # never "-0.0" or "+0.0"
    return f"{text} {w('pp', lang)}" if str(lang) == "zh" else f"{text} pp"


def bars_html(targets: pd.DataFrame, lang) -> str:
    """Horizontal bars of P(met), lowest first, with value labels and red/amber/green bands.

    Plain HTML and CSS (no image): the label column shrinks with an ellipsis (the
    full name on hover), so the bars stay readable at 390 px; a 0 % bar still
    shows as a 2 px mark; dashed lines mark 50 % and 80 %.
    """
    rows = []
    for _, r in targets.iterrows():
        p = float(r["p_met"])
        name = _name(r, lang)
        label = f'{name} · {r["id"]}' if name and name != r["id"] else str(r["id"])  # the name first: it is read
        mark = " ⊘" if bool(r.get("unreachable", False)) else ""
        # the name shrinks with an ellipsis, the id never: targets sharing a name (one per year) stay apart
        shown = (f'<span class="nm">{esc(name)}</span><span class="tid">{esc(r["id"])}</span>'
                 if name and name != r["id"] else f'<span class="tid">{esc(r["id"])}</span>')
        rows.append(f'<div class="hbar"><span class="lab" title="{esc(label)}">{shown}</span>'
                    f'<span class="track"><span class="fill {esc(r["band"])}" style="width:{100 * p:.2f}%"></span></span>'
                    f'<span class="val">{p:.1%}{mark}</span></div>')
    return f'<div class="bars" role="list">{"".join(rows)}</div>'


BARS_CSS = """
div.bars{max-width:860px;margin:4px 0 6px}
div.hbar{display:grid;grid-template-columns:minmax(0,40%) minmax(0,1fr) 4.2em;gap:6px;align-items:center;font-size:.82rem;
line-height:1.5}
div.hbar .lab{display:flex;justify-content:flex-end;white-space:nowrap;overflow:hidden;min-width:0}
div.hbar .lab .nm{overflow:hidden;text-overflow:ellipsis;min-width:0}
div.hbar .lab .tid{flex:0 0 auto;color:#555;font-size:.85em;padding-left:.4em}
div.hbar .track{display:flex;align-items:center;height:1.1em;border-left:1px solid #888;
background:linear-gradient(90deg,transparent calc(50% - 1px),#bbb calc(50% - 1px),#bbb 50%,transparent 50%,
transparent calc(80% - 1px),#bbb calc(80% - 1px),#bbb 80%,transparent 80%)}
div.hbar .fill{display:block;height:100%;min-width:2px}
div.hbar .fill.green{background:#2e7d32}div.hbar .fill.amber{background:#f9a825}div.hbar .fill.red{background:#c62828}
div.hbar .val{white-space:nowrap;font-variant-numeric:tabular-nums;text-align:right}
@media (max-width:600px){div.hbar{grid-template-columns:minmax(0,1fr) 4.2em;row-gap:0}
div.hbar .lab{grid-column:1/-1;justify-content:flex-start}}
"""


def p_all_text(h: Headline, lang) -> str:
    """P(all headline met) ± s.e.; at 0 % or 100 % it says in how many replications, not a bare "± 0.0%"."""
    n, p, se = h.p_all["targets"], float(h.p_all["p"]), float(h.p_all["se"])
    if se == 0 and p in (0.0, 1.0) and h.replications:
        return w("p_all_never" if p == 0 else "p_all_always", lang, n=n, runs=h.replications)
    return w("p_all", lang, n=n, p=p, se=se_text(se))  # "< 0.1" below the shown precision


def headline_html(h: Headline, lang, *, driver_names: dict[str, str], reference: str = "",
                  target_names: dict[str, str] | None = None, end_label: str = "") -> str:
    """The report's first section: the answer, in ``lang``."""
    target_names = target_names or {}
    cards = []
    for _, r in h.end_dates.iterrows():
        cards.append(w("expected_met", lang, label=_end_label(r, lang), mean=r["expected_met"], n=int(r["targets"]),
                       p10=r["p10"], p90=r["p90"]))
    if h.p_all["targets"]:
        cards.append(p_all_text(h, lang))
    parts = [f'<section id="summary" class="answer"><h2>{esc(w("bottom_line", lang))}</h2>',
             "<ul class='kpis'>" + "".join(f"<li>{esc(c)}</li>" for c in cards) + "</ul>"]
    parts.append(f'<h3>{esc(w("head_bars", lang))}</h3>{bars_html(h.targets, lang)}'
                 f'<p class="note">{esc(w("bands", lang, g=GREEN_FROM, r=RED_BELOW))}</p>')
    if not h.unreachable.empty:
        reason = "reason_zh" if str(lang) == "zh" else "reason_en"
        items = "".join(f"<li><b>{esc(r['id'])}</b> {esc(target_names.get(r['id'], ''))} — {esc(r[reason])}"
                        f" (P = {float(r['p_met']):.1%})</li>" if pd.notna(r.get("p_met")) else
                        f"<li><b>{esc(r['id'])}</b> — {esc(r[reason])}</li>" for _, r in h.unreachable.iterrows())
        parts.append(f'<h3>⊘ {esc(w("unreachable", lang))}</h3><p class="note">{esc(w("unreachable_note", lang))}'
                     f"</p><ul>{items}</ul>")
    if not h.drivers.empty:
        top = h.drivers.head(8)
        # P(all headline met) moves with no driver (e.g. it is 0 % with and without each): a column of
        # "0.0 pp" says nothing, so it is left out
        with_all = bool((top["effect_p_all"].abs() * 100 >= 0.05).any())
        rows = "".join(f"<tr><td>{esc(driver_label(r['driver'], driver_names, lang))}</td>"
                       f'<td class="num" data-v="{float(r["effect_expected_met"])!r}">'
                       f"{float(r['effect_expected_met']):+.2f} ± {float(r['effect_expected_met_se']):.2f}</td>"
                       + (f'<td class="num" data-v="{float(r["effect_p_all"])!r}">'
                          f"{_signed_pp(float(r['effect_p_all']), lang)}</td>" if with_all else "")
                       + "</tr>" for _, r in top.iterrows())
        words = ["因素", "达成目标数", "全部主要目标"] if str(lang) == "zh" else ["driver", "targets met",
                                                                           "all headline met"]
        head = words if with_all else words[:2]
        parts.append(f'<h3>{esc(w("drivers", lang))}</h3><p class="note">{esc(w("drivers_note", lang, end=end_label))}'
                     f'</p><div class="scroll short"><table class="sortable"><thead><tr>'
                     + "".join(f"<th>{esc(x)}</th>" for x in head) + f"</tr></thead><tbody>{rows}</tbody></table></div>")
    if h.changes is not None:
        parts.append(f'<h3>{esc(w("changes", lang, ref=reference))}</h3>{changes_html(h, lang, target_names)}')
    parts.append("</section>")
    return "".join(parts)


def driver_label(driver: str, names: dict[str, str], lang) -> str:
    key = f"driver_{driver}"
    if key in WORDS:
        return w(key, lang)
    return f"{driver} {names[driver]}" if names.get(driver) and names[driver] != driver else str(driver)


def changes_html(h: Headline, lang, target_names: dict[str, str]) -> str:
    ch = h.changes
    assert ch is not None  # the caller shows this section only when there are changes
    prog = ch[ch["metric"] != "p_met"]
    sig = ch[(ch["metric"] == "p_met") & ch["significant"]].copy()
    sig = sig.assign(_a=-sig["difference"].abs()).sort_values(["_a", "target"]).head(20)
    lines = []
    for _, r in prog.iterrows():
        if r["metric"] == "expected_met":
            lines.append(f"{w('expected_met_metric', lang, end=r['target'])}: {r['before']:.1f} → {r['now']:.1f} "
                         f"({r['difference']:+.2f} ± {r['se']:.2f})")
        else:
            lines.append(f"{w('p_all_metric', lang)}: {r['before']:.1%} → {r['now']:.1%} "
                         f"({_signed_pp(r['difference'], lang)} ± {100 * r['se']:.1f})")
    for _, r in sig.iterrows():
        lines.append(f"{r['target']} {target_names.get(r['target'], '')}: {r['before']:.1%} → {r['now']:.1%} "
                     f"({_signed_pp(r['difference'], lang)} ± {100 * r['se']:.1f})")
    if sig.empty:
        lines.append(w("no_changes", lang))
    return "<ul>" + "".join(f"<li>{esc(x)}</li>" for x in lines) + "</ul>"


def summary_lines(h: Headline, lang="en", *, driver_names: dict[str, str] | None = None,
                  files: list[Path] | tuple = (), limit: int = 12) -> list[str]:
    """The same bottom line for the terminal, aligned columns, then the files to open."""
    driver_names = driver_names or {}
    lines = [w("bottom_line", lang) + ":"]
    for _, r in h.end_dates.iterrows():
        lines.append("  " + w("expected_met", lang, label=_end_label(r, lang), mean=r["expected_met"],
                                n=int(r["targets"]), p10=r["p10"], p90=r["p90"]))
    if h.p_all["targets"]:
        lines.append("  " + p_all_text(h, lang))
    t = h.targets
    if not t.empty:
        idw = max(len(str(x)) for x in t["id"])
        lines.append(f"  {'target':<{idw}}  {'P(met)':>7} {'± s.e.':>7}  {'band':<6} name")
        for _, r in t.head(limit).iterrows():
            flag = "  [unreachable as planned]" if r["unreachable"] else ""
            lines.append(f"  {r['id']:<{idw}}  {r['p_met']:7.1%} {r['se']:7.1%}  {r['band']:<6} {_name(r, lang)}{flag}")
        if len(t) > limit:
            lines.append(f"  ... {len(t) - limit} more in the report")
    for _, r in h.unreachable.iterrows():
        lines.append(f"  unreachable as planned: {r['id']}: {r['reason_zh' if str(lang) == 'zh' else 'reason_en']}")
    if not h.drivers.empty:
        labels = [driver_label(d, driver_names, lang) for d in h.drivers.head(5)["driver"]]
        lw = max(len(x) for x in labels)
        lines.append("  " + w("drivers", lang) + " (targets met gained without it):")
        for lab, (_, r) in zip(labels, h.drivers.head(5).iterrows()):
            lines.append(f"    {lab:<{lw}}  {r['effect_expected_met']:+6.2f} ± {r['effect_expected_met_se']:.2f}")
    if h.changes is not None:
        for _, r in h.changes[h.changes["metric"] != "p_met"].iterrows():
            lines.append(f"  change {r['metric']} {r['target']}: {r['before']:.3g} -> {r['now']:.3g} "
                         f"({r['difference']:+.3g} ± {r['se']:.2g})")
    if files:
        lines.append(w("open_files", lang) + ":")
        lines += [f"  {p}" for p in files]
    return lines


__all__ = ["BARS_CSS", "bars_html", "headline_html", "summary_lines"]
