"""The one clock: days from the as-of date, and how dates and years map onto it.

Day 0 is the *start* of the as-of date. A plan date ``D`` is met by a finish at
or before the *end* of ``D``, i.e. ``end_of(D) = day_of(D) + 1``; a finish at
day ``t`` falls in the date ``date_of(t)`` (end-of-day convention, so the two
are inverse on whole days). Years are ``DAYS_PER_YEAR`` days everywhere (KPI
growth, CAGR deadlines, a ``y`` or ``m`` duration).

>>> from datetime import date
>>> as_of = date(2020, 1, 16)
>>> day_of(date(2020, 1, 16), as_of), end_of(date(2020, 1, 16), as_of)
(0, 1)
>>> date_of(end_of(date(2022, 12, 31), as_of), as_of)
datetime.date(2022, 12, 31)
>>> date_of(FAR_DAY, as_of) is None
True
>>> horizon_days("15")
5890
"""

from __future__ import annotations

import math
from datetime import date, timedelta

DAYS_PER_YEAR = 365.25  # a mean Julian year
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
FAR_DAY = 1.0e7  # the "never" sentinel: a finish that cannot happen within the simulation
HORIZON_YEARS = 15.0  # default ``horizon_years`` assumption (params/assumptions.csv may override)


def day_of(d: date, as_of: date) -> int:
    """Start of date ``d`` in days from the as-of date."""
    return (d - as_of).days


def end_of(d: date, as_of: date) -> int:
    """End of date ``d`` (a deadline) in days from the as-of date."""
    return (d - as_of).days + 1


def date_of(day: float, as_of: date) -> date | None:
    """The calendar date in which a finish at ``day`` falls (end-of-day convention); None for never."""
    if not math.isfinite(day) or day >= FAR_DAY:
        return None
    try:
        return as_of + timedelta(days=math.ceil(day) - 1)
    except OverflowError:  # past year 9999: no calendar date, as good as never
        return None


def years_to(deadline: date, origin: date) -> float:
    """Years from the start of ``origin`` to the end of ``deadline`` (a CAGR target's span)."""
    return end_of(deadline, origin) / DAYS_PER_YEAR


def horizon_days(horizon_years: str | float | None) -> int:
    """Length of the working-day grid of the calendars, in days from the as-of date.

    ``horizon_years`` whole years of at most 366 days plus 400 days of margin; past
    it every day is a working day (:class:`sim.model.calendar.WorkCalendar`), so it
    is set long enough never to be reached. Empty or missing: ``HORIZON_YEARS``.
    """
    years = HORIZON_YEARS if horizon_years in (None, "") else float(horizon_years)
    return int(round(years * 366)) + 400
