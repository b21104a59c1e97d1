"""Backtest: score forecasts (run directories) against what happened (actuals).

Outcomes come from the facts (:mod:`sim.model.actuals`): an item with a finish fact
has a *dated* outcome; an item known unfinished on a date (a progress fact
below 1, or a start fact) is *right-censored* there; "met by its plan date" is
known when the finish is dated, or when the item was still unfinished on or
after its plan date. Targets are decided from their refs' outcomes (KPI targets
from a KPI fact within :data:`KPI_WINDOW_DAYS` of the deadline).

Scores (lower is better for all but the PIT):

* Brier score ``(p - y)^2`` and log score ``-ln p(y)`` of "met by its plan date"
  (items: finish <= plan date; targets: met by the deadline);
* PIT ``F(A)`` of a dated outcome A, reported as the interval ``[F(A-), F(A)]``
  and its midpoint; a censored outcome (unfinished on c) gives ``[F(c), 1]`` and
  the log score ``-ln P(finish > c)``; a dated one the log score of the finish's
  calendar month, ``-ln P(finish in that month)``;
* CRPS (days) of a dated finish against the forecast's finish samples
  (``scoringrules.crps_ensemble``); for an outcome censored at c (unfinished
  then) the threshold-weighted CRPS with weight 1{z <= c}
  (``scoringrules.twcrps_ensemble``, ``b = c``), which is the integral of F(z)^2
  below c: the part of the CRPS the censored outcome decides;
* probabilities are clipped to ``[EPS, 1 - EPS]`` in every log score, for every
  forecaster alike;
* :func:`paired_differences`: per forecast date and kind, the mean over the same
  outcomes of (model score - baseline score), with its standard error across
  outcomes (lower = the model is better).

Forecasters: the run itself (``model``), and two naive baselines built here at
the run's as-of date: ``plan`` (the plan is certain: every unfinished item
finishes on its plan date, or on the as-of date if that has passed) and
``refclass`` (each item's planned duration times its reference-class multiplier,
independently: the plan through the engine without links, risks, shocks,
factors, KPI boosts or capacity limits, with the run's seed and size).
Outcomes already known on a forecast's as-of date are listed but not scored.

Reading run directories and writing a backtest is :mod:`sim.studies.backtest`; its charts and
text are :mod:`sim.report.backtest`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from sim.model.actuals import ITEM_KINDS, Fact, FactKind
from sim.engine.compiled import CompiledModel, compile_plan
from sim.model.clock import FAR_DAY, end_of, years_to
from sim.engine.replicate import column
from sim.engine.targets import evaluate_targets
from sim.model.entities import Plan
from sim.model.enums import TargetRule

EPS = 1e-3
KPI_WINDOW_DAYS = 31
MODELS = ("model", "plan", "refclass")


@dataclass(frozen=True)
class Outcome:
    """What happened to one item or target, as far as the facts tell.

    ``finished``: the actual finish (or achieved) date; ``censored``: the item was
    still unfinished on this date; ``met``: met by ``plan_date`` (None: unknown);
    ``known_on``: the date the facts deciding ``met`` (or the finish) were reported.
    """

    kind: str  # item | target
    id: str
    plan_date: date
    finished: date | None = None
    censored: date | None = None
    met: bool | None = None
    known_on: date | None = None


# --- outcomes from facts -------------------------------------------------------------------------

def item_outcomes(plan: Plan, facts: Iterable[Fact]) -> dict[str, Outcome]:
    """Outcome of every item that any fact tells something about."""
    by_item: dict[str, list[Fact]] = {}
    for f in facts:
        if f.kind in ITEM_KINDS:
            by_item.setdefault(f.id, []).append(f)
    out = {}
    for it in plan.items:
        fs = by_item.get(it.id)
        if not fs:
            continue
        fin = next((f for f in fs if f.kind is FactKind.FINISH), None)
        if fin is not None:
            out[it.id] = Outcome("item", it.id, it.plan_finish, finished=fin.date,
                                 met=fin.date <= it.plan_finish, known_on=fin.reported)
            continue
        # unfinished on c: progress below 1 on c, or started on c (so not finished the day before)
        marks = [(f.date, f) for f in fs if (f.kind is FactKind.PROGRESS and _value(f) < 1)
                 or f.kind is FactKind.UNFINISHED]
        marks += [(f.date - timedelta(days=1), f) for f in fs if f.kind is FactKind.START]
        if not marks:
            continue
        c, f = max(marks, key=lambda m: m[0])
        late = c >= it.plan_finish
        out[it.id] = Outcome("item", it.id, it.plan_finish, censored=c, met=False if late else None,
                             known_on=f.reported)
    return out


def target_outcomes(plan: Plan, facts: Iterable[Fact], items: dict[str, Outcome]) -> dict[str, Outcome]:
    """Outcome of every target the facts decide (met or not met by its deadline)."""
    facts = list(facts)
    targets = {t.id: t for t in plan.targets}
    memo: dict[str, Decision] = {}

    def ref(r: str, deadline: date) -> Decision:
        if r in targets:
            return decide(r)
        o = items.get(r)
        if o is None:
            return None, None, None
        if o.finished is not None:
            return o.finished <= deadline, o.known_on, o.finished
        if o.censored is not None and o.censored >= deadline:
            return False, o.known_on, None
        return None, None, None

    def decide(tid: str) -> Decision:
        if tid in memo:
            return memo[tid]
        t = targets[tid]
        if t.rule in (TargetRule.KPI_GE, TargetRule.KPI_CAGR_GE):
            memo[tid] = _kpi_outcome(plan, t, facts)
            return memo[tid]
        parts = [ref(r, t.deadline) for r in t.refs]
        need = len(t.refs) if t.rule in (TargetRule.ITEM_BY, TargetRule.ALL_OF) else int(t.k or len(t.refs))
        yes = [p for p in parts if p[0] is True]
        no = [p for p in parts if p[0] is False]
        # the achieved date is known when every ref is an item with a finish date (ITEM_BY, ALL_OF)
        dates = [p[2] for p in parts if p[2] is not None]
        achieved = (max(dates) if need == len(t.refs) and dates and len(dates) == len(parts)
                    and not any(r in targets for r in t.refs) else None)
        if len(yes) >= need:
            chosen = sorted(yes, key=_known_on)[:need]  # decided once the need-th ref was known
            memo[tid] = (True, max(map(_known_on, chosen)), achieved)
        elif len(no) > len(t.refs) - need:
            chosen = sorted(no, key=_known_on)[: len(t.refs) - need + 1]
            memo[tid] = (False, max(map(_known_on, chosen)), achieved)
        else:
            memo[tid] = (None, None, None)
        return memo[tid]

    out = {}
    for t in plan.targets:
        met, when, achieved = decide(t.id)
        if met is not None:
            out[t.id] = Outcome("target", t.id, t.deadline, finished=achieved, met=met, known_on=when)
    return out


# (met, known on, achieved): a ref's or a target's decision as far as the facts tell (None: unknown)
Decision = tuple[bool | None, date | None, date | None]


def _known_on(d: Decision) -> date:
    """When a decided ref became known (a decided ref always has the date its facts were reported)."""
    if d[1] is None:
        raise ValueError(f"a decided outcome {d} has no report date")
    return d[1]


def _value(f: Fact) -> float:
    """The value of a progress or KPI fact (reading the actuals requires one for these kinds)."""
    if f.value is None:
        raise ValueError(f"{f.kind} fact of {f.id} on {f.date} has no value")
    return f.value


def _threshold(t) -> float:
    """The threshold of a KPI target (loading the plan requires one for the KPI rules)."""
    if t.threshold is None:
        raise ValueError(f"KPI target {t.id} has no threshold")
    return float(t.threshold)


def _kpi_outcome(plan: Plan, t, facts: list[Fact]) -> Decision:
    kpi = next(r for r in t.refs if any(k.id == r for k in plan.kpis))
    near = [f for f in facts if f.kind is FactKind.KPI and f.id == kpi
            and abs((f.date - t.deadline).days) <= KPI_WINDOW_DAYS]
    if not near:
        # a lower bound near the deadline decides "met" when it reaches the threshold (KPI_GE only)
        bound = [f for f in facts if f.kind is FactKind.KPI_AT_LEAST and f.id == kpi and t.rule is TargetRule.KPI_GE
                 and abs((f.date - t.deadline).days) <= KPI_WINDOW_DAYS and _value(f) >= _threshold(t)]
        if bound:
            return True, min(f.reported for f in bound), None
        return None, None, None
    f = min(near, key=lambda f: (abs((f.date - t.deadline).days), f.date))
    if t.rule is TargetRule.KPI_GE:
        return bool(_value(f) >= _threshold(t)), f.reported, None
    base = next(k.baseline for k in plan.kpis if k.id == kpi)
    years = years_to(t.deadline, plan.as_of)
    value = _value(f)
    met = base > 0 and value > 0 and (value / base) ** (1 / years) - 1 >= _threshold(t)
    return bool(met), f.reported, None


def outcomes(plan: Plan, facts: Iterable[Fact]) -> list[Outcome]:
    """Every item and target outcome the facts tell something about (items first)."""
    facts = list(facts)
    items = item_outcomes(plan, facts)
    return [*items.values(), *target_outcomes(plan, facts, items).values()]


# --- forecasts -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Forecast:
    """A forecaster's samples at one as-of date: item finish days and target met flags/achieved days."""

    name: str
    as_of: date
    finish: dict[str, np.ndarray]  # item id -> finish days from as_of
    met: dict[str, np.ndarray]  # target id -> 0/1
    achieved: dict[str, np.ndarray]  # target id -> achieved day


