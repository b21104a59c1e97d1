"""Charts of probabilities: targets, risk drivers, scorecard, targets met, convergence, criticality.

Every function takes tables (see :mod:`sim.analysis`), a language and an
optional ``ax``; it returns the figure and never shows it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from sim.report.fonts import Lang
from sim.report.i18n import labelled, name_of, pick, shorten, tr
from sim.report.style import PALETTE, new_axes, styled
from sim.analysis.summary import Z95

MIN_PP = 0.5  # below this many percentage points of P(met), the tornado ranks by the P80 shift
MIN_BAR = 0.006  # a 0 % bar is drawn this wide (share of the axis), so that it is seen as a bar at zero


def signed(x: float, digits: int = 1) -> str:
    """``x`` with its sign, never "-0.0" (a rounded zero is "0.0")."""
    r = round(float(x), digits)
    return f"{0.0:.{digits}f}" if r == 0 else f"{r:+.{digits}f}"


def p80_shift_text(days: float, lang: Lang | str) -> str:
    """"P80 later by 5 days", "P80 earlier by 3 days" or "P80 unchanged" (never "later by -3")."""
    d = round(float(days))
    if d == 0:
        return tr("p80_same", lang)
    gap = "" if Lang(lang) is Lang.ZH else " "
    return f"{tr('p80_shift' if d > 0 else 'p80_earlier', lang)} {abs(d)}{gap}{tr('days', lang)}"


def bar_labels(ax: Axes, y, values, *, fmt=lambda v: f"{v:.0%}", fontsize: float = 7, at=None) -> None:
    """Value labels just right of each bar (``at`` gives where each label starts; default the value)."""
    at = values if at is None else at
    for yy, v, x in zip(y, values, at):
        if np.isfinite(v):
            ax.annotate(fmt(v), (max(float(x), 0.0), yy), xytext=(3, 0), textcoords="offset points", va="center",
                        fontsize=fontsize, color="#333")


def _label(row, lang: Lang, width: int = 36) -> str:
    return labelled(str(row["id"]), name_of(row, lang), width)


def target_probability_chart(targets: pd.DataFrame, *, lang: str = "en", title: str = "",
                             ax: Axes | None = None, section_order: tuple[str, ...] = (),
                             section_labels: dict[str, str] | None = None) -> Figure:
    """P(met) of every target with its 95 % interval, grouped (and coloured) by section.

    ``targets`` has the columns of ``targets.csv``: id, section, name_zh,
    name_en, p_met, ci95_low, ci95_high. ``section_order`` and ``section_labels``
    come from plan.yaml (:mod:`sim.model.planmeta`); by default the order found and the ids.
    """
    labels = section_labels or {}
    with styled(lang) as lang:
        order = {s: k for k, s in enumerate(section_order or dict.fromkeys(targets["section"]))}
        df = targets.assign(_s=targets["section"].map(lambda s: order.get(s, len(order))))
        df = df.sort_values(["_s", "p_met"], ascending=[False, False], kind="stable").reset_index(drop=True)
        fig, ax = new_axes(ax, size=(9, 1.3 + 0.22 * max(len(df), 3)))
        sections = list(dict.fromkeys(df["section"][::-1]))
        colour = {s: PALETTE[k % len(PALETTE)] for k, s in enumerate(sections)}
        y = np.arange(len(df))
        err = np.vstack([df["p_met"] - df["ci95_low"], df["ci95_high"] - df["p_met"]]).clip(min=0)
        ax.barh(y, np.maximum(df["p_met"], MIN_BAR), color=[colour[s] for s in df["section"]], height=0.7)
        ax.errorbar(df["p_met"], y, xerr=err, fmt="none", ecolor="#333", elinewidth=0.9, capsize=2)
        bar_labels(ax, y, df["p_met"].to_numpy(dtype=float), fmt=lambda v: f"{v:.1%}",
                   at=df["ci95_high"].to_numpy(dtype=float))
        ax.axvline(0.8, color="#555", ls="--", lw=0.8)
        ax.set_yticks(y, [_label(r, lang, 44) for _, r in df.iterrows()], fontsize=7.5)
        ax.set_ylim(-0.7, len(df) - 0.3)
        ax.set_xlim(0, 1.12)  # room for the value labels of bars near 100 %
        ax.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.xaxis.set_tick_params(labeltop=True)
        ax.set_xlabel(tr("chart_targets_x", lang))
        ax.set_title(title or tr("chart_targets", lang))
        handles = [Patch(color=colour[s], label=labels.get(s, s)) for s in sections]
        handles.append(Patch(facecolor="none", edgecolor="#555", ls="--", label=tr("threshold80", lang)))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        ax.grid(axis="y", visible=False)
    return fig


def tornado_chart(
    drivers: pd.DataFrame, *, target: str, names: dict[str, tuple[str, str]] | None = None,
    target_name: str = "", lang: str = "en", top: int = 12, ax: Axes | None = None,
) -> Figure:
    """Risk drivers of one target, largest first, with ± 1.96 s.e. error bars (of the paired mean shift
    when the bars are days).

    Bars show the effect on P(met) in percentage points, annotated with the
    P80 shift; where P(met) hardly moves (every effect below ``MIN_PP`` points,
    e.g. a target almost never or almost always met) the bars show the P80
    shift in days instead, annotated with the P(met) effect.
    ``drivers`` is the table of :func:`sim.analysis.risk_effects.risk_effects`;
    ``names`` maps a driver id to its (Chinese, English) name.
    """
    with styled(lang) as lang:
        df = drivers[drivers["target"] == target].copy()
        by_days = bool(len(df)) and (df["effect_p_met"].abs().max() * 100 < MIN_PP) and df["p80_shift_days"].notna().any()
        if by_days:
            size, err, note = df["p80_shift_days"].fillna(0), Z95 * df["mean_shift_se"].fillna(0), df["effect_p_met"]
        else:
            size, err, note = 100 * df["effect_p_met"], 196 * df["effect_se"], df["p80_shift_days"]
        df = df.assign(_v=size, _e=err, _n=note)
        df = df[(df["_v"].abs() > 0) | (df["_n"].fillna(0).abs() > 0)]  # drivers that change nothing: left out
        df = df.reindex(df["_v"].abs().sort_values(ascending=False).index).head(top).iloc[::-1]
        fig, ax = new_axes(ax, size=(9, 1.4 + 0.38 * max(len(df), 3)))
        if df.empty:
            ax.text(0.5, 0.5, tr("no_data", lang), ha="center", transform=ax.transAxes)
        y = np.arange(len(df))
        v, e = df["_v"].to_numpy(dtype=float), df["_e"].to_numpy(dtype=float)
        ax.barh(y, v, color=np.where(v >= 0, PALETTE[1], PALETTE[4]), height=0.65)
        ax.errorbar(v, y, xerr=e, fmt="none", ecolor="#333", capsize=2, lw=0.9)
        pad = max(3 - len(df), 0) / 2  # one or two drivers: bars as thick as in a longer list, centred
        ax.set_ylim(-0.5 - pad, len(df) - 0.5 + pad)
        labels = [labelled(d, pick((names or {}).get(d, (d, d)), lang)) for d in df["driver"]]
        ax.set_yticks(y, labels, fontsize=8)
        ax.axvline(0, color="#333", lw=0.8)
        reach = np.maximum(v + e, 0)
        for yy, r, n in zip(y, reach, df["_n"]):
            if not np.isfinite(n):
                continue
            text = (f"{tr('p_met_short', lang)} {signed(-100 * n)} {tr('pp', lang)}" if by_days
                    else p80_shift_text(n, lang))
            ax.annotate(text, (r, yy), xytext=(4, 0), textcoords="offset points", va="center", fontsize=7,
                        color="#444")
        hi = max(float(reach.max()) if len(v) else 1.0, 1.0)
        lo = float((v - e).min()) if len(v) else 0.0
        ax.set_xlim(min(-0.1 * hi, lo * 1.1), hi * 1.6)
        ax.set_xlabel(tr("chart_tornado_days" if by_days else "chart_tornado_x", lang))
        ax.set_title(f"{tr('chart_tornado', lang)}{tr('colon', lang)}{shorten(target_name or target, 40)}")
        ax.grid(axis="y", visible=False)
    return fig


def scorecard_chart(scorecard: pd.DataFrame, *, lang: str = "en", ax: Axes | None = None) -> Figure:
    """Heat map: lead unit x year end, expected share of the unit's items done (plan share in brackets)."""
    with styled(lang) as lang:
        df = scorecard.copy()
        df["_name"] = [shorten(name_of(r, lang), 22) for _, r in df.iterrows()]
        exp = df.pivot_table(index="_name", columns="year_end", values="expected_share", sort=False)
        plan = df.pivot_table(index="_name", columns="year_end", values="planned_share", sort=False)
        exp = exp.loc[exp.iloc[:, -1].sort_values(ascending=False).index] if not exp.empty else exp
        plan = plan.reindex(index=exp.index, columns=exp.columns)
        fig, ax = new_axes(ax, size=(7.5, 1.4 + 0.36 * max(len(exp), 3)))
        values = exp.to_numpy(dtype=float)
        due = plan.to_numpy(dtype=float) > 0  # a cell with nothing planned by then is not coloured as a failure
        from matplotlib import colormaps

        cmap = colormaps["RdYlGn"].with_extremes(bad="#e6e6e6")
        im = ax.imshow(np.where(due, values, np.nan), cmap=cmap, vmin=0, vmax=1, aspect="auto")
        for (i, j), v in np.ndenumerate(values):
            if not due[i, j]:
                # nothing due, yet some of the unit's later items expected done by then: say it is early work
                text = tr("nothing_due_early", lang, v=f"{v:.0%}") if round(v, 2) > 0 else tr("nothing_due", lang)
                colour = "#555"
            else:
                text = f"{v:.0%} ({tr('planned', lang)} {plan.iat[i, j]:.0%})"
                colour = "white" if (v < 0.2 or v > 0.85) else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=7.5, color=colour)
        ax.set_xticks(range(exp.shape[1]), [str(getattr(c, "year", c))[:4] for c in exp.columns])
        ax.set_yticks(range(exp.shape[0]), exp.index, fontsize=8)
        ax.set_xlabel(tr("year_end", lang))
        ax.set_title(tr("chart_scorecard", lang), fontsize=10)
        ax.grid(False)
        fig.colorbar(im, ax=ax, format=PercentFormatter(1.0), shrink=0.8)
    return fig


