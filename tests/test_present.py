"""The console table of a run's headline targets (sim run's last lines)."""

from __future__ import annotations

import json

import pandas as pd

from sim.analysis.present import headline_lines


def test_columns_stay_aligned_for_ids_longer_than_sixteen_characters(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"scenario": "baseline", "replications": 10, "seed": 1, "as_of": "2020-01-16", "engine": "vector",
         "executor": "inline", "workers": 1}), encoding="utf-8")
    ids = ["TG_T14", "TG_K19_PROV_INSTITUTES", "TG_K22_FUTURE_COMMUNITIES"]
    pd.DataFrame({"id": ids, "section": "headline", "deadline": "2022-12-31", "p_met": [0.5, 0.25, 0.0],
                  "se": [0.1, 0.05, 0.0], "name_en": "x", "name_zh": "乙"}).to_csv(tmp_path / "targets.csv", index=False)
    header, *rows = headline_lines(tmp_path)[1:]
    column = header.index("deadline")
    assert [r.index("2022-12-31") for r in rows] == [column] * len(ids)
    assert all(r.split()[0] == i for r, i in zip(rows, ids))
