"""One series in, what the Forecast page and the `shelfsight forecast` command show out.

`forecast_series(history, horizon=..., model=...)` takes one series' history (`date`,
`units_sold` and the exogenous columns: `price`, `is_promo`, `discount_pct`, `is_stockout`,
`stock_begin`, `received_units`, `is_public_holiday`, `is_store_closed`, any of them optional),
one row per day or one per week (dates 7 days apart: the horizon and backtest windows are
then in weeks and the season is a year of 52), and returns a `SeriesForecast`:

- `forecast`: `date`, `forecast`, `lo_80`, `hi_80`, `lo_95`, `hi_95`, `model` for the `horizon`
  periods after the history;
- `backtest`: the rolling-origin backtest of each model compared, long: `model`, `cutoff`,
  `date`, `y`, `y_hat`, the interval columns and `mase_scale` (see `evaluate`);
- `leaderboard`: one row per model compared, with `evaluate.leaderboard`'s metrics, best first;
- `history`: `date`, `units_sold`, `demand` (the stockout-corrected demand: sales on uncensored
  days, the estimate on censored ones), `is_censored`, `lost_units`, `lost_revenue`;
- `model` (the one used; for `auto`, the one it chose) and `reason` (why: for `auto` the backtest
  MASE of each candidate, or the fallback for a short or rarely selling series; for a named
  model that cannot be fitted on so short a history, why and what was used instead).

`MODELS`: `auto` (seasonal naive or linear by backtest MASE, see `forecast.AutoModel`),
`naive`, `seasonal_naive`, `linear`, `count`, `holt_winters`, `stl_ets` and `sarimax`. The
leaderboard compares `COMPARED` (fast models) plus the model asked for; the features are built
once per series and every backtest window slices them (`table`, `backtest`), so `auto` with its
backtest takes about 20-30 ms per medium series and the default leaderboard 30-45 ms.
Days past the data's calendar get the French public holidays and closures by rule.

With `correct_stockouts` (the default; daily data) the models are fitted on `demand`, not on
sales: a stockout day's sales understate what would have sold. Bad input raises
`ForecastError` with a one-line message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from analytics import lost_sales
from analytics.backtest import FIT_ERRORS, Backtest, backtest_frame, backtest_table
from analytics.backtest import leaderboard as backtest_leaderboard
from analytics.features import TARGET_COL, TIME_COL
from analytics.forecast import (
    AutoModel,
    CountModel,
    HoltWinters,
    LinearModel,
    Naive,
    Sarimax,
    SeasonalNaive,
    StlEts,
)
from analytics.forecasters import Forecaster
from analytics.table import DAILY, Array, BoolArray, SeriesTable, build_table, detect_step

MODELS: Final[dict[str, Callable[[], Forecaster]]] = {
    "auto": lambda: AutoModel(id_cols=()),
    "naive": lambda: Naive(id_cols=()),
    "seasonal_naive": lambda: SeasonalNaive(id_cols=()),
    "linear": lambda: LinearModel(id_cols=()),
    "count": lambda: CountModel(id_cols=()),
    "holt_winters": lambda: HoltWinters(id_cols=()),
    "stl_ets": lambda: StlEts(id_cols=()),
    "sarimax": lambda: Sarimax(id_cols=()),
}
# The models a series' leaderboard compares by default: the fast ones (a few milliseconds a
# fit). holt_winters, stl_ets and sarimax take tens to hundreds: ask for them in `compare`.
COMPARED: Final = ("seasonal_naive", "linear", "count")
FORECAST_COLUMNS: Final = ("date", "forecast", "lo_80", "hi_80", "lo_95", "hi_95", "model")
_RENAME: Final = {
    "y_hat": "forecast",
    "y_lo_80": "lo_80",
    "y_hi_80": "hi_80",
    "y_lo_95": "lo_95",
    "y_hi_95": "hi_95",
}


class ForecastError(ValueError):
    """A forecast that cannot be made; the message is one line, fit for a user."""


@dataclass(frozen=True)
class SeriesForecast:
    forecast: pl.DataFrame
    backtest: pl.DataFrame
    leaderboard: pl.DataFrame
    history: pl.DataFrame
    model: str
    reason: str


def forecast_series(
    history: pl.DataFrame,
    *,
    horizon: int,
    model: str = "auto",
    future: pl.DataFrame | None = None,
    compare: Sequence[str] = COMPARED,
    windows: int = 3,
    step: int | None = None,
    correct_stockouts: bool = True,
) -> SeriesForecast:
    """Forecast one series `horizon` periods (days, or weeks for weekly dates) ahead with
    `model`, backtest the `compare` models (and `model`; for `auto`, its candidates) over
    `windows` cutoffs `step` periods apart (default: the horizon, at most 28 days per window),
    and estimate the stockout-corrected demand. The features are built once and every backtest
    window slices them. See the module docstring."""
    check_request(history, horizon=horizon, model=model)
    # many small fits: BLAS threads would only wait on each other (3x slower on 2 cores);
    # setting the limit costs about 0.3 ms
    with threadpool_limits(limits=1, user_api="blas"):
        return _forecast(history, horizon, model, future, compare, windows, step, correct_stockouts)


def _forecast(
    history: pl.DataFrame,
    horizon: int,
    model: str,
    future: pl.DataFrame | None,
    compare: Sequence[str],
    windows: int,
    step: int | None,
    correct_stockouts: bool,
) -> SeriesForecast:
    every = detect_step(history.get_column(TIME_COL))
    history = history.sort(TIME_COL)
    known = None if future is None else future.drop(TARGET_COL, strict=False)
    table = build_table(history, known, horizon=horizon, step=every)
    demand, is_censored = _demand(table, history, correct=correct_stockouts and every == DAILY)
    table.y[: table.n_history] = demand
    end = table.n_history
    h = max(1, min(horizon, 28 // every))
    auto = AutoModel(h=h, n_windows=windows, id_cols=())
    names = [*compare]
    if model == "auto":
        if auto.fallback(table, end, h) is None:
            names += [c.name for c in auto.candidate_models(table, end)]
    else:
        names.append(model)
    backtests = _backtest(table, [*dict.fromkeys(names)], h, windows, step)
    chosen, reason, values = _fit_and_predict(table, model, auto, backtests, h, horizon)
    forecast = pl.DataFrame(
        {
            "date": table.dates.slice(end, horizon),
            **{_RENAME[c]: pl.Series(values[c], dtype=pl.Float64) for c in _RENAME},
            "model": [chosen] * horizon,
        },
        schema_overrides={"model": pl.String},
    ).select(FORECAST_COLUMNS)
    backtest = backtest_frame(table, backtests)
    leaderboard = backtest_leaderboard(backtests) if backtests else pl.DataFrame()
    days = _history(table, history, demand, is_censored)
    return SeriesForecast(forecast, backtest, leaderboard, days, chosen, reason)


def check_request(history: pl.DataFrame, *, horizon: int, model: str) -> None:
    """Raise `ForecastError` for a request no model can answer."""
    if model not in MODELS:
        raise ForecastError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    if horizon < 1:
        raise ForecastError(f"the horizon must be at least one day, not {horizon}")
    missing = [c for c in (TIME_COL, TARGET_COL) if c not in history.columns]
    if missing:
        raise ForecastError(f"the history lacks the column(s) {', '.join(missing)}")
    sold = history.get_column(TARGET_COL).drop_nulls()
    if sold.len() == 0 or float(sold.sum()) <= 0:
        raise ForecastError("this series has no sales to forecast from")
    try:
        detect_step(history.get_column(TIME_COL))
    except ValueError as error:
        raise ForecastError(str(error)) from error


def _fit_and_predict(
    table: SeriesTable,
    model: str,
    auto: AutoModel,
    backtests: list[Backtest],
    h: int,
    horizon: int,
) -> tuple[str, str, dict[str, np.ndarray]]:
    """The model used, why, and its forecast of the `horizon` periods after the history."""
    end = table.n_history
    if model == "auto":
        scores = {bt.name: bt.mase for bt in backtests}
        chosen, reason = auto.select(table, end, scores=scores, h=h)
    else:
        chosen, reason = MODELS[model](), "chosen by the user"
    try:
        state = chosen.fit_table(table, end)
    except FIT_ERRORS as error:
        fallback, why = auto.select(table, end, scores={bt.name: bt.mase for bt in backtests}, h=h)
        reason = f"{model} could not be fitted ({error}); instead {why}"
        chosen, state = fallback, fallback.fit_table(table, end)
    return chosen.name, reason, chosen.predict_table(state, table, end, horizon)


def _backtest(
    table: SeriesTable, names: Sequence[str], h: int, windows: int, step: int | None
) -> list[Backtest]:
    out = []
    for name in names:
        try:
            bt = backtest_table(MODELS[name](), table, h=h, n_windows=windows, step_size=step)
        except FIT_ERRORS:
            continue  # too short to backtest this model: it sits the leaderboard out
        if len(bt.y) and np.isfinite(bt.values["y_hat"]).all():
            out.append(bt)
    return out


def _demand(table: SeriesTable, history: pl.DataFrame, *, correct: bool) -> tuple[Array, BoolArray]:
    """The demand of each history row of `table` (sales, or the stockout-corrected estimate
    on censored days when `correct`) and which rows are censored: a stockout day, or one whose
    sales took all the stock available (`lost_sales.censored_flag`, in numpy)."""
    sales = table.y[: table.n_history].copy()
    is_censored = np.zeros(table.n_history, dtype=np.bool_)
    if not correct or table.history_rows is None:
        return sales, is_censored
    on_grid = _on_grid(table, history)
    flag = np.zeros(history.height, dtype=np.bool_)
    if "is_stockout" in history.columns:
        flag |= history.get_column("is_stockout").fill_null(value=False).to_numpy().astype(bool)
    if "stock_begin" in history.columns:
        units = _floats(history, TARGET_COL)
        available = _floats(history, "stock_begin")
        if "received_units" in history.columns:
            available = available + np.nan_to_num(_floats(history, "received_units"))
        with np.errstate(invalid="ignore"):
            flag |= units >= available
    if not flag.any():
        return sales, is_censored
    is_censored[table.history_rows] = flag[on_grid]
    return lost_sales.estimate_demand(table, is_censored), is_censored


def _history(
    table: SeriesTable, history: pl.DataFrame, demand: Array, is_censored: BoolArray
) -> pl.DataFrame:
    """`date`, `units_sold`, `demand`, `is_censored`, `lost_units`, `lost_revenue` per day of
    the history (on the table's grid)."""
    assert table.history_rows is not None
    rows = table.history_rows
    on_grid = _on_grid(table, history)
    units = _floats(history, TARGET_COL)[on_grid]
    estimate = np.where(np.isfinite(units), demand[rows], np.nan)
    lost = np.nan_to_num(np.clip(estimate - units, 0.0, None))
    price = _floats(history, "price")[on_grid] if "price" in history.columns else np.nan
    return pl.DataFrame(
        {
            TIME_COL: history.get_column(TIME_COL).filter(pl.Series(on_grid)),
            TARGET_COL: units,
            "demand": estimate,
            "is_censored": is_censored[rows],
            "lost_units": lost,
            "lost_revenue": np.nan_to_num(lost * price),
        }
    ).with_columns(pl.col(TARGET_COL, "demand").fill_nan(None))


def _on_grid(table: SeriesTable, history: pl.DataFrame) -> BoolArray:
    days = history.get_column(TIME_COL).cast(pl.Date).cast(pl.Int32).to_numpy()
    on_grid: BoolArray = (days.astype(np.int64) - table.days[0]) % table.step == 0
    return on_grid


def _floats(frame: pl.DataFrame, column: str) -> Array:
    return np.asarray(frame.get_column(column).cast(pl.Float64).to_numpy(), dtype=np.float64)
