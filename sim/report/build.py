"""Write a run directory's report: analysis tables, charts, HTML and Excel, per language.

Layout added to a run directory::

    plan.json                the plan the run simulated, as data (so a report never guesses)
    analysis/*.csv           analysis tables (language-independent), cached
    analysis/meta.json       what they were computed from
    charts/<lang>/*.png|svg  every chart
    report.<lang>.html       the self-contained report
    report.<lang>.xlsx       the workbook

Nothing is re-simulated when the cache is valid; only the risk ranking re-runs
replications (without each risk, on the run's random numbers), once.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.bundle import TABLES, RunSettings, analyse
from sim.analysis.criticality import PROGRAMME_ID
from sim.analysis.headline import Headline, headline
from sim.model import planmeta
from sim.engine.compiled import CompiledModel, compile_plan
from sim.model.entities import Plan
from sim.model.enums import TargetRule
from sim.report import charts, charts_time
from sim.report.excel import SHEETS, write_workbook
from sim.report.fonts import Lang, resolve_lang
from sim.report.html import Chart, headline_view, render
from sim.report.i18n import pick, run_key, tr
from sim.report.sources import assumption_views
from sim.report.style import add_footer, save
from sim.report.cost_views import cost_chart_jobs, cost_frames, cost_views
from sim.report.summary import headline_html
from sim.report.tables import View, views
from sim.results import RecordColumns, OLD_PLAN_PICKLE, PLAN_SNAPSHOT, read_plan_snapshot, write_plan_snapshot, params_hash, read_manifest, read_records
from sim.results import ANALYSIS_DIR, read_cached_tables, read_record_kind, read_table, write_cached_tables

PLAN_FILE = PLAN_SNAPSHOT
ANALYSIS_VERSION = 7  # bump when an analysis table changes
DRIVER_RUNS = 2000


# -- the plan of a run -------------------------------------------------------------
def run_plan_of(run_dir: Path, *, plan: Plan | None = None) -> Plan:
    """The plan a run simulated: ``plan`` if given, else the run's snapshot, else its params dir.

    The snapshot (``plan.json``) is written the first time a plan is known, so
    later reports do not depend on params/ staying unchanged. Loading from the
    manifest's params path warns when the files no longer hash as they did. A
    snapshot that cannot be read, or an old ``plan.pickle`` (never loaded), is a
    :class:`sim.results.SnapshotError`.
    """
    run_dir = Path(run_dir)
    snap = run_dir / PLAN_FILE
    if plan is None and (snap.exists() or (run_dir / OLD_PLAN_PICKLE).exists()):
        return read_plan_snapshot(run_dir)
    if plan is None:
        plan = _plan_from_params(run_dir)
    if not snap.exists():
        save_plan_snapshot(run_dir, plan)
    return plan


def save_plan_snapshot(run_dir: Path, plan: Plan) -> Path:
    """Keep the plan a run simulated (after any scenario and actuals) beside its records."""
    return write_plan_snapshot(run_dir, plan)


def _plan_from_params(run_dir: Path) -> Plan:
    from sim.model.load import load_plan

    man = read_manifest(run_dir)
    params = Path(str(man.get("params") or ""))
    if not man.get("params") or not params.is_dir():
        raise FileNotFoundError(
            f"{run_dir}: no plan snapshot and the params directory {str(params)!r} of its manifest is not there; "
            "run `sim report` from the directory the run was made in, or pass the plan"
        )
    if man.get("scenario", "baseline") != "baseline" or man.get("actuals"):
        raise FileNotFoundError(
            f"{run_dir}: simulated with scenario {man.get('scenario')!r}"
            f"{' and actuals' if man.get('actuals') else ''}, but it has no plan snapshot ({PLAN_FILE}); "
            "params/ alone is not that plan: re-run it, or write its report with the plan "
            "(write_report(run_dir, lang=..., plan=plan) or save_plan_snapshot right after the run)"
        )
    digest = params_hash(params)
    if man.get("params_hash") and digest != man["params_hash"]:
        warnings.warn(
            f"{params}: the params changed since run {run_dir.name} (hash {digest[:12]} != "
            f"{str(man['params_hash'])[:12]}); the report uses the current params with the old records",
            RuntimeWarning, stacklevel=2,
        )
    return load_plan(params)


# -- analysis tables, cached -----------------------------------------------------
def analysis_tables(run_dir: Path, plan: Plan, model: CompiledModel, *, driver_runs: int = DRIVER_RUNS,
                    records: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The tables of :func:`sim.analysis.bundle.analyse`, from ``analysis/`` when still valid."""
    run_dir = Path(run_dir)
    man = read_manifest(run_dir)
    stamp = {"version": ANALYSIS_VERSION, "replications": man.get("replications"), "seed": man.get("seed"),
             "created_utc": man.get("created_utc"), "driver_runs": driver_runs}
    cached = read_cached_tables(run_dir, ANALYSIS_DIR, stamp, TABLES)
    if cached is not None:
        return cached
    records = read_records(run_dir) if records is None else records
    tables = analyse(plan, model, records, RunSettings.from_manifest(man), driver_runs=driver_runs)
    write_cached_tables(run_dir, ANALYSIS_DIR, stamp, tables)
    # round-trip through CSV so a fresh and a cached report are built from identical tables
    return {k: read_table(run_dir / ANALYSIS_DIR, f"{k}.csv") for k in TABLES}


