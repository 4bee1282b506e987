"""The overview page's callbacks, called directly, against SQL over `daily_sales`."""

from __future__ import annotations

import datetime as dt
from types import ModuleType

import duckdb
import polars as pl
import pytest
from dash import html
from dash.development.base_component import Component

LAST_28_DAYS = """
    select {expression}
    from daily_sales as sales
    inner join stores using (store_id)
    where sales.date > (select max(date) from daily_sales) - 28
        and ($region is null or stores.region = $region)
"""


def find(tree: Component | list[Component], component_id: str) -> Component:
    """The component with `component_id` anywhere in `tree`."""
    root = html.Div(tree) if isinstance(tree, list) else tree
    found: Component = root[component_id]
    return found


def last_28_days(con: duckdb.DuckDBPyConnection, expression: str, region: str | None) -> object:
    sql = LAST_28_DAYS.format(expression=expression)
    return con.sql(sql, params={"region": region}).fetchall()[0][0]


def some_region(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.sql("select min(region) from stores").fetchall()[0][0])


@pytest.mark.parametrize("use_region", [False, True])
def test_update_kpis_revenue_matches_daily_sales(
    overview: ModuleType, expected_db: duckdb.DuckDBPyConnection, use_region: bool
) -> None:
    region = some_region(expected_db) if use_region else None
    expected = last_28_days(expected_db, "sum(sales.revenue)", region)
    kpis = overview.update_kpis(region, None)
    assert find(kpis, overview.KPI_REVENUE_ID).children == f"{expected:,.0f} EUR"


