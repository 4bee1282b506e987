"""Forecasting features on hand-written frames of a few rows."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
from polars.testing import assert_frame_equal

from analytics import features

D = dt.date(2024, 1, 1)  # a Monday


def day(offset: int) -> dt.date:
    return D + dt.timedelta(days=offset)


def two_series() -> pl.DataFrame:
    """Two series, rows out of order, one missing target."""
    return pl.DataFrame(
        {
            "store_id": [1, 1, 1, 1, 2, 2],
            "product_id": [5, 5, 5, 5, 5, 5],
            "date": [day(2), day(0), day(1), day(3), day(1), day(0)],
            "units_sold": [3.0, 1.0, None, 4.0, 20.0, 10.0],
        }
    )


def test_lag_shifts_within_each_series() -> None:
    result = two_series().with_columns(features.lag(1))
    expected = two_series().with_columns(
        pl.Series("units_sold_lag_1", [None, None, 1.0, 3.0, 10.0, None])
    )
    assert_frame_equal(result, expected)


def test_rolling_mean_and_std_end_the_day_before() -> None:
    result = two_series().with_columns(
        features.rolling_mean(2, min_samples=1), features.rolling_std(2)
    )
    # series 1 by date: 1, null, 3, 4 -> past-two-day means: null, 1, 1, 3
    expected = two_series().with_columns(
        pl.Series("units_sold_rolling_mean_2", [1.0, None, 1.0, 3.0, 10.0, None]),
        pl.Series("units_sold_rolling_std_2", [None, None, None, None, None, None], pl.Float64),
    )
    assert_frame_equal(result, expected)
    full = pl.DataFrame({"date": [day(i) for i in range(4)], "units_sold": [1.0, 3.0, 5.0, 9.0]})
    stds = full.select(features.rolling_std(2, id_cols=())).to_series().to_list()
    assert stds == [None, None, math.sqrt(2.0), math.sqrt(2.0)]


def test_weekday_one_hot_drops_monday_when_asked() -> None:
    frame = pl.DataFrame({"date": [day(0), day(5), day(6)]})
    result = frame.select(features.weekday_one_hot(drop_first=True))
    expected = pl.DataFrame(
        {f"weekday_{d}": [0, int(d == 6), int(d == 7)] for d in range(2, 8)},
        schema=dict.fromkeys([f"weekday_{d}" for d in range(2, 8)], pl.Int8),
    )
    assert_frame_equal(result, expected)
    assert frame.select(features.weekday_one_hot()).columns[0] == "weekday_1"


def test_fourier_terms_run_on_days_since_epoch() -> None:
    frame = pl.DataFrame({"date": [dt.date(1970, 1, 1), dt.date(1970, 1, 1) + dt.timedelta(91)]})
    result = frame.select(features.fourier_terms(2))
    angle = 2 * math.pi * 91 / 365.25
    expected = pl.DataFrame(
        {
            "yearly_sin_1": [0.0, math.sin(angle)],
            "yearly_cos_1": [1.0, math.cos(angle)],
            "yearly_sin_2": [0.0, math.sin(2 * angle)],
            "yearly_cos_2": [1.0, math.cos(2 * angle)],
        }
    )
    assert_frame_equal(result, expected)


def test_holiday_and_eve_flags_per_series() -> None:
    frame = pl.DataFrame(
        {
            "store_id": [1, 1, 1, 2, 2],
            "product_id": [1, 1, 1, 1, 1],
            "date": [day(0), day(1), day(2), day(1), day(2)],
            "is_public_holiday": [False, True, None, True, False],
        }
    )
    result = frame.select(features.holiday_flag(), features.holiday_eve_flag())
    expected = pl.DataFrame(
        {"is_holiday": [0, 1, 0, 1, 0], "is_holiday_eve": [1, 0, 0, 0, 0]},
        schema={"is_holiday": pl.Int8, "is_holiday_eve": pl.Int8},
    )
    assert_frame_equal(result, expected)


def test_price_and_promotion_features() -> None:
    frame = pl.DataFrame(
        {
            "price": [2.0, 1.0, 0.0, None],
            "is_promo": [True, False, None, True],
            "discount_pct": [0.25, 0.1, 0.3, None],
        }
    )
    result = frame.select(features.log_price(), features.promo_flag(), features.promo_depth())
    expected = pl.DataFrame(
        {
            "log_price": [math.log(2.0), 0.0, None, None],
            "promo_flag": [1, 0, 0, 1],
            "promo_depth": [0.25, 0.0, 0.0, 0.0],
        },
        schema={"log_price": pl.Float64, "promo_flag": pl.Int8, "promo_depth": pl.Float64},
    )
    assert_frame_equal(result, expected)


def test_complete_series_adds_missing_days_with_null_target() -> None:
    frame = pl.DataFrame(
        {
            "store_id": [1, 1, 2],
            "product_id": [1, 1, 1],
            "date": [day(3), day(0), day(5)],
            "units_sold": [4, 1, 7],
        }
    )
    result = features.complete_series(frame.lazy()).collect()
    expected = pl.DataFrame(
        {
            "store_id": [1, 1, 1, 1, 2],
            "product_id": [1, 1, 1, 1, 1],
            "date": [day(0), day(1), day(2), day(3), day(5)],
            "units_sold": [1, None, None, 4, 7],
        }
    )
    assert_frame_equal(result, expected)


def history() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "store_id": [1, 1, 2],
            "product_id": [1, 1, 1],
            "date": [day(0), day(1), day(1)],
            "units_sold": [3, 4, 5],
            "price": [2.0, 2.5, 9.0],
        }
    )


def future_expected(**overrides: list[object]) -> pl.DataFrame:
    columns: dict[str, list[object]] = {
        "store_id": [1, 1, 2, 2],
        "product_id": [1, 1, 1, 1],
        "date": [day(2), day(3), day(2), day(3)],
        "price": [2.5, 2.5, 9.0, 9.0],
        "is_promo": [False] * 4,
        "discount_pct": [0.0] * 4,
        "is_stockout": [False] * 4,
        "is_public_holiday": [False] * 4,
        "is_store_closed": [False] * 4,
        "weekday": [3, 4, 3, 4],
        "day_of_year": [3, 4, 3, 4],
    }
    columns.update(overrides)
    schema = {"weekday": pl.Int16, "day_of_year": pl.Int16}
    return pl.DataFrame(columns, schema_overrides=schema)


def test_future_frame_defaults_to_last_price_and_no_promotion() -> None:
    result = features.future_frame(history().lazy(), 2).collect()
    assert_frame_equal(result, future_expected())


def test_future_frame_takes_known_calendar_prices_and_promotions() -> None:
    calendar = pl.DataFrame({"date": [day(3)], "is_public_holiday": [True]})
    prices = pl.DataFrame({"store_id": [2], "product_id": [1], "date": [day(3)], "price": [8.0]})
    promotions = pl.DataFrame(
        {
            "store_id": [1],
            "product_id": [1],
            "date": [day(2)],
            "is_promo": [True],
            "discount_pct": [0.2],
        }
    )
    result = features.future_frame(
        history().lazy(),
        2,
        calendar=calendar.lazy(),
        prices=prices.lazy(),
        promotions=promotions.lazy(),
    ).collect()
    expected = future_expected(
        price=[2.5, 2.5, 9.0, 8.0],
        is_promo=[True, False, False, False],
        discount_pct=[0.2, 0.0, 0.0, 0.0],
        is_public_holiday=[False, True, False, True],
    )
    assert_frame_equal(result, expected)


def test_add_model_features_adds_only_what_the_columns_allow() -> None:
    frame = pl.DataFrame({"date": [day(0), day(1)], "units_sold": [1, 2]})
    result = features.add_model_features(frame.lazy(), fourier_k=1).collect()
    assert result.columns == [
        "date",
        "units_sold",
        "days_since_epoch",
        *[f"weekday_{d}" for d in range(2, 8)],
        "yearly_sin_1",
        "yearly_cos_1",
    ]
