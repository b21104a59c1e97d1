"""Chart and summaries of the appraisal snapshots (年度比拼): ``appraisal.png``, ``.md`` and ``.html``.

The tables come from :mod:`sim.studies.appraise` (``target_table``); the snapshots
passed here are :class:`sim.studies.appraise.Snapshot` (``label``, ``as_of``, ``notes``).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.appraisal import snapshot_wide
from sim.report.style import new_figure, styled
from sim.analysis.summary import Z95

MAX_LISTED = 25  # changes of non-headline targets listed in the summary (all are in the CSV)
DPI = 120


def plot_appraisal(table: pd.DataFrame, *, section: str = "headline", footer: str = "") -> Figure:
    """P(met) of each target of ``section`` across the snapshots, one line per target."""
    sel = table[table["section"] == section]
    if sel.empty:
        sel = table
    with styled("en"):
        fig = new_figure((8, 4.8), layout=None)
        ax = fig.add_subplot()
        for tid, g in sel.groupby("id", sort=False):
            x = pd.to_datetime(g["as_of"])
            ax.errorbar(x, g["p_met"], yerr=Z95 * g["se"], marker="o", capsize=3,
                        label=f"{tid} {g['name_en'].iloc[0]}")
        ax.set(ylim=(-0.03, 1.03), ylabel="P(met by deadline)", xlabel="snapshot (as-of date)",
               title=f"Appraisal snapshots: {section} targets")
        ax.axhline(0.8, color="grey", lw=0.8, ls=":")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
        if footer:
            fig.text(0.01, 0.005, footer, fontsize=7, color="dimgray")
        fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def summary_markdown(table: pd.DataFrame, snaps: Sequence, *, actuals, chart: str) -> str:
    """A short Markdown summary: headline table, changes and their reasons, caveats."""
    lines = ["# Appraisal snapshots", "",
             f"Actuals: `{actuals.file}` (sha256 `{actuals.sha256[:12]}`), {len(actuals.facts)} facts. "
             "Each snapshot uses only the facts reported on or before its date. Snapshots: "
             + ", ".join(f"{s.label} = {s.as_of}" for s in snaps) + ".", "",
             f"![P(met) by snapshot]({chart})", "", "## Headline targets: P(met)", ""]
    w = snapshot_wide(table)
    if w.empty:
        w = snapshot_wide(table, None)
    lines += [_md_table(w.reset_index(), pct=list(w.columns)), "", "## Changes and why", ""]
    moved = table[table["change"].abs() >= 0.01]
    moved = moved.assign(o=(moved["section"] != "headline"), m=-moved["change"].abs()).sort_values(["o", "m"])
    assumed = moved[moved["kpi_unobserved"].fillna("") != ""]
    changed = moved[moved["kpi_unobserved"].fillna("") == ""]
    if changed.empty:
        lines.append("No target without unreported KPIs moved by one point or more.")
    shown = pd.concat([changed[~changed["o"]], changed[changed["o"]].head(MAX_LISTED)])
    for r in shown.itertuples():
        prev = snaps[[s.label for s in snaps].index(r.snapshot) - 1].label
        lines.append(f"* **{r.id}** ({r.name_en}) {prev} -> {r.snapshot}: {r.p_met - r.change:.1%} -> "
                     f"{r.p_met:.1%} ({r.change:+.1%}). " + (f"Why: {r.why}." if r.why else "No fact or "
                                                              "forecast move among its items and KPIs."))
    if len(changed) > len(shown):
        lines.append(f"* ... {len(changed) - len(shown)} more changes in appraisal_targets.csv")
    if len(assumed):
        lines += ["", f"{len(assumed)} further changes are on targets whose KPIs have no value reported by the "
                  "snapshot: those KPIs start from their expected value (a central estimate, without the "
                  "uncertainty of the period since the plan date), so these moves are not information; add kpi "
                  "facts to appraise them: " + ", ".join(sorted(set(assumed["id"]))) + "."]
    lines += ["", "## Caveats", "",
              "* An item without a finish fact is taken as unfinished on each snapshot date, and one without a "
              "start or progress fact as not started (unless it was in progress on the plan date): the "
              "actuals file is read as complete. A slip marked 'nothing reported' comes from this rule.",
              "* From the first year end on, items in progress on the plan date draw their total duration "
              "conditioned on the time already spent, and KPIs without an observation start from their "
              "expected value; part of the change from the baseline snapshot comes from these rules "
              "(actuals/README.md).", ""]
    notes = sorted({n for s in snaps for n in s.notes})
    if notes:
        lines += ["## Notes from moving the plan", "", *[f"* {n}" for n in notes], ""]
    return "\n".join(lines)


def _md_table(df: pd.DataFrame, pct: list | None = None) -> str:
    pct = set(pct or [])
    cols = list(df.columns)
    out = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for r in df.itertuples(index=False):
        cells = [f"{v:.1%}" if c in pct and pd.notna(v) else ("" if pd.isna(v) else str(v)) for c, v in zip(cols, r)]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def summary_html(markdown: str, table: pd.DataFrame, png: Path) -> str:
    """A self-contained HTML page: the chart inline, the headline table and the full target table."""
    img = base64.b64encode(png.read_bytes()).decode("ascii")
    head = markdown.split("## Changes and why")[1] if "## Changes and why" in markdown else ""
    items = "".join(f"<li>{html.escape(line[2:])}</li>" for line in head.splitlines() if line.startswith("* "))
    full = table.assign(p_met=table["p_met"].map("{:.1%}".format),
                        change=table["change"].map(lambda v: "" if pd.isna(v) else f"{v:+.1%}"))
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Appraisal snapshots</title>"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;"
            "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>"
            "<h1>Appraisal snapshots</h1>"
            f"<img alt='P(met) by snapshot' src='data:image/png;base64,{img}'>"
            f"<h2>Headline targets</h2>{snapshot_wide(table).map(lambda v: f'{v:.1%}').to_html()}"
            f"<h2>Changes and why</h2><ul>{items}</ul>"
            f"<h2>All targets</h2>{full.drop(columns=['name_zh']).to_html(index=False)}</body></html>")


def write_summaries(out: Path, table: pd.DataFrame, snaps: Sequence, *, actuals, footer: str) -> list[Path]:
    """Write ``appraisal.png``, ``appraisal.md`` and ``appraisal.html`` into ``out``; returns their paths."""
    out = Path(out)
    png, md_path, html_path = out / "appraisal.png", out / "appraisal.md", out / "appraisal.html"
    plot_appraisal(table, footer=footer).savefig(png, dpi=DPI)
    md = summary_markdown(table, snaps, actuals=actuals, chart=png.name)
    md_path.write_text(md, encoding="utf-8")
    html_path.write_text(summary_html(md, table, png), encoding="utf-8")
    return [png, md_path, html_path]
