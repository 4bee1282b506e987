"""The seasonality page: its queries, callbacks and embeds against SQL over `daily_sales`, and the
page in a real Chromium (filters, URL both ways, screenshots)."""

from __future__ import annotations

import base64
import datetime as dt
import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import dash_mantine_components as dmc
import duckdb
import numpy as np
import plotly.graph_objects as go
import polars as pl
import pytest
from dash import Dash, html
from dash._utils import to_json
from dash.development.base_component import Component
from playwright.sync_api import Page, expect
from polars.testing import assert_frame_equal

from analytics import seasonality as analytics
from dashboard import components
from dashboard.db import current_database
from dashboard.figures import seasonality as figures
from dashboard.queries import seasonality as queries

WIDE = {"width": 1400, "height": 900}
NARROW = {"width": 390, "height": 844}

# The scope's daily totals and calendar, computed without the page's marts or analytics.
SCOPE_DAYS = """
    select
        sales.date,
        sum(sales.units_sold)::double as units_sold,
        count(*) as series_count,
        count(*) filter (where sales.is_promo) as promo_count,
    from daily_sales as sales
    inner join products using (product_id)
    inner join stores using (store_id)
    where products.category = $category
        and ($region is null or stores.region = $region)
        and ($store_id is null or sales.store_id = $store_id)
        and ($product_id is null or sales.product_id = $product_id)
    group by sales.date
"""
CALENDAR = """
    select
        date, month, weekday, is_store_closed,
        is_store_closed or is_public_holiday
            or coalesce(lead(is_public_holiday) over (order by date), false) as is_special,
    from calendar
"""


@pytest.fixture
def seasonality(app: Dash) -> Iterator[ModuleType]:
    """The page module as `app` registered it, inside the app's context."""
    with app.server.app_context():
        yield importlib.import_module("dashboard.pages.seasonality")


def scope_days(
    con: duckdb.DuckDBPyConnection,
    category: str,
    *,
    region: str | None = None,
    store_id: int | None = None,
    product_id: int | None = None,
) -> pl.DataFrame:
    params = {
        "category": category,
        "region": region,
        "store_id": store_id,
        "product_id": product_id,
    }
    days = con.sql(SCOPE_DAYS, params=params).pl()
    return days.join(con.sql(CALENDAR).pl(), on="date").sort("date")


def first_category(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.sql("select min(category) from products").fetchall()[0][0])


def some_product(con: duckdb.DuckDBPyConnection, category: str) -> tuple[int, str]:
    product_id, name = con.sql(
        "select product_id, product_name from products where category = $c order by product_id",
        params={"c": category},
    ).fetchall()[0]
    return int(product_id), str(name)


def find(tree: Component | list[Component], component_id: str) -> Component:
    root = html.Div(tree) if isinstance(tree, list) else tree
    found: Component = root[component_id]
    return found


# Queries


def test_load_category_days_matches_daily_sales(expected_db: duckdb.DuckDBPyConnection) -> None:
    region = str(expected_db.sql("select min(region) from stores").fetchall()[0][0])
    expected = scope_days(expected_db, "Dairy", region=region)
    got = queries.load_category_days(
        expected_db.cursor(), category="Dairy", region=region, store_id=None
    )
    assert got.get_column("date").to_list() == expected.get_column("date").to_list()
    assert got.get_column("units_sold").to_list() == expected.get_column("units_sold").to_list()
    assert got.get_column("promo_count").to_list() == expected.get_column("promo_count").to_list()
    assert got.schema["units_sold"] == pl.Float64


