"""Evaluate what-ifs against one cached base, on common random numbers.

:class:`Base` holds the plan, its compiled model and the base replications
(met indicators and item finishes), simulated once with the run's seed through
the engine's runner. A what-if is a scenario overlay (:mod:`sim.serve.request`)
applied to that plan and simulated with the same seed and replications, so for
every target the paired difference ``d_r = met_whatif(r) - met_base(r)`` has
its mean and standard error sd(d)/sqrt(n) (:func:`sim.analysis.summary.paired_difference`).
An item or target with no dependency path from a slipped item keeps its draws
and its value in every replication: its difference is exactly 0.

What else slips is shown twice: the mean finish shift per item over the paired
replications, and the shift in the zero-variance plan (every multiplier 1, no
risks or shocks, :func:`sim.analysis.slip_propagation.zero_variance`), each with the chain of links
from a slipped item.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any

import numpy as np

from sim.analysis import headline as hl
from sim.analysis.summary import paired_difference
from sim.engine.compiled import CompiledModel, compile_plan
from sim.model.clock import date_of
from sim.engine.replicate import Engine, run_chunk
from sim.engine.runner import RunConfig, run_monte_carlo
from sim.model import planmeta
from sim.model.entities import Plan
from sim.model.enums import TargetRule
from sim.model.links import kind as link_kind
from sim.model.select import resolve
from sim.model.problems import PlanError
from sim.model.scenario import apply_scenario, load_scenario, scenario_from_dict
from sim.serve import headline
from sim.serve.request import Issue, RequestError, WhatIf
from sim.analysis.slip_propagation import zero_variance

SHIFT_EPS = 0.01  # days: smaller shifts are float32 rounding, not movement
CACHE_SIZE = 32  # what-ifs kept (a repeated request is answered at once)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """Replications of one plan: met indicators (runs, targets) and item finishes (runs, items)."""

    model: CompiledModel
    met: np.ndarray
    finish: np.ndarray
    seconds: float
    cost: np.ndarray | None = None  # (runs,) programme cost, 亿元 (every invested item)


def simulate(plan: Plan, config: RunConfig) -> Outcome:
    """Compile ``plan`` and run ``config`` through the engine's runner (no run directory)."""
    t0 = time.perf_counter()
    model = compile_plan(plan)
    met, finish, cost = [], [], []

    def sink(rec) -> None:
        met.append(rec.met.astype(bool))
        finish.append(rec.finish)
        cost.append(rec.cost.sum(axis=1) if rec.cost is not None else np.zeros(rec.rows))

    run_monte_carlo(model, dataclasses.replace(config, precision=None, progress=False), sink)
    return Outcome(model, np.concatenate(met), np.concatenate(finish), time.perf_counter() - t0,
                   np.concatenate(cost).astype(np.float64))


