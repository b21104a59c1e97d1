"""Shape the run's tables for people: columns to show, names in the chosen language, value kinds.

Both the HTML report and the Excel workbook use these views, so they show the
same numbers under the same headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from sim.report.fonts import Lang
from sim.report.i18n import tr, translated

PCT = {
    "p_by_plan", "se_by_plan", "p_by_end", "se_by_end", "p_met", "se", "ci95_low", "ci95_high",
    "p_target_met", "decisive", "decisive_se", "criticality", "criticality_se", "p_met_with", "p_met_without",
    "effect_p_met", "effect_se", "p_joint", "p_joint_se", "p_min", "p_product", "merge_gap",
    "expected_share", "planned_share", "p_all_done", "probability", "p_at_least", "probability_risk",
    "p_met_year_ago",
}
ITEM_DATES = frozenset({"plan_finish", "mean_finish", "p10_finish", "p50_finish", "p80_finish", "p90_finish"})
# dates computed from the replications: empty in the CSV tables when some replications never get there
FORECAST_DATES = frozenset({"mean_finish", "p10_finish", "p50_finish", "p80_finish", "p90_finish",
                            "p50_achieved", "p80_achieved", "p50", "p80", "p90"})


def not_achieved(df: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    """``df`` with every empty forecast date written as "not achieved" (never shown as a date or a blank)."""
    out = df.copy()
    label = tr("not_achieved", lang)
    for c in FORECAST_DATES & set(out.columns):
        out[c] = out[c].astype(object).where(out[c].notna() & (out[c].astype(str) != ""), label)
    return out


@dataclass(frozen=True)
class View:
    """A table ready to show: a key for its title, the frame, and which columns hold dates."""

    key: str
    frame: pd.DataFrame
    dates: frozenset[str] = frozenset()
    pct: frozenset[str] | None = None  # probability columns; None: the report's (:data:`PCT`)
    numbers: tuple[tuple[str, str], ...] = ()  # (column, Excel number format) of other numeric columns


def as_date(value) -> date | None:
    """ISO text, a date or a timestamp as a ``date``; None when empty."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    if len(text) == 10:  # ISO dates, as the CSV tables write them: fast path (pandas' parser is ~0.5 ms a call)
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    ts = pd.to_datetime(text, errors="coerce")
    return None if pd.isna(ts) else ts.date()


def with_dates(df: pd.DataFrame, cols) -> pd.DataFrame:
    """Copy of ``df`` whose ``cols`` hold ``date`` objects (None if empty; a word such as "not achieved" kept)."""
    out = df.copy()
    for c in cols:
        if c in out.columns:
            out[c] = [as_date(v) or (v if isinstance(v, str) and v and not _looks_like_date(v) else None)
                      for v in out[c]]
    return out


def _looks_like_date(text: str) -> bool:
    return text[:1].isdigit()


def named(df: pd.DataFrame, lang: Lang, *, at: int = 1) -> pd.DataFrame:
    """Replace name_zh/name_en with one ``name`` in ``lang`` (the other language as fallback)."""
    if "name_zh" not in df.columns:
        return df
    first, second = ("name_zh", "name_en") if lang is Lang.ZH else ("name_en", "name_zh")
    name = df[first].where(df[first].fillna("").astype(str) != "", df[second]).fillna("")
    out = df.drop(columns=["name_zh", "name_en"])
    out.insert(min(at, len(out.columns)), "name", name)
    return out


def _names(frames: dict[str, pd.DataFrame], kind: str, lang: Lang) -> dict[str, str]:
    df = frames[kind]
    first, second = ("name_zh", "name_en") if lang is Lang.ZH else ("name_en", "name_zh")
    sub = df[["id", first, second]].astype(object).where(df[["id", first, second]].notna(), "")
    return {r["id"]: (r[first] or r[second] or r["id"]) for _, r in sub.iterrows()}


def views(frames: dict[str, pd.DataFrame], lang: Lang, *, driver_names: dict[str, str], plan=None) -> dict[str, View]:
    """Every table of the report in display form, keyed by sheet name.

    ``frames`` holds the run's tables (items, targets, kpis) and the analysis
    tables of :data:`sim.analysis.bundle.TABLES`; ``driver_names`` names each
    risk and shock in ``lang``; ``plan`` labels campaigns, sections and the programme end (plan.yaml).
    """
    from sim.analysis.criticality import PROGRAMME_ID
    from sim.model import planmeta

    def section(s: str) -> str:
        return planmeta.section_label(plan, s, lang) if plan is not None else str(s)

    def campaign(c: str) -> str:
        return planmeta.campaign_label(plan, c, lang) if plan is not None else str(c)

    end = planmeta.programme_end_label(plan, lang) if plan is not None else ""
    items, targets = frames["items"], frames["targets"]
    item_name = _names(frames, "items", lang)
    target_name = _names(frames, "targets", lang) | {PROGRAMME_ID: tr("programme_end", lang, end=end)}
    out: dict[str, View] = {}

    tg = named(targets, lang)
    tg["section"] = [section(s) for s in tg["section"]]
    out["targets"] = View("tbl_targets", not_achieved(tg, lang), frozenset({"deadline", "p50_achieved", "p80_achieved"}))

    it = not_achieved(named(items, lang), lang).drop(columns=["project_type"], errors="ignore")
    it["campaign"] = [campaign(c) for c in it["campaign"]]
    out["items"] = View("tbl_items", it, ITEM_DATES)

    out["KPIs"] = View("tbl_kpis", named(frames["kpis"], lang), frozenset({"checkpoint"}))

    sc = named(frames["scorecard"], lang)
    out["responsible units"] = View("tbl_units", sc, frozenset({"year_end"}))

    dr = frames["drivers"].copy()
    if not dr.empty:
        dr = dr[(dr["effect_p_met"] != 0) | (dr["p80_shift_days"].fillna(0) != 0)]
        dr.insert(1, "driver_name", [driver_names.get(d, d) for d in dr["driver"]])
        dr.insert(4, "target_name", [target_name.get(t, t) for t in dr["target"]])
        # by effect: the largest loss of P(met) first, then the largest P80 delay
        dr = dr.assign(_d=dr["p80_shift_days"].fillna(0)).sort_values(["effect_p_met", "_d", "driver", "target"],
                                                                      ascending=[False, False, True, True],
                                                                      kind="stable").drop(columns="_d")
    out["drivers"] = View("tbl_drivers", dr)

    cr = frames["criticality"].copy()
    cr.insert(1, "target_name", [target_name.get(t, t) for t in cr["target"]])
    cr.insert(3, "item_name", [item_name.get(i, i) for i in cr["item"]])
    out["criticality"] = View("tbl_criticality", cr)

    mb = frames["merge_bias"].copy()
    for col in ("paths", "p_paths"):  # room to wrap long lists of paths
        if col in mb.columns:
            mb[col] = mb[col].astype(str).str.replace(";", "; ", regex=False)
    out["merge bias"] = View("tbl_merge", mb)
    out["contingency"] = View("tbl_contingency", not_achieved(frames["contingency"], lang), frozenset({"plan", "p50", "p80", "p90"}))
    out["convergence"] = View("tbl_convergence", frames["convergence"])
    return {k: View(v.key, translated(v.frame, lang), v.dates) for k, v in out.items()}
