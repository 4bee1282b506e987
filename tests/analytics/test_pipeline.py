"""forecast_series: which model a series gets and why, on weekly, short, intermittent and gappy
series, every named model's intervals, and forecasts past the data's calendar."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from analytics import holidays, pipeline

START = dt.date(2024, 1, 1)  # a Monday
WEEKLY = np.array([0.85, 0.85, 0.95, 0.95, 1.15, 1.45, 0.80])  # Monday..Sunday


def daily_series(
    days: int = 731, *, level: float = 40.0, start: dt.date = START, seed: int = 1
) -> pl.DataFrame:
    """Poisson demand: level x weekday x yearly sine x price and promotion effects; stores
    closed (nothing sold) on the French closed holidays."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    dates = pl.date_range(start, start + dt.timedelta(days=days - 1), "1d", eager=True)
    promo = rng.random(days) < 0.1
    price = np.where(rng.random(days) < 0.5, 2.0, 2.4)
    mean = (
        level
        * WEEKLY[(t + start.weekday()) % 7]
        * (1 + 0.3 * np.sin(2 * math.pi * t / 365.25))
        * (price / 2.0) ** -1.5
        * np.where(promo, 1.6, 1.0)
    )
    flags = holidays.holiday_flags(dates)
    closed = flags.get_column("is_store_closed").to_numpy()
    units = np.where(closed, 0, rng.poisson(mean))
    return pl.DataFrame(
        {
            "date": dates,
            "units_sold": units,
            "price": price,
            "is_promo": promo,
            "discount_pct": np.where(promo, 0.2, 0.0),
        }
    ).with_columns(flags)


def weekly_series() -> pl.DataFrame:
    daily = daily_series()
    return (
        daily.group_by_dynamic("date", every="1w")
        .agg(pl.col("units_sold").sum(), pl.col("price").mean(), pl.col("is_promo").mean())
        .filter(pl.col("date") >= START)
    )


def test_forecast_series_weekly_data_forecasts_weeks() -> None:
    weeks = weekly_series()
    result = pipeline.forecast_series(weeks, horizon=6)
    last = weeks.get_column("date").max()
    assert isinstance(last, dt.date)
    assert result.forecast.get_column("date").to_list() == [
        last + dt.timedelta(weeks=k) for k in range(1, 7)
    ]
    # backtest windows of 4 weeks (28 days), models compared on weeks
    assert result.reason.startswith("lowest backtest MASE (3 x 4 weeks): seasonal_naive ")
    assert result.model in {"seasonal_naive", "linear"}
    assert result.backtest.get_column("date").dt.weekday().unique().to_list() == [1]
    # weekly demand around 7 x 40 x 1.02 a week: the forecast stays within that order
    assert 150 < result.forecast.get_column("forecast").mean() < 450  # type: ignore[operator]


def test_forecast_series_short_series_falls_back_to_seasonal_naive() -> None:
    result = pipeline.forecast_series(daily_series(10), horizon=7)
    assert result.model == "seasonal_naive"
    assert result.reason == "10 observed days, fewer than two seasons (14): seasonal naive"
    assert result.forecast.height == 7
    assert result.forecast.get_column("forecast").is_finite().all()


def test_forecast_series_user_model_too_short_falls_back_and_says_why() -> None:
    result = pipeline.forecast_series(daily_series(10), horizon=7, model="holt_winters")
    assert result.model == "seasonal_naive"
    assert result.reason == (
        "holt_winters could not be fitted (needs 16 periods of history or more); "
        "instead 10 observed days, fewer than two seasons (14): seasonal naive"
    )


def test_forecast_series_rare_sales_get_the_count_model() -> None:
    series = daily_series(120, level=0.02, seed=4)
    assert (series.get_column("units_sold") > 0).sum() == 3
    result = pipeline.forecast_series(series, horizon=14)
    assert result.model == "count"
    assert result.reason.startswith("intermittent: 3 of 120 days sold anything, ")
    # the mean rate: about 3 units in 120 days
    assert result.forecast.get_column("forecast").mean() == pytest.approx(3 / 120, rel=0.5)


def test_forecast_series_intermittent_series_is_backtested() -> None:
    series = daily_series(365, level=0.5, seed=5)
    result = pipeline.forecast_series(series, horizon=14)
    assert result.reason.startswith("intermittent (")
    assert result.model in {"seasonal_naive", "linear"}
    assert set(result.leaderboard.get_column("model")) == {"seasonal_naive", "linear", "count"}


def test_forecast_series_with_missing_days() -> None:
    series = daily_series(400, seed=6)
    rng = np.random.default_rng(0)
    gappy = series.filter(pl.Series(rng.random(series.height) > 0.15))
    result = pipeline.forecast_series(gappy, horizon=14)
    assert result.forecast.height == 14
    assert result.forecast.get_column("forecast").is_finite().all()
    # backtest rows are observed days only; the history keeps the input's days
    observed = set(gappy.get_column("date").to_list())
    assert set(result.backtest.get_column("date").to_list()) <= observed
    assert result.history.height == gappy.height
    assert result.model in {"seasonal_naive", "linear"}


def test_forecast_series_auto_reason_lists_the_leaderboard_mase() -> None:
    result = pipeline.forecast_series(daily_series(), horizon=28)
    board = dict(result.leaderboard.select("model", "mase").iter_rows())
    listing = result.reason.split(": ", 1)[1]
    for part in listing.split(", "):
        name, value = part.split(" ")
        assert board[name] == pytest.approx(float(value), abs=5e-4)
    assert result.model == min(("seasonal_naive", "linear"), key=lambda m: board[m])
    assert result.forecast.get_column("model").unique().to_list() == [result.model]


@pytest.mark.parametrize("model", [m for m in pipeline.MODELS if m != "auto"])
def test_forecast_series_every_model_gives_ordered_intervals(model: str) -> None:
    result = pipeline.forecast_series(daily_series(400), horizon=14, model=model, compare=())
    assert result.model == model
    forecast = result.forecast
    columns = ["lo_95", "lo_80", "hi_80", "hi_95"]
    values = forecast.select(columns).to_numpy()
    assert (np.diff(values, axis=1) >= 0).all()
    assert (forecast["lo_95"] <= forecast["forecast"]).all()
    assert (forecast["forecast"] <= forecast["hi_95"]).all()
    assert forecast.get_column("forecast").mean() == pytest.approx(40, rel=0.5)
    assert result.leaderboard.get_column("model").to_list() == [model]


def test_forecast_series_knows_christmas_past_the_data() -> None:
    series = daily_series(731)  # 2024 and 2025
    horizon = (dt.date(2026, 12, 26) - dt.date(2025, 12, 31)).days
    result = pipeline.forecast_series(series, horizon=horizon, model="linear", compare=())
    days = dict(result.forecast.select("date", "forecast").iter_rows())
    assert days[dt.date(2026, 12, 25)] < 1  # closed, as on every Christmas in the data
    assert days[dt.date(2026, 12, 24)] > 20  # a Thursday before Christmas: open


def test_check_request_rejects_dates_neither_daily_nor_weekly() -> None:
    series = daily_series(30).gather_every(3)
    with pytest.raises(pipeline.ForecastError, match="neither daily nor weekly"):
        pipeline.forecast_series(series, horizon=7)
