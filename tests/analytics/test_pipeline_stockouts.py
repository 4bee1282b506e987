"""forecast_series on the tiny database: stockout-corrected demand against the generator's truth.

The SERIES_COUNT series with the most stockout days are split: every day but the last
TEST_DAYS is history, the rest is the test period (its prices and promotions are given as known).
"""

from __future__ import annotations

from typing import Final

import duckdb
import numpy as np
import polars as pl
import pytest

from analytics import lost_sales, pipeline

SERIES_COUNT: Final = 12
TEST_DAYS: Final = 56
# The test period's MAE against true demand of `auto` forecasts fitted on the corrected demand,
# over that of forecasts fitted on raw sales: measured 0.970 since `auto` keeps the linear
# model unless another beats it by 25% (0.926 when it chose by backtest MASE alone; the count
# model alone 1.006: the correction mostly lifts the level, see the next figure).
MAE_RATIO_MAX: Final = 0.985
# Forecast total over true demand total in the test period: measured 0.839 corrected, 0.790 raw
# (0.839 and 0.748 before the preference for the linear model).
TOTAL_RATIO_GAIN_MIN: Final = 0.04
# Estimated lost units in the histories over the true lost units (true demand less sales on
# stockout days): measured 0.866 (3083 against 3558 units).
LOST_RATIO_TOLERANCE: Final = 0.25


@pytest.fixture
def stockout_series(cur: duckdb.DuckDBPyConnection) -> list[pl.DataFrame]:
    """forecast_input-shaped histories (with the true demand) of the most-stocked-out series."""
    sql = """
        with ranked as (
            select store_id, product_id
            from daily_sales
            group by store_id, product_id
            order by count(*) filter (where is_stockout) desc, store_id, product_id
            limit $n
        )
        select
            sales.store_id, sales.product_id, sales.date, sales.units_sold, sales.price,
            sales.is_promo, sales.discount_pct, sales.is_stockout, sales.stock_begin,
            sales.received_units, calendar.is_public_holiday, calendar.is_store_closed,
            truth.demand_units
        from daily_sales as sales
        inner join ranked using (store_id, product_id)
        inner join calendar using (date)
        inner join true_demand as truth using (date, store_id, product_id)
        order by sales.store_id, sales.product_id, sales.date
    """
    frame: pl.DataFrame = cur.sql(sql, params={"n": SERIES_COUNT}).pl()
    return frame.partition_by("store_id", "product_id", maintain_order=True)


def test_forecast_series_history_lost_units_near_truth(
    stockout_series: list[pl.DataFrame],
) -> None:
    estimated, true_lost = 0.0, 0.0
    for series in stockout_series:
        history = series.drop("store_id", "product_id", "demand_units")
        result = pipeline.forecast_series(history, horizon=7, compare=())
        days = result.history
        assert days.get_column("date").to_list() == history.get_column("date").to_list()
        censored = days.get_column("is_censored")
        # lost units on censored days only, demand at least the sales, revenue at the price
        assert days.filter(~censored).get_column("lost_units").sum() == 0
        assert (days.get_column("demand") >= days.get_column("units_sold")).all()
        np.testing.assert_allclose(
            days.get_column("lost_revenue").to_numpy(),
            (days.get_column("lost_units") * history.get_column("price")).to_numpy(),
        )
        estimated += float(days.get_column("lost_units").sum())
        stockout = series.filter("is_stockout")
        true_lost += float((stockout["demand_units"] - stockout["units_sold"]).sum())
    assert true_lost > 0
    assert estimated / true_lost == pytest.approx(1.0, abs=LOST_RATIO_TOLERANCE)


def test_forecast_series_fitted_on_corrected_demand_is_closer_to_true_demand(
    stockout_series: list[pl.DataFrame],
) -> None:
    errors: dict[bool, list[float]] = {True: [], False: []}
    totals: dict[bool, float] = {True: 0.0, False: 0.0}
    for series in stockout_series:
        frame = series.drop("store_id", "product_id")
        history = frame.head(frame.height - TEST_DAYS).drop("demand_units")
        test = frame.tail(TEST_DAYS)
        for correct in (True, False):
            result = pipeline.forecast_series(
                history,
                horizon=TEST_DAYS,
                future=test.drop("units_sold", "demand_units"),
                compare=(),
                correct_stockouts=correct,
            )
            error = result.forecast.get_column("forecast") - test.get_column("demand_units")
            errors[correct].append(float(error.abs().mean()))
            totals[correct] += float(result.forecast.get_column("forecast").sum())
    corrected, raw = float(np.mean(errors[True])), float(np.mean(errors[False]))
    assert corrected / raw < MAE_RATIO_MAX
    truth = sum(float(s.tail(TEST_DAYS).get_column("demand_units").sum()) for s in stockout_series)
    assert totals[True] / truth - totals[False] / truth > TOTAL_RATIO_GAIN_MIN
    assert totals[True] / truth < 1.0  # the log-linear forecast is a median: below the mean


def test_forecast_series_history_matches_lost_sales_estimate(
    stockout_series: list[pl.DataFrame],
) -> None:
    history = stockout_series[0].drop("store_id", "product_id", "demand_units")
    days = pipeline.forecast_series(history, horizon=7, compare=()).history
    expected = lost_sales.estimate_unconstrained_demand(history, id_cols=())
    assert days.get_column("is_censored").to_list() == expected.get_column("is_censored").to_list()
    np.testing.assert_allclose(
        days.get_column("lost_units").to_numpy(), expected.get_column("lost_units").to_numpy()
    )
    np.testing.assert_allclose(
        days.get_column("lost_revenue").to_numpy(),
        expected.get_column("lost_revenue_eur").to_numpy(),
    )
