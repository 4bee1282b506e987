"""The overview in a real (Debian) Chromium, fully offline: values, errors, requests, layout.

Screenshots go to $SHELFSIGHT_SCREENSHOT_DIR when set (to look at them), else to tmp_path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import duckdb
import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, Route, expect

from dashboard.db import MISSING_MESSAGE
from dashboard.settings import Settings
from tests.dashboard.support import serve

pytestmark = pytest.mark.browser

WIDE = {"width": 1400, "height": 900}
NARROW = {"width": 390, "height": 844}
REVENUE_LAST_28_DAYS = """
    select sum(sales.revenue)
    from daily_sales as sales
    inner join stores using (store_id)
    where sales.date > (select max(date) from daily_sales) - 28
        and ($region is null or stores.region = $region)
"""


@dataclass
class PageProblems:
    """What went wrong while a page was open: console errors, page errors, requests that left
    127.0.0.1 (aborted) and local requests that failed."""

    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@pytest.fixture
def problems(page: Page) -> PageProblems:
    found = PageProblems()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            found.errors.append(message.text)

    def on_request_failed(request: Request) -> None:
        if urlsplit(request.url).hostname == "127.0.0.1":
            found.failed.append(f"{request.url}: {request.failure}")

    def route(route: Route) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", None):
            route.continue_()
        else:
            found.external.append(route.request.url)
            route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda error: found.errors.append(str(error)))
    page.on("requestfailed", on_request_failed)
    page.route("**/*", route)
    return found


def revenue_text(con: duckdb.DuckDBPyConnection, region: str | None = None) -> str:
    value = con.sql(REVENUE_LAST_28_DAYS, params={"region": region}).fetchall()[0][0]
    return f"{value:,.0f} EUR"


def wait_for_overview(page: Page) -> None:
    """Until the KPIs, both charts and the at-risk section have their data."""
    expect(page.locator("#overview-kpi-revenue")).to_be_visible()
    for graph in ("#overview-revenue-by-category", "#overview-stockout-rate"):
        expect(page.locator(f"{graph} .main-svg").first).to_be_visible()
    expect(page.locator("#overview-at-risk table, #overview-at-risk .empty-note")).to_be_visible()


def test_overview_shows_revenue_kpi_from_database_offline(
    page: Page,
    live_server: str,
    problems: PageProblems,
    expected_db: duckdb.DuckDBPyConnection,
    screenshot_dir: Path,
) -> None:
    page.set_viewport_size(WIDE)
    page.goto(live_server)
    wait_for_overview(page)
    expect(page.locator("#overview-kpi-revenue")).to_have_text(revenue_text(expected_db))
    expect(page).to_have_title("shelfsight - Overview")
    page.screenshot(path=screenshot_dir / "overview-1400x900.png", full_page=True)
    assert problems == PageProblems()
    urls = page.eval_on_selector_all(
        "[src], [href]", "nodes => nodes.map(n => n.getAttribute('src') || n.getAttribute('href'))"
    )
    assert [url for url in urls if re.match(r"^(https?:)?//", url)] == []


def test_overview_region_filter_updates_kpis_and_url(
    page: Page,
    live_server: str,
    problems: PageProblems,
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    region = expected_db.sql("select max(region) from stores").fetchall()[0][0]
    stores = expected_db.sql(
        "select store_name from stores where region = $region order by store_name",
        params={"region": region},
    ).fetchall()
    page.set_viewport_size(WIDE)
    page.goto(live_server)
    wait_for_overview(page)
    page.locator("#overview-region").click()
    page.get_by_role("option", name=region, exact=True).click()
    expect(page.locator("#overview-kpi-revenue")).to_have_text(revenue_text(expected_db, region))
    assert urlsplit(page.url).query.startswith("region=")
    page.locator("#overview-store").click()
    expect(page.get_by_role("option")).to_have_text([name for (name,) in stores])
    assert problems == PageProblems()


def test_overview_url_filters_survive_reload(
    page: Page, live_server: str, expected_db: duckdb.DuckDBPyConnection
) -> None:
    region = expected_db.sql("select min(region) from stores").fetchall()[0][0]
    page.goto(f"{live_server}?{urlencode({'region': region})}")
    wait_for_overview(page)
    expect(page.locator("#overview-region")).to_have_value(region)
    expect(page.locator("#overview-kpi-revenue")).to_have_text(revenue_text(expected_db, region))


def test_overview_fits_a_phone_screen(
    page: Page, live_server: str, problems: PageProblems, screenshot_dir: Path
) -> None:
    page.set_viewport_size(NARROW)
    page.goto(live_server)
    wait_for_overview(page)
    page.screenshot(path=screenshot_dir / "overview-390x844.png", full_page=True)
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0
    expect(page.locator("#nav-overview")).not_to_be_in_viewport()
    page.locator("#app-burger").click()
    expect(page.locator("#nav-overview")).to_be_in_viewport()
    assert problems == PageProblems()


def test_overview_without_data_explains_in_page(
    page: Page, problems: PageProblems, tmp_path: Path
) -> None:
    with serve(Settings(db_path=tmp_path / "absent.duckdb")) as url:
        page.goto(url)
        expect(page.locator("#overview-kpis .data-alert")).to_contain_text(MISSING_MESSAGE)
        expect(page.locator("#overview-at-risk .data-alert")).to_contain_text(MISSING_MESSAGE)
        expect(page.locator("#overview-stockout-rate")).to_contain_text(MISSING_MESSAGE)
    assert "Traceback" not in page.content()
    assert problems == PageProblems()
