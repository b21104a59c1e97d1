"""Hand-made params directories with exact answers, run through the public CLI.

Each case writes a complete params directory (CSV, as a user would), runs
``sim run`` on it and compares the target probabilities in targets.csv with an
answer computed independently here (numerical convolution, product of CDFs),
within 4 Monte Carlo standard errors computed from the run's own estimate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main

RUNS = 20_000
HEADERS = {
    "assumptions.csv": "key,value,unit,source\n"
    "as_of,2020-01-01,date,test\ncheckpoints,2020-12-31,date,test\nhorizon_years,6,years,test\n",
    "units.csv": "id,name_zh,name_en,capacity,source\nU1,单位,Unit,,test\n",
    "calendar.csv": "calendar,start,end,name_en,source\nconstruction,2030-01-01,2030-01-02,far away,test\n",
    "duration_classes.csv": "project_type,name_en,dist,p1,p2,p3,floor,in_progress_sigma_scaling,source\n"
    "tri,Triangular,triangular,0.8,1.0,1.6,,false,test\n",
    "factors.csv": "id,name_en,loading,members,source\n",
    "kpis.csv": "id,name_zh,name_en,kind,unit_en,baseline,rate_per_year,rate_cv,measure,attrition_years,"
    "renewal_prob,volatility,units,group,source\n",
}
ITEM_HEAD = ("id,group,campaign,seq,name_zh,name_en,units,project_type,status,plan_start,plan_finish,"
             "start_aspirational,finish_aspirational,plan_text_zh,length_km,investment_cny_100m,duration_days,"
             "dist,p1,p2,p3,calendar,outdoor,resource_unit,source\n")


def _item(iid: str, days: int) -> str:
    return (f"{iid},{iid},transport,1,{iid},{iid},*U1,tri,not_started,,2020-12-31,false,false,,,,{days},"
            ",,,,construction,true,,test\n")


def _write(tmp: Path, items: dict[str, int], links: list[tuple[str, str]], targets: list[str]) -> Path:
    params = tmp / "params"
    params.mkdir()
    for name, text in HEADERS.items():
        (params / name).write_text(text, encoding="utf-8")
    (params / "items.csv").write_text(ITEM_HEAD + "".join(_item(i, d) for i, d in items.items()), encoding="utf-8")
    (params / "links.csv").write_text("pred,succ,type,lag_days,note,source\n"
                                      + "".join(f"{a},{b},FS,0,,test\n" for a, b in links), encoding="utf-8")
    (params / "targets.csv").write_text("id,name_zh,name_en,section,rule,refs,k,threshold,deadline,text_zh,source\n"
                                        + "".join(targets), encoding="utf-8")
    return params


def _run(params: Path, out: Path) -> pd.DataFrame:
    assert main(["run", "--no-report", "--params", str(params), "--runs", str(RUNS), "--seed", "5", "--quiet",
                 "--out", str(out)]) == 0
    return pd.read_csv(out / "targets.csv").set_index("id")


def _tri_cdf(x: np.ndarray, lo: float, mode: float, hi: float) -> np.ndarray:
    x = np.clip(x, lo, hi)
    left = (x - lo) ** 2 / ((hi - lo) * (mode - lo))
    right = 1 - (hi - x) ** 2 / ((hi - lo) * (hi - mode))
    return np.where(x <= mode, left, right)


def _check(p_hat: float, p: float, n: int = RUNS) -> None:
    tol = 4 * np.sqrt(max(p * (1 - p), 1e-12) / n)
    assert abs(p_hat - p) <= tol, f"estimate {p_hat:.4f}, exact {p:.4f}, tolerance {tol:.4f}"


@pytest.mark.slow
def test_serial_chain_matches_convolution(tmp_path: Path):
    """A (100 d) then B (50 d), each x Triangular(0.8, 1.0, 1.6): P(B done by day x) by convolution."""
    deadlines = {"D1": 150, "D2": 165, "D3": 185}  # working days = calendar days here
    targets = [f"{t},{t},{t},transport,item_by,B,,,{(pd.Timestamp('2020-01-01') + pd.Timedelta(days=d - 1)).date()},,test\n"
               for t, d in deadlines.items()]
    params = _write(tmp_path, {"A": 100, "B": 50}, [("A", "B")], targets)
    got = _run(params, tmp_path / "run")
    # density of 100 R1 and 50 R2 on a fine grid, convolved
    h = 0.01
    grid = np.arange(0, 300, h)
    fa = np.diff(_tri_cdf(grid, 80, 100, 160), prepend=0.0)
    fb = np.diff(_tri_cdf(grid, 40, 50, 80), prepend=0.0)
    cdf = np.cumsum(np.convolve(fa, fb)[: len(grid)])
    for t, d in deadlines.items():
        _check(got.loc[t, "p_met"], float(np.interp(d, grid, cdf)))


@pytest.mark.slow
def test_merge_matches_product_of_cdfs(tmp_path: Path):
    """Three parallel items of 100 d feeding a zero-duration milestone: P(all by x) = F(x)^3."""
    x = 112
    deadline = (pd.Timestamp("2020-01-01") + pd.Timedelta(days=x - 1)).date()
    targets = [f"ALL,ALL,ALL,transport,all_of,A;B;C,,,{deadline},,test\n",
               f"TWO,TWO,TWO,transport,k_of_n,A;B;C,2,,{deadline},,test\n"]
    params = _write(tmp_path, {"A": 100, "B": 100, "C": 100}, [], targets)
    got = _run(params, tmp_path / "run")
    f = float(_tri_cdf(np.array(x / 100.0), 0.8, 1.0, 1.6))
    _check(got.loc["ALL", "p_met"], f**3)
    _check(got.loc["TWO", "p_met"], 3 * f**2 * (1 - f) + f**3)
