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
from dataclasses import dataclass
from typing import Any, Final, Self, TypedDict

import numpy as np
import numpy.typing as npt
import polars as pl
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from analytics import evaluate, features
from analytics.features import ID_COLS, TARGET_COL, TIME_COL

Array = npt.NDArray[np.float64]
Key = tuple[Any, ...]
LEVELS: Final = (80, 95)
OUTPUT_COLUMNS: Final = ("y_hat", "y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95")
# Warnings a statsmodels fit can raise on a degenerate series; caught per fit, never globally.
FIT_WARNINGS: Final = (ConvergenceWarning, PerfectSeparationWarning, RuntimeWarning)


class _Columns(TypedDict):
    id_cols: Sequence[str]
    time_col: str
    target_col: str


@dataclass
class SeriesFit:
    """What a model learned of one series: its completed history and the model's own state."""

    history: pl.DataFrame
    state: Any


class Forecaster:
    """The shared loop: split by series, complete the days, fit each, predict each."""

    def __init__(
        self,
        *,
        id_cols: Sequence[str] = ID_COLS,
        time_col: str = TIME_COL,
        target_col: str = TARGET_COL,
    ) -> None:
        self.id_cols = id_cols
        self.time_col = time_col
        self.target_col = target_col

    def fit(self, df: pl.DataFrame) -> Self:
        ids = [c for c in self.id_cols if c in df.columns]
        completed = features.complete_series(df.lazy(), id_cols=ids, time_col=self.time_col)
        frame = completed.collect()
        self.id_cols_ = tuple(ids)
        self.id_schema_ = {c: frame.schema[c] for c in ids}
        self.fits_: dict[Key, SeriesFit] = {}
        parts = frame.partition_by(ids, as_dict=True, maintain_order=True) if ids else {(): frame}
        for key, part in parts.items():
            y = part.get_column(self.target_col).cast(pl.Float64).fill_null(np.nan).to_numpy()
            if not np.isfinite(y).any():
                raise ValueError(f"series {key} has no observed {self.target_col}")
            self.fits_[key] = SeriesFit(part, self._fit_series(part, y.astype(np.float64)))
        return self

    def predict(self, h: int, future: pl.DataFrame | None = None) -> pl.DataFrame:
        if h < 1:
            raise ValueError(f"the horizon must be at least one day, not {h}")
        frames = []
        for key, fitted in self.fits_.items():
            known = None
            if future is not None:
                known = _series_part(future, self.id_cols_, key).drop(self.target_col, strict=False)
            days = features.future_frame(
                fitted.history.lazy(),
                h,
                calendar=None if known is None else known.lazy(),
                id_cols=self.id_cols_,
                time_col=self.time_col,
            ).collect()
            values = self._predict_series(fitted, days)
            columns: dict[str, Any] = {
                c: pl.Series(c, [key[i]] * h, dtype=self.id_schema_[c])
                for i, c in enumerate(self.id_cols_)
            }
            columns[self.time_col] = days.get_column(self.time_col)
            frames.append(pl.DataFrame({**columns, **_intervals(values)}))
        return pl.concat(frames)

    def _fit_series(self, history: pl.DataFrame, y: Array) -> Any:
        raise NotImplementedError

    def _predict_series(self, fitted: SeriesFit, days: pl.DataFrame) -> dict[str, Array]:
        raise NotImplementedError


class Naive(Forecaster):
    """The last observed value. Intervals: a random walk, sd sigma sqrt(h), where sigma is the
    root mean square of the day-to-day changes."""

    def _fit_series(self, history: pl.DataFrame, y: Array) -> tuple[float, float]:
        observed = y[np.isfinite(y)]
        changes = np.diff(observed)
        sigma = float(np.sqrt(np.mean(changes**2))) if len(changes) else 0.0
        return float(observed[-1]), sigma

    def _predict_series(self, fitted: SeriesFit, days: pl.DataFrame) -> dict[str, Array]:
        last, sigma = fitted.state
        steps = np.arange(1, days.height + 1, dtype=np.float64)
        return _normal(np.full(days.height, last), sigma * np.sqrt(steps))


