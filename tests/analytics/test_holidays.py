"""French public holidays by rule, and the future frame's calendar past the data's end."""

from __future__ import annotations

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

from analytics import features, holidays


def test_public_holidays_follow_easter() -> None:
    days = holidays.public_holidays(2026)
    assert len(days) == 11
    assert holidays.easter_sunday(2026) == dt.date(2026, 4, 5)
    assert days[dt.date(2026, 4, 6)] == "Lundi de Pâques"
    assert days[dt.date(2026, 5, 14)] == "Ascension"  # Easter + 39
    assert days[dt.date(2026, 5, 25)] == "Lundi de Pentecôte"  # Easter + 50


def test_data_calendar_uses_the_analytics_rules() -> None:
    from data import calendar

    assert calendar.public_holidays is holidays.public_holidays
    assert calendar.easter_sunday is holidays.easter_sunday
    assert calendar.CLOSED_HOLIDAYS is holidays.CLOSED_HOLIDAYS


def test_holiday_flags_by_day_and_by_week() -> None:
    days = pl.Series([dt.date(2026, 12, 24), dt.date(2026, 12, 25), None, dt.date(2027, 5, 8)])
    expected = pl.DataFrame(
        {
            "is_public_holiday": [False, True, None, True],
            "is_store_closed": [False, True, None, False],  # 8 May: open, fewer shoppers
        }
    )
    assert_frame_equal(holidays.holiday_flags(days), expected)
    weeks = pl.Series([dt.date(2026, 12, 21), dt.date(2026, 12, 14)])  # Mondays
    assert holidays.holiday_flags(weeks, step=7).to_dict(as_series=False) == {
        "is_public_holiday": [True, False],
        "is_store_closed": [True, False],
    }


def test_future_frame_knows_holidays_past_the_data() -> None:
    history = pl.DataFrame(
        {"date": [dt.date(2026, 12, 22), dt.date(2026, 12, 23)], "units_sold": [3, 4]}
    )
    future = features.future_frame(history.lazy(), 3, id_cols=()).collect()
    assert future.select("date", "is_public_holiday", "is_store_closed").to_dict(
        as_series=False
    ) == {
        "date": [dt.date(2026, 12, 24), dt.date(2026, 12, 25), dt.date(2026, 12, 26)],
        "is_public_holiday": [False, True, False],
        "is_store_closed": [False, True, False],
    }


def test_future_frame_calendar_given_wins_over_the_rules() -> None:
    history = pl.DataFrame({"date": [dt.date(2026, 12, 23)], "units_sold": [3]})
    calendar = pl.DataFrame({"date": [dt.date(2026, 12, 25)], "is_store_closed": [False]})
    future = features.future_frame(history.lazy(), 2, calendar=calendar.lazy(), id_cols=())
    flags = future.collect().select("is_public_holiday", "is_store_closed")
    # the store says it opens on Christmas; the rules still know it is a holiday
    assert flags.to_dict(as_series=False) == {
        "is_public_holiday": [False, True],
        "is_store_closed": [False, False],
    }


def test_future_frame_weekly_steps_seven_days() -> None:
    history = pl.DataFrame(
        {"date": [dt.date(2026, 12, 7), dt.date(2026, 12, 14)], "units_sold": [30, 40]}
    )
    future = features.future_frame(history.lazy(), 2, id_cols=(), every=7).collect()
    assert future.get_column("date").to_list() == [dt.date(2026, 12, 21), dt.date(2026, 12, 28)]
    # Christmas, then New Year's day (a Friday) in the week starting 28 December
    assert future.get_column("is_public_holiday").to_list() == [True, True]
