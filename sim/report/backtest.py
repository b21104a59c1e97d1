"""Charts and text of a backtest: reliability diagram, PIT histograms, mean scores, the Markdown summary.

The tables come from :mod:`sim.analysis.backtest`; :mod:`sim.studies.backtest` writes
them, and these charts and text, into the backtest directory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.analysis.backtest import EPS
from sim.report.style import figure_of, new_figure, styled

DPI = 120


def plot_reliability(rel: pd.DataFrame, *, ax: Axes | None = None, footer: str = "") -> Figure:
    """Reliability diagram: observed frequency against forecast probability, one series per forecaster."""
    with styled("en"):
        fig = figure_of(ax) if ax is not None else new_figure((6, 5.5), layout=None)
        ax = ax or fig.add_subplot()
        ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect reliability")
        for name, g in rel.groupby("forecaster", sort=False):
            ax.plot(g["p_mean"], g["observed"], marker="o", label=f"{name} (n={int(g['n'].sum())})")
            for r in g.itertuples():
                ax.annotate(str(int(r.n)), (r.p_mean, r.observed), textcoords="offset points", xytext=(4, 4),
                            fontsize=7)
        ax.set(xlim=(-0.02, 1.02), ylim=(-0.05, 1.05), xlabel="forecast P(met by plan date)",
               ylabel="observed frequency", title="Reliability of P(met), all forecasts pooled")
        ax.legend(fontsize=8, loc="upper left")
        _footer(fig, footer)
    return fig


def plot_pit(hist: pd.DataFrame, *, footer: str = "") -> Figure:
    """PIT histograms, one panel per forecaster; censored outcomes stacked (hatched) over their interval."""
    names = list(dict.fromkeys(hist["forecaster"])) or ["model"]
    with styled("en"):
        fig = new_figure((4 * len(names), 3.6), layout=None)
        axes = fig.subplots(1, len(names), squeeze=False, sharey=True)
        for ax, name in zip(axes[0], names):
            g = hist[hist["forecaster"] == name]
            width = (g["bin_hi"] - g["bin_lo"]).to_numpy()
            ax.bar(g["bin_lo"], g["dated"], width=width, align="edge", label="finished", edgecolor="black")
            ax.bar(g["bin_lo"], g["censored"], width=width, align="edge", bottom=g["dated"], hatch="//",
                   fill=False, label="unfinished (censored)")
            total = g["dated"].sum() + g["censored"].sum()
            if len(g):
                ax.axhline(total / len(g), color="grey", ls="--", lw=1, label="uniform")
            ax.set(title=name, xlabel="PIT = F(actual finish)", xlim=(0, 1))
        axes[0][0].set_ylabel("outcomes")
        axes[0][-1].legend(fontsize=7)
        _footer(fig, footer)
    return fig


def plot_scores(summary: pd.DataFrame, *, title: str, footer: str = "") -> Figure:
    """Grouped bars of mean Brier, log and dated log scores per forecaster and kind (one forecast date)."""
    metrics = [("brier", "Brier"), ("log_score", "log score (met)"), ("log_date", "log score (date)")]
    names = list(dict.fromkeys(summary["forecaster"]))
    kinds = list(dict.fromkeys(summary["kind"]))
    width = 0.8 / max(len(kinds), 1)
    with styled("en"):
        fig = new_figure((12, 3.6), layout=None)
        axes = fig.subplots(1, len(metrics))
        for ax, (col, label) in zip(axes, metrics):
            for j, kind in enumerate(kinds):
                g = summary[summary["kind"] == kind].set_index("forecaster").reindex(names)
                vals = g[col].to_numpy(dtype=float)
                x = np.arange(len(names)) + (j - (len(kinds) - 1) / 2) * width
                ax.bar(x, np.nan_to_num(vals), width=width, label=f"{kind}s", color=f"C{j}")
                for xi, v in zip(x, vals):
                    ax.text(xi, np.nan_to_num(v), "n/a" if np.isnan(v) else f"{v:.3f}", ha="center", va="bottom",
                            fontsize=7)
            ax.set_xticks(np.arange(len(names)), names)
            ax.set(title=label + " (lower is better)")
        axes[0].legend(fontsize=8)
        fig.suptitle(title)
        _footer(fig, footer)
    return fig


def _footer(fig: Figure, text: str) -> None:
    if text:
        fig.text(0.01, 0.005, text, fontsize=7, color="dimgray", ha="left", va="bottom")
        fig.tight_layout(rect=(0, 0.05, 1, 1))
    else:
        fig.tight_layout()


def write_charts(out: Path, rel: pd.DataFrame, hist: pd.DataFrame, summary: pd.DataFrame, *,
                 footer: str) -> list[Path]:
    """Write ``reliability.png``, ``pit.png`` and ``scores-<forecast>.png`` (one per forecast) into ``out``."""
    charts = [("reliability.png", plot_reliability(rel, footer=footer)), ("pit.png", plot_pit(hist, footer=footer))]
    for (label, as_of), g in summary.groupby(["forecast", "as_of"], sort=False):
        charts.append((f"scores-{label}.png",
                       plot_scores(g, title=f"Backtest of {label}: forecast as of {as_of}", footer=footer)))
    written = []
    for name, fig in charts:
        fig.savefig(Path(out) / name, dpi=DPI)
        written.append(Path(out) / name)
    return written


# --- text ----------------------------------------------------------------------------------------

def backtest_markdown(summary: pd.DataFrame, table: pd.DataFrame, *, actuals, notes: list[str],
                      paired: pd.DataFrame | None = None) -> str:
    """A short Markdown report of a backtest."""
    lines = [f"# Backtest against {actuals.file}", "",
             f"Outcomes as of {actuals.latest} (actuals sha256 `{actuals.sha256[:12]}`). Lower is better for "
             f"Brier and log scores; log scores clip probabilities to [{EPS:g}, {1 - EPS:g}]. Forecasters: "
             "`model` (the run), `plan` (the plan is certain), `refclass` (reference-class multipliers, "
             "independent, no links, risks or shocks). Outcomes already known on a forecast's as-of date "
             "are not scored.", ""]
    if len(summary):
        lines += ["```", summary_text(summary), "```", ""]
    if paired is not None and len(paired):
        lines += ["Model minus baseline on the same outcomes (negative = the model is better), with the standard "
                  "error across outcomes; censored outcomes enter the dated log score and the CRPS (days) in "
                  "their censored form:", "", "```", paired_text(paired), "```", ""]
    if len(table):
        lines += ["## Outcomes", "", "| forecast | forecaster | id | plan date | finished | unfinished on | "
                  "P(met) | met | Brier | log | PIT |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in table.itertuples():
            tag = " (known)" if r.known_at_forecast else ""
            lines.append(f"| {r.forecast} | {r.forecaster} | {r.id}{tag} | {r.plan_date} | {_s(r.finished)} | "
                         f"{_s(r.censored)} | {r.p_met:.3f} | {_s(r.met)} | {_f(r.brier)} | {_f(r.log_score)} | "
                         f"{_pit(r)} |")
    lines += ["", *[f"* {n}" for n in notes]]
    return "\n".join(lines) + "\n"


def summary_text(summary: pd.DataFrame) -> str:
    """The mean scores as aligned text (also used by the CLI)."""
    head = (f"{'forecast':<24} {'as of':<10} {'forecaster':<10} {'kind':<6} {'n':>3} {'Brier':>7} {'log':>7} "
            f"{'n dated':>7} {'n cens':>6} {'log date':>8} {'CRPS d':>8} {'PIT mean':>8}")
    lines = [head]
    for r in summary.itertuples():
        lines.append(f"{str(r.forecast)[:24]:<24} {str(r.as_of):<10} {r.forecaster:<10} {r.kind:<6} {r.n_binary:>3} "
                     f"{_f(r.brier):>7} {_f(r.log_score):>7} {r.n_dated:>7} {r.n_censored:>6} "
                     f"{_f(r.log_date):>8} {_f(getattr(r, 'crps_days', np.nan)):>8} {_f(r.pit_mean):>8}")
    return "\n".join(lines)


def paired_text(paired: pd.DataFrame) -> str:
    """Model minus each baseline on the same outcomes, with the s.e. (negative = the model is better)."""
    if paired is None or paired.empty:
        return "no outcome scored by the model and a baseline"
    lines = [f"{'forecast':<24} {'kind':<6} {'vs':<8} {'score':<10} {'n':>3} {'model':>9} {'baseline':>9} "
             f"{'diff':>9} {'s.e.':>8} {'z':>6}"]
    for r in paired.itertuples():
        lines.append(f"{str(r.forecast)[:24]:<24} {r.kind:<6} {r.baseline:<8} {r.score:<10} {r.n:>3} "
                     f"{_f(r.model):>9} {_f(r.baseline_mean):>9} {_f(r.diff):>9} {_f(r.se):>8} "
                     f"{'n/a' if np.isnan(r.z) else f'{r.z:.1f}':>6}")
    return "\n".join(lines)


def _f(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.3f}"


def _s(x) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NaT else str(x)


def _pit(r) -> str:
    if np.isnan(r.pit_lo):
        return ""
    return f"[{r.pit_lo:.3f}, {r.pit_hi:.3f}]"