class Base:
    """The cached base of a what-if session.

    Parameters
    ----------
    plan
        The plan every what-if starts from (a run directory's plan, or params/).
    config
        Replications and seed (the run's seed, so the base is the run's first replications).
    scenarios_dir
        Where the scenario files offered on the page live (None: none offered).
    label
        What the base is, for the page and the saved YAML's comment.
    """

    def __init__(self, plan: Plan, config: RunConfig, *, scenarios_dir: Path | None = None, label: str = "") -> None:
        self.plan = plan
        self.config = config
        self.label = label
        self.scenarios_dir = scenarios_dir
        self.scenario_files = _scenario_files(scenarios_dir)
        self.base = simulate(plan, config)
        self.graph = _Graph(plan)
        self.headline_ids = set(hl.headline_ids(plan))
        self.unreachable = hl.unreachable_targets(plan, self.base.model).set_index("id")
        self._flat = zero_variance(plan)
        self._flat_base = _one_schedule(compile_plan(self._flat))
        self._scenario_plans: dict[str, Plan] = {}
        self._cache: OrderedDict[str, dict] = OrderedDict()
        self._flat_cache: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()  # one simulation at a time: the machine's cores are the limit
        self.timings: deque[float] = deque(maxlen=50)

    @property
    def scenarios(self) -> tuple[str, ...]:
        return tuple(self.scenario_files)

    # -- plans ---------------------------------------------------------------------------------
    def scenario_plan(self, name: str | None) -> Plan:
        """The base plan with scenario ``name`` applied (cached)."""
        if name is None:
            return self.plan
        if name not in self._scenario_plans:
            try:
                self._scenario_plans[name] = apply_scenario(self.plan, load_scenario(self.scenario_files[name]))
            except PlanError as exc:
                raise RequestError([Issue("scenario", name, p.message + (f" — {p.hint}" if p.hint else ""),
                                          f"情景 {name} 无法应用：{p.message}") for p in exc.problems]) from None
        return self._scenario_plans[name]

    def whatif_plan(self, whatif: WhatIf) -> Plan:
        """The plan of ``whatif``: its scenario, then its overlay (slips and switches)."""
        plan = self.scenario_plan(whatif.scenario)
        overlay = whatif.overlay()
        if not overlay:
            return plan
        return _apply(plan, overlay)

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, whatif: WhatIf, key: str) -> dict[str, Any]:
        """Every target's P(met) and its paired difference from the base, the headline, what else slips."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return {**self._cache[key], "cached": True}
            t0 = time.perf_counter()
            plan = self.whatif_plan(whatif)
            out = self.base if whatif.empty else simulate(plan, self.config)
            result: dict[str, Any] = {
                "runs": int(self.base.met.shape[0]),
                "seed": self.config.seed,
                "targets": self._targets(out, whatif),
                "headline": headline.compare(self.base.model, self.base.met, out.met),
                "moves": self._moves(out, whatif),
                "cost": _cost(self.base, out),
                "seconds": 0.0,
                "cached": False,
            }
            result["seconds"] = round(time.perf_counter() - t0, 3)
            self.timings.append(result["seconds"])
            self._cache[key] = result
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
            return result

    def _targets(self, out: Outcome, whatif: WhatIf) -> list[dict]:
        col = {t.id: k for k, t in enumerate(out.model.targets)}
        reach = self.graph.reachable([s.item for s in whatif.slips])
        by_id = {t.id: t for t in self.plan.targets}
        sections = {x.id: x for x in planmeta.sections(self.plan)}
        rows = []
        for k, spec in enumerate(self.base.model.targets):
            t = by_id[spec.id]
            y = self.base.met[:, k].astype(np.float64)
            x = out.met[:, col[t.id]].astype(np.float64) if t.id in col else np.full_like(y, np.nan)
            d = paired_difference(x, y)
            rows.append({"id": t.id, "name_zh": t.name_zh, "name_en": t.name_en, "section": t.section,
                         "section_zh": getattr(sections.get(t.section), "zh", t.section),
                         "section_en": getattr(sections.get(t.section), "en", t.section),
                         "deadline": t.deadline.isoformat(), "p_base": d["p_reference"], "p": float(x.mean()),
                         "diff": d["difference"], "se": d["difference_se"], "lo": d["ci95_low"],
                         "hi": d["ci95_high"], "significant": d["excludes_zero"],
                         "rag": headline.rag(float(x.mean())), "on_path": ("target", t.id) in reach,
                         "headline": t.id in self.headline_ids, **self._unreachable(t.id)})
        return rows

    def _unreachable(self, tid: str) -> dict:
        """Whether the base plan's own dates rule the target out, and why (:func:`unreachable_targets`)."""
        if tid not in self.unreachable.index:
            return {"unreachable": False, "reason_zh": "", "reason_en": ""}
        row = self.unreachable.loc[tid]
        return {"unreachable": True, "reason_zh": str(row["reason_zh"]), "reason_en": str(row["reason_en"])}

    def _moves(self, out: Outcome, whatif: WhatIf) -> list[dict]:
        """Items whose finish moves: mean paired shift, P(later), zero-variance shift, and the path."""
        roots = [s.item for s in whatif.slips]
        det = self._flat_moves(whatif)
        base_ids = self.base.model.item_ids
        col = {iid: k for k, iid in enumerate(out.model.item_ids)}
        names = {it.id: it for it in self.plan.items}
        as_of = self.plan.as_of
        paths = self.graph.paths(roots)
        rows: list[dict[str, Any]] = []
        for k, iid in enumerate(base_ids):
            if iid not in col:
                continue
            b = self.base.finish[:, k].astype(np.float64)
            w = out.finish[:, col[iid]].astype(np.float64)
            shift = w - b
            mean = float(shift.mean())
            flat = det.get(iid, 0.0)
            if abs(mean) <= SHIFT_EPS and abs(flat) <= SHIFT_EPS and iid not in roots:
                continue
            se = float(shift.std(ddof=1) / np.sqrt(len(shift))) if len(shift) > 1 else 0.0
            rows.append({"id": iid, "name_zh": names[iid].name_zh, "name_en": names[iid].name_en,
                         "slipped": iid in roots, "mean_shift_days": round(mean, 2), "se_days": round(se, 2),
                         "p_later": float(np.mean(shift > SHIFT_EPS)),
                         "p50_base": _date(np.median(b), as_of), "p50_whatif": _date(np.median(w), as_of),
                         "flat_shift_days": round(float(flat), 1), "path": paths.get(iid, "")})
        rows.sort(key=lambda r: (not r["slipped"], -abs(r["mean_shift_days"]), r["id"]))
        return rows

    def _flat_moves(self, whatif: WhatIf) -> dict[str, float]:
        """Finish shift of each item in the zero-variance plan with the slips (scenario ignored)."""
        overlay = whatif.slip_overlay()
        if not overlay:
            return {}
        key = repr(sorted(overlay["slip"].items()))
        if key not in self._flat_cache:  # the same slips with other switches: the same zero-variance plan
            slipped = _one_schedule(compile_plan(_apply(self._flat, overlay)))
            self._flat_cache[key] = {i: slipped[i] - self._flat_base[i] for i in slipped if i in self._flat_base}
            if len(self._flat_cache) > CACHE_SIZE:
                self._flat_cache.pop(next(iter(self._flat_cache)))
        return self._flat_cache[key]