def focus_targets(targets: pd.DataFrame, tables: dict[str, pd.DataFrame], *, limit: int = 4,
                  plan: Plan | None = None) -> list[str]:
    """Targets that get a tornado and a criticality chart.

    Programme-end targets decided by two or more items, in the section order of
    plan.yaml, then by the size of their largest risk effect.
    """
    crit, drv = tables["criticality"], tables["drivers"]
    multi = set(crit["target"]) - {PROGRAMME_ID}
    order = planmeta.section_order(plan) if plan is not None else tuple(dict.fromkeys(targets["section"]))
    rank = {s: k for k, s in enumerate(order)}
    end = planmeta.programme_end(plan).isoformat() if plan is not None else str(targets["deadline"].max())
    eff = drv.groupby("target")["effect_p_met"].max() if not drv.empty else pd.Series(dtype=float)
    cand = targets[targets["id"].isin(multi) & (targets["deadline"].astype(str) == end)]
    if cand.empty:
        cand = targets[targets["id"].isin(multi)]
    cand = cand.assign(_r=cand["section"].map(lambda s: rank.get(s, 9)), _e=-cand["id"].map(eff).astype(float).fillna(0))
    ranked = cand.sort_values(["_r", "_e"], kind="stable")
    one_per_section = list(ranked.drop_duplicates("section")["id"])
    return list(dict.fromkeys(one_per_section + list(ranked["id"])))[:limit]


# -- rendering -------------------------------------------------------------------------
GANTT_ROWS = 80  # at most this many items in the Gantt chart (whole campaigns, in plan.yaml order)


def gantt_campaigns(plan: Plan, items: pd.DataFrame) -> list[str]:
    """Campaigns whose items the Gantt chart shows: not external, in plan order, while they fit GANTT_ROWS."""
    external = planmeta.external_campaigns(plan)
    counts = items["campaign"].value_counts()
    chosen: list[str] = []
    total = 0
    for c in planmeta.campaigns(plan):
        if c.id in external or not counts.get(c.id, 0):
            continue
        if chosen and total + counts[c.id] > GANTT_ROWS:
            continue
        chosen.append(c.id)
        total += counts[c.id]
    return chosen
def _names(plan: Plan) -> tuple[dict, dict, dict]:
    items = {i.id: (i.name_zh, i.name_en) for i in plan.items}
    targets = {t.id: (t.name_zh, t.name_en) for t in plan.targets}
    zh, en = (tr("programme_end", lang, end=planmeta.programme_end_label(plan, lang)) for lang in (Lang.ZH, Lang.EN))
    targets[PROGRAMME_ID] = (zh, en)
    drivers = {r.id: (r.name_zh, r.name_en) for r in plan.risks} | {s.id: (s.name_zh, s.name_en) for s in plan.shocks}
    return items, targets, drivers


def _kpi_groups(plan: Plan, targets: pd.DataFrame, lang: Lang, *, others: int = 12):
    """(chart key, title, KPI ids): the headline KPIs, then the others whose targets are least likely met."""
    p_met = targets.set_index("id")["p_met"]
    on = [(t, r) for t in plan.targets if t.rule in (TargetRule.KPI_GE, TargetRule.KPI_CAGR_GE) for r in t.refs]
    head = list(dict.fromkeys(r for t, r in on if t.section == planmeta.headline_section(plan)))
    worst: dict[str, float] = {}
    for t, r in on:
        if r not in head:
            worst[r] = min(worst.get(r, 1.0), float(p_met.get(t.id, 1.0)))
    rest = sorted(worst, key=lambda r: worst[r])[:others]
    first, last = planmeta.period(plan)
    groups = [("kpi_fans_headline", tr("chart_kpi", lang, first=first, last=last), head), ("kpi_fans_other", tr("kpi_other", lang), rest)]
    return [g for g in groups if g[2]]


