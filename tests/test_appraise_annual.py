"""The appraisal per year, campaign, unit and section (sim.analysis.annual) against direct counts.

Small synthetic plans with random facts and random snapshot tables: every
count of the per-year tables is recounted here item by item, the shares are
recomputed from those counts, and "no data" is NaN (never 0 or 1).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from itertools import pairwise

import numpy as np
import pandas as pd
import planfactory as pf
import pytest

from sim.model.actuals import Fact, FactKind
from sim.analysis.annual import (
    SnapshotTables,
    due_table,
    item_status,
    target_changes,
    target_due_table,
)
from sim.model.entities import Target, Unit
from sim.model.enums import Status, TargetRule

SNAP_DATES = [("baseline", pf.AS_OF), ("2020", date(2020, 12, 31)), ("2021", date(2021, 12, 31))]
CAMPAIGNS = ("block", "transport", "environment")
UNITS = ("U1", "U2", "U3")


def random_case(seed: int):
    """A plan of 30 items (random campaign, lead units, due date), random facts and random snapshot tables."""
    rng = np.random.default_rng(seed)
    items = []
    for n in range(30):
        due = pf.AS_OF + timedelta(days=int(rng.integers(10, 760)))
        units = tuple(sorted(rng.choice(UNITS, size=int(rng.integers(1, 3)), replace=False)))
        it = pf.item(f"I{n:02d}", 10, campaign=str(rng.choice(CAMPAIGNS)))
        items.append(replace(it, plan_finish=due, units=units, lead_units=units))
    facts = []
    for it in items:
        u = rng.random()
        if u < 0.4:  # finished, on time or late, reported after a lag
            when = it.plan_finish + timedelta(days=int(rng.integers(-60, 200)))
            facts.append(Fact(FactKind.FINISH, it.id, when, when + timedelta(days=int(rng.integers(0, 60))),
                              None, "t"))
        elif u < 0.7:  # a progress report
            when = pf.AS_OF + timedelta(days=int(rng.integers(5, 720)))
            facts.append(Fact(FactKind.PROGRESS, it.id, when, when + timedelta(days=int(rng.integers(0, 30))),
                              float(rng.uniform(0.1, 0.9)), "t"))
    targets = [Target(f"TG_{it.id}", it.id, it.id, "s1" if k % 2 else "s2", TargetRule.ITEM_BY, (it.id,),
                      it.plan_finish) for k, it in enumerate(items)]
    plan = pf.plan(items, targets=targets)
    plan = replace(plan, units=tuple(Unit(u, u, u) for u in UNITS))
    snaps = []
    for label, as_of in SNAP_DATES:
        p = rng.uniform(0, 1, len(items))
        snaps.append(SnapshotTables(label, as_of,
                                    pd.DataFrame({"id": [i.id for i in items], "p_by_plan": p}),
                                    pd.DataFrame({"id": [t.id for t in targets], "p_met": rng.uniform(0, 1, 30),
                                                  "se": rng.uniform(0, 0.05, 30)})))
    return plan, facts, snaps


def direct_status(it, facts, as_of, since) -> str:
    """The status of one item, counted here from the rule in words (README, sim.analysis.annual)."""
    mine = [f for f in facts if f.id == it.id and f.reported <= as_of]
    done = [f for f in mine if f.kind is FactKind.FINISH and f.date <= as_of]
    if done:
        return "done_on_time" if done[0].date <= it.plan_finish else "done_late"
    if it.status is Status.DONE:
        return "done_on_time"
    if any(f.kind is not FactKind.FINISH and f.date > since for f in mine):
        return "open"
    return "no_report"


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("by", ["campaign", "unit"])
def test_due_table_equals_direct_counts(seed: int, by: str):
    plan, facts, snaps = random_case(seed)
    table = due_table(plan, facts, snaps, by=by)
    expected = 0
    for prev, cur in pairwise(snaps):
        ago = dict(zip(prev.items["id"], prev.items["p_by_plan"]))
        for group in (CAMPAIGNS if by == "campaign" else UNITS):
            due = [it for it in plan.items if prev.as_of < it.plan_finish <= cur.as_of
                   and (it.campaign == group if by == "campaign" else group in it.lead_units)]
            rows = table[(table["year"] == cur.label) & (table["group"] == group)]
            if not due:
                assert rows.empty
                continue
            expected += 1
            row = rows.iloc[0]
            status = [direct_status(it, facts, cur.as_of, prev.as_of) for it in due]
            assert row["due"] == len(due)
            for s in ("done_on_time", "done_late", "open", "no_report"):
                assert row[s] == status.count(s), (cur.label, group, s)
            reported = len(due) - status.count("no_report")
            if reported:
                assert row["p_met"] == pytest.approx(status.count("done_on_time") / reported)
            else:
                assert np.isnan(row["p_met"])  # no data, never 0 %
            assert row["p_met_year_ago"] == pytest.approx(np.mean([ago[it.id] for it in due]))
    assert len(table) == expected


def test_no_report_is_not_done_and_old_reports_do_not_count():
    it = replace(pf.item("A", 10), plan_finish=date(2020, 6, 30))
    plan = pf.plan([it])
    old = Fact(FactKind.PROGRESS, "A", date(2020, 3, 1), date(2020, 3, 1), 0.5, "t")
    st = item_status(plan, [old], date(2020, 12, 31), since=pf.AS_OF)
    assert st.loc[0, "status"] == "open"
    # a year later the March 2020 report says nothing about 2021
    assert item_status(plan, [old], date(2021, 12, 31), since=date(2020, 12, 31)).loc[0, "status"] == "no_report"
    # a finish known only after the snapshot does not count
    late = Fact(FactKind.FINISH, "A", date(2020, 12, 20), date(2021, 1, 10), None, "t")
    assert item_status(plan, [late], date(2020, 12, 31), since=pf.AS_OF).loc[0, "status"] == "no_report"


def _snap(label, as_of, p, se=0.01):
    return SnapshotTables(label, as_of, pd.DataFrame({"id": ["A", "B"], "p_by_plan": [0.5, 0.5]}),
                          pd.DataFrame({"id": ["TA", "TB", "TAB"], "p_met": p, "se": [se] * 3}))


def test_change_kinds_separate_reports_from_silence():
    a = replace(pf.item("A", 10), plan_finish=date(2022, 6, 30))
    b = replace(pf.item("B", 10), plan_finish=date(2022, 6, 30))
    targets = [Target("TA", "a", "a", "s", TargetRule.ITEM_BY, ("A",), date(2022, 6, 30)),
               Target("TB", "b", "b", "s", TargetRule.ITEM_BY, ("B",), date(2022, 6, 30)),
               Target("TAB", "ab", "ab", "s", TargetRule.ALL_OF, ("TA", "TB"), date(2022, 6, 30))]
    plan = pf.plan([a, b], targets=targets)
    facts = [Fact(FactKind.PROGRESS, "A", date(2020, 11, 30), date(2020, 12, 10), 0.4, "t")]
    snaps = [_snap("baseline", pf.AS_OF, [0.5, 0.5, 0.3]), _snap("2020", date(2020, 12, 31), [0.7, 0.3, 0.2])]
    ch = target_changes(plan, facts, snaps).set_index("id")
    assert ch.loc["TA", "change_kind"] == "reported" and ch.loc["TA", "new_facts"] == "A"
    assert ch.loc["TB", "change_kind"] == "unreported"
    assert ch.loc["TAB", "change_kind"] == "mixed"  # news on A, silence on B
    # within twice the s.e. of the difference: no change
    snaps = [_snap("baseline", pf.AS_OF, [0.5, 0.5, 0.3], se=0.05), _snap("2020", date(2020, 12, 31),
                                                                          [0.6, 0.4, 0.3], se=0.05)]
    assert set(target_changes(plan, facts, snaps)["change_kind"]) == {"none"}


def test_past_deadline_without_reports_is_no_data_not_zero():
    a = replace(pf.item("A", 10), plan_finish=date(2020, 6, 30))
    b = replace(pf.item("B", 10), plan_finish=date(2020, 6, 30))
    targets = [Target("TA", "a", "a", "s", TargetRule.ITEM_BY, ("A",), date(2020, 6, 30)),
               Target("TB", "b", "b", "s", TargetRule.ITEM_BY, ("B",), date(2020, 6, 30)),
               Target("TAB", "ab", "ab", "s", TargetRule.K_OF_N, ("TA", "TB"), date(2020, 6, 30), k=1)]
    plan = pf.plan([a, b], targets=targets)
    facts = [Fact(FactKind.FINISH, "A", date(2020, 6, 1), date(2020, 6, 10), None, "t")]
    snaps = [_snap("baseline", pf.AS_OF, [0.5, 0.5, 0.7]), _snap("2020", date(2020, 12, 31), [1.0, 0.0, 1.0])]
    ch = target_changes(plan, facts, snaps).set_index("id")
    assert ch.loc["TA", "status"] == "met" and ch.loc["TA", "p_met"] == 1.0
    assert ch.loc["TB", "status"] == "no_data" and np.isnan(ch.loc["TB", "p_met"])
    assert ch.loc["TAB", "status"] == "met"  # 1 of 2 is known done: met whatever B did
    sec = target_due_table(target_changes(plan, facts, snaps))
    assert sec[["due", "met", "not_met", "no_data", "forecast"]].iloc[0].tolist() == [3, 2, 0, 1, 0]


def test_shipped_example_is_marked_and_shows_every_status():
    from pathlib import Path

    from sim.model.actuals import read_actuals
    from sim.model.load import load_plan
    from sim.report.appraisal import is_example

    root = Path(__file__).resolve().parent.parent
    plan = load_plan(root / "params")
    acts = read_actuals(root / "actuals" / "example-appraisal.csv", plan)
    assert is_example(acts)  # every row says EXAMPLE in its source
    assert not {"T10", "T14"} & {f.id for f in acts.facts}  # public outcomes stay in example.csv only
    seen = set()
    for since, as_of in ((pf.AS_OF, date(2020, 12, 31)), (date(2020, 12, 31), date(2021, 12, 31)),
                         (date(2021, 12, 31), date(2022, 12, 31))):
        st = item_status(plan, acts.facts, as_of, since=since)
        seen |= set(st.loc[(st["plan_finish"] > since) & (st["plan_finish"] <= as_of), "status"])
    assert seen == {"done_on_time", "done_late", "open", "no_report"}
    assert {str(f.kind) for f in acts.facts} >= {"finish", "progress", "kpi"}


def test_no_data_cells_say_so_and_changes_sort_by_value():
    from sim.report.appraisal import _pct, _pp
    from sim.report.fonts import Lang
    from sim.report.html import table_html
    from sim.report.tables import View

    df = pd.DataFrame({"p_met": [_pct(np.nan, Lang.ZH), _pct(0.25, Lang.ZH)],
                       "change": [_pp(np.nan, Lang.EN), _pp(-0.031, Lang.EN)]})
    html = table_html(View("x", df), Lang.ZH)
    assert '<td class="nodata" data-v="">无数据</td>' in html and "0.0%" not in html and "100.0%" not in html
    assert "25.0%" in html and 'data-v="-0.031">-3.1 pp</td>' in html
