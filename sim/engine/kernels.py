"""Compiled (numba) kernels of the vectorised engine, with their arrays; numba is imported lazily.

The forward pass here is :func:`sim.engine.forward.forward_pass_levels` (and its oracle,
``forward_pass_by_item``) written as one scalar loop over items in topological order and
rows, the same IEEE arithmetic in the same order: earliest start from the start links,
:class:`sim.model.calendar.CalendarStack` ``advance``, the shock pauses applied one after
another as in :func:`sim.model.calendar.advance_with_pauses_stacked`, FF links, SYNC
groups. Its results equal the numpy passes bit for bit (tests/test_engine_kernel.py),
so choosing it changes no number. It is compiled once per machine (``cache=True``: the
machine code is kept next to this file, or in numba's user cache).

Importing numba and loading the cached kernel costs about 0.4 s per process, more than a
small run spends scheduling, so :func:`sim.engine.forward.forward_pass` (and the branch
conditions' partial pass, :func:`sim.engine.forward.finish_of`) take the kernel only once the
process has scheduled ``KERNEL_AFTER_ROWS`` rows with numpy (:func:`wanted`; a chunk's rows
are counted once, by its full pass):
``sim --help``, ``sim run --runs 1`` and other small runs never import numba. Since the two
are equal bit for bit, which one ran is invisible in the results.

``SIM_NUMBA=0`` in the environment (or numba not installed) keeps the numpy passes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.model.calendar import CalendarStack
from sim.model.links import kind as link_kind  # which end of the predecessor a start link references

if TYPE_CHECKING:  # pragma: no cover
    from sim.engine.compiled import CompiledModel
    from sim.engine.sampling import Draws

_KERNEL: Any = None  # the compiled forward kernel, or False when numba is unavailable/disabled
KERNEL_AFTER_ROWS = 4000  # rows this process schedules with numpy before it imports numba
_rows_seen = 0


def wanted(rows: int, *, count: bool = True) -> bool:
    """Whether the forward pass of ``rows`` rows should take the kernel (see the module docstring).

    ``count``: the rows join the process's tally (False for a partial pass over rows that the full
    pass of the same chunk counts, e.g. the branch conditions' pre-pass)."""
    global _rows_seen
    if _rows_seen < KERNEL_AFTER_ROWS:
        _rows_seen += rows if count else 0
        return False
    return enabled()


def prime() -> bool:
    """Take the kernel from now on in this process (the bench: every timed chunk as in a long run).

    Returns :func:`enabled` (numba is imported by it; the kernel compiles or loads at its first call)."""
    global _rows_seen
    _rows_seen = max(_rows_seen, KERNEL_AFTER_ROWS)
    return enabled()


def enabled() -> bool:
    """Whether the compiled kernels are used (numba importable and not switched off by ``SIM_NUMBA=0``)."""
    return _kernel() is not False


def _kernel():
    global _KERNEL
    if _KERNEL is None:
        if os.environ.get("SIM_NUMBA", "1") == "0":
            _KERNEL = False
        else:
            try:
                from sim.engine._forward_jit import forward_kernel as kern
            except Exception:  # numba missing, or unusable here (e.g. no writable cache directory)
                _KERNEL = False
            else:
                _KERNEL = kern
    return _KERNEL


@dataclass(frozen=True)
class KernelPlan:
    """A model's schedule as flat arrays for the kernel (built once, cached in ``model.meta``)."""

    seq: np.ndarray  # items in topological order
    grp_ptr: np.ndarray  # group g is seq[grp_ptr[g]:grp_ptr[g + 1]]
    fixed: np.ndarray
    fixed_start: np.ndarray
    fixed_finish: np.ndarray
    cal: np.ndarray
    sp_ptr: np.ndarray  # start links of item i: sp_ptr[i]:sp_ptr[i + 1] (register order)
    sp_pred: np.ndarray
    sp_fs: np.ndarray
    sp_lag: np.ndarray
    sp_real: np.ndarray  # an SS predecessor's real start (under way on the as-of date), else NaN
    ff_ptr: np.ndarray
    ff_pred: np.ndarray
    ff_lag: np.ndarray
    affects: np.ndarray  # (items, shocks) bool
    stack: CalendarStack


def kernel_plan(model: CompiledModel) -> KernelPlan:
    if "kernel_plan" not in model.meta:
        model.meta["kernel_plan"] = _build(model)
    return model.meta["kernel_plan"]


