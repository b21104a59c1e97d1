"""Appraisal snapshots (年度比拼): the forecast as of the plan date and each year end, and why it moved.

For each snapshot date (the plan's own as-of date, then YYYY-12-31 of each
year asked for) the plan is moved to that date with the facts reported by then
(:func:`sim.model.actuals.apply_actuals`) and simulated into its own run directory
(``<out>/snapshots/<label>/``, a normal run that ``sim backtest`` can score).
The year-by-year view is built from those runs:

* ``appraisal_targets.csv``: every target's P(met) at every snapshot, its change
  from the previous snapshot and the reasons;
* ``appraisal_events.csv``: between consecutive snapshots, the items that
  finished or started (facts newly known), slipped or gained (P50 finish moved
  by at least ``min_days``), and the KPIs that moved (new observations, or a
  P50 at a common checkpoint that moved by at least 5 %);
* ``appraisal.png``: P(met) per headline target across the snapshots;
* ``appraisal.md`` and ``appraisal.html``: a short summary.

The chart and the summaries are drawn by :mod:`sim.report.appraisal`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from sim.model.actuals import ITEM_KINDS, KPI_KINDS, Actuals, FactKind, apply_actuals
from sim.analysis.annual import refs_closure
from sim.results import write_manifest
from sim.model.entities import Plan

KPI_MOVE = 0.05  # relative change of a KPI's P50 worth reporting
MAX_REASONS = 4


@dataclass(frozen=True)
class Snapshot:
    """One appraisal snapshot: its label, as-of date, run directory and the notes of moving the plan."""

    label: str
    as_of: date
    run_dir: Path
    notes: tuple[str, ...] = ()


def snapshot_dates(plan: Plan, years) -> list[tuple[str, date]]:
    """``("baseline", plan date)`` then ``("YYYY", YYYY-12-31)`` for each year, in order."""
    from sim.model.planmeta import programme_end

    out = [("baseline", plan.as_of)]
    last = programme_end(plan).year
    for y in sorted(set(int(y) for y in years)):
        if not plan.as_of.year <= y <= last:
            raise ValueError(f"--years {y}: outside the plan ({plan.as_of.year}-{last}); "
                             "a snapshot is the end of a year of the plan")
        d = date(y, 12, 31)
        if d < plan.as_of:
            raise ValueError(f"year {y} ends before the plan's as-of date {plan.as_of}")
        if d > plan.as_of:
            out.append((str(y), d))
    return out


def run_snapshots(plan: Plan, actuals: Actuals, *, years, config, out: Path, params_digest: str = "") -> list[Snapshot]:
    """Simulate the plan as of each snapshot date with only the facts reported by then."""
    from sim.studies.workflow import run_plan

    snaps = []
    for label, as_of in snapshot_dates(plan, years):
        notes: list[str] = []
        moved = apply_actuals(plan, actuals.facts, as_of, notes=notes)
        extra = {"actuals": actuals.manifest(as_of), "plan_as_of": plan.as_of, "actuals_notes": notes,
                 "snapshot": label}
        run = run_plan(moved, config=config, out=Path(out) / "snapshots" / label, scenario=f"appraisal-{label}",
                       params_digest=params_digest, extra_manifest=extra)
        snaps.append(Snapshot(label, as_of, run, tuple(notes)))
    return snaps


# --- what changed between snapshots -------------------------------------------------------------

def _read(snap: Snapshot, name: str) -> pd.DataFrame:
    return pd.read_csv(snap.run_dir / name, dtype={"id": str})


def events(plan: Plan, actuals: Actuals, snaps: list[Snapshot], *, min_days: int = 30) -> pd.DataFrame:
    """What happened between consecutive snapshots (one row per event)."""
    names = {it.id: it.name_en for it in plan.items} | {k.id: k.name_en for k in plan.kpis}
    rows = []
    for prev, cur in zip(snaps, snaps[1:]):
        base = {"from": prev.label, "to": cur.label}
        new = [f for f in actuals.known_by(cur.as_of) if not f.known_by(prev.as_of)]
        for f in sorted(new, key=lambda f: (f.date, f.id)):
            rows.append({**base, "kind": _FACT_EVENT[f.kind], "id": f.id, "name_en": names.get(f.id, ""),
                         "detail": fact_text(f), "days": 0.0, "source": f.source})
        reported = {f.id for f in actuals.known_by(cur.as_of) if f.kind in ITEM_KINDS}
        rows += _slips(prev, cur, names, base, min_days=min_days, reported=reported)
        rows += _kpi_moves(prev, cur, names, base)
    return pd.DataFrame(rows, columns=["from", "to", "kind", "id", "name_en", "detail", "days", "source"])


_FACT_EVENT = {FactKind.FINISH: "finished", FactKind.START: "started", FactKind.PROGRESS: "progress",
               FactKind.KPI: "kpi", FactKind.UNFINISHED: "progress", FactKind.KPI_AT_LEAST: "kpi",
               FactKind.SHOCK: "shock"}


def fact_text(f) -> str:
    """A fact in a few words, e.g. ``finished 2021-12-31`` or ``60% done on 2021-06-30``."""
    if f.kind is FactKind.PROGRESS:
        return f"{f.value:.0%} done on {f.date}"
    if f.kind is FactKind.KPI:
        return f"observed {f.value:g} on {f.date}"
    if f.kind is FactKind.UNFINISHED:
        return f"not finished on {f.date}" + ("" if f.value is None else f", {f.value:.0%} done")
    if f.kind is FactKind.KPI_AT_LEAST:
        return f"at least {f.value:g} on {f.date}"
    if f.kind is FactKind.SHOCK:
        return f"began {f.date}, {f.value:g} days" if f.value else f"had not happened by {f.date}"
    return f"{_FACT_EVENT[f.kind]} {f.date}"


def _slips(prev: Snapshot, cur: Snapshot, names, base, *, min_days: int, reported: set[str]) -> list[dict]:
    a = _read(prev, "items.csv").set_index("id")
    b = _read(cur, "items.csv").set_index("id")
    common = a.index.intersection(b.index)
    p0 = pd.to_datetime(a.loc[common, "p50_finish"])
    p1 = pd.to_datetime(b.loc[common, "p50_finish"])
    moved = (p1 - p0).dt.days
    rows = []
    for iid, days in moved.items():
        if pd.isna(days) or abs(days) < min_days or p1[iid].date() < cur.as_of:
            continue  # small moves are noise; an item finished by now is explained by its finish
        rows.append({**base, "kind": "slipped" if days > 0 else "gained", "id": iid, "name_en": names.get(iid, ""),
                     "detail": f"P50 finish {p0[iid].date()} -> {p1[iid].date()} ({int(days):+d} d)"
                               + ("" if iid in reported else ", nothing reported"),
                     "days": float(days), "source": "forecast"})
    return sorted(rows, key=lambda r: -abs(r["days"]))


def _kpi_moves(prev: Snapshot, cur: Snapshot, names, base) -> list[dict]:
    a, b = _read(prev, "kpis.csv"), _read(cur, "kpis.csv")
    if a.empty or b.empty:
        return []
    m = a.merge(b, on=["id", "checkpoint"], suffixes=("_0", "_1"))
    rows = []
    for kid, g in m.groupby("id", sort=False):
        r = g.iloc[-1]  # the last checkpoint both snapshots record
        rel = (r.p50_1 - r.p50_0) / abs(r.p50_0) if r.p50_0 else np.inf if r.p50_1 else 0.0
        if abs(rel) >= KPI_MOVE:
            rows.append({**base, "kind": "kpi", "id": kid, "name_en": names.get(kid, ""),
                         "detail": f"P50 at {r.checkpoint}: {r.p50_0:.4g} -> {r.p50_1:.4g} ({rel:+.0%})",
                         "days": float(rel), "source": "forecast"})
    return rows


def target_table(plan: Plan, snaps: list[Snapshot], ev: pd.DataFrame, actuals: Actuals | None = None) -> pd.DataFrame:
    """Every target at every snapshot: P(met), standard error, change from the previous snapshot, why.

    ``kpi_unobserved`` lists the target's KPIs with no value reported by the
    snapshot (after the baseline): their start is the roll-forward assumption
    (actuals/README.md), so a change there is not information.
    """
    rows = []
    closure = {t.id: refs_closure(plan, t.id) for t in plan.targets}
    kpi_ids = {k.id for k in plan.kpis}
    prev = None
    for snap in snaps:
        tt = _read(snap, "targets.csv").set_index("id")
        seen = {f.id for f in (actuals.known_by(snap.as_of) if actuals else ()) if f.kind in KPI_KINDS}
        for t in plan.targets:
            if t.id not in tt.index:
                continue
            p = float(tt.loc[t.id, "p_met"])
            change = np.nan if prev is None or t.id not in prev[1].index else p - float(prev[1].loc[t.id, "p_met"])
            unobserved: list[str] = sorted(closure[t.id] & kpi_ids - seen) if prev is not None else []
            why = ""
            if prev is not None:
                why = why_text(ev[(ev["to"] == snap.label) & ev["id"].isin(closure[t.id])])
                if unobserved and abs(change) > 0:
                    why = "; ".join(filter(None, [why, f"no value reported for {', '.join(unobserved)}: "
                                                       "simulated from the plan date"]))
            rows.append({"snapshot": snap.label, "as_of": snap.as_of, "id": t.id, "section": t.section,
                         "name_zh": t.name_zh, "name_en": t.name_en, "deadline": t.deadline, "p_met": p,
                         "se": float(tt.loc[t.id, "se"]), "change": change, "why": why,
                         "kpi_unobserved": ";".join(unobserved)})
        prev = (snap, tt)
    return pd.DataFrame(rows)


def why_text(ev: pd.DataFrame) -> str:
    """The reasons for a change, most important first: finishes, starts, slips, gains, KPI moves."""
    if ev.empty:
        return ""
    order = {"finished": 0, "started": 1, "progress": 2, "slipped": 3, "gained": 4, "kpi": 5, "shock": 6}
    ev = ev.assign(o=ev["kind"].map(order), m=-ev["days"].abs()).sort_values(["o", "m"])
    parts = [f"{r.id} {r.detail}" for r in ev.itertuples()]
    more = len(parts) - MAX_REASONS
    return "; ".join(parts[:MAX_REASONS]) + (f"; +{more} more" if more > 0 else "")


def snapshot_tables(snaps: list[Snapshot]):
    """The run tables of each snapshot, for :mod:`sim.analysis.annual`."""
    from sim.analysis.annual import SnapshotTables

    return [SnapshotTables(s.label, s.as_of, _read(s, "items.csv"), _read(s, "targets.csv")) for s in snaps]


def annual_tables(plan: Plan, actuals: Actuals, snaps: list[Snapshot], table: pd.DataFrame) -> dict:
    """Per year: items due and done per campaign and per lead unit, target changes and targets per section."""
    from sim.analysis import annual

    st = snapshot_tables(snaps)
    changes = annual.target_changes(plan, actuals.facts, st)
    return {"campaigns": annual.due_table(plan, actuals.facts, st, by="campaign"),
            "units": annual.due_table(plan, actuals.facts, st, by="unit"),
            "changes": changes, "sections": annual.target_due_table(changes), "targets": table,
            "why": {(str(r.snapshot), r.id): r.why for r in table.itertuples() if isinstance(r.why, str) and r.why}}


def appraise(plan: Plan, actuals: Actuals, *, years, config, out: Path, params_digest: str = "",
             min_days: int = 30, force: bool = False, langs=("zh", "en")) -> tuple[pd.DataFrame, list[Snapshot]]:
    """Run the snapshots and write the appraisal tables, charts and pages into ``out``.

    Written: ``appraisal_targets.csv`` (every target at every snapshot),
    ``appraisal_events.csv``, ``appraisal_campaigns.csv`` and
    ``appraisal_units.csv`` (per year: due, done, P(met) now against a year
    ago), ``appraisal_changes.csv`` (each target's change and its kind),
    ``appraisal_sections.csv``, per language ``appraisal.<lang>.html`` with
    its charts ``appraisal_status.<lang>.png`` and ``appraisal_targets.<lang>.png``,
    ``appraisal.md`` and ``manifest.json``.

    Everything is written into ``<out>.partial`` and renamed to ``out`` when
    complete (:class:`sim.safety.StagedDir`; ``force`` replaces an earlier
    appraisal of the tool), so a failure leaves no partial snapshot behind.
    Returns the target table (long) and the snapshots.
    """
    from sim.safety import StagedDir

    snapshot_dates(plan, years)  # bad years are refused before anything is written
    final = Path(out)
    stage = StagedDir(final, kind="appraisal", force=force)
    try:
        table, snaps = _appraise_into(stage.path, plan, actuals, years=years, config=config,
                                      params_digest=params_digest, min_days=min_days, final=final, langs=langs)
    except BaseException:
        stage.abort()
        raise
    stage.commit()
    return table, [Snapshot(s.label, s.as_of, final / "snapshots" / s.label, s.notes) for s in snaps]


def _appraise_into(out: Path, plan: Plan, actuals: Actuals, *, years, config, params_digest: str, min_days: int,
                   final: Path, langs) -> tuple[pd.DataFrame, list[Snapshot]]:
    from sim.report.appraisal import appraisal_page, plot_status, plot_targets, png_bytes, summary_markdown
    from sim.report.fonts import Lang
    from sim.report.html import Chart

    snaps = run_snapshots(plan, actuals, years=years, config=config, out=out, params_digest=params_digest)
    ev = events(plan, actuals, snaps, min_days=min_days)
    table = target_table(plan, snaps, ev, actuals)
    tables = annual_tables(plan, actuals, snaps, table)
    for name, df in (("targets", table), ("events", ev), ("campaigns", tables["campaigns"]),
                     ("units", tables["units"]), ("changes", tables["changes"]), ("sections", tables["sections"])):
        df.to_csv(out / f"appraisal_{name}.csv", index=False, encoding="utf-8")
    for code in langs:
        lang = Lang(code)
        charts = []
        for key, fig in (("status", plot_status(tables["campaigns"], plan, lang=lang)),
                         ("targets", plot_targets(tables["changes"], plan, lang=lang))):
            png = png_bytes(fig)
            (out / f"appraisal_{key}.{lang}.png").write_bytes(png)
            charts.append(Chart(f"appraisal_{key}", fig.axes[0].get_title(loc="left"), png))
        page = appraisal_page(lang=lang, plan=plan, actuals=actuals, snaps=snaps, tables=tables, charts=charts,
                              replications=config.runs)
        (out / f"appraisal.{lang}.html").write_text(page, encoding="utf-8")
    md = summary_markdown(tables["campaigns"], tables["changes"], tables["sections"], actuals=actuals, snaps=snaps)
    (out / "appraisal.md").write_text(md, encoding="utf-8")
    meta = {"actuals": actuals.manifest(), "plan_as_of": plan.as_of, "years": sorted(set(map(int, years))),
            "snapshots": [{"label": s.label, "as_of": s.as_of, "run": str(final / "snapshots" / s.label)}
                          for s in snaps]}
    write_manifest(out, meta)
    return table, snaps
