"""Drawing a scenario comparison: the paired-difference chart, the HTML page and the Excel workbook.

The comparison table comes from :func:`sim.batch.compare`; :func:`sim.batch.write_comparison`
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

from sim.xlsxtext import as_text
from sim.report.style import new_figure, styled


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
    return sorted((chosen + rest)[:max_targets], key=order.get)


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
        fig = new_figure((2.0 + 3.2 * n, 1.4 + 0.22 * len(targets)))
        axes = fig.subplots(1, n, sharey=True, squeeze=False)[0]
        y = np.arange(len(targets))[::-1]
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
        axes[0].set_yticks(y, targets, fontsize=7)
        fig.suptitle(f"Paired difference in P(target met), 95 % interval (common random numbers): {len(targets)} "
                     f"of {total} targets: each scenario's largest significant changes", fontsize=10)
    return fig


def comparison_workbook(path: Path, comparison: pd.DataFrame, *, p_met: pd.DataFrame, difference: pd.DataFrame,
                        scenarios: pd.DataFrame) -> None:
    """Write the comparison workbook to ``path``.

    Sheets: ``comparison`` (the long table), ``p_met`` and ``difference``
    (targets x scenarios) and ``scenarios`` (the status of each).
    """
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        comparison.to_excel(xw, sheet_name="comparison", index=False)
        p_met.to_excel(xw, sheet_name="p_met")
        difference.to_excel(xw, sheet_name="difference")
        scenarios.to_excel(xw, sheet_name="scenarios", index=False)
        as_text(xw.book)  # user text (scenario, item names) never becomes a live formula


def comparison_html(comparison: pd.DataFrame, outcomes: Sequence, meta: dict, *, chart: str = "") -> str:
    """A simple, self-describing HTML page of the comparison (every text escaped).

    ``outcomes`` are :class:`sim.batch.Outcome` (name, status, file, error).
    """
    e = html.escape
    names = list(dict.fromkeys(comparison["scenario"]))
    ref = meta.get("reference") or ""
    head = [f"<th>{e(h)}</th>" for h in ("target", "name", "deadline")] + \
           [f"<th>{e(n)}{' (reference)' if n == ref else ''}</th>" for n in names]
    body = []
    for tid, rows in comparison.groupby("target", sort=False):
        first = rows.iloc[0]
        cells = [f"<td>{e(str(tid))}</td><td>{e(str(first['name_en']))}<br><small>{e(str(first['name_zh']))}"
                 f"</small></td><td>{e(str(first['deadline']))}</td>"]
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
                cls = (" class='down'" if r["difference"] < 0 else " class='up'") if r["excludes_zero"] else ""
            cells.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    status = "".join(
        f"<tr><td>{e(o.name)}</td><td>{e(o.status)}</td><td>{e(o.file)}</td><td><pre>{e(o.error)}</pre></td></tr>"
        for o in outcomes)
    img = f"<p><img src='{e(chart)}' alt='paired differences'></p>" if chart else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Scenario comparison</title>
<style>body{{font-family:sans-serif;margin:1.5em}}table{{border-collapse:collapse;font-size:0.85em}}
td,th{{border:1px solid #ccc;padding:3px 6px;vertical-align:top}}.down{{background:#f8d7da}}
.up{{background:#d4edda}}pre{{margin:0;white-space:pre-wrap}}</style></head><body>
<h1>Scenario comparison</h1>
<p>{e(str(meta.get('runs')))} replications per scenario, seed {e(str(meta.get('seed')))}, common random numbers;
params {e(str(meta.get('params')))} (sha256 {e(str(meta.get('params_hash', ''))[:12])}).
Each cell: P(target met); below it the paired difference against <b>{e(ref)}</b> with its 95 % interval
(difference ± 1.96 sd(d)/√n over replications). Shaded: the interval excludes zero.</p>
<h2>Scenarios</h2><table><tr><th>scenario</th><th>status</th><th>file</th><th>error</th></tr>{status}</table>
<h2>Targets</h2><table><tr>{''.join(head)}</tr>{''.join(body)}</table>
{img}</body></html>
"""
