"""Spending over time: the S-curve of an item's outturn cost and the plan's annual investment.

Pure arithmetic (no randomness, no I/O), shared by the engine (targets of rule
``invest_ge``) and the analysis (annual and cumulative investment tables).

* **Simulated spending** of an item follows a Beta(a, b) cumulative S-curve over its
  working time: with ``x`` the share of the item's working time from its start to its
  finish elapsed at ``t``, the share spent is ``I_x(a, b)`` (the regularised incomplete
  beta function). Beta(2, 2) is the symmetric S ``3x^2 - 2x^3``; Beta(1, 1) is linear.
  Parameters per project type in cost_classes.csv (docs/calibration-cost.md §C5).
* **Planned spending** per calendar year: the plan's own figure where investment_plan.csv
  gives one; otherwise the item's investment spread evenly over the calendar days from
  its plan start to its plan date (an assumption, flagged as such).

>>> round(float(s_curve(0.5, 2.0, 2.0)), 6)
0.5
>>> round(float(s_curve(0.25, 1.0, 1.0)), 6)
0.25
>>> even_share(date(2020, 1, 1), date(2021, 12, 31), date(2020, 1, 1), date(2020, 12, 31))  # 366 of 731 days
0.5006839945280438
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from scipy import special


def s_curve(x: np.ndarray | float, a: float | np.ndarray, b: float | np.ndarray) -> np.ndarray:
    """Cumulative share spent at elapsed working-time share ``x`` (clipped to [0, 1]); ``a`` and ``b``
    may be arrays broadcasting with ``x`` (one S-curve per column)."""
    return special.betainc(a, b, np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0))


def even_share(plan_start: date, plan_finish: date, lo: date, hi: date) -> float:
    """Share of the calendar days ``plan_start .. plan_finish`` (inclusive) that fall in ``lo .. hi``."""
    total = (plan_finish - plan_start).days + 1
    if total <= 0:
        return 1.0 if lo <= plan_finish <= hi else 0.0
    first, last = max(plan_start, lo), min(plan_finish, hi)
    return max((last - first).days + 1, 0) / total


def year_span(year: int, as_of: date, until: date | None = None) -> tuple[date, date]:
    """The part of calendar year ``year`` from the as-of date on (and up to ``until``)."""
    lo = max(date(year, 1, 1), as_of)
    hi = date(year, 12, 31) if until is None else min(date(year, 12, 31), until)
    return lo, hi


def planned_amount(*, investment: float, plan_start: date | None, plan_finish: date, as_of: date,
                   lo: date, hi: date, figures: dict[int, float] | None = None) -> tuple[float, bool]:
    """The plan's investment of one item in ``lo .. hi`` (within one calendar year), and whether it is assumed.

    With the plan's own figure for that year (``figures``), the figure pro rata to the
    days of the year covered; otherwise the even profile between the plan dates (the
    start is the as-of date when none is given).
    """
    if figures:
        if lo.year in figures:
            y0, y1 = max(date(lo.year, 1, 1), as_of), date(lo.year, 12, 31)
            covered = ((hi - lo).days + 1) / ((y1 - y0).days + 1)
            return figures[lo.year] * covered, False
        return 0.0, False
    start = plan_start or as_of
    return investment * even_share(start, plan_finish, lo, hi), True


def day_after(d: date) -> date:
    return d + timedelta(days=1)