def _build(model: CompiledModel) -> KernelPlan:
    n = model.n_items
    seq = np.array([i for g in model.order for i in g], dtype=np.int64)
    grp_ptr = np.cumsum([0] + [len(g) for g in model.order]).astype(np.int64)
    real = model.real_start
    sp_ptr, sp_pred, sp_fs, sp_lag, sp_real = [0], [], [], [], []
    ff_ptr, ff_pred, ff_lag = [0], [], []
    for i in range(n):
        for p, typ, lag in model.start_preds[i]:
            sp_pred.append(p)
            sp_fs.append(link_kind(typ).refs_finish)
            sp_lag.append(lag)
            under_way = not link_kind(typ).refs_finish and real is not None and real.size and np.isfinite(real[p])
            sp_real.append(float(real[p]) if under_way else np.nan)
        sp_ptr.append(len(sp_pred))
        for p, lag in model.ff_preds[i]:
            ff_pred.append(p)
            ff_lag.append(lag)
        ff_ptr.append(len(ff_pred))
    affects = np.zeros((n, len(model.shocks)), dtype=np.bool_)
    for j, sh in enumerate(model.shocks):
        affects[:, j] = sh.affects
    i64, f64 = np.int64, np.float64
    return KernelPlan(
        seq, grp_ptr, np.asarray(model.fixed, dtype=np.bool_), np.asarray(model.fixed_start, dtype=f64),
        np.asarray(model.fixed_finish, dtype=f64), np.asarray(model.item_calendar, dtype=i64),
        np.array(sp_ptr, dtype=i64), np.array(sp_pred, dtype=i64), np.array(sp_fs, dtype=np.bool_),
        np.array(sp_lag, dtype=f64), np.array(sp_real, dtype=f64),
        np.array(ff_ptr, dtype=i64), np.array(ff_pred, dtype=i64), np.array(ff_lag, dtype=f64),
        affects, model.calendar_stack())


def needed(model: CompiledModel, items) -> np.ndarray:
    """Bool per item: ``items`` and everything their schedule depends on (predecessors of every link
    type and SYNC partners, transitively), i.e. what a forward pass must compute to know them.
    Worked out once per model and set of items (cached in ``model.meta``)."""
    key = ("kernel_needed", tuple(int(i) for i in items))
    if key in model.meta:
        return model.meta[key]
    need = np.zeros(model.n_items, dtype=np.bool_)
    todo = [int(i) for i in items]
    members = {i: g for g in model.order for i in g}
    while todo:
        i = todo.pop()
        if need[i]:
            continue
        need[i] = True
        todo += [p for p, _, _ in model.start_preds[i]] + [p for p, _ in model.ff_preds[i]] + list(members[i])
    model.meta[key] = need
    return need


def forward_kernel(model: CompiledModel, draws: Draws, need: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """Start and finish days (rows, items) by the compiled kernel, or None when it cannot run.

    With ``need`` (from :func:`needed`) only those items are scheduled; the others are NaN.

    None when numba is unavailable or switched off, or when a draw is NaN (the numpy passes
    then decide what happens; the kernel indexes calendar tables and must not see NaN).
    """
    global _KERNEL
    kern = _kernel()
    if kern is False:
        return None
    kp = kernel_plan(model)
    wait = np.ascontiguousarray(draws.wait.T, dtype=np.float64)  # item-major: an item's rows contiguous
    work = np.ascontiguousarray(draws.work.T, dtype=np.float64)
    ps = np.ascontiguousarray(draws.pause_start, dtype=np.float64)
    pe = np.ascontiguousarray(draws.pause_end, dtype=np.float64)
    if np.isnan(wait).any() or np.isnan(work).any() or np.isnan(ps).any() or np.isnan(pe).any():
        return None
    n = wait.shape[1]
    if need is None:
        need = np.ones(model.n_items, dtype=np.bool_)
        start, finish = np.empty((model.n_items, n)), np.empty((model.n_items, n))
    else:
        start, finish = np.full((model.n_items, n), np.nan), np.full((model.n_items, n), np.nan)
    st = kp.stack
    args = (kp.seq, kp.grp_ptr, kp.fixed, kp.fixed_start, kp.fixed_finish, kp.cal,
            kp.sp_ptr, kp.sp_pred, kp.sp_fs, kp.sp_lag, kp.sp_real, kp.ff_ptr, kp.ff_pred, kp.ff_lag,
            kp.affects, st.horizon, st.cum, st.working, st.total, st.first_day,
            wait, work, ps, pe, start, finish, need)
    if not kern.signatures:  # the first call compiles (or loads the cache): if that fails, numpy it is
        try:
            kern(*args)
        except Exception:
            _KERNEL = False
            return None
    else:
        kern(*args)
    return start.T, finish.T
