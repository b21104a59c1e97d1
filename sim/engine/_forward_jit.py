"""The numba-compiled forward pass (imported only by :mod:`sim.engine.kernels`, which documents it).

Imports numba at the top: importing this module compiles nothing, the first call compiles
(or loads the cached machine code of) :func:`forward_kernel`.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit
def _nmax(a, b):
    """``np.maximum`` of two floats (NaN propagates)."""
    return a if (a >= b or a != a) else b


@njit
def _nmin(a, b):
    """``np.minimum`` of two floats (NaN propagates)."""
    return a if (a <= b or a != a) else b


# Helpers that take arrays are branch-free (numba keeps a reference-count pair per call of a
# function with arrays and branches, ~40 ns); the branches live in scalar-only helpers.
@njit
def _pick_work(t, h, beyond, inside):
    if t >= h:
        return beyond
    if t <= 0:
        return _nmin(t, 0.0)
    return inside


@njit
def _pick_time(w, h, tot, inside):
    if w > tot:
        return h + (w - tot)
    if w <= 0:
        return _nmin(w, 0.0)
    return inside


@njit
def _pick_advance(f, start, work):
    return _nmax(f, start) if work > 0 else start


@njit
def _work_at(t, c, h, cum, working, total):
    """:meth:`CalendarStack.work_at` of one element."""
    tc = _nmin(_nmax(t, 0.0), float(h))
    k = min(np.int64(tc), h - 1)  # tc >= 0: truncation is the floor
    return _pick_work(t, h, total[c] + (t - h), cum[c, k] + working[c, k] * (tc - k))


@njit
def _time_at(w, c, h, cum, total, first_day):
    """:meth:`CalendarStack.time_at` of one element."""
    tot = total[c]
    j = np.int64(np.ceil(_nmin(_nmax(w, 0.0), tot)))
    k = max(first_day[c, j], 1)
    return _pick_time(w, h, tot, (k - 1) + (w - cum[c, k - 1]))


@njit
def _advance(start, work, c, h, cum, working, total, first_day):
    """:meth:`CalendarStack.advance` of one element."""
    f = _time_at(_work_at(start, c, h, cum, working, total) + work, c, h, cum, total, first_day)
    return _pick_advance(f, start, work)


@njit(cache=True, nogil=True)
def forward_kernel(seq, grp_ptr, fixed, fixed_start, fixed_finish, cal,
                    sp_ptr, sp_pred, sp_fs, sp_lag, sp_real, ff_ptr, ff_pred, ff_lag,
                    affects, h, cum, working, total, first_day,
                    wait, work, ps, pe, start, finish, need):
    n = wait.shape[1]
    k_sh = ps.shape[1]
    # each row's fired pauses sorted by start, ties in shock order (a stable insertion sort)
    srt = np.empty((n, k_sh), dtype=np.int64)
    fired = np.zeros(n, dtype=np.int64)
    for r in range(n):
        m = 0
        for j in range(k_sh):
            s = ps[r, j]
            if s < np.inf:
                q = m
                while q > 0 and ps[r, srt[r, q - 1]] > s:
                    srt[r, q] = srt[r, q - 1]
                    q -= 1
                srt[r, q] = j
                m += 1
        fired[r] = m
    for g in range(grp_ptr.shape[0] - 1):
        if not need[seq[grp_ptr[g]]]:  # a group is needed whole or not at all (the caller's closure)
            continue
        for q in range(grp_ptr[g], grp_ptr[g + 1]):
            i = seq[q]
            if fixed[i]:
                for r in range(n):
                    start[i, r] = fixed_start[i]
                    finish[i, r] = fixed_finish[i]
                continue
            c = cal[i]
            for r in range(n):
                es = wait[i, r]
                for e in range(sp_ptr[i], sp_ptr[i + 1]):
                    p = sp_pred[e]
                    if sp_fs[e]:
                        ref = finish[p, r]
                    elif sp_real[e] == sp_real[e]:
                        ref = sp_real[e]
                    else:
                        ref = start[p, r]
                    es = _nmax(es, ref + sp_lag[e])
                w = work[i, r]
                f = _advance(es, w, c, h, cum, working, total, first_day)
                s_act = es
                t = es
                remaining = w
                began = False
                for m in range(fired[r]):
                    j = srt[r, m]
                    if not affects[i, j]:
                        continue
                    p_s, p_e = ps[r, j], pe[r, j]
                    inside = p_s <= t and p_e > t
                    cut = p_s > t and p_s < f
                    if not (inside or cut):
                        continue
                    if inside and not began:
                        s_act = p_e
                    if cut:
                        began = True
                        remaining -= (_work_at(p_s, c, h, cum, working, total)
                                      - _work_at(t, c, h, cum, working, total))
                    t = p_e
                    f = _advance(t, remaining, c, h, cum, working, total, first_day)
                for e in range(ff_ptr[i], ff_ptr[i + 1]):
                    f = _nmax(f, finish[ff_pred[e], r] + ff_lag[e])
                start[i, r] = s_act
                finish[i, r] = f
        lo, hi = grp_ptr[g], grp_ptr[g + 1]
        if hi - lo > 1:
            for r in range(n):
                top = finish[seq[lo], r]
                for q in range(lo + 1, hi):
                    top = _nmax(top, finish[seq[q], r])
                for q in range(lo, hi):
                    if not fixed[seq[q]]:
                        finish[seq[q], r] = top
    return 0
