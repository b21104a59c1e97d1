"""Words of the report in English and Chinese: titles, axes, legends, column headers."""

from __future__ import annotations

import pandas as pd

from sim.model.links import LINKS
from sim.report.fonts import Lang

# key: (English, 中文)
TEXT: dict[str, tuple[str, str]] = {
    "not_achieved": ("not achieved", "未达成"),
    # report
    "report_title": ("Delivery risk: {title}", "{title}交付风险"),
    "report_subtitle": ("Monte Carlo schedule-risk analysis, {first}–{last}", "{first}—{last}年蒙特卡洛进度风险分析"),
    "provenance": ("Provenance", "运行信息"),
    "summary": ("Summary", "汇总"),
    "headline": ("Headline targets", "主要目标"),
    "charts": ("Charts", "图表"),
    "tables": ("Tables", "明细表"),
    "method": ("Method and assumptions", "方法与假设"),
    "method_text": (
        "Each replication samples every uncertain quantity (duration multipliers with common-cause factors, "
        "risk events, shocks, KPI rates), schedules the items through their dependencies on a working-day "
        "calendar and evaluates every target. Probabilities are shares of replications, each with its Monte "
        "Carlo standard error sqrt(p(1−p)/n). Risk effects are paired differences against a re-run without the "
        "risk on the same random numbers. Every number the plan does not give is an assumption listed below "
        "with its source.",
        "每次重复抽样全部不确定量（含共因因子的工期倍数、风险事件、冲击、指标增速），按依赖关系和工作日历排程，"
        "并逐项评价目标。概率为重复次数中的比例，均附蒙特卡洛标准误 sqrt(p(1−p)/n)。风险影响为在相同随机数下"
        "去掉该风险重新模拟的配对差。计划未给出的每个数字都是下列假设之一，并注明来源。",
    ),
    "scalar_assumptions": ("Scalar assumptions", "标量假设"),
    "duration_classes": ("Duration classes (multiplier of planned duration)", "工期参考类（计划工期倍数）"),
    "factors": ("Common-cause factors", "共因因子"),
    "factor_correlations": ("Factor correlations", "因子相关"),
    "risks": ("Risk register", "风险登记"),
    "shocks": ("Shocks", "冲击事件"),
    "calendar": ("Calendar windows (no work)", "停工日历"),
    "kpi_baselines": ("KPI baselines and rates", "指标基数与增速"),
    "kpi_boosts": ("KPI boosts from items", "事项对指标的带动"),
    "units_table": ("Responsible units", "责任单位"),
    "links_table": ("Dependencies", "依赖关系"),
    "items_sources": ("Items and their sources", "事项及来源"),
    "targets_sources": ("Targets and their sources", "目标及来源"),
    "sortable_hint": ("Click a column header to sort.", "点击列标题排序。"),
    "show_all": ("show all rows", "显示全部"),
    "filter": ("filter rows", "筛选"),
    # charts
    "chart_targets": ("Probability of meeting each target", "各目标达成概率"),
    "chart_targets_x": ("P(target met by its deadline)", "按期达成概率"),
    "ci95": ("95 % interval", "95%区间"),
    "threshold80": ("80 % line", "80%线"),
    "chart_scurves": ("S-curves of key items", "关键事项完成概率S曲线"),
    "chart_scurves_y": ("P(finished by date)", "截至该日完成的概率"),
    "chart_stamp": ("as of {as_of} · scenario {scenario} · {n} replications · seed {seed}",
                    "数据截至 {as_of} · 情景 {scenario} · {n} 次重复 · 种子 {seed}"),
    "plan_date": ("plan date", "计划日期"),
    "p50": ("P50", "P50"),
    "p80": ("P80", "P80"),
    "chart_gantt": ("Finish P10–P90 against the plan date", "完成日期P10—P90与计划日期"),
    "p10_p90_on_time": ("P10–P90 finish (median on plan)", "P10—P90完成日期（中位数按期）"),
    "p10_p90_late": ("P10–P90 finish (median late)", "P10—P90完成日期（中位数延误）"),
    "median": ("median", "中位数"),
    "chart_tornado": ("Risk drivers", "风险驱动因素"),
    "chart_tornado_x": ("Lowers P(met) by (percentage points)", "使达成概率降低（百分点）"),
    "chart_tornado_days": ("Delays the P80 date by (days; P(met) hardly moves)", "使P80日期推迟（天；达成概率几乎不变）"),
    "p80_shift": ("P80 later by", "P80推迟"),
    "p80_earlier": ("P80 earlier by", "P80提前"),
    "p80_same": ("P80 unchanged", "P80不变"),
    "days": ("days", "天"),
    "pp": ("pp", "个百分点"),
    "p_met_short": ("P(met)", "达成概率"),
    "nothing_due": ("nothing due", "无到期事项"),
    "nothing_due_early": ("nothing due ({v} done early)", "无到期事项（提前完成{v}）"),
    "merged_curves": ("identical curves drawn once: {ids}", "曲线相同、合并显示：{ids}"),
    "chart_kpi": ("KPIs {first}–{last} against their targets", "{first}—{last}年指标与目标"),
    "band": ("P10–P90", "P10—P90"),
    "target_line": ("target", "目标"),
    "chart_scorecard": ("Expected share of items done by year end, per lead unit", "各牵头单位年底完成事项比例（期望）"),
    "planned": ("plan", "计划"),
    "chart_hist": ("Number of targets due {end} that are met", "{end}到期目标的达成个数"),
    "chart_hist_x": ("targets met (of {n})", "达成目标数（共{n}个）"),
    "probability": ("probability", "概率"),
    "mean": ("mean", "均值"),
    "chart_convergence": ("Convergence of key probabilities", "关键概率收敛"),
    "replications": ("replications", "重复次数"),
    "chart_criticality": ("Criticality for {target}", "{target}的关键性"),
    "criticality": ("criticality", "关键性指数"),
    "decisive": ("decisive", "决定性"),
    "year_end": ("year end", "年底"),
    "no_data": ("no data", "无数据"),
    "colon": (": ", "："),
    "kpi_other": ("KPIs at most risk (lowest P(target met))", "风险最大的其他指标（目标达成概率最低）"),
    "programme_end": ("All items planned by {end}", "{end}前计划完成的全部事项"),
    # scenario comparison (sim batch)
    "cmp_title": ("Scenario comparison", "情景比较"),
    "cmp_subtitle": ("reference: {ref} · {runs} replications per scenario", "参照情景：{ref} · 每个情景 {runs} 次重复"),
    "cmp_headline": ("Headline by scenario", "各情景主要结论"),
    "cmp_targets": ("Targets", "各目标"),
    "cmp_scenarios": ("Scenarios", "情景"),
    "cmp_intro": ("{runs} replications per scenario, seed {seed}, common random numbers; params {params} "
                  "(sha256 {digest}). Each cell: P(target met); below it the paired difference against "
                  "<b>{ref}</b> with its 95 % interval (difference ± 1.96 sd(d)/√n over replications). "
                  "Shaded: the interval excludes zero (red lower, green higher).",
                  "每个情景 {runs} 次重复，随机种子 {seed}，共同随机数；参数 {params}（sha256 {digest}）。"
                  "每格为目标达成概率；其下为相对参照情景<b>{ref}</b>的配对差及其95%区间（差值 ± 1.96·sd(d)/√n）。"
                  "底色：区间不含零（红为降低，绿为提高）。"),
    "cmp_scenario": ("scenario", "情景"),
    "cmp_reference": ("reference", "参照"),
    "cmp_expected_met": ("expected targets met, {label}", "{label}预计达成目标数"),
    "cmp_p_all": ("P(all {n} headline targets met)", "全部{n}项主要目标均达成的概率"),
    "cmp_due": ("{n} due", "到期{n}项"),
    "cmp_same": ("no change (same draws)", "无变化（相同随机数）"),
    "cmp_status": ("status", "状态"),
    "cmp_file": ("file", "文件"),
    "cmp_error": ("error", "错误"),
    "status_done": ("done", "完成"),
    "status_reused": ("reused (unchanged inputs)", "沿用（输入未变）"),
    "status_failed": ("failed", "失败"),
    "cmp_diff_title": ("Paired difference in P(target met) against {ref}, 95 % interval (common random numbers):\n"
                       "{shown} of {total} targets, each scenario's largest significant changes",
                       "相对{ref}的目标达成概率配对差及95%区间（共同随机数）：\n"
                       "共{total}个目标中的{shown}个，各情景变化最大且显著者"),
    "cmp_diff_x": ("Δ P(met) against {ref} (percentage points)", "相对{ref}的达成概率差（百分点）"),
    "cmp_none": ("no scenario to compare", "没有可比较的情景"),
    "cmp_lower": ("lower (interval excludes 0)", "降低（区间不含0）"),
    "cmp_higher": ("higher (interval excludes 0)", "提高（区间不含0）"),
    "cmp_unclear": ("interval includes 0", "区间含0"),
    "cmp_chart_diff": ("Paired differences in P(met)", "达成概率配对差"),
    "cmp_scurves": ("S-curves of key items across scenarios: P(finished by date)", "关键事项各情景完成概率S曲线"),
    # sections and campaigns
    # tables
    "tbl_targets": ("Targets", "目标"),
    "tbl_items": ("Items", "事项"),
    "tbl_kpis": ("KPIs", "指标"),
    "tbl_units": ("Responsible units by year", "责任单位年度比拼"),
    "tbl_criticality": ("Criticality and sensitivity", "关键性与敏感性"),
    "tbl_drivers": ("Risk ranking by effect", "风险影响排序"),
    "tbl_merge": ("Merge bias where paths meet", "路径汇合偏差"),
    "tbl_contingency": ("Contingency (days beyond plan)", "进度储备（超出计划天数）"),
    "tbl_convergence": ("Convergence record", "收敛记录"),
    # money (issue 15)
    "cost_items": ("Outturn cost per invested item (CNY 100 m)", "各项目总费用（亿元）"),
    "investment_years": ("Annual investment and P(annual investment completed) by year",
                         "年度投资及年度投资完成概率"),
    "investment_units": ("Annual investment by responsible unit, 2020-2022 (CNY 100 m)",
                         "各责任单位年度投资（2020—2022年，亿元）"),
    "jcl": ("Joint cost and schedule confidence (JCL)", "费用—进度联合置信度（JCL）"),
    "uncosted": ("Items without an investment figure (no cost modelled)", "无投资数额的项目（不计费用）"),
    "responses": ("Responses: target probability gained per CNY 100 m", "应对措施：每亿元提高的目标概率"),
    "chart_invest_s": ("Cumulative investment (S-curves)", "投资累计完成（S曲线）"),
    "chart_invest_units": ("Annual investment by responsible unit", "各责任单位年度投资"),
    "chart_jcl": ("Joint cost and schedule confidence (JCL)", "费用—进度联合置信度（JCL）"),
    "chart_responses": ("Responses ranked by probability gained per CNY 100 m", "应对措施排序（每亿元提高的概率）"),
}

