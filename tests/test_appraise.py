"""Appraisal snapshots: only facts known by each snapshot, the year-by-year tables, chart and summaries."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from sim.model.actuals import Actuals, Fact, FactKind, apply_actuals
from sim.analysis.annual import refs_closure
from sim.analysis.snapshot_events import why_text
from sim.studies.appraise import snapshot_dates
from sim.cli import main
from sim.model.load import load_plan
from conftest import MINI_PARAMS as FIXTURE


FACTS = """kind,id,date,reported,value,source,note
finish,T01,2020-11-30,,,news,
finish,E02.1,2020-12-20,2021-01-20,,report published after the year end,
start,T13,2020-09-01,2020-09-15,,district report,
progress,T05.1,2021-06-30,2021-07-10,0.6,monthly report,
kpi,KPI_HITECH,2020-12-31,2021-03-01,780,statistics bureau,
"""


@pytest.fixture(scope="module")
def appraisal(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("appraise")
    acts = root / "facts.csv"
    acts.write_text(FACTS, encoding="utf-8")
    out = root / "out"
    assert main(["appraise", "--params", str(FIXTURE), "--years", "2020", "2021", "--actuals", str(acts),
                 "--runs", "1000", "--seed", "3", "--workers", "1", "--quiet", "--out", str(out)]) == 0
    return out


def test_snapshot_dates():
    plan = load_plan(FIXTURE)
    assert snapshot_dates(plan, [2021, 2020]) == [("baseline", plan.as_of), ("2020", date(2020, 12, 31)),
                                                 ("2021", date(2021, 12, 31))]
    with pytest.raises(ValueError):
        snapshot_dates(plan, [2019])


def test_later_snapshots_never_use_facts_reported_after_them(appraisal: Path):
    snaps = {s: json.loads((appraisal / "snapshots" / s / "manifest.json").read_text())
             for s in ("baseline", "2020", "2021")}
    assert [snaps[s]["actuals"]["facts_used"] for s in snaps] == [0, 2, 5]
    assert [snaps[s]["as_of"] for s in snaps] == ["2020-01-16", "2020-12-31", "2021-12-31"]
    # E02.1 finished 2020-12-20 but was reported 2021-01-20: not done in the 2020 snapshot
    rec2020 = pd.read_parquet(appraisal / "snapshots" / "2020" / "records.parquet", columns=["finish:E02.1"])
    rec2021 = pd.read_parquet(appraisal / "snapshots" / "2021" / "records.parquet", columns=["finish:E02.1"])
    assert rec2020["finish:E02.1"].min() >= 0  # still to do on 2020-12-31
    assert (rec2021["finish:E02.1"] < 0).all()  # fixed at its actual date, before 2021-12-31


def test_apply_actuals_ignores_facts_reported_later_whatever_their_date():
    plan = load_plan(FIXTURE)
    late = Fact(FactKind.FINISH, "T01", date(2020, 11, 30), date(2022, 1, 1), None, "t")
    for as_of in (date(2020, 12, 31), date(2021, 12, 31)):
        assert apply_actuals(plan, [late], as_of) == apply_actuals(plan, [], as_of)


def test_tables_chart_and_summaries(appraisal: Path):
    for name in ("appraisal_targets.csv", "appraisal_events.csv", "appraisal_campaigns.csv", "appraisal_units.csv",
                 "appraisal_changes.csv", "appraisal_sections.csv", "appraisal_status.zh.png",
                 "appraisal_targets.en.png", "appraisal.md", "appraisal.zh.html", "appraisal.en.html",
                 "manifest.json"):
        assert (appraisal / name).is_file(), name
    assert not list(appraisal.glob("*.partial"))
    t = pd.read_csv(appraisal / "appraisal_targets.csv")
    assert {"snapshot", "as_of", "id", "section", "p_met", "se", "change", "why"} <= set(t.columns)
    assert list(dict.fromkeys(t["snapshot"].astype(str))) == ["baseline", "2020", "2021"]
    assert t[t.snapshot == "baseline"]["change"].isna().all()
    later = t[t.snapshot == "2020"].set_index("id")
    first = t[t.snapshot == "baseline"].set_index("id")
    assert (later["change"] - (later["p_met"] - first["p_met"])).abs().max() < 1e-12
    ev = pd.read_csv(appraisal / "appraisal_events.csv")
    finished = ev[(ev.kind == "finished")]
    assert set(zip(finished["to"].astype(str), finished["id"])) == {("2020", "T01"), ("2021", "E02.1")}
    assert ((ev.kind == "kpi") & (ev.id == "KPI_HITECH") & (ev["to"].astype(str) == "2021")).any()
    ch = pd.read_csv(appraisal / "appraisal_changes.csv")
    assert set(ch["change_kind"]) <= {"reported", "mixed", "unreported", "none", "no_data"}
    # a past-deadline target without data has no P(met) (never 0 or 1)
    assert ch.loc[ch["status"] == "no_data", "p_met"].isna().all()
    camp = pd.read_csv(appraisal / "appraisal_campaigns.csv")
    assert (camp[["done_on_time", "done_late", "open", "no_report"]].sum(axis=1) == camp["due"]).all()
    md = (appraisal / "appraisal.md").read_text(encoding="utf-8")
    assert "items due" in md and "nothing reported" in md
    en = (appraisal / "appraisal.en.html").read_text(encoding="utf-8")
    zh = (appraisal / "appraisal.zh.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in en and "**" not in en
    assert 'lang="zh-CN"' in zh and "到期事项" in zh and "@font-face" in zh
    assert "Per year and campaign" in en and "Per year and lead unit" in en


def test_why_names_the_targets_own_items():
    plan = load_plan(FIXTURE)
    assert refs_closure(plan, "HBLOCKS") == {"B01.2020", "B01.2022", "B02.2022"}
    ev = pd.DataFrame([
        {"kind": "slipped", "id": "B01.2022", "detail": "P50 finish a -> b (+40 d)", "days": 40.0},
        {"kind": "finished", "id": "B01.2020", "detail": "finished 2020-12-01", "days": 0.0},
    ])
    assert why_text(ev) == "B01.2020 finished 2020-12-01; B01.2022 P50 finish a -> b (+40 d)"


def test_appraise_bad_year_is_a_usage_error(tmp_path: Path, capsys):
    acts = tmp_path / "a.csv"
    acts.write_text(FACTS, encoding="utf-8")
    code = main(["appraise", "--params", str(FIXTURE), "--years", "2019", "--actuals", str(acts),
                 "--runs", "100", "--quiet", "--out", str(tmp_path / "o")])
    assert code == 2 and "2019" in capsys.readouterr().err
    assert Actuals(()).latest is None


@pytest.mark.parametrize("year", ["2025", "3000"])
def test_appraise_year_after_the_plan_is_refused_before_any_snapshot(tmp_path: Path, capsys, year):
    # issue 10 item 10: --years 2025 and 3000 crashed and left partial snapshots behind
    acts = tmp_path / "a.csv"
    acts.write_text(FACTS, encoding="utf-8")
    code = main(["appraise", "--params", str(FIXTURE), "--years", "2021", year, "--actuals", str(acts),
                 "--runs", "100", "--quiet", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and year in err and "outside the plan" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


def test_a_failed_appraisal_leaves_no_partial_snapshots(tmp_path: Path, monkeypatch):
    import sim.studies.appraise

    acts = tmp_path / "a.csv"
    acts.write_text(FACTS, encoding="utf-8")

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sim.studies.appraise, "target_table", boom)  # after every snapshot has been simulated
    code = main(["appraise", "--params", str(FIXTURE), "--years", "2020", "--actuals", str(acts),
                 "--runs", "100", "--quiet", "--workers", "1", "--out", str(tmp_path / "o")])
    assert code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]
