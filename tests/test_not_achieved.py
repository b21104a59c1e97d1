"""Issue 10, item 2: a quantile that reaches the "never" sentinel is "not achieved", never a date (or a crash)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.appraisal import _quantile_dates
from sim.analysis.summary import day_quantiles, mean_day
from sim.model.clock import FAR_DAY, date_of

FIXTURE = Path(__file__).parent / "fixtures" / "mini_params"
AS_OF = date(2020, 1, 16)


@pytest.mark.parametrize("n,never", [(500, 250), (500, 249), (500, 101), (10, 1), (7, 0), (7, 7)])
def test_quantiles_are_never_exactly_when_their_upper_order_statistic_is(n, never):
    days = np.concatenate([np.arange(1, n - never + 1, dtype=float), np.full(never, np.inf)])
    np.random.default_rng(1).shuffle(days)
    qs = [0.1, 0.5, 0.8, 0.9]
    got = day_quantiles(days, qs)
    for q, value in zip(qs, got):
        pos = q * (n - 1)  # numpy's linear rule on the sorted values 1..n-never, then never
        lo, hi = int(np.floor(pos)), int(np.ceil(pos))
        if hi >= n - never:
            assert value == np.inf
        else:
            assert value == pytest.approx((lo + 1) + (pos - lo) * (hi - lo))


def test_the_issues_case_no_longer_overflows():
    # a target reached in half of the replications: linear interpolation gave day 5e6 -> OverflowError
    days = np.concatenate([np.full(250, 700.0), np.full(250, FAR_DAY)])
    row = _quantile_dates(days, 1000.0, AS_OF)
    assert row["p50"] is None and row["p80"] is None and row["p90"] is None
    assert np.isnan(row["contingency_p80_days"]) and np.isnan(row["contingency_p90_days"])
    assert mean_day(days) == np.inf and date_of(mean_day(days), AS_OF) is None
    assert date_of(5e6, AS_OF) is None  # past year 9999: no date, no crash


def test_report_shows_not_achieved_in_tables_and_workbook(tmp_path):
    from openpyxl import load_workbook

    from sim.cli import main

    out = tmp_path / "run"
    assert main(["run", "--params", str(FIXTURE), "--runs", "300", "--seed", "7", "--quiet", "--workers", "1",
                 "--lang", "en", "--out", str(out)]) == 0
    targets = pd.read_csv(out / "targets.csv")
    never = targets[targets["p80_achieved"].isna()]
    assert len(never), "the fixture has a target reached in fewer than 80 % of the replications"
    html = (out / "report.en.html").read_text(encoding="utf-8")
    assert html.count("not achieved") >= int(targets["p80_achieved"].isna().sum())
    wb = load_workbook(out / "report.en.xlsx")
    cells = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert "not achieved" in cells
    contingency = pd.read_csv(out / "analysis" / "contingency.csv")
    row = contingency[contingency["id"] == never["id"].iloc[0]].iloc[0]
    assert pd.isna(row["p80"]) and pd.isna(row["contingency_p80_days"])


def test_a_kpi_target_reached_at_day_0_is_dated_the_as_of_date():
    # issue 10 item 12: day-0 events were dated one day before the as-of date
    from sim.analysis.summary import kpi_event_days
    from sim.model.enums import TargetRule

    days = np.array([0.0, 0.0, 40.0, np.inf])
    kpi = kpi_event_days(days, TargetRule.KPI_GE)
    assert date_of(kpi[0], AS_OF) == AS_OF and date_of(kpi[2], AS_OF) == date_of(40.0, AS_OF)
    assert kpi[3] == np.inf
    # an item finished yesterday (a fact) is still dated yesterday
    item = kpi_event_days(days, TargetRule.ITEM_BY)
    assert date_of(item[0], AS_OF) == date(2020, 1, 15)
