"""The what-if API through Starlette's ASGI test client: paired results, the headline, the scenario round trip, errors.

Every expected number is computed here by an independent route (the scenario overlay
applied by :mod:`sim.model.scenario` and simulated by :func:`sim.studies.slip.simulate_met`),
never hard-coded.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

from sim.engine.runner import Executor, RunConfig
from sim.model.load import load_plan
from sim.model.scenario import apply_scenario, load_scenario, parse_duration
from sim.model.enums import Status
from sim.serve.app import create_app
from sim.serve.request import RequestError, parse_request
from sim.serve.whatif import Base
from sim.analysis.slip_propagation import with_slip
from sim.studies.slip import simulate_met
from conftest import ROOT

CONFIG = RunConfig(runs=400, seed=20200116, workers=1, executor=Executor.INLINE)


@pytest.fixture(scope="module")
def plan():
    return load_plan(ROOT / "params")


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory, plan):
    folder = tmp_path_factory.mktemp("scenarios")
    for name in ("covid-2020.yaml", "baseline.yaml"):
        shutil.copy(ROOT / "scenarios" / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def client(plan, scenarios):
    base = Base(plan, CONFIG, scenarios_dir=scenarios, label="test")
    with TestClient(create_app(base), raise_server_exceptions=False) as c:
        yield c


def _by_id(result):
    return {t["id"]: t for t in result["targets"]}


def _body(yaml_text: str) -> list[str]:
    return [line for line in yaml_text.splitlines() if not line.startswith("#")]


def _paired(plan, other_plan):
    ids, base = simulate_met(plan, CONFIG)
    ids2, met = simulate_met(other_plan, CONFIG)
    col = {t: k for k, t in enumerate(ids2)}
    return {t: (met[:, col[t]].astype(float) - base[:, k].astype(float)) for k, t in enumerate(ids)}, \
        {t: met[:, col[t]].mean() for t in ids}


def test_meta_lists_the_plan_and_the_base_moves_nothing(client, plan):
    meta = client.get("/api/meta").json()
    assert meta["runs"] == CONFIG.runs and meta["seed"] == CONFIG.seed
    assert {i["id"] for i in meta["items"]} == {it.id for it in plan.items}
    assert [s["name"] for s in meta["scenarios"]] == ["baseline", "covid-2020"]
    assert all(t["diff"] == 0 and t["se"] == 0 for t in meta["base"]["targets"])
    assert meta["base"]["moves"] == []


def test_six_month_slip_of_t14_is_the_paired_difference_of_the_scenario_slip(client, plan):
    res = client.post("/api/whatif", json={"slips": [{"item": "T14", "by": 6, "unit": "months"}]})
    assert res.status_code == 200, res.text
    got = _by_id(res.json())
    diffs, p = _paired(plan, with_slip(plan, "T14", parse_duration("6m")))
    for tid, d in diffs.items():
        assert got[tid]["diff"] == pytest.approx(d.mean(), abs=1e-12)
        assert got[tid]["p"] == pytest.approx(p[tid], abs=1e-12)
        se = d.std(ddof=1) / np.sqrt(len(d))
        assert got[tid]["se"] == pytest.approx(se, abs=1e-12)
        if not got[tid]["on_path"]:
            assert np.all(d == 0), f"{tid} has no path from T14 but moved"
    for tid in ("TG_T14", "TG_T15"):
        assert got[tid]["diff"] < -3 * got[tid]["se"] < 0
        assert got[tid]["on_path"]
    moves = {m["id"]: m for m in res.json()["moves"]}
    assert moves["T14"]["slipped"] and moves["T15"]["path"] == "T14 -FF-> T15"
    assert moves["T15"]["flat_shift_days"] == pytest.approx(parse_duration("6m"), abs=0.1)


def test_headline_is_the_paired_sum_of_its_targets(client, plan):
    """Expected targets met moves by the sum of the targets' differences (linearity of the mean)."""
    res = client.post("/api/whatif", json={"slips": [{"item": "T14", "by": 6, "unit": "months"}]}).json()
    rows = _by_id(res)
    ends = res["headline"]["end_dates"]
    for end in ends:
        window = [t for t in rows.values() if t["deadline"] == end["date"]]
        assert end["targets"] == len(window)
        assert end["diff"] == pytest.approx(sum(t["diff"] for t in window), abs=1e-9)
        assert end["whatif"]["mean"] == pytest.approx(sum(t["p"] for t in window), abs=1e-9)
        assert end["whatif"]["p10"] <= end["whatif"]["mean"] <= end["whatif"]["p90"]
    assert ends[-1]["diff"] < 0


