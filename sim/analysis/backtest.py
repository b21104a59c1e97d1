"""Backtest: score forecasts (run directories) against what happened (actuals).

Outcomes come from the facts (:mod:`sim.actuals`): an item with a finish fact
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
* probabilities are clipped to ``[EPS, 1 - EPS]`` in every log score, for every
  forecaster alike.

Forecasters: the run itself (``model``), and two naive baselines built here at
the run's as-of date: ``plan`` (the plan is certain: every unfinished item
finishes on its plan date, or on the as-of date if that has passed) and
``refclass`` (each item's planned duration times its reference-class multiplier,
independently: the plan through the engine without links, risks, shocks,
factors, KPI boosts or capacity limits, with the run's seed and size).
Outcomes already known on a forecast's as-of date are listed but not scored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from sim.actuals import Fact, FactKind
from sim.engine.compiled import CompiledModel, compile_plan, end_of
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
        if f.kind is not FactKind.KPI:
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
        marks = [(f.date, f) for f in fs if f.kind is FactKind.PROGRESS and f.value < 1]
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
    memo: dict[str, tuple[bool | None, date | None, date | None]] = {}

    def ref(r: str, deadline: date) -> tuple[bool | None, date | None, date | None]:
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

    def decide(tid: str) -> tuple[bool | None, date | None, date | None]:
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
        dates = [p[2] for p in parts]
        achieved = (max(dates) if need == len(t.refs) and dates and all(dates)
                    and not any(r in targets for r in t.refs) else None)
        if len(yes) >= need:
            chosen = sorted(yes, key=lambda p: p[1])[:need]  # decided once the need-th ref was known
            memo[tid] = (True, max(p[1] for p in chosen), achieved)
        elif len(no) > len(t.refs) - need:
            chosen = sorted(no, key=lambda p: p[1])[: len(t.refs) - need + 1]
            memo[tid] = (False, max(p[1] for p in chosen), achieved)
        else:
            memo[tid] = (None, None, None)
        return memo[tid]

    out = {}
    for t in plan.targets:
        met, when, achieved = decide(t.id)
        if met is not None:
            out[t.id] = Outcome("target", t.id, t.deadline, finished=achieved, met=met, known_on=when)
    return out


def _kpi_outcome(plan: Plan, t, facts: list[Fact]) -> tuple[bool | None, date | None, date | None]:
    kpi = next(r for r in t.refs if any(k.id == r for k in plan.kpis))
    near = [f for f in facts if f.kind is FactKind.KPI and f.id == kpi
            and abs((f.date - t.deadline).days) <= KPI_WINDOW_DAYS]
    if not near:
        return None, None, None
    f = min(near, key=lambda f: (abs((f.date - t.deadline).days), f.date))
    if t.rule is TargetRule.KPI_GE:
        return bool(f.value >= t.threshold), f.reported, None
    base = next(k.baseline for k in plan.kpis if k.id == kpi)
    years = ((t.deadline - plan.as_of).days + 1) / 365.25
    met = base > 0 and f.value > 0 and (f.value / base) ** (1 / years) - 1 >= t.threshold
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
    path[:, :, 0] = 1.0
    achieved, met = evaluate_targets(model, finish, path)
    return Forecast(
        "plan", model.as_of,
        {iid: finish[:, k] for k, iid in enumerate(model.item_ids)},
        {t.id: met[:, j].astype(np.float64) for j, t in enumerate(model.targets)},
        {t.id: achieved[:, j] for j, t in enumerate(model.targets)},
    )


def reference_class_plan(plan: Plan) -> Plan:
    """The plan without links, risks, shocks, factors, KPI boosts or capacity limits."""
    return replace(plan, links=(), risks=(), shocks=(), factors=(), factor_correlations=(), kpi_boosts=(),
                   units=tuple(replace(u, capacity=None) for u in plan.units))


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
           "pit_lo": np.nan, "pit_hi": np.nan, "pit": np.nan, "log_date": np.nan}
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
        row.update(pit_lo=lo, pit_hi=hi, pit=0.5 * (lo + hi), log_date=-np.log(clip(in_month)))
    elif f is not None and outcome.censored is not None:
        lo = float(np.mean(f <= end_of(outcome.censored, as_of)))
        row.update(pit_lo=lo, pit_hi=1.0, log_date=-np.log(clip(1.0 - lo)))
    return row


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
            "log_date": g["log_date"].mean(), "pit_mean": dated["pit"].mean(),
        })
    return pd.DataFrame(rows)


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


# --- charts --------------------------------------------------------------------------------------

def plot_reliability(rel: pd.DataFrame, *, ax=None, footer: str = ""):
    """Reliability diagram: observed frequency against forecast probability, one series per forecaster."""
    import matplotlib.pyplot as plt

    fig = ax.figure if ax is not None else plt.figure(figsize=(6, 5.5))
    ax = ax or fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect reliability")
    for name, g in rel.groupby("forecaster", sort=False):
        ax.plot(g["p_mean"], g["observed"], marker="o", label=f"{name} (n={int(g['n'].sum())})")
        for r in g.itertuples():
            ax.annotate(str(int(r.n)), (r.p_mean, r.observed), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set(xlim=(-0.02, 1.02), ylim=(-0.05, 1.05), xlabel="forecast P(met by plan date)",
           ylabel="observed frequency", title="Reliability of P(met), all forecasts pooled")
    ax.legend(fontsize=8, loc="upper left")
    _footer(fig, footer)
    return fig


def plot_pit(hist: pd.DataFrame, *, footer: str = ""):
    """PIT histograms, one panel per forecaster; censored outcomes stacked (hatched) over their interval."""
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(hist["forecaster"])) or ["model"]
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.6), squeeze=False, sharey=True)
    for ax, name in zip(axes[0], names):
        g = hist[hist["forecaster"] == name]
        width = (g["bin_hi"] - g["bin_lo"]).to_numpy()
        ax.bar(g["bin_lo"], g["dated"], width=width, align="edge", label="finished", edgecolor="black")
        ax.bar(g["bin_lo"], g["censored"], width=width, align="edge", bottom=g["dated"], hatch="//",
               fill=False, label="unfinished (censored)")
        total = g["dated"].sum() + g["censored"].sum()
        if len(g):
            ax.axhline(total / len(g), color="grey", ls="--", lw=1, label="uniform")
        ax.set(title=name, xlabel="PIT = F(actual finish)", xlim=(0, 1))
    axes[0][0].set_ylabel("outcomes")
    axes[0][-1].legend(fontsize=7)
    _footer(fig, footer)
    return fig


def plot_scores(summary: pd.DataFrame, *, title: str, footer: str = ""):
    """Grouped bars of mean Brier, log and dated log scores per forecaster and kind (one forecast date)."""
    import matplotlib.pyplot as plt

    metrics = [("brier", "Brier"), ("log_score", "log score (met)"), ("log_date", "log score (date)")]
    names = list(dict.fromkeys(summary["forecaster"]))
    kinds = list(dict.fromkeys(summary["kind"]))
    width = 0.8 / max(len(kinds), 1)
    fig, axes = plt.subplots(1, len(metrics), figsize=(12, 3.6))
    for ax, (col, label) in zip(axes, metrics):
        for j, kind in enumerate(kinds):
            g = summary[summary["kind"] == kind].set_index("forecaster").reindex(names)
            vals = g[col].to_numpy(dtype=float)
            x = np.arange(len(names)) + (j - (len(kinds) - 1) / 2) * width
            ax.bar(x, np.nan_to_num(vals), width=width, label=f"{kind}s", color=f"C{j}")
            for xi, v in zip(x, vals):
                ax.text(xi, np.nan_to_num(v), "n/a" if np.isnan(v) else f"{v:.3f}", ha="center", va="bottom",
                        fontsize=7)
        ax.set_xticks(np.arange(len(names)), names)
        ax.set(title=label + " (lower is better)")
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    _footer(fig, footer)
    return fig


def _footer(fig, text: str) -> None:
    if text:
        fig.text(0.01, 0.005, text, fontsize=7, color="dimgray", ha="left", va="bottom")
        fig.tight_layout(rect=(0, 0.05, 1, 1))
    else:
        fig.tight_layout()


# --- the backtest of run directories (reads runs, writes a backtest directory) --------------------

@dataclass
class BacktestResult:
    """Tables of a backtest: per outcome and forecaster, and mean scores per forecast."""

    outcomes: pd.DataFrame
    summary: pd.DataFrame
    notes: list[str]
    out: object = None  # the directory written


def backtest_runs(run_dirs, *, plan: Plan, actuals, out, params_digest: str = "",
                  refclass: bool = True) -> BacktestResult:
    """Score the forecasts of ``run_dirs`` against ``actuals`` and write tables and charts to ``out``.

    Parameters
    ----------
    run_dirs
        Run directories (records.parquet, manifest.json); each is one forecast at its as-of date.
    plan
        The plan as loaded from params (plan dates, target rules, the naive baselines).
    actuals
        :class:`sim.actuals.Actuals`; outcomes are as of its latest fact.
    out
        Directory for outcomes.csv, scores.csv, reliability/PIT tables and PNG charts, backtest.md.
    params_digest
        SHA-256 of the params read, compared with each run's (a mismatch is noted).
    refclass
        Whether to compute the reference-class baseline (an engine run per forecast).
    """
    import json
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.actuals import apply_actuals
    from sim.results import read_manifest, read_records

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    found = outcomes(plan, actuals.facts)
    notes: list[str] = []
    tables = []
    for run in map(Path, run_dirs):
        man = read_manifest(run)
        as_of = date.fromisoformat(str(man["as_of"]))
        if params_digest and man.get("params_hash") and man["params_hash"] != params_digest:
            notes.append(f"{run.name}: run from params with a different hash than the params read now")
        wanted = []
        for o in found:
            wanted += ([column("finish", o.id)] if o.kind == "item"
                       else [column("met", o.id), column("achieved", o.id)])
        records = read_records(run)
        records = records[[c for c in dict.fromkeys(wanted) if c in records.columns]]
        forecasts = [forecast_from_records("model", as_of, records)]
        plan_at = apply_actuals(plan, actuals.facts, as_of)
        forecasts.append(plan_certain(compile_plan(plan_at)))
        if refclass:
            forecasts.append(reference_class(plan_at, runs=int(man["replications"]), seed=int(man["seed"])))
        tables.append(score_table(forecasts, found, label=run.name))
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    summary = summarise(table) if len(table) else pd.DataFrame()
    footer = (f"actuals {actuals.file} (sha256 {actuals.sha256[:12]}), outcomes as of {actuals.latest}; "
              f"log scores clip p to [{EPS:g}, {1 - EPS:g}]")
    table.to_csv(out / "outcomes.csv", index=False)
    summary.to_csv(out / "scores.csv", index=False)
    if len(table):
        rel, hist = reliability(table), pit_histogram(table)
        rel.to_csv(out / "reliability.csv", index=False)
        hist.to_csv(out / "pit.csv", index=False)
        for name, fig in (("reliability.png", plot_reliability(rel, footer=footer)),
                          ("pit.png", plot_pit(hist, footer=footer))):
            fig.savefig(out / name, dpi=120)
            plt.close(fig)
        for (label, as_of), g in summary.groupby(["forecast", "as_of"], sort=False):
            fig = plot_scores(g, title=f"Backtest of {label}: forecast as of {as_of}", footer=footer)
            fig.savefig(out / f"scores-{label}.png", dpi=120)
            plt.close(fig)
    (out / "backtest.md").write_text(backtest_markdown(summary, table, actuals=actuals, notes=notes),
                                     encoding="utf-8")
    meta = {"actuals": actuals.manifest(), "outcomes_as_of": actuals.latest, "eps": EPS,
            "runs": [str(r) for r in run_dirs], "notes": notes}
    (out / "manifest.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False, default=str) + "\n",
                                       encoding="utf-8")
    return BacktestResult(table, summary, notes, out)


def backtest_markdown(summary: pd.DataFrame, table: pd.DataFrame, *, actuals, notes: list[str]) -> str:
    """A short Markdown report of a backtest."""
    lines = [f"# Backtest against {actuals.file}", "",
             f"Outcomes as of {actuals.latest} (actuals sha256 `{actuals.sha256[:12]}`). Lower is better for "
             f"Brier and log scores; log scores clip probabilities to [{EPS:g}, {1 - EPS:g}]. Forecasters: "
             "`model` (the run), `plan` (the plan is certain), `refclass` (reference-class multipliers, "
             "independent, no links, risks or shocks). Outcomes already known on a forecast's as-of date "
             "are not scored.", ""]
    if len(summary):
        lines += [summary_text(summary), ""]
    if len(table):
        lines += ["## Outcomes", "", "| forecast | forecaster | id | plan date | finished | unfinished on | "
                  "P(met) | met | Brier | log | PIT |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in table.itertuples():
            tag = " (known)" if r.known_at_forecast else ""
            lines.append(f"| {r.forecast} | {r.forecaster} | {r.id}{tag} | {r.plan_date} | {_s(r.finished)} | "
                         f"{_s(r.censored)} | {r.p_met:.3f} | {_s(r.met)} | {_f(r.brier)} | {_f(r.log_score)} | "
                         f"{_pit(r)} |")
    lines += ["", *[f"* {n}" for n in notes]]
    return "\n".join(lines) + "\n"


def summary_text(summary: pd.DataFrame) -> str:
    """The mean scores as aligned text (also used by the CLI)."""
    head = (f"{'forecast':<24} {'as of':<10} {'forecaster':<10} {'kind':<6} {'n':>3} {'Brier':>7} {'log':>7} "
            f"{'n dated':>7} {'n cens':>6} {'log date':>8} {'PIT mean':>8}")
    lines = [head]
    for r in summary.itertuples():
        lines.append(f"{str(r.forecast)[:24]:<24} {str(r.as_of):<10} {r.forecaster:<10} {r.kind:<6} {r.n_binary:>3} "
                     f"{_f(r.brier):>7} {_f(r.log_score):>7} {r.n_dated:>7} {r.n_censored:>6} "
                     f"{_f(r.log_date):>8} {_f(r.pit_mean):>8}")
    return "\n".join(lines)


def _f(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.3f}"


def _s(x) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NaT else str(x)


def _pit(r) -> str:
    if np.isnan(r.pit_lo):
        return ""
    return f"[{r.pit_lo:.3f}, {r.pit_hi:.3f}]"
