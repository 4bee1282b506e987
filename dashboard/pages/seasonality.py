"""Seasonality: when a category, a product or a store sells, and the days that broke the pattern."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

import dash
import dash_mantine_components as dmc
import duckdb
import plotly.graph_objects as go
import polars as pl
from dash import Input, Output, State, callback, dcc
from dash.development.base_component import Component

from analytics import seasonality
from dashboard import components, embeds, queries, urlstate
from dashboard.db import current_database
from dashboard.figures import build_empty_figure
from dashboard.figures import seasonality as figures
from dashboard.queries import seasonality as season_queries
from dashboard.queries.seasonality import Scope

REQUEST_ID: Final = "seasonality-request"
CATEGORY_ID: Final = "seasonality-category"
REGION_ID: Final = "seasonality-region"
STORE_ID: Final = "seasonality-store"
PRODUCT_ID: Final = "seasonality-product"
SCOPE_ID: Final = "seasonality-scope"
HEATMAP_ID: Final = "seasonality-heatmap"
WEEKDAY_ID: Final = "seasonality-weekday-profile"
YEARLY_ID: Final = "seasonality-yearly-profile"
DECOMPOSITION_ID: Final = "seasonality-decomposition"
ANOMALIES_ID: Final = "seasonality-anomalies"
ANOMALY_DATA_ID: Final = "seasonality-anomaly-data"
DOWNLOAD_BUTTON_ID: Final = "seasonality-download-button"
DOWNLOAD_ID: Final = "seasonality-download"

DECOMPOSITION_HEIGHT: Final = 640
THRESHOLD: Final = seasonality.ANOMALY_THRESHOLD
SHORT_SERIES_MESSAGE: Final = "Too few days of sales here to separate trend and seasonality"
MAX_ZERO_SHARE: Final = 0.5  # above it, a series is too intermittent to flag single days
INTERMITTENT_NOTE: Final = (
    "This selection sells nothing on more than half of its days: too intermittent for single "
    "days to stand out. Widen the selection to see anomalies."
)

dash.register_page(  # type: ignore[no-untyped-call]
    __name__,
    path="/seasonality",
    name="Seasonality",
    title="shelfsight - Seasonality",
    order=2,
)


class Request(NamedTuple):
    """The filters a URL asks for, parsed but not yet checked against the data. (A NamedTuple:
    Dash pages executes page modules outside sys.modules, where dataclasses fail.)"""

    category: str | None = None
    region: str | None = None
    store: str | None = None
    product: str | None = None


def parse_request(query: Mapping[str, Any]) -> Request:
    """The URL's filters; anything that does not parse means "all" (or the first category)."""
    store = urlstate.parse_int(query.get("store"))
    product = urlstate.parse_int(query.get("product"))
    return Request(
        category=urlstate.parse_text(query.get("category")),
        region=urlstate.parse_text(query.get("region")),
        store=None if store is None else str(store),
        product=None if product is None else str(product),
    )


def layout(**query: Any) -> Component:
    """The page; `?category=...&region=...&store=<id>&product=<id>` sets the filters."""
    request = parse_request(query)
    filters = dmc.Group(
        [
            _select(CATEGORY_ID, "Category", request.category, allowDeselect=False),
            _select(REGION_ID, "Region", request.region, placeholder="All regions"),
            _select(STORE_ID, "Store", request.store, placeholder="All stores", searchable=True),
            _select(
                PRODUCT_ID,
                "Product",
                request.product,
                placeholder="All products",
                searchable=True,
                w={"base": "100%", "xs": 320},
            ),
        ],
        gap="md",
        mb="xs",
        align="flex-end",
    )
    profiles = dmc.Grid(
        [
            dmc.GridCol(components.build_graph(HEATMAP_ID), span={"base": 12, "lg": 5}),
            dmc.GridCol(components.build_graph(WEEKDAY_ID), span={"base": 12, "sm": 5, "lg": 3}),
            dmc.GridCol(components.build_graph(YEARLY_ID), span={"base": 12, "sm": 7, "lg": 4}),
        ],
        gutter="md",
        my="md",
    )
    decomposition = dmc.Card(
        dcc.Graph(
            id=DECOMPOSITION_ID,
            config={"displaylogo": False, "responsive": True},
            className="chart",
            style={"height": f"{DECOMPOSITION_HEIGHT}px"},
        ),
        withBorder=True,
        padding="xs",
        mb="md",
    )
    anomalies = components.build_section(
        "Anomalies",
        f"Days whose residual lies more than {THRESHOLD:g} robust standard deviations from "
        "the median residual (modified z-score: 0.6745 x deviation / median absolute "
        "deviation), largest first. Holidays, promotions and stockouts explain most of them.",
        dmc.Stack(
            [
                dmc.Box(dmc.Skeleton(h=160), id=ANOMALIES_ID),
                dmc.Group(
                    dmc.Button(
                        "Download CSV",
                        id=DOWNLOAD_BUTTON_ID,
                        variant="light",
                        size="xs",
                    ),
                    justify="flex-end",
                ),
            ],
            gap="xs",
        ),
    )
    page: Component = dmc.Box(
        [
            dcc.Store(id=REQUEST_ID, data=request._asdict()),
            dcc.Store(id=ANOMALY_DATA_ID, data=[]),
            dcc.Download(id=DOWNLOAD_ID),
            components.build_page_header(
                "Seasonality",
                "When the selection sells, by weekday and through the year, and the days that "
                "broke the pattern.",
            ),
            filters,
            dmc.Text(id=SCOPE_ID, size="sm", c="dimmed"),
            profiles,
            decomposition,
            anomalies,
        ]
    )
    return page