def chart_stamp(manifest: dict, lang: Lang) -> str:
    """The provenance line every chart carries: as-of date, scenario, replications, seed."""
    return tr("chart_stamp", lang, as_of=manifest.get("as_of", ""), scenario=manifest.get("scenario", ""),
              n=manifest.get("replications", ""), seed=manifest.get("seed", ""))


def render_charts(plan: Plan, frames: dict[str, pd.DataFrame], focus: list[str], *, lang: Lang,
                  out: Path, stamp: str = "", svg: bool = False, workers: int = 1, extra_jobs=()) -> list[Chart]:
    """Draw every chart of the report into ``out`` (PNG, and SVG when ``svg``); returns them with their PNG bytes.

    ``workers`` > 1 draws the charts in that many forked processes (the same files). The report
    draws them in-process: forking a process that holds library threads can hang, and on a
    shared 2-core machine the gain was small (5.0-7.9 s against 7.6 s measured).

    ``stamp`` (see :func:`chart_stamp`) is written in a footer band below each chart.
    """
    item_n, target_n, driver_n = _names(plan)
    items = frames["items"]
    gantt_rows = items[items["campaign"].isin(gantt_campaigns(plan, items))]
    labels = {s.id: planmeta.section_label(plan, s.id, lang) for s in planmeta.sections(plan)}
    jobs: list[tuple[str, str, Callable[..., Figure]]] = []  # each called with no argument
    for section, rows in frames["targets"].groupby("section", sort=False):
        title = f"{tr('chart_targets', lang)}{tr('colon', lang)}{planmeta.section_label(plan, section, lang)}"
        jobs.append((f"targets_{section}", title,
                     lambda rows=rows, title=title: charts.target_probability_chart(
                         rows, lang=lang, title=title, section_order=planmeta.section_order(plan),
                         section_labels=labels)))
    jobs += [
        ("s_curves", tr("chart_scurves", lang), lambda: charts_time.s_curve_chart(frames["s_curves"], items, lang=lang)),
        ("gantt", tr("chart_gantt", lang), lambda: charts_time.gantt_chart(
            gantt_rows, lang=lang, end_dates=tuple(e.date for e in planmeta.end_dates(plan)))),
    ]
    for t in focus if not frames["drivers"].empty else []:
        tn = pick(target_n.get(t, (t, t)), lang)
        jobs.append((f"tornado_{t}", f"{tr('chart_tornado', lang)}{tr('colon', lang)}{tn}",
                     lambda t=t, tn=tn: charts.tornado_chart(frames["drivers"], target=t, target_name=tn,
                                                             names=driver_n, lang=lang)))
    for t in [*focus, PROGRAMME_ID]:
        tn = pick(target_n.get(t, (t, t)), lang)
        jobs.append((f"criticality_{t}", tr("chart_criticality", lang, target=tn),
                     lambda t=t, tn=tn: charts.criticality_chart(frames["criticality"], target=t, target_name=tn,
                                                                 names=item_n, lang=lang)))
    for key, title, ids in _kpi_groups(plan, frames["targets"], lang):
        fan = frames["kpi_fan"][frames["kpi_fan"]["id"].isin(ids)]
        jobs.append((key, title, lambda fan=fan, title=title: charts_time.kpi_fans_figure(
            fan, frames["kpis"], lang=lang, title=title)))
    hist_title = tr("chart_hist", lang, end=planmeta.programme_end_label(plan, lang))
    if not frames["scorecard"].empty:  # a plan without responsible units has no scorecard
        jobs.append(("scorecard", tr("chart_scorecard", lang),
                     lambda: charts.scorecard_chart(frames["scorecard"], lang=lang)))
    jobs += [
        ("targets_met", hist_title, lambda: charts.targets_met_chart(frames["targets_met"], lang=lang,
                                                                     title=hist_title)),
        ("convergence", tr("chart_convergence", lang),
         lambda: charts.convergence_chart(frames["convergence"], lang=lang,
                                          names={k: pick(v, lang) for k, v in target_n.items()})),
    ]
    jobs += list(extra_jobs)  # (key, title, make): e.g. the money charts (sim.report.cost_views)
    def draw(k: int) -> Path:
        key, _, make = jobs[k]
        fig = make()
        if stamp:
            add_footer(fig, stamp, lang=lang)
        return save(fig, out / key, lang=lang, svg=svg)[0]

    paths = _in_parallel(draw, len(jobs), workers) if workers > 1 else [draw(k) for k in range(len(jobs))]
    return [Chart(key, title, png.read_bytes()) for (key, title, _), png in zip(jobs, paths)]


_DRAW: Callable[[int], Path] | None = None  # the drawing function of _in_parallel, inherited by forked workers (closures do not pickle)