def forecast_from_records(name: str, as_of: date, records: pd.DataFrame) -> Forecast:
    """A forecast from a run's records (columns ``finish:ID``, ``met:T``, ``achieved:T``)."""
    def cols(kind: str) -> dict[str, np.ndarray]:
        pre = column(kind, "")
        return {c[len(pre):]: records[c].to_numpy(np.float64) for c in records.columns if c.startswith(pre)}

    return Forecast(name, as_of, cols("finish"), cols("met"), cols("achieved"))


def plan_certain(model: CompiledModel) -> Forecast:
    """The plan taken as certain at ``model``'s as-of date (one deterministic sample).

    Unfinished items finish at the end of their plan date (or of the as-of date,
    if that has passed); KPI targets are taken as met (a KPI path far above any
    threshold), so every target whose items keep to the plan is met.
    """
    finish = np.where(model.fixed, model.fixed_finish, np.maximum(model.plan_finish_day, 1.0))[None, :]
    path = np.full((1, len(model.kpis), len(model.kpi_grid)), 1e30)
    path[:, :, int(np.searchsorted(model.kpi_grid, 0.0))] = 1.0  # the growth base at day 0 (the grid may start earlier)
    # the plan taken as certain spends its planned investment: every completion rate is 1
    invest = {it.target: np.ones(1) for it in model.cost.invest} if model.cost is not None else None
    achieved, met = evaluate_targets(model, finish, path, invest=invest)
    return Forecast(
        "plan", model.as_of,
        {iid: finish[:, k] for k, iid in enumerate(model.item_ids)},
        {t.id: met[:, j].astype(np.float64) for j, t in enumerate(model.targets)},
        {t.id: achieved[:, j] for j, t in enumerate(model.targets)},
    )


