"""plan.yaml: parsing, checks, the open campaign and section lists, and the accessors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sim.cli import main
from sim.model import planmeta
from sim.model.load import load_plan
from sim.model.problems import PlanError
from conftest import MINI_PARAMS as MINI


@pytest.fixture()
def params(tmp_path: Path) -> Path:
    out = tmp_path / "params"
    shutil.copytree(MINI, out)
    return out


def test_accessors_read_the_file() -> None:
    plan = load_plan(MINI)
    assert planmeta.plan_title(plan, "zh") == "测试用小计划" and planmeta.plan_title(plan, "en") == "Small test plan"
    assert [e.date.isoformat() for e in planmeta.end_dates(plan)] == ["2020-12-31", "2022-12-31"]
    assert planmeta.programme_end(plan).isoformat() == "2022-12-31"
    assert planmeta.campaign_label(plan, "transport", "zh") == "交通路网大会战"
    assert planmeta.external_campaigns(plan) == frozenset({"external"})
    assert planmeta.section_order(plan)[0] == planmeta.headline_section(plan) == "headline"


def test_without_plan_yaml_defaults_come_from_the_rows(params: Path) -> None:
    (params / "plan.yaml").unlink()
    plan = load_plan(params)
    assert [c.id for c in planmeta.campaigns(plan)] == list(dict.fromkeys(i.campaign for i in plan.items))
    assert planmeta.programme_end(plan) == max(t.deadline for t in plan.targets)
    assert planmeta.campaign_label(plan, "transport", "en") == "transport"


def test_open_lists_any_campaign_the_file_names(params: Path) -> None:
    text = (params / "plan.yaml").read_text(encoding="utf-8")
    text = text.replace("{id: transport, zh: 交通路网大会战", "{id: mobility, zh: 交通路网大会战")
    (params / "plan.yaml").write_text(text, encoding="utf-8")
    items = (params / "items.csv").read_text(encoding="utf-8")
    (params / "items.csv").write_text(items.replace(",transport,", ",mobility,"), encoding="utf-8")
    for name in ("factors.csv", "shocks.csv", "targets.csv"):
        body = (params / name).read_text(encoding="utf-8").replace("campaign:transport", "campaign:mobility")
        (params / name).write_text(body, encoding="utf-8")
    plan = load_plan(params)
    assert "mobility" in {i.campaign for i in plan.items}


def test_unknown_campaign_and_section_name_file_row_and_column(params: Path, capsys) -> None:
    items = (params / "items.csv").read_text(encoding="utf-8").splitlines()
    items[1] = items[1].replace(items[1].split(",")[2], "nowhere", 1)
    (params / "items.csv").write_text("\n".join(items) + "\n", encoding="utf-8")
    targets = (params / "targets.csv").read_text(encoding="utf-8").splitlines()
    cells = targets[1].split(",")
    targets[1] = ",".join(cells[:3] + ["nosection"] + cells[4:])
    (params / "targets.csv").write_text("\n".join(targets) + "\n", encoding="utf-8")
    assert main(["validate", "--params", str(params)]) == 2
    err = capsys.readouterr().err
    assert "items.csv:2 [campaign] = 'nowhere'" in err and "plan.yaml campaigns id" in err
    assert "targets.csv:2 [section] = 'nosection'" in err


@pytest.mark.parametrize("text, message", [
    ("title: [a, b]\n", "title must be {zh: ..., en: ...}"),
    ("campaigns:\n  - {id: a b}\n", "needs an id"),
    ("end_dates:\n  - {date: 2022-12-31}\n  - {date: 2020-12-31}\n", "date order"),
    ("as_of: 2020-02-30\n", "no real date"),
    ("as_of: soon\n", "as_of must be a date"),
    ("colour: red\n", "unknown key 'colour'"),
    ("title: {zh: a\n", "not valid YAML"),
])
def test_bad_plan_yaml_is_one_clear_problem(params: Path, text: str, message: str) -> None:
    (params / "plan.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(PlanError) as exc:
        load_plan(params)
    assert any(message in str(p) and p.file == "plan.yaml" for p in exc.value.problems), exc.value.report()


def test_as_of_must_agree_with_assumptions(params: Path) -> None:
    with (params / "plan.yaml").open("a", encoding="utf-8") as fh:
        fh.write("as_of: 2020-02-01\n")
    with pytest.raises(PlanError, match="differs from assumptions.csv as_of"):
        load_plan(params)


def test_as_of_from_plan_yaml_alone(params: Path) -> None:
    rows = (params / "assumptions.csv").read_text(encoding="utf-8").splitlines()
    (params / "assumptions.csv").write_text("\n".join(r for r in rows if not r.startswith(("as_of", "checkpoints")))
                                            + "\n", encoding="utf-8")
    with (params / "plan.yaml").open("a", encoding="utf-8") as fh:
        fh.write("as_of: 2020-01-16\ncheckpoints: [2020-12-31, 2021-12-31]\n")
    plan = load_plan(params)
    assert plan.as_of.isoformat() == "2020-01-16" and len(plan.checkpoints) == 2


def test_dump_and_parse_round_trip() -> None:
    import yaml
    meta = load_plan(MINI).meta
    back, problems = planmeta.parse_meta(yaml.safe_load(planmeta.dump_meta(meta)))
    assert not problems and back == meta
