"""Drawing a scenario comparison: the paired-difference chart, the HTML page and the Excel workbook.

The comparison table comes from :func:`sim.studies.batch.compare`; :func:`sim.studies.batch.write_comparison`
writes these into the batch directory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.ticker import FuncFormatter, PercentFormatter

from sim.report.charts import signed
from sim.report.fonts import Lang
from sim.report.i18n import header, labelled, pick, se_text, tr
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


def _name(row, lang: Lang) -> str:
    """A target's name in ``lang`` from a comparison row (a blank cell read back from CSV is NaN: no name)."""
    def text(key: str) -> str:
        v = row.get(key, "")
        return "" if v is None or pd.isna(v) else str(v)

    return pick((text("name_zh"), text("name_en")), lang)


def _target_labels(comparison: pd.DataFrame, targets: list[str], lang: Lang) -> list[str]:
    """``"<id> <name>"`` of each target in ``lang`` for the y axis (the id whole, the name shortened)."""
    first = comparison.drop_duplicates("target").set_index("target")
    out = []
    for t in targets:
        row = first.loc[t] if t in first.index else {}
        out.append(labelled(t, _name(row, lang) if len(row) else "", 40))
    return out


def _pp_tick(v: float, _pos=None) -> str:
    """A tick of a difference axis in percentage points: "+2.5", "0", "-5" (never "-0", never rounded away)."""
    return "0" if abs(v) < 1e-12 else f"{100 * v:+.4g}"


def difference_chart(comparison: pd.DataFrame, *, lang: Lang | str = Lang.EN, max_targets: int = 60) -> Figure:
    """Paired differences in P(met) against the reference with 95 % intervals, one panel per scenario.

    Shows the targets some scenario changes significantly (at most ``max_targets``,
    largest change first), every word in ``lang``. Returns the matplotlib Figure (Agg; never shown).
    """
    lang = Lang(lang)
    ref = str(comparison["reference"].iloc[0]) if len(comparison) else ""
    others = [s for s in dict.fromkeys(comparison["scenario"]) if s != ref]
    targets = chart_targets(comparison, max_targets=max_targets) if len(comparison) else []
    total = comparison["target"].nunique()
    with styled(lang):
        n = max(len(others), 1)
        fig = new_figure((max(7.5, 3.6 + 3.0 * n), 2.1 + 0.22 * len(targets)))
        axes = fig.subplots(1, n, sharex=True, sharey=True, squeeze=False)[0]  # one x-scale for every panel
        y = np.arange(len(targets))[::-1]
        shown = comparison[comparison["target"].isin(targets) & (comparison["scenario"] != comparison["reference"])]
        reach = float(np.nanmax(np.abs(shown[["ci95_low", "ci95_high"]].to_numpy(dtype=float)))) if len(shown) else 0
        reach = reach if np.isfinite(reach) and reach > 0 else 0.05
        kinds = ((lambda sig, d: ~sig, "#9aa5ad", "cmp_unclear"), (lambda sig, d: sig & (d < 0), "#d1495b", "cmp_lower"),
                 (lambda sig, d: sig & (d > 0), "#1f5f8b", "cmp_higher"))
        drawn: dict[str, Any] = {}
        for ax, name in zip(axes, others or [None]):
            ax.axvline(0, color="#555", lw=0.8)
            if name is None:
                ax.set_title(tr("cmp_none", lang), fontsize=10)
                ax.set_yticks([])
                continue
            rows = comparison[comparison["scenario"] == name].set_index("target").reindex(targets)
            diff = rows["difference"].to_numpy(dtype=float)
            err = np.vstack([diff - rows["ci95_low"], rows["ci95_high"] - diff]).astype(float)
            sig = rows["excludes_zero"].fillna(False).to_numpy(dtype=bool)
            for rule, colour, key in kinds:
                mask = rule(sig, diff)
                if mask.any():
                    drawn[key] = ax.errorbar(diff[mask], y[mask], xerr=np.nan_to_num(err[:, mask]), fmt="o", ms=3.5,
                                             color=colour, ecolor=colour, elinewidth=1, capsize=1.5)
            ax.set_title(name, fontsize=10)
            ax.set_xlabel(tr("cmp_diff_x", lang, ref=ref), fontsize=8)
            ax.grid(axis="y", visible=False)
        axes[0].set_xlim(-1.08 * reach, 1.08 * reach)
        for ax in axes:
            ax.xaxis.set_major_formatter(FuncFormatter(_pp_tick))
        if targets:
            axes[0].set_yticks(y, _target_labels(comparison, targets, lang), fontsize=7)
            axes[0].set_ylim(-0.8, len(targets) - 0.2)
        if drawn:  # a legend below the panels, never over the points
            keys = [k for _, _, k in kinds if k in drawn]
            fig.legend([drawn[k] for k in keys], [tr(k, lang) for k in keys], loc="outside lower center",
                       ncols=len(keys), fontsize=8, frameon=False)
        fig.suptitle(tr("cmp_diff_title", lang, ref=ref, shown=len(targets), total=total), fontsize=10)
    return fig