def reference_class_plan(plan: Plan) -> Plan:
    """The plan without links, risks, shocks, factors, KPI boosts or capacity limits.

    Each project type keeps its published reference class (``reference`` of
    duration_classes.csv), not the narrowed multiplier the model combines with
    the register's risks and shocks (docs/calibration.md §2.4).
    """
    classes = tuple(c if c.reference is None else replace(c, multiplier=c.reference) for c in plan.duration_classes)
    return replace(plan, links=(), risks=(), shocks=(), factors=(), factor_correlations=(), kpi_boosts=(),
                   units=tuple(replace(u, capacity=None) for u in plan.units), duration_classes=classes)


def reference_class(plan: Plan, *, runs: int, seed: int) -> Forecast:
    """Reference-class forecast: the stripped plan (:func:`reference_class_plan`) through the engine."""
    from sim.engine.runner import Executor, RunConfig, run_monte_carlo

    model = compile_plan(reference_class_plan(plan))
    tables = []
    run_monte_carlo(model, RunConfig(runs=runs, seed=seed, executor=Executor.INLINE, workers=1),
                    lambda rec: tables.append(rec.to_table(model).to_pandas()))
    return forecast_from_records("refclass", plan.as_of, pd.concat(tables, ignore_index=True))


# --- scoring -------------------------------------------------------------------------------------

