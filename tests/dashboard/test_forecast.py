"""The Forecast page: its queries against SQL over `daily_sales`, its figure from hand-made frames,
its callback with the real pipeline on the tiny database, and the page in a real Chromium.

The pipeline runs a few times only (module-scoped results): each run takes about a second.
Screenshots go to $SHELFSIGHT_SCREENSHOT_DIR when set (to look at them), else to tmp_path.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import duckdb
import plotly.graph_objects as go
import polars as pl
import pytest
from dash import Dash, html
from dash.development.base_component import Component
from playwright.sync_api import Page, expect

from dashboard import components, filters
from dashboard.app import create_app
from dashboard.db import CONNECTION_CONFIG, current_database
from dashboard.embeds import EMBEDS
from dashboard.figures import forecast as forecast_figures
from dashboard.queries import forecast as q
from dashboard.settings import Settings
from tests.dashboard.support import close_database

STORE, PRODUCT = 3, 34  # the tiny data's series with the most stockout days in the last months
LAST_DAY = dt.date(2025, 12, 31)
WINDOW = (dt.date(2025, 7, 1), LAST_DAY)  # the default window: the last six months
HORIZON = 14
SINGLE = {"store": str(STORE), "product": str(PRODUCT), "model": "naive", "horizon": HORIZON}
TARGET = dt.date(2026, 1, 10)
LOAD_TIMEOUT_MS = 30_000


def controls(**values: Any) -> list[Any]:
    """The page's FORECAST_INPUTS values in order, defaults unless given."""
    defaults: dict[str, Any] = {"dates": [None, None], "model": "auto", "horizon": 28}
    merged = {**defaults, **values}
    keys = ("dates", "region", "store", "category", "subcategory", "product", "model")
    return [merged.get(key) for key in (*keys, "horizon", "on")]


def find(tree: Component | list[Component], component_id: str) -> Component:
    root = html.Div(tree) if isinstance(tree, list) else tree
    found: Component = root[component_id]
    return found


def trace(figure: go.Figure, name: str) -> Any:
    (found,) = [item for item in figure.data if item.name == name]
    return found


def message(figure: go.Figure) -> str:
    """The one-line message of a figure that shows no chart."""
    assert list(figure.data) == []
    (note,) = figure.layout.annotations
    text: str = note.text
    return text


@pytest.fixture(scope="module")
def page_app(tiny_db: Path) -> Iterator[Dash]:
    """One app for the module, so that the pipeline's results can be shared between tests."""
    app = create_app(Settings(db_path=tiny_db))
    yield app
    close_database(app)


@pytest.fixture(scope="module")
def forecast_page(page_app: Dash) -> Iterator[ModuleType]:
    """The page module, as the app registered it, inside the app's context."""
    with page_app.server.app_context():
        yield importlib.import_module("dashboard.pages.forecast")


@pytest.fixture(scope="module")
def single(forecast_page: ModuleType) -> tuple[Any, ...]:
    """The callback's outputs for one store x product series (naive model, 14 days)."""
    result: tuple[Any, ...] = forecast_page.update_forecast(*controls(**SINGLE))
    return result


@pytest.fixture(scope="module")
def dated(forecast_page: ModuleType) -> tuple[Any, ...]:
    """The same series forecast up to a chosen date (which replaces the horizon)."""
    values = {**SINGLE, "horizon": 200, "on": TARGET.isoformat()}
    result: tuple[Any, ...] = forecast_page.update_forecast(*controls(**values))
    return result


@pytest.fixture(scope="module")
def module_db(tiny_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(tiny_db), read_only=True, config=CONNECTION_CONFIG) as con:
        yield con


def series_days(con: duckdb.DuckDBPyConnection, where: str, **params: Any) -> pl.DataFrame:
    """Per day of `daily_sales` (with stores and products), for expected values."""
    sql = f"""
        select
            sales.date,
            sum(sales.units_sold)::bigint as units_sold,
            sum(sales.revenue) / nullif(sum(sales.units_sold), 0) as weighted_price,
            avg(sales.price) as mean_price,
            avg(sales.is_stockout::integer) as stockout_share,
            avg(sales.is_promo::integer) as promo_share,
        from daily_sales as sales
        inner join stores using (store_id)
        inner join products using (product_id)
        where {where}
        group by sales.date
        order by sales.date
    """
    df: pl.DataFrame = con.sql(sql, params=params or None).pl()
    return df


