"""Stockout risk: which series will run out before their next delivery, what to order at a
chosen service level, and how good the model and the ordering policy have been.

The scores, positions, replay and model runs are tables `shelfsight train` and `shelfsight
predict` write (`queries.risk`); until then the page says so in one sentence. The service-level
slider and the kind switch recompute the suggestions in the callback with
`analytics.replenishment.suggest_orders` over the positions `reorder_suggestions` holds; the grid
gets at most `MAX_ROWS` rows (the highest risks), the CSV every series to order. A clicked row
shows its recent sales and stock with a 28-day forecast (`analytics.pipeline.forecast_series`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

import dash
import dash_mantine_components as dmc
import duckdb
import plotly.graph_objects as go
import polars as pl
from dash import Input, Output, State, callback, clientside_callback, dcc
from dash.development.base_component import Component

from analytics.pipeline import ForecastError, forecast_series
from dashboard import components, figures, filters, urlstate
from dashboard.db import DataUnavailable, current_database
from dashboard.embeds import embeddable
from dashboard.figures import risk as risk_figures
from dashboard.queries import forecast as forecast_queries
from dashboard.queries import risk as risk_queries
from dashboard.queries.risk import KINDS, Kind, RiskFilter

IDS: Final = filters.FilterIds("risk")
LEVEL_ID: Final = "risk-level"
LEVEL_TEXT_ID: Final = "risk-level-text"
KIND_ID: Final = "risk-kind"
SERIES_ID: Final = "risk-series"
EMPTY_ID: Final = "risk-empty"
MESSAGE_ID: Final = "risk-message"
KPIS_ID: Final = "risk-kpis"
KPI_IDS: Final = (
    "risk-kpi-at-risk",
    "risk-kpi-lost-revenue",
    "risk-kpi-to-order",
    "risk-kpi-units",
)
GRID_ID: Final = "risk-grid"
GRID_NOTE_ID: Final = "risk-grid-note"
DOWNLOAD_BUTTON_ID: Final = "risk-download-button"
DOWNLOAD_ID: Final = "risk-download"
DETAIL_ID: Final = "risk-detail"
DETAIL_MESSAGE_ID: Final = "risk-detail-message"
SERIES_GRAPH_ID: Final = "risk-series-chart"
MODELS_ID: Final = "risk-models"
CALIBRATION_ID: Final = "risk-calibration"
IMPORTANCE_ID: Final = "risk-importance"
REPLAY_ID: Final = "risk-replay"

MAX_ROWS: Final = 500
MIN_LEVEL, MAX_LEVEL, LEVEL_STEP = 0.5, 0.995, 0.005
HORIZON: Final = 28
NOT_SCORED_MESSAGE: Final = (
    "No stockout scores yet: run 'shelfsight train' then 'shelfsight predict'."
)
LEVEL_MESSAGE: Final = "Choose a service level between 50% and 99.5%."
PICK_MESSAGE: Final = "Click a row of the table to see its sales, stock and forecast."
_GRAPH_STYLE: Final = {"height": "440px"}
_COLUMNS: Final = {"base": 1, "sm": 2, "lg": 4}
_SERIES_RE: Final = re.compile(r"^(\d{1,9})-(\d{1,9})$")
_INPUTS: Final = (
    Input(IDS.region, "value"), Input(IDS.store, "value"), Input(IDS.category, "value"),
    Input(IDS.subcategory, "value"), Input(IDS.product, "value"), Input(LEVEL_ID, "value"),
    Input(KIND_ID, "value"),
)  # fmt: skip

dash.register_page(  # type: ignore[no-untyped-call]
    __name__, path="/risk", name="Stockout risk", title="shelfsight - Stockout risk", order=5
)


class RiskRequest(NamedTuple):
    where: RiskFilter
    level: float
    kind: Kind


def load_scoring(cur: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """How the scores were made (`queries.risk.load_scoring`), or None before they were."""
    database = current_database()
    if database.memoized("risk:missing", lambda: risk_queries.load_missing_tables(cur)):
        return None
    frame = database.memoized("risk:scoring", lambda: risk_queries.load_scoring(cur))
    return frame.row(0, named=True)


def parse_level(value: Any) -> float | None:
    """A service level in [MIN_LEVEL, MAX_LEVEL] from a number or its text, else None."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return None
    return float(value) if MIN_LEVEL <= value <= MAX_LEVEL else None


