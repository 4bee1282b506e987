"""Forecasting models for daily store x product demand, all with one interface.

Every model follows scikit-learn's estimator rules and statsforecast's models: `__init__` only
stores hyper-parameters; `fit(df) -> self` learns; `predict(h, future=None) -> pl.DataFrame`
returns one row per series and day: the id columns, `date`, `y_hat` and the 80% and 95%
prediction intervals `y_lo_80`, `y_hi_80`, `y_lo_95`, `y_hi_95`. Learned state ends in `_`.

`df` is one series (`date`, `units_sold` and any exogenous columns) or several, told apart by
the `id_cols` present in it; the models loop over the series. Each series is reindexed to a
full daily range first: a missing day's target is missing (left out of fits), never zero.
`future` carries what is known of the forecast days (ids, `date`, price, `is_promo`,
`discount_pct`, calendar columns); what it lacks comes from `features.future_frame`'s defaults
(the last price, no promotion, no holiday).

Models: `Naive`, `SeasonalNaive`, `LinearModel` (OLS on log1p), `CountModel` (Poisson or
negative-binomial GLM), `HoltWinters` (exponential smoothing on log1p) and `AutoModel` (picks
one per series by a rolling-origin backtest, with fallbacks for short and intermittent series).
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from analytics import evaluate
from analytics.features import ID_COLS, TARGET_COL, TIME_COL
from analytics.forecasters import (
    LEVELS,
    OUTPUT_COLUMNS,
    Array,
    ColumnNames,
    Forecaster,
    Key,
    SeriesFit,
)
from analytics.forecasters import (
    Naive as Naive,
)
from analytics.forecasters import (
    SeasonalNaive as SeasonalNaive,
)
from analytics.regression import CountModel as CountModel
from analytics.regression import LinearModel as LinearModel


class HoltWinters(Forecaster):
    """Holt-Winters exponential smoothing (statsmodels ExponentialSmoothing) on log1p(units):
    additive weekly seasonality and, by default, an additive damped trend. Missing days are
    interpolated for the fit (the recursions need every day). Intervals: `repetitions` simulated
    future paths with resampled-normal additive errors (seeded), whose quantiles are
    back-transformed; `y_hat` is expm1 of the point forecast (a median)."""

    def __init__(
        self,
        season_length: int = 7,
        *,
        trend: bool = True,
        damped_trend: bool = True,
        repetitions: int = 500,
        seed: int = 0,
        id_cols: Sequence[str] = ID_COLS,
        time_col: str = TIME_COL,
        target_col: str = TARGET_COL,
    ) -> None:
        super().__init__(id_cols=id_cols, time_col=time_col, target_col=target_col)
        self.season_length = season_length
        self.trend = trend
        self.damped_trend = damped_trend
        self.repetitions = repetitions
        self.seed = seed

    def _fit_series(self, history: pl.DataFrame, y: Array) -> Any:
        observed = np.flatnonzero(np.isfinite(y))
        values = y[observed[0] : observed[-1] + 1]
        if len(values) < 2 * self.season_length + 2:
            raise ValueError(f"HoltWinters needs {2 * self.season_length + 2} days or more")
        filled = pl.Series(np.log1p(values)).fill_nan(None).interpolate().to_numpy()
        model = ExponentialSmoothing(
            filled,
            trend="add" if self.trend else None,
            damped_trend=self.trend and self.damped_trend,
            seasonal="add",
            seasonal_periods=self.season_length,
            initialization_method="estimated",
        )
        with warnings.catch_warnings():
            # a flat likelihood surface is common on short noisy series; the fit is still usable
            warnings.simplefilter("ignore", ConvergenceWarning)
            return model.fit()

    def _predict_series(self, fitted: SeriesFit, days: pl.DataFrame) -> dict[str, Array]:
        result = fitted.state
        h = days.height
        rng = np.random.default_rng(self.seed)
        paths = np.asarray(
            result.simulate(h, repetitions=self.repetitions, error="add", anchor="end", rng=rng)
        ).reshape(h, -1)
        out = {"y_hat": np.expm1(np.asarray(result.forecast(h), dtype=np.float64))}
        for level in LEVELS:
            tail = (100 - level) / 200
            out[f"y_lo_{level}"] = np.expm1(np.quantile(paths, tail, axis=1))
            out[f"y_hi_{level}"] = np.expm1(np.quantile(paths, 1 - tail, axis=1))
        return {k: np.maximum(v, 0.0) for k, v in out.items()}


class AutoModel(Forecaster):
    """Per series, the candidate with the lowest MASE in a short rolling-origin backtest.

    Fallbacks, checked in order: fewer observed days than two seasons gives `SeasonalNaive`
    (with at least one season) or `Naive`; more than `intermittent_share` of zero days gives
    `CountModel`; too little history for `n_windows` backtest windows of `h` days after two
    seasons of training gives `SeasonalNaive`. `chosen_` maps each series key to the model's
    name and `reason_` to why (the backtest MASE of every candidate when there was one).
    """

    def __init__(
        self,
        candidates: Sequence[Forecaster] | None = None,
        *,
        h: int = 7,
        n_windows: int = 2,
        season_length: int = 7,
        intermittent_share: float = 0.5,
        id_cols: Sequence[str] = ID_COLS,
        time_col: str = TIME_COL,
        target_col: str = TARGET_COL,
    ) -> None:
        super().__init__(id_cols=id_cols, time_col=time_col, target_col=target_col)
        self.candidates = candidates
        self.h = h
        self.n_windows = n_windows
        self.season_length = season_length
        self.intermittent_share = intermittent_share

    def _fit_series(self, history: pl.DataFrame, y: Array) -> tuple[Forecaster, str]:
        model, reason = self._choose(history, y)
        return model.fit(history), reason

    def _choose(self, history: pl.DataFrame, y: Array) -> tuple[Forecaster, str]:
        names = ColumnNames(
            id_cols=self.id_cols, time_col=self.time_col, target_col=self.target_col
        )
        m = self.season_length
        observed = y[np.isfinite(y)]
        if len(observed) < 2 * m:
            short = f"{len(observed)} observed days, fewer than two seasons ({2 * m})"
            if len(observed) >= m:
                return SeasonalNaive(m, **names), f"{short}: seasonal naive"
            return Naive(**names), f"{short} and less than one: naive"
        zero_share = float(np.mean(observed == 0))
        if zero_share > self.intermittent_share:
            reason = f"intermittent: {zero_share:.0%} of days sold zero: count model"
            return CountModel(**names), reason
        needed = 2 * m + self.h * self.n_windows
        if len(y) < needed:
            reason = f"{len(y)} days, too few to backtest (needs {needed}): seasonal naive"
            return SeasonalNaive(m, **names), reason
        candidates = self.candidates or (
            SeasonalNaive(m, **names),
            LinearModel(**names),
            HoltWinters(m, **names),
        )
        scores: dict[str, float] = {}
        for candidate in candidates:
            name = type(candidate).__name__
            try:
                cv = evaluate.cross_validation(
                    copy.deepcopy(candidate),
                    history,
                    h=self.h,
                    n_windows=self.n_windows,
                    id_cols=self.id_cols,
                    time_col=self.time_col,
                    target_col=self.target_col,
                    season_length=m,
                )
                scores[name] = evaluate.mase(cv)
            except (ValueError, np.linalg.LinAlgError):
                scores[name] = math.nan
        valid = {k: v for k, v in scores.items() if math.isfinite(v)}
        if not valid:
            return SeasonalNaive(m, **names), "every candidate failed the backtest: seasonal naive"
        best = min(valid, key=lambda k: valid[k])
        listing = ", ".join(f"{k} {v:.3f}" for k, v in scores.items())
        reason = f"lowest backtest MASE ({self.n_windows} x {self.h} days): {listing}"
        chosen = next(c for c in candidates if type(c).__name__ == best)
        return copy.deepcopy(chosen), reason

    def _predict_series(self, fitted: SeriesFit, days: pl.DataFrame) -> dict[str, Array]:
        model: Forecaster = fitted.state[0]
        part = model.predict(days.height, future=days)
        return {c: part.get_column(c).to_numpy().astype(np.float64) for c in OUTPUT_COLUMNS}

    @property
    def chosen_(self) -> dict[Key, str]:
        return {key: type(fit.state[0]).__name__ for key, fit in self.fits_.items()}

    @property
    def reason_(self) -> dict[Key, str]:
        return {key: str(fit.state[1]) for key, fit in self.fits_.items()}