# Queries -------------------------------------------------------------------------------------


def test_load_history_single_series_is_its_daily_rows(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    history = q.load_history(expected_db.cursor(), q.Series(store_id=STORE, product_id=PRODUCT))
    expected = series_days(expected_db, "store_id = $s and product_id = $p", s=STORE, p=PRODUCT)
    assert history.columns == list(q.HISTORY_COLUMNS)
    assert history.get_column("date").to_list() == expected.get_column("date").to_list()
    assert history.get_column("units_sold").to_list() == expected["units_sold"].to_list()
    stockouts = expected.filter(pl.col("stockout_share") == 1).get_column("date")
    assert history.filter("is_stockout").get_column("date").to_list() == stockouts.to_list()


@pytest.mark.parametrize(
    ("series", "where"),
    [
        (
            q.Series(region="Bretagne", category="Dairy"),
            "region = 'Bretagne' and category = 'Dairy'",
        ),
        (q.Series(product_id=PRODUCT), f"product_id = {PRODUCT}"),
        (q.Series(), "true"),
    ],
)
def test_load_history_aggregate_sums_in_sql(
    expected_db: duckdb.DuckDBPyConnection, series: q.Series, where: str
) -> None:
    history = q.load_history(expected_db.cursor(), series)
    expected = series_days(expected_db, where)
    assert history.get_column("date").to_list() == expected.get_column("date").to_list()
    assert history.get_column("units_sold").to_list() == expected["units_sold"].to_list()
    if series.product_id is None:  # a group: on a day nothing sold, the last known price
        weighted = expected.get_column("weighted_price")
        price = weighted.fill_null(strategy="forward").fill_null(strategy="backward")
    else:  # a product: the plain mean of its stores' prices
        price = expected.select(pl.coalesce("weighted_price", "mean_price")).to_series()
    assert history.get_column("price").to_list() == pytest.approx(price.to_list(), rel=1e-9)
    assert (
        history.get_column("is_stockout").to_list()
        == (expected.get_column("stockout_share") >= q.STOCKOUT_SHARE).to_list()
    )
    assert (
        history.get_column("is_promo").to_list()
        == (expected.get_column("promo_share") >= q.PROMO_SHARE).to_list()
    )


def test_load_history_columns_follow_the_source(expected_db: duckdb.DuckDBPyConnection) -> None:
    """A product's aggregate has the single series' columns; a group's those the mart has."""
    cur = expected_db.cursor()
    single = q.load_history(cur, q.Series(store_id=1, product_id=1))
    assert single.columns == list(q.HISTORY_COLUMNS)
    assert q.load_history(cur, q.Series(product_id=PRODUCT)).schema == single.schema
    group = q.load_history(cur, q.Series(store_id=1, category="Dairy"))
    assert group.columns == list(q.GROUP_COLUMNS)
    assert group.schema == single.select(q.GROUP_COLUMNS).schema
    assert group.get_column("date").is_unique().all()


# The callback with the pipeline ---------------------------------------------------------------


def test_forecast_trace_has_horizon_days_after_the_last_day(single: tuple[Any, ...]) -> None:
    figure = single[0]
    days = list(trace(figure, "Forecast").x)
    expected = [LAST_DAY + dt.timedelta(days=n) for n in range(1, HORIZON + 1)]
    assert [dt.date.fromisoformat(str(day)[:10]) for day in days] == expected
    for band in ("80% range", "95% range"):
        assert len(trace(figure, band).x) == 2 * HORIZON


def test_history_shows_the_default_window_only(
    single: tuple[Any, ...], module_db: duckdb.DuckDBPyConnection
) -> None:
    expected = series_days(
        module_db,
        "store_id = $s and product_id = $p and date between $a and $b",
        s=STORE,
        p=PRODUCT,
        a=WINDOW[0],
        b=WINDOW[1],
    )
    sold = trace(single[0], "Sold")
    assert [str(day)[:10] for day in sold.x] == [str(day) for day in expected["date"]]
    assert list(sold.y) == expected.get_column("units_sold").cast(pl.Float64).to_list()


def test_lost_sales_shading_matches_stockout_days(
    single: tuple[Any, ...], module_db: duckdb.DuckDBPyConnection
) -> None:
    out = module_db.sql(
        """
        select date from daily_sales
        where store_id = $s and product_id = $p and is_stockout and date between $a and $b
        order by date
        """,
        params={"s": STORE, "p": PRODUCT, "a": WINDOW[0], "b": WINDOW[1]},
    ).pl()["date"]
    figure = single[0]
    assert [str(day)[:10] for day in trace(figure, "Lost (estimated)").x] == [
        str(day) for day in out
    ]
    shaded = set()
    for shape in figure.layout.shapes:
        if shape.type == "rect":
            first = dt.date.fromisoformat(str(shape.x0)[:10]) + dt.timedelta(days=1)
            last = dt.date.fromisoformat(str(shape.x1)[:10])
            shaded |= {first + dt.timedelta(days=n) for n in range((last - first).days + 1)}
    assert shaded == set(out.to_list())
    assert out.len() == 23


def test_kpis_state_lost_units_and_model(single: tuple[Any, ...], forecast_page: Any) -> None:
    figure, kpis, _, _ = single
    lost = sum(trace(figure, "Lost (estimated)").y)
    lost_text = find(kpis, forecast_page.KPI_LOST_UNITS_ID).children
    assert lost_text == f"{forecast_figures.format_units(lost)} units"
    detail = find(kpis, f"{forecast_page.KPI_LOST_UNITS_ID}-detail").children
    assert detail == "On 23 stockout days, 01 Jul 2025 to 31 Dec 2025"
    assert find(kpis, forecast_page.KPI_LOST_REVENUE_ID).children.endswith(" EUR")
    assert find(kpis, forecast_page.KPI_MODEL_ID).children == "Naive"
    assert find(kpis, f"{forecast_page.KPI_MODEL_ID}-detail").children == "Chosen by the user"
    total = sum(trace(figure, "Forecast").y)
    forecast_text = find(kpis, forecast_page.KPI_FORECAST_ID).children
    assert forecast_text == f"{forecast_figures.format_units(total)} units"


def test_leaderboard_lists_every_backtested_model(single: tuple[Any, ...]) -> None:
    _, _, table, data = single
    models = [row["model"] for row in data["leaderboard"]]
    assert "naive" in models
    assert set(models) >= {"seasonal_naive", "linear"}
    mase = [row["mase"] for row in data["leaderboard"]]
    assert mase == sorted(mase)
    rows = table.children.children[1].children  # TableScrollContainer > Table > [head, body]
    assert len(rows) == len(models)
    assert len(data["forecast"]) == HORIZON


def test_chosen_date_replaces_the_horizon_and_heads_the_kpis(
    dated: tuple[Any, ...], forecast_page: Any
) -> None:
    figure, kpis, _, data = dated
    assert len(trace(figure, "Forecast").x) == (TARGET - LAST_DAY).days
    row = data["forecast"][-1]
    assert row["date"] == TARGET.isoformat()
    marker = trace(figure, "10 Jan 2026")
    assert list(marker.y) == [row["forecast"]]
    card = find(kpis, forecast_page.KPI_FORECAST_ID)
    assert card.children == f"{forecast_figures.format_units(row['forecast'])} units"
    detail = find(kpis, f"{forecast_page.KPI_FORECAST_ID}-detail").children
    units = forecast_figures.format_units
    assert detail == (
        f"80%: {units(row['lo_80'])} to {units(row['hi_80'])} · "
        f"95%: {units(row['lo_95'])} to {units(row['hi_95'])}"
    )


def test_embed_draws_the_page_chart(single: tuple[Any, ...], forecast_page: Any) -> None:
    query = {key: str(value) for key, value in SINGLE.items()}
    with current_database().cursor() as cur:
        embedded = EMBEDS["forecast"].build(cur, query)
    assert embedded.to_json() == single[0].to_json()


def test_figure_passes_plotly_validation(single: tuple[Any, ...], dated: tuple[Any, ...]) -> None:
    for figure in (single[0], dated[0]):
        rebuilt = go.Figure(figure.to_dict())
        assert len(rebuilt.data) == len(figure.data)


def test_download_writes_the_rows_the_page_holds(
    single: tuple[Any, ...], forecast_page: Any
) -> None:
    data = single[3]
    csv = forecast_page.build_csv(data, "forecast")
    assert csv.splitlines()[0] == ",".join(forecast_page.CSV_FORECAST_COLUMNS)
    assert len(csv.splitlines()) == HORIZON + 1
    board = forecast_page.build_csv(data, "leaderboard").splitlines()
    assert board[0] == ",".join(forecast_page.CSV_LEADERBOARD_COLUMNS)
    assert forecast_page.build_csv({}, "leaderboard").splitlines() == [board[0]]


# One-line messages instead of a chart --------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"store": "999"}, "There is no store 999."),
        ({"store": "1", "product": "4000"}, "There is no product 4000."),
        ({"region": "Atlantis"}, "There is no region called 'Atlantis'."),
        ({"category": "x' or 1=1 --"}, "There is no category called 'x' or 1=1 --'."),
        (
            {"subcategory": '<a href="https://evil.example">click</a>'},
            "There is no subcategory called "
            "'&lt;a href=\"https://evil.example\"&gt;click&lt;/a&gt;'.",
        ),
        ({"horizon": 0}, "Choose a horizon of 1 to 365 days."),
        ({"horizon": 366}, "Choose a horizon of 1 to 365 days."),
        ({"horizon": None}, "Choose a horizon of 1 to 365 days."),
        ({"on": "2025-06-01"}, "Pick a date after 31 Dec 2025, the last day of data."),
        (
            {"on": "2027-06-01"},
            "Pick a date at most 365 days after 31 Dec 2025, the last day of data.",
        ),
    ],
)
def test_bad_input_gives_one_line_message(
    forecast_page: Any, values: dict[str, Any], expected: str
) -> None:
    figure, kpis, table, data = forecast_page.update_forecast(*controls(**values))
    assert message(figure) == expected
    assert (kpis, data) == ([], {})
    assert isinstance(table, html.P)