def s_curve_overlay_chart(curves: pd.DataFrame, *, names: dict[str, tuple[str, str]] | None = None,
                          lang: Lang | str = Lang.EN, cols: int = 2) -> Figure:
    """Small multiples, one per key item: its S-curve in every scenario on one shared date axis.

    ``curves`` is :func:`sim.analysis.appraisal.s_curves_across`; ``names`` maps an item to its
    (Chinese, English) names. The legend sits below the panels, where it covers no curve.
    """
    lang = Lang(lang)
    ids = list(dict.fromkeys(curves["id"]))
    scen = list(dict.fromkeys(curves["scenario"]))
    rows = max(1, -(-len(ids) // cols))
    ncol = min(cols, max(len(ids), 1))
    with styled(lang):
        fig = new_figure((4.6 * ncol, 1.0 + 2.8 * rows))
        axes = fig.subplots(rows, ncol, sharex=True, sharey=True, squeeze=False).ravel()
        handles = {}
        for ax, iid in zip(axes, ids):
            g = curves[curves["id"] == iid]
            for k, sname in enumerate(scen):
                c = g[g["scenario"] == sname]
                if len(c):
                    (handles[sname],) = ax.plot(pd.to_datetime(c["date"]), c["p"], color=PALETTE[k % len(PALETTE)],
                                                lw=1.5, label=sname,
                                                ls="-" if k == 0 else ("--" if k % 2 else "-."))
            ax.set_title(labelled(iid, pick((names or {}).get(iid, ("", "")), lang), 34), fontsize=9)
            ax.axhline(0.8, color="#999", lw=0.6, ls="--")
            ax.set_ylim(0, 1.02)
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
            loc = AutoDateLocator()
            ax.xaxis.set_major_locator(loc)
            ax.xaxis.set_major_formatter(ConciseDateFormatter(loc))
        for ax in axes[len(ids):]:
            ax.set_visible(False)
        if handles:
            fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=min(len(handles), 4),
                       fontsize=8, frameon=False)
        fig.suptitle(tr("cmp_scurves", lang), fontsize=10)
    return fig


# workbook column kinds (the report workbook's formats: dates as dates, probabilities as percentages)
_PCT = ("p_met", "se", "p_reference", "difference", "difference_se", "ci95_low", "ci95_high")


def _pct_view(key: str, df: pd.DataFrame, dates=frozenset({"deadline"}), pct=_PCT) -> View:
    return View(key, df, frozenset(dates), frozenset(c for c in pct if c in df.columns))


def comparison_workbook(path: Path, comparison: pd.DataFrame, *, p_met: pd.DataFrame, difference: pd.DataFrame,
                        scenarios: pd.DataFrame, headlines: pd.DataFrame | None = None) -> None:
    """Write the comparison workbook to ``path`` with the report workbook's writer (formats, filters, widths).

    Sheets: ``headline`` (expected targets met per end date, per scenario, with paired differences),
    ``headline_p_all`` (P(all headline targets met) likewise), ``comparison``
    (the long table), ``p_met`` and ``difference`` (targets x scenarios) and ``scenarios``.
    """
    from sim.report.excel import write_workbook

    sheets = {}
    if headlines is not None and not headlines.empty:
        # counts and probabilities apart, so each column has one format: expected targets met to 2
        # decimals, P(all headline met) in %; end dates as dates
        h = headlines.drop(columns=["label_zh", "label_en"], errors="ignore")
        counts = h[h["metric"] == "expected_met"]
        probs = h[h["metric"] != "expected_met"].drop(columns=["end_date"])
        two = tuple((c, "0.00") for c in ("value", "se", "difference", "difference_se", "ci95_low", "ci95_high"))
        sheets["headline"] = View("headline", counts, frozenset({"end_date"}), frozenset(), numbers=two)
        if len(probs):
            sheets["headline_p_all"] = View("headline_p_all", probs, frozenset(),
                                            frozenset(c for c, _ in two))
    sheets["comparison"] = _pct_view("comparison", comparison)
    sheets["p_met"] = _pct_view("p_met", p_met.reset_index(), pct=tuple(p_met.columns))
    sheets["difference"] = _pct_view("difference", difference.reset_index(), pct=tuple(difference.columns))
    sheets["scenarios"] = View("scenarios", scenarios)
    write_workbook(path, sheets, lang=Lang.EN)


def _delta_text(d: float, se: float, lang: Lang, *, pct: bool) -> str:
    """``Δ +1.2 pp ± 0.3`` (or ``Δ -0.51 ± 0.02`` for counts); exactly no change says so."""
    if d == 0 and se == 0:
        return tr("cmp_same", lang)
    unit = (" pp" if lang is Lang.EN else "个百分点") if pct else ""
    value = signed(100 * d, 1) if pct else signed(d, 2)
    return f"Δ {value}{unit} ± {se_text(se, pct=pct)}"


def _headline_table(headlines: pd.DataFrame | None, reference: str, lang: Lang) -> str:
    """Per scenario: expected targets met per end date and P(all headline met), each with Δ ± s.e."""
    if headlines is None or headlines.empty:
        return ""
    cols = list(dict.fromkeys(zip(headlines["metric"], headlines["end_date"])))
    first = headlines.drop_duplicates(["metric", "end_date"]).set_index(["metric", "end_date"])

    def title(m, e) -> str:
        r = first.loc[(m, e)]
        n = int(r["targets"])
        if m == "expected_met":
            label = pick((str(r["label_zh"]), str(r["label_en"])), lang)
            return f'{esc(tr("cmp_expected_met", lang, label=label))} <small>({esc(tr("cmp_due", lang, n=n))})</small>'
        return esc(tr("cmp_p_all", lang, n=n))

    head = "".join(f"<th>{title(m, e)}</th>" for m, e in cols)
    body = []
    for name, g in headlines.groupby("scenario", sort=False):
        g = g.set_index(["metric", "end_date"])
        ref_mark = f" <small>({esc(tr('cmp_reference', lang))})</small>" if name == reference else ""
        cells = [f"<td>{esc(name)}{ref_mark}</td>"]
        for m, e in cols:
            if (m, e) not in g.index:
                cells.append("<td></td>")
                continue
            r = g.loc[(m, e)]
            pct = m != "expected_met"
            val = f"{100 * r['value']:.1f}%" if pct else f"{r['value']:.1f}"
            text = f"{val} ± {se_text(r['se'], pct=pct)}{'%' if pct else ''}"
            cls = " class='num'"
            if name != reference and not math.isnan(r["difference"]):
                text += f"<br><small>{esc(_delta_text(r['difference'], r['difference_se'], lang, pct=pct))}</small>"
                if r["excludes_zero"]:
                    cls = " class='down num'" if r["difference"] < 0 else " class='up num'"
            cells.append(f'<td{cls} data-v="{float(r["value"])!r}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll short"><table class="sortable static wrap"><thead><tr>'
            f'<th>{esc(tr("cmp_scenario", lang))}</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _pp_interval(r, lang: Lang) -> str:
    """The paired difference of one target with its 95 % interval, in percentage points; none says so."""
    if r["difference"] == 0 and r["difference_se"] == 0:
        return tr("cmp_same", lang)
    unit = " pp" if lang is Lang.EN else "个百分点"
    return (f"Δ {signed(100 * r['difference'])}{unit} [{signed(100 * r['ci95_low'])}, "
            f"{signed(100 * r['ci95_high'])}]")


def comparison_html(comparison: pd.DataFrame, outcomes: Sequence, meta: dict, *, lang: Lang | str = Lang.EN,
                    chart: str = "", headlines: pd.DataFrame | None = None, charts: Sequence[Chart] = ()) -> str:
    """The comparison page in ``lang``, in the report's page template and embedded font (every text escaped).

    ``outcomes`` are :class:`sim.studies.batch.Outcome` (name, status, file, error);
    ``headlines`` is :func:`sim.analysis.headline.scenario_headlines`; ``charts`` are
    embedded (``chart`` names a chart file beside the page, for older callers).
    """
    lang = Lang(lang)
    names = list(dict.fromkeys(comparison["scenario"]))
    ref = str(meta.get("reference") or "")
    ref_mark = f" <small>({esc(tr('cmp_reference', lang))})</small>"
    head = [f"<th>{esc(header(h, lang))}</th>" for h in ("id", "name", "deadline")] + \
           [f"<th>{esc(n)}{ref_mark if n == ref else ''}</th>" for n in names]
    body = []
    for tid, rows in comparison.groupby("target", sort=False):
        first = rows.iloc[0]
        name = _name(first, lang)
        cells = [f"<td>{esc(str(tid))}</td><td class='long'>{esc(name)}</td>"
                 f"<td class='date'>{esc(str(first['deadline']))}</td>"]
        by_name = rows.set_index("scenario")
        for n in names:
            if n not in by_name.index:
                cells.append("<td></td>")
                continue
            r = by_name.loc[n]
            text = f"{r['p_met']:.1%}"
            cls = " class='num'"
            if n != ref and not math.isnan(r["difference"]):
                text += f"<br><small>{esc(_pp_interval(r, lang))}</small>"
                if r["excludes_zero"]:
                    cls = " class='down num'" if r["difference"] < 0 else " class='up num'"
            cells.append(f"<td{cls} data-v=\"{float(r['p_met'])!r}\">{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    errors = any(str(o.error or "") for o in outcomes)
    status_head = "".join(f"<th>{esc(tr(k, lang))}</th>" for k in
                          ("cmp_scenario", "cmp_status", "cmp_file") + (("cmp_error",) if errors else ()))
    status = "".join(
        f"<tr><td>{esc(o.name)}</td><td>{esc(tr('status_' + str(o.status), lang))}</td><td>{esc(o.file)}</td>"
        + (f"<td><pre>{esc(o.error)}</pre></td>" if errors else "") + "</tr>"
        for o in outcomes)
    figs = "".join(figure_html(c) for c in charts)
    if chart and not charts:
        figs = f"<p><img src='{esc(chart)}' alt='{esc(tr('cmp_chart_diff', lang))}'></p>"
    intro = "<p>" + tr("cmp_intro", lang, runs=esc(str(meta.get("runs"))), seed=esc(str(meta.get("seed"))),
                       params=esc(str(meta.get("params"))), digest=esc(str(meta.get("params_hash", ""))[:12]),
                       ref=esc(ref)) + "</p>"
    sections = [
        f'<section id="summary"><h2>{esc(tr("cmp_headline", lang))}</h2>{intro}'
        f'{_headline_table(headlines, ref, lang)}</section>',
    ]
    if figs:
        sections.append(f'<section id="charts"><h2>{esc(tr("charts", lang))}</h2>{figs}</section>')
    sections += [
        f'<section id="targets"><h2>{esc(tr("cmp_targets", lang))}</h2><div class="scroll"><table class="sortable static">'
        f'<thead><tr>{"".join(head)}</tr></thead><tbody>{"".join(body)}</tbody></table></div></section>',
        f'<section id="scenarios"><h2>{esc(tr("cmp_scenarios", lang))}</h2><div class="scroll short"><table><thead>'
        f"<tr>{status_head}</tr></thead><tbody>{status}</tbody></table></div></section>",
    ]
    css = (".down{background:#f8d7da}.up{background:#d4edda}pre{margin:0;white-space:pre-wrap}"
           "table.wrap th{white-space:normal;min-width:7em}")
    nav = [(a, tr(k, lang)) for a, k in (("summary", "cmp_headline"), ("charts", "charts"), ("targets", "cmp_targets"),
                                          ("scenarios", "cmp_scenarios")) if a != "charts" or figs]
    return page(tr("cmp_title", lang), "".join(sections), lang,
                subtitle=tr("cmp_subtitle", lang, ref=ref, runs=meta.get("runs", "")), nav=nav, css=css)
