"""Queries of the Sales & stock page and its filter bar; one fact view per chart input.

Which view a chart reads depends on the filters, so that only one product in one store reads
`daily_sales` day by day: a product in every store (or a region) reads `daily_product_sales`,
any other selection `daily_subcategory_sales`. The SQL only sums each day of both windows (kept
flat: DuckDB plans a chain of CTEs in several milliseconds); `periods` cuts the days into
periods. The breakdown (drill-down) loaders are in `breakdown`; both modules' names are
importable from here too.
"""

from __future__ import annotations

from typing import Final

import duckdb
import polars as pl

from dashboard.queries import Params, fetch
from dashboard.queries.breakdown import BREAKDOWN_LIMIT as BREAKDOWN_LIMIT
from dashboard.queries.breakdown import CATEGORY_SALES_VIEW as CATEGORY_SALES_VIEW
from dashboard.queries.breakdown import BreakdownLevel as BreakdownLevel
from dashboard.queries.breakdown import breakdown_level as breakdown_level
from dashboard.queries.breakdown import load_breakdown as load_breakdown
from dashboard.queries.breakdown import load_category_breakdown as load_category_breakdown
from dashboard.queries.breakdown import load_product_breakdown as load_product_breakdown
from dashboard.queries.breakdown import load_region_breakdown as load_region_breakdown
from dashboard.queries.breakdown import load_store_breakdown as load_store_breakdown
from dashboard.queries.breakdown import (
    load_store_product_breakdown as load_store_product_breakdown,
)
from dashboard.queries.periods import COMPARISON as COMPARISON
from dashboard.queries.periods import CURRENT as CURRENT
from dashboard.queries.periods import DEFAULT_WINDOW_MONTHS as DEFAULT_WINDOW_MONTHS
from dashboard.queries.periods import LAST_YEAR_DAYS as LAST_YEAR_DAYS
from dashboard.queries.periods import WEEK_DAYS as WEEK_DAYS
from dashboard.queries.periods import Comparison as Comparison
from dashboard.queries.periods import Days as Days
from dashboard.queries.periods import Grain as Grain
from dashboard.queries.periods import Measure as Measure
from dashboard.queries.periods import Selection as Selection
from dashboard.queries.periods import add_months as add_months
from dashboard.queries.periods import build_selection as build_selection
from dashboard.queries.periods import build_trend_table as build_trend_table
from dashboard.queries.periods import comparison_shift as comparison_shift
from dashboard.queries.periods import default_window as default_window
from dashboard.queries.periods import summarise_periods as summarise_periods
from dashboard.queries.periods import summarise_totals as summarise_totals

DAILY_SALES_VIEW: Final = "daily_sales"
PRODUCT_SALES_VIEW: Final = "daily_product_sales"
SUBCATEGORY_SALES_VIEW: Final = "daily_subcategory_sales"
STORE_SALES_VIEW: Final = "daily_store_sales"
PRODUCTS_VIEW: Final = "products"
STORES_VIEW: Final = "stores"
PROMOTIONS_VIEW: Final = "promotions"
CALENDAR_VIEW: Final = "calendar"
REQUIRED_VIEWS: Final = (PRODUCT_SALES_VIEW, SUBCATEGORY_SALES_VIEW)


