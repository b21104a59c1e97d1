"""A batch shows the programme cost per scenario, paired against the baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.studies.batch import run_batch
from sim.engine.runner import Executor, RunConfig

ROOT = Path(__file__).resolve().parent.parent


def test_batch_writes_the_money_comparison(tmp_path: Path) -> None:
    files = [ROOT / "scenarios" / "baseline.yaml", ROOT / "scenarios" / "cost-china.yaml"]
    result = run_batch(files, params_dir=ROOT / "params", out=tmp_path / "b",
                       config=RunConfig(runs=1000, workers=1, executor=Executor.INLINE))
    money = pd.read_csv(result.files["money_csv"]).set_index("scenario")
    assert money.loc["baseline", "difference"] == 0 and money.loc["baseline", "difference_se"] == 0
    # the paired difference equals the difference of the means (same replications)
    diff = money.loc["cost-china", "mean_cost"] - money.loc["baseline", "mean_cost"]
    assert np.isclose(money.loc["cost-china", "difference"], diff, rtol=1e-4)  # the CSV keeps 6 digits
    assert money.loc["cost-china", "difference_se"] > 0
