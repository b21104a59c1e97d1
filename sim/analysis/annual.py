"""The annual appraisal (年度比拼) per year, campaign and responsible unit, from facts and snapshot tables.

For each appraisal year Y (snapshot on Y-12-31, compared with the snapshot a
year before, or the plan date for the first year):

* :func:`item_status` -- what each item is at a snapshot date, from the facts
  reported by then: ``done_on_time``, ``done_late``, ``open`` (reported but
  not finished) or ``no_report`` (nothing reported: not known either way);
* :func:`due_table` -- per year and group (campaign or lead unit): the items
  due that year, how many were done on time, late, reported open, not
  reported; the share on time among those with a report now (``no data`` when
  none has one, never 0 %) against the forecast a year ago;
* :func:`target_changes` -- every target's P(met) now against a year ago,
  with the kind of change: ``reported`` (a fact about its items or KPIs was
  newly reported, and every one of them not yet done has a report in the
  year), ``mixed`` (new reports on some, nothing on others), ``unreported`` (it moved although nothing about it was
  reported: the move is the "unreported = unfinished / expected value" rule,
  not news), or ``none`` (within twice the Monte Carlo s.e. of the difference);
  a target past its deadline whose items or KPIs have no report is ``no_data``;
* :func:`target_due_table` -- per year and section: targets due that year, met,
  not met and without data.

Inputs are plain: the plan, the facts (``kind``/``id``/``date``/``reported``)
and, per snapshot, its ``items.csv`` and ``targets.csv`` as DataFrames. No
simulation happens here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise

import numpy as np
import pandas as pd

from sim.model import planmeta
from sim.model.entities import Plan
from sim.model.enums import Status

ITEM_FACTS = frozenset({"start", "finish", "progress", "unfinished"})
STATUSES = ("done_on_time", "done_late", "open", "no_report")
NOISE_Z = 2.0  # a change within NOISE_Z x its s.e. is not a change


@dataclass(frozen=True)
class SnapshotTables:
    """One snapshot's label, as-of date and run tables (items.csv, targets.csv, kpis.csv)."""

    label: str
    as_of: date
    items: pd.DataFrame
    targets: pd.DataFrame
    kpis: pd.DataFrame = field(default_factory=pd.DataFrame)


def _known(facts: Iterable, as_of: date) -> list:
    return [f for f in facts if f.reported <= as_of]


def item_status(plan: Plan, facts: Iterable, as_of: date, *, since: date) -> pd.DataFrame:
    """Each item's status on ``as_of`` from the facts reported by then.

    ``open`` needs a start, progress or unfinished fact dated after ``since``
    (a report in the period appraised); an older report only does not say the
    item is still open. Items done in params count as done on time.
    """
    known = [f for f in _known(facts, as_of) if str(f.kind) in ITEM_FACTS]
    finish = {f.id: f.date for f in known if str(f.kind) == "finish" and f.date <= as_of}
    recent = {f.id for f in known if str(f.kind) != "finish" and f.date > since}
    rows = []
    for it in plan.items:
        if it.id in finish:
            status = "done_on_time" if finish[it.id] <= it.plan_finish else "done_late"
        elif it.status is Status.DONE:
            status = "done_on_time"
        elif it.id in recent:
            status = "open"
        else:
            status = "no_report"
        rows.append({"id": it.id, "campaign": it.campaign, "lead_units": it.lead_units or it.units,
                     "plan_finish": it.plan_finish, "status": status, "finish": finish.get(it.id)})
    return pd.DataFrame(rows)


def snapshot_pairs(snaps: Sequence[SnapshotTables]) -> list[tuple[SnapshotTables, SnapshotTables]]:
    """(a year ago, now) for every snapshot after the first."""
    return list(pairwise(snaps))


def due_table(plan: Plan, facts: Iterable, snaps: Sequence[SnapshotTables], *, by: str) -> pd.DataFrame:
    """Per appraisal year and ``by`` group ("campaign" or "unit"): what was due, what was done.

    Items of external campaigns are left out; an item counts for each of its
    lead units. Columns: ``year``, ``group``, ``due``, ``done_on_time``,
    ``done_late``, ``open``, ``no_report``, ``reported`` (= due - no_report),
    ``p_met`` (share done on time among the reported; NaN = no data),
    ``p_met_year_ago`` (mean forecast P(by plan date) of the same items a year
    ago), ``change`` (NaN when no data).
    """
    if by not in ("campaign", "unit"):
        raise ValueError(f"by must be 'campaign' or 'unit', not {by!r}")
    facts = tuple(facts)
    external = planmeta.external_campaigns(plan)
    rows = []
    for prev, cur in snapshot_pairs(snaps):
        status = item_status(plan, facts, cur.as_of, since=prev.as_of)
        status = status[~status["campaign"].isin(external)]
        due = status[(status["plan_finish"] > prev.as_of) & (status["plan_finish"] <= cur.as_of)]
        if by == "unit":
            due = due.explode("lead_units").rename(columns={"lead_units": "group"})
        else:
            due = due.assign(group=due["campaign"])
        ago = prev.items.set_index("id")["p_by_plan"]
        for group, g in due.groupby("group", sort=False):
            counts = g["status"].value_counts()
            n = {s: int(counts.get(s, 0)) for s in STATUSES}
            reported = len(g) - n["no_report"]
            p_now = n["done_on_time"] / reported if reported else np.nan
            p_ago = float(ago.reindex(g["id"]).mean())
            rows.append({"year": cur.label, "as_of": cur.as_of, "group": group, "due": len(g), **n,
                         "reported": reported, "p_met": p_now, "p_met_year_ago": p_ago, "change": p_now - p_ago})
    cols = ["year", "as_of", "group", "due", *STATUSES, "reported", "p_met", "p_met_year_ago", "change"]
    return pd.DataFrame(rows, columns=cols)


