"""The one-table backtest against evaluate.cross_validation, and the table it slices."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics import evaluate, forecast
from analytics.backtest import backtest_frame, backtest_table, leaderboard
from analytics.table import build_table, detect_step

START = dt.date(2024, 1, 1)


def series(days: int = 200, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    promo = rng.random(days) < 0.15
    mean = 30 * (1 + 0.3 * (t % 7 == 5)) * np.where(promo, 1.5, 1.0)
    return pl.DataFrame(
        {
            "date": pl.date_range(START, START + dt.timedelta(days=days - 1), "1d", eager=True),
            "units_sold": rng.poisson(mean).astype(np.float64),
            "price": np.where(rng.random(days) < 0.5, 2.0, 2.5),
            "is_promo": promo,
            "discount_pct": np.where(promo, rng.choice([0.1, 0.2, 0.3], days), 0.0),
        }
    )


@pytest.mark.parametrize(
    "model", [forecast.SeasonalNaive(id_cols=()), forecast.LinearModel(id_cols=())]
)
def test_backtest_table_matches_cross_validation(model: forecast.Forecaster) -> None:
    df = series()
    expected = evaluate.cross_validation(model, df, h=14, n_windows=3, step_size=7, id_cols=())
    bt = backtest_table(model, build_table(df), h=14, n_windows=3, step_size=7)
    result = backtest_frame(build_table(df), [bt]).with_columns(
        pl.lit(type(model).__name__).alias("model")
    )
    assert_frame_equal(result, expected, check_exact=False, rel_tol=1e-9)


def test_backtest_leaderboard_matches_evaluate_leaderboard() -> None:
    table = build_table(series())
    backtests = [
        backtest_table(model, table, h=7, n_windows=4)
        for model in (forecast.SeasonalNaive(), forecast.LinearModel(), forecast.CountModel())
    ]
    expected = evaluate.leaderboard(backtest_frame(table, backtests))
    assert_frame_equal(leaderboard(backtests), expected, check_exact=False, rel_tol=1e-12)


def test_build_table_completes_gaps_and_carries_the_last_price() -> None:
    df = pl.DataFrame(
        {
            "date": [START, START + dt.timedelta(days=1), START + dt.timedelta(days=3)],
            "units_sold": [3, 4, 5],
            "price": [2.0, None, 3.0],
        }
    )
    future = pl.DataFrame({"date": [START + dt.timedelta(days=4)], "price": [None]})
    table = build_table(df, future.cast({"price": pl.Float64}))
    assert table.n_history == 4
    np.testing.assert_array_equal(table.y, [3.0, 4.0, np.nan, 5.0, np.nan])
    np.testing.assert_allclose(table.column("log_price"), np.log([2.0, 2.0, 2.0, 3.0, 3.0]))
    assert table.column("promo_flag") is None  # no such column in the data
    assert table.dates.to_list()[-1] == START + dt.timedelta(days=4)


def test_detect_step_daily_weekly_or_error() -> None:
    days = pl.Series([START + dt.timedelta(days=d) for d in (0, 1, 5)])
    weeks = pl.Series([START + dt.timedelta(weeks=w) for w in (0, 1, 3)])
    assert detect_step(days) == 1
    assert detect_step(weeks) == 7
    assert detect_step(pl.Series([START])) == 1
    with pytest.raises(ValueError, match="neither daily nor weekly"):
        detect_step(pl.Series([START, START + dt.timedelta(days=3)]))
