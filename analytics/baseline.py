"""The counterfactual baseline of a promotion: what a store would have sold of a product
without it.

It comes from one ordinary least squares regression per series (store x product), fitted with
statsmodels on log1p(units) over the days that are free of the product's own promotions and
their aftermath, open, and in stock (a stockout day only shows a lower bound of demand).
Regressors: trend, weekday, yearly Fourier terms, holidays and shopping events, the summer
school holidays (all from `calendar_features`), the log regular price, and the summed discount
of the other products of the subcategory on promotion in the same store that day (which is how
cannibalisation is measured).

Why log-linear OLS: every effect in retail demand is multiplicative, so logs make it additive;
log1p keeps zero days; the fit is closed-form (0.45 ms a series, where a Poisson GLM takes
2 ms: 30 s more over the 14,400 series of the medium store). A log model predicts a median,
so the mean is recovered with Duan's smearing factor mean(exp(resid)). Regressors seen on
fewer than `min_feature_days` training days (an event the promotions hid) are left out rather
than extrapolated.

Intervals (95%): the baseline summed over a window is uncertain twice over, through the
parameters (delta method with the OLS covariance) and through what would have sold on those
days (the residual spread, inflated for the residuals' lag-1 autocorrelation). Both variances
are added (`SeriesBaseline.sum_windows`) and a normal interval is put around the sum.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import SingularMatrixWarning

Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class EffectSettings:
    """Hyper-parameters of the estimation (defaults suit daily retail data)."""

    fourier_order: int = 4  # yearly sine/cosine pairs
    dip_days: int = 7  # days after a promotion counted as its post-promotion dip
    pre_days: int = 14  # days before a promotion kept in the daily output (to see the fit)
    min_train_days: int = 120  # series with fewer clean days are not estimated
    # A regressor is left out of a series' fit unless this many training days move it off its
    # median (an event seen on a couple of days would be extrapolated wildly).
    min_feature_days: int = 10
    max_autocorrelation: float = 0.9


def easter_sunday(year: int) -> dt.date:
    """Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def calendar_features(
    calendar: pl.DataFrame,
    *,
    fourier_order: int = 4,
    date_col: str = "date",
    summer_holiday: str = "Été",
) -> pl.DataFrame:
    """One row per date: `date_col`, `is_store_closed` and the baseline's regressors (Float64).

    Reads `weekday` (1 = Monday), `day_of_year`, `is_public_holiday`, `is_store_closed` and
    `school_holiday_name`. Events: the run-ups to Christmas, New Year and Easter, and the week
    before the school year starts (the day after the summer holidays).
    """
    date = pl.col(date_col)
    years = calendar.get_column(date_col).dt.year().unique().sort().to_list()
    easter = pl.DataFrame(
        {"_year": years, "_easter": [easter_sunday(year) for year in years]},
        schema={"_year": pl.Int32, "_easter": pl.Date},
    )
    summer = (
        calendar.filter(pl.col("school_holiday_name") == summer_holiday)
        .group_by(date.dt.year().alias("_year"))
        .agg((date.max() + pl.duration(days=1)).alias("_school_start"))
    )
    days_to_easter = (pl.col("_easter") - date).dt.total_days()
    days_to_school = (pl.col("_school_start") - date).dt.total_days() - 3
    angle = 2 * math.pi * pl.col("day_of_year") / 365.25
    fourier = [
        expr
        for k in range(1, fourier_order + 1)
        for expr in ((k * angle).sin().alias(f"sin_{k}"), (k * angle).cos().alias(f"cos_{k}"))
    ]
    in_december = date.dt.month() == 12
    frame = (
        calendar.sort(date_col)
        .with_columns(date.dt.year().cast(pl.Int32).alias("_year"))
        .join(easter, on="_year", how="left")
        .join(summer.with_columns(pl.col("_year").cast(pl.Int32)), on="_year", how="left")
        .select(
            date,
            pl.col("is_store_closed").fill_null(False),
            ((date - date.min()).dt.total_days() / 365.25).alias("trend_years"),
            *[(pl.col("weekday") == day).alias(f"weekday_{day}") for day in range(2, 8)],
            *fourier,
            (pl.col("is_public_holiday") & ~pl.col("is_store_closed")).alias("is_holiday_open"),
            pl.col("is_public_holiday").shift(-1).fill_null(False).alias("is_holiday_eve"),
            (pl.col("school_holiday_name") == summer_holiday)
            .fill_null(False)
            .alias("is_summer_holiday"),
            pl.when(in_december & (date.dt.day() <= 24))
            .then(((date.dt.day() - 1) / 23) ** 2)
            .otherwise(0.0)
            .alias("christmas_run_up"),
            pl.when(in_december & (date.dt.day() >= 26))
            .then((date.dt.day() - 25) / 6)
            .otherwise(0.0)
            .alias("new_year_run_up"),
            pl.when(days_to_easter.is_between(0, 13))
            .then(1 - days_to_easter / 14)
            .otherwise(0.0)
            .fill_null(0.0)
            .alias("easter_run_up"),
            *[
                (-((days_to_school / width) ** 2))
                .exp()
                .fill_null(0.0)
                .alias(f"school_start_{width}")
                for width in (6, 16)
            ],
        )
    )
    features = [c for c in frame.columns if c not in (date_col, "is_store_closed")]
    return frame.with_columns(pl.col(features).cast(pl.Float64))


