"""statsmodels time-series forecasters: Holt-Winters, STL + ETS and SARIMAX, on log1p(units).

All three need every period, so missing days inside the training rows are interpolated (on the
log scale) and the rows before the first observed one are left out. Each fit catches the
warnings statsmodels raises on a degenerate series (FIT_WARNINGS and its start-parameter
UserWarnings) for that fit only. They are slower than the regression models (tens to hundreds
of milliseconds a fit): the page and the batch `auto` leave them out unless asked.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import numpy as np
from scipy import stats
from statsmodels.tsa.holtwinters import ExponentialSmoothing
from statsmodels.tsa.seasonal import STL
from statsmodels.tsa.statespace.sarimax import SARIMAX

from analytics.features import ID_COLS, TARGET_COL, TIME_COL
from analytics.forecasters import FIT_WARNINGS, LEVELS, Forecaster
from analytics.table import DAILY, Array, SeriesTable

# The regressors SARIMAX and the yearly part of STL + ETS may use.
EXOGENOUS: Final = ("log_price", "promo_flag", "promo_depth", "is_holiday", "is_store_closed")


@contextmanager
def _quiet_fit() -> Iterator[None]:
    with warnings.catch_warnings():
        for category in (*FIT_WARNINGS, UserWarning):
            warnings.simplefilter("ignore", category)
        with np.errstate(all="ignore"):
            yield


def _training(table: SeriesTable, end: int, min_rows: int) -> tuple[int, Array]:
    """The first observed row before `end` and log1p of the target from there to `end`, with
    gaps interpolated; ValueError when fewer than `min_rows` rows remain."""
    y = table.y[:end]
    observed = np.flatnonzero(np.isfinite(y))
    if len(observed) == 0 or end - observed[0] < min_rows:
        raise ValueError(f"needs {min_rows} periods of history or more")
    start = int(observed[0])
    z = np.log1p(np.maximum(y[start:], 0.0))
    missing = ~np.isfinite(z)
    if missing.any():
        index = np.arange(len(z))
        z[missing] = np.interp(index[missing], index[~missing], z[~missing])
    return start, z


def _log_normal_intervals(mean: Array, sd: Array) -> dict[str, Array]:
    """expm1 of a normal forecast on the log1p scale: the median and both interval ends."""
    out = {"y_hat": np.expm1(mean)}
    for level in LEVELS:
        z = float(stats.norm.ppf(0.5 + level / 200))
        out[f"y_lo_{level}"] = np.expm1(mean - z * sd)
        out[f"y_hi_{level}"] = np.expm1(mean + z * sd)
    return {k: np.maximum(v, 0.0) for k, v in out.items()}


class HoltWinters(Forecaster):
    """Holt-Winters exponential smoothing (statsmodels ExponentialSmoothing) on log1p(units):
    additive seasonality (a week of daily data, a year of weekly data; left out when the
    history holds fewer than two seasons and two periods) and, by default, an additive damped
    trend. Intervals: `repetitions` simulated paths with normal additive errors (seeded),
    whose quantiles are back-transformed; `y_hat` is expm1 of the point forecast (a median)."""

    name: ClassVar[str] = "holt_winters"

    def __init__(
        self,
        season_length: int | None = None,
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

    def fit_table(self, table: SeriesTable, end: int) -> Any:
        m = self.season_length or table.season
        minimum = 2 * m + 2 if table.step == DAILY else 10
        _, z = _training(table, end, minimum)
        seasonal = len(z) >= 2 * m + 2
        model = ExponentialSmoothing(
            z,
            trend="add" if self.trend else None,
            damped_trend=self.trend and self.damped_trend,
            seasonal="add" if seasonal else None,
            seasonal_periods=m if seasonal else None,
            initialization_method="estimated",
        )
        with _quiet_fit():
            return model.fit()

    def predict_table(self, state: Any, table: SeriesTable, end: int, h: int) -> dict[str, Array]:
        rng = np.random.default_rng(self.seed)
        with _quiet_fit():
            paths = np.asarray(
                state.simulate(h, repetitions=self.repetitions, error="add", anchor="end", rng=rng)
            ).reshape(h, -1)
            mean = np.asarray(state.forecast(h), dtype=np.float64)
        out = {"y_hat": np.expm1(mean)}
        for level in LEVELS:
            tail = (100 - level) / 200
            out[f"y_lo_{level}"] = np.expm1(np.quantile(paths, tail, axis=1))
            out[f"y_hi_{level}"] = np.expm1(np.quantile(paths, 1 - tail, axis=1))
        return {k: np.maximum(v, 0.0) for k, v in out.items()}


@dataclass
class _StlState:
    columns: list[str]
    params: Array
    seasonal: Array  # the last season of the STL seasonal component
    level_forecast: Any  # the fitted ETS results
    sigma: float
    alpha: float


class StlEts(Forecaster):
    """STL + ETS: on log1p(units), first a regression on yearly Fourier terms (from a year of
    history; `fourier_k` pairs) and the price, promotion and holiday regressors, then STL
    (statsmodels, robust) takes the weekly season out of the residual (daily data; weekly data
    has its yearly season in the Fourier terms), and an ETS with additive damped trend
    (statsmodels ExponentialSmoothing) forecasts what is left.

    The yearly season is a Fourier regression rather than a second STL period: with two years
    of data an MSTL yearly component absorbs trend and noise alike. Intervals: normal on the
    log scale with sd `interval_scale` x sigma sqrt(1 + (h - 1) alpha^2) (the simple
    exponential smoothing variance, sigma the one-step residual sd), back-transformed; `y_hat`
    is the median. The in-sample residuals understate the error, as the STL seasonal
    component follows part of the noise: unscaled, the intervals covered 63% and 83% for 80%
    and 95% in backtests of 25 medium series, and both shortfalls match a factor of 1.43."""

    name: ClassVar[str] = "stl_ets"

    def __init__(
        self,
        *,
        fourier_k: int = 3,
        robust: bool = True,
        interval_scale: float = 1.45,
        min_feature_days: int = 2,
        id_cols: Sequence[str] = ID_COLS,
        time_col: str = TIME_COL,
        target_col: str = TARGET_COL,
    ) -> None:
        super().__init__(id_cols=id_cols, time_col=time_col, target_col=target_col)
        self.fourier_k = fourier_k
        self.robust = robust
        self.interval_scale = interval_scale
        self.min_feature_days = min_feature_days

    def fit_table(self, table: SeriesTable, end: int) -> _StlState:
        m = table.season
        start, z = _training(table, end, 2 * m + 2 if table.step == DAILY else 10)
        wanted = list(EXOGENOUS)
        if end * table.step >= 365:
            wanted += [
                f"yearly_{kind}_{k}"
                for k in range(1, self.fourier_k + 1)
                for kind in ("sin", "cos")
            ]
        columns = table.usable(wanted, end, min_feature_days=self.min_feature_days)
        x = table.matrix(columns, start, end)
        observed = np.isfinite(table.y[start:end])
        params = np.linalg.lstsq(x[observed], z[observed], rcond=None)[0].astype(np.float64)
        params[0] = 0.0  # the level stays in the ETS
        rest = z - x @ params
        seasonal = np.zeros(m)
        if table.step == DAILY and len(rest) >= 2 * m + 1:
            with _quiet_fit():
                decomposition = STL(rest, period=m, robust=self.robust).fit()
            component = np.asarray(decomposition.seasonal, dtype=np.float64)
            seasonal = component[-m:]
            rest = rest - component
        with _quiet_fit():
            ets = ExponentialSmoothing(
                rest, trend="add", damped_trend=True, initialization_method="estimated"
            ).fit()
        resid = np.asarray(ets.resid, dtype=np.float64)
        sigma = float(np.sqrt(np.mean(resid[1:] ** 2))) if len(resid) > 1 else 0.0
        alpha = float(ets.params["smoothing_level"])
        return _StlState(columns, params, seasonal, ets, sigma, alpha)

    def predict_table(
        self, state: _StlState, table: SeriesTable, end: int, h: int
    ) -> dict[str, Array]:
        m = len(state.seasonal)
        with _quiet_fit():
            level = np.asarray(state.level_forecast.forecast(h), dtype=np.float64)
        mean = level + state.seasonal[np.arange(h) % m]
        mean = mean + table.matrix(state.columns, end, end + h) @ state.params
        steps = np.arange(1, h + 1, dtype=np.float64)
        sd = self.interval_scale * state.sigma * np.sqrt(1 + (steps - 1) * state.alpha**2)
        return _log_normal_intervals(mean, sd)


class Sarimax(Forecaster):
    """SARIMAX (statsmodels) on log1p(units) with the price, promotion and holiday regressors
    as exogenous variables: ARMA(1, 1) with a seasonal MA(1) on the weekly difference for daily
    data, and ARMA(1, 1) with yearly Fourier regressors for weekly data. Intervals from the
    state-space forecast variance, normal on the log scale and back-transformed. About a
    second a fit: for batch use."""

    name: ClassVar[str] = "sarimax"

    def __init__(
        self,
        *,
        order: tuple[int, int, int] = (1, 0, 1),
        seasonal_order: tuple[int, int, int] = (0, 1, 1),
        min_feature_days: int = 2,
        maxiter: int = 50,
        id_cols: Sequence[str] = ID_COLS,
        time_col: str = TIME_COL,
        target_col: str = TARGET_COL,
    ) -> None:
        super().__init__(id_cols=id_cols, time_col=time_col, target_col=target_col)
        self.order = order
        self.seasonal_order = seasonal_order
        self.min_feature_days = min_feature_days
        self.maxiter = maxiter

    def fit_table(self, table: SeriesTable, end: int) -> tuple[list[str], Any]:
        daily = table.step == DAILY
        y = table.y[:end]
        observed = np.flatnonzero(np.isfinite(y))
        if len(observed) < (3 * table.season if daily else 20):
            raise ValueError("SARIMAX needs three seasons of daily history or 20 weeks")
        start = int(observed[0])
        wanted = list(EXOGENOUS)
        if not daily and end * table.step >= 365:
            wanted += ["yearly_sin_1", "yearly_cos_1", "yearly_sin_2", "yearly_cos_2"]
        columns = table.usable(wanted, end, min_feature_days=self.min_feature_days)
        exog = table.matrix(columns, start, end)[:, 1:] if columns else None
        seasonal = (*self.seasonal_order, table.season) if daily else (0, 0, 0, 0)
        model = SARIMAX(
            np.log1p(np.maximum(y[start:], 0.0)),
            exog=exog,
            order=self.order,
            seasonal_order=seasonal,
            trend="n" if daily else "c",
        )
        with _quiet_fit():
            return columns, model.fit(disp=False, maxiter=self.maxiter)

    def predict_table(
        self, state: tuple[list[str], Any], table: SeriesTable, end: int, h: int
    ) -> dict[str, Array]:
        columns, result = state
        exog = table.matrix(columns, end, end + h)[:, 1:] if columns else None
        with _quiet_fit():
            prediction = result.get_forecast(h, exog=exog)
            mean = np.asarray(prediction.predicted_mean, dtype=np.float64)
            sd = np.sqrt(np.asarray(prediction.var_pred_mean, dtype=np.float64))
        return _log_normal_intervals(mean, sd)
