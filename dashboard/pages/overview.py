"""Overview: the last 28 days of sales and stock-outs against the 28 before, and what is at risk."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import dash
import dash_mantine_components as dmc
import duckdb
import plotly.graph_objects as go
import polars as pl
from dash import Input, Output, State, callback, dcc
from dash.development.base_component import Component

from dashboard import components, figures, queries, urlstate
from dashboard.db import current_database
from dashboard.embeds import embeddable

REGION_ID: Final = "overview-region"
STORE_ID: Final = "overview-store"
KPIS_ID: Final = "overview-kpis"
KPI_REVENUE_ID: Final = "overview-kpi-revenue"
KPI_UNITS_ID: Final = "overview-kpi-units"
KPI_STOCKOUT_ID: Final = "overview-kpi-stockout-rate"
KPI_AT_RISK_ID: Final = "overview-kpi-at-risk"
PERIOD_ID: Final = "overview-period"
REVENUE_GRAPH_ID: Final = "overview-revenue-by-category"
STOCKOUT_GRAPH_ID: Final = "overview-stockout-rate"
AT_RISK_TABLE_ID: Final = "overview-at-risk"
AT_RISK_BUTTON_ID: Final = "overview-at-risk-button"
AT_RISK_DOWNLOAD_ID: Final = "overview-at-risk-download"
AT_RISK_EXPORT_LIMIT: Final = 100_000

PERIOD_DAYS: Final = queries.KPI_PERIOD_DAYS
AT_RISK_COLUMNS: Final = (
    components.Column("store_name", "Store"),
    components.Column("product_name", "Product", detail="category"),
    components.Column("stock_on_hand", "Stock on hand", "units", "count"),
    components.Column("on_order_units", "On order", "units", "count"),
    components.Column("avg_daily_units_28d", "Sold per day", "avg, 28 days", "decimal"),
    components.Column("days_of_cover", "Days of cover", "days", "decimal"),
    components.Column("days_to_delivery", "Next delivery", "in days", "count"),
    components.Column("revenue_28d", "Revenue", "EUR, 28 days", "eur"),
)

dash.register_page(  # type: ignore[no-untyped-call]
    __name__, path="/", name="Overview", title="shelfsight - Overview", order=0
)


def layout(region: str | None = None, store: str | None = None, **_: Any) -> Component:
    """The page; `?region=...&store=...` in the URL sets the filters."""
    filters = dmc.Group(
        [
            dmc.Select(
                id=REGION_ID,
                label="Region",
                placeholder="All regions",
                value=region,
                data=[],
                clearable=True,
                w={"base": "100%", "xs": 240},
            ),
            dmc.Select(
                id=STORE_ID,
                label="Store",
                placeholder="All stores",
                value=store,
                data=[],
                clearable=True,
                searchable=True,
                w={"base": "100%", "xs": 280},
                nothingFoundMessage="No store matches",
            ),
        ],
        gap="md",
        mb="md",
    )
    kpis = dmc.Stack(
        [dmc.SimpleGrid(components.build_kpi_skeleton(4), cols={"base": 1, "xs": 2, "lg": 4})],
        id=KPIS_ID,
        gap="xs",
    )
    charts = dmc.SimpleGrid(
        [
            components.build_graph(REVENUE_GRAPH_ID, has_long_legend=True),
            components.build_graph(STOCKOUT_GRAPH_ID),
        ],
        cols={"base": 1, "lg": 2},
        my="md",
    )
    at_risk = components.build_section(
        "Top at-risk products",
        "At risk when the stock on hand, sold at the last 28 days' rate, runs out before the next "
        "delivery is due (or, with nothing on order, before an order placed today could arrive); "
        "fewest days of cover first, then highest revenue.",
        dmc.Stack(
            [
                dmc.Box(dmc.Skeleton(h=160), id=AT_RISK_TABLE_ID),
                dmc.Group(
                    [
                        dmc.Button(
                            "Download all at-risk (CSV)",
                            id=AT_RISK_BUTTON_ID,
                            variant="light",
                            size="xs",
                        ),
                        dcc.Download(id=AT_RISK_DOWNLOAD_ID),
                    ],
                    justify="flex-end",
                ),
            ],
            gap="xs",
        ),
    )
    page: Component = dmc.Box(
        [
            components.build_page_header(
                "Overview",
                f"Sales and stock-outs over the last {PERIOD_DAYS} days of data, "
                f"against the {PERIOD_DAYS} days before, and the products about to run out.",
            ),
            filters,
            kpis,
            charts,
            at_risk,
        ]
    )
    return page


def parse_store_id(store: str | None) -> int | None:
    """The store filter's value as an id; anything else (a bad URL) means all stores."""
    return int(store) if store and store.isdigit() else None