class SeasonalNaive(Forecaster):
    """The value one season (default a week) earlier, going back further seasons past missing
    days. Intervals: sd sigma sqrt(k) for the k-th season ahead, where sigma is the root mean
    square of the in-sample seasonal differences (of all values when there are none)."""

    def __init__(
        self,
        season_length: int = 7,
        *,
        id_cols: Sequence[str] = ID_COLS,
        time_col: str = TIME_COL,
        target_col: str = TARGET_COL,
    ) -> None:
        super().__init__(id_cols=id_cols, time_col=time_col, target_col=target_col)
        self.season_length = season_length

    def _fit_series(self, history: pl.DataFrame, y: Array) -> tuple[Array, float]:
        m = self.season_length
        diffs = y[m:] - y[:-m] if len(y) > m else np.array([])
        diffs = diffs[np.isfinite(diffs)]
        observed = y[np.isfinite(y)]
        sigma = float(np.sqrt(np.mean(diffs**2))) if len(diffs) else float(np.std(observed, ddof=0))
        # the last observed value of each phase of the season (by position from the end)
        last = np.full(m, float(np.mean(observed)))
        for phase in range(m):
            values = y[len(y) - m + phase :: -m] if len(y) - m + phase >= 0 else np.array([])
            finite = values[np.isfinite(values)]
            if len(finite):
                last[phase] = finite[0]
        return last, sigma

    def _predict_series(self, fitted: SeriesFit, days: pl.DataFrame) -> dict[str, Array]:
        last, sigma = fitted.state
        steps = np.arange(days.height)
        seasons = steps // self.season_length + 1
        return _normal(last[steps % self.season_length], sigma * np.sqrt(seasons))


@dataclass
class _Design:
    columns: list[str]
    origin: int  # days since epoch of the series' first day (the trend's zero)
    fill: dict[str, float]  # value for a regressor missing on a future day


class _Regression(Forecaster):
    """Shared design matrix of the linear and count models."""

    def __init__(
        self,
        *,
        fourier_k: int = 3,
        trend: bool = True,
        min_feature_days: int = 2,
        id_cols: Sequence[str] = ID_COLS,
        time_col: str = TIME_COL,
        target_col: str = TARGET_COL,
    ) -> None:
        super().__init__(id_cols=id_cols, time_col=time_col, target_col=target_col)
        self.fourier_k = fourier_k
        self.trend = trend
        self.min_feature_days = min_feature_days

    def _features(self, frame: pl.DataFrame, origin: int) -> pl.DataFrame:
        lf = features.add_model_features(
            frame.lazy(), fourier_k=self.fourier_k, id_cols=(), time_col=self.time_col
        )
        trend = (pl.col("days_since_epoch") - origin) / features.YEAR_DAYS
        extra = [trend.alias("trend")]
        if "is_store_closed" in frame.columns:
            extra.append(pl.col("is_store_closed").fill_null(value=False).cast(pl.Int8))
        return lf.with_columns(extra).collect()

    def _design(self, history: pl.DataFrame, y: Array) -> tuple[_Design, Array, Array]:
        """The regressors worth fitting, and X and y over the observed days."""
        origin = int(history.get_column(self.time_col).cast(pl.Int32)[0])
        table = self._features(history, origin)
        n_obs = int(np.isfinite(y).sum())
        wanted = [f"weekday_{d}" for d in range(2, 8)] if n_obs >= 14 else []
        if n_obs >= 28:
            wanted += [c for c in ("is_holiday", "is_holiday_eve", "is_store_closed")]
            wanted += ["log_price", "promo_flag", "promo_depth"]
            wanted += ["trend"] if self.trend else []
        if len(y) >= 365:  # one full year before yearly terms can be told from the trend
            wanted += [
                f"yearly_{kind}_{k}"
                for k in range(1, self.fourier_k + 1)
                for kind in ("sin", "cos")
            ]
        filled = table.with_columns(
            pl.col(c).cast(pl.Float64).forward_fill().backward_fill()
            for c in wanted
            if c in table.columns
        )
        is_observed = np.isfinite(y)
        columns, fill = [], {}
        for c in wanted:
            if c not in filled.columns:
                continue
            values = filled.get_column(c).fill_null(0.0).to_numpy()[is_observed]
            distinct = np.unique(values)
            if (
                len(distinct) < 2
                or min(np.sum(values != v) for v in distinct) < self.min_feature_days
            ):
                continue  # constant in training, or seen on too few days to estimate
            columns.append(c)
            fill[c] = float(filled.get_column(c).drop_nulls().tail(1).item())
        design = _Design(columns, origin, fill)
        return design, self._matrix(filled, design)[is_observed], y[is_observed]

    def _matrix(self, table: pl.DataFrame, design: _Design) -> Array:
        columns = [
            table.get_column(c).cast(pl.Float64).fill_null(design.fill[c]).to_numpy()
            for c in design.columns
        ]
        return np.column_stack([np.ones(table.height), *columns]).astype(np.float64)

    def _future_matrix(self, fitted: SeriesFit, days: pl.DataFrame) -> Array:
        design: _Design = fitted.state.design
        both = pl.concat([fitted.history, days], how="diagonal_relaxed")
        table = self._features(both, design.origin).tail(days.height)
        return self._matrix(table, design)


