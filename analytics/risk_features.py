"""Stockout-risk labels and features for each store x product x day, in polars.

The label `is_stockout_ahead` says whether the shelf runs empty (`is_stockout`) on any of the
`horizon_days` days after the date (the product's supplier lead time unless a fixed horizon is
given). It is null unless every day of that window is recorded: the last days of a series, and
days whose window holds a day missing from the feed, have no label (labelling such a window true
when a recorded day is a stockout would keep only the positives there and bias the rate). A null
label is never guessed; models train and are scored on labelled rows only.

Features use what is known at the end of the date: its sales and stock and the ones before it,
plus what is planned in advance - promotions (national, or in the store's region) and public
holidays in the coming `horizon_days`, and replenishment orders placed by then and not yet
delivered. Windows count days on the series completed to one row per day (a missing day is a
null value, skipped by the means); the output keeps the days present in the sales frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import polars as pl

from analytics import holidays
from analytics.features import ID_COLS, TARGET_COL, TIME_COL, complete_series

LABEL_COL: Final = "is_stockout_ahead"
HORIZON_COL: Final = "horizon_days"
NUMERIC_FEATURES: Final = (
    "stock_end",
    "days_of_cover",
    "cover_ratio",
    "cover_with_orders_ratio",
    "units_sold_mean_7",
    "units_sold_mean_28",
    "velocity_trend",
    "volatility_28",
    "stockout_share_56",
    "is_promo_today",
    "promo_days_ahead",
    "is_promo_starting",
    "holiday_days_ahead",
    "on_order_units",
    "lead_time_days",
    "pack_size",
    "size_sqm",
)
CATEGORICAL_FEATURES: Final = ("category", "format", "region")
FEATURES: Final = (*NUMERIC_FEATURES, *CATEGORICAL_FEATURES)
MAX_COVER_DAYS: Final = 365.0
_WINDOW_SUMS: Final = ("_stockout", "_observed", "_promo_day", "_promo_start", "_holiday")


def days_of_cover(
    *,
    stock_col: str = "stock_end",
    rate_col: str = "units_sold_mean_28",
    min_rate: float = 0.1,
    max_days: float = MAX_COVER_DAYS,
) -> pl.Expr:
    """`days_of_cover`: stock on hand over the recent daily sales rate, the rate floored at
    `min_rate` units a day (so no sales gives a long cover, not a division by zero) and the
    result capped at `max_days`. Null when the stock or the rate is."""
    rate = pl.col(rate_col).clip(lower_bound=min_rate)
    cover = (pl.col(stock_col).cast(pl.Float64) / rate).clip(upper_bound=max_days)
    return cover.alias("days_of_cover")


def safe_ratio(numerator: pl.Expr, denominator: pl.Expr, *, default: float) -> pl.Expr:
    """numerator / denominator, or `default` where the denominator is zero or null."""
    return (
        pl.when(denominator > 0)
        .then(numerator.cast(pl.Float64) / denominator)
        .otherwise(pl.lit(default))
    )


def add_horizon(
    lf: pl.LazyFrame, *, horizon: int | None = None, lead_time_col: str = "lead_time_days"
) -> pl.LazyFrame:
    """`horizon_days`: `horizon` when given, else the row's `lead_time_col` (at least 1)."""
    if horizon is not None:
        if horizon < 1:
            raise ValueError(f"the horizon must be at least one day, not {horizon}")
        value = pl.lit(horizon, dtype=pl.Int32)
    else:
        value = pl.col(lead_time_col).cast(pl.Int32).clip(lower_bound=1)
    return lf.with_columns(value.alias(HORIZON_COL))


def add_window_sums(
    grid: pl.LazyFrame,
    columns: Sequence[str],
    *,
    id_cols: Sequence[str] = ID_COLS,
    time_col: str = TIME_COL,
) -> pl.LazyFrame:
    """For each of `columns` (0/1 or counts on a grid of one row per series and day, with
    `horizon_days`), `<column>_ahead`: its sum over the `horizon_days` days after the row's
    date. Null when the series' grid has no row `horizon_days` later."""
    ids = list(id_cols)
    running = grid.with_columns(
        pl.col(c).fill_null(0).cum_sum().over(ids, order_by=time_col).alias(f"{c}_cum")
        for c in columns
    )
    later = running.select(
        *ids,
        pl.col(time_col).alias("_later"),
        *[pl.col(f"{c}_cum").alias(f"{c}_later") for c in columns],
    )
    end = pl.col(time_col) + pl.duration(days=pl.col(HORIZON_COL))
    joined = running.with_columns(end.alias("_later")).join(
        later, on=[*ids, "_later"], how="left", maintain_order="left"
    )
    return joined.with_columns(
        (pl.col(f"{c}_later") - pl.col(f"{c}_cum")).alias(f"{c}_ahead") for c in columns
    ).drop("_later", *[f"{c}_cum" for c in columns], *[f"{c}_later" for c in columns])


