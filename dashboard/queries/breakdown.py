"""Breakdown (drill-down) queries of the Sales & stock page: the biggest members of the next
level down, in the window and in the comparison window.

Categories read `daily_category_sales` and products `daily_product_sales`, except the two
breakdowns that need store x product detail (the products of one store, the stores of one
product): they read `daily_sales` for that one store or product (it is stored ordered by store
and product).
"""

from __future__ import annotations

from typing import Final, Literal

import duckdb
import polars as pl

from dashboard.queries import fetch
from dashboard.queries.periods import Measure, Selection

DAILY_SALES_VIEW: Final = "daily_sales"
PRODUCT_SALES_VIEW: Final = "daily_product_sales"
CATEGORY_SALES_VIEW: Final = "daily_category_sales"
PRODUCTS_VIEW: Final = "products"
STORES_VIEW: Final = "stores"

BreakdownLevel = Literal["category", "product", "region", "store"]
BREAKDOWN_LIMIT: Final = 15


def breakdown_level(selection: Selection) -> BreakdownLevel:
    """The next level down: categories, a category's products, a product's regions, then the
    stores of a region (or of the selected store's region)."""
    if selection.product_id is None:
        if selection.category is None and selection.subcategory is None:
            return "category"
        return "product"
    if selection.region is None and selection.store_id is None:
        return "region"
    return "store"


# Totals per member over both windows, the biggest first. `{key}` and `{label}` are the
# member's key and name, `{source}` and `{where}` the rows: constants of the loaders below.
_BREAKDOWN_SQL: Final = """
    select
        {key} as member_key,
        any_value({label}) as member_label,
        sum(sales.units_sold) filter (where {is_current})::bigint as units_sold,
        sum(sales.revenue) filter (where {is_current})::double as revenue,
        sum(sales.stockout_count) filter (where {is_current})::bigint as stockout_count,
        sum(sales.series_count) filter (where {is_current})::bigint as series_count,
        sum(sales.units_sold) filter (where {is_comparison})::bigint as comparison_units_sold,
        sum(sales.revenue) filter (where {is_comparison})::double as comparison_revenue,
        count(*) over ()::bigint as member_count,
    {source}
    where sales.date between $first_date::date and $last_date::date
        and ({is_current} or {is_comparison})
        and {where}
    group by member_key
    having count(*) filter (where {is_current}) > 0
    order by
        case
            when $measure = 'units' then sum(sales.units_sold) filter (where {is_current})
            else sum(sales.revenue) filter (where {is_current})
        end desc,
        member_label,
        member_key
    limit $limit
"""
_IS_CURRENT: Final = "sales.date between $start::date and $end::date"
_IS_COMPARISON: Final = "sales.date between $comparison_start::date and $comparison_end::date"


def _breakdown_sql(*, key: str, label: str, source: str, where: str) -> str:
    return _BREAKDOWN_SQL.format(
        key=key,
        label=label,
        source=source,
        where=where,
        is_current=_IS_CURRENT,
        is_comparison=_IS_COMPARISON,
    )


def load_breakdown(
    cur: duckdb.DuckDBPyConnection,
    selection: Selection,
    *,
    measure: Measure = "revenue",
    limit: int = BREAKDOWN_LIMIT,
) -> pl.DataFrame:
    """The biggest members of the next level down (`breakdown_level`), biggest first:
    `member_key` (text: a category, a product id, a region, a store id), `member_label`,
    `units_sold`, `revenue`, `stockout_count`, `series_count` in the window,
    `comparison_units_sold`, `comparison_revenue` in the comparison window (NULL when the member
    sold nothing then) and `member_count` (how many members there are before the limit).

    The stores of a product ignore the store filter, so that another store is one click away."""
    level = breakdown_level(selection)
    if level == "category":
        return load_category_breakdown(cur, selection, measure=measure, limit=limit)
    if level == "region":
        return load_region_breakdown(cur, selection, measure=measure, limit=limit)
    if level == "store":
        return load_store_breakdown(cur, selection, measure=measure, limit=limit)
    if selection.store_id is not None:
        return load_store_product_breakdown(cur, selection, measure=measure, limit=limit)
    return load_product_breakdown(cur, selection, measure=measure, limit=limit)