# column headers of the tables: (English, 中文)
COLUMNS: dict[str, tuple[str, str]] = {
    "id": ("id", "编号"),
    "name": ("name", "名称"),
    "name_zh": ("name (Chinese)", "名称"),
    "name_en": ("name (English)", "英文名称"),
    "campaign": ("campaign", "大会战"),
    "section": ("section", "类别"),
    "lead_unit": ("lead unit", "牵头单位"),
    "project_type": ("project type", "项目类型"),
    "plan_finish": ("plan finish", "计划完成"),
    "p_by_plan": ("P(by plan date)", "按计划完成概率"),
    "se_by_plan": ("s.e.", "标准误"),
    "p_by_end": ("P(by programme end)", "计划期末前完成概率"),
    "se_by_end": ("s.e. (programme end)", "标准误(期末)"),
    "mean_finish": ("mean finish", "平均完成"),
    "p10_finish": ("P10 finish", "P10完成"),
    "p50_finish": ("P50 finish", "P50完成"),
    "p80_finish": ("P80 finish", "P80完成"),
    "p90_finish": ("P90 finish", "P90完成"),
    "contingency_p80_days": ("contingency P80 (days)", "P80储备(天)"),
    "contingency_p90_days": ("contingency P90 (days)", "P90储备(天)"),
    "rule": ("rule", "规则"),
    "refs": ("refs", "构成"),
    "k": ("k", "k"),
    "threshold": ("threshold", "阈值"),
    "deadline": ("deadline", "期限"),
    "p_met": ("P(met)", "达成概率"),
    "aspirational": ("stretch (力争/争取)", "力争/争取"),
    "evidence": ("evidence", "依据"),
    "se": ("s.e.", "标准误"),
    "ci95_low": ("95 % low", "95%下限"),
    "ci95_high": ("95 % high", "95%上限"),
    "p50_achieved": ("P50 achieved", "P50达成日"),
    "p80_achieved": ("P80 achieved", "P80达成日"),
    "kind": ("kind", "类型"),
    "unit": ("unit", "单位"),
    "checkpoint": ("date", "日期"),
    "mean": ("mean", "均值"),
    "p10": ("P10", "P10"),
    "p50": ("P50", "P50"),
    "p80": ("P80", "P80"),
    "p90": ("P90", "P90"),
    "targets": ("targets", "相关目标"),
    "p_target_met": ("P(target met)", "目标达成概率"),
    "target_threshold": ("target", "目标值"),
    "target": ("target", "目标"),
    "target_name": ("target name", "目标名称"),
    "item": ("item", "事项"),
    "item_name": ("item name", "事项名称"),
    "decisive": ("decisive", "决定性"),
    "decisive_se": ("s.e. decisive", "标准误(决定性)"),
    "criticality": ("criticality", "关键性指数"),
    "criticality_se": ("s.e. criticality", "标准误(关键性)"),
    "cruciality": ("cruciality", "关联度"),
    "finish_corr": ("finish correlation", "完成日相关"),
    "ssi": ("SSI", "进度敏感性指数"),
    "contributor": ("contributor", "直接构成"),
    "driver": ("driver", "驱动因素"),
    "driver_name": ("driver name", "因素名称"),
    "p_met_with": ("P(met)", "达成概率"),
    "p_met_without": ("P(met) without", "去掉后达成概率"),
    "effect_p_met": ("effect on P(met)", "对达成概率的影响"),
    "effect_se": ("s.e. effect", "标准误(影响)"),
    "p80_shift_days": ("P80 shift (days)", "P80推迟(天)"),
    "mean_shift_days": ("mean shift (days)", "均值推迟(天)"),
    "mean_shift_se": ("s.e. mean shift", "标准误(均值推迟)"),
    "runs": ("replications", "重复次数"),
    "gate": ("gate", "汇合点"),
    "paths": ("paths", "路径"),
    "p_paths": ("P(each path on plan)", "各路径按期概率"),
    "p_joint": ("P(all paths on plan)", "全部路径按期概率"),
    "p_joint_se": ("s.e.", "标准误"),
    "p_min": ("min of paths", "路径最小概率"),
    "p_product": ("product of paths", "路径概率乘积"),
    "merge_gap": ("merge gap", "汇合偏差"),
    "p_never": ("P(some path never arrives)", "某路径始终未到概率"),
    "mean_of_max_days": ("mean of latest path (day)", "最晚路径均值(天)"),
    "max_of_means_days": ("latest path mean (day)", "路径均值最大(天)"),
    "plan": ("plan", "计划"),
    "n": ("replications", "重复次数"),
    "year_end": ("year end", "年底"),
    "items": ("items", "事项数"),
    "expected_share": ("expected share done", "期望完成比例"),
    "planned_share": ("planned share", "计划完成比例"),
    "p_all_done": ("P(all done)", "全部完成概率"),
    "targets_met": ("targets met", "达成目标数"),
    "of": ("of", "总数"),
    "probability": ("probability", "概率"),
    "p_at_least": ("P(at least)", "至少达成概率"),
    # the appraisal (sim/report/appraisal.py)
    "year": ("year", "年度"),
    "group": ("group", "分组"),
    "due": ("due", "到期"),
    "done_on_time": ("done on time", "按期完成"),
    "done_late": ("done late", "逾期完成"),
    "open": ("reported not done", "已报告未完成"),
    "no_report": ("no report", "未报告"),
    "met": ("met", "达成"),
    "not_met": ("not met", "未达成"),
    "no_data": ("no data", "无数据"),
    "moved_reported": ("moved on new reports", "有新报告的变动"),
    "moved_mixed": ("moved, reports on some items", "部分有报告的变动"),
    "forecast": ("still a forecast", "仍为预测"),
    "snapshot_baseline": ("plan date", "计划编制日"),
    "moved_unreported": ("moved, nothing reported", "无报告的变动"),
    "p_met_year_ago": ("P(met) a year ago", "一年前达成概率"),
    "change": ("change", "变动"),
    "status": ("status", "状态"),
    "change_kind": ("kind of change", "变动类型"),
    "why": ("why", "原因"),
    "key": ("key", "键"),
    "value": ("value", "值"),
    "source": ("source", "来源"),
    "distribution": ("distribution", "分布"),
    "loading": ("loading", "载荷"),
    "members": ("members", "成员"),
    "probability_risk": ("probability", "发生概率"),
    "impact": ("impact (days)", "影响(天)"),
    "mode": ("mode", "方式"),
    "phase": ("phase", "阶段"),
    "window": ("window", "时间窗"),
    "length": ("length (days)", "时长(天)"),
    "affects": ("affects", "影响范围"),
    "start": ("start", "开始"),
    "end": ("end", "结束"),
    "calendar": ("calendar", "日历"),
    "baseline": ("baseline", "基数"),
    "rate_per_year": ("rate per year", "年增速"),
    "rate_cv": ("rate CV", "增速变异系数"),
    "capacity": ("capacity", "能力"),
    "pred": ("predecessor", "前置"),
    "succ": ("successor", "后续"),
    "type": ("type", "类型"),
    "lag_days": ("lag (days)", "间隔(天)"),
    "step": ("step", "跃升"),
    "a": ("factor a", "因子a"),
    "b": ("factor b", "因子b"),
    "rho": ("correlation", "相关系数"),
}