def test_series_without_sales_says_so(forecast_page: Any) -> None:
    """A product outside the chosen category: the filters match no rows."""
    figure, *_ = forecast_page.update_forecast(*controls(category="Dairy", product=str(PRODUCT)))
    assert message(figure) == "No sales recorded for this selection."


def test_embed_with_unknown_store_gives_the_message(forecast_page: Any) -> None:
    with current_database().cursor() as cur:
        figure = EMBEDS["forecast"].build(cur, {"store": "999", "product": "1"})
    assert message(figure) == "There is no store 999."


def test_embed_with_failing_model_logs_and_says_so(
    forecast_page: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(forecast_page, "forecast_series", fail)
    with caplog.at_level(logging.ERROR), current_database().cursor() as cur:
        figure = EMBEDS["forecast"].build(cur, {key: str(value) for key, value in SINGLE.items()})
    assert message(figure) == forecast_page.FAILED_MESSAGE
    assert "secret internal detail" in caplog.text
    assert "secret" not in figure.to_json()


# URL state -----------------------------------------------------------------------------------


def test_layout_takes_controls_from_url(forecast_page: Any) -> None:
    page = forecast_page.layout(
        dates="2025-01-06,2025-03-30",
        region="Bretagne",
        store="2",
        category="Dairy",
        product="14",
        model="holt_winters",
        horizon="90",
        on="2026-12-24",
        utm_source="mail",
    )
    ids = forecast_page.IDS
    assert find(page, ids.dates).value == ["2025-01-06", "2025-03-30"]
    assert find(page, ids.store).value == "2"
    assert find(page, ids.product).value == "14"
    assert find(page, forecast_page.MODEL_ID).value == "holt_winters"
    assert find(page, forecast_page.HORIZON_ID).value == 90
    assert find(page, forecast_page.TARGET_DATE_ID).value == "2026-12-24"
    assert find(page, forecast_page.HORIZON_ID).disabled is True


def test_layout_falls_back_on_bad_url_values(forecast_page: Any) -> None:
    page = forecast_page.layout(model="prophet", horizon="-3", on="soon", store="<script>")
    assert find(page, forecast_page.MODEL_ID).value == "auto"
    assert find(page, forecast_page.HORIZON_ID).value == 28
    assert find(page, forecast_page.TARGET_DATE_ID).value is None
    assert find(page, forecast_page.IDS.store).value is None
    with pytest.raises(KeyError):
        find(page, forecast_page.IDS.grain)  # daily forecasts: no grain to choose


def test_target_date_picker_offers_the_forecastable_days(forecast_page: Any) -> None:
    assert forecast_page.update_target_bounds(None) == ("2026-01-01", "2026-12-31", "2026-01-01")


def test_filter_bar_without_grain_keeps_it_out_of_the_url() -> None:
    ids = filters.FilterIds("x")
    assert "grain" not in ids.url_controls(has_grain=False)
    assert ids.url_controls() == {
        **ids.url_controls(has_grain=False),
        "grain": (ids.grain, "value"),
    }


# Figure from hand-made frames ----------------------------------------------------------------


def test_stockout_runs_join_consecutive_days() -> None:
    days = pl.Series([dt.date(2025, 1, d) for d in (9, 2, 3, 4, 7, 8)])
    assert forecast_figures.stockout_runs(days) == [
        (dt.date(2025, 1, 2), dt.date(2025, 1, 4)),
        (dt.date(2025, 1, 7), dt.date(2025, 1, 9)),
    ]


def test_build_forecast_figure_names_holidays_in_the_forecast_window_only() -> None:
    history = pl.DataFrame(
        {
            "date": [dt.date(2025, 12, 30), dt.date(2025, 12, 31)],
            "units_sold": [3.0, 1.0],
            "demand": [3.0, 4.5],
            "is_censored": [False, True],
            "lost_units": [0.0, 3.5],
        }
    )
    forecast = pl.DataFrame(
        {
            "date": [dt.date(2026, 1, 1), dt.date(2026, 1, 2)],
            "forecast": [2.0, 3.0],
            "lo_80": [1.0, 2.0],
            "hi_80": [3.0, 4.0],
            "lo_95": [0.0, 1.0],
            "hi_95": [4.0, 5.0],
        }
    )
    holidays = pl.DataFrame(
        {
            "date": [dt.date(2025, 12, 25), dt.date(2026, 1, 1)],
            "holiday_name": ["Noël", "Jour de l'an"],
        }
    )
    figure = forecast_figures.build_forecast_figure(
        history,
        forecast,
        labels=forecast_figures.ForecastLabels("t", "s"),
        holidays=holidays,
    )
    assert [note.text for note in figure.layout.annotations] == ["Forecast", "Jour de l'an"]
    lost = trace(figure, "Lost (estimated)")
    assert (list(lost.base), list(lost.y)) == ([1.0], [3.5])
    band = trace(figure, "80% range")
    assert list(band.y) == [3.0, 4.0, 2.0, 1.0]
    assert [shape.type for shape in figure.layout.shapes] == ["rect", "line", "line"]


def test_build_forecast_figure_without_rows_says_so() -> None:
    empty = pl.DataFrame(schema={"date": pl.Date})
    figure = forecast_figures.build_forecast_figure(
        empty, empty, labels=forecast_figures.ForecastLabels("t", "s")
    )
    assert message(figure) == forecast_figures.NO_HISTORY_MESSAGE


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [(0.6449, "ratio", "0.64"), (0.8214, "percent", "82.1%"), (None, "ratio", "-")],
)
def test_format_cell_ratio_and_percent(value: Any, kind: Any, expected: str) -> None:
    assert components.format_cell(value, kind) == expected