def clip(p: float) -> float:
    return float(min(max(p, EPS), 1.0 - EPS))


def score(forecast: Forecast, outcome: Outcome) -> dict | None:
    """Scores of one forecast for one outcome; None when the forecast has no samples for it."""
    as_of = forecast.as_of
    if outcome.kind == "item":
        f = forecast.finish.get(outcome.id)
        if f is None:
            return None
        p = float(np.mean(f <= end_of(outcome.plan_date, as_of)))
    else:
        m = forecast.met.get(outcome.id)
        if m is None:
            return None
        p = float(np.mean(m))
        f = forecast.achieved.get(outcome.id)
    row = {"p_met": p, "met": outcome.met, "brier": np.nan, "log_score": np.nan,
           "pit_lo": np.nan, "pit_hi": np.nan, "pit": np.nan, "log_date": np.nan, "crps_days": np.nan}
    if outcome.met is not None:
        y = 1.0 if outcome.met else 0.0
        row["brier"] = (p - y) ** 2
        row["log_score"] = -np.log(clip(p if outcome.met else 1.0 - p))
    if f is not None and outcome.finished is not None:
        hi = float(np.mean(f <= end_of(outcome.finished, as_of)))
        lo = float(np.mean(f <= end_of(outcome.finished, as_of) - 1))
        first = outcome.finished.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        in_month = float(np.mean((f > end_of(first, as_of) - 1) & (f <= end_of(nxt, as_of) - 1)))
        row.update(pit_lo=lo, pit_hi=hi, pit=0.5 * (lo + hi), log_date=-np.log(clip(in_month)),
                   crps_days=crps_days(f, end_of(outcome.finished, as_of)))
    elif f is not None and outcome.censored is not None:
        lo = float(np.mean(f <= end_of(outcome.censored, as_of)))
        row.update(pit_lo=lo, pit_hi=1.0, log_date=-np.log(clip(1.0 - lo)),
                   crps_days=crps_days(f, end_of(outcome.censored, as_of), censored=True))
    return row


def crps_days(samples: np.ndarray, observed_day: float, *, censored: bool = False) -> float:
    """CRPS in days of finish-day ``samples`` for a finish at ``observed_day``; with ``censored`` the finish is
    only known to be after ``observed_day`` and the threshold-weighted CRPS below it is returned.

    Samples that never finish count at :data:`FAR_DAY` (a horizon, so the score stays finite).
    """
    import scoringrules as sr

    x = np.minimum(np.asarray(samples, dtype=np.float64), FAR_DAY)
    if censored:
        return float(sr.twcrps_ensemble(float(observed_day), x, b=float(observed_day)))
    return float(sr.crps_ensemble(float(observed_day), x))


