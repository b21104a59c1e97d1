"""The report's money section: tables (views) and charts built from a run's records.

Shown wherever the report shows dates, when the plan has costs: outturn cost per item, annual
investment and P(annual investment completed) per year, annual investment by responsible unit
2020–2022, the JCL table and chart, investment S-curves, the items without a figure, and the
response ranking when a run directory holds one (``responses.csv``, from ``sim.studies.responses``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.analysis.investment import cost_table, investment_table, s_curves
from sim.analysis.jcl import jcl_table, scope_sample
from sim.engine.compiled import CompiledModel
from sim.results import has_table, read_table
from sim.model import planmeta
from sim.report import charts_cost
from sim.report.i18n import pick
from sim.report.tables import View

RESPONSES_FILE = "responses.csv"


def _zh(lang) -> bool:
    return str(lang) == "zh"


def _range(p10: float, p50: float, p90: float) -> str:
    return f"{p50:.2f} [{p10:.2f}–{p90:.2f}]"


def cost_frames(model: CompiledModel, records, run_dir: Path | None = None) -> dict[str, pd.DataFrame]:
    """Language-independent money tables of a run (empty dict when the plan has no costs)."""
    if model.cost is None or not model.cost.n:
        return {}
    frames = {"costs": cost_table(model, records), "investment": investment_table(model, records),
              "jcl": jcl_table(model, records), "invest_curves": s_curves(model, records)}
    if run_dir is not None and has_table(Path(run_dir), RESPONSES_FILE):
        frames["responses"] = read_table(Path(run_dir), RESPONSES_FILE)
    return frames


def cost_views(model: CompiledModel, frames: dict[str, pd.DataFrame], lang) -> list[View]:
    """Tables of the money section, with headers in ``lang``."""
    if not frames:
        return []
    zh = _zh(lang)
    plan = model.plan
    inv = frames["investment"]
    last = max((d.year for d in plan.checkpoints), default=plan.as_of.year)
    years = [y for y in sorted(inv["year"].unique()) if y <= last]
    def h(a, b):
        return a if zh else b
    out = []
    top = inv[inv["level"].isin(["programme", "campaign"]) & inv["year"].isin(years) & (inv["planned"] > 0)]
    rows = []
    for r in top.itertuples():
        label = h("全部", "all") if r.level == "programme" else planmeta.campaign_label(plan, r.key, lang)
        rows.append({h("范围", "scope"): label, h("年度", "year"): int(r.year),
                     h("计划投资（亿元）", "planned (CNY 100 m)"): round(r.planned, 2),
                     h("计划口径", "plan basis"): h("均匀分摊（假设）", "even profile (assumption)")
                     if r.planned_assumed else h("计划数", "plan figure"),
                     h("模拟投资 P50 [P10–P90]", "simulated P50 [P10–P90]"): _range(r.p10, r.p50, r.p90),
                     h("年度投资完成概率", "P(annual investment completed)"): f"{r.p_completed:.1%} ± {r.se_completed:.1%}",
                     h("累计 P50 / 计划", "cumulative P50 / plan"): f"{r.cum_p50:.1f} / {r.cum_planned:.1f}"})
    out.append(View("investment_years", pd.DataFrame(rows)))
    units = {u.id: (u.name_zh, u.name_en) for u in plan.units}
    rows = []
    ur = inv[(inv["level"] == "unit") & inv["year"].isin(years)]
    for key, g in ur.groupby("key", sort=False):
        row = {h("责任单位", "unit"): f"{key} {pick(units.get(key, (key, key)), lang)}"}
        for r in g.itertuples():
            row[f"{r.year} {h('计划', 'plan')}"] = round(r.planned, 2)
            row[f"{r.year} P50 [P10–P90]"] = _range(r.p10, r.p50, r.p90)
            row[f"{r.year} {h('完成概率', 'P(completed)')}"] = "—" if r.p_completed != r.p_completed \
                else f"{r.p_completed:.0%}"
        rows.append(row)
    out.append(View("investment_units", pd.DataFrame(rows)))
    c = frames["costs"]
    out.append(View("cost_items", pd.DataFrame({
        h("项目", "item"): [f"{r.id} {r.name_zh if zh else r.name_en}"[:60] for r in c.itertuples()],
        h("计划投资（亿元）", "budget (CNY 100 m)"): c["budget_cny_100m"].round(2),
        h("费用 P50 [P10–P90]", "cost P50 [P10–P90]"): [_range(r.p10_cost, r.p50_cost, r.p90_cost)
                                                       for r in c.itertuples()],
        h("不超计划投资概率", "P(cost <= budget)"): [f"{r.p_within_budget:.1%} ± {r.se_within_budget:.1%}"
                                              for r in c.itertuples()]})))
    j = frames["jcl"]
    j = j[j["level"] != "item"] if len(j) > 12 else j
    out.append(View("jcl", pd.DataFrame({
        h("范围", "scope"): [h("全部已计投资项目", "all invested items") if r.level == "programme" else
                            planmeta.campaign_label(plan, r.key, lang) if r.level == "campaign" else r.key
                            for r in j.itertuples()],
        h("计划日期", "plan date"): j["plan_date"], h("计划投资（亿元）", "budget (CNY 100 m)"): j["budget"].round(1),
        h("按期概率", "P(on time)"): j["p_time"].map("{:.1%}".format),
        h("不超投资概率", "P(within budget)"): j["p_cost"].map("{:.1%}".format),
        "JCL": [f"{r.jcl:.1%} ± {r.se_jcl:.1%}" for r in j.itertuples()],
        h("JCL 70% 所需投资（亿元，计划日期）", "budget for JCL 70 % by the plan date"):
            j["budget_p70_by_plan_date"].map(lambda x: _money(x, zh)),
        h("JCL 80% 所需投资（亿元，计划日期）", "budget for JCL 80 % by the plan date"):
            j["budget_p80_by_plan_date"].map(lambda x: _money(x, zh)),
        h("进度P90日期", "P90 finish"): j["p90_finish"],
        h("JCL 70% 所需投资（亿元，P90日期）", "budget for JCL 70 % by the P90 finish"):
            j["budget_p70_by_p90_finish"].map(lambda x: _money(x, zh)),
        h("JCL 80% 所需投资（亿元，P90日期）", "budget for JCL 80 % by the P90 finish"):
            j["budget_p80_by_p90_finish"].map(lambda x: _money(x, zh))})))
    unc = [plan.item(i) for i in model.costs.uncosted]
    out.append(View("uncosted", pd.DataFrame({
        h("项目", "item"): [i.id for i in unc], h("名称", "name"): [i.name_zh if zh else i.name_en for i in unc],
        h("大会战", "campaign"): [planmeta.campaign_label(plan, i.campaign, lang) for i in unc]})))
    if "responses" in frames:
        r = frames["responses"]
        out.append(View("responses", pd.DataFrame({
            h("措施", "response"): [f"{x.id} {x.name_zh if zh else x.name_en}" for x in r.itertuples()],
            h("费用（亿元）", "cost (CNY 100 m)"): r["cost_cny_100m"],
            h("作用于", "acts on"): [f"{x.effect}: {x.acts_on} × {x.value:g}" for x in r.itertuples()],
            h("衡量", "measure"): [h("达成目标数（期望）", "expected targets met") if x.measure == "targets_met"
                                    else x.measure for x in r.itertuples()],
            h("实施前 → 实施后", "before → after"): [f"{x.before:.3f} → {x.after:.3f}" for x in r.itertuples()],
            h("提高（配对，±SE）", "gain (paired, ± SE)"): [f"{x.gain:+.4f} ± {x.se_gain:.4f}" for x in r.itertuples()],
            h("每亿元提高", "gain per CNY 100 m"): [f"{x.gain_per_100m:+.4f}" for x in r.itertuples()],
            h("受益最大的目标", "target gaining most"): [f"{x.best_target} {x.best_target_gain:+.3f}"
                                                      for x in r.itertuples()]})))
    return out


def _money(x: float, zh: bool) -> str:
    if x == float("inf"):
        return "∞（该日期达不到此置信度）" if zh else "∞ (the date alone is short of this JCL)"
    return "—" if x == float("-inf") else f"{x:.1f}"


def cost_chart_jobs(model: CompiledModel, frames: dict[str, pd.DataFrame], records, lang) -> list[tuple]:
    """(key, title key, make) of the money charts."""
    if not frames:
        return []
    plan = model.plan
    names = {c.id: planmeta.campaign_label(plan, c.id, lang) for c in planmeta.campaigns(plan)}
    units = {u.id: f"{u.id} {pick((u.name_zh, u.name_en), lang)}" for u in plan.units}
    inv = frames["investment"]
    last = max((d.year for d in plan.checkpoints), default=plan.as_of.year)
    inv = inv[inv["year"] <= last]
    sample = scope_sample(model, records, "programme")
    jobs = [
        ("invest_s_curves", "chart_invest_s", lambda: charts_cost.investment_s_curve_chart(
            frames["invest_curves"], as_of=plan.as_of, names=names, lang=lang)),
        ("invest_units", "chart_invest_units", lambda: charts_cost.annual_by_unit_chart(inv, names=units, lang=lang)),
        ("jcl", "chart_jcl", lambda: charts_cost.jcl_chart(sample, as_of=plan.as_of, lang=lang)),
    ]
    if "responses" in frames and not frames["responses"].empty:
        jobs.append(("responses", "chart_responses",
                     lambda: charts_cost.response_ranking_chart(frames["responses"], lang=lang)))
    return jobs