@dataclass
class _LinearState:
    design: _Design
    params: Array
    cov: Array
    scale: float
    df_resid: float


class LinearModel(_Regression):
    """Ordinary least squares on log1p(units) with trend, weekday, yearly Fourier terms,
    holidays and their eves, store closures, log price, promotion flag and depth.

    Regressors enter only when the series can carry them: weekdays from 14 observed days, the
    others from 28, the yearly terms from a year of history; one constant in training or
    different on fewer than `min_feature_days` days is left out. Missing days are left out.

    Intervals: on the log1p scale the forecast error variance is x' Cov(b) x (the parameters'
    uncertainty) plus s^2 (the residual variance); a Student-t interval with the residual
    degrees of freedom is put around x'b and both ends are back-transformed with expm1, which
    keeps their coverage. `y_hat` is expm1(x'b), the forecast median (the mean would be larger
    by the log-normal factor exp(s^2 / 2)); residual autocorrelation is not modelled.
    """

    def _fit_series(self, history: pl.DataFrame, y: Array) -> _LinearState:
        design, x, target = self._design(history, y)
        result = sm.OLS(np.log1p(target), x).fit()
        df_resid = max(float(result.df_resid), 1.0)
        scale = float(np.sum(result.resid**2) / df_resid)
        cov = np.asarray(result.normalized_cov_params, dtype=np.float64) * scale
        return _LinearState(design, np.asarray(result.params), cov, scale, df_resid)

    def _predict_series(self, fitted: SeriesFit, days: pl.DataFrame) -> dict[str, Array]:
        state: _LinearState = fitted.state
        x = self._future_matrix(fitted, days)
        mean = x @ state.params
        sd = np.sqrt(np.einsum("ij,jk,ik->i", x, state.cov, x) + state.scale)
        out = {"y_hat": np.expm1(mean)}
        for level in LEVELS:
            q = float(stats.t.ppf(0.5 + level / 200, state.df_resid))
            out[f"y_lo_{level}"] = np.expm1(mean - q * sd)
            out[f"y_hi_{level}"] = np.expm1(mean + q * sd)
        return {k: np.maximum(v, 0.0) for k, v in out.items()}


@dataclass
class _CountState:
    design: _Design
    params: Array
    alpha: float  # negative-binomial dispersion; 0 for Poisson
    note: str


