"""The Stockout risk page in a real (Debian) Chromium, offline, over the scored tiny database:
the ranked grid, the service level moving the orders, a clicked row's chart, the URL both ways.

Screenshots go to $SHELFSIGHT_SCREENSHOT_DIR when set (to look at them), else to tmp_path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import duckdb
import polars as pl
import pytest
from playwright.sync_api import Page, Route, expect

from analytics.replenishment import POSITION_COLUMNS, suggest_orders
from dashboard.db import CONNECTION_CONFIG
from dashboard.settings import Settings
from tests.dashboard.support import serve

pytestmark = pytest.mark.browser

WIDE = {"width": 1400, "height": 900}
NOT_SCORED_MESSAGE = "No stockout scores yet: run 'shelfsight train' then 'shelfsight predict'."
FIRST_ROW = "#risk-grid .ag-center-cols-container .ag-row[row-index='0']"


@pytest.fixture(scope="module")
def risk_server(scored_db: Path) -> Iterator[str]:
    with serve(Settings(db_path=scored_db)) as url:
        yield url


@pytest.fixture(scope="module")
def scored(scored_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(scored_db), read_only=True, config=CONNECTION_CONFIG) as con:
        yield con


@pytest.fixture
def external(page: Page) -> list[str]:
    """Requests that tried to leave 127.0.0.1 (aborted): a CDN would show here."""
    found: list[str] = []

    def route(route: Route) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", None):
            route.continue_()
        else:
            found.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    return found


def orders_at(con: duckdb.DuckDBPyConnection, level: float) -> pl.DataFrame:
    """Every series' suggested order at a cycle service level, from the stored positions."""
    positions = con.sql(
        "select store_id, product_id, " + ", ".join(POSITION_COLUMNS) + " from reorder_suggestions"
    ).pl()
    return suggest_orders(positions, service_level=level, kind="cycle")


def first_series(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    sql = """
        select risk.store_id, risk.product_id, products.product_name
        from stockout_risk as risk inner join products using (product_id)
        order by risk.risk_rank limit 1
    """
    store_id, product_id, name = con.sql(sql).fetchall()[0]
    return {"store_id": store_id, "product_id": product_id, "product_name": name}


def open_risk(page: Page, url: str, **query: str) -> None:
    page.set_viewport_size(WIDE)
    page.goto(f"{url}risk" + (f"?{urlencode(query)}" if query else ""))
    expect(page.locator(FIRST_ROW)).to_be_visible()


def test_risk_page_shows_ranked_grid_offline(
    page: Page,
    risk_server: str,
    scored: duckdb.DuckDBPyConnection,
    console_errors: list[str],
    external: list[str],
    screenshot_dir: Path,
) -> None:
    open_risk(page, risk_server)
    top = first_series(scored)
    expect(page.locator(f"{FIRST_ROW} [col-id='product_name']")).to_have_text(
        str(top["product_name"])
    )
    expect(page.locator(f"{FIRST_ROW} [col-id='risk_rank']")).to_have_text("1")
    count = scored.sql("select count(*) from stockout_risk").fetchall()[0][0]
    expect(page.locator("#risk-grid-note")).to_have_text(
        f"{count:,} series, highest risk first. Click a row for its chart."
    )
    expect(page.locator("#risk-calibration .main-svg").first).to_be_visible()
    expect(page.locator("#risk-replay table")).to_be_visible()
    expect(page).to_have_title("shelfsight - Stockout risk")
    page.screenshot(path=screenshot_dir / "risk-1400x900.png", full_page=True)
    assert external == []
    assert console_errors == []


def test_risk_service_level_slider_changes_orders(
    page: Page,
    risk_server: str,
    scored: duckdb.DuckDBPyConnection,
    console_errors: list[str],
) -> None:
    open_risk(page, risk_server)
    top = first_series(scored)
    stored, highest = orders_at(scored, 0.95), orders_at(scored, 0.995)
    units = page.locator("#risk-kpi-units")
    expect(units).to_have_text(f"{stored['suggested_order'].sum():,}")
    page.locator("#risk-level [role='slider']").focus()
    page.keyboard.press("End")
    expect(units).to_have_text(f"{highest['suggested_order'].sum():,}")
    expect(page.locator("#risk-level-text")).to_have_text("99.5%")
    order = highest.filter(
        pl.col("store_id") == top["store_id"], pl.col("product_id") == top["product_id"]
    )["suggested_order"].item()
    expect(page.locator(f"{FIRST_ROW} [col-id='suggested_order']")).to_have_text(f"{order:,}")
    assert parse_qs(urlsplit(page.url).query)["level"] == ["0.995"]
    assert highest["suggested_order"].sum() > stored["suggested_order"].sum()
    assert console_errors == []


def test_risk_row_click_shows_chart_and_survives_reload(
    page: Page,
    risk_server: str,
    scored: duckdb.DuckDBPyConnection,
    console_errors: list[str],
    screenshot_dir: Path,
) -> None:
    open_risk(page, risk_server)
    top = first_series(scored)
    expect(page.locator("#risk-detail .empty-note")).to_be_visible()
    page.locator(f"{FIRST_ROW} [col-id='product_name']").click()
    chart = page.locator("#risk-series-chart .main-svg").first
    expect(chart).to_be_visible()
    expect(page.locator("#risk-series-chart")).to_contain_text("Reorder point")
    series = f"{top['store_id']}-{top['product_id']}"
    assert parse_qs(urlsplit(page.url).query)["series"] == [series]
    page.screenshot(path=screenshot_dir / "risk-series-1400x900.png", full_page=True)
    page.reload()
    expect(page.locator("#risk-series-chart .main-svg").first).to_be_visible()
    expect(page.locator(f"{FIRST_ROW}.ag-row-selected")).to_be_visible()
    assert console_errors == []


def test_risk_url_sets_the_controls(
    page: Page, risk_server: str, scored: duckdb.DuckDBPyConnection, console_errors: list[str]
) -> None:
    region, count = scored.sql(
        "select region, count(*) from stockout_risk inner join stores using (store_id) "
        "group by region order by region limit 1"
    ).fetchall()[0]
    open_risk(page, risk_server, region=region, level="0.9", kind="fill_rate")
    expect(page.locator("#risk-region")).to_have_value(region)
    expect(page.locator("#risk-level-text")).to_have_text("90.0%")
    expect(page.locator("#risk-kind input[value='fill_rate']")).to_be_checked()
    expect(page.locator("#risk-grid-note")).to_have_text(
        f"{count:,} series, highest risk first. Click a row for its chart."
    )
    expect(page.locator("#risk-kpi-to-order-detail")).to_have_text("at a 90% fill rate")
    assert console_errors == []


def test_risk_without_scores_says_how(
    page: Page, tiny_db: Path, console_errors: list[str], external: list[str]
) -> None:
    with serve(Settings(db_path=tiny_db)) as url:
        page.goto(f"{url}risk")
        expect(page.locator("#risk-empty")).to_have_text(NOT_SCORED_MESSAGE)
        assert "Traceback" not in page.content()
    assert console_errors == []
    assert external == []
