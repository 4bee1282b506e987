"""One function per chart input: each reads one view with bound `$name` parameters.

A filter left at None means "all": the SQL says `($region is null or region = $region)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import duckdb
import polars as pl

STORES_VIEW: Final = "stores"
DAILY_STORE_SALES_VIEW: Final = "daily_store_sales"
DAILY_CATEGORY_SALES_VIEW: Final = "daily_category_sales"
WEEKLY_CATEGORY_SALES_VIEW: Final = "weekly_category_sales"
STOCK_POSITION_VIEW: Final = "stock_position_latest"
REQUIRED_VIEWS: Final = (
    STORES_VIEW,
    DAILY_STORE_SALES_VIEW,
    DAILY_CATEGORY_SALES_VIEW,
    WEEKLY_CATEGORY_SALES_VIEW,
    STOCK_POSITION_VIEW,
)

KPI_PERIOD_DAYS: Final = 28
TOP_AT_RISK_LIMIT: Final = 15
WEEKS_SHOWN: Final = 52
TOP_CATEGORIES: Final = 7
OTHER_CATEGORIES: Final = "Other categories"

_FILTERS: Final = (
    "($region is null or region = $region) and ($store_id is null or store_id = $store_id)"
)
Params = Mapping[str, str | int | None]


def fetch(cur: duckdb.DuckDBPyConnection, sql: str, params: Params | None = None) -> pl.DataFrame:
    """Run one statement with its bound `$name` parameters; the result as a polars frame."""
    df: pl.DataFrame = cur.sql(sql, params=params).pl()
    return df


def load_regions(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Regions that have stores, sorted: `region`."""
    sql = f"select distinct region from {STORES_VIEW} where region is not null order by region"
    return fetch(cur, sql)


def load_stores(cur: duckdb.DuckDBPyConnection, *, region: str | None) -> pl.DataFrame:
    """Stores, optionally of one region, sorted by name: `store_id`, `store_name`, `region`."""
    sql = f"""
        select store_id, store_name, region
        from {STORES_VIEW}
        where $region is null or region = $region
        order by store_name, store_id
    """
    return fetch(cur, sql, {"region": region})


def load_period_kpis(
    cur: duckdb.DuckDBPyConnection,
    *,
    region: str | None,
    store_id: int | None,
    days: int = KPI_PERIOD_DAYS,
) -> pl.DataFrame:
    """One row comparing the last `days` days of data with the `days` before them.

    Columns: `period_start`, `period_end`, `revenue`, `revenue_previous`, `units_sold`,
    `units_sold_previous`, `stockout_rate`, `stockout_rate_previous` (NULL when a period
    has no rows). The period ends at the last date in the view, whatever the filters.
    """
    sql = f"""
        with bounds as (
            select max(date) as last_date from {DAILY_STORE_SALES_VIEW}
        ),
        sales as (
            select
                sales.date > bounds.last_date - $days::integer as is_current,
                sales.units_sold,
                sales.revenue,
                sales.series_count,
                sales.stockout_count,
            from {DAILY_STORE_SALES_VIEW} as sales
            cross join bounds
            where sales.date > bounds.last_date - 2 * $days::integer
                and {_FILTERS}
        )
        select
            any_value(bounds.last_date - $days::integer + 1) as period_start,
            any_value(bounds.last_date) as period_end,
            sum(revenue) filter (where is_current)::double as revenue,
            sum(revenue) filter (where not is_current)::double as revenue_previous,
            sum(units_sold) filter (where is_current)::bigint as units_sold,
            sum(units_sold) filter (where not is_current)::bigint as units_sold_previous,
            (sum(stockout_count) filter (where is_current)
                / nullif(sum(series_count) filter (where is_current), 0))::double
                as stockout_rate,
            (sum(stockout_count) filter (where not is_current)
                / nullif(sum(series_count) filter (where not is_current), 0))::double
                as stockout_rate_previous,
        from bounds
        left join sales on true
    """
    params = {"region": region, "store_id": store_id, "days": days}
    return fetch(cur, sql, params)


