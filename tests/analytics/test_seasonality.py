"""Seasonality analytics on hand-written frames and synthetic series with known patterns, and the
weekday profile of the tiny database against the generator's weekday weights."""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics import seasonality
from data.catalogue import CATEGORIES

START = dt.date(2024, 1, 1)  # a Monday
WEEKLY = np.array([0.85, 0.85, 0.95, 0.95, 1.15, 1.45, 0.80])  # Monday..Sunday, mean 1
DAYS = 731


def synthetic_series(
    *, level: float = 200.0, amplitude: float = 0.3, noise: float = 0.0, seed: int = 1
) -> pl.DataFrame:
    """Two years of level x weekday weight x (1 + amplitude x yearly sine) x lognormal noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(DAYS)
    yearly = 1 + amplitude * np.sin(2 * math.pi * t / 365.25)
    values = level * WEEKLY[t % 7] * yearly * np.exp(rng.normal(0, noise, DAYS))
    dates = pl.date_range(START, START + dt.timedelta(days=DAYS - 1), "1d", eager=True)
    return pl.DataFrame({"date": dates, "units_sold": values})


def days_frame(values: list[float | None], *, start: dt.date = START) -> pl.DataFrame:
    dates = [start + dt.timedelta(days=i) for i in range(len(values))]
    return pl.DataFrame(
        {"date": dates, "units_sold": values}, schema_overrides={"units_sold": pl.Float64}
    )


def test_complete_days_interpolates_missing_days_and_flags_them() -> None:
    df = days_frame([10.0, 20.0, 40.0]).filter(pl.col("units_sold") != 20.0)
    expected = days_frame([10.0, 25.0, 40.0]).with_columns(
        is_imputed=pl.Series([False, True, False])
    )
    assert_frame_equal(seasonality.complete_days(df), expected)


def test_weekday_month_grid_means_per_cell_and_index_against_all_days() -> None:
    # Monday 1 Jan and Monday 8 Jan, Tuesday 2 Jan; Tuesday 9 Jan is excluded.
    df = pl.DataFrame(
        {
            "date": [
                dt.date(2024, 1, 1),
                dt.date(2024, 1, 2),
                dt.date(2024, 1, 8),
                dt.date(2024, 1, 9),
            ],
            "units_sold": [10.0, 40.0, 30.0, 1000.0],
            "is_closed": [False, False, False, True],
        }
    )
    expected = pl.DataFrame(
        {
            "month": [1, 1],
            "weekday": [1, 2],
            "mean_value": [20.0, 40.0],
            "day_count": [2, 1],
            "index": [0.75, 1.5],  # overall mean of the kept days: 80 / 3
        },
        schema_overrides={"month": pl.Int8, "weekday": pl.Int8},
    )
    grid = seasonality.weekday_month_grid(df, exclude_col="is_closed")
    assert_frame_equal(grid, expected.with_columns(index=pl.Series([20 / (80 / 3), 40 / (80 / 3)])))


def test_weekday_profile_of_two_known_weeks() -> None:
    first = [1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 0.0]  # week mean 1
    second = [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]  # week mean 2
    profile = seasonality.weekday_profile(days_frame(first + second))
    assert profile.get_column("weekday").to_list() == [1, 2, 3, 4, 5, 6, 7]
    assert profile.get_column("index").to_list() == pytest.approx([1, 1, 1, 1, 1, 1.5, 0.5])
    assert profile.get_column("mean_value").to_list() == pytest.approx([1.5] * 5 + [2.0, 1.0])
    assert profile.get_column("week_count").to_list() == [2] * 7
    # Saturday: indexes 2 and 1, mean 1.5, sd 0.707; t(0.975, 1) = 12.706.
    half_width = 12.7062 * math.sqrt(0.5) / math.sqrt(2)
    assert profile.row(5, named=True)["index_low"] == pytest.approx(1.5 - half_width, abs=1e-3)
    assert profile.row(5, named=True)["index_high"] == pytest.approx(1.5 + half_width, abs=1e-3)
    # Monday: index 1 both weeks, no spread, the interval is the point.
    assert (profile.row(0, named=True)["index_low"], profile.row(0, named=True)["index_high"]) == (
        1.0,
        1.0,
    )


def test_weekday_profile_drops_weeks_with_an_excluded_or_missing_day() -> None:
    flat = [1.0] * 7
    peaked = [1.0, 1.0, 1.0, 1.0, 1.0, 3.0, 1.0]
    df = days_frame(flat + peaked + [5.0, None, 5.0, 5.0, 5.0, 9.0, 5.0]).with_columns(
        is_holiday=pl.int_range(pl.len()) == 0
    )
    profile = seasonality.weekday_profile(df, exclude_col="is_holiday")
    assert profile.get_column("week_count").to_list() == [1] * 7  # only the second week
    assert profile.get_column("index").to_list() == pytest.approx([x / (9 / 7) for x in peaked])
    assert profile.get_column("index_low").null_count() == 7  # one week: no interval


def test_yearly_profile_indexes_weeks_by_their_year_and_thursday_month() -> None:
    # 2024-01-29 (Monday) to 2024-02-11: the first week's Thursday is 1 Feb, so both are February.
    start = dt.date(2024, 1, 29)
    df = days_frame([1.0] * 7 + [3.0] * 7, start=start)
    profile = seasonality.yearly_profile(df)
    assert profile.get_column("month").to_list() == [2]
    assert profile.get_column("index").to_list() == pytest.approx([1.0])  # (0.5 + 1.5) / 2
    assert profile.get_column("mean_value").to_list() == pytest.approx([14.0])
    assert profile.get_column("week_count").to_list() == [2]


def test_yearly_profile_recovers_a_yearly_sine_within_two_percent() -> None:
    profile = seasonality.yearly_profile(synthetic_series(amplitude=0.3, noise=0.0))
    mid_month = np.array([15 + 30.44 * m for m in range(12)])  # day of year
    truth = 1 + 0.3 * np.sin(2 * math.pi * mid_month / 365.25)
    # Monthly means of a sine are damped by averaging over the month (~1.3%): allow 0.02.
    assert np.abs(profile.get_column("index").to_numpy() - truth).max() < 0.02


def test_decompose_recovers_weekly_pattern_within_three_percent() -> None:
    """Known multiplicative weekday weights and a yearly sine, 5% lognormal noise: exp(weekly)
    matches the weights over their geometric mean within 0.03 on every day."""
    parts = seasonality.decompose(synthetic_series(amplitude=0.3, noise=0.05))
    weekday = parts.with_columns(pl.col("date").dt.weekday().alias("weekday"))
    recovered = (
        (weekday.group_by("weekday").agg((pl.col("weekly") + 1).mean()).sort("weekday"))
        .get_column("weekly")
        .to_numpy()
    )
    truth = WEEKLY / np.exp(np.log(WEEKLY).mean())
    assert np.abs(recovered - truth).max() < 0.03


def test_decompose_recovers_yearly_sine_within_five_percent() -> None:
    parts = seasonality.decompose(synthetic_series(amplitude=0.3, noise=0.05))
    t = np.arange(DAYS)
    truth = 1 + 0.3 * np.sin(2 * math.pi * t / 365.25)
    truth = truth / np.exp(np.log(truth).mean())  # the component is centred in log space
    recovered = parts.get_column("yearly").to_numpy() + 1
    assert np.abs(recovered - truth)[30:-30].max() < 0.05  # away from the ends


def test_decompose_components_add_up_to_observed() -> None:
    parts = seasonality.decompose(synthetic_series(noise=0.1))
    logged = (
        np.log1p(parts.get_column("trend").to_numpy())
        + np.log1p(parts.get_column("weekly").to_numpy())
        + np.log1p(parts.get_column("yearly").to_numpy())
        + parts.get_column("resid").to_numpy()
    )
    assert np.allclose(np.expm1(logged), parts.get_column("observed").to_numpy())
    expected = np.expm1(logged - parts.get_column("resid").to_numpy())
    assert np.allclose(parts.get_column("expected").to_numpy(), expected)


def test_decompose_keeps_excluded_days_out_of_the_fit() -> None:
    """Stores closed on two Wednesdays in a row (25 December and 1 January 2025, as in the
    data): fitted as they are, the zeros throw the weekly component off by more than 50%;
    left out, it stays within 0.03 of the fit without closures, and the closed days keep
    their residual of about -100% (log(1 + 0) against log(1 + expected))."""
    series = synthetic_series(noise=0.02)
    is_closed = pl.col("date").is_in([dt.date(2024, 12, 25), dt.date(2025, 1, 1)])
    closed = series.with_columns(
        units_sold=pl.when(is_closed).then(0.0).otherwise("units_sold"), is_closed=is_closed
    )
    clean = seasonality.decompose(series).get_column("weekly")
    naive = seasonality.decompose(closed).get_column("weekly")
    fitted = seasonality.decompose(closed, exclude_col="is_closed")
    assert (naive - clean).abs().max() > 0.5
    assert (fitted.get_column("weekly") - clean).abs().max() < 0.03
    assert (fitted.filter(closed.get_column("is_closed")).get_column("residual") < -0.99).all()


def test_decompose_rejects_too_short_or_negative_series() -> None:
    with pytest.raises(ValueError, match="at least 15"):
        seasonality.decompose(days_frame([1.0] * 14))
    with pytest.raises(ValueError, match="zero or more"):
        seasonality.decompose(days_frame([1.0] * 20 + [-1.0]))


def test_flag_anomalies_modified_z_score() -> None:
    df = pl.DataFrame({"resid": [0.0, 1.0, -1.0, 2.0, -2.0, 30.0]})
    flagged = seasonality.flag_anomalies(df, threshold=3.5)
    # median 0.5, deviations 0.5, 0.5, 1.5, 1.5, 2.5, 29.5: MAD 1.5
    scores = [0.6745 * (r - 0.5) / 1.5 for r in [0.0, 1.0, -1.0, 2.0, -2.0, 30.0]]
    assert flagged.get_column("score").to_list() == pytest.approx(scores)
    assert flagged.get_column("is_anomaly").to_list() == [False] * 5 + [True]
    assert flagged.get_column("resid_high")[0] == pytest.approx(0.5 + 3.5 * 1.5 / 0.6745)


def test_flag_anomalies_never_flags_excluded_days_nor_counts_them() -> None:
    df = pl.DataFrame(
        {"resid": [0.0, 1.0, -1.0, 2.0, -2.0, 30.0, -50.0], "is_left_out": [False] * 6 + [True]}
    )
    flagged = seasonality.flag_anomalies(df, exclude_col="is_left_out")
    assert flagged.get_column("is_anomaly").to_list() == [False] * 5 + [True, False]
    assert flagged.get_column("score")[0] == pytest.approx(0.6745 * -0.5 / 1.5)


def test_flag_anomalies_falls_back_to_mean_deviation_when_mad_is_zero() -> None:
    df = pl.DataFrame({"resid": [0.0, 0.0, 0.0, 0.0, 0.0, 5.0]})
    flagged = seasonality.flag_anomalies(df)
    assert flagged.get_column("score")[5] == pytest.approx(0.7979 * 5.0 / (5.0 / 6))
    assert flagged.get_column("is_anomaly").to_list() == [False] * 5 + [True]


HOLIDAY_EXCLUDED_DAYS = """
    select
        sales.date,
        sum(sales.units_sold)::double as units_sold,
        any_value(calendar.is_store_closed or calendar.is_public_holiday
            or coalesce(calendar.next_is_holiday, false)) as is_special,
    from daily_sales as sales
    inner join products using (product_id)
    inner join (
        select *, lead(is_public_holiday) over (order by date) as next_is_holiday from calendar
    ) as calendar using (date)
    where products.category = $category
    group by sales.date
    order by sales.date
