"""Mart and public views: keys unique and not null, arithmetic invariants, dtypes, defect counts."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from data.build import BuildSummary

KEYS = {
    "stores": ["store_id"],
    "products": ["product_id"],
    "customers": ["customer_id"],
    "calendar": ["date"],
    "promotions": ["promo_id"],
    "replenishments": ["order_id"],
    "baskets": ["basket_id", "product_id"],
    "daily_sales": ["date", "store_id", "product_id"],
    "true_demand": ["date", "store_id", "product_id"],
    "daily_store_sales": ["date", "store_id"],
    "daily_category_sales": ["date", "store_id", "category"],
    "weekly_category_sales": ["week_start", "store_id", "category"],
    "stock_position_latest": ["store_id", "product_id"],
    "data_quality": ["table_name", "check_name"],
}


def _scalar(cur: duckdb.DuckDBPyConnection, sql: str) -> object:
    return cur.sql(sql).fetchall()[0][0]


@pytest.mark.parametrize(("view", "key"), KEYS.items())
def test_view_key_unique_and_not_null(
    cur: duckdb.DuckDBPyConnection, view: str, key: list[str]
) -> None:
    columns = ", ".join(key)
    nulls = " or ".join(f"{c} is null" for c in key)
    assert _scalar(cur, f"select count(*) from {view} where {nulls}") == 0
    duplicates = (
        f"select count(*) from (select {columns} from {view} group by all having count(*) > 1)"
    )
    assert _scalar(cur, duplicates) == 0
    assert _scalar(cur, f"select count(*) from {view}") > 0


def test_daily_sales_revenue_is_units_times_price(cur: duckdb.DuckDBPyConnection) -> None:
    off = "select count(*) from daily_sales where abs(revenue - units_sold * price) > 0.005"
    assert _scalar(cur, off) == 0


def test_daily_sales_stock_balances(cur: duckdb.DuckDBPyConnection) -> None:
    sql = """
        select count(*) from daily_sales
        where stock_end != stock_begin + received_units - units_sold
            or units_sold > stock_begin + received_units
            or least(stock_begin, stock_end, received_units, units_sold) < 0
            or units_sold is null or price is null
            or is_stockout != (stock_end = 0)
    """
    assert _scalar(cur, sql) == 0


def test_daily_sales_dtypes(cur: duckdb.DuckDBPyConnection) -> None:
    schema = cur.sql("select * from daily_sales limit 1").pl().schema
    assert schema["date"] == pl.Date
    assert schema["units_sold"] == pl.Int32
    assert schema["price"] == pl.Float64
    assert schema["revenue"] == pl.Float64
    assert schema["is_promo"] == pl.Boolean
    assert schema["is_stockout"] == pl.Boolean


def test_marts_aggregates_are_cast(cur: duckdb.DuckDBPyConnection) -> None:
    schema = cur.sql("select * from daily_store_sales limit 1").pl().schema
    assert schema["units_sold"] == pl.Int64
    assert schema["revenue"] == pl.Float64
    assert schema["stockout_count"] == pl.Int64


def test_marts_add_up_to_daily_sales(cur: duckdb.DuckDBPyConnection) -> None:
    detail = cur.sql(
        "select sum(units_sold), round(sum(revenue), 2), count(*) filter (where is_stockout) "
        "from daily_sales"
    ).fetchall()
    stores = cur.sql(
        "select sum(units_sold), round(sum(revenue), 2), sum(stockout_count) from daily_store_sales"
    ).fetchall()
    categories = cur.sql(
        "select sum(units_sold), round(sum(revenue), 2), sum(stockout_count) "
        "from daily_category_sales"
    ).fetchall()
    weeks = cur.sql(
        "select sum(units_sold), round(sum(revenue), 2), sum(stockout_count) "
        "from weekly_category_sales"
    ).fetchall()
    assert detail == stores == categories == weeks


def test_stock_position_days_of_cover(cur: duckdb.DuckDBPyConnection) -> None:
    frame = cur.sql("select * from stock_position_latest").pl()
    as_of = _scalar(cur, "select max(date) from daily_sales")
    assert frame["as_of_date"].unique().to_list() == [as_of]
    sold = frame.filter(pl.col("avg_daily_units_28d") > 0)
    expected = sold["stock_on_hand"] / sold["avg_daily_units_28d"]
    assert ((sold["days_of_cover"] - expected).abs() < 1e-9).all()
    assert (
        frame.filter(pl.col("avg_daily_units_28d") == 0)["days_of_cover"].null_count()
        == frame.filter(pl.col("avg_daily_units_28d") == 0).height
    )
    days_to_delivery = (
        (pl.col("next_delivery_date") - pl.col("as_of_date"))
        .dt.total_days()
        .fill_null(pl.col("lead_time_days"))
    ).clip(lower_bound=1)
    frame = frame.with_columns(
        runs_out=pl.col("stock_on_hand") < pl.col("avg_daily_units_28d") * days_to_delivery
    )
    assert frame["is_at_risk"].to_list() == frame["runs_out"].to_list()
    assert 0 < frame["is_at_risk"].sum() < frame.height


def test_data_quality_counts_match_injected(
    cur: duckdb.DuckDBPyConnection, tiny_build: BuildSummary
) -> None:
    found = dict(cur.sql("select check_name, affected_rows from data_quality").fetchall())
    assert found == tiny_build.defects
    assert all(count > 0 for count in found.values())


def test_staging_keeps_defects_in_raw(
    cur: duckdb.DuckDBPyConnection, tiny_build: BuildSummary
) -> None:
    raw_nulls = _scalar(cur, "select count(*) from raw_daily_sales where units_sold is null")
    assert raw_nulls == tiny_build.defects["missing_units"]
    raw_rows = _scalar(cur, "select count(*) from raw_daily_sales")
    clean_rows = _scalar(cur, "select count(*) from daily_sales")
    assert raw_rows - clean_rows == tiny_build.defects["duplicate_row"]


def test_staging_repairs_match_truth(cur: duckdb.DuckDBPyConnection) -> None:
    """Units imputed from the stock balance never exceed what shoppers wanted."""
    sql = """
        select count(*) from stg_daily_sales s
        join true_demand t using (date, store_id, product_id)
        where s.is_units_missing and s.units_sold > t.demand_units
    """
    assert _scalar(cur, sql) == 0
    assert (
        _scalar(
            cur,
            "select count(*) from stg_daily_sales where is_units_missing and units_sold is null",
        )
        == 0
    )


def test_baskets_never_exceed_store_sales(cur: duckdb.DuckDBPyConnection) -> None:
    sql = """
        with bought as (
            select purchase_date as date, store_id, product_id, sum(quantity) as units
            from baskets group by all
        )
        select count(*) from bought
        join true_demand t using (date, store_id, product_id)
        left join daily_sales s using (date, store_id, product_id)
        where bought.units > least(t.demand_units, coalesce(s.units_sold, t.demand_units))
    """
    assert _scalar(cur, sql) == 0
    assert _scalar(cur, "select count(*) from baskets") > 1000


def test_data_quality_rows_sql_lists_the_affected_rows(cur: duckdb.DuckDBPyConnection) -> None:
    checks = cur.sql("select check_name, affected_rows, rows_sql from data_quality").fetchall()
    for name, affected, rows_sql in checks:
        assert _scalar(cur, f"select count(*) from ({rows_sql})") == affected, name


def test_table_profile_counts_nulls(cur: duckdb.DuckDBPyConnection) -> None:
    profiled = cur.sql(
        "select null_count, row_count from table_profile "
        "where table_name = 'raw_daily_sales' and column_name = 'price'"
    ).fetchall()
    raw = cur.sql("select count(*) - count(price), count(*) from raw_daily_sales").fetchall()
    assert profiled == raw
