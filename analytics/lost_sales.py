"""Stockout-corrected demand: on a day the shelf ran empty, sales are a lower bound on demand.

Such a day is *censored* at its sales: demand D was at least the units sold s, and what the shelf
could not sell is lost. `estimate_unconstrained_demand` fits, per series, a negative-binomial
(or Poisson) log-linear model of demand on all days with a censored likelihood, and replaces the
sales of each censored day by the model's conditional expectation E[D | D >= s]. The lost units
are that estimate less the sales, and lost revenue is the lost units at the day's price.

Method (an EM algorithm; Dempster, Laird and Rubin, 1977):

- Regressors: intercept, weekdays, `fourier_k` yearly Fourier pairs (from a year of history; 8
  by default, as seasonal peaks are narrow and the ones a stockout cuts short are the peaks), a
  linear trend, store closures, log price, promotion flag and depth - those of a
  `table.SeriesTable` that vary on at least `min_feature_days` days.
- Start from a Poisson GLM on the sales of every day (censored ones at their lower bound).
- E step: with mu the fitted mean and r = 1 / alpha, on a censored day
  E[D | D >= s] = mu P(D1 >= s - 1) / P(D >= s) and
  E[D (D - 1) | D >= s] = mu^2 (r + 1) / r P(D2 >= s - 2) / P(D >= s),
  where D1 and D2 are negative binomials with r + 1 and r + 2 and the same p = r / (r + mu)
  (for the Poisson, both are Poisson(mu) and the factor (r + 1) / r is 1). These follow from
  k pmf(k; r) = mu pmf(k - 1; r + 1) and the like, so no sums over k are needed.
- M step: two IRLS steps (`glm.fit_log_glm`) of the GLM on the completed target (sales on
  uncensored days, E[D | D >= s] on censored ones), from the last coefficients: a generalised
  EM, each round still raises the expected likelihood, and a series takes a few milliseconds
  (a full statsmodels refit per round took about a second). With alpha fixed the
  log-likelihood is linear in y, so the completed target stands in for the expected
  complete-data likelihood exactly. alpha is then re-estimated by the moment equation
  sum(E[(D - mu)^2] - E[D]) = alpha sum(mu^2) over all days, using the conditional moments on
  censored days (uncensored days alone would understate the spread: the high draws are the
  ones the shelf cut off). alpha at or below `min_alpha` makes the model a Poisson.
- Stop when the fitted means change by less than `tol` (relative) or after `max_iter` rounds.

A day is censored when `is_stockout` is true or the sales equal the stock available
(stock_begin + received_units). A series with fewer than `min_uncensored_days` uncensored days
or no sales on them keeps its sales as the estimate (nothing to learn the demand from); so does a
series whose fit fails on a degenerate design after falling back to intercept and weekdays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import polars as pl
from scipy import special

from analytics.features import ID_COLS, TARGET_COL, TIME_COL
from analytics.forecasters import FIT_WARNINGS, cap_for
from analytics.glm import fit_log_glm
from analytics.table import SOURCE_COLUMNS, Array, BoolArray, SeriesTable, build_table

DEMAND_COL: Final = "demand_estimate"
CENSORED_COL: Final = "is_censored"
_POISSON_ALPHA: Final = 1e-8  # below this, NB and Poisson are the same in double precision


def censored_flag(
    *,
    target_col: str = TARGET_COL,
    stockout_col: str = "is_stockout",
    stock_begin_col: str = "stock_begin",
    received_col: str = "received_units",
) -> pl.Expr:
    """`is_censored`: the day's sales are a lower bound on its demand - a stockout day, or one
    where the sales took all the stock available. Null flags and stock count as not censored."""
    available = pl.col(stock_begin_col) + pl.col(received_col).fill_null(0)
    sold_out = (pl.col(target_col) >= available).fill_null(value=False)
    return (pl.col(stockout_col).fill_null(value=False) | sold_out).alias(CENSORED_COL)


def estimate_unconstrained_demand(
    df: pl.DataFrame,
    *,
    fourier_k: int = 8,
    trend: bool = True,
    min_alpha: float = 0.01,
    max_iter: int = 50,
    tol: float = 1e-4,
    min_feature_days: int = 2,
    min_uncensored_days: int = 28,
    id_cols: Sequence[str] = ID_COLS,
    time_col: str = TIME_COL,
    target_col: str = TARGET_COL,
    price_col: str = "price",
    stockout_col: str = "is_stockout",
    stock_begin_col: str = "stock_begin",
    received_col: str = "received_units",
) -> pl.DataFrame:
    """Per series and day: ids, `time_col`, `target_col`, `demand_estimate`, `lost_units`,
    `lost_revenue_eur` and `is_censored`, sorted by ids and time (see the module docstring for
    the method). Uncensored days have demand_estimate = sales and no lost units; a day with no
    sales recorded has null estimates. Needs `stockout_col`, or `stock_begin_col` (with
    `received_col` when present); `price_col` is used for log price and lost revenue."""
    names = df.columns
    ids = [c for c in id_cols if c in names]
    if stockout_col not in names and stock_begin_col not in names:
        raise ValueError(f"need {stockout_col!r} or {stock_begin_col!r} to tell stockout days")
    flag_inputs: list[pl.Expr] = []
    if stockout_col not in names:
        flag_inputs.append(pl.lit(value=False).alias(stockout_col))
    if stock_begin_col not in names:
        flag_inputs.append(pl.lit(None, dtype=pl.Int64).alias(stock_begin_col))
    if received_col not in names:
        flag_inputs.append(pl.lit(0).alias(received_col))
    frame = (
        df.with_columns(flag_inputs)
        .with_columns(
            censored_flag(
                target_col=target_col,
                stockout_col=stockout_col,
                stock_begin_col=stock_begin_col,
                received_col=received_col,
            )
        )
        .sort([*ids, time_col])
    )
    parts = frame.partition_by(ids, maintain_order=True) if ids else [frame]
    estimates = [
        _estimate_series(
            part,
            fourier_k=fourier_k,
            trend=trend,
            min_alpha=min_alpha,
            max_iter=max_iter,
            tol=tol,
            min_feature_days=min_feature_days,
            min_uncensored_days=min_uncensored_days,
            time_col=time_col,
            target_col=target_col,
            price_col=price_col,
        )
        for part in parts
    ]
    demand = pl.Series(DEMAND_COL, np.concatenate(estimates), dtype=pl.Float64).fill_nan(None)
    lost = (pl.col(DEMAND_COL) - pl.col(target_col)).clip(lower_bound=0.0)
    price = pl.col(price_col) if price_col in names else pl.lit(None, dtype=pl.Float64)
    return (
        frame.with_columns(demand)
        .with_columns(lost.alias("lost_units"))
        .with_columns((pl.col("lost_units") * price).alias("lost_revenue_eur"))
        .select(
            *ids,
            time_col,
            target_col,
            DEMAND_COL,
            "lost_units",
            "lost_revenue_eur",
            CENSORED_COL,
        )
    )


def correct_for_stockouts(
    df: pl.DataFrame,
    *,
    id_cols: Sequence[str] = ID_COLS,
    time_col: str = TIME_COL,
    target_col: str = TARGET_COL,
    **options: Any,
) -> pl.DataFrame:
    """`df` with `target_col` replaced by the unconstrained demand estimate (a float) on censored
    days, ready to fit a forecaster on demand rather than sales; the other columns are kept and an
    `is_censored` column is added. `options` go to `estimate_unconstrained_demand`."""
    ids = [c for c in id_cols if c in df.columns]
    estimate = estimate_unconstrained_demand(
        df, id_cols=ids, time_col=time_col, target_col=target_col, **options
    ).select(*ids, time_col, DEMAND_COL, CENSORED_COL)
    return (
        df.join(estimate, on=[*ids, time_col], how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col(CENSORED_COL))
            .then(pl.col(DEMAND_COL))
            .otherwise(pl.col(target_col).cast(pl.Float64))
            .alias(target_col)
        )
        .drop(DEMAND_COL)
    )


def censored_moments(s: Array, mu: Array, alpha: float) -> tuple[Array, Array]:
    """E[D | D >= s] and E[D (D - 1) | D >= s] for D negative binomial with mean `mu` and
    Var = mu + alpha mu^2 (Poisson when alpha is 0). Far in the tail, where P(D >= s)
    underflows, the first is s and the second s (s - 1)."""
    s = np.asarray(s, dtype=np.float64)
    mu = np.maximum(np.asarray(mu, dtype=np.float64), 1e-12)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        if alpha <= _POISSON_ALPHA:
            log_p0, log_p1, log_p2 = (_log_sf_poisson(s - d, mu) for d in (1, 2, 3))
            factor = 1.0
        else:
            r = 1.0 / alpha
            q = mu / (r + mu)  # 1 - p
            log_p0 = _log_sf_nbinom(s - 1, r, q)
            log_p1 = _log_sf_nbinom(s - 2, r + 1, q)
            log_p2 = _log_sf_nbinom(s - 3, r + 2, q)
            factor = (r + 1) / r
        first = mu * np.exp(log_p1 - log_p0)
        second = factor * mu**2 * np.exp(log_p2 - log_p0)
    is_defined = np.isfinite(log_p0) & np.isfinite(first) & np.isfinite(second)
    first = np.where(is_defined, np.maximum(first, s), s)
    second = np.where(is_defined, np.maximum(second, s * (s - 1)), s * (s - 1))
    return first.astype(np.float64), second.astype(np.float64)


def _log_sf_poisson(k: Array, mu: Array) -> Array:
    """log P(D > k) for D Poisson(mu): the regularized lower incomplete gamma P(k + 1, mu)."""
    kk = np.maximum(k, 0.0)
    return np.where(k < 0, 0.0, np.log(special.gammainc(kk + 1, mu)))


def _log_sf_nbinom(k: Array, r: float, q: Array) -> Array:
    """log P(D > k) for D negative binomial with size r and failure probability q = 1 - p:
    the regularized incomplete beta I_q(k + 1, r)."""
    kk = np.maximum(k, 0.0)
    return np.where(k < 0, 0.0, np.log(special.betainc(kk + 1, r, q)))


def _estimate_series(
    part: pl.DataFrame,
    *,
    time_col: str,
    target_col: str,
    price_col: str,
    **options: Any,
) -> Array:
    sources = [c for c in (price_col, *SOURCE_COLUMNS[1:]) if c in part.columns]
    frame = part.select(time_col, target_col, *sources).rename({price_col: "price"}, strict=False)
    table = build_table(frame, time_col=time_col, target_col=target_col)
    assert table.history_rows is not None
    days = part.get_column(time_col).cast(pl.Date).cast(pl.Int32).to_numpy().astype(np.int64)
    rows = (days - table.days[0]) // table.step
    is_censored = np.zeros(table.n_history, dtype=np.bool_)
    is_censored[rows] = part.get_column(CENSORED_COL).to_numpy().astype(bool)
    demand = estimate_demand(table, is_censored, **options)
    y = part.get_column(target_col).cast(pl.Float64).fill_null(np.nan).to_numpy()
    return np.where(np.isfinite(y), demand[rows], np.nan)


def estimate_demand(
    table: SeriesTable,
    is_censored: BoolArray,
    *,
    fourier_k: int = 8,
    trend: bool = True,
    min_alpha: float = 0.01,
    max_iter: int = 50,
    tol: float = 1e-4,
    min_feature_days: int = 2,
    min_uncensored_days: int = 28,
) -> Array:
    """The unconstrained demand of each history row of `table` (the method of
    `estimate_unconstrained_demand`): the target where `is_censored` (one flag per history
    row) is false, E[D | D >= sales] where it is true; NaN on missing rows."""
    y = table.y[: table.n_history].copy()
    is_observed = np.isfinite(y)
    is_censored = is_censored & is_observed
    is_clean = is_observed & ~is_censored
    if not is_censored.any() or is_clean.sum() < min_uncensored_days or y[is_clean].sum() <= 0:
        return y
    wanted = [f"weekday_{d}" for d in range(2, 8)]
    wanted += ["is_store_closed", "log_price", "promo_flag", "promo_depth"]
    wanted += ["trend"] if trend else []
    if table.span_days >= 365:
        wanted += [f"yearly_{kind}_{k}" for k in range(1, fourier_k + 1) for kind in ("sin", "cos")]
    # A regressor must vary on uncensored days: one seen only on censored days (a promotion
    # run entirely out of stock, say) has no likelihood to bound it, and the EM drove such an
    # effect, and the demand it implies, to infinity.
    columns = table.usable(
        wanted, table.n_history, min_feature_days=min_feature_days, rows=is_clean
    )
    x = table.matrix(columns, 0, table.n_history)
    weekday_columns = [0, *[1 + j for j, c in enumerate(columns) if c.startswith("weekday_")]]
    x_obs, y_obs, cens_obs = x[is_observed], y[is_observed], is_censored[is_observed]
    for index in (None, weekday_columns):
        design = x_obs if index is None else x_obs[:, index]
        try:
            completed = _fit_em(design, y_obs, cens_obs, min_alpha, max_iter, tol)
        except FIT_WARNINGS:
            continue
        # A safety net as in the forecasters: no day's demand above CAP_FACTOR times the
        # largest uncensored sale (plus one); a censored day keeps at least its sales.
        ceiling = np.maximum(cap_for(y[is_clean]), y_obs)
        y[is_observed] = np.minimum(completed, ceiling)
        return y
    return y


def _fit_em(
    x: Array, y: Array, is_censored: BoolArray, min_alpha: float, max_iter: int, tol: float
) -> Array:
    """The completed target: y on uncensored days, E[D | D >= y] on censored ones. A Poisson
    fit to start, then each round one E step and two IRLS steps from the last coefficients (a
    generalised EM: each round still raises the expected likelihood)."""
    s = y[is_censored]
    z = y.copy()
    alpha = 0.0
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        try:
            beta = fit_log_glm(x, z)
            mu = np.exp(x @ beta)
            for _ in range(max_iter):
                first, second = censored_moments(s, mu[is_censored], alpha)
                z = y.copy()
                z[is_censored] = first
                # moment equation over all days, with conditional moments where censored
                square = y * y
                square[is_censored] = second + first
                excess = square - 2 * mu * z + mu**2 - z
                alpha = max(float(np.sum(excess) / np.sum(mu**2)), 0.0)
                alpha = alpha if alpha > min_alpha else 0.0
                beta = fit_log_glm(x, z, alpha=alpha, start=beta, max_iter=2)
                new_mu = np.exp(x @ beta)
                change = float(np.max(np.abs(new_mu - mu) / np.maximum(mu, 1e-3)))
                mu = new_mu
                if change < tol:
                    break
        except FloatingPointError as error:
            raise RuntimeWarning(str(error)) from error
    first, _ = censored_moments(s, mu[is_censored], alpha)
    z = y.copy()
    z[is_censored] = first
    return z
