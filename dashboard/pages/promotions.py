"""Promotions: what each promotion added over its baseline, by discount depth and one by one.

The estimates come from the build (data/jobs.py): a regression per store x product gives what
would have sold without the promotion; this page only reads and sums them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import dash
import dash_mantine_components as dmc
import duckdb
import plotly.graph_objects as go
from dash import Input, Output, State, callback, ctx, dcc
from dash.dcc.express import send_string
from dash.development.base_component import Component

from dashboard import components, figures, promotion_views, queries, urlstate
from dashboard.db import current_database
from dashboard.embeds import embeddable
from dashboard.figures import promotions as promotion_figures
from dashboard.promotion_views import RANKING_COLUMNS as RANKING_COLUMNS
from dashboard.promotion_views import TALL_CHART_HEIGHT as TALL_CHART_HEIGHT
from dashboard.promotion_views import build_promotion_options as build_promotion_options
from dashboard.promotion_views import build_ranking_tables as build_ranking_tables
from dashboard.promotion_views import build_select, build_tall_graph
from dashboard.promotion_views import choose_promotion as choose_promotion
from dashboard.promotion_views import clicked_promotion as clicked_promotion
from dashboard.promotion_views import format_ranking as format_ranking
from dashboard.queries import promotions as promotion_queries

CATEGORY_ID: Final = "promotions-category"
REGION_ID: Final = "promotions-region"
STORE_ID: Final = "promotions-store"
DEPTH_GRAPH_ID: Final = "promotions-uplift-by-depth"
SCATTER_GRAPH_ID: Final = "promotions-scatter"
PROMO_ID: Final = "promotions-promo"
DETAIL_GRAPH_ID: Final = "promotions-detail"
DETAIL_SUMMARY_ID: Final = "promotions-detail-summary"
KPI_UNITS_ID: Final = "promotions-kpi-units"
KPI_REVENUE_ID: Final = "promotions-kpi-revenue"
KPI_DIP_ID: Final = "promotions-kpi-dip"
KPI_CANNIBALISED_ID: Final = "promotions-kpi-cannibalised"
KPI_NET_ID: Final = "promotions-kpi-net"
RANK_ID: Final = "promotions-rank-by"
TABLE_ID: Final = "promotions-ranking"
DOWNLOAD_BUTTON_ID: Final = "promotions-download-button"
DOWNLOAD_ID: Final = "promotions-download"

DEFAULT_RANK: Final[promotion_queries.RankBy] = "net_revenue"
DETAIL_CARDS: Final = (
    (KPI_UNITS_ID, "Extra units during the promotion", "incremental_units"),
    (KPI_REVENUE_ID, "Extra revenue (EUR)", "incremental_revenue"),
    (KPI_DIP_ID, "Dip, 7 days after (units)", "dip_units"),
    (KPI_CANNIBALISED_ID, "Taken from siblings (units)", "cannibalised_units"),
    (KPI_NET_ID, "Net extra revenue (EUR)", "net_incremental_revenue"),
)
CSV_NAME: Final = "promotions.csv"

dash.register_page(  # type: ignore[no-untyped-call]
    __name__, path="/promotions", name="Promotions", title="shelfsight - Promotions", order=3
)


def parse_state(query: Mapping[str, Any]) -> dict[str, Any]:
    """The page's filters from URL parameters; anything unparseable means the default."""
    store = urlstate.parse_int(query.get("store"))
    promo = urlstate.parse_int(query.get("promo"))
    return {
        "category": urlstate.parse_text(query.get("category")),
        "region": urlstate.parse_text(query.get("region")),
        "store": None if store is None else str(store),
        "promo": None if promo is None else str(promo),
        "rank": urlstate.parse_choice(query.get("rank"), promotion_queries.RANK_BY, DEFAULT_RANK),
    }


def parse_id(value: str | None) -> int | None:
    """A store or promotion id from a control; anything else means none."""
    return urlstate.parse_int(value)


