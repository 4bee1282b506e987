"""Purchase-propensity labels and features for each customer x category x cutoff date, in polars.

The label `is_buying_ahead` says whether the customer buys anything of the category on one of the
`horizon_days` days from the cutoff on (the cutoff day included). It is null when that window
runs past `data_end`, the last day of the basket feed, so the latest cutoffs can be scored
without being labelled.

Features use only the basket lines dated strictly before the cutoff: recency, frequency and
spend overall and of the category, the category's share of the customer's spend and baskets
(basket composition), how regularly the category is bought and how overdue it is, the share of
units bought on promotion (price sensitivity) overall and in the category, the customer's
promotion share over everyone's (promotion responsiveness), the tenure, and the profile
columns of `customers`. A row is made for every customer with at least one basket before the
cutoff and every category of `products`.

Basket lines need `customer_id`, `basket_id`, `purchase_date`, `product_id`, `quantity` and
`line_amount_eur`; a boolean `is_promo` (the store's promotion of the day, see
`add_promotion_flags`) is optional and taken as false when absent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final

import polars as pl

LABEL_COL: Final = "is_buying_ahead"
CUTOFF_COL: Final = "cutoff_date"
ID_COLS: Final = ("customer_id", "category")
NEVER_DAYS: Final = 730.0  # recency given to a category never bought (two years)
NUMERIC_FEATURES: Final = (
    "days_since_last_visit",
    "visits_30",
    "visits_90",
    "visits_365",
    "spend_90",
    "spend_365",
    "mean_basket_eur",
    "categories_bought_365",
    "promo_unit_share",
    "promo_responsiveness",
    "tenure_days",
    "history_days",
    "household_size",
    "category_days_since_last",
    "category_baskets_30",
    "category_baskets_90",
    "category_baskets_365",
    "category_spend_365",
    "category_spend_share",
    "category_basket_share",
    "category_mean_interval",
    "category_overdue_ratio",
    "category_promo_share",
    "is_preferred_category",
)
CATEGORICAL_FEATURES: Final = (
    "category",
    "age_band",
    "loyalty_tier",
    "price_sensitivity",
    "region",
)
FEATURES: Final = (*NUMERIC_FEATURES, *CATEGORICAL_FEATURES)
_NON_ID_FEATURES: Final = tuple(c for c in FEATURES if c not in ID_COLS)


def add_promotion_flags(baskets: pl.DataFrame, daily_sales: pl.DataFrame) -> pl.DataFrame:
    """`baskets` with `is_promo`: whether the store ran a promotion on the product that day
    (`daily_sales` keyed by store_id, product_id, date); false where the day is not recorded."""
    flags = daily_sales.select(
        "store_id", "product_id", pl.col("date").alias("purchase_date"), "is_promo"
    )
    return baskets.join(
        flags, on=["store_id", "product_id", "purchase_date"], how="left", maintain_order="left"
    ).with_columns(pl.col("is_promo").fill_null(value=False))


def monthly_cutoffs(
    first: dt.date, data_end: dt.date, *, horizon_days: int = 30, labelled: bool = True
) -> list[dt.date]:
    """First days of the months from `first`'s month on; with `labelled`, only those whose
    label window of `horizon_days` ends by `data_end`, else all up to `data_end`."""
    last = data_end - dt.timedelta(days=horizon_days - 1) if labelled else data_end
    start = dt.date(first.year, first.month, 1)
    if start < first:
        start = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return [
        d for d in pl.date_range(start, last, "1mo", eager=True).to_list() if isinstance(d, dt.date)
    ]


def days_before(col: str, cutoff: dt.date) -> pl.Expr:
    """Whole days from the date column `col` to `cutoff`."""
    return (pl.lit(cutoff) - pl.col(col)).dt.total_days().cast(pl.Float64)


def count_within(days: int, cutoff: dt.date, *, of: str = "basket_id") -> pl.Expr:
    """Distinct `of` values among the lines of the `days` days before `cutoff`."""
    recent = pl.col("purchase_date") >= pl.lit(cutoff - dt.timedelta(days=days))
    return pl.col(of).filter(recent).n_unique().cast(pl.Float64)


def sum_within(days: int, cutoff: dt.date, col: str = "line_amount_eur") -> pl.Expr:
    """The sum of `col` over the lines of the `days` days before `cutoff`."""
    recent = pl.col("purchase_date") >= pl.lit(cutoff - dt.timedelta(days=days))
    return pl.col(col).filter(recent).sum().cast(pl.Float64)


def promo_share() -> pl.Expr:
    """The share of units bought on promotion (null without units)."""
    units = pl.col("quantity").cast(pl.Float64)
    return units.filter(pl.col("is_promo")).sum() / units.sum()


def customer_summary(lines: pl.LazyFrame, cutoff: dt.date) -> pl.LazyFrame:
    """One row per customer of `lines` (all dated before `cutoff`): the overall features."""
    return lines.group_by("customer_id").agg(
        days_before("purchase_date", cutoff).min().alias("days_since_last_visit"),
        days_before("purchase_date", cutoff).max().alias("history_days"),
        count_within(30, cutoff).alias("visits_30"),
        count_within(90, cutoff).alias("visits_90"),
        count_within(365, cutoff).alias("visits_365"),
        sum_within(90, cutoff).alias("spend_90"),
        sum_within(365, cutoff).alias("spend_365"),
        count_within(365, cutoff, of="category").alias("categories_bought_365"),
        promo_share().alias("promo_unit_share"),
    )


def category_summary(lines: pl.LazyFrame, cutoff: dt.date) -> pl.LazyFrame:
    """One row per customer and category bought before `cutoff`: the category features."""
    days = pl.col("purchase_date").unique()
    interval = (days.max() - days.min()).dt.total_days() / (days.n_unique() - 1)
    return lines.group_by("customer_id", "category").agg(
        days_before("purchase_date", cutoff).min().alias("category_days_since_last"),
        count_within(30, cutoff).alias("category_baskets_30"),
        count_within(90, cutoff).alias("category_baskets_90"),
        count_within(365, cutoff).alias("category_baskets_365"),
        sum_within(365, cutoff).alias("category_spend_365"),
        pl.when(days.n_unique() > 1).then(interval).alias("category_mean_interval"),
        promo_share().alias("category_promo_share"),
    )


def customer_category_features(
    baskets: pl.DataFrame | pl.LazyFrame,
    products: pl.DataFrame,
    customers: pl.DataFrame,
    cutoff: dt.date,
) -> pl.LazyFrame:
    """The `FEATURES` of every customer with a basket before `cutoff` x every category, from
    the lines dated before it (see the module docstring), with `cutoff_date`."""
    lines = _lines(baskets, products).filter(pl.col("purchase_date") < pl.lit(cutoff))
    overall = customer_summary(lines, cutoff)
    population = lines.select(promo_share().alias("_population_promo_share"))
    categories = products.lazy().select(pl.col("category").unique())
    profile = customers.lazy().select(
        "customer_id",
        "age_band",
        "household_size",
        "loyalty_tier",
        "price_sensitivity",
        "region",
        "preferred_categories",
        days_before("signup_date", cutoff).clip(lower_bound=0).alias("tenure_days"),
    )
    visits = pl.col("visits_365").clip(lower_bound=1)
    interval = pl.col("category_mean_interval")
    grid = overall.join(categories, how="cross").join(
        category_summary(lines, cutoff), on=["customer_id", "category"], how="left"
    )
    preferred = pl.col("preferred_categories").list.contains(pl.col("category"))
    return (
        grid.join(population, how="cross")
        .join(profile, on="customer_id", how="left")
        .with_columns(
            pl.lit(cutoff).alias(CUTOFF_COL),
            (pl.col("spend_365") / visits).alias("mean_basket_eur"),
            pl.col("promo_unit_share").fill_null(0.0),
            (pl.col("promo_unit_share").fill_null(0.0) / pl.col("_population_promo_share"))
            .fill_nan(1.0)
            .fill_null(1.0)
            .alias("promo_responsiveness"),
            pl.col("category_days_since_last").fill_null(NEVER_DAYS),
            *[
                pl.col(f"category_{c}").fill_null(0.0)
                for c in ("baskets_30", "baskets_90", "baskets_365", "spend_365", "promo_share")
            ],
            (pl.col("category_spend_365").fill_null(0.0) / pl.col("spend_365"))
            .fill_nan(0.0)
            .fill_null(0.0)
            .alias("category_spend_share"),
            (pl.col("category_baskets_365").fill_null(0.0) / visits).alias("category_basket_share"),
            interval.fill_null(NEVER_DAYS),
            (pl.col("category_days_since_last").fill_null(NEVER_DAYS) / interval)
            .fill_null(0.0)
            .clip(upper_bound=50.0)
            .alias("category_overdue_ratio"),
            preferred.fill_null(value=False).cast(pl.Float64).alias("is_preferred_category"),
            pl.col("household_size").cast(pl.Float64),
            pl.col("tenure_days").fill_null(pl.col("history_days")),
        )
        .select(*ID_COLS, CUTOFF_COL, *_NON_ID_FEATURES)
    )


def purchase_labels(
    baskets: pl.DataFrame | pl.LazyFrame,
    products: pl.DataFrame,
    cutoffs: Sequence[dt.date],
    *,
    horizon_days: int = 30,
) -> pl.LazyFrame:
    """customer_id, category, `cutoff_date` for each category a customer bought within the
    `horizon_days` days from a cutoff on (the positives of `is_buying_ahead`)."""
    lines = _lines(baskets, products).select("customer_id", "category", "purchase_date")
    frames = [
        lines.filter(
            pl.col("purchase_date").is_between(
                pl.lit(c), pl.lit(c + dt.timedelta(days=horizon_days - 1))
            )
        )
        .select("customer_id", "category", pl.lit(c).alias(CUTOFF_COL))
        .unique()
        for c in cutoffs
    ]
    return pl.concat(frames)


def build_propensity_frame(
    baskets: pl.DataFrame,
    products: pl.DataFrame,
    customers: pl.DataFrame,
    cutoffs: Sequence[dt.date],
    *,
    horizon_days: int = 30,
    data_end: dt.date | None = None,
) -> pl.DataFrame:
    """One row per customer x category x cutoff (see the module docstring): ids,
    `cutoff_date`, `horizon_days`, the `FEATURES` and `is_buying_ahead` (null when the window
    runs past `data_end`, by default the last purchase date), sorted by cutoff and ids."""
    end = data_end or baskets.get_column("purchase_date").max()
    if not isinstance(end, dt.date):
        raise ValueError("the baskets hold no purchase date")
    features = pl.concat(
        [customer_category_features(baskets, products, customers, c) for c in cutoffs]
    )
    positives = purchase_labels(baskets, products, cutoffs, horizon_days=horizon_days)
    keys = ["customer_id", "category", CUTOFF_COL]
    is_labelled = pl.col(CUTOFF_COL) + pl.duration(days=horizon_days - 1) <= pl.lit(end)
    return (
        features.join(
            positives.with_columns(pl.lit(value=True).alias("_bought")), on=keys, how="left"
        )
        .with_columns(
            pl.lit(horizon_days, dtype=pl.Int32).alias("horizon_days"),
            pl.when(is_labelled)
            .then(pl.col("_bought").fill_null(value=False))
            .otherwise(None)
            .alias(LABEL_COL),
        )
        .select(*keys, "horizon_days", *_NON_ID_FEATURES, LABEL_COL)
        .sort(CUTOFF_COL, *ID_COLS)
        .collect()
    )


def _lines(baskets: pl.DataFrame | pl.LazyFrame, products: pl.DataFrame) -> pl.LazyFrame:
    """Basket lines with their product's category and `is_promo` (false when absent)."""
    lines = baskets.lazy()
    if "is_promo" not in lines.collect_schema().names():
        lines = lines.with_columns(pl.lit(value=False).alias("is_promo"))
    return lines.join(
        products.lazy().select("product_id", "category"), on="product_id", how="left"
    ).with_columns(pl.col("is_promo").fill_null(value=False))
