"""Charts over calendar time: S-curves, the P10–P90 Gantt, KPI fan charts.

Every function takes tables (see :mod:`sim.analysis`), a language and an
optional ``ax``; it returns the figure and never shows it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.dates import DateFormatter, YearLocator
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from sim.model.clock import DAYS_PER_YEAR
from sim.report.i18n import labelled, name_of, shorten, tr, unit_text
from sim.report.style import (
    BAND_COLOR,
    PALETTE,
    PLAN_COLOR,
    new_axes,
    new_figure,
    styled,
)


def _dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce")


def _year_axis(ax: Axes) -> None:
    lo, hi = ax.get_xlim()
    years = (hi - lo) / DAYS_PER_YEAR  # matplotlib date units are days
    ax.xaxis.set_major_locator(YearLocator(1 if years <= 10 else (2 if years <= 20 else 5)))
    ax.xaxis.set_major_formatter(DateFormatter("%Y"))


def s_curve_chart(curves: pd.DataFrame, items: pd.DataFrame, *, lang: str = "en", ax: Axes | None = None) -> Figure:
    """Cumulative P(finished by date) of key items, with the plan date, P50 and P80 marked.

    ``curves`` comes from :func:`sim.analysis.appraisal.s_curve_table`; ``items``
    has the columns of ``items.csv`` (id, names, plan_finish, p50_finish, p80_finish).
    """
    with styled(lang) as lang:
        fig, ax = new_axes(ax, size=(9, 4.8))
        info = items.set_index("id")
        groups, merged = merge_identical(curves, info)
        for k, (ids, g) in enumerate(groups):
            iid = ids[0]
            c = PALETTE[k % len(PALETTE)]
            row = info.loc[iid]
            label = (labelled(iid, name_of(row, lang), 36) if len(ids) == 1
                     else shorten(" = ".join(ids), 36))
            ax.plot(_dates(g["date"]), g["p"], color=c, lw=1.6, label=label)
            for plan in dict.fromkeys(pd.to_datetime(info.loc[list(ids), "plan_finish"])):  # each member's plan date
                # the curve is a step function (an ECDF): its value at the last grid date not after the plan date
                before = int(np.searchsorted(_dates(g["date"]).to_numpy(), plan.to_datetime64(), side="right"))
                p_plan = float(g["p"].iloc[before - 1]) if before else 0.0
                ax.plot([plan, plan], [0, p_plan], color=c, ls=":", lw=1)
                ax.plot(plan, p_plan, marker="D", color=PLAN_COLOR, ms=6, mec="white")
            ax.plot(pd.to_datetime(row["p50_finish"]), 0.5, marker="o", color=c, ms=6, mec="black")
            ax.plot(pd.to_datetime(row["p80_finish"]), 0.8, marker="s", color=c, ms=6, mec="black")
        ax.axhline(0.5, color="#999", lw=0.6)
        ax.axhline(0.8, color="#999", lw=0.6, ls="--")
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        _year_axis(ax)
        ax.set_ylabel(tr("chart_scurves_y", lang))
        ax.set_title(tr("chart_scurves", lang))
        if merged:
            ax.text(0.0, -0.12, tr("merged_curves", lang, ids="; ".join(" = ".join(m) for m in merged)),
                    transform=ax.transAxes, fontsize=7.5, color="#444", va="top")
        marks = [
            Line2D([], [], marker="D", color=PLAN_COLOR, ls="", mec="white", label=tr("plan_date", lang)),
            Line2D([], [], marker="o", color="#777", ls="", mec="black", label=tr("p50", lang)),
            Line2D([], [], marker="s", color="#777", ls="", mec="black", label=tr("p80", lang)),
        ]
        handles, _ = ax.get_legend_handles_labels()
        ax.legend(handles=handles + marks, fontsize=7.5, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def merge_identical(curves: pd.DataFrame, info: pd.DataFrame) -> tuple[list, list]:
    """Group items whose S-curves are identical: ([(ids, rows)], [ids of merged groups]).

    Items finishing together (e.g. SYNC partners) have one curve; drawing it
    once, named by all of them, keeps every curve visible.
    """
    groups: dict[tuple, list] = {}
    rows: dict[tuple, pd.DataFrame] = {}
    for iid, g in curves.groupby("id", sort=False):
        key = (tuple(g["day"].round(6)), tuple(g["p"].round(12)))
        groups.setdefault(key, []).append(iid)
        rows.setdefault(key, g)
    out = [(ids, rows[k]) for k, ids in groups.items()]
    return out, [ids for ids, _ in out if len(ids) > 1]


def gantt_chart(items: pd.DataFrame, *, lang: str = "en", ax: Axes | None = None,
                end_dates: tuple = ()) -> Figure:
    """P10–P90 finish (bar) and median (dot) of each item against its plan date (red diamond).

    ``items`` has the columns of ``items.csv``; pass the rows to show (e.g.
    every transport project and block deliverable), in display order; a dashed
    line marks each of the programme's ``end_dates``.
    """
    with styled(lang) as lang:
        df = items.iloc[::-1].reset_index(drop=True)
        fig, ax = new_axes(ax, size=(10, 1.3 + 0.24 * max(len(df), 3)))
        y = np.arange(len(df))
        lo, hi = _dates(df["p10_finish"]), _dates(df["p90_finish"])
        late = _dates(df["p50_finish"]) > _dates(df["plan_finish"])
        ax.hlines(y, lo, hi, colors=np.where(late, PALETTE[1], PALETTE[0]).tolist(), lw=5, alpha=0.55)
        ax.plot(_dates(df["p50_finish"]), y, "o", color="#222", ms=3.5)
        ax.plot(_dates(df["plan_finish"]), y, "D", color=PLAN_COLOR, ms=5, mec="white")
        ax.set_yticks(y, [labelled(r["id"], name_of(r, lang), 40) for _, r in df.iterrows()], fontsize=7)
        for end in end_dates:
            ax.axvline(pd.Timestamp(end), color="#555", ls="--", lw=0.8)
        _year_axis(ax)
        ax.set_title(tr("chart_gantt", lang), pad=24)
        handles = [  # only entries some bar uses
            *([Line2D([], [], color=PALETTE[0], lw=5, alpha=0.55, label=tr("p10_p90_on_time", lang))]
              if (~late).any() else []),
            *([Line2D([], [], color=PALETTE[1], lw=5, alpha=0.55, label=tr("p10_p90_late", lang))]
              if late.any() else []),
            Line2D([], [], marker="o", color="#222", ls="", label=tr("median", lang)),
            Line2D([], [], marker="D", color=PLAN_COLOR, ls="", mec="white", label=tr("plan_date", lang)),
        ]
        ax.legend(handles=handles, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(handles),
                  frameon=False)
        ax.grid(axis="y", visible=False)
        ax.set_ylim(-0.8, len(df) - 0.2)
    return fig


def kpi_fan_chart(fan: pd.DataFrame, *, title: str, unit: str = "", lang: str = "en",
                  ax: Axes | None = None, legend: bool = True) -> Figure:
    """One KPI from the as-of date to the programme end: P10–P90 band, median, target line.

    ``fan`` is the KPI's rows of :func:`sim.analysis.appraisal.kpi_fan_table`; ``legend=False``
    for a panel of :func:`kpi_fans_figure`, which has one legend for all.
    """
    with styled(lang) as lang:
        fig, ax = new_axes(ax, size=(5, 3.4))
        d = _dates(fan["date"])
        ax.fill_between(d, fan["p10"], fan["p90"], color=BAND_COLOR, alpha=0.7, lw=0, label=tr("band", lang))
        ax.plot(d, fan["p50"], color=PALETTE[0], lw=1.8, marker="o", ms=3.5, label=tr("median", lang))
        has = fan["target"].notna().to_numpy()
        if has.sum() > 1:
            ax.plot(d[has], fan["target"][has], color=PLAN_COLOR, ls="--", lw=1.3, marker="X", ms=6,
                    label=tr("target_line", lang))
        elif has.any():
            ax.axhline(float(fan["target"][has].iloc[0]), color=PLAN_COLOR, ls="--", lw=1.3,
                       label=tr("target_line", lang))
            ax.plot(d[has], fan["target"][has], color=PLAN_COLOR, marker="X", ms=7, ls="")
        ax.set_title(shorten(title, 40), fontsize=9.5)
        ax.set_ylabel(unit, fontsize=8)
        ax.set_xticks(d, [x.strftime("%Y-%m") for x in d], fontsize=8)
        if legend:
            ax.legend(fontsize=7, loc="upper left")
    return fig


def kpi_fans_figure(fan: pd.DataFrame, kpis: pd.DataFrame, *, lang: str = "en", cols: int = 3,
                    title: str = "") -> Figure:
    """Small multiples of :func:`kpi_fan_chart`, one per KPI of ``fan``; ``kpis`` gives id, names and unit."""
    with styled(lang) as eff:
        ids = list(dict.fromkeys(fan["id"]))
        rows = max(1, -(-len(ids) // cols))
        fig = new_figure((4.2 * min(cols, max(len(ids), 1)), 3.2 * rows))
        # a run whose as-of date is past every checkpoint has an empty kpis.csv (no columns)
        info = kpis.drop_duplicates("id").set_index("id") if "id" in kpis.columns else pd.DataFrame()
        for k, kid in enumerate(ids):
            ax = fig.add_subplot(rows, min(cols, len(ids)), k + 1)
            row = info.loc[kid] if kid in info.index else pd.Series({"name_zh": kid, "name_en": kid})
            kpi_fan_chart(fan[fan["id"] == kid], title=name_of(row, eff),
                          unit=unit_text(str(row.get("unit", "") or ""), eff), lang=eff, ax=ax, legend=False)
        if ids:  # one legend below the panels: a legend in each panel covered its band
            handles = [Patch(color=BAND_COLOR, alpha=0.7, label=tr("band", eff)),
                       Line2D([], [], color=PALETTE[0], lw=1.8, marker="o", ms=3.5, label=tr("median", eff)),
                       Line2D([], [], color=PLAN_COLOR, ls="--", lw=1.3, marker="X", ms=6, label=tr("target_line", eff))]
            fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=9, frameon=False)
        fig.suptitle(title or tr("chart_kpi", eff, first="", last=""), fontsize="x-large")
    return fig