def test_load_product_days_sums_stores_and_checks_category(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    product_id, _ = some_product(expected_db, "Dairy")
    expected = scope_days(expected_db, "Dairy", product_id=product_id)
    cur = expected_db.cursor()
    got = queries.load_product_days(cur, category="Dairy", product_id=product_id, region=None)
    assert got.get_column("units_sold").to_list() == expected.get_column("units_sold").to_list()
    assert got.get_column("series_count").to_list() == expected.get_column("series_count").to_list()
    wrong = queries.load_product_days(cur, category="Bakery", product_id=product_id, region=None)
    assert wrong.is_empty()


def test_load_series_days_reads_one_series_with_its_gaps(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    store_id, product_id, count = expected_db.sql(
        "select store_id, product_id, count(*) from daily_sales group by all order by 3, 1, 2"
    ).fetchall()[0]
    got = queries.load_series_days(expected_db.cursor(), store_id=store_id, product_id=product_id)
    assert got.height == count < 731
    assert got.get_column("series_count").unique().to_list() == [1]


def test_load_category_days_names_holidays_and_their_eves(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    days = queries.load_category_days(
        expected_db.cursor(), category="Dairy", region=None, store_id=None
    )
    christmas = days.filter(pl.col("date") == dt.date(2024, 12, 25)).row(0, named=True)
    eve = days.filter(pl.col("date") == dt.date(2024, 12, 24)).row(0, named=True)
    assert (christmas["is_store_closed"], christmas["holiday_name"]) == (True, "Noël")
    assert (eve["is_store_closed"], eve["holiday_name"], eve["eve_of"]) == (False, None, "Noël")
    closed = expected_db.sql("select count(*) from calendar where is_store_closed").fetchall()[0][0]
    assert days.get_column("is_store_closed").sum() == closed


# Filters


def test_update_category_and_region_defaults_to_first_category(
    seasonality: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    categories = [
        row[0]
        for row in expected_db.sql("select distinct category from products order by 1").fetchall()
    ]
    options, category, regions, region = seasonality.update_category_and_region(
        {"category": "No such category", "region": "Atlantis"}
    )
    assert options == [{"value": name, "label": name} for name in categories]
    assert category == categories[0]
    assert len(regions) == 4
    assert region is None


def test_update_category_and_region_keeps_known_values(seasonality: ModuleType) -> None:
    _, category, _, region = seasonality.update_category_and_region(
        {"category": "Dairy", "region": "Bretagne"}
    )
    assert (category, region) == ("Dairy", "Bretagne")


def test_update_products_narrows_to_category_and_drops_others(
    seasonality: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    dairy = expected_db.sql(
        "select product_id, product_name from products where category = 'Dairy' "
        "order by product_name, product_id"
    ).fetchall()
    bakery_id, _ = some_product(expected_db, "Bakery")
    options, value = seasonality.update_products("Dairy", str(bakery_id))
    assert options == [{"value": str(pid), "label": name} for pid, name in dairy]
    assert value is None
    assert seasonality.update_products("Dairy", str(dairy[0][0]))[1] == str(dairy[0][0])


def test_update_stores_keeps_store_only_within_region(seasonality: ModuleType) -> None:
    options, value = seasonality.update_stores("Bretagne", "2")
    assert (options, value) == ([{"value": "2", "label": "Proxi Saint-Malo"}], "2")
    assert seasonality.update_stores("Grand Est", "2")[1] is None


def test_layout_takes_filters_from_url_and_ignores_garbage(seasonality: ModuleType) -> None:
    page = seasonality.layout(category="Dairy", region="Bretagne", store="2; drop", product="5")
    assert find(page, seasonality.CATEGORY_ID).value == "Dairy"
    assert find(page, seasonality.REGION_ID).value == "Bretagne"
    assert find(page, seasonality.STORE_ID).value is None
    assert find(page, seasonality.PRODUCT_ID).value == "5"
    assert find(page, seasonality.REQUEST_ID).data == {
        "category": "Dairy",
        "region": "Bretagne",
        "store": None,
        "product": "5",
    }


# Charts


def test_update_heatmap_cells_are_mean_daily_units_on_open_days(
    seasonality: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    days = scope_days(expected_db, "Dairy", store_id=3).filter(~pl.col("is_store_closed"))
    expected = days.group_by("month", "weekday").agg(pl.col("units_sold").mean())
    figure, _ = seasonality.update_heatmap("Dairy", None, "3", None, [], [])
    z = figure.data[0].z
    for month, weekday, mean in expected.iter_rows():
        assert z[month - 1][weekday - 1] == pytest.approx(mean, rel=1e-12)


def test_update_heatmap_describes_the_scope(
    seasonality: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    product_id, name = some_product(expected_db, "Dairy")
    units = scope_days(expected_db, "Dairy", store_id=2, product_id=product_id)
    products = [{"value": str(product_id), "label": name}]
    stores = [{"value": "2", "label": "Proxi Saint-Malo"}]
    _, text = seasonality.update_heatmap(
        "Dairy", "Bretagne", "2", str(product_id), stores, products
    )
    total = units.get_column("units_sold").sum()
    assert text == (
        f"Dairy · Bretagne · Proxi Saint-Malo · {name}: {total:,.0f} units over "
        f"{units.height} days of data "
        "(01 Jan 2024 to 31 Dec 2025), from one store x product series."
    )


def test_update_profiles_weekday_index_matches_full_weeks_without_holidays(
    seasonality: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    days = scope_days(expected_db, "Bakery").with_columns(week=pl.col("date").dt.truncate("1w"))
    kept = days.filter((pl.len().over("week") == 7) & ~pl.col("is_special").any().over("week"))
    expected = (
        kept.with_columns(index=pl.col("units_sold") / pl.col("units_sold").mean().over("week"))
        .group_by("weekday")
        .agg(pl.col("index").mean(), pl.col("week").n_unique())
        .sort("weekday")
    )
    weekday, _ = seasonality.update_profiles("Bakery", None, None, None)
    index = weekday.data[2]
    assert list(index.x) == [1, 2, 3, 4, 5, 6, 7]
    assert list(index.y) == pytest.approx(expected.get_column("index").to_list(), rel=1e-12)
    weeks = expected.get_column("week")[0]
    assert (
        weekday.layout.title.subtitle.text == f"Band: 95% CI across {weeks} weeks with no holiday"
    )
    assert all(
        low < y < high
        for low, y, high in zip(weekday.data[1].y, index.y, weekday.data[0].y, strict=True)
    )


def test_update_profiles_yearly_index_matches_weekly_totals(
    seasonality: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    expected = expected_db.sql(
        f"""
        with days as ({SCOPE_DAYS}),
        weeks as (
            select date_trunc('week', date)::date as week_start, sum(units_sold) as total,
            from days group by all having count(*) = 7
        ),
        indexed as (
            select
                month(week_start + 3) as month,
                total / avg(total) over (partition by year(week_start + 3)) as week_index,
            from weeks
        )
        select month, avg(week_index) from indexed group by month order by month
        """,
        params={"category": "Ice cream", "region": None, "store_id": None, "product_id": None},
    ).fetchall()
    _, yearly = seasonality.update_profiles("Ice cream", None, None, None)
    assert list(yearly.data[2].x) == [month for month, _ in expected]
    assert list(yearly.data[2].y) == pytest.approx([value for _, value in expected], rel=1e-12)
    # Ice cream peaks in summer: July well above January.
    assert yearly.data[2].y[6] > 2 * yearly.data[2].y[0]


def sent_array(values: dict[str, str]) -> np.ndarray[Any, Any]:
    """An array as the decomposition sends it: a plotly.js typed array (base64 `bdata`)."""
    return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])


def test_update_decomposition_observed_is_the_scope_and_anomalies_are_listed(
    seasonality: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    days = scope_days(expected_db, "Beer & Wine", region="Grand Est")
    spec, table, rows = seasonality.update_decomposition("Beer & Wine", "Grand Est", None, None)
    figure = go.Figure(spec)  # the callback sends a plain dict; validated here
    observed = figure.data[0]
    assert (observed.name, observed.x0, observed.dx) == (
        "Observed",
        dt.date(2024, 1, 1),
        86_400_000,
    )
    assert np.array_equal(sent_array(observed.y), days.get_column("units_sold").to_numpy())
    anomalies = sent_array(figure.data[3].y)
    marked = days.get_column("date").filter(~np.isnan(anomalies)).cast(pl.String)
    assert set(marked) == {row["date"] for row in rows}
    scores = [abs(row["score"]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    assert all(abs(row["score"]) > 3.5 for row in rows)
    closed = set(days.filter(pl.col("is_store_closed")).get_column("date").to_list())
    assert closed.isdisjoint(dt.date.fromisoformat(row["date"]) for row in rows)
    for row in rows:
        assert row["observed"] - row["expected"] == pytest.approx(row["residual_units"])
    body = table["props"]["children"][0]["props"]["children"]["props"]["children"][1]
    assert len(body["props"]["children"]) == min(len(rows), figures.ANOMALIES_SHOWN)


def test_update_decomposition_single_series_fills_missing_days(
    seasonality: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    store_id, product_id, category = expected_db.sql(
        """
        select store_id, product_id, any_value(category) from daily_sales
        inner join products using (product_id)
        group by all order by count(*), 1, 2 limit 1
        """
    ).fetchall()[0]
    days = scope_days(expected_db, category, store_id=store_id, product_id=product_id)
    spec, _, rows = seasonality.update_decomposition(category, None, str(store_id), str(product_id))
    observed = pl.DataFrame(
        {
            "date": pl.date_range(dt.date(2024, 1, 1), dt.date(2025, 12, 31), "1d", eager=True),
            "shown": sent_array(spec["data"][0]["y"]),
        }
    )
    joined = observed.join(days, on="date", how="left")
    assert joined.height == 731
    assert (
        joined.filter(pl.col("units_sold").is_not_null())
        .select((pl.col("shown") == pl.col("units_sold")).all())
        .item()
    )
    missing = set(joined.filter(pl.col("units_sold").is_null()).get_column("date").to_list())
    assert missing  # this series has gaps, filled for the fit and never flagged
    assert missing.isdisjoint(dt.date.fromisoformat(row["date"]) for row in rows)
    assert {row["promotion"] for row in rows} <= {"yes", "-"}


def test_update_decomposition_flags_nothing_on_an_intermittent_series(
    seasonality: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    """The most intermittent store x product (no sale on most open days): no anomaly flags,
    a note saying why; its category over all stores does get flags."""
    store_id, product_id, category, zero_share = expected_db.sql(
        """
        select store_id, product_id, any_value(category), avg((units_sold = 0)::integer)
        from daily_sales
        inner join products using (product_id)
        inner join calendar using (date)
        where not is_store_closed
        group by store_id, product_id
        order by 4 desc, 1, 2
        limit 1
        """
    ).fetchall()[0]
    assert zero_share > seasonality.MAX_ZERO_SHARE
    spec, note, rows = seasonality.update_decomposition(
        category, None, str(store_id), str(product_id)
    )
    assert rows == []
    assert note.children == seasonality.INTERMITTENT_NOTE
    assert np.isnan(sent_array(spec["data"][3]["y"])).all()
    assert seasonality.update_decomposition(category, None, None, None)[2] != []


def test_update_decomposition_without_data_says_so(
    seasonality: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    bakery_id, _ = some_product(expected_db, "Bakery")
    spec, note, rows = seasonality.update_decomposition("Dairy", None, None, str(bakery_id))
    assert go.Figure(spec).layout.annotations[0].text == seasonality.SHORT_SERIES_MESSAGE
    assert note.children == seasonality.SHORT_SERIES_MESSAGE + "."
    assert rows == []


def test_build_anomaly_rows_explains_holidays_promotions_and_stockouts() -> None:
    dates = [dt.date(2024, 12, 24), dt.date(2024, 12, 25), dt.date(2024, 12, 26)]
    parts = pl.DataFrame(
        {
            "date": dates,
            "observed": [300.0, 0.0, 50.0],
            "expected": [200.0, 180.0, 100.0],
            "residual": [0.5, -1.0, -0.5],
            "score": [4.0, -9.0, -3.6],
            "is_anomaly": [True, True, True],
        }
    )
    days = pl.DataFrame(
        {
            "date": dates,
            "series_count": [10, 10, 1],
            "promo_count": [3, 0, 1],
            "stockout_count": [0, 0, 1],
            "is_store_closed": [False, True, False],
            "holiday_name": [None, "Noël", None],
            "eve_of": ["Noël", None, None],
        }
    )
    rows = figures.build_anomaly_rows(analytics.describe_anomalies(parts, days))
    assert rows.select("date_text", "calendar", "promotion", "stockout", "deviation").rows() == [
        ("25 Dec 2024", "Stores closed (Noël)", "0%", "0%", "-100% vs expected"),
        ("24 Dec 2024", "Eve of Noël", "30%", "0%", "+50% vs expected"),
        ("26 Dec 2024", "-", "yes", "yes", "-50% vs expected"),
    ]


@pytest.mark.parametrize("shown", [3, 20])
def test_build_anomaly_table_is_the_json_of_the_component_table(shown: int) -> None:
    """The table is built as the dicts Dash would send of `components.build_table` in a Stack:
    the same JSON, so the page shows the same table."""
    rows = pl.DataFrame(
        {
            "date_text": [f"{day:02d} Jan 2025" for day in range(1, shown + 1)],
            "weekday": ["Wednesday"] * shown,
            "observed": list(range(shown)),
            "expected": [1234.56] * shown,
            "residual_units": [-3.25] * shown,
            "deviation": ["+5% vs expected"] * shown,
            "calendar": ["-"] * shown,
            "promotion": ["yes"] * shown,
            "stockout": ["12%"] * shown,
        }
    )
    count = (
        f"{shown} days flagged."
        if shown <= figures.ANOMALIES_SHOWN
        else f"The {figures.ANOMALIES_SHOWN} largest of {shown} days flagged; the CSV has all."
    )
    expected = dmc.Stack(
        [
            components.build_table(
                rows.head(figures.ANOMALIES_SHOWN), figures.ANOMALY_COLUMNS, min_width=820
            ),
            dmc.Text(count, size="sm", c="dimmed"),
        ],
        gap="xs",
    )
    built = figures.build_anomaly_table(rows)
    assert json.loads(to_json(built)) == json.loads(to_json(expected))


def test_download_anomalies_sends_every_row_as_csv(seasonality: ModuleType) -> None:
    _, _, rows = seasonality.update_decomposition("Bakery", None, None, None)
    sent = seasonality.download_anomalies(1, rows)
    lines = sent["content"].splitlines()
    assert sent["filename"] == "seasonality-anomalies.csv"
    assert lines[0] == ",".join(figures.CSV_COLUMNS)
    assert len(lines) == len(rows) + 1
    assert seasonality.download_anomalies(1, [])["content"] == lines[0] + "\n"


# Embeds


def test_embed_heatmap_parses_url_like_the_page(
    seasonality: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    with current_database().cursor() as cur:
        embedded = seasonality.embed_heatmap(cur, {"category": "Dairy", "store": "2"})
        fallback = seasonality.embed_heatmap(cur, {"category": "<b>", "store": "99"})
    page, _ = seasonality.update_heatmap("Dairy", None, "2", None, [], [])
    assert embedded.data[0].z == page.data[0].z
    assert embedded.layout.title.subtitle.text.startswith(
        "Dairy · all regions · Proxi Saint-Malo · all products · "
    )
    first = first_category(expected_db)
    assert fallback.layout.title.subtitle.text.startswith(f"{first} · all regions · all stores")


def test_embed_decomposition_is_registered(seasonality: ModuleType) -> None:
    from dashboard.embeds import EMBEDS

    assert {"seasonality-heatmap", "seasonality-decomposition"} <= set(EMBEDS)
    with current_database().cursor() as cur:
        figure = EMBEDS["seasonality-decomposition"].build(cur, {"category": "Dairy"})
    assert [trace.name for trace in figure.data][:4] == ["Observed", "Expected", "Trend", "Anomaly"]


# In the browser


def wait_for_page(page: Page) -> None:
    for graph in ("heatmap", "weekday-profile", "yearly-profile", "decomposition"):
        expect(page.locator(f"#seasonality-{graph} .main-svg").first).to_be_visible()
    expect(
        page.locator("#seasonality-anomalies table, #seasonality-anomalies .empty-note")
    ).to_be_visible()


def heatmap_z(page: Page) -> Any:
    return page.evaluate(
        "() => document.querySelector('#seasonality-heatmap .js-plotly-plot').data[0].z"
    )


def expected_z(con: duckdb.DuckDBPyConnection, category: str, **scope: Any) -> list[list[Any]]:
    days = scope_days(con, category, **scope).filter(~pl.col("is_store_closed"))
    means = days.group_by("month", "weekday").agg(pl.col("units_sold").mean())
    cells = {(month, weekday): mean for month, weekday, mean in means.iter_rows()}
    return [[cells.get((month, day)) for day in range(1, 8)] for month in range(1, 13)]


def assert_z(shown: list[list[float]], wanted: list[list[float]]) -> None:
    assert np.allclose(np.array(shown, dtype=float), np.array(wanted, dtype=float), rtol=1e-9)


@pytest.mark.browser
def test_seasonality_category_change_updates_charts_and_url(
    page: Page,
    live_server: str,
    console_errors: list[str],
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    first = first_category(expected_db)
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server}seasonality")
    wait_for_page(page)
    expect(page.locator("#seasonality-category")).to_have_value(first)
    assert_z(heatmap_z(page), expected_z(expected_db, first))
    page.locator("#seasonality-category").click()
    page.get_by_role("option", name="Ice cream", exact=True).click()
    expect(page.locator("#seasonality-scope")).to_contain_text("Ice cream · all regions")
    page.wait_for_function(
        "() => document.querySelector('#seasonality-heatmap .js-plotly-plot').data[0].z[6][5] > 0"
    )
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("category") == ["Ice cream"])
    assert_z(heatmap_z(page), expected_z(expected_db, "Ice cream"))
    assert console_errors == []


@pytest.mark.browser
def test_seasonality_url_round_trip_restores_filters_and_series(
    page: Page,
    live_server: str,
    console_errors: list[str],
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    product_id, name = some_product(expected_db, "Dairy")
    query = {"category": "Dairy", "region": "Bretagne", "store": "2", "product": str(product_id)}
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server}seasonality?{urlencode(query)}")
    wait_for_page(page)
    expect(page.locator("#seasonality-category")).to_have_value("Dairy")
    expect(page.locator("#seasonality-region")).to_have_value("Bretagne")
    expect(page.locator("#seasonality-store")).to_have_value("Proxi Saint-Malo")
    expect(page.locator("#seasonality-product")).to_have_value(name)
    expect(page.locator("#seasonality-scope")).to_contain_text(
        f"Dairy · Bretagne · Proxi Saint-Malo · {name}"
    )
    assert_z(heatmap_z(page), expected_z(expected_db, "Dairy", store_id=2, product_id=product_id))
    assert parse_qs(urlsplit(page.url).query) == {key: [value] for key, value in query.items()}
    assert console_errors == []


@pytest.mark.browser
def test_seasonality_bad_url_values_fall_back(
    page: Page,
    live_server: str,
    console_errors: list[str],
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    first = first_category(expected_db)
    page.goto(f"{live_server}seasonality?category=%3Cscript%3E&region=Atlantis&store=x&product=-1")
    wait_for_page(page)
    expect(page.locator("#seasonality-category")).to_have_value(first)
    expect(page.locator("#seasonality-scope")).to_contain_text(
        f"{first} · all regions · all stores · all products"
    )
    assert parse_qs(urlsplit(page.url).query) == {"category": [first]}
    assert "Traceback" not in page.content()
    assert console_errors == []


@pytest.mark.browser
def test_seasonality_downloads_anomalies_as_csv(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}seasonality?category=Dairy")
    wait_for_page(page)
    with page.expect_download() as download:
        page.locator("#seasonality-download-button").click()
    assert download.value.suggested_filename == "seasonality-anomalies.csv"
    header = Path(download.value.path()).read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("date,weekday,observed,expected,")


@pytest.mark.browser
@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["wide", "phone"])
def test_seasonality_screenshots_fit_the_screen(
    page: Page,
    live_server: str,
    console_errors: list[str],
    screenshot_dir: Path,
    size: dict[str, int],
) -> None:
    page.set_viewport_size(size)
    page.goto(f"{live_server}seasonality?category=Beer+%26+Wine")
    wait_for_page(page)
    page.screenshot(
        path=screenshot_dir / f"seasonality-{size['width']}x{size['height']}.png", full_page=True
    )
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0
    assert console_errors == []


def test_decomposition_figure_passes_plotly_validation() -> None:
    """The figure is built with `_validate=False` for speed: rebuilt with validation, it holds."""
    days = 28
    parts = pl.DataFrame(
        {
            "date": [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(days)],
            "observed": [10.0 + i % 7 for i in range(days)],
            "expected": [10.0] * days,
            "trend": [2.3] * days,
            "weekly": [0.01 * (i % 7) for i in range(days)],
            "yearly": [0.0] * days,
            "residual": [0.0] * days,
            "is_anomaly": [i == 5 for i in range(days)],
            "resid_low": [-0.5] * days,
            "resid_high": [0.5] * days,
        }
    )
    figure = figures.build_decomposition_figure(parts, threshold=3.5, scope_label="Dairy")
    rebuilt = go.Figure(figure.to_dict())
    assert [trace.name for trace in rebuilt.data] == [
        "Observed",
        "Expected",
        "Trend",
        "Anomaly",
        "Weekly effect",
        "Yearly effect",
        "Residual",
    ]


def test_load_series_days_equals_the_series_activity_view(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    store_id, product_id = expected_db.sql(
        "select store_id, product_id from daily_sales where is_stockout and is_promo limit 1"
    ).fetchall()[0]
    expected = expected_db.sql(
        """
        select date, units_sold::double as units_sold, series_count, promo_count,
            stockout_count, is_store_closed, holiday_name, eve_of,
        from daily_series_activity
        where store_id = $s and product_id = $p
        order by date
        """,
        params={"s": store_id, "p": product_id},
    ).pl()
    cur = expected_db.cursor()
    calendar = queries.load_calendar_flags(cur)
    got = queries.load_series_days(cur, store_id=store_id, product_id=product_id)
    assert_frame_equal(got, expected)
    given = queries.load_series_days(
        cur, store_id=store_id, product_id=product_id, calendar=calendar
    )
    assert_frame_equal(given, expected)
    assert got.get_column("holiday_name").drop_nulls().len() > 0