def _cost(base: Outcome, out: Outcome) -> dict[str, float] | None:
    """Programme cost (亿元): P50 and P90 of the what-if, and its paired mean difference from the base."""
    if base.cost is None or out.cost is None or not base.cost.any():
        return None
    d = paired_difference(out.cost, base.cost)
    q50, q90 = np.quantile(out.cost, [0.5, 0.9])
    return {"p50": float(q50), "p90": float(q90), "base_mean": float(base.cost.mean()),
            "difference": d["difference"], "difference_se": d["difference_se"]}


def _apply(plan: Plan, overlay: dict) -> Plan:
    try:
        return apply_scenario(plan, scenario_from_dict(overlay, name="what-if", file="<what-if>"))
    except PlanError as exc:
        raise RequestError([Issue(p.column or "", p.value or "", p.message + (f" — {p.hint}" if p.hint else ""),
                                  f"推演无法应用：{p.message}") for p in exc.problems]) from None


def _one_schedule(model: CompiledModel) -> dict[str, float]:
    rec = run_chunk(model, seed=0, chunk=0, rows=1, engine=Engine.AUTO)
    return dict(zip(model.item_ids, rec.finish[0].astype(float)))


def _date(day: float, as_of) -> str:
    d = date_of(float(day), as_of)
    return d.isoformat() if d is not None else ""


def _scenario_files(folder: Path | None) -> dict[str, Path]:
    if folder is None or not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


class _Graph:
    """Dependency paths: links (SYNC both ways), capacity-limited units, KPI boosts, target refs."""

    def __init__(self, plan: Plan) -> None:
        edges: dict[tuple[str, str], list[tuple[tuple[str, str], str]]] = {}

        def add(a: tuple[str, str], b: tuple[str, str], how: str) -> None:
            edges.setdefault(a, []).append((b, how))

        for ln in plan.links:
            add(("item", ln.pred), ("item", ln.succ), f"-{ln.type}->")
            if link_kind(ln.type).symmetric:  # SYNC: both ways
                add(("item", ln.succ), ("item", ln.pred), f"-{ln.type}->")
        limited = {u.id for u in plan.units if u.capacity is not None}
        by_unit: dict[str, list[str]] = {}
        for it in plan.items:
            if it.resource_unit in limited:
                by_unit.setdefault(it.resource_unit, []).append(it.id)
        for unit, members in by_unit.items():
            for a in members:
                for b in members:
                    if a != b:
                        add(("item", a), ("item", b), f"-[{unit}]->")
        for boost in plan.kpi_boosts:
            add(("item", boost.item), ("kpi", boost.kpi), "->")
        kinds = {**{k.id: "kpi" for k in plan.kpis}, **{t.id: "target" for t in plan.targets},
                 **{it.id: "item" for it in plan.items}}
        for t in plan.targets:
            for ref in t.refs:
                if ref in kinds:
                    add((kinds[ref], ref), ("target", t.id), "->")
            if t.rule is TargetRule.INVEST_GE:  # refs are selectors: every item they pick spends into it
                for iid in resolve(plan, t.refs):
                    add(("item", iid), ("target", t.id), "-[investment]->")
        for br in plan.branches:  # a branch's condition item switches the branched item
            if br.condition == "not_finished":
                add(("item", br.ref), ("item", br.item), f"-[branch {br.id}]->")
        self.edges = edges

    def _search(self, roots: list[str]) -> dict[tuple[str, str], tuple[tuple[str, str], str] | None]:
        parent: dict[tuple[str, str], tuple[tuple[str, str], str] | None] = {("item", r): None for r in roots}
        queue = deque(parent)
        while queue:
            node = queue.popleft()
            for nxt, how in self.edges.get(node, ()):
                if nxt not in parent:
                    parent[nxt] = (node, how)
                    queue.append(nxt)
        return parent

    def reachable(self, roots: list[str]) -> set[tuple[str, str]]:
        """Every node with a dependency path from one of ``roots`` (items)."""
        return set(self._search(roots))

    def paths(self, roots: list[str]) -> dict[str, str]:
        """For each item reachable from ``roots``: the shortest chain of links, e.g. ``T14 -FF-> T15``."""
        parent = self._search(roots)
        out = {}
        for node in parent:
            if node[0] != "item":
                continue
            chain, cur = [node[1]], node
            while (step := parent[cur]) is not None:
                prev, how = step
                chain += [how, prev[1]]
                cur = prev
            out[node[1]] = " ".join(reversed(chain))
        return out


def end_date_labels(plan: Plan) -> list[dict[str, str]]:
    """The programme's end dates with their zh/en labels (for the page)."""
    return [{"date": e.date.isoformat(), "zh": e.zh, "en": e.en} for e in planmeta.end_dates(plan)]