# In a browser --------------------------------------------------------------------------------


def forecast_length(page: Page) -> int:
    length: int = page.evaluate(
        """() => document.querySelector('#forecast-chart .js-plotly-plot')._fullData
            .filter(trace => trace.name === 'Forecast')[0].x.length"""
    )
    return length


@pytest.mark.browser
def test_forecast_page_draws_and_keeps_controls_in_url(
    page: Page, live_server: str, console_errors: list[str], screenshot_dir: Path
) -> None:
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{live_server}forecast?store={STORE}&product={PRODUCT}&model=naive&horizon=14")
    expect(page.locator("#forecast-kpi-model")).to_have_text("Naive", timeout=LOAD_TIMEOUT_MS)
    expect(page.locator("#forecast-chart .main-svg").first).to_be_visible()
    assert forecast_length(page) == HORIZON
    expect(page.locator("#forecast-leaderboard tbody tr").first).to_be_visible()
    page.screenshot(path=screenshot_dir / "forecast-1400x900.png", full_page=True)
    page.locator("#forecast-horizon").fill("7")
    page.wait_for_function(
        """() => document.querySelector('#forecast-chart .js-plotly-plot')._fullData
            .filter(trace => trace.name === 'Forecast')[0].x.length === 7""",
        timeout=LOAD_TIMEOUT_MS,
    )
    query = parse_qs(urlsplit(page.url).query)
    assert (query["horizon"], query["model"], query["store"]) == (["7"], ["naive"], [str(STORE)])
    assert "grain" not in query
    page.locator("#forecast-model").click()
    page.get_by_role("option", name="Seasonal naive").click()
    expect(page.locator("#forecast-kpi-model")).to_have_text(
        "Seasonal naive", timeout=LOAD_TIMEOUT_MS
    )
    assert parse_qs(urlsplit(page.url).query)["model"] == ["seasonal_naive"]
    page.locator("#forecast-on").click()
    page.get_by_role("button", name="10 January 2026").click()  # opens on the first month
    expect(page.locator("#forecast-kpi-forecast-detail")).to_contain_text(
        "80%:", timeout=LOAD_TIMEOUT_MS
    )
    assert forecast_length(page) == (TARGET - LAST_DAY).days
    expect(page.locator("#forecast-horizon")).to_be_disabled()
    assert parse_qs(urlsplit(page.url).query)["on"] == [TARGET.isoformat()]
    assert console_errors == []