# closed vocabularies shown in tables: value -> (English, 中文)
ENUMS: dict[str, tuple[str, str]] = {
    "item_by": ("item by deadline", "事项按期完成"), "all_of": ("all of", "全部达成"),
    "k_of_n": ("k of n", "n项中至少k项"), "kpi_ge": ("KPI at least", "指标不低于"),
    "kpi_cagr_ge": ("KPI growth at least", "指标年均增速不低于"),
    "risk": ("risk", "风险"), "shock": ("shock", "冲击"), "item": ("item", "事项"), "target": ("target", "目标"),
    "counter": ("counter", "计数"), "index": ("index", "指数"), "duration": ("duration", "工期"),
    "kpi": ("KPI", "指标"), "common": ("common", "共同"), "each": ("each", "逐项"), "start": ("start", "开工"),
    "stock": ("stock", "存量"), "cumulative": ("cumulative", "累计新增"),
    "direct": ("direct", "直接依据"), "related": ("related", "相关依据"), "no evidence": ("no evidence", "无依据"),
    "none": ("none", "无"), "not_started": ("not started", "未开工"), "in_progress": ("in progress", "在建"),
    "done": ("done", "已完成"), "level": ("level", "水平"), "path": ("path", "路径"),
    "green": ("green", "绿"), "amber": ("amber", "黄"), "red": ("red", "红"),
    # link types: their labels live in the link-type registry
    **{str(t): (k.label_en, k.label_zh) for t, k in LINKS.items()},
}
ENUM_COLUMNS = ("rule", "kind", "evidence", "mode", "phase", "status", "measure", "target_kind", "band", "type")

