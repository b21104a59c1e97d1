"""The bottom line of a run: what a reader wants before any detail (pandas in, pandas out).

* :func:`end_date_counts` -- per programme end date (plan.yaml ``end_dates``): the
  number of targets due then that are met, its mean with standard error and P10/P50/P90;
* :func:`p_all_met` -- P(every headline target met) in the same replication, with s.e.;
* :func:`headline_targets` -- the headline targets sorted by P(met), with a
  red/amber/green band and, when the plan itself rules a target out, the reason;
* :func:`unreachable_targets` -- targets the plan's own dates make unreachable
  (a required item, or an item it is tied to by FS/FF/SYNC, planned after the deadline),
  found from the plan's links, never from a list of names;
* :func:`programme_drivers` -- what moves the programme: every risk, shock and the
  duration uncertainty itself, as paired effects on the expected number met and on
  P(all headline met) (the table of :func:`sim.analysis.risk_effects.programme_effects`);
* :func:`compare_runs` -- paired differences against a previous run, replication by
  replication (common random numbers when both used the same seed).

Every figure is computed from the records' ``met:<target>`` columns; the per-target
P(met) comes from the run's target table (itself the mean of the same columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from sim.analysis.summary import Z95, prob_se
from sim.engine.replicate import column
from sim.model import planmeta
from sim.model.enums import TargetRule
from sim.model.links import FINISH_REFERENCING, kind as link_kind

# Bands of P(met) (assumption: the usual P80 confidence level of schedule risk analysis for green,
# an even chance for red; docs/calibration.md cites P80 as the common contingency level).
GREEN_FROM = 0.8
RED_BELOW = 0.5



def rag(p: float) -> str:
    """Band of a probability: ``green`` >= 0.8 > ``amber`` >= 0.5 > ``red``."""
    if p >= GREEN_FROM:
        return "green"
    return "amber" if p >= RED_BELOW else "red"


def _met(records, target_ids: list[str]) -> np.ndarray:
    """(rows, targets) 0/1 matrix of the ``met`` columns, in replication order."""
    if not target_ids:
        return np.zeros((len(records), 0), dtype=np.int8)
    order = np.argsort(records["rep"].to_numpy(), kind="stable")
    return np.column_stack([records[column("met", t)].to_numpy().astype(np.int8)[order] for t in target_ids])


def headline_ids(plan) -> list[str]:
    """Ids of the headline section's targets (plan.yaml's first section), in plan order."""
    sec = planmeta.headline_section(plan)
    return [t.id for t in plan.targets if t.section == sec]


def targets_due(plan, end: date) -> list[str]:
    """Ids of the targets whose deadline is the end date ``end``."""
    return [t.id for t in plan.targets if t.deadline == end]


def end_date_counts(plan, records) -> pd.DataFrame:
    """Per programme end date: targets due then, and how many are met (mean ± s.e., P10/P50/P90)."""
    rows = []
    for e in planmeta.end_dates(plan):
        ids = targets_due(plan, e.date)
        count = _met(records, ids).sum(axis=1)
        n = len(count)
        q10, q50, q90 = (np.quantile(count, [0.1, 0.5, 0.9], method="inverted_cdf") if n else (np.nan,) * 3)
        rows.append({"end_date": e.date, "label_zh": e.zh, "label_en": e.en, "targets": len(ids),
                     "expected_met": float(count.mean()) if n else np.nan,
                     "se": float(count.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0,
                     "p10": float(q10), "p50": float(q50), "p90": float(q90)})
    return pd.DataFrame(rows, columns=["end_date", "label_zh", "label_en", "targets", "expected_met", "se",
                                       "p10", "p50", "p90"])


def p_all_met(plan, records, ids: list[str] | None = None) -> dict:
    """P(all of ``ids`` met in the same replication) (default: the headline targets), with s.e."""
    ids = headline_ids(plan) if ids is None else ids
    n = len(records)
    allm = _met(records, ids).all(axis=1) if ids else np.zeros(n, dtype=bool)
    p = float(allm.mean()) if n else float("nan")
    return {"targets": len(ids), "p": p, "se": float(prob_se(p, n))}


# -- structurally unreachable targets -----------------------------------------------
@dataclass(frozen=True)
class Blocker:
    """Why item ``item`` cannot be done by ``deadline`` as planned."""

    item: str
    via: tuple[tuple[str, str], ...]  # (link type, item) steps from ``item`` to ``blocker``
    blocker: str
    blocker_finish: date
    deadline: date


def _finish_preds(plan) -> dict[str, list[tuple[str, str]]]:
    """Item -> [(link type, item)] that its finish cannot precede."""
    out: dict[str, list[tuple[str, str]]] = {}
    for ln in plan.links:
        if ln.type in FINISH_REFERENCING and ln.lag_days >= 0:  # the successor finishes after it (FS, FF, SYNC)
            out.setdefault(ln.succ, []).append((str(ln.type), ln.pred))
        if link_kind(ln.type).symmetric:  # SYNC, finish together: binding both ways
            out.setdefault(ln.pred, []).append((str(ln.type), ln.succ))
    return out


def planned_finish(model) -> dict[str, date | None]:
    """Each item's finish on the plan's own schedule: planned durations (multiplier 1), planned waits,
    no risk, no shock, the dependency network and calendars as simulated."""
    from sim.model.clock import date_of
    from sim.engine.forward import forward_pass
    from sim.engine.sampling import Draws

    n = model.n_items
    work = np.maximum(model.base_work - model.elapsed_work, 0.0)[None, :].copy()
    work[:, model.fixed] = 0.0
    k = len(model.shocks)
    draws = Draws(np.ones((1, n)), work, np.asarray(model.base_wait, dtype=np.float64)[None, :].copy(),
                  np.full((1, k), np.inf), np.full((1, k), np.inf), np.zeros((1, len(model.risks)), dtype=bool),
                  np.zeros((1, len(model.factor_ids))), np.zeros((1, len(model.kpis))))
    _, finish = forward_pass(model, draws)
    return {iid: date_of(float(finish[0, i]), model.as_of) for i, iid in enumerate(model.item_ids)}


def item_blocker(plan, planned: dict[str, date], item_id: str, deadline: date, preds=None) -> Blocker | None:
    """Why ``item_id`` misses ``deadline`` on the plan's own schedule, or None when it does not.

    The blocker is the nearest item (the item itself, or one its finish is bound to
    through FS/FF/SYNC) whose written plan finish is after the deadline; None when
    there is no such item (the plan does not contradict itself).
    """
    if planned.get(item_id) is None or planned[item_id] <= deadline:
        return None
    preds = _finish_preds(plan) if preds is None else preds
    written = {it.id: it.plan_finish for it in plan.items}
    seen = {item_id}
    frontier: list[tuple[str, tuple]] = [(item_id, ())]
    while frontier:  # breadth first: the nearest cause is named
        nxt = []
        for iid, via in frontier:
            if written.get(iid) and written[iid] > deadline and planned.get(iid) and planned[iid] > deadline:
                return Blocker(item_id, via, iid, written[iid], deadline)
            for typ, p in preds.get(iid, ()):
                if p not in seen and planned.get(p) and planned[p] > deadline:
                    seen.add(p)
                    nxt.append((p, (*via, (typ, p))))
        frontier = nxt
    return None  # late on the schedule by calendar rounding only, or by nothing the plan writes


def _target_blockers(plan, planned, target, by_id, preds, memo, deadline=None) -> list[Blocker] | None:
    """Blockers that make ``target`` unreachable by ``deadline`` (its own by default), or None."""
    deadline = target.deadline if deadline is None else deadline
    key = (target.id, deadline)
    if key in memo:
        return memo[key]
    memo[key] = None  # cycles are reachable
    if target.rule in (TargetRule.KPI_GE, TargetRule.KPI_CAGR_GE):
        return None
    ref_blockers: list[list[Blocker] | None] = []
    for r in target.refs:
        if r in by_id:
            # a target ref counts when it is met by its own deadline (sim.engine.targets)
            ref_blockers.append(_target_blockers(plan, planned, by_id[r], by_id, preds, memo))
        else:
            b = item_blocker(plan, planned, r, deadline, preds)
            ref_blockers.append([b] if b else None)
    blocked = [b for b in ref_blockers if b]
    need = len(ref_blockers) if target.rule is not TargetRule.K_OF_N else int(target.k or 1)
    out = [x for b in blocked for x in b] if len(ref_blockers) - len(blocked) < need else None
    memo[key] = out
    return out


def _reason(b: Blocker, lang: str) -> str:
    deadline = b.deadline
    if not b.via:
        return (f"{b.item} 计划 {b.blocker_finish.isoformat()} 完成，晚于期限 {deadline.isoformat()}" if lang == "zh"
                else f"{b.item} is planned to finish {b.blocker_finish.isoformat()}, after the deadline "
                     f"{deadline.isoformat()}")
    chain = " → ".join(f"{typ} {p}" for typ, p in b.via)
    return (f"{b.item} 经 {chain} 相连，{b.blocker} 计划 {b.blocker_finish.isoformat()} 完成，晚于期限 "
            f"{deadline.isoformat()}" if lang == "zh"
            else f"{b.item} is tied ({chain}) to {b.blocker}, planned for {b.blocker_finish.isoformat()}, "
                 f"after the deadline {deadline.isoformat()}")


def unreachable_targets(plan, model=None) -> pd.DataFrame:
    """Targets the plan's own dates rule out, with the reason in zh and en.

    A target is unreachable as planned when too few of its refs can be done by its
    deadline (all of them for ``item_by``/``all_of``, k for ``k_of_n``), where an
    item cannot be done when the plan's own schedule (:func:`planned_finish`:
    planned durations and waits, links and calendars, no risk) finishes it after
    the deadline. The reason names the item its finish is bound to (FS, FF, SYNC
    both ways) whose written plan date is after the deadline. KPI targets are
    never ruled out this way. This is "as planned": a run can still meet such a
    target when durations come out shorter than planned (its P(met) says how often).
    """
    from sim.engine.compiled import compile_plan

    planned = planned_finish(model if model is not None else compile_plan(plan))
    by_id = {t.id: t for t in plan.targets}
    preds = _finish_preds(plan)
    memo: dict[tuple[str, date], list[Blocker] | None] = {}
    rows = []
    for t in plan.targets:
        bl = _target_blockers(plan, planned, t, by_id, preds, memo)
        if bl:
            rows.append({"id": t.id, "deadline": t.deadline, "items": ";".join(dict.fromkeys(b.item for b in bl)),
                         "blockers": ";".join(dict.fromkeys(b.blocker for b in bl)),
                         "reason_zh": "；".join(dict.fromkeys(_reason(b, "zh") for b in bl)),
                         "reason_en": "; ".join(dict.fromkeys(_reason(b, "en") for b in bl))})
    return pd.DataFrame(rows, columns=["id", "deadline", "items", "blockers", "reason_zh", "reason_en"])


def headline_targets(plan, targets: pd.DataFrame, unreachable: pd.DataFrame | None = None) -> pd.DataFrame:
    """The headline targets (all targets if none) by P(met), lowest first, with band and reason."""
    ids = headline_ids(plan) or list(targets["id"])
    sel = targets[targets["id"].isin(ids)].copy()
    unr = (unreachable_targets(plan) if unreachable is None else unreachable).set_index("id")
    sel["band"] = sel["p_met"].map(rag)
    sel["unreachable"] = sel["id"].isin(unr.index)
    for col in ("reason_zh", "reason_en"):
        sel[col] = [str(unr.at[i, col]) if i in unr.index else "" for i in sel["id"]]
    cols = ["id", "name_zh", "name_en", "deadline", "p_met", "se", "band", "unreachable", "reason_zh", "reason_en"]
    return sel.sort_values(["p_met", "id"], kind="stable")[cols].reset_index(drop=True)


def programme_drivers(effects: pd.DataFrame, *, limit: int | None = None) -> pd.DataFrame:
    """Programme-level drivers from :func:`sim.analysis.risk_effects.programme_effects`, largest first."""
    if effects is None or effects.empty:
        return pd.DataFrame(columns=["driver", "kind", "effect_expected_met", "effect_expected_met_se",
                                     "effect_p_all", "effect_p_all_se"])
    df = effects.assign(_k=-effects["effect_expected_met"].abs()).sort_values(["_k", "driver"], kind="stable")
    df = df.drop(columns="_k").reset_index(drop=True)
    return df.head(limit) if limit else df


# -- against a previous run --------------------------------------------------------
def _paired(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    d = x.astype(np.float64) - y.astype(np.float64)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0


def compare_runs(plan, records, ref_plan, ref_records) -> pd.DataFrame:
    """What changed since a previous run: programme figures and every common target, paired by replication.

    Rows are matched on ``rep`` (replications present in both runs only); with the
    same seed the runs share their random numbers, so the paired standard error
    sd(x - y)/sqrt(n) is small where the runs agree. ``significant`` marks
    differences whose 95 % interval excludes zero.
    """
    reps = np.intersect1d(records["rep"].to_numpy(), ref_records["rep"].to_numpy())
    rows = []

    def add(metric, target, x, y, unit):
        diff, se = _paired(x, y)
        rows.append({"metric": metric, "target": target, "now": float(x.mean()), "before": float(y.mean()),
                     "difference": diff, "se": se, "unit": unit, "significant": bool(abs(diff) > Z95 * se)})

    def pick(recs, ids):
        sel = np.isin(recs["rep"].to_numpy(), reps)
        order = np.argsort(recs["rep"].to_numpy()[sel], kind="stable")
        return np.column_stack([recs[column("met", t)].to_numpy()[sel][order].astype(np.int8) for t in ids]) \
            if ids else np.zeros((len(reps), 0), dtype=np.int8)

    ref_ids = {t.id for t in ref_plan.targets}
    for e in planmeta.end_dates(plan):
        ids = [t for t in targets_due(plan, e.date) if t in ref_ids]
        if ids:
            add("expected_met", e.date.isoformat(), pick(records, ids).sum(axis=1), pick(ref_records, ids).sum(axis=1),
                "targets")
    head = [t for t in headline_ids(plan) if t in ref_ids]
    if head:
        add("p_all_headline", "", pick(records, head).all(axis=1), pick(ref_records, head).all(axis=1), "probability")
    common = [t.id for t in plan.targets if t.id in ref_ids]
    now, before = pick(records, common), pick(ref_records, common)
    for j, t in enumerate(common):
        add("p_met", t, now[:, j], before[:, j], "probability")
    return pd.DataFrame(rows, columns=["metric", "target", "now", "before", "difference", "se", "unit",
                                       "significant"])


def scenario_headlines(runs: dict, *, reference: str) -> pd.DataFrame:
    """Per scenario the headline figures, each with its paired difference against ``reference``.

    ``runs`` maps a scenario name to ``(plan, records)`` (records: ``rep`` and
    ``met:`` columns). Rows: one per (scenario, metric): ``expected_met`` per end
    date of the reference plan (the targets due then that both plans have) and
    ``p_all_headline``; columns ``value, se`` (s.e. of the scenario's own figure),
    ``difference, difference_se, ci95_low, ci95_high, excludes_zero`` (paired by
    replication; NaN for the reference itself).
    """
    ref_plan, ref_rec = runs[reference]
    rows = []
    for name, (plan, rec) in runs.items():
        ids = {t.id for t in plan.targets}
        metrics = []
        for e in planmeta.end_dates(ref_plan):
            due = [t for t in targets_due(ref_plan, e.date) if t in ids]
            metrics.append(("expected_met", e.date.isoformat(), e.zh, e.en, due,
                            lambda m: m.sum(axis=1)))
        head = [t for t in headline_ids(ref_plan) if t in ids]
        metrics.append(("p_all_headline", "", "全部主要目标", "all headline targets", head,
                        lambda m: m.all(axis=1)))
        reps = np.intersect1d(rec["rep"].to_numpy(), ref_rec["rep"].to_numpy())
        for metric, end, zh, en, tids, reduce in metrics:
            if not tids:
                continue
            x = reduce(_met(rec, tids)).astype(np.float64)
            n = len(x)
            se = float(x.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
            if metric == "p_all_headline":
                se = float(prob_se(x.mean(), n))
            row = {"scenario": name, "metric": metric, "end_date": end, "label_zh": zh, "label_en": en,
                   "targets": len(tids), "value": float(x.mean()), "se": se}
            if name == reference:
                row.update(difference=np.nan, difference_se=np.nan, ci95_low=np.nan, ci95_high=np.nan,
                           excludes_zero=False)
            else:
                xs = reduce(_met_reps(rec, tids, reps)).astype(np.float64)
                ys = reduce(_met_reps(ref_rec, tids, reps)).astype(np.float64)
                diff, dse = _paired(xs, ys)
                row.update(difference=diff, difference_se=dse, ci95_low=diff - Z95 * dse,
                           ci95_high=diff + Z95 * dse, excludes_zero=bool(abs(diff) > Z95 * dse))
            rows.append(row)
    return pd.DataFrame(rows, columns=["scenario", "metric", "end_date", "label_zh", "label_en", "targets", "value",
                                       "se", "difference", "difference_se", "ci95_low", "ci95_high",
                                       "excludes_zero"])


def _met_reps(records, ids: list[str], reps: np.ndarray) -> np.ndarray:
    """The met matrix of ``ids`` on replications ``reps`` (sorted), for paired differences."""
    rep = records["rep"].to_numpy()
    sel = np.isin(rep, reps)
    order = np.argsort(rep[sel], kind="stable")
    return np.column_stack([records[column("met", t)].to_numpy()[sel][order].astype(np.int8) for t in ids])


@dataclass(frozen=True)
class Headline:
    """Everything the report opens with (language-independent tables)."""

    end_dates: pd.DataFrame
    p_all: dict
    targets: pd.DataFrame
    unreachable: pd.DataFrame
    drivers: pd.DataFrame
    replications: int
    changes: pd.DataFrame | None = field(default=None)


def headline(plan, records, targets: pd.DataFrame, *, effects: pd.DataFrame | None = None,
             reference: tuple | None = None, model=None) -> Headline:
    """The bottom line of a run.

    Parameters
    ----------
    plan : Plan
        The plan the records were simulated from.
    records : DataFrame or RecordColumns
        The run's records (``rep`` and ``met:<target>`` columns are read).
    targets : DataFrame
        The run's target table (``targets.csv``).
    effects : DataFrame, optional
        :func:`sim.analysis.risk_effects.programme_effects` (the drivers).
    reference : (Plan, records), optional
        A previous run to compare with (:func:`compare_runs`).
    model : CompiledModel, optional
        ``compile_plan(plan)``, when the caller has it.
    """
    changes = compare_runs(plan, records, *reference) if reference is not None else None
    unr = unreachable_targets(plan, model)
    unr = unr.assign(p_met=unr["id"].map(targets.set_index("id")["p_met"]))
    return Headline(end_date_counts(plan, records), p_all_met(plan, records), headline_targets(plan, targets, unr),
                    unr, programme_drivers(effects), len(records), changes)


__all__ = ["GREEN_FROM", "RED_BELOW", "Headline", "compare_runs", "scenario_headlines", "end_date_counts", "headline", "headline_ids",
           "headline_targets", "p_all_met", "programme_drivers", "rag", "unreachable_targets"]
