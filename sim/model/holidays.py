"""Non-working windows of the work calendars: Spring Festival stoppages and official holidays.

Pure functions (no I/O, no randomness): ``params/calendar.csv`` holds the rows
of :func:`calendar_rows` written out once, and a test regenerates them to check
the file. Two calendars (params/README.md, calendar.csv):

* ``construction``: each year's Spring Festival site stoppage, from 7 days
  before lunar new year (workers travel home) to 15 days after it (正月十六, the
  day after the Lantern Festival 元宵 on 正月十五), inclusive. The window is an
  assumption; lunar new year comes from the ``lunardate`` package.
* ``office``: the official public holidays of the State Council's annual
  notices, as published in the ``chinesecalendar`` package. Years the package
  has no data for are skipped (no window is invented for them).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import chinese_calendar
from lunardate import LunarDate

from sim.model.entities import CalendarWindow

LUNAR_YEARS = range(1900, 2100)  # the years lunardate converts
CONSTRUCTION = "construction"
OFFICE = "office"
#: Columns of calendar.csv, in order.
CALENDAR_COLUMNS = ("calendar", "start", "end", "name_en", "source")


def lunar_new_year(year: int) -> date:
    """Gregorian date of 春节 (lunar 1/1) of ``year``."""
    return LunarDate(year, 1, 1).to_solar_date()


def spring_festival_windows(years: Iterable[int], *, days_before: int = 7,
                            days_after: int = 15) -> list[CalendarWindow]:
    """The construction stoppage around each year's lunar new year.

    Parameters
    ----------
    years
        Gregorian years (the lunar new year falls in January or February of each).
    days_before, days_after
        Calendar days before and after lunar new year that are non-working
        (inclusive window). Defaults: 7 before, 15 after (to 正月十六).

    Returns
    -------
    list of CalendarWindow
        One window per distinct year, in year order, on calendar ``construction``.
    """
    source = (f"assumption: sites stop from {days_before} days before lunar new year (workers travel home) "
              f"to {days_after} days after it (正月十六, the day after 元宵), inclusive; lunar new year from "
              "the lunardate package")
    windows = []
    for year in sorted(set(years)):
        new_year = lunar_new_year(year)
        windows.append(CalendarWindow(
            calendar=CONSTRUCTION,
            start=new_year - timedelta(days=days_before),
            end=new_year + timedelta(days=days_after),
            name_en=f"Spring Festival {year} site stoppage (lunar new year {new_year.isoformat()})",
            source=source,
        ))
    return windows


def holiday_data_years(years: Iterable[int]) -> list[int]:
    """Those of ``years`` for which ``chinesecalendar`` has official holiday data."""
    known = []
    for year in sorted(set(years)):
        try:
            chinese_calendar.is_holiday(date(year, 1, 1))
        except NotImplementedError:
            continue
        known.append(year)
    return known


def official_holiday_windows(years: Iterable[int]) -> list[CalendarWindow]:
    """Official public holidays of ``years`` as windows of consecutive days off.

    A window is a run of consecutive days that ``chinesecalendar`` marks as the
    same named holiday (weekends inside the holiday included; ordinary weekends
    and the make-up working days 调休 are not windows). Runs that cross a year
    end are kept whole when both years are asked for. Years without data in the
    installed ``chinesecalendar`` are skipped.

    Returns
    -------
    list of CalendarWindow
        Windows on calendar ``office``, in date order.
    """
    source = ("official public holiday (State Council notice) from the chinesecalendar package; "
              "years the package has no data for are skipped")
    runs: list[list] = []  # [first day, last day, holiday name]
    for year in holiday_data_years(years):
        day = date(year, 1, 1)
        while day.year == year:
            off, name = chinese_calendar.get_holiday_detail(day)
            if off and name:
                last = runs[-1] if runs else None
                if last and last[2] == name and last[1] + timedelta(days=1) == day:
                    last[1] = day
                else:
                    runs.append([day, day, name])
            day += timedelta(days=1)
    return [CalendarWindow(calendar=OFFICE, start=first, end=last, name_en=f"{name} {last.year}", source=source)
            for first, last, name in runs]


def calendar_rows(years: Iterable[int]) -> list[dict[str, str]]:
    """Rows of calendar.csv (columns :data:`CALENDAR_COLUMNS`, ISO dates) for ``years``.

    Construction windows first, then office windows, each in date order.
    """
    years = list(years)
    outside = [y for y in years if y not in LUNAR_YEARS]
    if outside:
        raise ValueError(f"year {outside[0]} is outside the years the lunar calendar covers "
                         f"({LUNAR_YEARS.start}-{LUNAR_YEARS.stop - 1})")
    windows = spring_festival_windows(years) + official_holiday_windows(years)
    return [{"calendar": w.calendar, "start": w.start.isoformat(), "end": w.end.isoformat(),
             "name_en": w.name_en, "source": w.source} for w in windows]


def coverage_note(plan, last_day_date: date | None) -> str | None:
    """A warning when simulated dates pass the last year the plan's calendars cover, saying what is assumed.

    The calendars cover the years of ``calendar.csv`` (Spring Festival stoppages from
    ``lunardate``, official holidays from ``chinesecalendar``); past the last window of
    each calendar every day is taken as a working day.
    """
    if last_day_date is None:
        return None
    ends: dict[str, date] = {}
    for w in plan.calendar_windows:
        ends[w.calendar] = max(ends.get(w.calendar, w.end), w.end)
    passed = {c: e for c, e in ends.items() if last_day_date.year > e.year}
    if not passed:
        return None
    covered = ", ".join(f"{c} to {e.year}" for c, e in sorted(passed.items()))
    return (f"simulated dates reach {last_day_date.year}, past the years the work calendars cover ({covered}; "
            "calendar.csv, from lunardate and chinesecalendar): later years are assumed to have no Spring "
            "Festival stoppage or official holiday (every day a working day), so finishes there are slightly early")
