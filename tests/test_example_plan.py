"""The second shipped plan (examples/lakeside-2023) through every command, with small runs.

Its report must show its own title, campaigns and sections, and none of the
Wenzhou plan's labels: nothing in sim/ may assume the plan of params/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.cli import main
from sim.model import planmeta
from sim.model.load import load_plan
from conftest import ROOT

EXAMPLE = ROOT / "examples" / "lakeside-2023"
PARAMS = EXAMPLE / "params"
ACTUALS = EXAMPLE / "actuals" / "progress-2024.csv"
RUN = ["--params", str(PARAMS), "--runs", "200", "--workers", "1", "--quiet"]

pytestmark = pytest.mark.slow


def _wenzhou_labels() -> list[str]:
    """The shipped plan's own labels (read from params/plan.yaml, not typed here)."""
    wz = load_plan(ROOT / "params")
    labels = [planmeta.plan_title(wz, "zh"), planmeta.plan_title(wz, "en"), planmeta.plan_document(wz, "zh")]
    labels += [c.zh for c in planmeta.campaigns(wz)] + [c.en for c in planmeta.campaigns(wz)]
    labels += [s.zh for s in planmeta.sections(wz)] + [s.en for s in planmeta.sections(wz)]
    from sim.report.i18n import TEXT
    generic = {t for pair in TEXT.values() for t in pair}  # the report's own words (e.g. 主要目标 "headline")
    return [x for x in labels if x not in generic] + ["大罗山", "Daluo", "温州", "Wenzhou", "2022-12-31"]


def _visible_text(html: str) -> str:
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    return re.sub(r"data:[^\"']+", "", html)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lakeside") / "run"
    assert main(["run", *RUN, "--out", str(out)]) == 0
    return out


def test_validate(capsys) -> None:
    assert main(["validate", "--params", str(PARAMS)]) == 0
    out = capsys.readouterr().out
    assert "greenway: 3 entries" in out and "by section: key 2, greenway 2, schools 2, digital 1" in out


def test_report_has_its_labels_and_none_of_wenzhou(run_dir: Path) -> None:
    plan = load_plan(PARAMS)
    assert planmeta.programme_end(plan).isoformat() == "2025-12-31"
    for lang in ("zh", "en"):
        text = _visible_text((run_dir / f"report.{lang}.html").read_text(encoding="utf-8"))
        assert planmeta.plan_title(plan, lang) in text
        for c in planmeta.campaigns(plan):
            assert planmeta.campaign_label(plan, c.id, lang) in text, (lang, c.id)
        for s in planmeta.sections(plan):
            assert planmeta.section_label(plan, s.id, lang) in text, (lang, s.id)
        for label in _wenzhou_labels():
            assert label not in text, (lang, label)


def test_programme_end_is_the_plans(run_dir: Path) -> None:
    import pandas as pd
    items = pd.read_csv(run_dir / "items.csv")
    # P(by programme end) is not the zero a fixed 2022 end would give: the items are due 2023-2025
    assert items["p_by_end"].max() > 0.5
    crit = pd.read_csv(run_dir / "analysis" / "criticality.csv")
    assert (crit["target"] == "PROGRAMME").any()
    met = pd.read_csv(run_dir / "analysis" / "targets_met.csv")
    assert int(met["of"].iloc[0]) == 4  # TG_GREEN_KM, TG_ONLINE, TG_SCHOOLS, TG_DIGITAL are due 2025-12-31


def test_gantt_shows_every_campaign(run_dir: Path) -> None:
    from sim.report.build import gantt_campaigns
    import pandas as pd
    plan = load_plan(PARAMS)
    items = pd.read_csv(run_dir / "items.csv")
    assert gantt_campaigns(plan, items) == ["greenway", "schools", "digital"]


def test_batch_slip_tolerance(tmp_path: Path) -> None:
    scenario = EXAMPLE / "scenarios" / "approval-delay.yaml"
    assert main(["batch", *RUN, "--out", str(tmp_path / "batch"), str(scenario)]) == 0
    assert main(["slip", "G03", "--by", "1m", "3m", *RUN, "--out", str(tmp_path / "slip")]) == 0
    assert main(["tolerance", "S01", "--target", "TG_S01", "--confidence", "0.3", *RUN,
                 "--out", str(tmp_path / "tol")]) == 0


def test_appraise_and_backtest(tmp_path: Path, run_dir: Path) -> None:
    assert main(["appraise", *RUN, "--years", "2023", "2024", "--actuals", str(ACTUALS),
                 "--out", str(tmp_path / "appr")]) == 0
    assert main(["backtest", str(run_dir), "--params", str(PARAMS), "--actuals", str(ACTUALS),
                 "--out", str(tmp_path / "bt")]) == 0