# units of KPIs (kpis.csv unit_en) -> 中文; an unknown unit is shown as written
UNITS: dict[str, str] = {
    "10,000 m2": "万平方米", "CNY 100 m": "亿元", "CNY 100 m per year": "亿元/年", "bases": "个", "centres": "个",
    "communities": "个", "companies": "家", "complexes": "个", "firms": "家", "institutes": "家", "lines": "条",
    "parks": "个", "people": "人", "platforms": "家", "products": "个", "projects": "项", "share": "比例",
    "spaces": "个", "teams": "个", "towns": "个", "workstations": "个", "days": "天", "targets": "项",
}

# run-information keys (manifest.json) -> (English, 中文)
RUN_KEYS: dict[str, tuple[str, str]] = {
    "scenario": ("scenario", "情景"), "replications": ("replications", "重复次数"), "seed": ("seed", "随机种子"),
    "as_of": ("as of", "数据截至"), "params": ("params directory", "参数目录"), "params_hash": ("params hash", "参数哈希"),
    "package_version": ("package version", "软件版本"), "engine": ("engine", "计算引擎"),
    "executor": ("executor", "执行方式"), "workers": ("workers", "进程数"),
    "stopped_by_precision": ("stopped by precision", "按精度停止"), "max_target_se": ("largest s.e.", "最大标准误"),
    "created_utc": ("created (UTC)", "生成时间(UTC)"), "python": ("Python", "Python"), "numpy": ("NumPy", "NumPy"),
    "timings_seconds.simulate": ("seconds: simulate", "耗时(秒)：模拟"), "timings_seconds.total": ("seconds: total", "耗时(秒)：合计"),
}


