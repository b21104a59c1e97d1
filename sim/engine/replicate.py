"""One chunk of replications: draw, schedule, KPIs, targets -> a compact record.

A chunk's record is a handful of preallocated float32/uint8 arrays (never
per-replication dicts). Column names of the Parquet table are built here and
nowhere else; analysis reads them through :func:`column`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from sim.engine import streams
from sim.engine.compiled import CompiledModel
from sim.engine.branching import apply_branches, branch_mask, condition_items, cost_presence, needs_schedule
from sim.engine.cost import invest_ratios, sample_costs
from sim.engine.forward import finish_of, forward_pass
from sim.engine.kpis import kpi_paths
from sim.engine.options import Engine
from sim.engine.processes import simulate_rows
from sim.engine.sampling import draw
from sim.engine.streams import ChunkStreams
from sim.engine.targets import evaluate_targets


def column(kind: str, key: str, at: str | None = None) -> str:
    """Record column name, e.g. ``finish:T14``, ``kpi:K_HT@2022-12-31``, ``met:TG_1030``."""
    return f"{kind}:{key}" + (f"@{at}" if at else "")


@dataclass
class ChunkRecord:
    """Results of ``rows`` replications of one chunk."""

    chunk: int
    rows: int
    start: np.ndarray  # (rows, items) float32
    finish: np.ndarray
    kpi: np.ndarray  # (rows, kpis, checkpoints) float32
    achieved: np.ndarray  # (rows, targets) float32
    met: np.ndarray  # (rows, targets) uint8
    risk: np.ndarray  # (rows, risk instances) uint8
    multiplier: np.ndarray  # (rows, items) float32
    shock_start: np.ndarray  # (rows, shocks) float32, inf when the shock did not fire
    shock_length: np.ndarray
    factor: np.ndarray  # (rows, factors) float32
    kpi_rate: np.ndarray  # (rows, kpis) float32
    table: pa.Table | None = field(default=None, repr=False)  # built by a worker, to spare the parent
    cost: np.ndarray | None = None  # (rows, invested items) float32, 亿元 (sim.engine.cost)
    invest: np.ndarray | None = None  # (rows, invest_ge targets) float32: 年度投资完成率
    branch: np.ndarray | None = None  # (rows, branches) uint8: the branch's condition held

    def arrow(self, model: CompiledModel, kinds: frozenset[str] | None = None) -> pa.Table:
        """The record as an Arrow table (built once; ``kinds`` as in :meth:`to_table`)."""
        if self.table is None:
            self.table = self.to_table(model, kinds)
        return self.table

    def __getstate__(self) -> dict:
        # A record crosses to the parent of a process pool (or from a Dask worker) by pickle. Arrow's
        # own pickling of a table of ~1,700 columns costs about 130 ms a chunk (dump and load), its IPC
        # stream about 12 ms: the table travels as an IPC stream, the arrays as they are.
        state = dict(self.__dict__)
        if self.table is not None:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, self.table.schema) as out:
                out.write_table(self.table)
            state["table"] = sink.getvalue()
        return state

    def __setstate__(self, state: dict) -> None:
        if isinstance(state.get("table"), pa.Buffer):
            state["table"] = pa.ipc.open_stream(state["table"]).read_all()
        self.__dict__.update(state)

    def to_table(self, model: CompiledModel, kinds: frozenset[str] | None = None) -> pa.Table:
        """Wide Arrow table: one row per replication, one column per recorded quantity.

        Arrays are made column-major once, so every column is a contiguous slice
        that Arrow takes without a copy of its own. ``kinds`` (e.g. ``{"finish", "met"}``)
        keeps only those column kinds (and ``rep``); None keeps all.
        """
        if kinds is not None:
            table = self.to_table(model)
            return table.select([n for n in table.column_names if n == "rep" or n.split(":", 1)[0] in kinds])
        start, finish, kpi = np.asfortranarray(self.start), np.asfortranarray(self.finish), np.asfortranarray(self.kpi)
        achieved, met, risk = np.asfortranarray(self.achieved), np.asfortranarray(self.met), np.asfortranarray(self.risk)
        mult, shock_start = np.asfortranarray(self.multiplier), np.asfortranarray(self.shock_start)
        shock_length, factor = np.asfortranarray(self.shock_length), np.asfortranarray(self.factor)
        kpi_rate = np.asfortranarray(self.kpi_rate)
        cols: list[np.ndarray] = [self.chunk * streams.CHUNK + np.arange(self.rows, dtype=np.int64)]
        for j in range(len(model.item_ids)):
            cols += (start[:, j], finish[:, j])
        n_ck = len(model.checkpoints)
        cols += [kpi[:, j, c] for j in range(len(model.kpis)) for c in range(n_ck)]
        for j in range(len(model.targets)):
            cols += (achieved[:, j], met[:, j])
        cols += [risk[:, j] for j in range(len(model.risks))]
        cols += [mult[:, j] for j in range(len(model.item_ids))]
        for j in range(len(model.shocks)):
            cols += (shock_start[:, j], shock_length[:, j])
        cols += [factor[:, j] for j in range(len(model.factor_ids))]
        cols += [kpi_rate[:, j] for j in range(len(model.kpis))]
        # money columns come last, so that every schedule column keeps its place and values
        spec = model.cost
        money = spec is not None and self.cost is not None
        if money:
            assert spec is not None and self.cost is not None and self.invest is not None
            cost = np.asfortranarray(self.cost)
            cols += [cost[:, j] for j in range(len(spec.ids))]
            invest = np.asfortranarray(self.invest)
            cols += [invest[:, j] for j in range(len(spec.invest))]
        branches = bool(model.branches) and self.branch is not None
        if branches:
            assert self.branch is not None
            branch = np.asfortranarray(self.branch)
            cols += [branch[:, c] for c in range(len(model.branches))]
        names = _column_names(model, money, branches)
        if len(names) != len(cols):  # pragma: no cover - the two lists are built from the same model
            raise AssertionError("record columns and names disagree")
        return pa.Table.from_arrays([pa.array(c) for c in cols], names=names)


def _column_names(model: CompiledModel, money: bool, branches: bool) -> list[str]:
    """The record's column names in table order (built once per model and kind of record)."""
    # the very objects the names come from (a model with a response shares meta but has its own risks)
    key = (model.item_ids, model.kpis, model.checkpoints, model.targets, model.risks, model.shocks,
           model.factor_ids, model.cost, model.branches)
    cached = model.meta.get("record_names")
    if cached is not None and cached[1] == (money, branches) and all(a is b for a, b in zip(cached[0], key)):
        return cached[2]
    names = ["rep"]
    for iid in model.item_ids:
        names += (column("start", iid), column("finish", iid))
    names += [column("kpi", k.id, d.isoformat()) for k in model.kpis for d in model.checkpoints]
    for t in model.targets:
        names += (column("achieved", t.id), column("met", t.id))
    names += [column("risk", r.key) for r in model.risks]
    names += [column("mult", iid) for iid in model.item_ids]
    for sh in model.shocks:
        names += (column("shock_start", sh.id), column("shock_length", sh.id))
    names += [column("factor", f) for f in model.factor_ids]
    names += [column("rate", k.id) for k in model.kpis]
    if money:
        assert model.cost is not None
        names += [column("cost", iid) for iid in model.cost.ids]
        names += [column("invest", model.targets[it.target].id) for it in model.cost.invest]
    if branches:
        names += [column("branch", b.id) for b in model.branches]
    model.meta["record_names"] = (key, (money, branches), names)
    return names