def load_at_risk_count(
    cur: duckdb.DuckDBPyConnection, *, region: str | None, store_id: int | None
) -> pl.DataFrame:
    """One row: `at_risk_count` of `position_count` store x product pairs, `as_of_date`."""
    sql = f"""
        select
            count(*) filter (where is_at_risk)::bigint as at_risk_count,
            count(*)::bigint as position_count,
            max(as_of_date) as as_of_date,
        from {STOCK_POSITION_VIEW}
        where {_FILTERS}
    """
    return fetch(cur, sql, {"region": region, "store_id": store_id})


def load_weekly_category_revenue(
    cur: duckdb.DuckDBPyConnection,
    *,
    region: str | None,
    store_id: int | None,
    weeks: int = WEEKS_SHOWN,
    top_categories: int = TOP_CATEGORIES,
) -> pl.DataFrame:
    """Revenue per category over the last `weeks` complete weeks (Monday to Sunday):
    `week_start`, `category`, `is_other`, `revenue`, biggest category first within a week.

    The `top_categories` biggest categories over those weeks keep their name; the rest are
    summed as "Other categories" (`is_other`). Partial weeks are left out so that they do not
    read as a drop.
    """
    sql = f"""
        with sales as (
            select week_start, category, revenue, day_count,
            from {WEEKLY_CATEGORY_SALES_VIEW}
            where {_FILTERS}
        ),
        shown_weeks as (
            select week_start
            from sales
            group by week_start
            having max(day_count) = 7
            order by week_start desc
            limit $weeks
        ),
        shown_sales as (
            select * from sales semi join shown_weeks using (week_start)
        ),
        ranked as (
            select
                category,
                row_number() over (order by sum(revenue) desc, category) as category_rank,
                count(*) over () as category_count,
            from shown_sales
            group by category
        ),
        labelled as (
            select
                shown_sales.week_start,
                shown_sales.revenue,
                ranked.category_rank > $top_categories
                    and ranked.category_count > $top_categories + 1 as is_other,
                case when is_other then '{OTHER_CATEGORIES}' else shown_sales.category end
                    as category,
                case when is_other then $top_categories + 1 else ranked.category_rank end
                    as category_rank,
            from shown_sales
            inner join ranked using (category)
        )
        select week_start, category, is_other, sum(revenue)::double as revenue,
        from labelled
        group by week_start, category, is_other, category_rank
        order by week_start, category_rank
    """
    params = {
        "region": region,
        "store_id": store_id,
        "weeks": weeks,
        "top_categories": top_categories,
    }
    return fetch(cur, sql, params)


def load_weekly_stockout_rate(
    cur: duckdb.DuckDBPyConnection,
    *,
    region: str | None,
    store_id: int | None,
    weeks: int = WEEKS_SHOWN,
) -> pl.DataFrame:
    """Share of store x product days out of stock over the last `weeks` complete weeks:
    `week_start`, `stockout_rate` (0 to 1), `stockout_count`, `series_count`."""
    sql = f"""
        with sales as (
            select
                date,
                date_trunc('week', date)::date as week_start,
                series_count,
                stockout_count,
            from {DAILY_STORE_SALES_VIEW}
            where {_FILTERS}
        ),
        weekly as (
            select
                week_start,
                (sum(stockout_count) / nullif(sum(series_count), 0))::double as stockout_rate,
                sum(stockout_count)::bigint as stockout_count,
                sum(series_count)::bigint as series_count,
            from sales
            group by week_start
            having count(distinct date) = 7
            order by week_start desc
            limit $weeks
        )
        select * from weekly order by week_start
    """
    return fetch(cur, sql, {"region": region, "store_id": store_id, "weeks": weeks})


def load_top_at_risk(
    cur: duckdb.DuckDBPyConnection,
    *,
    region: str | None,
    store_id: int | None,
    limit: int = TOP_AT_RISK_LIMIT,
) -> pl.DataFrame:
    """The at-risk store x product pairs with the fewest days of cover, then the most revenue."""
    sql = f"""
        select
            store_name,
            product_name,
            category,
            stock_on_hand,
            on_order_units,
            avg_daily_units_28d,
            days_of_cover,
            coalesce(next_delivery_date - as_of_date, lead_time_days)::integer
                as days_to_delivery,
            revenue_28d,
        from {STOCK_POSITION_VIEW}
        where is_at_risk and {_FILTERS}
        order by days_of_cover asc nulls last, revenue_28d desc, store_id, product_id
        limit $limit
    """
    params = {"region": region, "store_id": store_id, "limit": limit}
    return fetch(cur, sql, params)