"""


def test_weekday_profile_of_tiny_db_matches_generator_weights(
    cur: duckdb.DuckDBPyConnection,
) -> None:
    """Each category's total in the tiny database (4 stores x 3 products, 77 full weeks without
    a holiday): every weekday index within 0.12 of the generator's weight (weights average 1;
    Saturday peaks reach 1.75), and the mean absolute error over the 84 category-weekdays
    under 0.03. Sales understate demand on stockout days, and promotions add noise."""
    errors = []
    for category in CATEGORIES:
        df = cur.sql(HOLIDAY_EXCLUDED_DAYS, params={"category": category.name}).pl()
        profile = seasonality.weekday_profile(df, exclude_col="is_special")
        errors.extend(profile.get_column("index").to_numpy() - np.array(category.weekday_weights))
    assert len(errors) == 84
    assert np.abs(errors).max() < 0.12
    assert np.abs(errors).mean() < 0.03


def test_describe_anomalies_keeps_flagged_days_largest_first_with_context() -> None:
    dates = [dt.date(2024, 1, day) for day in (1, 2, 3)]
    flagged = pl.DataFrame(
        {
            "date": dates,
            "observed": [10.0, 50.0, 0.0],
            "expected": [12.0, 20.0, 30.0],
            "score": [0.5, 4.0, -6.0],
            "is_anomaly": [False, True, True],
        }
    )
    context = pl.DataFrame({"date": dates, "observed": [0, 0, 0], "promo_count": [0, 2, 0]})
    described = seasonality.describe_anomalies(flagged, context)
    expected = pl.DataFrame(
        {
            "date": [dates[2], dates[1]],
            "observed": [0.0, 50.0],
            "expected": [30.0, 20.0],
            "score": [-6.0, 4.0],
            "is_anomaly": [True, True],
            "promo_count": [0, 2],
            "residual_units": [-30.0, 30.0],
        }
    )
    assert_frame_equal(described, expected)