def layout(**query: Any) -> Component:
    """The page; `?category=&region=&store=&promo=&rank=` in the URL set the controls."""
    state = parse_state(query)
    filters = dmc.Group(
        [
            build_select(CATEGORY_ID, "Category", "All categories", state["category"], 260),
            build_select(REGION_ID, "Region", "All regions", state["region"], 240),
            build_select(STORE_ID, "Store", "All stores", state["store"], 260),
        ],
        gap="md",
        mb="md",
    )
    charts = dmc.SimpleGrid(
        [build_tall_graph(DEPTH_GRAPH_ID), build_tall_graph(SCATTER_GRAPH_ID)],
        cols={"base": 1, "lg": 2},
        mb="md",
    )
    detail = components.build_section(
        "One promotion, day by day",
        "Units sold against the baseline (what the regression expects without the promotion) "
        "from two weeks before to a week after. Pick a promotion here or click a point above.",
        dmc.Stack(
            [
                dmc.Select(
                    id=PROMO_ID,
                    label="Promotion",
                    placeholder="Choose a promotion",
                    value=state["promo"],
                    data=[],
                    searchable=True,
                    limit=200,
                    nothingFoundMessage="No promotion matches",
                    w={"base": "100%", "sm": 520},
                ),
                dmc.Box(components.build_kpi_skeleton(1), id=DETAIL_SUMMARY_ID),
                components.build_graph(DETAIL_GRAPH_ID),
            ],
            gap="sm",
        ),
    )
    ranking = components.build_section(
        "Best and worst promotions",
        "Summed over the stores chosen above. Extra = sold minus baseline during the "
        "promotion; net revenue also counts the dip in the 7 days after (including days the "
        "promotion left the shelf empty) and the sales taken from the other products of the "
        "subcategory (siblings). Small lines: 95% intervals.",
        dmc.Stack(
            [
                dmc.Group(
                    [
                        dmc.Select(
                            id=RANK_ID,
                            label="Rank by",
                            value=state["rank"],
                            data=[
                                {"value": key, "label": label}
                                for key, label in promotion_queries.RANK_BY.items()
                            ],
                            allowDeselect=False,
                            w=220,
                        ),
                        dmc.Button("Download all as CSV", id=DOWNLOAD_BUTTON_ID, variant="light"),
                        dcc.Download(id=DOWNLOAD_ID),
                    ],
                    align="flex-end",
                    justify="space-between",
                ),
                dmc.Box(dmc.Skeleton(h=160), id=TABLE_ID),
            ],
            gap="sm",
        ),
    )
    page: Component = dmc.Box(
        [
            components.build_page_header(
                "Promotions",
                "What promotions added over their baseline: by discount depth, one by one, "
                "with the dip after and the sales taken from similar products.",
            ),
            filters,
            charts,
            dmc.Stack([detail, ranking], gap="md"),
        ]
    )
    return page


@callback(
    Output(CATEGORY_ID, "data"),
    Output(CATEGORY_ID, "value"),
    Output(REGION_ID, "data"),
    Output(STORE_ID, "data"),
    Output(STORE_ID, "value"),
    Input(REGION_ID, "value"),
    State(CATEGORY_ID, "value"),
    State(STORE_ID, "value"),
)
def update_filters(
    region: str | None, category: str | None, store: str | None
) -> tuple[Any, Any, Any, Any, Any]:
    with current_database().cursor() as cur:
        categories = promotion_queries.load_categories(cur).get_column("category").to_list()
        regions = queries.load_regions(cur).get_column("region").to_list()
        stores = queries.load_stores(cur, region=region)
    store_ids = [str(s) for s in stores.get_column("store_id").to_list()]
    return (
        _options(categories),
        dash.no_update if category is None or category in categories else None,
        _options(regions),
        [
            {"value": str(row["store_id"]), "label": str(row["store_name"])}
            for row in stores.iter_rows(named=True)
        ],
        dash.no_update if store is None or store in store_ids else None,
    )


def _options(values: list[str]) -> list[dict[str, str]]:
    return [{"value": value, "label": value} for value in values]


@callback(
    Output(DEPTH_GRAPH_ID, "figure"),
    Input(CATEGORY_ID, "value"),
    Input(REGION_ID, "value"),
    Input(STORE_ID, "value"),
)
def update_depth_chart(category: str | None, region: str | None, store: str | None) -> go.Figure:
    with current_database().cursor() as cur:
        return _depth_figure(cur, category=category, region=region, store_id=parse_id(store))


def _depth_figure(cur: duckdb.DuckDBPyConnection, **filters: Any) -> go.Figure:
    df = promotion_queries.load_uplift_by_depth(cur, **filters)
    return promotion_figures.build_uplift_by_depth_figure(df)


@embeddable("promotion-uplift", title="Promotion uplift by discount depth")
def embed_uplift_by_depth(cur: duckdb.DuckDBPyConnection, query: Mapping[str, str]) -> go.Figure:
    state = parse_state(query)
    return _depth_figure(
        cur, category=state["category"], region=state["region"], store_id=parse_id(state["store"])
    )


