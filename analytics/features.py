"""Forecasting features of daily store x product series, as polars expressions.

Each expression function returns a `pl.Expr` (or a list of them) named for the column it makes:
`lag(7)` makes `units_sold_lag_7`. Per-series windows run `.over(id_cols, order_by=time_col)`,
so a frame with several series needs no sorting; they count rows, not days, so run them on a
frame completed to one row per day (`complete_series`), where a missing day is a null target.

Frame functions take and return LazyFrames: `complete_series` reindexes every series to a full
daily range, `future_frame` lays out the days to forecast with what is known of them (calendar,
planned prices and promotions; by default the last price and no promotion), and
`add_model_features` adds the regressors the linear and count models use.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Final

import polars as pl

from analytics import holidays

ID_COLS: Final = ("store_id", "product_id")
TIME_COL: Final = "date"
TARGET_COL: Final = "units_sold"
YEAR_DAYS: Final = 365.25
EPOCH: Final = dt.date(1970, 1, 1)
# Exogenous columns of a day and what a future day has when nothing says otherwise.
FUTURE_DEFAULTS: Final[dict[str, object]] = {
    "is_promo": False,
    "discount_pct": 0.0,
    "is_stockout": False,
    "is_public_holiday": False,
    "is_store_closed": False,
}


def lag(
    n: int,
    *,
    target_col: str = TARGET_COL,
    id_cols: Sequence[str] = ID_COLS,
    time_col: str = TIME_COL,
) -> pl.Expr:
    """The target `n` rows (days, on a completed frame) earlier in the same series."""
    return (
        pl.col(target_col)
        .shift(n)
        .over(_partition(id_cols), order_by=time_col)
        .alias(f"{target_col}_lag_{n}")
    )


def rolling_mean(
    window: int,
    *,
    offset: int = 1,
    min_samples: int | None = None,
    target_col: str = TARGET_COL,
    id_cols: Sequence[str] = ID_COLS,
    time_col: str = TIME_COL,
) -> pl.Expr:
    """Mean of the target over the `window` rows ending `offset` rows before (default: ending
    yesterday, so today's value never leaks in); nulls are skipped, and fewer than
    `min_samples` (default: half the window, rounded up) values give null."""
    needed = min_samples if min_samples is not None else (window + 1) // 2
    return (
        pl.col(target_col)
        .shift(offset)
        .rolling_mean(window, min_samples=needed)
        .over(_partition(id_cols), order_by=time_col)
        .alias(f"{target_col}_rolling_mean_{window}")
    )


def rolling_std(
    window: int,
    *,
    offset: int = 1,
    min_samples: int | None = None,
    target_col: str = TARGET_COL,
    id_cols: Sequence[str] = ID_COLS,
    time_col: str = TIME_COL,
) -> pl.Expr:
    """Sample standard deviation over the same window as `rolling_mean`."""
    needed = min_samples if min_samples is not None else max(2, (window + 1) // 2)
    return (
        pl.col(target_col)
        .cast(pl.Float64)
        .shift(offset)
        .rolling_std(window, min_samples=needed)
        .over(_partition(id_cols), order_by=time_col)
        .alias(f"{target_col}_rolling_std_{window}")
    )


def weekday_one_hot(*, time_col: str = TIME_COL, drop_first: bool = False) -> list[pl.Expr]:
    """`weekday_1` (Monday) to `weekday_7` as 0/1 Int8; `drop_first` leaves out Monday, the
    reference level of a regression with an intercept."""
    first = 2 if drop_first else 1
    weekday = pl.col(time_col).dt.weekday()
    return [(weekday == day).cast(pl.Int8).alias(f"weekday_{day}") for day in range(first, 8)]


def days_since_epoch(*, time_col: str = TIME_COL) -> pl.Expr:
    """Days since 1970-01-01, `days_since_epoch` (Int32)."""
    return pl.col(time_col).cast(pl.Int32).alias("days_since_epoch")


def fourier_terms(
    k: int, *, period: float = YEAR_DAYS, time_col: str = TIME_COL, prefix: str = "yearly"
) -> list[pl.Expr]:
    """`k` sine-cosine pairs of the given period in days: `yearly_sin_1`, `yearly_cos_1`, ...

    The angle runs on days since 1970-01-01, not on the day of the year, so the terms are
    continuous across New Year and leap days."""
    angle = 2 * math.pi * pl.col(time_col).cast(pl.Int32).cast(pl.Float64) / period
    return [
        expr
        for order in range(1, k + 1)
        for expr in (
            (order * angle).sin().alias(f"{prefix}_sin_{order}"),
            (order * angle).cos().alias(f"{prefix}_cos_{order}"),
        )
    ]


def holiday_flag(*, holiday_col: str = "is_public_holiday") -> pl.Expr:
    """`is_holiday`: 1 on a public holiday, else 0 (null counts as no holiday)."""
    return pl.col(holiday_col).fill_null(value=False).cast(pl.Int8).alias("is_holiday")


def holiday_eve_flag(
    *,
    holiday_col: str = "is_public_holiday",
    id_cols: Sequence[str] = ID_COLS,
    time_col: str = TIME_COL,
) -> pl.Expr:
    """`is_holiday_eve`: 1 when the next row (day) of the series is a public holiday. The last
    row has no next day and gets 0: build it on history and future days together."""
    return (
        pl.col(holiday_col)
        .shift(-1)
        .over(_partition(id_cols), order_by=time_col)
        .fill_null(value=False)
        .cast(pl.Int8)
        .alias("is_holiday_eve")
    )


def log_price(*, price_col: str = "price") -> pl.Expr:
    """`log_price`: natural log of the price (null for a missing or non-positive price)."""
    price = pl.col(price_col).cast(pl.Float64)
    return pl.when(price > 0).then(price.log()).otherwise(None).alias("log_price")


def promo_flag(*, promo_col: str = "is_promo") -> pl.Expr:
    """`promo_flag`: 1 on a promotion day, else 0 (null counts as no promotion)."""
    return pl.col(promo_col).fill_null(value=False).cast(pl.Int8).alias("promo_flag")


def promo_depth(*, promo_col: str = "is_promo", discount_col: str = "discount_pct") -> pl.Expr:
    """`promo_depth`: the discount as a fraction (0.2 for 20% off) on promotion days, else 0."""
    is_promo = pl.col(promo_col).fill_null(value=False)
    discount = pl.col(discount_col).cast(pl.Float64).fill_null(0.0)
    return pl.when(is_promo).then(discount).otherwise(0.0).alias("promo_depth")


def complete_series(
    lf: pl.LazyFrame,
    *,
    id_cols: Sequence[str] = ID_COLS,
    time_col: str = TIME_COL,
    every: int = 1,
) -> pl.LazyFrame:
    """One row per series and day (every `every` days: 7 for weekly data) from the series'
    first to its last date, sorted. Days that were missing get nulls in every other column (a
    missing target stays missing, never 0); rows off that grid are dropped. `id_cols` absent
    from the frame are ignored (a single series needs none)."""
    ids = [c for c in id_cols if c in lf.collect_schema().names()]
    spans = lf.group_by(ids or pl.lit(0).alias("_series")).agg(
        pl.date_ranges(pl.col(time_col).min(), pl.col(time_col).max(), f"{every}d").alias(time_col)
    )
    days = spans.explode(time_col).select(*ids, time_col)
    return days.join(lf, on=[*ids, time_col], how="left").sort([*ids, time_col])


def future_frame(
    history: pl.LazyFrame,
    h: int,
    *,
    calendar: pl.LazyFrame | None = None,
    prices: pl.LazyFrame | None = None,
    promotions: pl.LazyFrame | None = None,
    id_cols: Sequence[str] = ID_COLS,
    time_col: str = TIME_COL,
    price_col: str = "price",
    every: int = 1,
) -> pl.LazyFrame:
    """The `h` days (periods of `every` days: 7 for weekly data) after each series' last date
    with what is known of them.

    `calendar` (keyed by `time_col`), `prices` and `promotions` (keyed by `time_col` and any of
    `id_cols` they carry) are left-joined. Then, per day without a value: `price_col` is the
    series' last known price, `is_promo`/`is_stockout` are false, `discount_pct` is 0,
    `is_public_holiday` and `is_store_closed` follow the French rules of `analytics.holidays`
    (so a forecast past the data's calendar still knows Christmas), and `weekday` (1 = Monday)
    and `day_of_year` come from the date. Columns in this order: ids, `time_col`, `price_col`
    (if the history has it), the defaulted columns, `weekday`, `day_of_year`, then any other
    column of the joined frames.
    """
    if h < 1:
        raise ValueError(f"the horizon must be at least one day, not {h}")
    names = history.collect_schema().names()
    ids = [c for c in id_cols if c in names]
    group: list[pl.Expr] = [pl.col(c) for c in ids] or [pl.lit(0).alias("_series")]
    last = (
        history.sort(time_col)
        .group_by(group)
        .agg(
            pl.col(time_col).max().alias("_last"),
            *(
                [pl.col(price_col).drop_nulls().last().alias(price_col)]
                if price_col in names
                else []
            ),
        )
    )
    future = last.with_columns(
        pl.date_ranges(
            pl.col("_last") + pl.duration(days=every),
            pl.col("_last") + pl.duration(days=h * every),
            f"{every}d",
        ).alias(time_col)
    ).explode(time_col)
    if price_col in names:
        future = future.rename({price_col: "_last_price"})
    for known in (calendar, prices, promotions):
        if known is None:
            continue
        known_names = known.collect_schema().names()
        keys = [c for c in (*ids, time_col) if c in known_names]
        extra = [c for c in known_names if c not in keys and c not in (*ids, time_col)]
        future = future.join(known.select(*keys, *extra), on=keys, how="left")
    present = future.collect_schema().names()
    filled: list[pl.Expr] = []
    if price_col in names:
        known_price = pl.col(price_col) if price_col in present else pl.lit(None)
        filled.append(known_price.fill_null(pl.col("_last_price")).alias(price_col))
    future = _with_holiday_rules(future, time_col, every)
    for column, default in FUTURE_DEFAULTS.items():
        value = pl.col(column) if column in present else pl.lit(None)
        if column in _RULE_COLUMNS:
            value = value.fill_null(pl.col(_RULE_COLUMNS[column]))
        filled.append(value.fill_null(pl.lit(default)).alias(column))
    date = pl.col(time_col)
    for column, derived in (("weekday", date.dt.weekday()), ("day_of_year", date.dt.ordinal_day())):
        value = pl.col(column) if column in present else pl.lit(None)
        filled.append(value.fill_null(derived).cast(pl.Int16).alias(column))
    dropped = {"_last", "_last_price", "_series", *_RULE_COLUMNS.values()}
    future = future.with_columns(filled)
    keep = [c for c in future.collect_schema().names() if c not in dropped]
    standard = [price_col, *FUTURE_DEFAULTS, "weekday", "day_of_year"]
    first = [*ids, time_col, *[c for c in standard if c in keep]]
    return future.select(*first, *[c for c in keep if c not in first]).sort([*ids, time_col])


_RULE_COLUMNS: Final = {
    "is_public_holiday": "_rule_public_holiday",
    "is_store_closed": "_rule_store_closed",
}


def _with_holiday_rules(future: pl.LazyFrame, time_col: str, every: int) -> pl.LazyFrame:
    """`future` with the rules' holiday and closure flags of each date as `_rule_*` columns."""
    days = future.select(pl.col(time_col).unique()).collect().get_column(time_col)
    flags = holidays.holiday_flags(days, step=every).rename(
        {c: _RULE_COLUMNS[c] for c in _RULE_COLUMNS}
    )
    rules = pl.concat([days.to_frame(), flags], how="horizontal").lazy()
    return future.join(rules, on=time_col, how="left")


def add_model_features(
    lf: pl.LazyFrame,
    *,
    fourier_k: int = 3,
    id_cols: Sequence[str] = ID_COLS,
    time_col: str = TIME_COL,
    price_col: str = "price",
    promo_col: str = "is_promo",
    discount_col: str = "discount_pct",
    holiday_col: str = "is_public_holiday",
) -> pl.LazyFrame:
    """Add the regression features the columns allow: `days_since_epoch`, `weekday_2` to
    `weekday_7`, `fourier_k` yearly pairs, and, when their source column is present,
    `is_holiday` and `is_holiday_eve`, `log_price`, `promo_flag` and `promo_depth`."""
    names = lf.collect_schema().names()
    ids = [c for c in id_cols if c in names]
    exprs = [
        days_since_epoch(time_col=time_col),
        *weekday_one_hot(time_col=time_col, drop_first=True),
        *fourier_terms(fourier_k, time_col=time_col),
    ]
    if holiday_col in names:
        exprs.append(holiday_flag(holiday_col=holiday_col))
        exprs.append(holiday_eve_flag(holiday_col=holiday_col, id_cols=ids, time_col=time_col))
    if price_col in names:
        exprs.append(log_price(price_col=price_col))
    if promo_col in names:
        exprs.append(promo_flag(promo_col=promo_col))
        if discount_col in names:
            exprs.append(promo_depth(promo_col=promo_col, discount_col=discount_col))
    return lf.with_columns(exprs)


def _partition(id_cols: Sequence[str]) -> list[pl.Expr]:
    """The window partition of a series: its id columns, or one partition for a lone series."""
    return [pl.col(c) for c in id_cols] if id_cols else [pl.lit(0)]
