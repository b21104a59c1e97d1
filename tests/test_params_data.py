"""The shipped plan as data (params/*.csv), read with the csv module only.

Pins what the data must honour (params/README.md): the columns
of the data dictionary, the annex's entries per campaign (12 blocks, 20
transport projects, 37 environment entries, 31 key work items), Chinese names
copied from the plan, unique ASCII ids, references that exist, loadings and
correlations the copula accepts, non-binding capacities, and calendar.csv equal
to what :mod:`sim.model.holidays` generates.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
from collections import Counter, defaultdict

import numpy as np
import pytest

from sim.model.distribution import Distribution
from sim.model.enums import DistFamily
from sim.model.holidays import calendar_rows
from conftest import ROOT, SHIPPED_PARAMS as PARAMS

SEED = ROOT / "tests" / "fixtures" / "plan_text" / "wenzheng-ban-2020-5.txt"
CALENDAR_YEARS = range(2020, 2031)
ASCII_ID = re.compile(r"[A-Za-z0-9_.-]+")

# params/README.md, "Files": the columns of each file, in order
COLUMNS = {
    "assumptions.csv": "key value unit source",
    "units.csv": "id name_zh name_en capacity source",
    "items.csv": "id group campaign seq name_zh name_en units project_type status plan_start plan_finish "
                 "start_aspirational finish_aspirational plan_text_zh length_km investment_cny_100m duration_days "
                 "dist p1 p2 p3 calendar outdoor resource_unit source",
    "links.csv": "pred succ type lag_days note source",
    "duration_classes.csv": "project_type name_en name_zh dist p1 p2 p3 floor in_progress_sigma_scaling ref_median ref_p90 source",
    "factors.csv": "id name_en name_zh loading members source",
    "factor_correlations.csv": "a b rho source",
    "risks.csv": "id name_zh name_en probability dist p1 p2 p3 targets mode phase source "
                 "cost_dist cost_p1 cost_p2 cost_p3 cost_source",
    "cost_classes.csv": "project_type name_en dist p1 p2 p3 rho_schedule standing_per_year profile_a profile_b source",
    "shocks.csv": "id name_zh name_en probability window_start window_end dist p1 p2 p3 affects source",
    "calendar.csv": "calendar start end name_en source",
    "kpis.csv": "id name_zh name_en kind unit_en baseline rate_per_year rate_cv measure attrition_years "
                "renewal_prob volatility units group evidence source",
    "kpi_boosts.csv": "kpi item step rate_per_year source",
    "targets.csv": "id name_zh name_en section rule refs k threshold deadline text_zh aspirational source",
}
ID_COLUMN = {"assumptions.csv": "key", "units.csv": "id", "items.csv": "id", "duration_classes.csv": "project_type",
             "factors.csv": "id", "risks.csv": "id", "shocks.csv": "id", "kpis.csv": "id", "targets.csv": "id"}
# files whose every row states a number or choice the plan does not give
SOURCED = ("assumptions.csv", "units.csv", "items.csv", "links.csv", "duration_classes.csv", "factors.csv",
           "factor_correlations.csv", "risks.csv", "shocks.csv", "kpis.csv", "kpi_boosts.csv", "targets.csv",
           "cost_classes.csv")


@functools.cache
def table(name: str) -> tuple[dict[str, str], ...]:
    with open(PARAMS / name, encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


@functools.cache
def header(name: str) -> tuple[str, ...]:
    with open(PARAMS / name, encoding="utf-8", newline="") as f:
        return tuple(next(csv.reader(f)))


def split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def unit_ids(cell: str) -> list[str]:
    return [u.lstrip("*") for u in split(cell)]


def as_of() -> dt.date:
    return dt.date.fromisoformat(next(r["value"] for r in table("assumptions.csv") if r["key"] == "as_of"))


def items_by_id() -> dict[str, dict[str, str]]:
    return {r["id"]: r for r in table("items.csv")}


def selected(selector: str) -> list[str]:
    """Item ids a selector of params/README.md matches."""
    head, _, value = selector.partition(":")
    column = {"type": "project_type", "campaign": "campaign", "group": "group"}.get(head)
    rows = table("items.csv")
    if selector == "all":
        return [r["id"] for r in rows]
    if selector == "outdoor":
        return [r["id"] for r in rows if r["outdoor"] == "true"]
    if column:
        return [r["id"] for r in rows if r[column] == value]
    if head == "unit":
        return [r["id"] for r in rows if value in unit_ids(r["units"])]
    return [r["id"] for r in rows if r["id"] == selector]


def distribution(row: dict[str, str], *, floor: str = "") -> Distribution:
    family = DistFamily(row["dist"])
    if family is DistFamily.DISCRETE:
        return Distribution(family, values=tuple(map(float, row["p1"].split("|"))),
                            weights=tuple(map(float, row["p2"].split("|"))))
    params = tuple(float(row[p]) for p in ("p1", "p2", "p3") if row[p] != "")
    return Distribution(family, params, floor=float(floor) if floor else None)


def plain(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --- shape ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_columns_follow_the_data_dictionary(name):
    assert header(name) == tuple(COLUMNS[name].split())


@pytest.mark.parametrize("name", sorted(ID_COLUMN))
def test_ids_are_unique_ascii(name):
    ids = [r[ID_COLUMN[name]] for r in table(name)]
    assert [i for i in ids if not ASCII_ID.fullmatch(i)] == []
    assert [i for i, n in Counter(ids).items() if n > 1] == []


def test_every_annex_entry_is_represented():
    groups = defaultdict(set)
    for r in table("items.csv"):
        groups[r["campaign"]].add(r["group"])
    assert groups["block"] == {f"B{n:02d}" for n in range(1, 13)}
    assert groups["transport"] == {f"T{n:02d}" for n in range(1, 21)}
    assert groups["environment"] == {f"E{n:02d}" for n in range(1, 38)}
    key_work = ({r["group"] for r in table("items.csv") if r["campaign"] == "keywork"}
                | {r["group"] for r in table("kpis.csv")}
                | {m for r in table("targets.csv") for m in re.findall(r"K\d\d", r["id"])})
    assert {f"K{n:02d}" for n in range(1, 32)} <= key_work
    assert {r["id"] for r in table("items.csv") if r["campaign"] == "external"} == {"X_HSR", "X_S3"}


def test_chinese_names_are_copied_from_the_plan():
    assert SEED.is_file(), f"the plan's text is expected at {SEED} (shipped with the tests)"
    text = plain(SEED.read_text(encoding="utf-8"))
    missing = []
    for r in table("items.csv"):
        if r["campaign"] == "external":
            continue
        entry, _, sub = r["name_zh"].partition("：")
        missing += [(r["id"], part) for part in (entry, sub) if part and plain(part) not in text]
    assert missing == []


def test_block_goals_are_split_by_year():
    for r in table("items.csv"):
        if r["campaign"] == "block":
            group, year, _ = r["id"].split(".")
            assert (group, r["plan_finish"]) == (r["group"], f"{year}-12-31"), r["id"]


# --- references ----------------------------------------------------------------------------

def test_item_references_exist():
    units = {r["id"] for r in table("units.csv")}
    types = {r["project_type"] for r in table("duration_classes.csv")}
    calendars = {r["calendar"] for r in table("calendar.csv")}
    for r in table("items.csv"):
        assert set(unit_ids(r["units"])) <= units, r["id"]
        assert r["resource_unit"] in units | {""}, r["id"]
        assert r["project_type"] in types, r["id"]
        assert r["calendar"] in calendars, r["id"]
    assert {u for r in table("kpis.csv") for u in unit_ids(r["units"])} <= units


def test_link_and_boost_references_exist():
    items = items_by_id()
    kpis = {r["id"] for r in table("kpis.csv")}
    for r in table("links.csv"):
        assert r["pred"] in items and r["succ"] in items and r["pred"] != r["succ"], r
        assert r["type"] in {"FS", "SS", "FF", "SYNC"}, r
    for r in table("kpi_boosts.csv"):
        assert r["kpi"] in kpis and r["item"] in items, r


def test_links_form_no_cycle():
    """FS/SS/FF links are acyclic once the items of each SYNC (同步建成) pair are merged."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    links = table("links.csv")
    for r in links:
        if r["type"] == "SYNC":
            parent[root(r["succ"])] = root(r["pred"])
    after = defaultdict(set)
    for r in links:
        if r["type"] != "SYNC":
            after[root(r["pred"])].add(root(r["succ"]))
    state: dict[str, int] = {}

    def visit(node: str) -> None:
        state[node] = 1
        for nxt in after[node]:
            assert state.get(nxt) != 1, f"cycle through {node} -> {nxt}"
            if nxt not in state:
                visit(nxt)
        state[node] = 2

    for node in list(after):
        if node not in state:
            visit(node)