@callback(
    Output(SCATTER_GRAPH_ID, "figure"),
    Input(CATEGORY_ID, "value"),
    Input(REGION_ID, "value"),
    Input(STORE_ID, "value"),
    Input(PROMO_ID, "value"),
)
def update_scatter(
    category: str | None, region: str | None, store: str | None, promo: str | None
) -> go.Figure:
    with current_database().cursor() as cur:
        df = promotion_queries.load_promotion_summaries(
            cur, category=category, region=region, store_id=parse_id(store)
        )
    return promotion_figures.build_promotion_scatter_figure(df, selected=parse_id(promo))


@callback(
    Output(PROMO_ID, "data"),
    Output(PROMO_ID, "value"),
    Input(CATEGORY_ID, "value"),
    Input(REGION_ID, "value"),
    Input(STORE_ID, "value"),
    Input(SCATTER_GRAPH_ID, "clickData"),
    State(PROMO_ID, "value"),
)
def update_promotion_choice(
    category: str | None,
    region: str | None,
    store: str | None,
    click: dict[str, Any] | None,
    promo: str | None,
) -> tuple[list[dict[str, str]], str | None]:
    """The promotions that match the filters; the one clicked in the scatter, else the one
    chosen if it still matches, else the one with the most net extra revenue."""
    with current_database().cursor() as cur:
        df = promotion_queries.load_promotion_summaries(
            cur, category=category, region=region, store_id=parse_id(store)
        )
    wanted = clicked_promotion(click) if ctx.triggered_id == SCATTER_GRAPH_ID else None
    return build_promotion_options(df), choose_promotion(df, wanted or parse_id(promo))


@callback(
    Output(DETAIL_GRAPH_ID, "figure"),
    Output(DETAIL_SUMMARY_ID, "children"),
    Input(PROMO_ID, "value"),
    Input(REGION_ID, "value"),
    Input(STORE_ID, "value"),
)
def update_detail(
    promo: str | None, region: str | None, store: str | None
) -> tuple[go.Figure, Component]:
    promo_id = parse_id(promo)
    if promo_id is None:
        message = "Choose a promotion to see it day by day"
        return figures.build_empty_figure(message), components.build_empty_note(message + ".")
    with current_database().cursor() as cur:
        summary = promotion_queries.load_promotion_summaries(
            cur, category=None, region=region, store_id=parse_id(store), promo_id=promo_id
        )
        days = promotion_queries.load_promotion_days(
            cur, promo_id=promo_id, region=region, store_id=parse_id(store)
        )
    if summary.is_empty():
        message = "This promotion did not run in the stores chosen"
        return figures.build_empty_figure(message), components.build_empty_note(message + ".")
    row = summary.row(0, named=True)
    return promotion_figures.build_promotion_detail_figure(days, row), build_detail_cards(row)


def build_detail_cards(row: Mapping[str, Any]) -> Component:
    """The detail cards of this page (`DETAIL_CARDS`) for one promotion's summary row."""
    return promotion_views.build_detail_cards(row, DETAIL_CARDS)


@callback(
    Output(TABLE_ID, "children"),
    Input(CATEGORY_ID, "value"),
    Input(REGION_ID, "value"),
    Input(STORE_ID, "value"),
    Input(RANK_ID, "value"),
)
def update_table(
    category: str | None, region: str | None, store: str | None, rank: str | None
) -> Component:
    rank_by = urlstate.parse_choice(rank, promotion_queries.RANK_BY, DEFAULT_RANK)
    with current_database().cursor() as cur:
        df = promotion_queries.load_ranked_promotions(
            cur, category=category, region=region, store_id=parse_id(store), rank_by=rank_by
        )
    return build_ranking_tables(df)


@callback(
    Output(DOWNLOAD_ID, "data"),
    Input(DOWNLOAD_BUTTON_ID, "n_clicks"),
    State(CATEGORY_ID, "value"),
    State(REGION_ID, "value"),
    State(STORE_ID, "value"),
    prevent_initial_call=True,
)
def download_csv(
    _clicks: int | None, category: str | None, region: str | None, store: str | None
) -> dict[str, Any]:
    """Every promotion that matches the filters, with all its estimates, as CSV."""
    with current_database().cursor() as cur:
        df = promotion_queries.load_promotion_summaries(
            cur, category=category, region=region, store_id=parse_id(store)
        )
    download: dict[str, Any] = send_string(df.write_csv(), CSV_NAME)  # type: ignore[no-untyped-call]
    return download


# Keep the controls in the address bar so the view can be shared.
urlstate.sync_to_url(
    {
        "category": (CATEGORY_ID, "value"),
        "region": (REGION_ID, "value"),
        "store": (STORE_ID, "value"),
        "promo": (PROMO_ID, "value"),
        "rank": (RANK_ID, "value"),
    }
)