def feature_columns(features: pl.DataFrame, date_col: str = "date") -> list[str]:
    """The regressor columns of a `calendar_features` frame, in order."""
    return [c for c in features.columns if c not in (date_col, "is_store_closed")]


@dataclass(frozen=True)
class SeriesBaseline:
    """A fitted baseline for one series. The design has all columns; dropped ones (constant
    over the training days) have a zero coefficient and zero variance."""

    params: Array  # per design column, in log1p space
    cov: Array  # parameter covariance
    smearing: float  # mean(exp(resid)): median -> mean in units
    noise_var: float  # var(exp(resid)): spread of a day's units around exp(prediction)
    inflation: float  # (1 + rho) / (1 - rho): variance of a sum of autocorrelated days
    train_days: int
    r_squared: float

    def predict(self, design: Array) -> tuple[Array, Array]:
        """Baseline units per row and their variance (parameters and the day's noise)."""
        scale = np.exp(design @ self.params)
        gradient = self.smearing * scale
        param_var = gradient**2 * ((design @ self.cov) * design).sum(axis=1)
        return gradient - 1.0, param_var + scale**2 * self.noise_var

    def sum_windows(
        self,
        design: Array,
        firsts: IntArray,
        lasts: IntArray,
        *,
        is_counted: BoolArray,
        weights: Array | None = None,
        offsets: Array | None = None,
        offset_column: int = -1,
    ) -> tuple[Array, Array]:
        """Sums of baseline units over day ranges [first, last] (inclusive) and their variances.

        Only days where `is_counted` are summed, each times its weight (the price for revenue;
        1 by default). `offsets` (one per range) is added to `offset_column` of the design
        within the range: a sibling's baseline without one promotion has that promotion's
        discount taken off the siblings' discount column.
        """
        shift = np.zeros(firsts.size) if offsets is None else offsets
        factor = np.exp(self.params[offset_column] * shift)
        days, starts, stops = _covered_days(firsts, lasts, design.shape[0])
        rows = design[days]
        weight = (is_counted * (1.0 if weights is None else weights))[days]
        level = weight * self.smearing * np.exp(rows @ self.params)
        sums = _sum_between(
            np.column_stack([level, level[:, None] * rows, level**2, weight]), starts, stops
        )
        total_level, total_weight = sums[:, 0], sums[:, -1]
        gradient = factor[:, None] * sums[:, 1:-2]
        gradient[:, offset_column] += factor * shift * total_level
        param_var = ((gradient @ self.cov) * gradient).sum(axis=1)
        noise_var = self.inflation * self.noise_var / self.smearing**2 * factor**2 * sums[:, -2]
        return factor * total_level - total_weight, param_var + noise_var


