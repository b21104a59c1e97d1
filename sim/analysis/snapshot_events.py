"""What changed between appraisal snapshots, and why: events, the target table, the annual tables.

Pandas in, pandas out: each snapshot comes as :class:`sim.analysis.annual.SnapshotTables`
(its label, as-of date and run tables ``items``, ``targets``, ``kpis``), the facts as
:class:`sim.model.actuals.Actuals`. No simulation and no file happens here; the
snapshots are run and their tables read by :mod:`sim.studies.appraise`.

* :func:`events` -- between consecutive snapshots, the items that finished or started
  (facts newly known), slipped or gained (P50 finish moved by at least ``min_days``),
  and the KPIs that moved (a P50 at a common checkpoint that moved by at least
  :data:`KPI_MOVE`);
* :func:`target_table` -- every target's P(met) at every snapshot, its change from the
  previous snapshot and the reasons (:func:`why_text`);
* :func:`annual_tables` -- per year: items due and done per campaign and per lead unit,
  target changes and targets per section (:mod:`sim.analysis.annual`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.analysis import annual
from sim.analysis.annual import SnapshotTables, refs_closure
from sim.model.actuals import ITEM_KINDS, KPI_KINDS, Actuals, FactKind
from sim.model.entities import Plan

KPI_MOVE = 0.05  # relative change of a KPI's P50 worth reporting
MAX_REASONS = 4


def events(plan: Plan, actuals: Actuals, snaps: Sequence[SnapshotTables], *, min_days: int = 30) -> pd.DataFrame:
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


def _slips(prev: SnapshotTables, cur: SnapshotTables, names, base, *, min_days: int, reported: set[str]) -> list[dict]:
    a = prev.items.set_index("id")
    b = cur.items.set_index("id")
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


def _kpi_moves(prev: SnapshotTables, cur: SnapshotTables, names, base) -> list[dict]:
    a, b = prev.kpis, cur.kpis
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


def target_table(plan: Plan, snaps: Sequence[SnapshotTables], ev: pd.DataFrame, actuals: Actuals | None = None) -> pd.DataFrame:
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
        tt = snap.targets.set_index("id")
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


def annual_tables(plan: Plan, actuals: Actuals, snaps: Sequence[SnapshotTables], table: pd.DataFrame) -> dict:
    """Per year: items due and done per campaign and per lead unit, target changes and targets per section."""
    st = list(snaps)
    changes = annual.target_changes(plan, actuals.facts, st)
    return {"campaigns": annual.due_table(plan, actuals.facts, st, by="campaign"),
            "units": annual.due_table(plan, actuals.facts, st, by="unit"),
            "changes": changes, "sections": annual.target_due_table(changes), "targets": table,
            "why": {(str(r.snapshot), r.id): r.why for r in table.itertuples() if isinstance(r.why, str) and r.why}}