def stockout_label() -> pl.Expr:
    """`is_stockout_ahead` from the window sums of `_stockout` and `_observed`: null unless
    every day of the window is recorded, then whether any of them is a stockout."""
    full = pl.col("_observed_ahead") == pl.col(HORIZON_COL)
    return pl.when(full).then(pl.col("_stockout_ahead") > 0).otherwise(None).alias(LABEL_COL)


def known_promotion_days(
    promotions: pl.DataFrame, stores: pl.DataFrame, *, time_col: str = TIME_COL
) -> pl.LazyFrame:
    """One row per store, product and day a planned promotion runs there (`_promo_day` = 1) and
    `_promo_start` = 1 on the first day of one; a promotion with a null region is national."""
    days = promotions.lazy().select(
        "product_id",
        "region",
        pl.col("start_date"),
        pl.date_ranges("start_date", "end_date").alias(time_col),
    )
    days = days.explode(time_col).with_columns(
        (pl.col(time_col) == pl.col("start_date")).cast(pl.Int32).alias("_promo_start")
    )
    store_regions = stores.lazy().select("store_id", "region")
    national = (
        days.filter(pl.col("region").is_null())
        .drop("region")
        .join(store_regions.select("store_id"), how="cross")
    )
    regional = days.filter(pl.col("region").is_not_null()).join(store_regions, on="region")
    both = pl.concat([national, regional.drop("region")], how="diagonal")
    return both.group_by("store_id", "product_id", time_col).agg(
        pl.lit(1, dtype=pl.Int32).alias("_promo_day"), pl.col("_promo_start").max()
    )


def open_order_units(
    grid: pl.LazyFrame,
    replenishments: pl.DataFrame,
    *,
    id_cols: Sequence[str] = ID_COLS,
    time_col: str = TIME_COL,
) -> pl.LazyFrame:
    """`grid` (one row per series and day, with `horizon_days`) with `on_order_units`: units of
    the orders placed by the date, not delivered by it and expected within `horizon_days`
    (overdue ones included). An order counts from max(order date, expected date - horizon)
    to the day before its delivery (for good, if it has not arrived)."""
    ids = list(id_cols)
    horizons = grid.select(*ids, HORIZON_COL).unique()
    orders = replenishments.lazy().join(horizons, on=ids, how="inner")
    start = pl.max_horizontal(
        pl.col("order_date"), pl.col("expected_date") - pl.duration(days=pl.col(HORIZON_COL))
    )
    orders = orders.with_columns(start.alias("_start")).filter(
        pl.col("delivered_date").is_null() | (pl.col("_start") < pl.col("delivered_date"))
    )
    units = pl.col("ordered_units").cast(pl.Int64)
    opened = orders.select(*ids, pl.col("_start").alias(time_col), units.alias("_delta"))
    closed = orders.filter(pl.col("delivered_date").is_not_null()).select(
        *ids, pl.col("delivered_date").alias(time_col), (-units).alias("_delta")
    )
    days = grid.select(*ids, time_col, pl.lit(0, dtype=pl.Int64).alias("_delta"))
    balance = (
        pl.concat([days, opened, closed])
        .group_by(*ids, time_col)
        .agg(pl.col("_delta").sum())
        .with_columns(
            pl.col("_delta").cum_sum().over(ids, order_by=time_col).alias("on_order_units")
        )
        .select(*ids, time_col, "on_order_units")
    )
    return grid.join(balance, on=[*ids, time_col], how="left", maintain_order="left")