class CountModel(_Regression):
    """A log-link GLM on the counts, with the linear model's regressors (without the trend by
    default: an exponential trend runs away on a slow mover), for slow and intermittent series.

    `family="auto"` fits a Poisson GLM, estimates the over-dispersion alpha (Cameron and
    Trivedi's auxiliary regression, Var = mu + alpha mu^2) and refits as a negative binomial
    when alpha > `min_alpha`; "poisson" and "negative_binomial" force one. A fit that does not
    converge or separates perfectly (a flag whose days all sold zero) is refitted on the
    intercept and weekdays; `notes_` says so. `y_hat` is the predicted mean; the intervals are
    the quantiles of the predictive Poisson or negative-binomial distribution at that mean
    (parameter uncertainty is left out).
    """

    def __init__(
        self,
        family: str = "auto",
        *,
        fourier_k: int = 2,
        trend: bool = False,
        min_alpha: float = 0.05,
        min_feature_days: int = 2,
        id_cols: Sequence[str] = ID_COLS,
        time_col: str = TIME_COL,
        target_col: str = TARGET_COL,
    ) -> None:
        super().__init__(
            fourier_k=fourier_k,
            trend=trend,
            min_feature_days=min_feature_days,
            id_cols=id_cols,
            time_col=time_col,
            target_col=target_col,
        )
        self.family = family
        self.min_alpha = min_alpha

    def _fit_series(self, history: pl.DataFrame, y: Array) -> _CountState:
        design, x, target = self._design(history, y)
        target = np.round(np.maximum(target, 0.0)).astype(np.float64)
        note = ""
        try:
            params, alpha = self._fit_glm(x, target)
        except FIT_WARNINGS as caught:
            keep = [c for c in design.columns if c.startswith("weekday_")]
            index = [0, *[1 + design.columns.index(c) for c in keep]]
            design = _Design(keep, design.origin, {c: design.fill[c] for c in keep})
            note = f"refitted on weekdays only after: {caught}"
            params, alpha = self._fit_glm(x[:, index], target)
        return _CountState(design, params, alpha, note)

    def _fit_glm(self, x: Array, y: Array) -> tuple[Array, float]:
        with warnings.catch_warnings():
            for category in FIT_WARNINGS:
                warnings.simplefilter("error", category)
            with np.errstate(over="raise", divide="ignore"):
                try:
                    poisson = sm.GLM(y, x, family=sm.families.Poisson()).fit()
                except FloatingPointError as error:
                    raise RuntimeWarning(str(error)) from error
                mu = np.asarray(poisson.mu)
                alpha = max(float(np.sum((y - mu) ** 2 - y) / np.sum(mu**2)), 0.0)
                if self.family == "poisson" or (self.family == "auto" and alpha <= self.min_alpha):
                    return np.asarray(poisson.params), 0.0
                alpha = max(alpha, self.min_alpha)
                family = sm.families.NegativeBinomial(alpha=alpha)
                result = sm.GLM(y, x, family=family).fit()
        return np.asarray(result.params), alpha

    def _predict_series(self, fitted: SeriesFit, days: pl.DataFrame) -> dict[str, Array]:
        state: _CountState = fitted.state
        mu = np.exp(self._future_matrix(fitted, days) @ state.params)
        out = {"y_hat": mu}
        for level in LEVELS:
            tail = (100 - level) / 200
            if state.alpha > 0:
                size = 1 / state.alpha
                dist: Any = stats.nbinom(size, size / (size + mu))
            else:
                dist = stats.poisson(mu)
            out[f"y_lo_{level}"] = np.asarray(dist.ppf(tail), dtype=np.float64)
            out[f"y_hi_{level}"] = np.asarray(dist.ppf(1 - tail), dtype=np.float64)
        return out

    @property
    def notes_(self) -> dict[Key, str]:
        return {key: fit.state.note for key, fit in self.fits_.items() if fit.state.note}


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
        names = _Columns(id_cols=self.id_cols, time_col=self.time_col, target_col=self.target_col)
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


def _normal(mean: Array, sd: Array) -> dict[str, Array]:
    out = {"y_hat": mean.astype(np.float64)}
    for level in LEVELS:
        z = float(stats.norm.ppf(0.5 + level / 200))
        out[f"y_lo_{level}"] = np.maximum(mean - z * sd, 0.0)
        out[f"y_hi_{level}"] = mean + z * sd
    return out


def _intervals(values: dict[str, Array]) -> dict[str, pl.Series]:
    return {c: pl.Series(c, values[c], dtype=pl.Float64) for c in OUTPUT_COLUMNS}


def _series_part(df: pl.DataFrame, id_cols: Sequence[str], key: Key) -> pl.DataFrame:
    if not id_cols:
        return df
    present = [c for c in id_cols if c in df.columns]
    condition = pl.lit(value=True)
    for c in present:
        condition = condition & (pl.col(c) == key[list(id_cols).index(c)])
    return df.filter(condition)
