"""Regression forecasters: OLS on log1p units (LinearModel) and a Poisson / negative-binomial GLM
for slow movers (CountModel), over the calendar, price and promotion features."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import statsmodels.api as sm
from scipy import stats

from analytics import features
from analytics.features import ID_COLS, TARGET_COL, TIME_COL
from analytics.forecasters import (
    FIT_WARNINGS,
    LEVELS,
    Array,
    Forecaster,
    Key,
    SeriesFit,
)


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
