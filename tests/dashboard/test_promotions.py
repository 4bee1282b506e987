"""The promotions page: callbacks called as functions against SQL over the job's estimates, the
figures, URL state, and the page in a real Chromium.

The page reads the promotion marts, which the build fills with the promotion job; these tests
use a copy of the tiny store with them (tests/data/test_jobs.py: build_promotion_store).
"""

from __future__ import annotations

import contextvars
import csv
import datetime as dt
import importlib
import io
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import duckdb
import polars as pl
import pytest
from dash import Dash, html
from dash._callback_context import context_value
from dash._utils import AttributeDict
from dash.development.base_component import Component
from playwright.sync_api import Page, expect

from dashboard.app import create_app
from dashboard.db import CONNECTION_CONFIG
from dashboard.embeds import EMBEDS
from dashboard.queries import promotions as promotion_queries
from dashboard.settings import Settings
from data.build import _apply, sql_files
from tests.dashboard.support import close_database, serve
from tests.data.test_jobs import _drop, build_promotion_store

WIDE = {"width": 1400, "height": 900}
NARROW = {"width": 390, "height": 844}
PER_PROMOTION = """
    select
        effects.promo_id,
        any_value(products.product_name) as product_name,
        any_value(products.category) as category,
        sum(effects.actual_units) as actual_units,
        sum(effects.incremental_units) as incremental_units,
        sum(effects.net_incremental_revenue) as net_revenue,
        count(*) as store_count,
    from promotion_estimates as effects
    inner join products using (product_id)
    inner join stores using (store_id)
    where ($category is null or products.category = $category)
        and ($region is null or stores.region = $region)
    group by effects.promo_id
"""


