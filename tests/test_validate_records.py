"""Checks return problem records; the caller names the records in its own terms (CSV lines, scenario keys).

A dependency cycle lists every link it runs through in ``Problem.rows`` (the
SYNC links it crosses included), so neither the CSV loader nor the scenario
layer reads anything back out of a printed message.
"""

from __future__ import annotations

import pytest
from conftest import MINI_PARAMS

from sim.model import validate as v
from sim.model.entities import Link
from sim.model.enums import LinkType
from sim.model.load import load_plan
from sim.model.problems import PlanError
from sim.model.scenario import apply_scenario, scenario_from_dict


def _link(pred: str, succ: str, kind: LinkType) -> Link:
    return Link(pred, succ, kind, 0.0, "", "test")


def test_a_cycle_lists_its_links_and_the_sync_links_it_crosses():
    links = [(2, _link("A", "B", LinkType.FS)), (3, _link("C", "A", LinkType.FS)),
             (4, _link("B", "C", LinkType.SYNC)), (5, _link("D", "E", LinkType.FS))]
    (p,) = v.dependency_cycles(links)
    assert p.message == "dependency cycle" and p.rows == (2, 3, 4) and p.value == "A -FS-> B -SYNC- C -FS-> A"
    assert v.at_lines(p).message == "dependency cycle through links.csv lines 2, 3, 4"


def test_target_cycles_are_records_too():
    (p,) = v.target_cycles([(2, "H1", ["H2"]), (3, "H2", ["H1"]), (4, "H3", [])])
    assert p.rows == (2, 3) and v.at_lines(p).message == "target refs form a cycle through targets.csv lines 2, 3"


def test_a_scenario_cycle_names_the_scenario_link_even_when_it_is_a_sync_link(tmp_path):
    plan = load_plan(MINI_PARAMS)  # links.csv line 2: T05.1 -FS-> T05.2
    scenario = scenario_from_dict({"description": "t", "add": {"links": [
        {"pred": "T05.1", "succ": "T05.2", "type": "SYNC"}]}}, name="s", file=str(tmp_path / "s.yaml"))
    with pytest.raises(PlanError) as err:
        apply_scenario(plan, scenario)
    cycles = [p for p in err.value.problems if "dependency cycle" in p.message]
    assert [p.column for p in cycles] == ["add.links[0]"]
    assert all("links.csv" not in p.message for p in cycles)