def parse_series(value: Any) -> tuple[int, int] | None:
    """ "3-34" (a grid row id, the URL's `series`) as (store_id, product_id)."""
    match = _SERIES_RE.match(value) if isinstance(value, str) else None
    return (int(match[1]), int(match[2])) if match else None


def parse_controls(cur: duckdb.DuckDBPyConnection, *values: Any) -> RiskRequest | str:
    """The request the `_INPUTS` values make, or one sentence saying what is wrong with them."""
    region, store, category, subcategory, product, level_value, kind = values
    texts = {"region": region, "category": category, "subcategory": subcategory}
    ids = {"store": store, "product": product}
    if any(v is not None and urlstate.parse_text(v) is None for v in texts.values()) or any(
        v is not None and urlstate.parse_int(v) is None for v in ids.values()
    ):
        return "These filters cannot be read; clear them and choose again."
    level = parse_level(level_value)
    if level is None:
        return LEVEL_MESSAGE
    if kind not in KINDS:
        return "Choose a cycle service level or a fill rate."
    known = current_database().memoized("risk:known", lambda: risk_queries.load_known_values(cur))
    for kind_name, value in (*texts.items(), *ids.items()):
        values_known = known.filter(pl.col("kind") == kind_name).get_column("value")
        shown = None if value is None else str(urlstate.parse_int(value) or value)
        if shown is not None and shown not in values_known:
            return f"There is no {kind_name} '{shown[:60]}'."
    where = RiskFilter(
        region=region,
        store_id=urlstate.parse_int(store),
        category=category,
        subcategory=subcategory,
        product_id=urlstate.parse_int(product),
    )
    return RiskRequest(where, level, kind)


def layout(**query: Any) -> Component:
    """The page; the URL's query (the filter bar's keys, `level`, `kind`, `series`) sets the
    controls. Before the file is scored: the one sentence saying how to score it."""
    header = components.build_page_header(
        "Stockout risk",
        "Which store x product series will run out of stock before their next delivery, what "
        "to order at your service level, and how good the model and the policy have been.",
    )
    scoring, alert = None, dmc.Alert(NOT_SCORED_MESSAGE, id=EMPTY_ID, color="gray")
    try:
        with current_database().cursor() as cur:
            scoring = load_scoring(cur)
    except DataUnavailable as error:
        alert = components.build_error_alert(error.message)
    if scoring is None:
        box: Component = dmc.Box([header, alert])
        return box
    state = filters.FilterState.from_query(query)
    level = parse_level(query.get("level")) or scoring["service_level"]
    kind = urlstate.parse_choice(query.get("kind"), KINDS, scoring["service_kind"])
    series = query.get("series") if parse_series(query.get("series")) else None
    bar = filters.build_filter_bar(IDS, state, has_grain=False, has_dates=False)
    level_marks = [{"value": v, "label": f"{v * 100:g}%"} for v in (0.5, 0.6, 0.7, 0.8, 0.9, 0.995)]
    kinds = [{"value": "cycle", "label": "Cycle service level"}, {"value": "fill_rate",
             "label": "Fill rate"}]  # fmt: skip
    policy = dmc.Group(
        [
            filters.build_labelled(
                "Service level",
                dmc.Group([dmc.Slider(id=LEVEL_ID, value=level, min=MIN_LEVEL, max=MAX_LEVEL,
                           step=LEVEL_STEP, label=None, marks=level_marks, w=360, mb="md"),
                           dmc.Text(id=LEVEL_TEXT_ID, fw=700, c="indigo.8", w=56, mb="md")]),
            ),
            filters.build_labelled("Target", dmc.SegmentedControl(id=KIND_ID, value=kind,
                                                                  data=kinds)),
            dmc.Button("Order list CSV", id=DOWNLOAD_BUTTON_ID, variant="light", ml="auto"),
        ],
        gap="xl", align="flex-end", mt="sm",
    )  # fmt: skip
    sections = [
        ("Policy replay", "The suggested policy replayed day by day against what the stores "
         "did.", REPLAY_ID),
        ("Models of the latest run", "Scored on held-out days; the chosen one made the "
         "scores above.", MODELS_ID),
    ]  # fmt: skip
    page: Component = dmc.Box(
        [
            header,
            dmc.Text(risk_figures.describe_scoring(scoring), c="dimmed", size="sm", mb="sm"),
            dmc.Card([bar, policy], withBorder=True, padding="sm", mb="md"),
            dmc.Text(id=MESSAGE_ID, c="orange.8", fw=500, mb="xs"),
            dmc.Box(dmc.SimpleGrid(components.build_kpi_skeleton(4), cols=_COLUMNS), id=KPIS_ID),
            risk_figures.build_grid_card(GRID_ID, GRID_NOTE_ID, selected=series),
            dmc.Text(id=DETAIL_MESSAGE_ID, c="orange.8", fw=500, mt="xs"),
            dcc.Loading(dmc.Box(id=DETAIL_ID, mt="md"), delay_show=300),
            *[
                dmc.Box(components.build_section(title, about, dmc.Box(id=i)), mt="md")
                for title, about, i in sections
            ],
            dmc.SimpleGrid(
                [components.build_graph(CALIBRATION_ID), components.build_graph(IMPORTANCE_ID)],
                cols={"base": 1, "lg": 2},
                mt="md",
            ),
            dcc.Store(id=SERIES_ID, data=series),
            dcc.Download(id=DOWNLOAD_ID),
        ]
    )
    return page