@callback(
    Output(REGION_ID, "data"),
    Output(STORE_ID, "data"),
    Output(STORE_ID, "value"),
    Input(REGION_ID, "value"),
    State(STORE_ID, "value"),
)
def update_filters(region: str | None, store: str | None) -> tuple[Any, Any, Any]:
    with current_database().cursor() as cur:
        regions = queries.load_regions(cur)
        stores = queries.load_stores(cur, region=region)
    return build_region_options(regions), build_store_options(stores), keep_store(store, stores)


@callback(Output(KPIS_ID, "children"), Input(REGION_ID, "value"), Input(STORE_ID, "value"))
def update_kpis(region: str | None, store: str | None) -> list[Component]:
    with current_database().cursor() as cur:
        kpis = queries.load_period_kpis(cur, region=region, store_id=parse_store_id(store))
        at_risk = queries.load_at_risk_count(cur, region=region, store_id=parse_store_id(store))
    return build_kpi_cards(kpis, at_risk)


@callback(Output(REVENUE_GRAPH_ID, "figure"), Input(REGION_ID, "value"), Input(STORE_ID, "value"))
def update_revenue_chart(region: str | None, store: str | None) -> go.Figure:
    with current_database().cursor() as cur:
        df = queries.load_weekly_category_revenue(
            cur, region=region, store_id=parse_store_id(store)
        )
    return figures.build_category_revenue_figure(df)


@callback(Output(STOCKOUT_GRAPH_ID, "figure"), Input(REGION_ID, "value"), Input(STORE_ID, "value"))
def update_stockout_chart(region: str | None, store: str | None) -> go.Figure:
    with current_database().cursor() as cur:
        df = queries.load_weekly_stockout_rate(cur, region=region, store_id=parse_store_id(store))
    return figures.build_stockout_rate_figure(df)


@callback(Output(AT_RISK_TABLE_ID, "children"), Input(REGION_ID, "value"), Input(STORE_ID, "value"))
def update_at_risk_table(region: str | None, store: str | None) -> Component:
    with current_database().cursor() as cur:
        df = queries.load_top_at_risk(cur, region=region, store_id=parse_store_id(store))
    return build_at_risk_table(df)


@callback(
    Output(AT_RISK_DOWNLOAD_ID, "data"),
    Input(AT_RISK_BUTTON_ID, "n_clicks"),
    State(REGION_ID, "value"),
    State(STORE_ID, "value"),
    prevent_initial_call=True,
)
def download_at_risk(_clicks: int | None, region: str | None, store: str | None) -> dict[str, Any]:
    """Every at-risk store x product for the filters (the table shows the first 15)."""
    with current_database().cursor() as cur:
        df = queries.load_top_at_risk(
            cur, region=region, store_id=parse_store_id(store), limit=AT_RISK_EXPORT_LIMIT
        )
    return {"content": df.write_csv(), "filename": "at_risk_products.csv"}


@embeddable("overview-revenue", title="Weekly revenue by category")
def embed_revenue(cur: duckdb.DuckDBPyConnection, query: Mapping[str, str]) -> go.Figure:
    region, store_id = urlstate.parse_text(query.get("region")), parse_store_id(query.get("store"))
    df = queries.load_weekly_category_revenue(cur, region=region, store_id=store_id)
    return figures.build_category_revenue_figure(df)