def range_sums(values: Array, firsts: IntArray, lasts: IntArray) -> Array:
    """Sums of `values` (days along the first axis) over day ranges [first, last], clipped to
    the days there are (an empty range sums to 0)."""
    days, starts, stops = _covered_days(firsts, lasts, values.shape[0])
    return _sum_between(values[days], starts, stops)


def _covered_days(
    firsts: IntArray, lasts: IntArray, n_days: int
) -> tuple[IntArray, IntArray, IntArray]:
    """The days inside any range, and each range as [start, stop) positions among them (sums
    then only touch the days that matter)."""
    first = np.clip(firsts, 0, n_days)
    stop = np.maximum(np.clip(lasts + 1, 0, n_days), first)
    marks = np.zeros(n_days + 1, dtype=np.int64)
    np.add.at(marks, first, 1)
    np.add.at(marks, stop, -1)
    days = np.flatnonzero(np.cumsum(marks[:-1]) > 0)
    return days, np.searchsorted(days, first), np.searchsorted(days, stop)


def _sum_between(values: Array, starts: IntArray, stops: IntArray) -> Array:
    cumulative = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(values, axis=0)])
    result: Array = cumulative[stops] - cumulative[starts]
    return result


def fit_series_baseline(
    units: Array, design: Array, is_train: BoolArray, settings: EffectSettings
) -> SeriesBaseline | None:
    """OLS of log1p(units) on the design over the training days; None with too few days.

    The first design column is the intercept; other columns that move on fewer than
    `min_feature_days` training days are left out of the fit (a zero coefficient).
    """
    train_days = int(is_train.sum())
    if train_days < settings.min_train_days:
        return None
    x_train = design[is_train]
    typical = np.median(x_train, axis=0)
    keep = (np.abs(x_train - typical) > 1e-9).sum(axis=0) >= settings.min_feature_days
    keep[0] = True
    with warnings.catch_warnings():
        # Collinear regressors (a price that only moves with the trend) leave the parameters
        # undetermined, but the minimum-norm pseudo-inverse solution predicts as well as any
        # within the span of the data, which is all a baseline needs.
        warnings.simplefilter("ignore", SingularMatrixWarning)
        result = sm.OLS(np.log1p(units[is_train]), x_train[:, keep]).fit()
    resid = np.asarray(result.resid)
    params = np.zeros(design.shape[1])
    params[keep] = result.params
    cov = np.zeros((design.shape[1], design.shape[1]))
    cov[np.ix_(keep, keep)] = result.normalized_cov_params * result.scale
    spread = np.exp(resid)
    dof = max(train_days - int(keep.sum()), 1)
    return SeriesBaseline(
        params=params,
        cov=cov,
        smearing=float(spread.mean()),
        noise_var=float(((spread - spread.mean()) ** 2).sum() / dof),
        inflation=_inflation(resid, is_train, settings.max_autocorrelation),
        train_days=train_days,
        r_squared=float(result.rsquared),
    )


def _inflation(resid: Array, is_train: BoolArray, max_rho: float) -> float:
    """Long-run variance factor from the lag-1 correlation of residuals on consecutive days."""
    full = np.full(is_train.shape, np.nan)
    full[is_train] = resid
    pairs = is_train[1:] & is_train[:-1]
    if pairs.sum() < 10:
        return 1.0
    rho = float((full[1:][pairs] * full[:-1][pairs]).sum() / (resid**2).sum())
    rho = min(max(rho, 0.0), max_rho)
    return (1 + rho) / (1 - rho)