def _draw_job(k: int):
    assert _DRAW is not None  # set by _in_parallel before it forks
    return _DRAW(k)


def _in_parallel(draw, n: int, workers: int) -> list:
    """``[draw(k) for k in range(n)]`` in forked processes (charts are independent; each writes its own file)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    global _DRAW
    if "fork" not in mp.get_all_start_methods():
        return [draw(k) for k in range(n)]
    _DRAW = draw
    try:
        with ProcessPoolExecutor(min(workers, n), mp_context=mp.get_context("fork")) as pool:
            return list(pool.map(_draw_job, range(n)))
    finally:
        _DRAW = None


@dataclass(frozen=True)
class ReportInputs:
    """What both languages' reports are built from, computed once: plan, tables, focus, headline."""

    run_dir: Path
    plan: Plan
    manifest: dict
    frames: dict
    focus: list
    headline: Headline
    reference: str = ""


def _notify(progress, stage: str) -> None:
    if progress is not None:
        progress(stage)


def prepare_report(run_dir: Path, *, plan: Plan | None = None, driver_runs: int = DRIVER_RUNS,
                   compare: Path | None = None, progress=None) -> ReportInputs:
    """Load the run, compute (or read the cached) analysis tables and the headline, once for every language.

    ``compare`` is a previous run directory: the headline then says what changed
    (paired by replication). ``progress(stage)`` is called as each stage starts.
    """
    run_dir = Path(run_dir)
    plan = run_plan_of(run_dir, plan=plan)
    model = compile_plan(plan)
    manifest = read_manifest(run_dir)
    _notify(progress, "analysis (cached after the first report: risk-effect re-runs, criticality, tables)")
    frames = analysis_tables(run_dir, plan, model, driver_runs=driver_runs)
    for name in ("items", "targets", "kpis"):
        frames[name] = read_table(run_dir, f"{name}.csv")
    _notify(progress, "headline")
    reference, ref_name = None, ""
    if compare is not None:
        compare = Path(compare)
        reference = (run_plan_of(compare), met_records(compare))
        ref_name = compare.name
    head = headline(plan, met_records(run_dir), frames["targets"], effects=frames.get("programme_drivers"),
                    reference=reference, model=model)
    focus = focus_targets(frames["targets"], frames, plan=plan)
    return ReportInputs(run_dir, plan, manifest, frames, focus, head, ref_name)


def met_records(run_dir: Path) -> pd.DataFrame:
    """The ``rep`` and ``met:<target>`` columns of a run's records (all the headline reads)."""
    return read_record_kind(run_dir, "met")


class WrittenReport(TypedDict):
    """What :func:`write_report` wrote, and in which language."""

    html: Path
    xlsx: Path
    charts: Path
    lang: Lang