def test_update_kpis_units_and_stockout_rate_match_daily_sales(
    overview: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    units = last_28_days(expected_db, "sum(sales.units_sold)", None)
    rate = last_28_days(expected_db, "avg(sales.is_stockout::integer)", None)
    kpis = overview.update_kpis(None, None)
    assert find(kpis, overview.KPI_UNITS_ID).children == f"{units:,}"
    assert find(kpis, overview.KPI_STOCKOUT_ID).children == f"{rate:.1%}"


def test_update_kpis_revenue_detail_compares_previous_28_days(
    overview: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    current, previous = expected_db.sql(
        """
        with bounds as (select max(date) as last_date from daily_sales)
        select
            sum(revenue) filter (where date > last_date - 28),
            sum(revenue) filter (where date <= last_date - 28 and date > last_date - 56),
        from daily_sales cross join bounds
        """
    ).fetchall()[0]
    change = round((current / previous - 1) * 100, 1) + 0.0
    detail = find(overview.update_kpis(None, None), f"{overview.KPI_REVENUE_ID}-detail")
    assert detail.children == f"{change:+.1f}% vs previous 28 days"
    assert detail.c == ("teal.7" if change > 0 else "red.7" if change < 0 else "dimmed")


def test_update_kpis_counts_at_risk_positions(
    overview: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    at_risk, total = expected_db.sql(
        "select count(*) filter (where is_at_risk), count(*) from stock_position_latest"
    ).fetchall()[0]
    kpis = overview.update_kpis(None, None)
    assert find(kpis, overview.KPI_AT_RISK_ID).children == f"{at_risk:,}"
    assert find(kpis, f"{overview.KPI_AT_RISK_ID}-detail").children.startswith(f"of {total:,} ")


def test_update_kpis_states_the_period(
    overview: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    last_date = expected_db.sql("select max(date) from daily_sales").fetchall()[0][0]
    first_date = last_date - dt.timedelta(days=27)
    period = find(overview.update_kpis(None, None), overview.PERIOD_ID)
    assert period.children == (
        f"Last 28 days of data: {first_date:%d %b %Y} to {last_date:%d %b %Y}"
    )


def test_update_revenue_chart_totals_match_last_52_complete_weeks(
    overview: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    expected = expected_db.sql(
        """
        with weeks as (
            select date_trunc('week', date) as week_start from daily_sales
            group by all having count(distinct date) = 7
            order by week_start desc limit 52
        )
        select sum(revenue) from daily_sales
        where date_trunc('week', date) in (select week_start from weeks)
        """
    ).fetchall()[0][0]
    figure = overview.update_revenue_chart(None, None)
    assert sum(sum(trace.y) for trace in figure.data) == pytest.approx(expected, rel=1e-9)


def test_update_stockout_chart_filters_by_store(
    overview: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    store_id, stockouts = expected_db.sql(
        """
        with weeks as (
            select store_id, count(*) filter (where is_stockout) as stockouts,
            from daily_sales
            group by store_id, date_trunc('week', date)
            having count(distinct date) = 7
            qualify row_number() over (
                partition by store_id order by date_trunc('week', date) desc
            ) <= 52
        )
        select store_id, sum(stockouts) from weeks group by store_id order by store_id limit 1
        """
    ).fetchall()[0]
    (trace,) = overview.update_stockout_chart(None, str(store_id)).data
    assert sum(row[0] for row in trace.customdata) == stockouts


def cell_texts(table: Component) -> list[list[object]]:
    """The rows of a table built by components.build_table, as cell children."""
    body = table.children.children[1]
    return [[cell.children for cell in row.children] for row in body.children]


def test_update_at_risk_table_matches_stock_positions(
    overview: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    names = expected_db.sql(
        """
        select store_name, product_name from stock_position_latest where is_at_risk
        order by days_of_cover nulls last, revenue_28d desc, store_id, product_id limit 15
        """
    ).fetchall()
    result = overview.update_at_risk_table(None, None)
    if not names:
        assert result.children == "No store x product is at risk for these filters."
        return
    assert [(row[0], row[1][0]) for row in cell_texts(result)] == names


def test_build_at_risk_table_formats_cells(overview: ModuleType) -> None:
    df = pl.DataFrame(
        {
            "store_name": ["Super Paris"],
            "product_name": ["Milk 1 L"],
            "category": ["Dairy"],
            "stock_on_hand": [1200],
            "on_order_units": [0],
            "avg_daily_units_28d": [12.345],
            "days_of_cover": [None],
            "days_to_delivery": [3],
            "revenue_28d": [4567.8],
        },
        schema_overrides={"days_of_cover": pl.Float64},
    )
    ((store, product, *numbers),) = cell_texts(overview.build_at_risk_table(df))
    assert (store, product[0], product[1].children) == ("Super Paris", "Milk 1 L", "Dairy")
    assert numbers == ["1,200", "0", "12.3", "-", "3", "4,568"]


def test_build_at_risk_table_aligns_numbers_right(overview: ModuleType) -> None:
    df = pl.DataFrame({column.name: [None] for column in overview.AT_RISK_COLUMNS})
    table = overview.build_at_risk_table(df.with_columns(category=pl.lit("Dairy")))
    header = table.children.children[0].children
    assert [cell.className for cell in header.children] == [
        "col-text", "col-text", "col-count", "col-count", "col-decimal", "col-decimal",
        "col-count", "col-eur",
    ]  # fmt: skip


def test_update_filters_narrows_stores_to_region(
    overview: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    stores = expected_db.sql("select store_id, store_name, region from stores").fetchall()
    region = stores[0][2]
    regions, store_options, store = overview.update_filters(region, None)
    assert regions == [{"value": r, "label": r} for r in sorted({s[2] for s in stores})]
    assert store_options == [
        {"value": str(s[0]), "label": s[1]} for s in sorted(stores, key=lambda s: (s[1], s[0]))
        if s[2] == region
    ]  # fmt: skip
    assert store is None


def test_update_filters_keeps_store_only_within_region(
    overview: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    store_id, region, other_region = expected_db.sql(
        """
        select stores.store_id, stores.region, other.region
        from stores cross join stores as other where other.region <> stores.region limit 1
        """
    ).fetchall()[0]
    assert overview.update_filters(region, str(store_id))[2] == str(store_id)
    assert overview.update_filters(other_region, str(store_id))[2] is None


@pytest.mark.parametrize(
    ("raw", "expected"), [("12", 12), (None, None), ("", None), ("12; drop", None)]
)
def test_parse_store_id_accepts_only_digits(
    overview: ModuleType, raw: str | None, expected: int | None
) -> None:
    assert overview.parse_store_id(raw) == expected


def test_layout_takes_filters_from_url(overview: ModuleType) -> None:
    page = overview.layout(region="Bretagne", store="2", utm_source="mail")
    assert find(page, overview.REGION_ID).value == "Bretagne"
    assert find(page, overview.STORE_ID).value == "2"


def test_keep_store_normalises_the_id(overview: ModuleType) -> None:
    stores = pl.DataFrame({"store_id": [3, 4], "store_name": ["A", "B"], "region": ["R", "R"]})
    assert [overview.keep_store(raw, stores) for raw in ("03", "4", "5", None)] == [
        "3", "4", None, None,
    ]  # fmt: skip


def test_download_at_risk_lists_every_at_risk_pair(
    overview: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    download = overview.download_at_risk(1, None, None)
    lines = download["content"].splitlines()
    count = expected_db.sql("select count(*) from stock_position_latest where is_at_risk")
    assert len(lines) - 1 == count.fetchall()[0][0]
    assert lines[0].startswith("store_name,product_name,category")
    assert download["filename"] == "at_risk_products.csv"
