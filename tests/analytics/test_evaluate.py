"""Backtests with a fake model implementing only the interface, and metrics on hand-computed
values."""

from __future__ import annotations

import datetime as dt
import math
from typing import Self

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics import evaluate

D = dt.date(2024, 1, 1)


def day(offset: int) -> dt.date:
    return D + dt.timedelta(days=offset)


class LastDateModel:
    """Forecasts, for every series, the day number (days since 2024-01-01) of the last date it
    was fitted on, so a forecast shows exactly what the model saw; intervals +-1 and +-2."""

    def fit(self, df: pl.DataFrame) -> Self:
        self.last_day_ = (df.get_column("date").max() - D).days  # type: ignore[operator]
        self.ends_ = df.group_by("store_id").agg(pl.col("date").max())
        return self

    def predict(self, h: int, future: pl.DataFrame | None = None) -> pl.DataFrame:
        assert future is not None
        assert "units_sold" not in future.columns  # the target of the test days is never passed
        rows = self.ends_.select(
            "store_id",
            pl.date_ranges(
                pl.col("date") + pl.duration(days=1), pl.col("date") + pl.duration(days=h)
            ).alias("date"),
        ).explode("date")
        y_hat = pl.lit(float(self.last_day_))
        return rows.with_columns(
            y_hat.alias("y_hat"),
            (y_hat - 1).alias("y_lo_80"),
            (y_hat + 1).alias("y_hi_80"),
            (y_hat - 2).alias("y_lo_95"),
            (y_hat + 2).alias("y_hi_95"),
        )


def sales(days: int = 14) -> pl.DataFrame:
    """Two stores; units equal the day number (store 2: plus 100)."""
    return pl.DataFrame(
        {
            "store_id": [1] * days + [2] * days,
            "date": [day(i) for i in range(days)] * 2,
            "units_sold": [float(i) for i in range(days)] + [100.0 + i for i in range(days)],
        }
    )


def test_cross_validation_windows_cutoffs_and_no_leakage() -> None:
    cv = evaluate.cross_validation(
        LastDateModel(), sales(), h=2, n_windows=3, step_size=2, id_cols=("store_id",)
    )
    # last date is day 13: cutoffs 13-2-4=7, 9, 11; each forecasts the two days after
    rows = [
        (store, day(cutoff + k), day(cutoff), float(cutoff + k + 100 * (store - 1)), cutoff)
        for store in (1, 2)
        for cutoff in (7, 9, 11)
        for k in (1, 2)
    ]
    expected = pl.DataFrame(
        rows, schema=["store_id", "date", "cutoff", "y", "y_hat"], orient="row"
    ).with_columns(
        pl.col("y_hat").cast(pl.Float64),
        (pl.col("y_hat") - 1.0).alias("y_lo_80"),
        (pl.col("y_hat") + 1.0).alias("y_hi_80"),
        (pl.col("y_hat") - 2.0).alias("y_lo_95"),
        (pl.col("y_hat") + 2.0).alias("y_hi_95"),
        pl.lit(7.0).alias("mase_scale"),  # units rise by one a day: a weekly difference of 7
        pl.lit("LastDateModel").alias("model"),
    )
    assert_frame_equal(cv, expected)


def test_cross_validation_drops_missing_actuals_and_unborn_series() -> None:
    df = sales().with_columns(
        pl.when((pl.col("store_id") == 1) & (pl.col("date") == day(13)))
        .then(None)
        .otherwise(pl.col("units_sold"))
        .alias("units_sold")
    )
    late = pl.DataFrame({"store_id": [3, 3], "date": [day(12), day(13)], "units_sold": [1.0, 2.0]})
    cv = evaluate.cross_validation(
        LastDateModel(), pl.concat([df, late]), h=2, n_windows=1, id_cols=("store_id",)
    )
    assert cv.select("store_id", "date").rows() == [
        (1, day(12)),
        (2, day(12)),
        (2, day(13)),
    ]


def scored() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "model": ["a", "a", "a", "a", "b"],
            "y": [1.0, 2.0, 3.0, 0.0, 5.0],
            "y_hat": [2.0, 2.0, 1.0, 0.0, 5.0],
            "y_lo_80": [0.0, 2.5, 0.0, 0.0, 4.0],
            "y_hi_80": [1.0, 3.0, 2.0, 1.0, 6.0],
            "y_lo_95": [0.0, 0.0, 0.0, 0.0, 4.0],
            "y_hi_95": [5.0, 5.0, 5.0, 5.0, 6.0],
            "mase_scale": [0.5, 0.5, 0.5, 0.5, 2.0],
        }
    )


def test_metrics_match_hand_computed_values() -> None:
    a = scored().filter(pl.col("model") == "a")
    # errors y_hat - y: 1, 0, -2, 0
    assert evaluate.mae(a) == pytest.approx(0.75)
    assert evaluate.rmse(a) == pytest.approx(math.sqrt(5 / 4))
    assert evaluate.bias(a) == pytest.approx(-0.25)
    assert evaluate.mase(a) == pytest.approx(1.5)  # 0.75 / 0.5
    # 200|e|/(|y|+|y_hat|): 66.67, 0, 100, and 0 for 0/0
    assert evaluate.smape(a) == pytest.approx((200 / 3 + 100) / 4)
    assert evaluate.coverage(a, 80) == pytest.approx(0.5)  # rows 1 and 3 inside, ends included
    assert evaluate.coverage(a, 95) == pytest.approx(1.0)


def test_metrics_skip_rows_without_actuals_or_scale() -> None:
    frame = pl.DataFrame(
        {"y": [1.0, None, 4.0], "y_hat": [2.0, 9.0, 4.0], "mase_scale": [2.0, 1.0, 0.0]}
    )
    assert evaluate.mae(frame) == pytest.approx(0.5)
    assert evaluate.mase(frame) == pytest.approx(0.5)  # only the first row has a scale > 0


def test_leaderboard_ranks_models_by_mase() -> None:
    board = evaluate.leaderboard(scored())
    assert board.get_column("model").to_list() == ["b", "a"]
    assert board.get_column("n").to_list() == [1, 4]
    assert board.row(1, named=True)["mase"] == pytest.approx(1.5)
    assert board.row(0, named=True)["mae"] == pytest.approx(0.0)
    assert board.columns == [
        "model",
        "n",
        "mae",
        "rmse",
        "mase",
        "smape",
        "bias",
        "coverage_80",
        "coverage_95",
    ]