def test_target_references_exist_and_fit_their_rule():
    items, kpis = items_by_id(), {r["id"] for r in table("kpis.csv")}
    targets = {r["id"] for r in table("targets.csv")}
    start = as_of()
    for r in table("targets.csv"):
        refs = split(r["refs"])
        assert refs and len(set(refs)) == len(refs), r["id"]
        assert dt.date.fromisoformat(r["deadline"]) >= start, r["id"]
        if r["rule"] in ("kpi_ge", "kpi_cagr_ge"):
            assert len(refs) == 1 and refs[0] in kpis and r["threshold"] != "", r["id"]
        elif r["rule"] == "item_by":
            assert len(refs) == 1 and refs[0] in items, r["id"]
        elif r["rule"] == "invest_ge":  # refs are selectors of invested items (params/README.md)
            assert float(r["threshold"]) > 0 and all(":" in ref or ref in items for ref in refs), r["id"]
        else:
            assert r["rule"] in ("all_of", "k_of_n"), r["id"]
            assert all(ref in items or ref in targets for ref in refs), r["id"]
            if r["rule"] == "k_of_n":
                assert 1 <= int(r["k"]) <= len(refs), r["id"]


def test_composite_targets_of_the_plan():
    targets = {r["id"]: r for r in table("targets.csv")}
    blocks = targets["TG_HL_BLOCKS"]
    assert (blocks["rule"], int(blocks["k"])) == ("k_of_n", 10)
    assert split(blocks["refs"]) == [f"TG_B{n:02d}" for n in range(1, 13)]
    assert split(targets["TG_T15"]["refs"]) == ["T15"] and targets["TG_T15"]["deadline"] == "2022-12-31"
    assert targets["TG_1030"]["rule"] == "k_of_n"
    assert len(split(targets["TG_ENV"]["refs"])) == 37


