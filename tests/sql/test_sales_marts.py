"""The Sales & stock marts: keys, dtypes, and every row equal to daily_sales summed by hand."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

MARTS = {
    "daily_subcategory_sales": ["date", "store_id", "subcategory"],
    "daily_product_sales": ["date", "region", "product_id"],
}
MEASURES = """
    sum(sales.units_sold)::bigint as units_sold,
    round(sum(sales.revenue), 6) as revenue,
    sum(sales.stock_end)::bigint as stock_units,
    count(*)::bigint as series_count,
    count(*) filter (where sales.is_stockout)::bigint as stockout_count,
    count(*) filter (where sales.is_promo)::bigint as promo_count,
"""
EXPECTED = {
    "daily_subcategory_sales": f"""
        select sales.date, sales.store_id, stores.region, products.category,
            products.subcategory, {MEASURES}
        from daily_sales as sales
        join stores using (store_id)
        join products using (product_id)
        group by all
    """,
    "daily_product_sales": f"""
        select sales.date, stores.region, sales.product_id, products.category,
            products.subcategory, {MEASURES}
        from daily_sales as sales
        join stores using (store_id)
        join products using (product_id)
        group by all
    """,
}


def _scalar(cur: duckdb.DuckDBPyConnection, sql: str) -> object:
    return cur.sql(sql).fetchall()[0][0]


@pytest.mark.parametrize(("mart", "key"), MARTS.items())
def test_mart_key_unique_and_not_null(
    cur: duckdb.DuckDBPyConnection, mart: str, key: list[str]
) -> None:
    columns = ", ".join(key)
    nulls = " or ".join(f"{column} is null" for column in key)
    assert _scalar(cur, f"select count(*) from {mart} where {nulls}") == 0
    duplicates = (
        f"select count(*) from (select {columns} from {mart} group by all having count(*) > 1)"
    )
    assert _scalar(cur, duplicates) == 0


@pytest.mark.parametrize("mart", MARTS)
def test_mart_rows_equal_daily_sales_summed(cur: duckdb.DuckDBPyConnection, mart: str) -> None:
    """Both ways: no mart row differs from the hand-made sum, no hand-made row is missing."""
    key = ", ".join(MARTS[mart])
    stored = f"""
        select {key}, region, category, subcategory, units_sold, round(revenue, 6),
            stock_units, series_count, stockout_count, promo_count
        from {mart}
    """
    expected = f"""
        select {key}, region, category, subcategory, units_sold, revenue,
            stock_units, series_count, stockout_count, promo_count
        from ({EXPECTED[mart]})
    """
    assert _scalar(cur, f"select count(*) from ({stored} except all {expected})") == 0
    assert _scalar(cur, f"select count(*) from ({expected} except all {stored})") == 0
    assert _scalar(cur, f"select count(*) from {mart}") == _scalar(
        cur, f"select count(*) from ({expected})"
    )


@pytest.mark.parametrize("mart", MARTS)
def test_mart_totals_equal_daily_sales(cur: duckdb.DuckDBPyConnection, mart: str) -> None:
    totals = """
        select sum(units_sold), round(sum(revenue), 2), sum({stock}), {count}, {stockouts}
        from {source}
    """
    detail = cur.sql(
        totals.format(
            stock="stock_end",
            count="count(*)",
            stockouts="count(*) filter (where is_stockout)",
            source="daily_sales",
        )
    ).fetchall()
    summed = cur.sql(
        totals.format(
            stock="stock_units",
            count="sum(series_count)",
            stockouts="sum(stockout_count)",
            source=mart,
        )
    ).fetchall()
    assert summed == detail


@pytest.mark.parametrize("mart", MARTS)
def test_mart_dtypes_are_cast(cur: duckdb.DuckDBPyConnection, mart: str) -> None:
    schema = cur.sql(f"select * from {mart} limit 1").pl().schema
    assert schema["date"] == pl.Date
    assert schema["revenue"] == pl.Float64
    for column in ("units_sold", "stock_units", "series_count", "stockout_count", "promo_count"):
        assert schema[column] == pl.Int64, column


@pytest.mark.parametrize("mart", MARTS)
def test_mart_counts_are_consistent(cur: duckdb.DuckDBPyConnection, mart: str) -> None:
    inconsistent = f"""
        select count(*) from {mart}
        where stockout_count > series_count or promo_count > series_count or series_count < 1
            or units_sold < 0 or stock_units < 0 or revenue < 0
    """
    assert _scalar(cur, inconsistent) == 0
