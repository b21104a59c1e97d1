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

import pandas as pd

from sim.analysis.annual import SnapshotTables
from sim.analysis.snapshot_events import annual_tables, events, target_table
from sim.model.actuals import Actuals, apply_actuals
from sim.model.entities import Plan
from sim.results import read_table, write_bytes, write_manifest, write_table, write_text


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


# --- the snapshots' tables (what changed between them: sim.analysis.snapshot_events) -------------

def _read(snap: Snapshot, name: str) -> pd.DataFrame:
    return read_table(snap.run_dir, name, dtype={"id": str})


def snapshot_tables(snaps: list[Snapshot]) -> list[SnapshotTables]:
    """The run tables of each snapshot (items, targets, KPIs), for :mod:`sim.analysis.snapshot_events`."""
    return [SnapshotTables(s.label, s.as_of, _read(s, "items.csv"), _read(s, "targets.csv"), _read(s, "kpis.csv"))
            for s in snaps]


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
    st = snapshot_tables(snaps)
    ev = events(plan, actuals, st, min_days=min_days)
    table = target_table(plan, st, ev, actuals)
    tables = annual_tables(plan, actuals, st, table)
    for name, df in (("targets", table), ("events", ev), ("campaigns", tables["campaigns"]),
                     ("units", tables["units"]), ("changes", tables["changes"]), ("sections", tables["sections"])):
        write_table(out, f"appraisal_{name}.csv", df)
    for code in langs:
        lang = Lang(code)
        charts = []
        for key, fig in (("status", plot_status(tables["campaigns"], plan, lang=lang)),
                         ("targets", plot_targets(tables["changes"], plan, lang=lang))):
            png = png_bytes(fig)
            write_bytes(out / f"appraisal_{key}.{lang}.png", png)
            charts.append(Chart(f"appraisal_{key}", fig.axes[0].get_title(loc="left"), png))
        page = appraisal_page(lang=lang, plan=plan, actuals=actuals, snaps=snaps, tables=tables, charts=charts,
                              replications=config.runs)
        write_text(out / f"appraisal.{lang}.html", page)
    md = summary_markdown(tables["campaigns"], tables["changes"], tables["sections"], actuals=actuals, snaps=snaps)
    write_text(out / "appraisal.md", md)
    meta = {"actuals": actuals.manifest(), "plan_as_of": plan.as_of, "years": sorted(set(map(int, years))),
            "snapshots": [{"label": s.label, "as_of": s.as_of, "run": str(final / "snapshots" / s.label)}
                          for s in snaps]}
    write_manifest(out, meta)
    return table, snaps