# --- uncertainty ---------------------------------------------------------------------------

def test_selectors_match_items():
    for name, column in (("factors.csv", "members"), ("risks.csv", "targets"), ("shocks.csv", "affects")):
        for r in table(name):
            for selector in split(r[column]):
                assert selected(selector), f"{name} {r['id']}: {selector!r} matches no item"


def test_factor_loadings_sum_to_at_most_one_and_correlations_are_psd():
    totals = Counter()
    for r in table("factors.csv"):
        for item_id in {i for s in split(r["members"]) for i in selected(s)}:
            totals[item_id] += float(r["loading"])
    assert max(totals.values()) <= 1.0 + 1e-12
    ids = [r["id"] for r in table("factors.csv")]
    matrix = np.eye(len(ids))
    for r in table("factor_correlations.csv"):
        a, b = ids.index(r["a"]), ids.index(r["b"])
        matrix[a, b] = matrix[b, a] = float(r["rho"])
    assert np.linalg.eigvalsh(matrix).min() >= -1e-12


def test_distributions_are_valid():
    for r in table("duration_classes.csv"):
        assert distribution(r, floor=r["floor"]).problems() == [], r["project_type"]
    for name in ("risks.csv", "shocks.csv"):
        for r in table(name):
            assert distribution(r).problems() == [], r["id"]
            assert 0 <= float(r["probability"]) <= 1, r["id"]
    for r in table("items.csv"):
        if r["dist"]:
            assert distribution(r).problems() == [], r["id"]


def test_baseline_has_no_covid_shock():
    """COVID-19 was not known on the plan date: it is a scenario (docs/calibration.md §3)."""
    for r in table("shocks.csv"):
        named = " ".join((r["id"], r["name_zh"], r["name_en"]))
        assert not re.search(r"covid|epidemic|疫情|新冠", named, re.IGNORECASE), r["id"]


def test_unplanned_numbers_have_a_source():
    for name in SOURCED:
        assert [r for r in table(name) if not r["source"].strip()] == [], name


# --- schedule ------------------------------------------------------------------------------

def test_status_agrees_with_dates():
    start = as_of()
    gated = {r["succ"] for r in table("links.csv") if r["type"] in ("FS", "SS")}
    for r in table("items.csv"):
        finish = dt.date.fromisoformat(r["plan_finish"])
        if r["status"] == "in_progress":
            assert r["plan_start"] and dt.date.fromisoformat(r["plan_start"]) < start, r["id"]
        elif r["plan_start"]:
            assert start <= dt.date.fromisoformat(r["plan_start"]) <= finish, r["id"]
        else:  # starts when its predecessors finish, for the stated working days
            assert r["id"] in gated and float(r["duration_days"]) > 0, r["id"]
        assert r["status"] in ("not_started", "in_progress"), r["id"]


def test_capacities_do_not_bind_for_the_plan_as_written():
    use = Counter(r["resource_unit"] for r in table("items.csv") if r["resource_unit"])
    capacity = {r["id"]: int(r["capacity"]) for r in table("units.csv") if r["capacity"]}
    assert set(use) <= set(capacity)
    assert {u: n for u, n in use.items() if n > capacity[u]} == {}


def test_calendar_file_is_what_holidays_generates():
    assert [dict(r) for r in table("calendar.csv")] == calendar_rows(CALENDAR_YEARS)