def load_date_bounds(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """One row: `first_date`, `last_date` of the sales data (NULL when there is none)."""
    sql = f"select min(date) as first_date, max(date) as last_date from {STORE_SALES_VIEW}"
    return fetch(cur, sql)


def load_categories(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every `category`, `subcategory` pair that has products, sorted."""
    sql = f"""
        select distinct category, subcategory
        from {PRODUCTS_VIEW}
        where category is not null and subcategory is not null
        order by category, subcategory
    """
    return fetch(cur, sql)


def load_products(
    cur: duckdb.DuckDBPyConnection, *, category: str | None, subcategory: str | None
) -> pl.DataFrame:
    """Products of a category and subcategory (None = all), sorted by name:
    `product_id`, `product_name`, `category`, `subcategory`."""
    sql = f"""
        select product_id, product_name, category, subcategory
        from {PRODUCTS_VIEW}
        where ($category is null or category = $category)
            and ($subcategory is null or subcategory = $subcategory)
        order by product_name, product_id
    """
    return fetch(cur, sql, {"category": category, "subcategory": subcategory})


# Both windows' days (and nothing between them), summed per day. `{columns}` sums the view's
# columns, `{where}` filters it: constants of the loaders below.
_DAILY_SQL: Final = """
    select
        date,
        {columns}
    from {view}
    where date between $first_date::date and $last_date::date
        and (
            date between $start::date and $end::date
            or date between $comparison_start::date and $comparison_end::date
        )
        and {where}
    group by date
"""
_SUMMED_COLUMNS: Final = """
    sum(units_sold)::bigint as units_sold,
    sum(revenue)::double as revenue,
    sum(stock_units)::bigint as stock_units,
    sum(series_count)::bigint as series_count,
    sum(stockout_count)::bigint as stockout_count,
    sum(promo_count)::bigint as promo_count,
"""
_SERIES_SQL: Final = f"""
    select
        date,
        units_sold::bigint as units_sold,
        revenue::double as revenue,
        stock_end::bigint as stock_units,
        1::bigint as series_count,
        is_stockout::bigint as stockout_count,
        is_promo::bigint as promo_count,
    from {DAILY_SALES_VIEW}
    where store_id = $store_id
        and product_id = $product_id
        and date between $first_date::date and $last_date::date
        and (
            date between $start::date and $end::date
            or date between $comparison_start::date and $comparison_end::date
        )
"""
_GROUP_FILTERS: Final = """
    ($region is null or region = $region)
    and ($store_id is null or store_id = $store_id)
    and ($category is null or category = $category)
    and ($subcategory is null or subcategory = $subcategory)
"""
_PRODUCT_FILTERS: Final = "product_id = $product_id and ($region is null or region = $region)"


def load_trend(cur: duckdb.DuckDBPyConnection, selection: Selection) -> pl.DataFrame:
    """Per series and period (see `summarise_periods`), from the view the filters call for."""
    if selection.is_single_series:
        daily = load_series_days(cur, selection)
    elif selection.product_id is not None:
        daily = load_product_days(cur, selection)
    else:
        daily = load_group_days(cur, selection)
    return summarise_periods(daily, selection)


def load_series_days(cur: duckdb.DuckDBPyConnection, selection: Selection) -> Days:
    """One product in one store, from `daily_sales` (already one row a day): the columns of
    `summarise_periods`' input."""
    return fetch_days(cur, _SERIES_SQL, selection.params("store_id", "product_id"))


def load_product_days(cur: duckdb.DuckDBPyConnection, selection: Selection) -> Days:
    """One product in every store or a region's stores, from `daily_product_sales`."""
    sql = _DAILY_SQL.format(
        view=PRODUCT_SALES_VIEW, columns=_SUMMED_COLUMNS, where=_PRODUCT_FILTERS
    )
    return fetch_days(cur, sql, selection.params("product_id", "region"))


def load_group_days(cur: duckdb.DuckDBPyConnection, selection: Selection) -> Days:
    """Every product of the filters, from `daily_subcategory_sales`."""
    sql = _DAILY_SQL.format(
        view=SUBCATEGORY_SALES_VIEW, columns=_SUMMED_COLUMNS, where=_GROUP_FILTERS
    )
    return fetch_days(cur, sql, selection.params("region", "store_id", "category", "subcategory"))


def fetch_days(cur: duckdb.DuckDBPyConnection, sql: str, params: Params) -> Days:
    """The days as numpy columns (`execute` + `fetchnumpy`, which reads the whole result): for
    a few hundred rows ~1.5 ms less than `sql(...).pl()`, and `summarise_periods` works in
    numpy. DATE columns come as datetime64[us]; `summarise_periods` takes them to days."""
    days: Days = cur.execute(sql, params).fetchnumpy()
    return days


def load_promotions(
    cur: duckdb.DuckDBPyConnection, selection: Selection, *, region: str | None
) -> pl.DataFrame:
    """Promotions of the selected product overlapping the window, national or of `region`
    (the selected store's or the selected region; None = every region): `promo_id`,
    `start_date`, `end_date`, `discount_pct` (0 to 1), `promo_type`, `region` (NULL =
    national)."""
    if selection.product_id is None:
        raise ValueError("load_promotions needs a selected product")
    return filter_promotions(
        load_product_promotions(cur, product_id=selection.product_id), selection, region=region
    )


def load_product_promotions(cur: duckdb.DuckDBPyConnection, *, product_id: int) -> pl.DataFrame:
    """Every promotion of one product, in every region and at any date, sorted by start date:
    the columns of `load_promotions`. Small and fixed for a file: the page memoizes it."""
    sql = f"""
        select promo_id, start_date, end_date, discount_pct, promo_type, region,
        from {PROMOTIONS_VIEW}
        where product_id = $product_id
        order by start_date, promo_id
    """
    return fetch(cur, sql, {"product_id": product_id})


def filter_promotions(
    promotions: pl.DataFrame, selection: Selection, *, region: str | None
) -> pl.DataFrame:
    """The promotions that overlap the selection's window, national or of `region` (None =
    every region)."""
    overlaps = (pl.col("start_date") <= selection.end) & (pl.col("end_date") >= selection.start)
    if region is not None:
        overlaps &= pl.col("region").is_null() | (pl.col("region") == region)
    return promotions.filter(overlaps)


def load_names(cur: duckdb.DuckDBPyConnection, selection: Selection) -> pl.DataFrame:
    """One row: the selected store's `store_name` and `store_region`, the selected product's
    `product_name` (NULL when none is selected)."""
    sql = f"""
        select
            (select store_name from {STORES_VIEW} where store_id = $store_id) as store_name,
            (select region from {STORES_VIEW} where store_id = $store_id) as store_region,
            (select product_name from {PRODUCTS_VIEW} where product_id = $product_id)
                as product_name
    """
    return fetch(cur, sql, {"store_id": selection.store_id, "product_id": selection.product_id})


def load_all_holidays(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every public holiday of the calendar: `date`, `holiday_name`, `is_store_closed`."""
    sql = f"""
        select date, holiday_name, is_store_closed
        from {CALENDAR_VIEW}
        where is_public_holiday
        order by date
    """
    return fetch(cur, sql)


def load_holidays(cur: duckdb.DuckDBPyConnection, selection: Selection) -> pl.DataFrame:
    """Public holidays in the window: `date`, `holiday_name`, `is_store_closed`."""
    sql = f"""
        select date, holiday_name, is_store_closed
        from {CALENDAR_VIEW}
        where is_public_holiday and date between $start::date and $end::date
        order by date
    """
    params = {"start": selection.start.isoformat(), "end": selection.end.isoformat()}
    return fetch(cur, sql, params)