def _breakdown_params(
    selection: Selection, measure: Measure, limit: int, *filters: str
) -> dict[str, str | int | None]:
    return {**selection.params(*filters), "measure": measure, "limit": limit}


def load_category_breakdown(
    cur: duckdb.DuckDBPyConnection, selection: Selection, *, measure: Measure, limit: int
) -> pl.DataFrame:
    """Categories of every store, a region or a store, from `daily_category_sales` (the level
    shows only while no category or subcategory is chosen)."""
    sql = _breakdown_sql(
        key="sales.category",
        label="sales.category",
        source=f"from {CATEGORY_SALES_VIEW} as sales",
        where="""
            ($region is null or sales.region = $region)
            and ($store_id is null or sales.store_id = $store_id)
        """,
    )
    filters = ("region", "store_id")
    return fetch(cur, sql, _breakdown_params(selection, measure, limit, *filters))


def load_product_breakdown(
    cur: duckdb.DuckDBPyConnection, selection: Selection, *, measure: Measure, limit: int
) -> pl.DataFrame:
    """Products of a category or subcategory in every store or a region, from
    `daily_product_sales` (names from `products`)."""
    sql = _breakdown_sql(
        key="sales.product_id::varchar",
        label="products.product_name",
        source=f"""
            from {PRODUCT_SALES_VIEW} as sales
            inner join {PRODUCTS_VIEW} as products on products.product_id = sales.product_id
        """,
        where="""
            ($region is null or sales.region = $region)
            and ($category is null or sales.category = $category)
            and ($subcategory is null or sales.subcategory = $subcategory)
        """,
    )
    filters = ("region", "category", "subcategory")
    return fetch(cur, sql, _breakdown_params(selection, measure, limit, *filters))


def load_store_product_breakdown(
    cur: duckdb.DuckDBPyConnection, selection: Selection, *, measure: Measure, limit: int
) -> pl.DataFrame:
    """Products of a category or subcategory in one store, from `daily_sales` (that store's
    rows only; names from `products`)."""
    sql = _breakdown_sql(
        key="sales.product_id::varchar",
        label="products.product_name",
        source=f"""
            from (
                select
                    date,
                    product_id,
                    units_sold,
                    revenue,
                    1 as series_count,
                    is_stockout::integer as stockout_count,
                from {DAILY_SALES_VIEW}
                where store_id = $store_id
            ) as sales
            inner join {PRODUCTS_VIEW} as products on products.product_id = sales.product_id
        """,
        where="""
            ($category is null or products.category = $category)
            and ($subcategory is null or products.subcategory = $subcategory)
        """,
    )
    filters = ("store_id", "category", "subcategory")
    return fetch(cur, sql, _breakdown_params(selection, measure, limit, *filters))


def load_region_breakdown(
    cur: duckdb.DuckDBPyConnection, selection: Selection, *, measure: Measure, limit: int
) -> pl.DataFrame:
    """Regions selling one product, from `daily_product_sales`."""
    sql = _breakdown_sql(
        key="sales.region",
        label="sales.region",
        source=f"from {PRODUCT_SALES_VIEW} as sales",
        where="sales.product_id = $product_id",
    )
    return fetch(cur, sql, _breakdown_params(selection, measure, limit, "product_id"))


def load_store_breakdown(
    cur: duckdb.DuckDBPyConnection, selection: Selection, *, measure: Measure, limit: int
) -> pl.DataFrame:
    """The stores of the selected region (or of the selected store's region) selling one
    product, from `daily_sales`: only those stores' rows (it is stored ordered by store)."""
    sql = _breakdown_sql(
        key="sales.store_id::varchar",
        label="stores.store_name",
        source=f"""
            from (
                select
                    date,
                    store_id,
                    units_sold,
                    revenue,
                    1 as series_count,
                    is_stockout::integer as stockout_count,
                from {DAILY_SALES_VIEW}
                where product_id = $product_id
                    and store_id in (
                        select store_id
                        from {STORES_VIEW}
                        where region = coalesce(
                            $region,
                            (select region from {STORES_VIEW} where store_id = $store_id)
                        )
                    )
            ) as sales
            inner join {STORES_VIEW} as stores on stores.store_id = sales.store_id
        """,
        where="true",
    )
    filters = ("product_id", "region", "store_id")
    return fetch(cur, sql, _breakdown_params(selection, measure, limit, *filters))