def test_slip_to_a_date_is_the_days_from_the_plan_finish(client, plan):
    t14 = next(it for it in plan.items if it.id == "T14")
    to = client.post("/api/whatif", json={"slips": [{"item": "T14", "to": "2023-06-30"}]}).json()
    days = (np.datetime64("2023-06-30") - np.datetime64(t14.plan_finish.isoformat())).astype(int)
    by = client.post("/api/whatif", json={"slips": [{"item": "T14", "by": int(days), "unit": "days"}]}).json()
    assert [t["p"] for t in to["targets"]] == [t["p"] for t in by["targets"]]


def test_risk_switch_matches_the_overlay(client, plan):
    res = client.post("/api/whatif", json={"risks": {"R_FUNDING": "off"}}).json()
    from sim.model.scenario import scenario_from_dict

    off = apply_scenario(plan, scenario_from_dict({"risks": {"R_FUNDING": {"probability": 0}}}, name="x"))
    diffs, _ = _paired(plan, off)
    got = _by_id(res)
    assert all(got[t]["diff"] == pytest.approx(d.mean(), abs=1e-12) for t, d in diffs.items())
    assert any(got[t]["diff"] > 0 for t in got)  # removing a delay risk helps somewhere


def test_saved_scenario_loaded_by_the_scenario_loader_gives_the_same_results(client, plan, scenarios):
    whatif = {"slips": [{"item": "T14", "by": 6, "unit": "months"}, {"item": "T03", "by": 45, "unit": "days"}],
              "scenario": "covid-2020", "risks": {"R_FUNDING": "off"}, "shocks": {"SH_TYPHOON_2021": "certain"}}
    shown = _by_id(client.post("/api/whatif", json=whatif).json())
    text = client.post("/api/scenario", json={"whatif": whatif, "name": "rt"})
    assert text.status_code == 200 and "attachment" in text.headers["content-disposition"]
    saved = client.post("/api/scenario/save", json={"whatif": whatif, "name": "rt-saved"})
    assert saved.status_code == 200, saved.text
    path = Path(saved.json()["saved"])
    assert _body(path.read_text(encoding="utf-8")) == _body(text.text)
    ids, met = simulate_met(apply_scenario(plan, load_scenario(path)), CONFIG)
    for k, tid in enumerate(ids):
        assert met[:, k].mean() == pytest.approx(shown[tid]["p"], abs=1e-12), tid
    again = client.post("/api/scenario/save", json={"whatif": whatif, "name": "rt-saved"})
    assert again.status_code == 409 and "already exists" in again.json()["error"]
    assert _body(path.read_text(encoding="utf-8")) == _body(text.text)  # not overwritten
    assert [p.name for p in scenarios.iterdir() if p.name.endswith(".partial")] == []
    assert "rt-saved" in [s["name"] for s in client.get("/api/meta").json()["scenarios"]]