# holiday and stoppage names of calendar.csv (written by `sim calendar`): English words -> 中文
HOLIDAYS: dict[str, str] = {
    "Spring Festival": "春节", "Dragon Boat Festival": "端午节", "Labour Day": "劳动节", "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节", "New Year's Day": "元旦", "Tomb-sweeping Day": "清明节", "site stoppage": "工地停工",
    "lunar new year": "农历新年",
}


def holiday_text(name, lang: Lang | str) -> str:
    """A calendar window's name in ``lang`` (its known holiday words translated, dates and years kept)."""
    if Lang(lang) is not Lang.ZH or not isinstance(name, str):
        return name
    for en, zh in HOLIDAYS.items():
        name = name.replace(en, zh)
    return name


def enum_text(value, lang: Lang | str) -> str:
    """A vocabulary value (rule, kind, evidence, link type ...) in ``lang``; unknown values unchanged."""
    if not isinstance(value, str) or value not in ENUMS:
        return value
    en, zh = ENUMS[value]
    return zh if Lang(lang) is Lang.ZH else en


def unit_text(unit, lang: Lang | str) -> str:
    """A KPI unit in ``lang`` (the English unit of kpis.csv when no Chinese one is known)."""
    if Lang(lang) is not Lang.ZH or not isinstance(unit, str):
        return unit
    return UNITS.get(unit, unit)


