"""One series in, what the Forecast page and the `shelfsight forecast` command show out.

`forecast_series(history, horizon=..., model=...)` takes one series' daily history (`date`,
`units_sold` and the exogenous columns: `price`, `is_promo`, `discount_pct`, `is_stockout`,
`stock_begin`, `received_units`, `is_public_holiday`, `is_store_closed`, any of them optional)
and returns a `SeriesForecast`:

- `forecast`: `date`, `forecast`, `lo_80`, `hi_80`, `lo_95`, `hi_95`, `model` for the `horizon`
  days after the history;
- `backtest`: the rolling-origin backtest of each model compared, long: `model`, `cutoff`,
  `date`, `y`, `y_hat`, the interval columns and `mase_scale` (see `evaluate`);
- `leaderboard`: one row per model compared, with `evaluate.leaderboard`'s metrics, best first;
- `history`: `date`, `units_sold`, `demand` (the stockout-corrected demand: sales on uncensored
  days, the estimate on censored ones), `is_censored`, `lost_units`, `lost_revenue`;
- `model` (the one used; for `auto`, the one it chose) and `reason` (why).

With `correct_stockouts` (the default) the models are fitted on `demand`, not on sales: a
stockout day's sales understate what would have sold. Bad input raises `ForecastError` with a
one-line message.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import polars as pl

from analytics import evaluate, lost_sales
from analytics.features import TARGET_COL, TIME_COL
from analytics.forecast import (
    AutoModel,
    CountModel,
    HoltWinters,
    LinearModel,
    Naive,
    SeasonalNaive,
)
from analytics.forecasters import Forecaster

MODELS: Final[dict[str, Callable[[], Forecaster]]] = {
    "auto": lambda: AutoModel(id_cols=()),
    "naive": lambda: Naive(id_cols=()),
    "seasonal_naive": lambda: SeasonalNaive(id_cols=()),
    "linear": lambda: LinearModel(id_cols=()),
    "count": lambda: CountModel(id_cols=()),
    "holt_winters": lambda: HoltWinters(id_cols=()),
}
# The models a series' leaderboard compares by default.
COMPARED: Final = ("seasonal_naive", "linear", "holt_winters")
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
    """Forecast one series `horizon` days ahead with `model`, backtest the `compare` models
    (and `model`) over `windows` cutoffs `step` days apart (default: the horizon, at most 28
    days per window), and estimate the stockout-corrected demand. See the module docstring."""
    check_request(history, horizon=horizon, model=model)
    demand = _demand(history, correct=correct_stockouts)
    fit_frame = history.with_columns(demand.get_column("demand").alias(TARGET_COL))
    fitted = MODELS[model]().fit(fit_frame)
    known = None if future is None else future.drop(TARGET_COL, strict=False)
    prediction = fitted.predict(horizon, future=known)
    chosen, reason = _describe(fitted, model)
    forecast = (
        prediction.rename(_RENAME)
        .with_columns(pl.lit(chosen).alias("model"))
        .select(FORECAST_COLUMNS)
    )
    backtest = _backtest(fit_frame, [*dict.fromkeys([*compare, model])], horizon, windows, step)
    leaderboard = (
        evaluate.leaderboard(backtest, by=("model",)).sort("mase", nulls_last=True)
        if backtest.height
        else backtest
    )
    return SeriesForecast(forecast, backtest, leaderboard, demand, chosen, reason)


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


def _demand(history: pl.DataFrame, *, correct: bool) -> pl.DataFrame:
    units = pl.col(TARGET_COL).cast(pl.Float64)
    if correct and "is_stockout" in history.columns:
        estimate = lost_sales.estimate_unconstrained_demand(history, id_cols=())
        frame = history.join(
            estimate.select(TIME_COL, lost_sales.DEMAND_COL, lost_sales.CENSORED_COL),
            on=TIME_COL,
            how="left",
            maintain_order="left",
        ).with_columns(
            pl.when(pl.col(lost_sales.CENSORED_COL))
            .then(pl.col(lost_sales.DEMAND_COL))
            .otherwise(units)
            .alias("demand")
        )
    else:
        frame = history.with_columns(
            units.alias("demand"), pl.lit(value=False).alias(lost_sales.CENSORED_COL)
        )
    lost = (pl.col("demand") - units).clip(lower_bound=0).fill_null(0.0)
    price = pl.col("price") if "price" in history.columns else pl.lit(None, pl.Float64)
    return frame.select(
        TIME_COL,
        units.alias(TARGET_COL),
        "demand",
        pl.col(lost_sales.CENSORED_COL).fill_null(value=False).alias("is_censored"),
        lost.alias("lost_units"),
        (lost * price).fill_null(0.0).alias("lost_revenue"),
    )


def _describe(fitted: Forecaster, model: str) -> tuple[str, str]:
    if isinstance(fitted, AutoModel):
        ((chosen, reason),) = zip(fitted.chosen_.values(), fitted.reason_.values(), strict=True)
        return _NAMES.get(chosen, chosen), reason
    return model, "chosen by the user"


_NAMES: Final = {type(factory()).__name__: name for name, factory in MODELS.items()}


def _backtest(
    frame: pl.DataFrame, names: Sequence[str], horizon: int, windows: int, step: int | None
) -> pl.DataFrame:
    h = min(horizon, 28)
    parts = []
    for name in names:
        try:
            cv = evaluate.cross_validation(
                MODELS[name](), frame, h, windows, step, id_cols=(), name=name
            )
        except ValueError:
            continue  # too short to backtest this model: it sits the leaderboard out
        if cv.height and not math.isnan(evaluate.mae(cv)):
            parts.append(cv)
    return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()