def targets_met_chart(dist: pd.DataFrame, *, lang: str = "en", ax: Axes | None = None, title: str = "") -> Figure:
    """Histogram of the number of programme-end targets met (from :func:`targets_met_distribution`)."""
    with styled(lang) as lang:
        fig, ax = new_axes(ax, size=(8, 3.8))
        n_of = int(dist["of"].iloc[0]) if len(dist) else 0
        ax.bar(dist["targets_met"], dist["probability"], color=PALETTE[0], width=0.8)
        mean = float((dist["targets_met"] * dist["probability"]).sum())
        ax.axvline(mean, color=PALETTE[1], ls="--", lw=1.2, label=f"{tr('mean', lang)} {mean:.1f}")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xlabel(tr("chart_hist_x", lang, n=n_of))
        ax.set_ylabel(tr("probability", lang))
        ax.set_title(title or tr("chart_hist", lang, end=""))
        ax.legend(fontsize=8)
        ax.grid(axis="x", visible=False)
    return fig


def convergence_chart(conv: pd.DataFrame, *, names: dict[str, str] | None = None, lang: str = "en",
                      ax: Axes | None = None) -> Figure:
    """Running P(met) against replications, with the ± 1.96 s.e. band, one line per target."""
    with styled(lang) as lang:
        fig, ax = new_axes(ax, size=(8, 4))
        for k, (tid, g) in enumerate(conv.groupby("target", sort=False)):
            c = PALETTE[k % len(PALETTE)]
            ax.fill_between(g["n"], g["p_met"] - Z95 * g["se"], g["p_met"] + Z95 * g["se"], color=c, alpha=0.15, lw=0)
            ax.plot(g["n"], g["p_met"], color=c, lw=1.3, label=shorten((names or {}).get(tid, tid), 28))
        ax.set_xscale("log")
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xlabel(tr("replications", lang))
        ax.set_ylabel(tr("chart_targets_x", lang))
        ax.set_title(tr("chart_convergence", lang))
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def criticality_chart(crit: pd.DataFrame, *, target: str, target_name: str = "",
                      names: dict[str, tuple[str, str]] | None = None, lang: str = "en", top: int = 10,
                      ax: Axes | None = None) -> Figure:
    """Criticality and decisive share of the items of one target (from :func:`criticality_table`)."""
    with styled(lang) as lang:
        df = crit[crit["target"] == target].sort_values("criticality", ascending=False).head(top).iloc[::-1]
        fig, ax = new_axes(ax, size=(8, 1.4 + 0.36 * max(len(df), 3)))
        y = np.arange(len(df))
        ax.barh(y, np.maximum(df["criticality"], MIN_BAR), height=0.7, color=PALETTE[3], label=tr("criticality", lang))
        ax.barh(y, np.maximum(df["decisive"], MIN_BAR), height=0.35, color=PALETTE[2], label=tr("decisive", lang))
        bar_labels(ax, y, df["criticality"].to_numpy(dtype=float), fmt=lambda v: f"{v:.1%}")
        labels = [labelled(i, pick((names or {}).get(i, (i, i)), lang)) for i in df["item"]]
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_xlim(0, 1.1)
        ax.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_title(tr("chart_criticality", lang, target=shorten(target_name or target, 36)), pad=22)
        # above the plot, never over the bars
        ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
        ax.grid(axis="y", visible=False)
    return fig
