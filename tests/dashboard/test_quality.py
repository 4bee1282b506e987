"""The data-quality page: checks, repairs and the column profile, exact against the database."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

import duckdb
import polars as pl
import pytest
from dash import Dash
from playwright.sync_api import Page, expect

from dashboard.queries import quality as queries


@pytest.fixture
def quality(app: Dash) -> Iterator[ModuleType]:
    with app.server.app_context():
        yield importlib.import_module("dashboard.pages.quality")


def test_load_checks_orders_by_rows(expected_db: duckdb.DuckDBPyConnection) -> None:
    checks = queries.load_checks(expected_db.cursor())
    assert checks["affected_rows"].to_list() == sorted(checks["affected_rows"], reverse=True)
    raw = expected_db.sql("select count(*) from raw_daily_sales").fetchall()[0][0]
    duplicates = checks.filter(pl.col("check_name") == "duplicate_row").row(0, named=True)
    assert duplicates["total_rows"] == raw


def test_load_profile_matches_table(expected_db: duckdb.DuckDBPyConnection) -> None:
    profile = queries.load_profile(expected_db.cursor(), table="raw_daily_sales")
    columns = expected_db.sql("select * from raw_daily_sales limit 0").columns
    assert profile["column_name"].to_list() == columns
    nulls, low, high, mean = expected_db.sql(
        "select count(*) - count(units_sold), min(units_sold), max(units_sold), avg(units_sold) "
        "from raw_daily_sales"
    ).fetchall()[0]
    units = profile.filter(pl.col("column_name") == "units_sold").row(0, named=True)
    assert (units["null_count"], units["min_value"], units["max_value"]) == (
        nulls,
        str(low),
        str(high),
    )
    assert units["mean_value"] == pytest.approx(mean)


def test_load_profile_unknown_table_is_empty(expected_db: duckdb.DuckDBPyConnection) -> None:
    assert queries.load_profile(expected_db.cursor(), table="x'; drop table stores; --").is_empty()


def test_update_checks_kpis_add_up(
    quality: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    kpis, figure, _checks, tables = quality.update_checks(0)
    repaired = expected_db.sql("select count(*) from daily_sales where is_corrected").fetchall()[0][
        0
    ]
    texts = {card.children[1].id: card.children[1].children for card in kpis}
    assert texts["quality-kpi-repaired"] == f"{repaired:,}"
    assert {"raw_daily_sales", "raw_customers"} <= set(tables)
    assert (
        sum(figure.data[0].x)
        == expected_db.sql("select sum(affected_rows) from data_quality").fetchall()[0][0]
    )


def test_update_profile_falls_back_on_garbage(quality: ModuleType) -> None:
    figure, _table = quality.update_profile(None)
    assert figure.data[0].y == tuple(
        [
            "date",
            "store_id",
            "product_id",
            "units_sold",
            "price",
            "promo_id",
            "stock_begin",
            "received_units",
            "stock_end",
        ]
    )


def test_download_profile_is_csv(quality: ModuleType) -> None:
    download = quality.download_profile(1, "raw_stores")
    assert download["filename"] == "profile_raw_stores.csv"
    assert download["content"].splitlines()[0].startswith("column_name,column_type")


@pytest.mark.browser
def test_quality_table_choice_updates_chart_and_url(live_server: str, page: Page) -> None:
    page.goto(f"{live_server}data-quality")
    expect(page.locator("#quality-kpi-raw-rows")).not_to_be_empty()
    chart = page.locator("#quality-missing-graph .gtitle")
    expect(chart).to_have_text("Missing values per column of raw_daily_sales")
    page.locator("#quality-table").click()
    page.get_by_role("option", name="raw_customers").click()
    expect(chart).to_have_text("Missing values per column of raw_customers")
    assert page.url.endswith("data-quality?table=raw_customers")


@pytest.mark.browser
def test_quality_url_restores_table(live_server: str, page: Page) -> None:
    page.goto(f"{live_server}data-quality?table=raw_products")
    expect(page.locator("#quality-missing-graph .gtitle")).to_have_text(
        "Missing values per column of raw_products"
    )
    expect(page.locator("#quality-table")).to_have_value("raw_products")