def translated(df: pd.DataFrame, lang: Lang | str) -> pd.DataFrame:
    """``df`` with vocabulary columns (:data:`ENUM_COLUMNS`) and ``unit`` in ``lang``."""
    out = df.copy()
    for col in ENUM_COLUMNS:
        if col in out.columns and not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = [enum_text(v, lang) for v in out[col]]
    if "unit" in out.columns and not pd.api.types.is_numeric_dtype(out["unit"]):
        out["unit"] = [unit_text(v, lang) for v in out["unit"]]
    return out


def run_key(key: str, lang: Lang | str) -> str:
    en, zh = RUN_KEYS.get(key, (key, key))
    return zh if Lang(lang) is Lang.ZH else en


def tr(key: str, lang: Lang | str, **fmt) -> str:
    """The text of ``key`` in ``lang`` (English if the key has no entry in that language)."""
    en, zh = TEXT.get(key, (key, key))
    text = zh if Lang(lang) is Lang.ZH else en
    return text.format(**fmt) if fmt else text


def header(col: str, lang: Lang | str) -> str:
    """Readable column header of ``col`` in ``lang``."""
    en, zh = COLUMNS.get(col, (col, col))
    return zh if Lang(lang) is Lang.ZH else en


def name_of(row, lang: Lang | str) -> str:
    """``name_zh`` or ``name_en`` of a record or table row, falling back to the other, then the id."""
    zh, en = getattr(row, "name_zh", "") or "", getattr(row, "name_en", "") or ""
    if isinstance(row, (dict, pd.Series)):
        zh, en = row.get("name_zh", "") or "", row.get("name_en", "") or ""
    first, second = (zh, en) if Lang(lang) is Lang.ZH else (en, zh)
    return str(first or second or getattr(row, "id", "") or "")


def shorten(text: str, width: int = 26) -> str:
    """``text`` cut to ``width`` characters with an ellipsis (axis labels stay readable)."""
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def labelled(key: str, name: str, width: int = 34) -> str:
    """``"<id> <name>"`` for an axis label: the id always whole, the name shortened to fit."""
    key, name = str(key), str(name or "")
    if not name or name == key:
        return key
    return f"{key} {shorten(name, max(width - len(key) - 1, 6))}"


def pick(pair: tuple[str, str], lang: Lang | str) -> str:
    """The (Chinese, English) ``pair``'s text in ``lang``, the other if that one is empty."""
    zh, en = pair
    return (zh or en) if Lang(lang) is Lang.ZH else (en or zh)


def se_text(se: float, *, pct: bool = True) -> str:
    """A standard error that never reads as an exact "± 0.0": below the shown precision it says "< 0.1"
    (``pct``: in percent, one decimal, no sign; else two decimals).

    >>> se_text(0.0004), se_text(0.0123), se_text(0.0), se_text(0.004, pct=False)
    ('< 0.1', '1.2', '0.0', '< 0.01')
    """
    digits = 1 if pct else 2
    v = (100.0 if pct else 1.0) * float(se)
    if v == 0:
        return f"{0:.{digits}f}"
    floor = 10.0 ** -digits
    return f"< {floor:.{digits}f}" if v < floor / 2 else f"{v:.{digits}f}"
