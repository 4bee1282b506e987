"""The seasonality marts: keys, dtypes, storage order, sums that match daily_sales, and the
calendar they carry."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

MARTS = {
    "daily_calendar_flags": ["date"],
    "daily_category_activity": ["date", "store_id", "category"],
    "daily_product_activity": ["date", "product_id", "region"],
}


def scalar(cur: duckdb.DuckDBPyConnection, sql: str) -> object:
    return cur.sql(sql).fetchall()[0][0]


@pytest.mark.parametrize(("view", "key"), MARTS.items())
def test_mart_key_unique_and_not_null(
    cur: duckdb.DuckDBPyConnection, view: str, key: list[str]
) -> None:
    columns = ", ".join(key)
    nulls = " or ".join(f"{column} is null" for column in key)
    assert scalar(cur, f"select count(*) from {view} where {nulls}") == 0
    duplicates = (
        f"select count(*) from (select {columns} from {view} group by all having count(*) > 1)"
    )
    assert scalar(cur, duplicates) == 0


@pytest.mark.parametrize("view", ["daily_category_activity", "daily_product_activity"])
def test_mart_counts_are_cast_and_consistent(cur: duckdb.DuckDBPyConnection, view: str) -> None:
    schema = cur.sql(f"select * from {view} limit 1").pl().schema
    for column in ("units_sold", "series_count", "promo_count", "stockout_count"):
        assert schema[column] == pl.Int64
    assert schema["date"] == pl.Date
    impossible = f"""
        select count(*) from {view}
        where series_count < 1 or promo_count > series_count or stockout_count > series_count
            or least(units_sold, promo_count, stockout_count) < 0
    """
    assert scalar(cur, impossible) == 0


def test_category_activity_adds_up_to_daily_sales(cur: duckdb.DuckDBPyConnection) -> None:
    expected = cur.sql(
        """
        select
            sales.date, sales.store_id, stores.region, products.category,
            sum(sales.units_sold)::bigint as units_sold,
            count(*)::bigint as series_count,
            count(*) filter (where sales.is_promo)::bigint as promo_count,
            count(*) filter (where sales.is_stockout)::bigint as stockout_count,
        from daily_sales as sales
        inner join stores using (store_id)
        inner join products using (product_id)
        group by all
        order by all
        """
    ).pl()
    mart = cur.sql("select * from daily_category_activity order by all").pl()
    assert mart.select(expected.columns).equals(expected)


def test_product_activity_adds_up_to_daily_sales(cur: duckdb.DuckDBPyConnection) -> None:
    expected = cur.sql(
        """
        select
            sales.date, sales.product_id, stores.region, products.category,
            sum(sales.units_sold)::bigint as units_sold,
            count(*)::bigint as series_count,
            count(*) filter (where sales.is_promo)::bigint as promo_count,
            count(*) filter (where sales.is_stockout)::bigint as stockout_count,
        from daily_sales as sales
        inner join stores using (store_id)
        inner join products using (product_id)
        group by all
        order by all
        """
    ).pl()
    mart = cur.sql("select * from daily_product_activity order by all").pl()
    assert mart.select(expected.columns).equals(expected)


@pytest.mark.parametrize(
    ("view", "order"),
    [
        ("daily_calendar_flags", "date"),
        ("daily_category_sales", "category, store_id, date"),
        ("daily_product_sales", "category, subcategory, product_id, region, date"),
    ],
)
def test_mart_is_stored_in_read_order(
    cur: duckdb.DuckDBPyConnection, view: str, order: str
) -> None:
    """Stored as a table in the order the page reads it, so one category or product is a
    contiguous range."""
    assert scalar(
        cur, f"select table_type from information_schema.tables where table_name = '{view}'"
    ) == ("BASE TABLE")
    stored = cur.sql(f"select {order} from {view}").pl()
    assert stored.equals(stored.sort(order.split(", ")))


CALENDAR = """
    select
        date,
        is_store_closed,
        case when is_public_holiday then holiday_name end as holiday_name,
        lead(case when is_public_holiday then holiday_name end) over (order by date) as eve_of,
    from calendar
"""


@pytest.mark.parametrize(
    "view",
    [
        "daily_calendar_flags",
        "daily_category_activity",
        "daily_product_activity",
        "daily_series_activity",
    ],
)
def test_activity_views_carry_the_days_calendar(cur: duckdb.DuckDBPyConnection, view: str) -> None:
    mismatched = f"""
        select count(*)
        from {view} as activity
        inner join ({CALENDAR}) as calendar using (date)
        where activity.is_store_closed != calendar.is_store_closed
            or activity.holiday_name is distinct from calendar.holiday_name
            or activity.eve_of is distinct from calendar.eve_of
    """
    assert scalar(cur, mismatched) == 0
    named = f"select count(distinct eve_of), count(distinct holiday_name) from {view}"
    assert cur.sql(named).fetchall()[0][0] > 5


def test_series_activity_is_daily_sales_one_row_each(cur: duckdb.DuckDBPyConnection) -> None:
    differing = """
        select count(*)
        from daily_sales as sales
        full join daily_series_activity as activity using (date, store_id, product_id)
        where activity.units_sold is distinct from sales.units_sold
            or activity.promo_count != sales.is_promo::bigint
            or activity.stockout_count != sales.is_stockout::bigint
            or activity.series_count != 1
    """
    assert scalar(cur, differing) == 0
