"""Each query against the same numbers computed independently from `daily_sales` and `stores`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dashboard import queries

Filters = tuple[str | None, int | None]

# daily_sales joined to stores and products, with the filters the dashboard offers
FILTERED_SALES = """
    select sales.*, stores.region, products.category
    from daily_sales as sales
    inner join stores using (store_id)
    inner join products using (product_id)
    where ($region is null or stores.region = $region)
        and ($store_id is null or sales.store_id = $store_id)
"""
FILTERS = ["all", "region", "store", "region-and-store"]


@pytest.fixture
def cur(expected_db: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """The cursor the queries run on (expected values use `expected_db` directly)."""
    with expected_db.cursor() as cur:
        yield cur


@pytest.fixture(params=FILTERS)
def filters(request: pytest.FixtureRequest, expected_db: duckdb.DuckDBPyConnection) -> Filters:
    """(region, store_id) for each kind of filter, taken from the data: the last store's region
    and that store."""
    store_id, region = expected_db.sql(
        "select store_id, region from stores order by store_id desc limit 1"
    ).fetchall()[0]
    return {
        "all": (None, None),
        "region": (region, None),
        "store": (None, store_id),
        "region-and-store": (region, store_id),
    }[request.param]


def expected_one(con: duckdb.DuckDBPyConnection, select: str, **params: object) -> tuple:
    """One row of `select` over the filtered sales, with `last_date` the data's last date."""
    sql = f"""
        with sales as ({FILTERED_SALES}),
        bounds as (select max(date) as last_date from daily_sales)
        {select}
    """
    rows = con.sql(sql, params=params).fetchall()
    assert len(rows) == 1
    return rows[0]


def test_load_period_kpis_matches_daily_sales(
    cur: duckdb.DuckDBPyConnection,
    expected_db: duckdb.DuckDBPyConnection,
    filters: Filters,
) -> None:
    region, store_id = filters
    expected = expected_one(
        expected_db,
        """
        select
            sum(revenue) filter (where date > last_date - 28),
            sum(revenue) filter (where date <= last_date - 28 and date > last_date - 56),
            sum(units_sold) filter (where date > last_date - 28),
            sum(units_sold) filter (where date <= last_date - 28 and date > last_date - 56),
            count(*) filter (where is_stockout and date > last_date - 28)
                / count(*) filter (where date > last_date - 28),
            count(*) filter (where is_stockout and date <= last_date - 28 and date > last_date - 56)
                / count(*) filter (where date <= last_date - 28 and date > last_date - 56),
            any_value(last_date) - 27,
            any_value(last_date),
        from sales cross join bounds
        """,
        region=region,
        store_id=store_id,
    )
    row = queries.load_period_kpis(cur, region=region, store_id=store_id).row(0)
    revenue, revenue_previous, units, units_previous, rate, rate_previous, start, end = expected
    assert row[0:2] == (start, end)
    assert row[2] == pytest.approx(revenue, rel=1e-12)
    assert row[3] == pytest.approx(revenue_previous, rel=1e-12)
    assert row[4:6] == (units, units_previous)
    assert row[6] == pytest.approx(rate, rel=1e-12)
    assert row[7] == pytest.approx(rate_previous, rel=1e-12)


def test_load_period_kpis_is_empty_for_a_store_outside_the_region(
    cur: duckdb.DuckDBPyConnection, expected_db: duckdb.DuckDBPyConnection
) -> None:
    store_id, other_region = expected_db.sql(
        """
        select stores.store_id, other.region
        from stores cross join stores as other
        where other.region <> stores.region
        limit 1
        """
    ).fetchall()[0]
    row = queries.load_period_kpis(cur, region=other_region, store_id=store_id).row(0, named=True)
    assert row["period_end"] is not None
    assert [row[name] for name in ("revenue", "units_sold", "stockout_rate")] == [None] * 3


def test_load_at_risk_count_matches_stock_positions(
    cur: duckdb.DuckDBPyConnection,
    expected_db: duckdb.DuckDBPyConnection,
    filters: Filters,
) -> None:
    region, store_id = filters
    expected = expected_db.sql(
        """
        select count(*) filter (where is_at_risk), count(*), max(as_of_date)
        from stock_position_latest
        where ($region is null or region = $region) and ($store_id is null or store_id = $store_id)
        """,
        params={"region": region, "store_id": store_id},
    ).fetchall()
    result = queries.load_at_risk_count(cur, region=region, store_id=store_id)
    assert result.rows() == expected


def weekly_category_revenue(
    con: duckdb.DuckDBPyConnection, region: str | None, store_id: int | None
) -> pl.DataFrame:
    """Revenue per complete week and category over all the data, from daily_sales."""
    return con.sql(
        f"""
        with sales as ({FILTERED_SALES}),
        weeks as (
            select date_trunc('week', date)::date as week_start, count(distinct date) as days
            from sales group by all
        )
        select date_trunc('week', date)::date as week_start, category, sum(revenue) as revenue
        from sales
        where date_trunc('week', date)::date in (select week_start from weeks where days = 7)
        group by all
        """,
        params={"region": region, "store_id": store_id},
    ).pl()


