"""Money charts: investment S-curves, annual investment by unit, the JCL scatter, response ranking.

Every function takes tables or samples (see :mod:`sim.analysis.investment`,
:mod:`sim.analysis.jcl`, :mod:`sim.analysis.responses`), a language and an optional
``ax``; it returns the figure and never shows it.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.dates import DateFormatter, YearLocator
from matplotlib.figure import Figure

from sim.model.clock import DAYS_PER_YEAR
from sim.analysis.jcl import JointSample, frontier, jcl
from sim.report.i18n import pick, se_text
from sim.report.style import BAND_COLOR, PALETTE, PLAN_COLOR, new_axes, styled

TEXT = {
    "s_title": ("投资累计完成（S曲线）", "Cumulative investment (S-curves)"),
    "s_y": ("累计投资（亿元，自基准日起）", "cumulative investment since the as-of date (CNY 100 m)"),
    "band": ("P10–P90", "P10–P90"),
    "median": ("P50", "P50"),
    "planned": ("计划（均匀分摊，假设）", "plan (even profile, assumption)"),
    "annual_title": ("各责任单位年度投资（P50，P10–P90）", "Annual investment by responsible unit (P50, P10–P90)"),
    "annual_x": ("年度投资（亿元）", "investment in the year (CNY 100 m)"),
    "jcl_title": ("费用—进度联合置信度（JCL）", "Joint cost and schedule confidence (JCL)"),
    "jcl_x": ("完成日期", "finish date"),
    "jcl_y": ("总费用（亿元）", "outturn cost (CNY 100 m)"),
    "plan_point": ("计划点（计划日期，计划投资）", "plan point (plan date, plan investment)"),
    "frontier": ("JCL {p}% 前沿", "JCL {p}% frontier"),
    "runs": ("模拟结果", "replications"),
    "rank_title": ("应对措施排序：每亿元提高的目标概率", "Responses ranked by target probability gained per CNY 100 m"),
    "rank_x": ("每亿元提高的概率（百分点）", "probability gained per CNY 100 m (percentage points)"),
}


def t(key: str, lang: str, **fmt) -> str:
    text = pick(TEXT[key], lang)
    return text.format(**fmt) if fmt else text


def pct_se(se: float) -> str:
    """A standard error in %, "< 0.1%" below the shown precision (never an exact-looking "0.0%")."""
    return se_text(se) + "%"


def investment_s_curve_chart(curves: pd.DataFrame, *, as_of: date, names: dict[str, str] | None = None,
                             lang: str = "en", ax: Axes | None = None) -> Figure:
    """Cumulative investment per campaign over time: P10–P90 band, P50 and the plan's even profile.

    ``curves`` comes from :func:`sim.analysis.investment.s_curves`.
    """
    with styled(lang) as lang:
        fig, ax = new_axes(ax, size=(9, 4.8))
        groups = [(key, g) for key, g in curves.groupby("campaign", sort=False)
                  if float(np.nanmax(np.abs(g[["p90", "planned"]].to_numpy(dtype=float)), initial=0.0)) > 0]
        # a campaign with no invested item would be a flat zero line read as "nothing invested": left out
        for k, (key, g) in enumerate(groups):
            c = PALETTE[k % len(PALETTE)]
            x = np.array([as_of + timedelta(days=float(d)) for d in g["day"]], dtype="datetime64[D]")
            label = (names or {}).get(key, key)
            ax.fill_between(x, g["p10"], g["p90"], color=c, alpha=0.18, lw=0)
            ax.plot(x, g["p50"], color=c, lw=1.8, label=f"{label} {t('median', lang)}")
            ax.plot(x, g["planned"], color=c, lw=1.2, ls="--", label=f"{label} {t('planned', lang)}")
        ax.xaxis.set_major_locator(YearLocator())
        ax.xaxis.set_major_formatter(DateFormatter("%Y"))
        ax.set_ylabel(t("s_y", lang))
        ax.set_title(t("s_title", lang))
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        return fig


def annual_by_unit_chart(table: pd.DataFrame, *, names: dict[str, str] | None = None, lang: str = "en",
                         ax: Axes | None = None) -> Figure:
    """Horizontal bars per unit and year: P50 with P10–P90 whiskers and the plan as a marker.

    ``table`` is :func:`sim.analysis.investment.investment_table` (its ``unit`` rows are used).
    """
    with styled(lang) as lang:
        rows = table[table["level"] == "unit"]
        units = list(dict.fromkeys(rows.sort_values("planned", ascending=False)["key"]))
        years = sorted(rows["year"].unique())
        fig, ax = new_axes(ax, size=(9, max(3.0, 0.45 * len(units) * max(len(years), 1) / 2 + 1.5)))
        height = 0.8 / max(len(years), 1)
        for k, y in enumerate(years):
            r = rows[rows["year"] == y].set_index("key").reindex(units)
            pos = np.arange(len(units)) + k * height
            c = PALETTE[k % len(PALETTE)]
            ax.barh(pos, r["p50"], height=height, color=c, alpha=0.8, label=str(y))
            ax.errorbar(r["p50"], pos, xerr=[r["p50"] - r["p10"], r["p90"] - r["p50"]], fmt="none",
                        ecolor="#333", lw=0.8, capsize=2)
            ax.plot(r["planned"], pos, ls="", marker="|", ms=10, mew=2, color=PLAN_COLOR)
        ax.set_yticks(np.arange(len(units)) + 0.4 - height / 2)
        ax.set_yticklabels([(names or {}).get(u, u) for u in units], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(t("annual_x", lang))
        ax.set_title(t("annual_title", lang))
        ax.plot([], [], ls="", marker="|", ms=10, mew=2, color=PLAN_COLOR, label=t("planned", lang))
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        return fig


def jcl_chart(sample: JointSample, *, as_of: date, levels=(0.7, 0.8), lang: str = "en",
              ax: Axes | None = None, max_points: int = 4000) -> Figure:
    """Scatter of (finish, cost) per replication, the plan point with its JCL, and iso-JCL frontiers."""
    with styled(lang) as lang:
        fig, ax = new_axes(ax, size=(8, 5.6))
        n = sample.finish.size
        keep = np.linspace(0, n - 1, min(n, max_points)).astype(int)
        to_date = np.vectorize(lambda d: np.datetime64(as_of) + np.timedelta64(int(round(d)), "D"))
        ax.scatter(to_date(sample.finish[keep]), sample.cost[keep], s=4, color=BAND_COLOR, alpha=0.5,
                   label=t("runs", lang), rasterized=True)
        p, se = jcl(sample.finish, sample.cost, day=sample.plan_day, budget=sample.budget)
        days = np.quantile(sample.finish, np.linspace(0.5, 0.99, 40))
        for k, lv in enumerate(levels):
            b = frontier(sample.finish, sample.cost, days=days, level=lv)
            ok = np.isfinite(b)
            ax.plot(to_date(days[ok]), b[ok], color=PALETTE[(k + 1) % len(PALETTE)], lw=1.8,
                    label=t("frontier", lang, p=round(lv * 100)))
        ax.plot(to_date(np.array([sample.plan_day])), [sample.budget], marker="D", ms=9, color=PLAN_COLOR,
                mec="white", ls="", label=f"{t('plan_point', lang)}: JCL {p:.1%} ± {pct_se(se)}")
        ax.axvline(to_date(np.array([sample.plan_day]))[0], color=PLAN_COLOR, lw=0.6, ls=":")
        ax.axhline(sample.budget, color=PLAN_COLOR, lw=0.6, ls=":")
        lo, hi = np.quantile(sample.finish, [0.0, 0.98])
        lo, hi = min(lo, sample.plan_day) - 60, max(hi, sample.plan_day) + 60
        ax.set_xlim(to_date(np.array([lo]))[0], to_date(np.array([hi]))[0])
        ax.set_ylim(min(np.quantile(sample.cost, 0.001), sample.budget) * 0.95, np.quantile(sample.cost, 0.995) * 1.03)
        ax.xaxis.set_major_locator(YearLocator(base=max(1, int((hi - lo) / DAYS_PER_YEAR / 10) + 1)))
        ax.xaxis.set_major_formatter(DateFormatter("%Y"))
        ax.set_xlabel(t("jcl_x", lang))
        ax.set_ylabel(t("jcl_y", lang))
        ax.set_title(t("jcl_title", lang))
        # below the axes: the scatter fills every corner, so a legend inside would hide replications
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize=8, frameon=False)
        return fig


def response_ranking_chart(ranking: pd.DataFrame, *, lang: str = "en", ax: Axes | None = None) -> Figure:
    """Bars of probability gained per 亿元 per response (with ±2 SE), best first."""
    with styled(lang) as lang:
        r = ranking.sort_values("gain_per_100m", ascending=True)
        fig, ax = new_axes(ax, size=(8, max(2.5, 0.5 * len(r) + 1.2)))
        names = [f"{row.id} {row.name_zh if lang == 'zh' else row.name_en}" for row in r.itertuples()]
        ax.barh(names, 100 * r["gain_per_100m"], xerr=200 * r["se_gain_per_100m"], color=PALETTE[0],
                ecolor="#333", capsize=3)
        ax.axvline(0, color="#333", lw=0.6)
        ax.set_xlabel(t("rank_x", lang))
        ax.set_title(t("rank_title", lang))
        return fig