def _select(component_id: str, label: str, value: str | None, **extra: Any) -> Component:
    """A filter: options come from a callback; one with a placeholder can be cleared (all)."""
    options: dict[str, Any] = {"w": {"base": "100%", "xs": 220}, "nothingFoundMessage": "No match"}
    if "placeholder" in extra:
        options["clearable"] = True
    select: Component = dmc.Select(
        id=component_id, label=label, value=value, data=[], **(options | extra)
    )
    return select


@callback(
    Output(CATEGORY_ID, "data"),
    Output(CATEGORY_ID, "value"),
    Output(REGION_ID, "data"),
    Output(REGION_ID, "value"),
    Input(REQUEST_ID, "data"),
)
def update_category_and_region(request: dict[str, Any] | None) -> tuple[Any, Any, Any, Any]:
    wanted = Request(**(request or {}))
    with current_database().cursor() as cur:
        categories = season_queries.load_categories(cur)
        regions = queries.load_regions(cur)
    return (
        _options(categories, "category", "category"),
        pick_category(categories, wanted.category),
        _options(regions, "region", "region"),
        pick(regions, "region", wanted.region),
    )


@callback(
    Output(STORE_ID, "data"),
    Output(STORE_ID, "value"),
    Input(REGION_ID, "value"),
    State(STORE_ID, "value"),
)
def update_stores(region: str | None, store: str | None) -> tuple[Any, Any]:
    with current_database().cursor() as cur:
        stores = queries.load_stores(cur, region=region)
    return _options(stores, "store_id", "store_name"), pick(stores, "store_id", store)


@callback(
    Output(PRODUCT_ID, "data"),
    Output(PRODUCT_ID, "value"),
    Input(CATEGORY_ID, "value"),
    State(PRODUCT_ID, "value"),
)
def update_products(category: str | None, product: str | None) -> tuple[Any, Any]:
    with current_database().cursor() as cur:
        products = season_queries.load_products(cur, category=category)
    return _options(products, "product_id", "product_name"), pick(products, "product_id", product)


_SCOPE_INPUTS: Final = (
    Input(CATEGORY_ID, "value"),
    Input(REGION_ID, "value"),
    Input(STORE_ID, "value"),
    Input(PRODUCT_ID, "value"),
)


@callback(
    Output(HEATMAP_ID, "figure"),
    Output(SCOPE_ID, "children"),
    *_SCOPE_INPUTS,
    State(STORE_ID, "data"),
    State(PRODUCT_ID, "data"),
)
def update_heatmap(
    category: str | None,
    region: str | None,
    store: str | None,
    product: str | None,
    store_options: list[dict[str, str]] | None,
    product_options: list[dict[str, str]] | None,
) -> tuple[go.Figure, str]:
    scope = build_scope(category, region, store, product)
    with current_database().cursor() as cur:
        days = load_days(cur, scope)
    label = label_scope(scope, store_options or [], product_options or [])
    return build_heatmap(days), describe_days(label, days)


@callback(Output(WEEKDAY_ID, "figure"), Output(YEARLY_ID, "figure"), *_SCOPE_INPUTS)
def update_profiles(
    category: str | None, region: str | None, store: str | None, product: str | None
) -> tuple[go.Figure, go.Figure]:
    with current_database().cursor() as cur:
        days = load_days(cur, build_scope(category, region, store, product))
    return build_weekday_profile(days), build_yearly_profile(days)