@pytest.mark.parametrize(("body", "status", "field", "words"), [
    ({"slips": [{"item": "T99", "by": 6, "unit": "months"}]}, 422, "slips[0].item", "unknown item 'T99'"),
    ({"slips": [{"by": 6, "unit": "months"}]}, 422, "slips[0].item", "unknown item None"),
    ({"slips": [{"item": 14, "by": 6, "unit": "months"}]}, 422, "slips[0].item", "unknown item 14"),
    ({"slips": [{"item": "T14", "by": -6, "unit": "months"}]}, 422, "slips[0].by", "cannot be negative"),
    ({"slips": [{"item": "T14", "to": "2021-01-01"}]}, 422, "slips[0].to", "before T14's plan finish"),
    ({"slips": [{"item": "T14", "to": "2023-02-30"}]}, 422, "slips[0].to", "YYYY-MM-DD"),
    ({"slips": [{"item": "T14", "by": "six", "unit": "months"}]}, 422, "slips[0].by", "must be a number"),
    ({"slips": [{"item": "T14", "by": 6, "unit": "fortnights"}]}, 422, "slips[0].unit", "unknown unit"),
    ({"slips": [{"item": "T14", "by": 1}, {"item": "T14", "by": 2}]}, 422, "slips[1].item", "slipped twice"),
    ({"slips": "T14"}, 422, "slips", "must be a list"),
    ({"scenario": "covid"}, 422, "scenario", "did you mean covid-2020"),
    ({"risks": {"R_FUNDING": "maybe"}}, 422, "risks.R_FUNDING", "use \"off\""),
    ({"risks": {"R_NOPE": "off"}}, 422, "risks.R_NOPE", "unknown id"),
    ({"slip": {"T14": 6}}, 422, "slip", "unknown field"),
    ([1, 2], 400, "", "must be a JSON object"),
])
def test_bad_requests_are_4xx_json_naming_the_field(client, body, status, field, words):
    res = client.post("/api/whatif", json=body)
    assert res.status_code == status
    data = res.json()
    assert data["issues"][0]["field"] == field
    assert words in data["error"]
    assert "Traceback" not in res.text


def test_a_done_item_cannot_slip(plan):
    import dataclasses

    done = dataclasses.replace(plan, items=tuple(dataclasses.replace(it, status=Status.DONE) if it.id == "T03" else it
                                                 for it in plan.items))
    with pytest.raises(RequestError) as err:
        parse_request({"slips": [{"item": "T03", "by": 1}]}, done, scenarios=())
    assert err.value.status == 422 and "is done" in err.value.message


@pytest.mark.parametrize("raw", [b"{", b"not json", b"\xff\xfe", b""])
def test_malformed_bodies_are_400(client, raw):
    res = client.post("/api/whatif", content=raw, headers={"Content-Type": "application/json"})
    assert res.status_code == 400
    assert res.json()["error"].startswith("the request")


def test_routes_and_methods_answer_json(client):
    assert client.get("/api/whatif").status_code == 405
    missing = client.get("/api/nothing")
    assert missing.status_code == 404 and "no such" in missing.json()["error"]
    assert client.post("/api/scenario", json={"whatif": {}, "name": "x"}).status_code == 422
    bad = client.post("/api/scenario", json={"whatif": {"slips": [{"item": "T14", "by": 1}]}, "name": "../x"})
    assert bad.status_code == 422 and bad.json()["issues"][0]["field"] == "name"
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="application/json" id="meta">' in page.text


def test_the_page_embeds_the_glyphs_of_every_name_it_can_show(client, plan):
    """The report's template subsets its web font from the page, which embeds the plan's names."""
    import base64
    import io
    import re

    from fontTools.ttLib import TTFont

    page = client.get("/").text
    found = re.search(r"base64,([A-Za-z0-9+/=]+)", page)
    if found is None:
        pytest.skip("no CJK font on this machine (sim.report.fonts)")
    cmap = TTFont(io.BytesIO(base64.b64decode(found.group(1)))).getBestCmap()
    names = "".join(x.name_zh for x in (*plan.items, *plan.targets, *plan.risks, *plan.shocks))
    res = client.post("/api/whatif", json={"slips": [{"item": "T99", "by": 1}, {"item": "T14", "by": -2},
                                                     {"item": "T03", "to": "2019-01-01"}, {"item": "T15", "by": "x"}],
                                           "scenario": "nope", "risks": {"R_FUNDING": "maybe", "R_X": "off"}}).json()
    messages = res["error_zh"] + "".join(i["message_zh"] for i in res["issues"])
    missing = {c for c in names + messages if "\u4e00" <= c <= "\uffef" and ord(c) not in cmap}
    assert not missing


