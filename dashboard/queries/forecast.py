"""Queries of the Forecast page: one series' daily history, and the names and lists that check
and label a series.

A series is one store x product (`store_id` and `product_id` both set: the rows of
`forecast_input` as they are; region, category and subcategory are then implied and not
applied) or an aggregate: the total of every store x product pair the filters match, summed per
day in SQL. An aggregate of one product (over a region's stores or every store) sums
`forecast_input`; one of a category, subcategory, store or region (no product) sums the
`daily_subcategory_sales` mart, so that a chain-wide total never scans `daily_sales` (on the
medium data, 10M rows: 30 ms instead of 400). An aggregate day is built as follows:

- `units_sold` summed; `stock_begin` and `received_units` summed for a product's aggregate
  (so "sold all the stock available", which the stockout correction also treats as censored,
  means every store sold out) and left out of a group's (the mart has no opening stock).
- `price`: the average price weighted by units sold (revenue / units); on a day nothing sold,
  the plain mean of the pairs' prices for a product, the last known price for a group.
- `discount_pct`: for a product, the plain mean over its stores (those not on promotion count
  as 0); left out of a group's (the mart has none).
- `is_promo`: at least `PROMO_SHARE` (half) of the pairs on promotion. For one product over
  several stores this is "the promotion ran"; for a category it marks broad promotions only
  (a single product on offer does not move a category total).
- `is_stockout`: at least `STOCKOUT_SHARE` (a quarter) of the pairs out of stock. The pipeline
  then treats the day's total as a lower bound on its demand and estimates what was lost. A
  lower threshold would mark nearly every day of a large aggregate (one of thousands of pairs
  is almost always out) and leave the correction no uncensored days to learn from; a higher
  one would miss days on which a material part of the total could not sell.
- `is_public_holiday`, `is_store_closed`: from the calendar (the same for every pair).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import duckdb
import polars as pl

from dashboard.queries import fetch

FORECAST_INPUT_VIEW: Final = "forecast_input"
SUBCATEGORY_SALES_VIEW: Final = "daily_subcategory_sales"
CALENDAR_VIEW: Final = "calendar"
STORES_VIEW: Final = "stores"
PRODUCTS_VIEW: Final = "products"
REQUIRED_VIEWS: Final = (
    FORECAST_INPUT_VIEW,
    SUBCATEGORY_SALES_VIEW,
    CALENDAR_VIEW,
    STORES_VIEW,
    PRODUCTS_VIEW,
)

PROMO_SHARE: Final = 0.5
STOCKOUT_SHARE: Final = 0.25
HISTORY_COLUMNS: Final = (
    "date",
    "units_sold",
    "price",
    "is_promo",
    "discount_pct",
    "is_stockout",
    "stock_begin",
    "received_units",
    "is_public_holiday",
    "is_store_closed",
)


@dataclass(frozen=True)
class Series:
    """Which series to forecast; None means "all" (see the module docstring)."""

    region: str | None = None
    store_id: int | None = None
    category: str | None = None
    subcategory: str | None = None
    product_id: int | None = None

    @property
    def is_single(self) -> bool:
        """One store x product pair, read as it is (no aggregation)."""
        return self.store_id is not None and self.product_id is not None


_SINGLE_SQL: Final = f"""
    select
        date,
        units_sold::bigint as units_sold,
        price::double as price,
        is_promo,
        discount_pct::double as discount_pct,
        is_stockout,
        stock_begin::bigint as stock_begin,
        received_units::bigint as received_units,
        is_public_holiday,
        is_store_closed,
    from {FORECAST_INPUT_VIEW}
    where store_id = $store_id and product_id = $product_id
    order by date
