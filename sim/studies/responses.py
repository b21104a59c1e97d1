"""Pre- and post-mitigation results of each response, on common random numbers, and their ranking.

For every chunk of replications the baseline model and the model with one response
(:func:`sim.engine.responses.apply_response`) run on the same draws, so the effect of a
response is the mean of paired differences per replication, with the standard error of
those differences. Ranking: target probability gained per 亿元 of the response's cost;
the measure is one target's P(met) when a target is chosen, else the expected number of
targets met (the sum of every target's P(met)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine.compiled import CompiledModel, compile_plan
from sim.engine.replicate import ChunkRecord, Engine, run_chunk
from sim.engine.responses import apply_response
from sim.engine.runner import chunk_rows
from sim.model.entities import Plan, Response

TARGETS_MET = "targets_met"


def _total_cost(rec: ChunkRecord) -> np.ndarray:
    """A chunk's outturn cost per row (亿元), summed over the invested items."""
    assert rec.cost is not None  # run_chunk always samples the cost model
    return rec.cost.sum(axis=1)


def paired_runs(model: CompiledModel, responses, *, runs: int, seed: int,
                engine: Engine = Engine.AUTO) -> tuple[list[ChunkRecord], dict[str, list[ChunkRecord]]]:
    """Baseline records and each response's records, chunk by chunk on the same seed."""
    base: list[ChunkRecord] = []
    post: dict[str, list[ChunkRecord]] = {r.id: [] for r in responses}
    variants = {r.id: apply_response(model, r) for r in responses}
    for c, rows in chunk_rows(runs):
        base.append(run_chunk(model, seed=seed, chunk=c, rows=rows, engine=engine))
        for rid, m in variants.items():
            post[rid].append(run_chunk(m, seed=seed, chunk=c, rows=rows, engine=engine))
    return base, post


def _paired(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    d = np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0


def response_table(plan: Plan, *, runs: int = 2000, seed: int = 20200116, target: str | None = None,
                   responses: tuple[Response, ...] | None = None, engine: Engine = Engine.AUTO) -> pd.DataFrame:
    """One row per response, best first: paired gain (and SE), gain per 亿元, best single target, cost change."""
    model = compile_plan(plan)
    responses = plan.responses if responses is None else responses
    if not responses:
        return pd.DataFrame()
    tids = [t.id for t in model.targets]
    if target is not None and target not in tids:
        raise KeyError(f"unknown target {target!r}: use one of the targets.csv ids")
    base, post = paired_runs(model, responses, runs=runs, seed=seed, engine=engine)
    met0 = np.concatenate([r.met for r in base]).astype(np.float64)
    cost0 = np.concatenate([_total_cost(r) for r in base]).astype(np.float64)
    rows = []
    for resp in responses:
        met1 = np.concatenate([r.met for r in post[resp.id]]).astype(np.float64)
        cost1 = np.concatenate([_total_cost(r) for r in post[resp.id]]).astype(np.float64)
        if target is None:
            y0, y1, measure = met0.sum(axis=1), met1.sum(axis=1), TARGETS_MET
        else:
            k = tids.index(target)
            y0, y1, measure = met0[:, k], met1[:, k], target
        gain, se = _paired(y1, y0)
        per_t = met1.mean(axis=0) - met0.mean(axis=0)
        best = int(np.argmax(per_t)) if per_t.size else -1
        best_gain, best_se = _paired(met1[:, best], met0[:, best]) if best >= 0 else (float("nan"), float("nan"))
        dc, dc_se = _paired(cost1, cost0)
        unit = resp.cost_cny_100m
        rows.append({
            "id": resp.id, "name_zh": resp.name_zh, "name_en": resp.name_en, "effect": resp.effect,
            "acts_on": ";".join(resp.acts_on), "value": resp.value, "cost_cny_100m": unit, "measure": measure,
            "before": float(y0.mean()), "after": float(y1.mean()), "gain": gain, "se_gain": se,
            "gain_per_100m": gain / unit if unit > 0 else (np.inf if gain > 0 else 0.0),
            "se_gain_per_100m": se / unit if unit > 0 else 0.0,
            "best_target": tids[best] if best >= 0 else "", "best_target_gain": best_gain,
            "best_target_se": best_se, "programme_cost_change": dc, "se_programme_cost_change": dc_se,
            "runs": int(y0.size),
        })
    out = pd.DataFrame(rows).sort_values("gain_per_100m", ascending=False, kind="stable")
    return out.reset_index(drop=True)
