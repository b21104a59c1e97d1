"""Drawing a scenario comparison: the paired-difference chart, the HTML page and the Excel workbook.

The comparison table comes from :func:`sim.studies.batch.compare`; :func:`sim.studies.batch.write_comparison`
writes these into the batch directory.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.ticker import PercentFormatter

from sim.report.fonts import Lang
from sim.report.html import Chart, esc, figure_html, page
from sim.report.style import PALETTE, new_figure, styled
from sim.report.tables import View


def chart_targets(comparison: pd.DataFrame, *, max_targets: int = 60) -> list[str]:
    """The targets worth charting: those some scenario changes significantly, largest change first."""
    moved = comparison[comparison["excludes_zero"].fillna(False).astype(bool)]
    if moved.empty:
        return list(dict.fromkeys(comparison["target"]))[:max_targets]
    moved = moved.assign(a=moved["difference"].abs()).sort_values("a", ascending=False, kind="stable")
    groups = [g["target"].tolist() for _, g in moved.groupby("scenario", sort=False)]
    share = max(1, max_targets // len(groups))  # every scenario gets its own largest changes in
    chosen = list(dict.fromkeys(t for g in groups for t in g[:share]))
    rest = [t for t in dict.fromkeys(moved["target"]) if t not in chosen]
    order = {t: k for k, t in enumerate(dict.fromkeys(comparison["target"]))}
    return sorted((chosen + rest)[:max_targets], key=order.__getitem__)


def difference_chart(comparison: pd.DataFrame, *, max_targets: int = 60) -> Figure:
    """Paired differences in P(met) against the reference with 95 % intervals, one panel per scenario.

    Shows the targets some scenario changes significantly (at most ``max_targets``,
    largest change first). Returns the matplotlib Figure (Agg; never shown).
    """
    others = [s for s in dict.fromkeys(comparison["scenario"]) if s != comparison["reference"].iloc[0]]
    targets = chart_targets(comparison, max_targets=max_targets)
    total = comparison["target"].nunique()
    with styled("en"):
        n = max(len(others), 1)
        fig = new_figure((max(6.5, 2.0 + 3.2 * n), 1.8 + 0.22 * len(targets)))
        axes = fig.subplots(1, n, sharex=True, sharey=True, squeeze=False)[0]  # one x-scale for every panel
        y = np.arange(len(targets))[::-1]
        shown = comparison[comparison["target"].isin(targets) & (comparison["scenario"] != comparison["reference"])]
        reach = float(np.nanmax(np.abs(shown[["ci95_low", "ci95_high"]].to_numpy(dtype=float)))) if len(shown) else 0
        reach = reach if np.isfinite(reach) and reach > 0 else 0.05
        for ax, name in zip(axes, others or [None]):
            ax.axvline(0, color="#555", lw=0.8)
            if name is None:
                ax.set_title("no scenario to compare")
                continue
            rows = comparison[comparison["scenario"] == name].set_index("target").reindex(targets)
            diff = rows["difference"].to_numpy(dtype=float)
            err = np.vstack([diff - rows["ci95_low"], rows["ci95_high"] - diff]).astype(float)
            sig = rows["excludes_zero"].fillna(False).to_numpy(dtype=bool)
            for mask, colour in ((~sig, "#9aa5ad"), (sig & (diff < 0), "#d1495b"), (sig & (diff > 0), "#1f5f8b")):
                if mask.any():
                    ax.errorbar(diff[mask], y[mask], xerr=np.nan_to_num(err[:, mask]), fmt="o", ms=3.5,
                                color=colour, ecolor=colour, elinewidth=1, capsize=1.5)
            ax.set_title(name, fontsize=10)
            ax.set_xlabel("Δ P(met) vs " + str(comparison["reference"].iloc[0]))
            ax.grid(axis="y", visible=False)
        axes[0].set_xlim(-1.08 * reach, 1.08 * reach)
        for ax in axes:
            ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        axes[0].set_yticks(y, targets, fontsize=7)
        fig.suptitle(f"Paired difference in P(target met), 95 % interval (common random numbers):\n{len(targets)} "
                     f"of {total} targets: each scenario's largest significant changes", fontsize=10)
    return fig


def s_curve_overlay_chart(curves: pd.DataFrame, *, names: dict[str, str] | None = None, cols: int = 2) -> Figure:
    """Small multiples, one per key item: its S-curve in every scenario on one shared date axis.

    ``curves`` is :func:`sim.analysis.appraisal.s_curves_across`; ``names`` labels the items.
    """
    ids = list(dict.fromkeys(curves["id"]))
    scen = list(dict.fromkeys(curves["scenario"]))
    rows = max(1, -(-len(ids) // cols))
    with styled("zh"):
        fig = new_figure((4.6 * min(cols, max(len(ids), 1)), 0.6 + 2.8 * rows))
        axes = fig.subplots(rows, min(cols, max(len(ids), 1)), sharex=True, sharey=True, squeeze=False).ravel()
        for ax, iid in zip(axes, ids):
            g = curves[curves["id"] == iid]
            for k, sname in enumerate(scen):
                c = g[g["scenario"] == sname]
                if len(c):
                    ax.plot(pd.to_datetime(c["date"]), c["p"], color=PALETTE[k % len(PALETTE)], lw=1.5,
                            label=sname, ls="-" if k == 0 else ("--" if k % 2 else "-."))
            label = f"{iid} {(names or {}).get(iid, '')}".strip()
            ax.set_title(label if len(label) <= 34 else label[:33] + "…", fontsize=9)
            ax.axhline(0.8, color="#999", lw=0.6, ls="--")
            ax.set_ylim(0, 1.02)
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
            loc = AutoDateLocator()
            ax.xaxis.set_major_locator(loc)
            ax.xaxis.set_major_formatter(ConciseDateFormatter(loc))
        for ax in axes[len(ids):]:
            ax.set_visible(False)
        if ids:
            axes[0].legend(fontsize=7, loc="upper left")
        fig.suptitle("S-curves of key items across scenarios: P(finished by date) · 关键事项各情景完成概率", fontsize=10)
    return fig


# workbook column kinds (the report workbook's formats: dates as dates, probabilities as percentages)
_PCT = ("p_met", "se", "p_reference", "difference", "difference_se", "ci95_low", "ci95_high")


def _pct_view(key: str, df: pd.DataFrame, dates=frozenset({"deadline"}), pct=_PCT) -> View:
    return View(key, df, frozenset(dates), frozenset(c for c in pct if c in df.columns))


def comparison_workbook(path: Path, comparison: pd.DataFrame, *, p_met: pd.DataFrame, difference: pd.DataFrame,
                        scenarios: pd.DataFrame, headlines: pd.DataFrame | None = None) -> None:
    """Write the comparison workbook to ``path`` with the report workbook's writer (formats, filters, widths).

    Sheets: ``headline`` (per-scenario figures and paired differences), ``comparison``
    (the long table), ``p_met`` and ``difference`` (targets x scenarios) and ``scenarios``.
    """
    from sim.report.excel import write_workbook

    sheets = {}
    if headlines is not None and not headlines.empty:
        h = headlines.copy()
        sheets["headline"] = View("headline", h, frozenset(), frozenset())
    sheets["comparison"] = _pct_view("comparison", comparison)
    sheets["p_met"] = _pct_view("p_met", p_met.reset_index(), pct=tuple(p_met.columns))
    sheets["difference"] = _pct_view("difference", difference.reset_index(), pct=tuple(difference.columns))
    sheets["scenarios"] = View("scenarios", scenarios)
    write_workbook(path, sheets, lang=Lang.EN)


def _headline_table(headlines: pd.DataFrame, reference: str) -> str:
    """Per scenario: expected targets met per end date and P(all headline met), each with Δ ± s.e."""
    if headlines is None or headlines.empty:
        return ""
    cols = [(m, e) for m, e in dict.fromkeys(zip(headlines["metric"], headlines["end_date"]))]
    first = headlines.drop_duplicates(["metric", "end_date"]).set_index(["metric", "end_date"])
    head = "".join(
        f"<th>{esc(('expected met · 预计达成 ' + str(first.loc[(m, e), 'label_en']) + ' / ' + str(first.loc[(m, e), 'label_zh'])) if m == 'expected_met' else 'P(all headline met) · 全部主要目标达成概率')}"
        f" <small>({int(first.loc[(m, e), 'targets'])})</small></th>" for m, e in cols)
    body = []
    for name, g in headlines.groupby("scenario", sort=False):
        g = g.set_index(["metric", "end_date"])
        cells = [f"<td>{esc(name)}{' (reference)' if name == reference else ''}</td>"]
        for m, e in cols:
            if (m, e) not in g.index:
                cells.append("<td></td>")
                continue
            r = g.loc[(m, e)]
            pct = m != "expected_met"
            val = f"{r['value']:.1%}" if pct else f"{r['value']:.1f}"
            se = f"{r['se']:.1%}" if pct else f"{r['se']:.2f}"
            text = f"{val} ± {se}"
            cls = ""
            if name != reference and not math.isnan(r["difference"]):
                d = (f"{100 * r['difference']:+.1f} pp ± {100 * r['difference_se']:.1f}" if pct
                     else f"{r['difference']:+.2f} ± {r['difference_se']:.2f}")
                text += f"<br><small>Δ {d}</small>"
                cls = (" class='down'" if r["difference"] < 0 else " class='up'") if r["excludes_zero"] else ""
            cells.append(f'<td{cls} data-v="{float(r["value"])!r}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table class="sortable static"><thead><tr><th>scenario · 情景</th>{head}</tr>'
            f'</thead><tbody>{"".join(body)}</tbody></table></div>')


def comparison_html(comparison: pd.DataFrame, outcomes: Sequence, meta: dict, *, chart: str = "",
                    headlines: pd.DataFrame | None = None, charts: Sequence[Chart] = ()) -> str:
    """The comparison page, in the report's page template and embedded font (every text escaped).

    ``outcomes`` are :class:`sim.studies.batch.Outcome` (name, status, file, error);
    ``headlines`` is :func:`sim.analysis.headline.scenario_headlines`; ``charts`` are
    embedded (``chart`` names a chart file beside the page, for older callers).
    """
    e = html.escape
    names = list(dict.fromkeys(comparison["scenario"]))
    ref = meta.get("reference") or ""
    head = [f"<th>{e(h)}</th>" for h in ("target", "name", "deadline")] + \
           [f"<th>{e(n)}{' (reference)' if n == ref else ''}</th>" for n in names]
    body = []
    for tid, rows in comparison.groupby("target", sort=False):
        first = rows.iloc[0]
        cells = [f"<td>{e(str(tid))}</td><td class='long'>{e(str(first['name_en']))}<br><small>{e(str(first['name_zh']))}"
                 f"</small></td><td class='date'>{e(str(first['deadline']))}</td>"]
        by_name = rows.set_index("scenario")
        for n in names:
            if n not in by_name.index:
                cells.append("<td></td>")
                continue
            r = by_name.loc[n]
            text = f"{r['p_met']:.1%}"
            cls = ""
            if n != ref and not math.isnan(r["difference"]):
                text += f"<br><small>Δ {r['difference']:+.1%} [{r['ci95_low']:+.1%}, {r['ci95_high']:+.1%}]</small>"
                cls = (" class='down num'" if r["difference"] < 0 else " class='up num'") if r["excludes_zero"] \
                    else " class='num'"
            else:
                cls = " class='num'"
            cells.append(f"<td{cls} data-v=\"{float(r['p_met'])!r}\">{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    status = "".join(
        f"<tr><td>{e(o.name)}</td><td>{e(o.status)}</td><td>{e(o.file)}</td><td><pre>{e(o.error)}</pre></td></tr>"
        for o in outcomes)
    figs = "".join(figure_html(c) for c in charts)
    if chart and not charts:
        figs = f"<p><img src='{e(chart)}' alt='paired differences'></p>"
    intro = (f"<p>{e(str(meta.get('runs')))} replications per scenario, seed {e(str(meta.get('seed')))}, common random "
             f"numbers; params {e(str(meta.get('params')))} (sha256 {e(str(meta.get('params_hash', ''))[:12])}). "
             f"Each cell: P(target met); below it the paired difference against <b>{e(ref)}</b> with its 95 % "
             "interval (difference ± 1.96 sd(d)/√n over replications). Shaded: the interval excludes zero.</p>"
             "<p class='note'>每格为目标达成概率；其下为相对参照情景的配对差及95%区间（共同随机数）。底色：区间不含零。</p>")
    sections = [
        f'<section id="summary"><h2>Headline by scenario · 各情景主要结论</h2>{intro}{_headline_table(headlines, ref)}'
        "</section>",
        f'<section id="charts"><h2>Charts · 图表</h2>{figs}</section>',
        f'<section id="targets"><h2>Targets · 目标</h2><div class="scroll"><table class="sortable static"><thead>'
        f'<tr>{"".join(head)}</tr></thead><tbody>{"".join(body)}</tbody></table></div></section>',
        f'<section id="scenarios"><h2>Scenarios · 情景</h2><div class="scroll"><table><thead><tr><th>scenario</th>'
        f"<th>status</th><th>file</th><th>error</th></tr></thead><tbody>{status}</tbody></table></div></section>",
    ]
    css = ".down{background:#f8d7da}.up{background:#d4edda}pre{margin:0;white-space:pre-wrap}"
    nav = [("summary", "headline · 结论"), ("charts", "charts · 图表"), ("targets", "targets · 目标"),
           ("scenarios", "scenarios · 情景")]
    return page("Scenario comparison · 情景比较", "".join(sections), "en",
                subtitle=f"reference · 参照: {ref}", nav=nav, css=css)