"""
# Kept flat (one select, no CTE chain): DuckDB plans it faster. The joins only filter.
_PRODUCT_SQL: Final = f"""
    select
        sales.date,
        sum(sales.units_sold)::bigint as units_sold,
        coalesce(
            sum(sales.price * sales.units_sold) / nullif(sum(sales.units_sold), 0),
            avg(sales.price)
        )::double as price,
        coalesce(avg(sales.is_promo::integer) >= {PROMO_SHARE}, false) as is_promo,
        avg(coalesce(sales.discount_pct, 0))::double as discount_pct,
        coalesce(avg(sales.is_stockout::integer) >= {STOCKOUT_SHARE}, false) as is_stockout,
        sum(sales.stock_begin)::bigint as stock_begin,
        sum(sales.received_units)::bigint as received_units,
        bool_or(sales.is_public_holiday) as is_public_holiday,
        bool_and(sales.is_store_closed) as is_store_closed,
    from {FORECAST_INPUT_VIEW} as sales
    inner join {STORES_VIEW} as stores on stores.store_id = sales.store_id
    inner join {PRODUCTS_VIEW} as products on products.product_id = sales.product_id
    where sales.product_id = $product_id
        and ($store_id is null or sales.store_id = $store_id)
        and ($region is null or stores.region = $region)
        and ($category is null or products.category = $category)
        and ($subcategory is null or products.subcategory = $subcategory)
    group by sales.date
    order by sales.date
"""
_GROUP_SQL: Final = f"""
    select
        sales.date,
        sum(sales.units_sold)::bigint as units_sold,
        (sum(sales.revenue) / nullif(sum(sales.units_sold), 0))::double as price,
        sum(sales.promo_count) >= {PROMO_SHARE} * sum(sales.series_count) as is_promo,
        sum(sales.stockout_count) >= {STOCKOUT_SHARE} * sum(sales.series_count) as is_stockout,
        any_value(calendar.is_public_holiday) as is_public_holiday,
        any_value(calendar.is_store_closed) as is_store_closed,
    from {SUBCATEGORY_SALES_VIEW} as sales
    left join {CALENDAR_VIEW} as calendar on calendar.date = sales.date
    where ($store_id is null or sales.store_id = $store_id)
        and ($region is null or sales.region = $region)
        and ($category is null or sales.category = $category)
        and ($subcategory is null or sales.subcategory = $subcategory)
    group by sales.date
    order by sales.date
"""
GROUP_COLUMNS: Final = tuple(
    column
    for column in HISTORY_COLUMNS
    if column not in ("discount_pct", "stock_begin", "received_units")
)


def load_history(cur: duckdb.DuckDBPyConnection, series: Series) -> pl.DataFrame:
    """The series' whole daily history, oldest first: `HISTORY_COLUMNS` (the exogenous columns
    `analytics.pipeline.forecast_series` reads) for a single series or a product's aggregate,
    `GROUP_COLUMNS` for a group's. Days without a row are absent."""
    if series.is_single:
        return fetch(
            cur, _SINGLE_SQL, {"store_id": series.store_id, "product_id": series.product_id}
        )
    params: dict[str, str | int | None] = {
        "store_id": series.store_id,
        "region": series.region,
        "category": series.category,
        "subcategory": series.subcategory,
    }
    if series.product_id is not None:
        return fetch(cur, _PRODUCT_SQL, {**params, "product_id": series.product_id})
    days = fetch(cur, _GROUP_SQL, params)
    return days.with_columns(
        pl.col("price").fill_null(strategy="forward").fill_null(strategy="backward")
    )


def load_names(
    cur: duckdb.DuckDBPyConnection, *, store_id: int | None, product_id: int | None
) -> pl.DataFrame:
    """One row: `store_name`, `store_region` and `product_name` (NULL when not chosen or when
    there is no such store or product)."""
    sql = f"""
        select
            (select store_name from {STORES_VIEW} where store_id = $store_id) as store_name,
            (select region from {STORES_VIEW} where store_id = $store_id) as store_region,
            (select product_name from {PRODUCTS_VIEW} where product_id = $product_id)
                as product_name
    """
    return fetch(cur, sql, {"store_id": store_id, "product_id": product_id})


def load_known_values(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every value a filter can take, long: `kind` (region, category or subcategory) and
    `value`, to tell an unknown one in a URL."""
    sql = f"""
        select distinct 'region' as kind, region as value
        from {STORES_VIEW} where region is not null
        union all
        select distinct 'category' as kind, category as value
        from {PRODUCTS_VIEW} where category is not null
        union all
        select distinct 'subcategory' as kind, subcategory as value
        from {PRODUCTS_VIEW} where subcategory is not null
    """
    return fetch(cur, sql)
