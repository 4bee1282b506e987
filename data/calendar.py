"""The French retail calendar: public holidays, school holidays by zone, seasons.

Reference data for the generator: which days stores close, which days shoppers stock up, and when
each school zone (A, B, C) is on holiday. Dates of school holidays are the Ministry's published
calendars for 2023-2026, rounded to the Saturday they start and the Monday classes resume.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from analytics.holidays import CLOSED_HOLIDAYS, easter_sunday, public_holidays

__all__ = [
    "CLOSED_HOLIDAYS",
    "SCHOOL_HOLIDAYS",
    "build_calendar",
    "easter_sunday",
    "public_holidays",
]

START_DATE = dt.date(2024, 1, 1)
END_DATE = dt.date(2025, 12, 31)

# (name, zone -> (first day off, day classes resume)); zones A, B, C.
_ALL = ("A", "B", "C")
SCHOOL_HOLIDAYS: tuple[tuple[str, dict[str, tuple[dt.date, dt.date]]], ...] = (
    ("Noël", dict.fromkeys(_ALL, (dt.date(2023, 12, 23), dt.date(2024, 1, 8)))),
    (
        "Hiver",
        {
            "A": (dt.date(2024, 2, 17), dt.date(2024, 3, 4)),
            "B": (dt.date(2024, 2, 24), dt.date(2024, 3, 11)),
            "C": (dt.date(2024, 2, 10), dt.date(2024, 2, 26)),
        },
    ),
    (
        "Printemps",
        {
            "A": (dt.date(2024, 4, 13), dt.date(2024, 4, 29)),
            "B": (dt.date(2024, 4, 20), dt.date(2024, 5, 6)),
            "C": (dt.date(2024, 4, 6), dt.date(2024, 4, 22)),
        },
    ),
    ("Été", dict.fromkeys(_ALL, (dt.date(2024, 7, 6), dt.date(2024, 9, 2)))),
    ("Toussaint", dict.fromkeys(_ALL, (dt.date(2024, 10, 19), dt.date(2024, 11, 4)))),
    ("Noël", dict.fromkeys(_ALL, (dt.date(2024, 12, 21), dt.date(2025, 1, 6)))),
    (
        "Hiver",
        {
            "A": (dt.date(2025, 2, 22), dt.date(2025, 3, 10)),
            "B": (dt.date(2025, 2, 8), dt.date(2025, 2, 24)),
            "C": (dt.date(2025, 2, 15), dt.date(2025, 3, 3)),
        },
    ),
    (
        "Printemps",
        {
            "A": (dt.date(2025, 4, 19), dt.date(2025, 5, 5)),
            "B": (dt.date(2025, 4, 5), dt.date(2025, 4, 22)),
            "C": (dt.date(2025, 4, 12), dt.date(2025, 4, 28)),
        },
    ),
    ("Été", dict.fromkeys(_ALL, (dt.date(2025, 7, 5), dt.date(2025, 9, 1)))),
    ("Toussaint", dict.fromkeys(_ALL, (dt.date(2025, 10, 18), dt.date(2025, 11, 3)))),
    ("Noël", dict.fromkeys(_ALL, (dt.date(2025, 12, 20), dt.date(2026, 1, 5)))),
)


def _season(month: int) -> str:
    return {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring"}.get(
        month, "summer" if month in (6, 7, 8) else "autumn"
    )


def build_calendar(start: dt.date = START_DATE, end: dt.date = END_DATE) -> pl.DataFrame:
    """One row per date: weekday, holidays, school holidays per zone, season."""
    dates = pl.date_range(start, end, interval="1d", eager=True).to_list()
    holidays: dict[dt.date, str] = {}
    for year in range(start.year, end.year + 1):
        holidays |= public_holidays(year)
    rows = []
    for day in dates:
        school = {zone: "" for zone in _ALL}
        for name, zones in SCHOOL_HOLIDAYS:
            for zone, (first, resume) in zones.items():
                if first <= day < resume:
                    school[zone] = name
        holiday = holidays.get(day)
        rows.append(
            {
                "date": day,
                "year": day.year,
                "quarter": (day.month - 1) // 3 + 1,
                "month": day.month,
                "iso_week": day.isocalendar().week,
                "weekday": day.isoweekday(),
                "weekday_name": day.strftime("%A"),
                "day_of_year": day.timetuple().tm_yday,
                "is_weekend": day.isoweekday() >= 6,
                "is_public_holiday": holiday is not None,
                "holiday_name": holiday,
                "is_store_closed": holiday in CLOSED_HOLIDAYS,
                "is_school_holiday_a": bool(school["A"]),
                "is_school_holiday_b": bool(school["B"]),
                "is_school_holiday_c": bool(school["C"]),
                "school_holiday_name": next((n for n in school.values() if n), None),
                "season": _season(day.month),
            }
        )
    return pl.DataFrame(rows).with_columns(
        pl.col("year", "quarter", "month", "iso_week", "weekday", "day_of_year").cast(pl.Int32)
    )