def write_report(run_dir: Path, *, lang: str = "zh", plan: Plan | None = None,
                 driver_runs: int = DRIVER_RUNS, compare: Path | None = None, svg: bool = False,
                 inputs: ReportInputs | None = None, progress=None) -> WrittenReport:
    """Write the HTML report, the workbook and the charts of ``run_dir`` in ``lang``.

    Parameters
    ----------
    run_dir : Path
        A finished run directory (records.parquet, items/targets/kpis.csv, manifest.json).
    lang : {"zh", "en"}
        Language of titles, headers and names. Chinese falls back to English, with
        one warning, when no CJK font is available.
    plan : Plan, optional
        The plan the run simulated; by default the run's snapshot or its params dir.
    driver_runs : int
        Replications re-simulated per risk for the risk ranking (first report only).
    compare : Path, optional
        A previous run directory; the report opens with what changed since then.
    svg : bool
        Also write each chart as SVG (PNG only by default).
    inputs : ReportInputs, optional
        :func:`prepare_report`'s result, to share between languages.
    progress : callable, optional
        Called with the name of each stage as it starts.

    Returns
    -------
    dict with keys ``html``, ``xlsx``, ``charts`` (folder) and ``lang`` (effective).
    """
    run_dir = Path(run_dir)
    lang = resolve_lang(lang)
    if inputs is None:
        inputs = prepare_report(run_dir, plan=plan, driver_runs=driver_runs, compare=compare, progress=progress)
    plan, manifest, frames, focus = inputs.plan, inputs.manifest, inputs.frames, inputs.focus
    chart_dir = run_dir / "charts" / str(lang)
    html_path, xlsx_path = run_dir / f"report.{lang}.html", run_dir / f"report.{lang}.xlsx"
    # everything is written beside its final name and renamed into place only when all of it is done,
    # so a failure (a full disk) leaves no partial chart, page or workbook
    staged = {chart_dir: chart_dir.with_name(chart_dir.name + ".partial"),
              html_path: html_path.with_name(f".{html_path.name}.partial"),
              xlsx_path: xlsx_path.with_name(f".{xlsx_path.stem}.partial.xlsx")}
    try:
        if staged[chart_dir].exists():
            shutil.rmtree(staged[chart_dir])  # inside the run directory: a failed attempt of ours
        _notify(progress, f"charts ({lang})")
        model = compile_plan(plan)
        money = cost_frames(model, RecordColumns(run_dir), run_dir)  # the money section (issue 15)
        money_jobs = [(k, tr(title, lang), make) for k, title, make in
                      cost_chart_jobs(model, money, RecordColumns(run_dir), lang)]
        chart_list = render_charts(plan, frames, focus, lang=lang, out=staged[chart_dir],
                                   stamp=chart_stamp(manifest, lang), svg=svg, extra_jobs=money_jobs)
        _notify(progress, f"HTML ({lang})")
        item_n, target_n, driver_n = _names(plan)
        d_names = {k: pick(v, lang) for k, v in driver_n.items()}
        shown = views(frames, lang, driver_names=d_names, plan=plan)
        for v in cost_views(model, money, lang):
            shown[v.key] = v
        sources = assumption_views(plan, lang)
        html_tables = [v for k, v in shown.items() if k != "convergence"]
        answer = headline_html(inputs.headline, lang, driver_names=d_names, reference=inputs.reference,
                               target_names={k: pick(v, lang) for k, v in target_n.items()},
                               end_label=planmeta.programme_end_label(plan, lang))
        staged[html_path].write_text(
            render(lang=lang, manifest=manifest, headline=headline_view(frames["targets"], lang),
                   charts=chart_list, tables=html_tables, sources=sources, plan=plan, answer=answer),
            encoding="utf-8")
        _notify(progress, f"workbook ({lang})")
        sheets = {"summary": _summary_view(manifest, frames["targets"], lang),
                  **{k: shown[k] for k in SHEETS if k in shown}, **{k: v for k, v in shown.items() if k not in SHEETS},
                  "assumptions": _assumptions_view(sources, lang)}
        write_workbook(staged[xlsx_path], sheets, lang=lang)
        if chart_dir.exists():
            shutil.rmtree(chart_dir)
        for final, tmp in staged.items():
            os.replace(tmp, final)
    except BaseException:
        for tmp in staged.values():
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            elif tmp.exists():
                tmp.unlink()
        raise
    xlsx = xlsx_path
    return {"html": html_path, "xlsx": xlsx, "charts": chart_dir, "lang": lang}


def _summary_view(manifest: dict, targets: pd.DataFrame, lang: Lang) -> View:
    keys = ("scenario", "replications", "seed", "as_of", "params", "params_hash", "package_version",
            "engine", "created_utc")
    rows = [{"key": run_key(k, lang), "value": str(manifest.get(k, ""))} for k in keys]
    head = headline_view(targets, lang).frame
    rows += [{"key": f"{r['id']} {r['name']}", "value": f"{r['p_met']:.1%} ± {r['se']:.1%}"} for _, r in head.iterrows()]
    return View("summary", pd.DataFrame(rows))


def _assumptions_view(sources: list[View], lang: Lang) -> View:
    frames = [v.frame.astype(object).where(v.frame.notna(), "").astype(str).assign(table=tr(v.key, lang))
              for v in sources]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    cols = ["table"] + [c for c in df.columns if c not in ("table", "source")] + ["source"]
    return View("assumptions", df[[c for c in cols if c in df.columns]].fillna(""))


def write_reports(run_dir: Path, *, langs=(Lang.ZH, Lang.EN), plan: Plan | None = None,
                  driver_runs: int = DRIVER_RUNS, compare: Path | None = None, svg: bool = False,
                  progress=None) -> tuple[ReportInputs, dict[str, WrittenReport]]:
    """:func:`write_report` for each language in ``langs``, the analysis and headline computed once.

    Returns the shared inputs (with the headline) and, per language, the paths written.
    """
    inputs = prepare_report(run_dir, plan=plan, driver_runs=driver_runs, compare=compare, progress=progress)
    out = {}
    for lang in langs:
        paths = write_report(run_dir, lang=lang, svg=svg, inputs=inputs, progress=progress)
        out[str(paths["lang"])] = paths
    return inputs, out


__all__ = ["ReportInputs", "analysis_tables", "focus_targets", "met_records", "prepare_report", "run_plan_of",
           "save_plan_snapshot", "write_report", "write_reports"]
