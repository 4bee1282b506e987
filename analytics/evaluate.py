"""Rolling-origin backtests and forecast accuracy metrics.

`cross_validation` refits a model at each cutoff on the days up to it and forecasts the `h`
days after, returning one long frame: ids, `date`, `cutoff`, `y`, `y_hat`, the interval
columns, `mase_scale` and `model`. The metrics are plain functions of such a frame (rows with
a missing `y` are left out); `leaderboard` applies all of them per group.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol, Self

import numpy as np
import polars as pl

from analytics.features import ID_COLS, TARGET_COL, TIME_COL, complete_series

INTERVAL_COLUMNS: Final = ("y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95")


class Model(Protocol):
    """What `cross_validation` needs of a model."""

    def fit(self, df: pl.DataFrame) -> Self: ...

    def predict(self, h: int, future: pl.DataFrame | None = None) -> pl.DataFrame: ...


def cross_validation(
    model: Model,
    df: pl.DataFrame,
    h: int,
    n_windows: int,
    step_size: int | None = None,
    *,
    id_cols: Sequence[str] = ID_COLS,
    time_col: str = TIME_COL,
    target_col: str = TARGET_COL,
    season_length: int = 7,
    name: str | None = None,
) -> pl.DataFrame:
    """Backtest `model` over `n_windows` cutoffs `step_size` days apart (default `h`).

    The last cutoff is `h` days before the last date in `df`; window i (0 = the earliest) has
    cutoff last - h - (n_windows - 1 - i) x step_size. At each cutoff a copy of the model is
    fitted on the rows dated up to and including it and asked for `h` days, given the
    exogenous columns of those days (their target removed). Series with no observed target by
    a cutoff sit that window out. `mase_scale` is each series' in-sample mean absolute
    seasonal difference (lag `season_length`) up to the cutoff, which `mase` divides by
    (null when the training part is no longer than one season: `mase` leaves those rows out).
    Test days with a missing target are dropped. `model` is `name` or the model's class name.
    """
    if h < 1 or n_windows < 1:
        raise ValueError("h and n_windows must be at least 1")
    step = h if step_size is None else step_size
    ids = [c for c in id_cols if c in df.columns]
    last = df.get_column(time_col).max()
    if not isinstance(last, dt.date):
        raise ValueError("cross_validation needs a non-empty frame with dates")
    cutoffs = [last - dt.timedelta(days=h + (n_windows - 1 - i) * step) for i in range(n_windows)]
    frames = []
    for cutoff in cutoffs:
        train = df.filter(pl.col(time_col) <= cutoff)
        has_target = pl.col(target_col).is_not_null().any()
        train = train.filter(has_target.over(ids) if ids else has_target)
        if train.is_empty():
            continue
        end = cutoff + dt.timedelta(days=h)
        test = df.filter(pl.col(time_col).is_between(cutoff, end, closed="right"))
        if ids:
            test = test.join(train.select(ids).unique(), on=ids, how="semi")
        fitted = copy.deepcopy(model).fit(train)
        forecast = fitted.predict(h, future=test.drop(target_col))
        actual = test.select(*ids, time_col, pl.col(target_col).cast(pl.Float64).alias("y"))
        scale = _seasonal_scale(train, ids, time_col, target_col, season_length)
        window = forecast.join(actual, on=[*ids, time_col], how="inner").filter(
            pl.col("y").is_not_null()
        )
        window = window.join(scale, on=ids, how="left") if ids else window.join(scale, how="cross")
        frames.append(window.with_columns(pl.lit(cutoff).alias("cutoff")))
    label = name or type(model).__name__
    columns = [*ids, time_col, "cutoff", "y", "y_hat", *INTERVAL_COLUMNS, "mase_scale"]
    return (
        pl.concat(frames)
        .select(columns)
        .with_columns(pl.lit(label).alias("model"))
        .sort([*ids, "cutoff", time_col])
    )


def _seasonal_scale(
    train: pl.DataFrame, ids: list[str], time_col: str, target_col: str, season_length: int
) -> pl.DataFrame:
    complete = complete_series(train.lazy(), id_cols=ids, time_col=time_col)
    y = pl.col(target_col).cast(pl.Float64)
    diff = (y - y.shift(season_length)).abs()
    diff = diff.over(ids, order_by=time_col) if ids else diff
    scale = diff.mean().alias("mase_scale")
    grouped = complete.group_by(ids).agg(scale) if ids else complete.select(scale)
    return grouped.collect()


def _observed(cv: pl.DataFrame) -> pl.DataFrame:
    return cv.filter(pl.col("y").is_not_null() & pl.col("y_hat").is_not_null())


def _mean(cv: pl.DataFrame, expr: pl.Expr) -> float:
    value = _observed(cv).select(expr.mean()).item()
    return float("nan") if value is None else float(value)


def mae(cv: pl.DataFrame) -> float:
    """Mean absolute error."""
    return _mean(cv, (pl.col("y") - pl.col("y_hat")).abs())


def rmse(cv: pl.DataFrame) -> float:
    """Root mean squared error."""
    return float(np.sqrt(_mean(cv, (pl.col("y") - pl.col("y_hat")) ** 2)))


def mase(cv: pl.DataFrame, *, scale_col: str = "mase_scale") -> float:
    """Mean absolute scaled error: each error over its series' in-sample seasonal-naive MAE at
    that cutoff (`mase_scale`, season 7 by default), averaged over all rows. Rows whose scale
    is zero or missing (a constant series) are left out."""
    kept = cv.filter(pl.col(scale_col) > 0)
    return _mean(kept, (pl.col("y") - pl.col("y_hat")).abs() / pl.col(scale_col))


def smape(cv: pl.DataFrame) -> float:
    """Symmetric mean absolute percentage error, 0 to 200: 200 |y - y_hat| / (|y| + |y_hat|),
    counted as 0 where both are 0."""
    denominator = pl.col("y").abs() + pl.col("y_hat").abs()
    term = pl.when(denominator > 0).then(200 * (pl.col("y") - pl.col("y_hat")).abs() / denominator)
    return _mean(cv, term.otherwise(0.0))


def bias(cv: pl.DataFrame) -> float:
    """Mean of y_hat - y: positive when the model forecasts too much."""
    return _mean(cv, pl.col("y_hat") - pl.col("y"))


def coverage(cv: pl.DataFrame, level: int = 80) -> float:
    """Share of actuals inside the `level`% interval (ends included)."""
    inside = pl.col("y").is_between(pl.col(f"y_lo_{level}"), pl.col(f"y_hi_{level}"))
    return _mean(cv, inside.cast(pl.Float64))


METRICS: Final[dict[str, Callable[[pl.DataFrame], float]]] = {
    "mae": mae,
    "rmse": rmse,
    "mase": mase,
    "smape": smape,
    "bias": bias,
    "coverage_80": lambda cv: coverage(cv, 80),
    "coverage_95": lambda cv: coverage(cv, 95),
}


def leaderboard(cv: pl.DataFrame, by: Sequence[str] = ("model",)) -> pl.DataFrame:
    """Every metric per group of `by` (the model, or model and category, ...), with the number
    of forecast rows `n`, sorted by MASE (best first)."""
    rows: list[dict[str, Any]] = []
    for key, part in cv.partition_by(list(by), as_dict=True, maintain_order=True).items():
        row: dict[str, Any] = dict(zip(by, key, strict=True))
        row["n"] = _observed(part).height
        row.update({metric: function(part) for metric, function in METRICS.items()})
        rows.append(row)
    schema: dict[str, Any] = {c: cv.schema[c] for c in by}
    schema.update({"n": pl.Int64, **dict.fromkeys(METRICS, pl.Float64)})
    return pl.DataFrame(rows, schema=schema, orient="row").sort("mase", *by, nulls_last=True)