@pytest.mark.parametrize(("weeks", "top_categories"), [(52, 7), (3, 2), (200, 100)])
def test_load_weekly_category_revenue_keeps_top_categories_of_last_weeks(
    cur: duckdb.DuckDBPyConnection,
    expected_db: duckdb.DuckDBPyConnection,
    filters: Filters,
    weeks: int,
    top_categories: int,
) -> None:
    region, store_id = filters
    weekly = weekly_category_revenue(expected_db, region, store_id)
    shown_weeks = weekly.get_column("week_start").unique().sort().tail(weeks)
    weekly = weekly.filter(pl.col("week_start").is_in(shown_weeks.implode()))
    ranking = (
        weekly.group_by("category")
        .agg(pl.col("revenue").sum())
        .sort(["revenue", "category"], descending=[True, False])
        .get_column("category")
        .to_list()
    )
    kept = ranking if len(ranking) <= top_categories + 1 else ranking[:top_categories]
    expected = (
        weekly.with_columns(is_other=~pl.col("category").is_in(kept))
        .with_columns(
            category=pl.when("is_other").then(pl.lit("Other categories")).otherwise("category"),
            rank=pl.col("category").replace_strict(
                {name: index for index, name in enumerate(kept)}, default=len(kept)
            ),
        )
        .group_by("week_start", "category", "is_other", "rank")
        .agg(pl.col("revenue").sum())
        .sort("week_start", "rank")
        .drop("rank")
    )
    result = queries.load_weekly_category_revenue(
        cur, region=region, store_id=store_id, weeks=weeks, top_categories=top_categories
    )
    assert result.get_column("week_start").dt.weekday().unique().to_list() == [1]  # Mondays
    assert_frame_equal(result, expected, abs_tol=1e-6)


def test_load_weekly_category_revenue_shows_52_weeks_and_8_series_by_default(
    cur: duckdb.DuckDBPyConnection,
) -> None:
    result = queries.load_weekly_category_revenue(cur, region=None, store_id=None)
    assert result.get_column("week_start").n_unique() == 52
    assert result.get_column("category").n_unique() <= 8


def test_load_weekly_stockout_rate_matches_daily_sales(
    cur: duckdb.DuckDBPyConnection,
    expected_db: duckdb.DuckDBPyConnection,
    filters: Filters,
) -> None:
    region, store_id = filters
    expected = expected_db.sql(
        f"""
        with sales as ({FILTERED_SALES})
        select
            date_trunc('week', date)::date as week_start,
            count(*) filter (where is_stockout) / count(*) as stockout_rate,
            count(*) filter (where is_stockout) as stockout_count,
            count(*) as series_count,
        from sales
        group by all
        having count(distinct date) = 7
        order by week_start
        """,
        params={"region": region, "store_id": store_id},
    ).pl()
    result = queries.load_weekly_stockout_rate(cur, region=region, store_id=store_id, weeks=10)
    assert_frame_equal(result, expected.tail(10), check_dtypes=False, abs_tol=1e-12)


def test_load_weekly_series_end_with_the_last_complete_week(
    cur: duckdb.DuckDBPyConnection, expected_db: duckdb.DuckDBPyConnection
) -> None:
    last_date = expected_db.sql("select max(date) from daily_sales").fetchall()[0][0]
    last_sunday = last_date - timedelta(days=(last_date.weekday() + 1) % 7)
    weeks = queries.load_weekly_stockout_rate(cur, region=None, store_id=None)
    assert weeks.get_column("week_start").max() == last_sunday - timedelta(days=6)


@pytest.mark.parametrize("limit", [3, 15])
def test_load_top_at_risk_orders_by_cover_then_revenue(
    cur: duckdb.DuckDBPyConnection,
    expected_db: duckdb.DuckDBPyConnection,
    filters: Filters,
    limit: int,
) -> None:
    region, store_id = filters
    expected = expected_db.sql(
        """
        select store_name, product_name, category, stock_on_hand, on_order_units,
            avg_daily_units_28d, days_of_cover,
            coalesce(date_diff('day', as_of_date, next_delivery_date), lead_time_days)::integer
                as days_to_delivery,
            revenue_28d
        from stock_position_latest
        where is_at_risk
            and ($region is null or region = $region)
            and ($store_id is null or store_id = $store_id)
        order by days_of_cover nulls last, revenue_28d desc, store_id, product_id
        limit $limit
        """,
        params={"region": region, "store_id": store_id, "limit": limit},
    ).pl()
    result = queries.load_top_at_risk(cur, region=region, store_id=store_id, limit=limit)
    assert_frame_equal(result, expected)


def test_load_top_at_risk_defaults_to_fifteen_rows() -> None:
    assert queries.TOP_AT_RISK_LIMIT == 15


def test_load_regions_lists_each_region_once_sorted(
    cur: duckdb.DuckDBPyConnection, expected_db: duckdb.DuckDBPyConnection
) -> None:
    all_regions = [row[0] for row in expected_db.sql("select region from stores").fetchall()]
    regions = queries.load_regions(cur).get_column("region").to_list()
    assert regions == sorted(set(all_regions))


def test_load_stores_narrows_to_region(
    cur: duckdb.DuckDBPyConnection, expected_db: duckdb.DuckDBPyConnection
) -> None:
    stores = expected_db.sql("select store_id, store_name, region from stores").fetchall()
    region = stores[-1][2]
    result = queries.load_stores(cur, region=region)
    assert result.rows() == sorted(
        (store for store in stores if store[2] == region), key=lambda store: (store[1], store[0])
    )


def test_load_stores_lists_all_by_name(
    cur: duckdb.DuckDBPyConnection, expected_db: duckdb.DuckDBPyConnection
) -> None:
    stores = expected_db.sql("select store_id, store_name, region from stores").fetchall()
    result = queries.load_stores(cur, region=None)
    assert result.rows() == sorted(stores, key=lambda store: (store[1], store[0]))