@pytest.fixture(scope="module")
def promo_db(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_promotion_store(tiny_db, tmp_path_factory.mktemp("promo") / "tiny.duckdb")


@pytest.fixture
def promo_app(promo_db: Path) -> Iterator[Dash]:
    app = create_app(Settings(db_path=promo_db))
    yield app
    close_database(app)


@pytest.fixture
def promotions(promo_app: Dash) -> Iterator[ModuleType]:
    """The page module as the app registered it, inside the app's context."""
    with promo_app.server.app_context():
        yield importlib.import_module("dashboard.pages.promotions")


@pytest.fixture
def expected(promo_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(promo_db), read_only=True, config=CONNECTION_CONFIG) as con:
        yield con


def per_promotion(
    con: duckdb.DuckDBPyConnection, category: str | None = None, region: str | None = None
) -> pl.DataFrame:
    return con.sql(PER_PROMOTION, params={"category": category, "region": region}).pl()


def some_category(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.sql("select min(category) from products").fetchall()[0][0])


def find(tree: Component | list[Component], component_id: str) -> Component:
    root = html.Div(tree) if isinstance(tree, list) else tree
    found: Component = root[component_id]
    return found


def as_triggered_by(prop_id: str, function: Any, *args: Any) -> Any:
    """Call a callback as Dash would after `prop_id` changed (it reads ctx.triggered_id)."""

    def call() -> Any:
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": None}]))
        return function(*args)

    return contextvars.copy_context().run(call)


def test_summaries_by_region_and_by_store_agree(expected: duckdb.DuckDBPyConnection) -> None:
    """Each tiny region has one store: its region mart rows and its store rows sum alike."""
    store_id, region = expected.sql(
        "select min(store_id), any_value(region) from stores group by region order by 1 limit 1"
    ).fetchall()[0]
    by_region = promotion_queries.load_promotion_summaries(
        expected.cursor(), category=None, region=region, store_id=None
    )
    by_store = promotion_queries.load_promotion_summaries(
        expected.cursor(), category=None, region=None, store_id=store_id
    )
    assert by_region.height > 0
    assert by_region.equals(by_store)


def test_update_depth_chart_uplift_matches_estimates(
    promotions: ModuleType, expected: duckdb.DuckDBPyConnection
) -> None:
    rows = expected.sql(
        """
        select products.category, round(effects.discount_pct * 20) / 20 as depth,
            sum(effects.actual_units) / sum(effects.baseline_units) - 1 as uplift,
        from promotion_estimates as effects inner join products using (product_id)
        group by all order by all
        """
    ).fetchall()
    figure = promotions.update_depth_chart(None, None, None)
    drawn = sorted(
        (trace.name, point[0], y)
        for trace in figure.data
        for point, y in zip(trace.customdata, trace.y, strict=True)
    )
    assert [(c, d) for c, d, _ in drawn] == [(c, pytest.approx(d * 100)) for c, d, _ in rows]
    assert [y for _, _, y in drawn] == pytest.approx([u * 100 for _, _, u in rows], rel=1e-9)
    assert figure.layout.xaxis.title.text == "Discount (% off the regular price)"
    assert figure.layout.yaxis.title.text == "Units sold over baseline (%)"


def test_update_depth_chart_one_category_has_error_bars(
    promotions: ModuleType, expected: duckdb.DuckDBPyConnection
) -> None:
    category = some_category(expected)
    (trace,) = promotions.update_depth_chart(category, None, None).data
    assert trace.name == category
    assert len(trace.error_y.array) == len(trace.y) == 7
    assert all(up > 0 for up in trace.error_y.array)


def test_update_scatter_draws_each_promotion_and_rings_the_selected(
    promotions: ModuleType, expected: duckdb.DuckDBPyConnection
) -> None:
    category = some_category(expected)
    promos = per_promotion(expected, category)
    chosen = int(promos["promo_id"][0])
    figure = promotions.update_scatter(category, None, None, str(chosen))
    *points, ring = figure.data
    assert sorted(p[0] for trace in points for p in trace.customdata) == sorted(
        promos["promo_id"].to_list()
    )
    assert ring.name == "Selected"
    assert [p[0] for p in ring.customdata] == [chosen]


def test_update_promotion_choice_defaults_to_most_net_revenue(
    promotions: ModuleType, expected: duckdb.DuckDBPyConnection
) -> None:
    region = str(expected.sql("select min(region) from stores").fetchall()[0][0])
    promos = per_promotion(expected, region=region)
    best = promos.sort("net_revenue", descending=True)["promo_id"][0]
    options, value = as_triggered_by(
        "promotions-region.value",
        promotions.update_promotion_choice,
        *(None, region, None, None, "999999"),
    )
    assert sorted(int(o["value"]) for o in options) == sorted(promos["promo_id"].to_list())
    assert value == str(best)


def test_update_promotion_choice_takes_a_clicked_point(
    promotions: ModuleType, expected: duckdb.DuckDBPyConnection
) -> None:
    promo_id = int(per_promotion(expected)["promo_id"].max())  # type: ignore[arg-type]
    click = {"points": [{"customdata": [promo_id, "name"]}]}
    _, value = as_triggered_by(
        "promotions-scatter.clickData",
        promotions.update_promotion_choice,
        *(None, None, None, click, "1"),
    )
    assert value == str(promo_id)


@pytest.mark.parametrize(
    ("click", "expected_id"),
    [({"points": [{"customdata": [7, "x"]}]}, 7), (None, None), ({"points": []}, None)],
)
def test_clicked_promotion_reads_customdata(
    promotions: ModuleType, click: Any, expected_id: int | None
) -> None:
    assert promotions.clicked_promotion(click) == expected_id


def test_update_detail_sums_match_estimates(
    promotions: ModuleType, expected: duckdb.DuckDBPyConnection
) -> None:
    promos = per_promotion(expected).sort("promo_id")
    row = promos.row(0, named=True)
    units_in_window = expected.sql(
        """
        select sum(days.units_sold) from promotion_baseline_days as days
        where days.promo_id = $promo_id
        """,
        params={"promo_id": row["promo_id"]},
    ).fetchall()[0][0]
    figure, summary = promotions.update_detail(str(row["promo_id"]), None, None)
    sold = next(trace for trace in figure.data if trace.name == "Units sold")
    assert sum(y for y in sold.y if y is not None) == units_in_window
    assert figure.layout.title.text.startswith(row["product_name"])
    units = find(summary, promotions.KPI_UNITS_ID)
    assert units.children == f"{round(row['incremental_units']) + 0:+,}"
    assert [shape.fillcolor for shape in figure.layout.shapes] == [
        "rgba(230, 159, 0, 0.16)",
        "rgba(136, 34, 85, 0.08)",
    ]


def test_update_detail_explains_a_promotion_outside_the_stores(
    promotions: ModuleType, expected: duckdb.DuckDBPyConnection
) -> None:
    promo_id, region = expected.sql(
        """
        select promotions.promo_id, stores.region from promotions
        cross join stores where promotions.region is not null
            and promotions.region != stores.region
        limit 1
        """
    ).fetchall()[0]
    figure, note = promotions.update_detail(str(promo_id), region, None)
    assert note.children == "This promotion did not run in the stores chosen."
    assert figure.layout.annotations[0].text == "This promotion did not run in the stores chosen"


def table_products(table: Component) -> list[str]:
    """Product names of a components.build_table table, top to bottom."""
    body = table.children.children[1]
    return [row.children[0].children[0] for row in body.children]


def test_update_table_lists_best_and_worst_by_net_revenue(
    promotions: ModuleType, expected: duckdb.DuckDBPyConnection
) -> None:
    ranked = per_promotion(expected).sort(["net_revenue", "promo_id"], descending=[True, False])
    result = promotions.update_table(None, None, None, "net_revenue")
    best_title, best, worst_title, worst = result.children
    assert (best_title.children, worst_title.children) == ("Best 10", "Worst 10")
    assert table_products(best) == ranked["product_name"].head(10).to_list()
    assert table_products(worst) == ranked["product_name"].tail(10).to_list()


def test_update_table_ranks_by_uplift_and_ignores_a_bad_choice(promotions: ModuleType) -> None:
    by_uplift = promotions.update_table(None, None, None, "uplift")
    by_default = promotions.update_table(None, None, None, "drop table")
    assert table_products(by_uplift.children[1]) != table_products(by_default.children[1])
    assert table_products(by_default.children[1]) == table_products(
        promotions.update_table(None, None, None, "net_revenue").children[1]
    )


def test_download_csv_has_every_promotion(
    promotions: ModuleType, expected: duckdb.DuckDBPyConnection
) -> None:
    category = some_category(expected)
    download = promotions.download_csv(1, category, None, None)
    rows = list(csv.DictReader(io.StringIO(download["content"])))
    assert download["filename"] == "promotions.csv"
    assert sorted(int(r["promo_id"]) for r in rows) == sorted(
        per_promotion(expected, category)["promo_id"].to_list()
    )
    assert {"uplift_pct_lo95", "net_incremental_revenue_hi95"} <= set(rows[0])


def test_update_filters_drops_an_unknown_category_and_store(
    promotions: ModuleType, expected: duckdb.DuckDBPyConnection
) -> None:
    categories, category, regions, stores, store = promotions.update_filters(None, "Caviar", "99")
    assert [c["value"] for c in categories] == sorted(
        r[0] for r in expected.sql("select distinct category from products").fetchall()
    )
    assert (category, store) == (None, None)
    assert len(stores) == expected.sql("select count(*) from stores").fetchall()[0][0]
    assert regions


def test_layout_restores_controls_from_url(promotions: ModuleType) -> None:
    page = promotions.layout(
        category="Dairy", region="Bretagne", store="2", promo="12", rank="units"
    )
    values = [
        find(page, component_id).value
        for component_id in (
            promotions.CATEGORY_ID, promotions.REGION_ID, promotions.STORE_ID,
            promotions.PROMO_ID, promotions.RANK_ID,
        )
    ]  # fmt: skip
    assert values == ["Dairy", "Bretagne", "2", "12", "units"]


def test_layout_ignores_bad_url_values(promotions: ModuleType) -> None:
    page = promotions.layout(store="2; drop", promo="-1", rank="evil", category="x" * 300)
    assert find(page, promotions.STORE_ID).value is None
    assert find(page, promotions.PROMO_ID).value is None
    assert find(page, promotions.RANK_ID).value == "net_revenue"
    assert find(page, promotions.CATEGORY_ID).value is None


def test_embed_draws_uplift_by_depth(
    promotions: ModuleType, expected: duckdb.DuckDBPyConnection
) -> None:
    category = some_category(expected)
    embed = EMBEDS["promotion-uplift"]
    figure = embed.build(expected.cursor(), {"category": category, "store": "nope"})
    assert [trace.name for trace in figure.data] == [category]


def test_format_ranking_writes_intervals_with_separators(promotions: ModuleType) -> None:
    row = {
        "category": "Dairy", "start_date": dt.date(2025, 3, 1), "end_date": dt.date(2025, 3, 14),
        "discount_pct": 0.25, "uplift_pct": 0.5, "uplift_pct_lo95": 0.25,
        "uplift_pct_hi95": None, "incremental_units": 1234.4,
        "incremental_units_lo95": -1234.6, "incremental_units_hi95": 3000.0,
        "incremental_revenue": 1.0, "incremental_revenue_lo95": 0.0,
        "incremental_revenue_hi95": 2.0, "dip_units": -3.2, "cannibalised_units": 0.4,
        "net_incremental_revenue": 1.0, "net_incremental_revenue_lo95": -1.0,
        "net_incremental_revenue_hi95": 3.0,
    }  # fmt: skip
    shown = promotions.format_ranking(pl.DataFrame([row])).row(0, named=True)
    assert shown["period"] == "Dairy · 01 Mar-14 Mar 25"
    assert (shown["discount"], shown["uplift"], shown["extra_units"]) == (25, 50.0, 1234)
    assert shown["uplift_ci"] == "25% to unbounded"
    assert shown["extra_units_ci"] == "-1,235 to 3,000"
    assert (shown["dip"], shown["cannibalised"]) == (-3, 0)


def test_page_without_estimates_explains_itself(tiny_db: Path, tmp_path: Path) -> None:
    """A store built before the promotion job ran (or with no promotions): empty states."""
    target = tmp_path / "empty.duckdb"
    shutil.copy(tiny_db, target)
    with duckdb.connect(str(target)) as con:
        con.execute("delete from promotion_estimates; delete from promotion_baseline_days")
        for sql in sql_files():
            if sql.name.startswith("33") and sql.view:
                _drop(con, sql.view)
                _apply(con, sql)
    app = create_app(Settings(db_path=target))
    try:
        with app.server.app_context():
            page = importlib.import_module("dashboard.pages.promotions")
            depth = page.update_depth_chart(None, None, None)
            assert depth.layout.annotations[0].text == "No data for these filters"
            choice = as_triggered_by(
                "promotions-category.value",
                page.update_promotion_choice,
                *(None, None, None, None, None),
            )
            assert choice == ([], None)
            _, note = page.update_detail(None, None, None)
            assert note.children == "Choose a promotion to see it day by day."
            table = page.update_table(None, None, None, "net_revenue")
            assert table.children == "No estimated promotion matches these filters."
    finally:
        close_database(app)


@pytest.fixture(scope="module")
def promo_server(promo_db: Path) -> Iterator[str]:
    with serve(Settings(db_path=promo_db)) as url:
        yield url


def screenshot_path(tmp_path: Path, name: str) -> Path:
    directory = Path(os.environ.get("SHELFSIGHT_SCREENSHOT_DIR") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory / name


def wait_for_page(page: Page) -> None:
    for graph in ("#promotions-uplift-by-depth", "#promotions-scatter", "#promotions-detail"):
        expect(page.locator(f"{graph} .main-svg").first).to_be_visible()
    expect(page.locator("#promotions-ranking table").first).to_be_visible()
    expect(page.locator("#promotions-kpi-units")).to_be_visible()


@pytest.mark.browser
def test_promotions_category_filter_updates_chart_and_url(
    page: Page,
    promo_server: str,
    console_errors: list[str],
    expected: duckdb.DuckDBPyConnection,
    tmp_path: Path,
) -> None:
    category = some_category(expected)
    page.set_viewport_size(WIDE)
    page.goto(f"{promo_server}promotions")
    wait_for_page(page)
    legend = page.locator("#promotions-uplift-by-depth .legend .traces")
    expect(legend).to_have_count(12)
    page.screenshot(path=screenshot_path(tmp_path, "promotions-1400x900.png"), full_page=True)
    page.locator("#promotions-category").click()
    page.get_by_role("option", name=category, exact=True).click()
    expect(legend).to_have_count(1)
    expect(page.locator("#promotions-uplift-by-depth .legend")).to_contain_text(category)
    expect(page).to_have_url(re.compile(re.escape(urlencode({"category": category}))))
    assert console_errors == []


@pytest.mark.browser
def test_promotions_click_on_a_point_shows_it_day_by_day(
    page: Page, promo_server: str, console_errors: list[str]
) -> None:
    page.set_viewport_size(WIDE)
    page.goto(f"{promo_server}promotions")
    wait_for_page(page)
    expect(page).to_have_url(re.compile(r"promo=\d+"))
    before = parse_qs(urlsplit(page.url).query)["promo"]
    title = page.locator("#promotions-detail .gtitle")
    shown = title.text_content()
    point = page.locator("#promotions-scatter .scatterlayer .trace:first-child .point").first
    point.click(force=True)
    expect(title).not_to_have_text(shown or "")
    expect(page).not_to_have_url(re.compile(f"promo={before[0]}(&|$)"))
    (chosen,) = parse_qs(urlsplit(page.url).query)["promo"]
    expect(page.locator("#promotions-promo")).to_have_value(re.compile(rf"\(#{chosen}\)$"))
    assert console_errors == []


@pytest.mark.browser
def test_promotions_url_round_trip(
    page: Page, promo_server: str, expected: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    category = some_category(expected)
    promos = per_promotion(expected, category).sort("promo_id")
    promo_id, product = promos["promo_id"][-1], promos["product_name"][-1]
    query = {"category": category, "promo": promo_id, "rank": "units"}
    page.set_viewport_size(NARROW)
    page.goto(f"{promo_server}promotions?{urlencode(query)}")
    wait_for_page(page)
    expect(page.locator("#promotions-category")).to_have_value(category)
    expect(page.locator("#promotions-rank-by")).to_have_value("Extra units")
    expect(page.locator("#promotions-detail .gtitle")).to_contain_text(product)
    assert parse_qs(urlsplit(page.url).query)["promo"] == [str(promo_id)]
    page.screenshot(path=screenshot_path(tmp_path, "promotions-390x844.png"), full_page=True)
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0