@callback(
    Output(MESSAGE_ID, "children"),
    Output(KPIS_ID, "children"),
    Output(GRID_ID, "rowData"),
    Output(GRID_NOTE_ID, "children"),
    Output(REPLAY_ID, "children"),
    *_INPUTS,
)
def update_risk(*values: Any) -> tuple[Any, ...]:
    """KPIs, grid rows and replay for the controls; bad values: a message and no change."""
    unchanged = (dash.no_update,) * 4
    with current_database().cursor() as cur:
        scoring = load_scoring(cur)
        if scoring is None:
            return (NOT_SCORED_MESSAGE, *unchanged)
        request = parse_controls(cur, *values)
        if isinstance(request, str):
            return (request, *unchanged)
        series = risk_queries.load_series(cur, request.where)
        totals = risk_queries.load_replay_totals(cur, request.where).row(0, named=True)
    orders = risk_queries.add_suggestions(
        series, level=request.level, kind=request.kind, review_days=scoring["review_days"]
    )
    rows, note = risk_queries.build_grid_rows(orders, MAX_ROWS)
    kpis = risk_figures.build_kpi_cards(
        risk_queries.summarize_orders(orders),
        level=request.level,
        kind=request.kind,
        value_ids=KPI_IDS,
    )
    return "", kpis, rows, note, risk_figures.build_replay_table(totals)


@callback(
    Output(SERIES_ID, "data"),
    Input(GRID_ID, "cellClicked"),
    prevent_initial_call=True,
)
def select_series(clicked: Any) -> Any:
    """The clicked row's id ("store-product"); anything else changes nothing."""
    row_id = clicked.get("rowId") if isinstance(clicked, dict) else None
    return row_id if parse_series(row_id) else dash.no_update


@callback(
    Output(DETAIL_ID, "children"),
    Output(DETAIL_MESSAGE_ID, "children"),
    Input(SERIES_ID, "data"),
    Input(LEVEL_ID, "value"),
    Input(KIND_ID, "value"),
)
def update_detail(series: Any, level_value: Any, kind: Any) -> tuple[Any, str]:
    """The chosen series' chart, or a note to pick one; bad values: a message, no change."""
    if series is None:
        return components.build_empty_note(PICK_MESSAGE), ""
    ids, level = parse_series(series), parse_level(level_value)
    if ids is None:
        return dash.no_update, "That series cannot be read; click a row of the table."
    if level is None or kind not in KINDS:
        return dash.no_update, LEVEL_MESSAGE if level is None else "Choose a target."
    with current_database().cursor() as cur:
        figure = build_series_view(cur, ids, level=level, kind=kind)
    if isinstance(figure, str):
        return dash.no_update, figure
    graph = dcc.Graph(
        id=SERIES_GRAPH_ID,
        figure=figure,
        className="chart",
        config={"displaylogo": False, "responsive": True},
        style=_GRAPH_STYLE,
    )
    return dmc.Card(graph, withBorder=True, padding="xs"), ""