@callback(
    Output(DECOMPOSITION_ID, "figure"),
    Output(ANOMALIES_ID, "children"),
    Output(ANOMALY_DATA_ID, "data"),
    *_SCOPE_INPUTS,
)
def update_decomposition(
    category: str | None, region: str | None, store: str | None, product: str | None
) -> tuple[dict[str, Any], Any, list[dict[str, Any]]]:
    """The figure and the table go as the plain dicts Dash sends (see
    `figures.build_decomposition_spec` and `figures.build_anomaly_table`)."""
    with current_database().cursor() as cur:
        days = load_days(cur, build_scope(category, region, store, product))
    intermittent = is_intermittent(days)
    parts = decompose_days(days, intermittent=intermittent)
    if parts is None:
        note = components.build_empty_note(SHORT_SERIES_MESSAGE + ".")
        empty: dict[str, Any] = build_empty_figure(SHORT_SERIES_MESSAGE).to_plotly_json()
        return empty, note, []
    rows = figures.build_anomaly_rows(seasonality.describe_anomalies(parts, days))
    figure = figures.build_decomposition_spec(parts, threshold=THRESHOLD)
    table = figures.build_anomaly_table(rows, INTERMITTENT_NOTE if intermittent else None)
    return figure, table, rows.with_columns(pl.col("date").cast(pl.String)).to_dicts()


@callback(
    Output(DOWNLOAD_ID, "data"),
    Input(DOWNLOAD_BUTTON_ID, "n_clicks"),
    State(ANOMALY_DATA_ID, "data"),
    prevent_initial_call=True,
)
def download_anomalies(_clicks: int | None, rows: list[dict[str, Any]] | None) -> dict[str, str]:
    return {"content": anomalies_csv(rows or []), "filename": "seasonality-anomalies.csv"}


urlstate.sync_to_url(
    {
        "category": (CATEGORY_ID, "value"),
        "region": (REGION_ID, "value"),
        "store": (STORE_ID, "value"),
        "product": (PRODUCT_ID, "value"),
    }
)


@embeds.embeddable("seasonality-heatmap", title="Average daily units by weekday and month")
def embed_heatmap(cur: duckdb.DuckDBPyConnection, query: Mapping[str, str]) -> go.Figure:
    scope, label = resolve_scope(cur, parse_request(query))
    return build_heatmap(load_days(cur, scope), scope_label=label)


@embeds.embeddable("seasonality-decomposition", title="Trend, seasonality and anomalies")
def embed_decomposition(cur: duckdb.DuckDBPyConnection, query: Mapping[str, str]) -> go.Figure:
    scope, label = resolve_scope(cur, parse_request(query))
    parts = decompose_days(load_days(cur, scope))
    if parts is None:
        return build_empty_figure(SHORT_SERIES_MESSAGE)
    return figures.build_decomposition_figure(parts, scope_label=label, threshold=THRESHOLD)


# Filters: the data decides what a requested value means.


def pick(options: pl.DataFrame, column: str, wanted: str | None) -> str | None:
    """`wanted` if it is one of the options' `column` values (compared as text), else None."""
    if wanted is None:
        return None
    values = {str(value) for value in options.get_column(column).to_list()}
    return wanted if wanted in values else None


def pick_category(categories: pl.DataFrame, wanted: str | None) -> str | None:
    """The requested category if it exists, else the first one (None when there are none)."""
    names = categories.get_column("category").to_list()
    if wanted in names:
        return wanted
    return names[0] if names else None


def _options(df: pl.DataFrame, value: str, label: str) -> list[dict[str, str]]:
    return [
        {"value": str(row[value]), "label": str(row[label])} for row in df.iter_rows(named=True)
    ]


def resolve_scope(cur: duckdb.DuckDBPyConnection, request: Request) -> tuple[Scope | None, str]:
    """The scope the request can mean in this data, and a label naming it. Unknown values fall
    back as the filters do: the first category, all regions, stores or products."""
    categories = season_queries.load_categories(cur)
    category = pick_category(categories, request.category)
    if category is None:
        return None, "No data"
    region = pick(queries.load_regions(cur), "region", request.region)
    stores = queries.load_stores(cur, region=region)
    products = season_queries.load_products(cur, category=category)
    store = pick(stores, "store_id", request.store)
    product = pick(products, "product_id", request.product)
    scope = Scope(
        category=category,
        region=region,
        store_id=None if store is None else int(store),
        product_id=None if product is None else int(product),
    )
    label = label_scope(
        scope,
        _options(stores, "store_id", "store_name"),
        _options(products, "product_id", "product_name"),
    )
    return scope, label


def build_scope(
    category: str | None, region: str | None, store: str | None, product: str | None
) -> Scope | None:
    """The scope of the filters' values (which their own callbacks have checked)."""
    if not category:
        return None
    store_id = urlstate.parse_int(store)
    product_id = urlstate.parse_int(product)
    return Scope(category, region or None, store_id, product_id)


def label_scope(
    scope: Scope | None,
    store_options: list[dict[str, str]],
    product_options: list[dict[str, str]],
) -> str:
    """ "Dairy · Bretagne · all stores · all products", names taken from the filters' options."""
    if scope is None:
        return "No data"

    def name(options: list[dict[str, str]], value: int | None, everything: str) -> str:
        found = [option["label"] for option in options if option["value"] == str(value)]
        return found[0] if value is not None and found else everything

    return " · ".join(
        [
            scope.category,
            scope.region or "all regions",
            name(store_options, scope.store_id, "all stores"),
            name(product_options, scope.product_id, "all products"),
        ]
    )