def build_risk_frame(
    sales: pl.DataFrame,
    products: pl.DataFrame,
    stores: pl.DataFrame,
    replenishments: pl.DataFrame,
    promotions: pl.DataFrame,
    calendar: pl.DataFrame,
    *,
    horizon: int | None = None,
    id_cols: Sequence[str] = ID_COLS,
    time_col: str = TIME_COL,
    target_col: str = TARGET_COL,
) -> pl.DataFrame:
    """One row per store x product x day of `sales` (`daily_sales`): ids, `time_col`,
    `horizon_days`, the `FEATURES` and the label `is_stockout_ahead` (see the module
    docstring), sorted by ids and time. `products`, `stores`, `replenishments`, `promotions` and
    `calendar` are the tables of those names; `horizon` fixes the label window (default: each
    product's `lead_time_days`)."""
    ids = list(id_cols)
    observed = sales.lazy().select(
        *ids,
        time_col,
        target_col,
        "stock_end",
        "is_stockout",
        "is_promo",
        pl.lit(value=True).alias("_is_recorded"),
    )
    grid = complete_series(observed, id_cols=ids, time_col=time_col)
    product_facts = products.lazy().select("product_id", "lead_time_days", "pack_size", "category")
    store_facts = stores.lazy().select("store_id", "format", "region", "size_sqm")
    grid = add_horizon(
        grid.join(product_facts, on="product_id", how="left", maintain_order="left"),
        horizon=horizon,
    )
    grid = _extend(grid, ids, time_col)
    promotion_days = known_promotion_days(promotions, stores, time_col=time_col)
    grid = (
        grid.join(promotion_days, on=[*ids, time_col], how="left", maintain_order="left")
        .join(
            _holiday_days(calendar, grid, time_col=time_col),
            on=time_col,
            how="left",
            maintain_order="left",
        )
        .with_columns(
            pl.col("is_stockout").cast(pl.Int32).alias("_stockout"),
            pl.col("is_stockout").is_not_null().cast(pl.Int32).alias("_observed"),
        )
    )
    grid = add_window_sums(grid, _WINDOW_SUMS, id_cols=ids, time_col=time_col)
    grid = open_order_units(grid, replenishments, id_cols=ids, time_col=time_col)
    units = pl.col(target_col).cast(pl.Float64)
    mean_7 = units.rolling_mean(7, min_samples=4).over(ids, order_by=time_col)
    mean_28 = units.rolling_mean(28, min_samples=14).over(ids, order_by=time_col)
    std_28 = units.rolling_std(28, min_samples=14).over(ids, order_by=time_col)
    share = pl.col("_stockout").cast(pl.Float64).rolling_mean(56, min_samples=28)
    rate = pl.col("units_sold_mean_28").clip(lower_bound=0.1)
    with_orders = (pl.col("stock_end") + pl.col("on_order_units")) / rate
    features = (
        grid.with_columns(
            mean_7.alias("units_sold_mean_7"),
            mean_28.alias("units_sold_mean_28"),
            std_28.alias("_std_28"),
            share.over(ids, order_by=time_col).alias("stockout_share_56"),
        )
        .with_columns(
            days_of_cover(),
            safe_ratio(
                pl.col("units_sold_mean_7"), pl.col("units_sold_mean_28"), default=1.0
            ).alias("velocity_trend"),
            safe_ratio(pl.col("_std_28"), pl.col("units_sold_mean_28"), default=0.0).alias(
                "volatility_28"
            ),
            with_orders.clip(upper_bound=MAX_COVER_DAYS).alias("_cover_with_orders"),
            pl.col("is_promo").cast(pl.Int32).alias("is_promo_today"),
            pl.col("_promo_day_ahead").alias("promo_days_ahead"),
            (pl.col("_promo_start_ahead") > 0).cast(pl.Int32).alias("is_promo_starting"),
            pl.col("_holiday_ahead").alias("holiday_days_ahead"),
            stockout_label(),
        )
        .with_columns(
            (pl.col("days_of_cover") / pl.col(HORIZON_COL)).alias("cover_ratio"),
            (pl.col("_cover_with_orders") / pl.col(HORIZON_COL)).alias("cover_with_orders_ratio"),
        )
    )
    return (
        features.filter(pl.col("_is_recorded").fill_null(value=False))
        .join(store_facts, on="store_id", how="left", maintain_order="left")
        .select(*ids, time_col, HORIZON_COL, *FEATURES, LABEL_COL)
        .sort([*ids, time_col])
        .collect()
    )


def _holiday_days(calendar: pl.DataFrame, grid: pl.LazyFrame, *, time_col: str) -> pl.LazyFrame:
    """`_holiday` (0/1) for every day from the grid's first date to its last plus the longest
    horizon: the calendar's `is_public_holiday`, and the French rules past its end."""
    bounds = grid.select(
        pl.col(time_col).min().alias("first"),
        (pl.col(time_col).max() + pl.duration(days=pl.col(HORIZON_COL).max())).alias("last"),
    ).collect()
    first, last = bounds.row(0)
    days = pl.date_range(first, last, "1d", eager=True).alias(time_col)
    rules = holidays.holiday_flags(days).get_column("is_public_holiday")
    known = days.to_frame().join(
        calendar.select(time_col, "is_public_holiday"),
        on=time_col,
        how="left",
        maintain_order="left",
    )
    flag = known.get_column("is_public_holiday").fill_null(rules)
    return pl.DataFrame({time_col: days, "_holiday": flag.cast(pl.Int32)}).lazy()


def _extend(grid: pl.LazyFrame, ids: list[str], time_col: str) -> pl.LazyFrame:
    """The grid with `horizon_days` more days after each series' last date (nulls in the sales
    and stock columns), so the window sums of planned events reach past the data's end."""
    facts = ["lead_time_days", "pack_size", "category", HORIZON_COL]
    tails = (
        grid.group_by(ids)
        .agg(pl.col(time_col).max().alias("_last"), *[pl.col(c).first() for c in facts])
        .with_columns(
            pl.date_ranges(
                pl.col("_last") + pl.duration(days=1),
                pl.col("_last") + pl.duration(days=pl.col(HORIZON_COL)),
            ).alias(time_col)
        )
        .explode(time_col)
        .drop("_last")
    )
    return pl.concat([grid, tails], how="diagonal_relaxed")