def build_series_view(
    cur: duckdb.DuckDBPyConnection, ids: tuple[int, int], *, level: float, kind: Kind
) -> go.Figure | str:
    """The series' last days with its forecast and order levels; or why there is none."""
    scoring = load_scoring(cur)
    if scoring is None:
        return NOT_SCORED_MESSAGE
    store_id, product_id = ids
    row = risk_queries.load_series(cur, RiskFilter(store_id=store_id, product_id=product_id))
    if row.is_empty() or row.get_column("pack_size").is_null().all():
        return f"There is no scored series for store {store_id} and product {product_id}."
    days = risk_queries.load_series_days(cur, store_id=store_id, product_id=product_id)
    history = forecast_queries.load_history(
        cur, forecast_queries.Series(store_id=store_id, product_id=product_id)
    )
    orders = risk_queries.add_suggestions(
        row, level=level, kind=kind, review_days=scoring["review_days"]
    )
    found = orders.row(0, named=True)
    try:
        forecast = forecast_series(history, horizon=HORIZON, model="auto").forecast
    except ForecastError:
        forecast = pl.DataFrame()
    return risk_figures.build_series_figure(
        days,
        forecast,
        title=f"{found['product_name']}, {found['store_name']}: sales, stock and "
        f"{HORIZON}-day forecast",
        levels={"Reorder point": found["reorder_point"], "Order up to": found["order_up_to"]},
    )


@callback(
    Output(MODELS_ID, "children"),
    Output(CALIBRATION_ID, "figure"),
    Output(IMPORTANCE_ID, "figure"),
    Input(MODELS_ID, "id"),
)
def update_models(_: Any) -> tuple[Component, go.Figure, go.Figure]:
    """The latest run's comparison table, calibration curves and permutation importance."""
    with current_database().cursor() as cur:
        if load_scoring(cur) is None:
            empty = figures.build_empty_figure(NOT_SCORED_MESSAGE)
            return components.build_empty_note(NOT_SCORED_MESSAGE), empty, empty
        runs = risk_queries.load_model_runs(cur)
        calibration = risk_queries.load_calibration(cur)
        importance = risk_queries.load_importance(cur)
    table = risk_figures.build_runs_table(runs)
    return (
        table,
        risk_figures.build_calibration_figure(calibration),
        risk_figures.build_importance_figure(importance),
    )


@callback(
    Output(DOWNLOAD_ID, "data"),
    Output(MESSAGE_ID, "children", allow_duplicate=True),
    Input(DOWNLOAD_BUTTON_ID, "n_clicks"),
    *[State(item.component_id, item.component_property) for item in _INPUTS],
    prevent_initial_call=True,
)
def download_orders(_clicks: Any, *values: Any) -> tuple[Any, str]:
    """Every filtered series with something to order at the chosen level, as CSV."""
    with current_database().cursor() as cur:
        scoring = load_scoring(cur)
        if scoring is None:
            return dash.no_update, NOT_SCORED_MESSAGE
        request = parse_controls(cur, *values)
        if isinstance(request, str):
            return dash.no_update, request
        series = risk_queries.load_series(cur, request.where)
    orders = risk_queries.add_suggestions(
        series, level=request.level, kind=request.kind, review_days=scoring["review_days"]
    )
    name = f"orders-{scoring['as_of_date']}-{request.kind}-{request.level * 100:g}.csv"
    return {"content": risk_queries.build_csv(orders), "filename": name, "type": "text/csv"}, ""


@embeddable("risk", title="Stockout risk")
def embed_risk(cur: duckdb.DuckDBPyConnection, query: Mapping[str, str]) -> go.Figure:
    """/embed/risk?<the page's query>: the chosen series' chart with `series`, else the
    highest risks of the filtered series."""
    scoring = load_scoring(cur)
    if scoring is None:
        return figures.build_empty_figure(NOT_SCORED_MESSAGE)
    state = filters.FilterState.from_query(query)
    level = parse_level(query.get("level")) or scoring["service_level"]
    kind = urlstate.parse_choice(query.get("kind"), KINDS, scoring["service_kind"])
    ids = parse_series(query.get("series"))
    if ids is not None:
        figure = build_series_view(cur, ids, level=level, kind=kind)
        return figures.build_empty_figure(figure) if isinstance(figure, str) else figure
    where = RiskFilter(state.region, state.store_id, state.category, state.subcategory,
                       state.product_id)  # fmt: skip
    return risk_figures.build_top_risk_figure(risk_queries.load_series(cur, where))


filters.register_filter_callbacks(IDS, has_grain=False, has_dates=False)
clientside_callback(
    "function (v) { return typeof v === 'number' ? (v * 100).toFixed(1) + '%' : ''; }",
    Output(LEVEL_TEXT_ID, "children"),
    Input(LEVEL_ID, "value"),
)
urlstate.sync_to_url(
    {"level": (LEVEL_ID, "value"), "kind": (KIND_ID, "value"), "series": (SERIES_ID, "data")}
)