# Data: the scope's days with their calendar, and what the analytics make of them.


def load_days(cur: duckdb.DuckDBPyConnection, scope: Scope | None) -> pl.DataFrame:
    """The scope's complete daily series with its calendar (see `prepare_days`)."""
    if scope is None:
        return prepare_days(pl.DataFrame(schema=season_queries.DAY_SCHEMA))
    calendar = current_database().memoized(
        "seasonality:calendar", lambda: season_queries.load_calendar_flags(cur)
    )
    return prepare_days(season_queries.load_scope_days(cur, scope, calendar=calendar))


def prepare_days(days: pl.DataFrame) -> pl.DataFrame:
    """Every day from the first to the last (missing ones interpolated, `is_imputed`, and
    taken as ordinary days), with `is_special`: the stores closed, a public holiday or the eve
    of one (days whose sales follow other rules than the week's)."""
    completed = seasonality.complete_days(days)
    return completed.with_columns(
        pl.col("is_store_closed").fill_null(value=False),
        (
            pl.col("is_store_closed").fill_null(value=False)
            | pl.col("holiday_name").is_not_null()
            | pl.col("eve_of").is_not_null()
        ).alias("is_special"),
    )


def build_heatmap(days: pl.DataFrame, *, scope_label: str | None = None) -> go.Figure:
    closed = days.with_columns(
        (pl.col("is_store_closed") | pl.col("is_imputed")).alias("is_left_out")
    )
    grid = seasonality.weekday_month_grid(closed, exclude_col="is_left_out")
    return figures.build_heatmap_figure(grid, scope_label=scope_label)


def build_weekday_profile(days: pl.DataFrame) -> go.Figure:
    left_out = days.with_columns((pl.col("is_special") | pl.col("is_imputed")).alias("is_left_out"))
    profile = seasonality.weekday_profile(left_out, exclude_col="is_left_out")
    return figures.build_weekday_profile_figure(profile)


def build_yearly_profile(days: pl.DataFrame) -> go.Figure:
    return figures.build_yearly_profile_figure(seasonality.yearly_profile(days))


def decompose_days(days: pl.DataFrame, *, intermittent: bool | None = None) -> pl.DataFrame | None:
    """`decompose` + `flag_anomalies`; None if too short. Days the stores were closed and days
    missing from the data are left out of the fit and never flagged; an intermittent series
    (`is_intermittent`, computed unless given) gets no flags at all: with most residuals at
    zero, any sale would be."""
    marked = days.with_columns(
        (pl.col("is_imputed") | pl.col("is_store_closed")).alias("is_left_out")
    )
    try:
        parts = seasonality.decompose(marked, exclude_col="is_left_out")
    except ValueError:
        return None
    parts = parts.with_columns(marked.get_column("is_left_out"))
    flagged = seasonality.flag_anomalies(parts, threshold=THRESHOLD, exclude_col="is_left_out")
    if intermittent is None:
        intermittent = is_intermittent(days)
    return flagged.with_columns(is_anomaly=False) if intermittent else flagged


def is_intermittent(days: pl.DataFrame) -> bool:
    """Whether the scope sold nothing on more than `MAX_ZERO_SHARE` of its open days."""
    kept = days.filter(~pl.col("is_imputed") & ~pl.col("is_store_closed"))
    zero_share = (kept.get_column("units_sold") == 0).mean()
    return not isinstance(zero_share, float) or zero_share > MAX_ZERO_SHARE


def describe_days(label: str, days: pl.DataFrame) -> str:
    """One line: the scope, its units and days of data (not counting the days filled in)."""
    recorded = days.filter(~pl.col("is_imputed"))
    if recorded.is_empty():
        return f"{label}: no sales recorded."
    first, last = recorded.get_column("date").min(), recorded.get_column("date").max()
    units = recorded.get_column("units_sold").sum()
    series = int(recorded.get_column("series_count").max() or 0)  # type: ignore[arg-type]
    assert isinstance(first, dt.date)
    assert isinstance(last, dt.date)
    source = (
        "one store x product series" if series == 1 else f"up to {series:,} store x product series"
    )
    return (
        f"{label}: {units:,.0f} units over {recorded.height:,} days of data "
        f"({first:%d %b %Y} to {last:%d %b %Y}), from {source}."
    )


def anomalies_csv(rows: list[dict[str, Any]]) -> str:
    """The anomalies kept in the page, as CSV with plain numbers."""
    if not rows:
        return ",".join(figures.CSV_COLUMNS) + "\n"
    return pl.DataFrame(rows).select(figures.CSV_COLUMNS).write_csv()
