"""Inputs of the seasonality page: the scope's options and its daily series, one view each.

A scope is a category, optionally narrowed to a region, a store and a product. Its daily series,
with the day's calendar, comes from the smallest view that holds it: `daily_category_activity`
for a category, `daily_product_activity` for a product over stores; for one product at one
store, the rows of `daily_series_activity` are read from `daily_sales` (stored by series) and
the calendar flags joined in polars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import duckdb
import numpy as np
import polars as pl

from dashboard.queries import fetch

PRODUCTS_VIEW: Final = "products"
CATEGORY_ACTIVITY_VIEW: Final = "daily_category_activity"
PRODUCT_ACTIVITY_VIEW: Final = "daily_product_activity"
SALES_VIEW: Final = "daily_sales"
CALENDAR_FLAGS_VIEW: Final = "daily_calendar_flags"
REQUIRED_VIEWS: Final = (
    PRODUCTS_VIEW,
    CATEGORY_ACTIVITY_VIEW,
    PRODUCT_ACTIVITY_VIEW,
    SALES_VIEW,
    CALENDAR_FLAGS_VIEW,
)

DAY_SCHEMA: Final = {
    "date": pl.Date,
    "units_sold": pl.Float64,
    "series_count": pl.Int64,
    "promo_count": pl.Int64,
    "stockout_count": pl.Int64,
    "is_store_closed": pl.Boolean,
    "holiday_name": pl.String,
    "eve_of": pl.String,
}
# The columns every daily series has: units and counts summed over the series in scope, and
# the day's calendar (the same on every row of a date).
_DAY_COLUMNS: Final = """
    date,
    sum(units_sold)::double as units_sold,
    sum(series_count)::bigint as series_count,
    sum(promo_count)::bigint as promo_count,
    sum(stockout_count)::bigint as stockout_count,
    bool_or(is_store_closed) as is_store_closed,
    any_value(holiday_name) as holiday_name,
    any_value(eve_of) as eve_of,
"""


@dataclass(frozen=True)
class Scope:
    """What the page looks at; None means all (regions, stores, products of the category)."""

    category: str
    region: str | None = None
    store_id: int | None = None
    product_id: int | None = None


def load_categories(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Categories that have products, sorted: `category`."""
    sql = f"select distinct category from {PRODUCTS_VIEW} order by category"
    return fetch(cur, sql)


def load_products(cur: duckdb.DuckDBPyConnection, *, category: str | None) -> pl.DataFrame:
    """The products of a category, sorted by name: `product_id`, `product_name`."""
    sql = f"""
        select product_id, product_name
        from {PRODUCTS_VIEW}
        where category = $category
        order by product_name, product_id
    """
    return fetch(cur, sql, {"category": category})


def load_category_days(
    cur: duckdb.DuckDBPyConnection, *, category: str, region: str | None, store_id: int | None
) -> pl.DataFrame:
    """The category's daily units over the stores in scope, by date: `date`, `units_sold`,
    `series_count`, `promo_count`, `stockout_count` (store x product series), and the
    calendar: `is_store_closed`, `holiday_name` (a public holiday), `eve_of` (the public
    holiday the next day)."""
    sql = f"""
        select {_DAY_COLUMNS}
        from {CATEGORY_ACTIVITY_VIEW}
        where category = $category
            and ($region is null or region = $region)
            and ($store_id is null or store_id = $store_id)
        group by date
        order by date
    """
    params = {"category": category, "region": region, "store_id": store_id}
    return fetch(cur, sql, params)


def load_product_days(
    cur: duckdb.DuckDBPyConnection, *, category: str, product_id: int, region: str | None
) -> pl.DataFrame:
    """One product's daily units over the stores of a region (all when None), in the columns
    of `load_category_days`. Empty when the product is not in `category`."""
    sql = f"""
        select {_DAY_COLUMNS}
        from {PRODUCT_ACTIVITY_VIEW}
        where product_id = $product_id
            and category = $category
            and ($region is null or region = $region)
        group by date
        order by date
    """
    params: dict[str, str | int | None] = {
        "category": category,
        "product_id": product_id,
        "region": region,
    }
    return fetch(cur, sql, params)


def load_series_days(
    cur: duckdb.DuckDBPyConnection,
    *,
    store_id: int,
    product_id: int,
    calendar: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One product at one store, in the columns of `load_category_days` (counts of 0 or 1):
    the rows of `daily_series_activity`, read from `daily_sales` (stored by series, so a plain
    filter reads 731 contiguous rows) with `calendar` (`load_calendar_flags`; read when None)
    joined here: the view's join and group-by cost more to plan than the read. Days missing
    from the data stay missing.

    Read with `execute` + `fetchnumpy` and joined in numpy (the calendar is sorted by date):
    on 731 rows, `.pl()` and a polars join, select and fill cost ~3 ms more than this."""
    sql = f"""
        select
            date,
            units_sold::double as units_sold,
            1::bigint as series_count,
            is_promo::bigint as promo_count,
            is_stockout::bigint as stockout_count,
        from {SALES_VIEW}
        where store_id = $store_id and product_id = $product_id
        order by date
    """
    sales = cur.execute(sql, {"store_id": store_id, "product_id": product_id}).fetchnumpy()
    flags = load_calendar_flags(cur) if calendar is None else calendar
    dates = np.ma.getdata(sales["date"]).astype("datetime64[D]")  # DATE comes as datetime64[us]
    calendar_dates = flags.get_column("date").to_numpy()
    found = np.searchsorted(calendar_dates, dates)
    inside = found < len(calendar_dates)
    found[~inside] = 0
    matched = inside & (calendar_dates[found] == dates) if len(calendar_dates) else inside

    def joined(name: str, missing: Any) -> np.ndarray[Any, Any]:
        values = flags.get_column(name).to_numpy()
        return np.where(matched, values[found], missing) if len(values) else values[:0]

    columns: dict[str, Any] = {
        "date": dates,
        **{name: sales[name] for name in ("units_sold", "series_count", "promo_count")},
        "stockout_count": sales["stockout_count"],
        "is_store_closed": joined("is_store_closed", False).astype(bool),
        "holiday_name": joined("holiday_name", None).tolist(),  # polars takes no object array
        "eve_of": joined("eve_of", None).tolist(),
    }
    return pl.DataFrame(
        {name: pl.Series(name, columns[name], dtype=dtype) for name, dtype in DAY_SCHEMA.items()}
    )


def load_calendar_flags(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every day's `date`, `is_store_closed`, `holiday_name` and `eve_of` (731 rows; fixed for
    a file, so the page memoizes it)."""
    sql = f"""
        select date, coalesce(is_store_closed, false) as is_store_closed, holiday_name, eve_of,
        from {CALENDAR_FLAGS_VIEW}
        order by date
    """
    return fetch(cur, sql)


def load_scope_days(
    cur: duckdb.DuckDBPyConnection, scope: Scope, *, calendar: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The scope's daily series from the view that holds it (see the module docstring);
    `calendar` as for `load_series_days`."""
    if scope.product_id is None:
        return load_category_days(
            cur, category=scope.category, region=scope.region, store_id=scope.store_id
        )
    if scope.store_id is None:
        return load_product_days(
            cur, category=scope.category, product_id=scope.product_id, region=scope.region
        )
    return load_series_days(
        cur, store_id=scope.store_id, product_id=scope.product_id, calendar=calendar
    )