@embeddable("overview-stockout-rate", title="Weekly stockout rate")
def embed_stockout_rate(cur: duckdb.DuckDBPyConnection, query: Mapping[str, str]) -> go.Figure:
    region, store_id = urlstate.parse_text(query.get("region")), parse_store_id(query.get("store"))
    df = queries.load_weekly_stockout_rate(cur, region=region, store_id=store_id)
    return figures.build_stockout_rate_figure(df)


# Keep the filters in the address bar so the view can be shared.
urlstate.sync_to_url({"region": (REGION_ID, "value"), "store": (STORE_ID, "value")})


def build_region_options(regions: pl.DataFrame) -> list[dict[str, str]]:
    return [{"value": name, "label": name} for name in regions.get_column("region").to_list()]


def build_store_options(stores: pl.DataFrame) -> list[dict[str, str]]:
    return [
        {"value": str(row["store_id"]), "label": str(row["store_name"])}
        for row in stores.iter_rows(named=True)
    ]


def keep_store(store: str | None, stores: pl.DataFrame) -> str | None:
    """The selected store if it is in the region's list, else None (all stores)."""
    store_id = parse_store_id(store)
    return str(store_id) if store_id in stores.get_column("store_id").to_list() else None


def build_kpi_cards(kpis: pl.DataFrame, at_risk: pl.DataFrame) -> list[Component]:
    """The period line and the four KPI cards, from `load_period_kpis` and `load_at_risk_count`."""
    row = kpis.row(0, named=True)
    risk = at_risk.row(0, named=True)
    revenue_change = components.format_relative_change(row["revenue"], row["revenue_previous"])
    units_change = components.format_relative_change(row["units_sold"], row["units_sold_previous"])
    stockout_change = components.format_point_change(
        row["stockout_rate"], row["stockout_rate_previous"], is_increase_good=False
    )
    comparison = f" vs previous {PERIOD_DAYS} days"
    cards = [
        components.build_kpi_card(
            value_id=KPI_REVENUE_ID,
            label=f"Revenue, last {PERIOD_DAYS} days",
            value=components.format_eur(row["revenue"]),
            detail=_detail(revenue_change[0], comparison),
            trend=revenue_change[1],
        ),
        components.build_kpi_card(
            value_id=KPI_UNITS_ID,
            label=f"Units sold, last {PERIOD_DAYS} days",
            value=components.format_count(row["units_sold"]),
            detail=_detail(units_change[0], comparison),
            trend=units_change[1],
        ),
        components.build_kpi_card(
            value_id=KPI_STOCKOUT_ID,
            label="Stockout rate (store x product days)",
            value=components.format_percent(row["stockout_rate"]),
            detail=_detail(stockout_change[0], comparison),
            trend=stockout_change[1],
        ),
        components.build_kpi_card(
            value_id=KPI_AT_RISK_ID,
            label="Store x product at risk",
            value=components.format_count(risk["at_risk_count"]),
            detail=(
                f"of {risk['position_count']:,} stocked, as of {_format_date(risk['as_of_date'])}"
            ),
        ),
    ]
    period = dmc.Text(
        _period_text(row["period_start"], row["period_end"]), id=PERIOD_ID, size="sm", c="dimmed"
    )
    return [period, dmc.SimpleGrid(cards, cols={"base": 1, "xs": 2, "lg": 4})]


def _detail(change: str | None, comparison: str) -> str:
    return "Nothing to compare with" if change is None else change + comparison


def _period_text(start: Any, end: Any) -> str:
    if start is None or end is None:
        return "No sales data yet."
    return f"Last {PERIOD_DAYS} days of data: {_format_date(start)} to {_format_date(end)}"


def _format_date(value: Any) -> str:
    return "-" if value is None else f"{value:%d %b %Y}"


def build_at_risk_table(df: pl.DataFrame) -> Component:
    """The top at-risk store x product pairs as a table, or a note when there are none."""
    if df.is_empty():
        return components.build_empty_note("No store x product is at risk for these filters.")
    return components.build_table(df, AT_RISK_COLUMNS, min_width=760)