def refs_closure(plan: Plan, target_id: str) -> set[str]:
    """Item and KPI ids a target depends on, through the targets it refers to."""
    targets = {t.id: t for t in plan.targets}
    seen, stack, out = set(), [target_id], set()
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        seen.add(t)
        for r in targets[t].refs:
            if r in targets:
                stack.append(r)
            else:
                out.add(r)
    return out


def _has_data(plan: Plan, closure: set[str], known: list, *, deadline: date) -> bool:
    """Whether every item and KPI of a target has a report: items finished (or done in params) or reported
    open after the deadline's year began; KPIs observed within a year before the deadline or after it."""
    done = {it.id for it in plan.items if it.status is Status.DONE}
    kpis = {k.id for k in plan.kpis}
    year_start = date(deadline.year, 1, 1)
    for ref in closure:
        about = [f for f in known if f.id == ref]
        if ref in kpis:
            ok = any(str(f.kind) in ("kpi", "kpi_at_least") and f.date >= deadline - timedelta(days=366)
                     for f in about)
        else:
            ok = ref in done or any(str(f.kind) == "finish" or f.date >= year_start for f in about)
        if not ok:
            return False
    return True


def target_changes(plan: Plan, facts: Iterable, snaps: Sequence[SnapshotTables]) -> pd.DataFrame:
    """Every target at every snapshot after the first: P(met) now against a year ago, and why it moved.

    Columns: ``year``, ``id``, ``section``, ``deadline``, ``status`` ("forecast"
    before the deadline; after it "met", "not met" or "no_data"), ``p_met``
    (NaN when no data), ``p_met_year_ago``, ``change``, ``se_change``,
    ``new_facts`` (ids of its items/KPIs with a fact newly reported),
    ``change_kind`` ("reported", "mixed", "unreported", "none", "no_data").
    """
    facts = tuple(facts)
    closure = {t.id: refs_closure(plan, t.id) for t in plan.targets}
    kpi_ids = {k.id for k in plan.kpis}
    rows = []
    for prev, cur in snapshot_pairs(snaps):
        known = _known(facts, cur.as_of)
        fresh = {f.id for f in known if f.reported > prev.as_of}
        status_now = item_status(plan, facts, cur.as_of, since=prev.as_of).set_index("id")["status"]
        silent = set(status_now.index[status_now == "no_report"]) | (kpi_ids - fresh)
        a, b = prev.targets.set_index("id"), cur.targets.set_index("id")
        for t in plan.targets:
            if t.id not in a.index or t.id not in b.index:
                continue
            p0, s0 = float(a.loc[t.id, "p_met"]), float(a.loc[t.id, "se"])
            p1, s1 = float(b.loc[t.id, "p_met"]), float(b.loc[t.id, "se"])
            new = sorted(closure[t.id] & fresh)
            se = float(np.hypot(s0, s1))
            if t.deadline <= cur.as_of:
                if _has_data(plan, closure[t.id], known, deadline=t.deadline) or (
                        p1 == 1.0 and not closure[t.id] & kpi_ids):
                    # decided by facts (certain), or still a forecast from the facts (a KPI due today)
                    status = "met" if p1 >= 1.0 - 1e-12 else "not met" if p1 <= 1e-12 else "forecast"
                else:
                    status, p1 = "no_data", np.nan
            else:
                status = "forecast"
            change = p1 - p0
            if status == "no_data":
                kind = "no_data"
            elif abs(change) <= NOISE_Z * se or change == 0:
                kind = "none"
            elif new:
                kind = "mixed" if closure[t.id] & silent else "reported"
            else:
                kind = "unreported"
            rows.append({"year": cur.label, "year_ago": prev.label, "as_of": cur.as_of, "id": t.id, "section": t.section,
                         "name_zh": t.name_zh, "name_en": t.name_en, "deadline": t.deadline, "status": status,
                         "p_met": p1, "p_met_year_ago": p0, "change": change, "se_change": se,
                         "new_facts": ";".join(new), "change_kind": kind})
    cols = ["year", "year_ago", "as_of", "id", "section", "name_zh", "name_en", "deadline", "status", "p_met",
            "p_met_year_ago", "change", "se_change", "new_facts", "change_kind"]
    return pd.DataFrame(rows, columns=cols)


def target_due_table(changes: pd.DataFrame) -> pd.DataFrame:
    """Per year and section: targets due that year (deadline in the year), met, not met, no data, still a
    forecast (a KPI due on the snapshot date, simulated from a value reported before it);
    and, of all targets, how many moved with a report and how many moved with nothing reported."""
    rows = []
    for (year, section), g in changes.groupby(["year", "section"], sort=False):
        as_of = g["as_of"].iloc[0]
        due = g[pd.to_datetime(g["deadline"]).dt.year == pd.Timestamp(as_of).year]
        st = due["status"].value_counts()
        kinds = g["change_kind"].value_counts()
        rows.append({"year": year, "group": section, "due": len(due), "met": int(st.get("met", 0)),
                     "not_met": int(st.get("not met", 0)), "no_data": int(st.get("no_data", 0)),
                     "forecast": int(st.get("forecast", 0)),
                     "moved_reported": int(kinds.get("reported", 0)), "moved_mixed": int(kinds.get("mixed", 0)),
                     "moved_unreported": int(kinds.get("unreported", 0))})
    return pd.DataFrame(rows, columns=["year", "group", "due", "met", "not_met", "no_data", "forecast", "moved_reported",
                                       "moved_mixed", "moved_unreported"])