def choose_engine(model: CompiledModel, engine: Engine) -> Engine:
    if engine is Engine.AUTO:
        return Engine.SIMPY if model.has_contention() else Engine.VECTOR
    return engine


def run_chunk(
    model: CompiledModel,
    *,
    seed: int,
    chunk: int,
    rows: int = streams.CHUNK,
    engine: Engine = Engine.AUTO,
    lhs: bool = False,
) -> ChunkRecord:
    """Simulate the first ``rows`` replications of chunk ``chunk`` (:func:`simulate_chunk` by keywords)."""
    return simulate_chunk(model, ChunkStreams(seed, chunk, lhs), rows=rows, engine=engine)


def simulate_chunk(model: CompiledModel, cs: ChunkStreams, *, rows: int = streams.CHUNK,
                   engine: Engine = Engine.AUTO) -> ChunkRecord:
    """Simulate the first ``rows`` replications of the chunk whose streams are ``cs``."""
    chunk = cs.chunk
    draws = draw(model, cs).rows(slice(0, rows))
    simpy = choose_engine(model, engine) is Engine.SIMPY
    schedule = simulate_rows if simpy else forward_pass
    fired = np.zeros((rows, 0), dtype=bool)
    if model.branches:  # conditional gates (sim.engine.branching): the same engine on the switched draws
        first = None
        if needs_schedule(model):  # only the finishes the conditions read (and what they depend on)
            items = condition_items(model)
            first = simulate_rows(model, draws, only=items)[1] if simpy else finish_of(model, draws, items)
        fired = branch_mask(model, draws, first)
        draws = apply_branches(model, draws, fired)
    start, finish = schedule(model, draws)
    path = kpi_paths(model, finish, draws.kpi_rate, cs)
    cost = sample_costs(model, draws, finish, seed=cs.seed, chunk=cs.chunk, lhs=cs.lhs)
    for i, present in cost_presence(model, fired).items():
        j = model.costs.column(i)
        if j is not None:
            cost[:, j] *= present
    ratios = invest_ratios(model, start, finish, cost)
    achieved, met = evaluate_targets(model, finish, path, invest=ratios)
    invest = np.column_stack([ratios[it.target] for it in model.costs.invest]) if model.costs.invest \
        else np.zeros((rows, 0))
    ck = np.searchsorted(model.kpi_grid, model.checkpoint_days)
    f32 = np.float32
    return ChunkRecord(
        chunk=chunk,
        rows=rows,
        start=start.astype(f32),
        finish=finish.astype(f32),
        kpi=path[:, :, ck].astype(f32),
        achieved=achieved.astype(f32),
        met=met.astype(np.uint8),
        risk=draws.risk_fired.astype(np.uint8),
        multiplier=draws.multiplier.astype(f32),
        shock_start=draws.pause_start.astype(f32),
        shock_length=_shock_lengths(draws),
        factor=draws.factor.astype(f32),
        kpi_rate=draws.kpi_rate.astype(f32),
        cost=cost.astype(f32),
        invest=invest.astype(f32),
        branch=fired.astype(np.uint8),
    )


def _shock_lengths(draws) -> np.ndarray:
    """Sampled length of each shock that fired; NaN where it did not."""
    fired = np.isfinite(draws.pause_start)
    out = np.full(draws.pause_start.shape, np.nan, dtype=np.float32)
    out[fired] = draws.pause_end[fired] - draws.pause_start[fired]
    return out