def test_bench_line_measures_distinct_whatifs(plan):
    from sim.serve.bench import REQUESTS, whatif_lines

    (line,) = whatif_lines(plan, runs=200, scenarios_dir=ROOT / "scenarios")
    assert line.startswith("what-if page, 200 replications") and f"{len(REQUESTS)} what-ifs" in line


@pytest.mark.parametrize(("args", "words"), [
    (["--runs", "1"], "--runs must be >= 2"),
    (["--port", "70000"], "--port must be in 0..65535"),
    (["no-such-run-dir"], "not a run directory"),
])
def test_serve_command_refuses_bad_arguments(capsys, args, words):
    from sim.cli import main

    assert main(["serve", *args]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_a_run_directory_gives_its_plan_and_seed(tmp_path, monkeypatch):
    """`sim serve RUN_DIR` starts from the run's plan snapshot and seed, so its base is the run's first replications."""
    import argparse

    from sim.cli import main
    from sim.results import read_plan_snapshot
    from sim.serve.cli import _base_plan

    monkeypatch.chdir(ROOT)
    run = tmp_path / "run"
    assert main(["run", "--runs", "200", "--seed", "7", "--workers", "1", "--no-report", "--quiet",
                 "--out", str(run)]) == 0
    plan, label, seed = _base_plan(argparse.Namespace(run_dir=run, params=ROOT / "params"))
    assert seed == 7 and str(run) in label
    assert plan == read_plan_snapshot(run)
    import pandas as pd

    targets = pd.read_csv(run / "targets.csv").set_index("id")["p_met"]
    base = Base(plan, RunConfig(runs=200, seed=seed, workers=1, executor=Executor.INLINE))
    with TestClient(create_app(base)) as c:
        shown = _by_id(c.get("/api/meta").json()["base"])
    assert all(shown[t]["p_base"] == pytest.approx(targets[t], abs=1e-12) for t in targets.index)


def test_every_problem_is_said_in_both_languages(client):
    res = client.post("/api/whatif", json={"slips": [{"item": "T99", "by": 1}, {"item": "T14", "by": -2}],
                                           "scenario": "nope", "risks": {"R_FUNDING": "maybe"}}).json()
    assert len(res["issues"]) == 4
    for issue in res["issues"]:
        assert issue["message_zh"] and issue["message_zh"] != issue["message"]
        assert any("\u4e00" <= c <= "\u9fff" for c in issue["message_zh"])
    assert res["error_zh"].endswith("（另有 3 处）") and res["error"].endswith("(and 3 more)")
    assert "T09" in res["issues"][0]["message_zh"]


def test_whatif_cost_is_the_paired_difference_of_the_programme_cost(client, plan):
    """Programme cost (issue 15): P50 and the paired mean difference, recomputed from run_chunk's costs."""
    from sim.engine.compiled import compile_plan
    from sim.engine.replicate import run_chunk

    res = client.post("/api/whatif", json={"slips": [{"item": "T14", "by": 6, "unit": "months"}]}).json()
    cost = res["cost"]

    def total(p):
        return run_chunk(compile_plan(p), seed=CONFIG.seed, chunk=0, rows=CONFIG.runs).cost.sum(axis=1).astype(float)

    base, slipped = total(plan), total(with_slip(plan, "T14", parse_duration("6m")))
    d = slipped - base
    assert cost["difference"] == pytest.approx(d.mean(), rel=1e-9)
    assert cost["difference_se"] == pytest.approx(d.std(ddof=1) / np.sqrt(d.size), rel=1e-9)
    assert cost["p50"] == pytest.approx(float(np.quantile(slipped, 0.5)), rel=1e-9)
    assert cost["difference"] > 0  # six months later costs the standing cost of the delay