def score_table(forecasts: Iterable[Forecast], found: list[Outcome], *, label: str = "") -> pd.DataFrame:
    """One row per (forecaster, outcome): the outcome, the forecast probability and every score."""
    rows = []
    for fc in forecasts:
        for o in found:
            s = score(fc, o)
            if s is None:
                continue
            known = o.known_on is not None and o.known_on <= fc.as_of
            rows.append({"forecast": label, "as_of": fc.as_of, "forecaster": fc.name, "kind": o.kind, "id": o.id,
                         "plan_date": o.plan_date, "finished": o.finished, "censored": o.censored,
                         "known_on": o.known_on, "known_at_forecast": known, **s})
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean scores per forecast, forecaster and kind (items, targets), over outcomes not known at the forecast date.

    Items and targets are kept apart: an ``item_by`` target repeats its item's outcome.
    """
    live = table[~table["known_at_forecast"]]
    rows = []
    for (label, as_of, name, kind), g in live.groupby(["forecast", "as_of", "forecaster", "kind"], sort=False):
        dated = g[g["finished"].notna() & g["pit"].notna()]
        cens = g[g["finished"].isna() & g["censored"].notna()]
        rows.append({
            "forecast": label, "as_of": as_of, "forecaster": name, "kind": kind,
            "n_binary": int(g["brier"].notna().sum()),
            "brier": g["brier"].mean(), "log_score": g["log_score"].mean(),
            "n_dated": len(dated), "n_censored": len(cens),
            "log_date": g["log_date"].mean(), "crps_days": g["crps_days"].mean(), "pit_mean": dated["pit"].mean(),
        })
    return pd.DataFrame(rows)


SCORES = ("brier", "log_score", "log_date", "crps_days")


def paired_differences(table: pd.DataFrame, *, model: str = "model", baselines=("refclass", "plan")) -> pd.DataFrame:
    """Model minus baseline score on the same outcomes, per forecast date, kind, baseline and score.

    Columns: ``forecast``, ``as_of``, ``kind``, ``baseline``, ``score``, ``n`` (outcomes scored by both),
    ``model``/``baseline_mean`` (means on those outcomes), ``diff`` (model - baseline; negative = the model
    is better), ``se`` (sd of the per-outcome differences / sqrt(n); NaN for n < 2) and ``z`` = diff / se.
    Censored outcomes enter the dated log score and the CRPS in their censored form, alike for both.
    """
    live = table[~table["known_at_forecast"]]
    rows = []
    keys = ["forecast", "as_of", "kind", "id"]
    for base in baselines:
        a = live[live["forecaster"] == model].set_index(keys)
        b = live[live["forecaster"] == base].set_index(keys)
        both = a.add_suffix("_m").join(b.add_suffix("_b"), how="inner")
        if both.empty:
            continue
        for (label, as_of, kind), g in both.groupby(level=["forecast", "as_of", "kind"], sort=False):
            for s in SCORES:
                d = (g[f"{s}_m"] - g[f"{s}_b"]).dropna()
                n = len(d)
                if n == 0:
                    continue
                se = float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
                diff = float(d.mean())
                rows.append({"forecast": label, "as_of": as_of, "kind": kind, "baseline": base, "score": s, "n": n,
                             "model": float(g.loc[d.index, f"{s}_m"].mean()),
                             "baseline_mean": float(g.loc[d.index, f"{s}_b"].mean()), "diff": diff, "se": se,
                             "z": diff / se if se and np.isfinite(se) and se > 0 else np.nan})
    return pd.DataFrame(rows, columns=["forecast", "as_of", "kind", "baseline", "score", "n", "model",
                                       "baseline_mean", "diff", "se", "z"])


def reliability(table: pd.DataFrame, *, bins: int = 10) -> pd.DataFrame:
    """Per forecaster and probability bin: mean forecast, observed frequency and count."""
    live = table[~table["known_at_forecast"] & table["met"].notna()].copy()
    live["bin"] = np.minimum((live["p_met"] * bins).astype(int), bins - 1)
    live["y"] = live["met"].astype(float)
    out = live.groupby(["forecaster", "bin"]).agg(p_mean=("p_met", "mean"), observed=("y", "mean"),
                                                  n=("y", "size")).reset_index()
    return out


def pit_histogram(table: pd.DataFrame, *, bins: int = 10) -> pd.DataFrame:
    """Per forecaster: PIT counts per bin; a censored PIT [F(c), 1] is spread evenly over its interval."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    live = table[~table["known_at_forecast"] & table["pit_lo"].notna()]
    rows = []
    for name, g in live.groupby("forecaster", sort=False):
        dated = np.zeros(bins)
        censored = np.zeros(bins)
        for r in g.itertuples():
            if pd.notna(r.finished):
                dated[min(int(r.pit * bins), bins - 1)] += 1
            else:
                lo = min(r.pit_lo, 1.0 - 1e-12)
                censored += np.clip(np.minimum(edges[1:], 1.0) - np.maximum(edges[:-1], lo), 0, None) / (1.0 - lo)
        for b in range(bins):
            rows.append({"forecaster": name, "bin_lo": edges[b], "bin_hi": edges[b + 1],
                         "dated": dated[b], "censored": censored[b]})
    return pd.DataFrame(rows)