@pytest.mark.browser
def test_forecast_embed_with_unknown_store_shows_the_message(
    page: Page, live_server: str, console_errors: list[str]
) -> None:
    page.goto(f"{live_server}embed/forecast?store=999&product=1")
    expect(page.locator("#embed-graph")).to_contain_text(
        "There is no store 999.", timeout=LOAD_TIMEOUT_MS
    )
    assert "Traceback" not in page.content()
    assert console_errors == []


@pytest.mark.browser
def test_forecast_page_with_an_unknown_store_says_so_in_place_of_the_chart(
    page: Page, live_server: str, console_errors: list[str]
) -> None:
    """A hand-edited URL naming a store that does not exist keeps it (labelled unknown in the
    drop-down) and the chart says so, instead of silently forecasting every store."""
    page.goto(f"{live_server}forecast?store=999&product={PRODUCT}")
    expect(page.locator("#forecast-chart")).to_contain_text(
        "There is no store 999.", timeout=LOAD_TIMEOUT_MS
    )
    expect(page.locator("#forecast-store")).to_have_value("Unknown store 999")
    assert "store=999" in page.url
    assert "Traceback" not in page.content()
    assert console_errors == []


@pytest.mark.browser
def test_forecast_fits_a_phone_screen(
    page: Page, live_server: str, console_errors: list[str], screenshot_dir: Path
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}forecast?store={STORE}&product={PRODUCT}&model=naive")
    expect(page.locator("#forecast-kpi-model")).to_have_text("Naive", timeout=LOAD_TIMEOUT_MS)
    expect(page.locator("#forecast-chart .main-svg").first).to_be_visible()
    page.screenshot(path=screenshot_dir / "forecast-390x844.png", full_page=True)
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0
    assert console_errors == []
