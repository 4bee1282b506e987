"""Forecast: one series' recent history, its forecast with 80% and 95% bands, what stockouts
cost, and how good each model has been on this series.

The series is a store x product, or a total the filter bar describes (a product over a region
or every store, a category, a region, ...; summed in SQL, see `queries.forecast`). The forecast
runs `horizon` days past the series' last day, or up to a chosen date, whose forecast and
ranges then head the KPIs. All the modelling is `analytics.pipeline.forecast_series`; the page
reads the history, calls it once and draws what it returns.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

import dash
import dash_mantine_components as dmc
import duckdb
import plotly.graph_objects as go
import polars as pl
from dash import Input, Output, State, callback, clientside_callback, dcc
from dash.development.base_component import Component

from analytics.pipeline import MODELS, ForecastError, forecast_series
from dashboard import components, figures, filters, urlstate
from dashboard.db import current_database
from dashboard.embeds import embeddable
from dashboard.figures import forecast as forecast_figures
from dashboard.figures.forecast import (
    CSV_FORECAST_COLUMNS,
    CSV_LEADERBOARD_COLUMNS,
    build_csv,
    build_download_rows,
    model_label,
)
from dashboard.queries import forecast as forecast_queries
from dashboard.queries import sales as sales_queries
from dashboard.queries.forecast import Series

logger = logging.getLogger(__name__)

IDS: Final = filters.FilterIds("forecast")
MODEL_ID: Final = "forecast-model"
HORIZON_ID: Final = "forecast-horizon"
TARGET_DATE_ID: Final = "forecast-on"
KPIS_ID: Final = "forecast-kpis"
KPI_FORECAST_ID: Final = "forecast-kpi-forecast"
KPI_LOST_UNITS_ID: Final = "forecast-kpi-lost-units"
KPI_LOST_REVENUE_ID: Final = "forecast-kpi-lost-revenue"
KPI_MODEL_ID: Final = "forecast-kpi-model"
GRAPH_ID: Final = "forecast-chart"
LEADERBOARD_ID: Final = "forecast-leaderboard"
DATA_ID: Final = "forecast-data"
DOWNLOAD_LEADERBOARD_ID: Final = "forecast-download-leaderboard"
DOWNLOAD_FORECAST_ID: Final = "forecast-download-forecast"
DOWNLOAD_ID: Final = "forecast-download"

DEFAULT_MODEL: Final = "auto"
DEFAULT_HORIZON: Final = 28
MAX_HORIZON: Final = 365
GRAPH_HEIGHT: Final = 520
FAILED_MESSAGE: Final = "The forecast could not be made; the error has been logged."
FORECAST_INPUTS: Final = (
    Input(IDS.dates, "value"),
    Input(IDS.region, "value"),
    Input(IDS.store, "value"),
    Input(IDS.category, "value"),
    Input(IDS.subcategory, "value"),
    Input(IDS.product, "value"),
    Input(MODEL_ID, "value"),
    Input(HORIZON_ID, "value"),
    Input(TARGET_DATE_ID, "value"),
)
_CONTROL_KEYS: Final = (
    "dates", "region", "store", "category", "subcategory", "product", "model", "horizon", "on",
)  # fmt: skip

dash.register_page(  # type: ignore[no-untyped-call]
    __name__, path="/forecast", name="Forecast", title="shelfsight - Forecast", order=4
)


class ForecastRequest(NamedTuple):
    """What the controls (or a URL) ask for. `horizon` is None when the control holds no
    whole number of days in range; `target_date` (URL key `on`), when set, replaces it.
    (Not a dataclass: Dash runs page modules without registering them in sys.modules.)"""

    state: filters.FilterState
    model: str
    horizon: int | None
    target_date: dt.date | None

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> ForecastRequest:
        """From URL parameters: a value that does not parse means its default."""
        return cls(
            filters.FilterState.from_query(query),
            urlstate.parse_choice(query.get("model"), tuple(MODELS), DEFAULT_MODEL),
            urlstate.parse_int(query.get("horizon"), DEFAULT_HORIZON, high=MAX_HORIZON),
            urlstate.parse_date(query.get("on")),
        )

    @classmethod
    def from_controls(cls, *values: Any) -> ForecastRequest:
        """From the values of FORECAST_INPUTS, in their order: a horizon out of range is
        None here (the page says so), not the default."""
        query = dict(zip(_CONTROL_KEYS, values, strict=True))
        request = cls.from_query(query)
        return request._replace(horizon=urlstate.parse_int(query["horizon"], high=MAX_HORIZON))

    @property
    def series(self) -> Series:
        state = self.state
        return Series(
            region=state.region,
            store_id=state.store_id,
            category=state.category,
            subcategory=state.subcategory,
            product_id=state.product_id,
        )


def layout(**query: Any) -> Component:
    """The page; the URL's query (the filter bar's keys, `model`, `horizon`, `on`) sets the
    controls."""
    request = ForecastRequest.from_query(query)
    forecast_controls = dmc.Group(
        [
            dmc.Select(
                id=MODEL_ID,
                label="Model",
                value=request.model,
                data=[{"value": name, "label": model_label(name)} for name in MODELS],
                allowDeselect=False,
                w={"base": "100%", "xs": 220},
            ),
            dmc.NumberInput(
                id=HORIZON_ID,
                label="Horizon (days)",
                value=request.horizon,
                min=1,
                max=MAX_HORIZON,
                step=1,
                allowDecimal=False,
                allowNegative=False,
                clampBehavior="strict",
                disabled=request.target_date is not None,
                w={"base": "100%", "xs": 140},
            ),
            dmc.Box(
                dmc.DatePickerInput(
                    id=TARGET_DATE_ID,
                    label="Or up to a date",
                    placeholder="Pick a future date",
                    value=None if request.target_date is None else request.target_date.isoformat(),
                    valueFormat=filters.DATE_FORMAT,
                    clearable=True,
                    firstDayOfWeek=1,
                    w="100%",
                ),
                w={"base": "100%", "xs": 200},
            ),
            dmc.Group(
                [
                    dmc.Button("Leaderboard CSV", id=DOWNLOAD_LEADERBOARD_ID, variant="light"),
                    dmc.Button("Forecast CSV", id=DOWNLOAD_FORECAST_ID, variant="light"),
                ],
                gap="xs",
                ml="auto",
            ),
        ],
        gap="md",
        align="flex-end",
        mt="sm",
    )
    page: Component = dmc.Box(
        [
            components.build_page_header(
                "Forecast",
                "Pick a store and a product (or a category, or a region): recent sales, the "
                "forecast with its 80% and 95% ranges, what stockouts cost, and how each model "
                "did on this series in a backtest.",
            ),
            dmc.Card(
                [filters.build_filter_bar(IDS, request.state, has_grain=False), forecast_controls],
                withBorder=True,
                padding="sm",
                mb="md",
            ),
            dmc.Stack(
                [dmc.SimpleGrid(components.build_kpi_skeleton(4), cols={"base": 1, "sm": 2})],
                id=KPIS_ID,
                gap="xs",
            ),
            dmc.Card(
                dcc.Loading(
                    dcc.Graph(
                        id=GRAPH_ID,
                        config={"displaylogo": False, "responsive": True},
                        className="chart",
                        style={"height": f"{GRAPH_HEIGHT}px"},
                    ),
                    delay_show=300,
                ),
                withBorder=True,
                padding="xs",
                mt="md",
            ),
            dmc.Box(
                components.build_section(
                    "How good each model has been on this series",
                    "Rolling-origin backtest: each model forecast the days after a few past "
                    "cutoffs. MASE under 1 beats the seasonal-naive forecast; bias above 0 "
                    "over-forecasts; a well-calibrated 80% range holds about 80% of the days.",
                    dmc.Box(id=LEADERBOARD_ID),
                ),
                mt="md",
            ),
            dcc.Store(id=DATA_ID),
            dcc.Download(id=DOWNLOAD_ID),
        ]
    )
    return page


class ForecastView(NamedTuple):
    """What the page shows for one request; `data` holds the rows the downloads write."""

    figure: go.Figure
    kpis: list[Component]
    leaderboard: Component
    data: dict[str, list[dict[str, Any]]]


class ForecastInputs(NamedTuple):
    """What the forecast is made from, read while a cursor is open (the modelling is not)."""

    names: dict[str, Any]
    history: pl.DataFrame
    holidays: pl.DataFrame


def build_forecast_view(cur: duckdb.DuckDBPyConnection, request: ForecastRequest) -> ForecastView:
    """Read the series, forecast it once, and build the chart, KPIs and leaderboard; a request
    that cannot be answered gets its one-line reason in place of the chart."""
    return forecast_view(load_inputs(cur, request), request)


def load_inputs(cur: duckdb.DuckDBPyConnection, request: ForecastRequest) -> ForecastInputs | str:
    """The series' names, whole history and the public holidays; or why there is no series."""
    try:
        names = check_series(cur, request.series)
    except ForecastError as error:
        return str(error)
    history = forecast_queries.load_history(cur, request.series)
    if history.is_empty():
        return "No sales recorded for this selection."
    holidays = current_database().memoized(
        "sales:holidays", lambda: sales_queries.load_all_holidays(cur)
    )
    return ForecastInputs(names, history, holidays)


def forecast_view(inputs: ForecastInputs | str, request: ForecastRequest) -> ForecastView:
    """Forecast the series once (`analytics.pipeline.forecast_series`) and draw the result; a
    message in place of the chart when there is no series or the request cannot be met."""
    if isinstance(inputs, str):
        return build_message_view(inputs)
    dates = inputs.history.get_column("date")
    first, last = dates.min(), dates.max()
    assert isinstance(first, dt.date)
    assert isinstance(last, dt.date)
    try:
        horizon = forecast_horizon(request, last)
        result = forecast_series(inputs.history, horizon=horizon, model=request.model)
    except ForecastError as error:
        return build_message_view(str(error))
    start, end = request.state.window(first, last)
    shown = result.history.filter(pl.col("date").is_between(start, end))
    labels = forecast_figures.ForecastLabels(
        title="Units per day: recent sales and forecast",
        subtitle=f"{describe_series(inputs.names, request.series)} · {model_label(result.model)}",
    )
    figure = forecast_figures.build_forecast_figure(
        shown,
        result.forecast,
        labels=labels,
        target_date=request.target_date,
        holidays=inputs.holidays,
    )
    return ForecastView(
        figure,
        forecast_figures.build_kpi_cards(
            result.forecast,
            shown,
            model=result.model,
            reason=result.reason,
            target_date=request.target_date,
            value_ids=(KPI_FORECAST_ID, KPI_LOST_UNITS_ID, KPI_LOST_REVENUE_ID, KPI_MODEL_ID),
        ),
        forecast_figures.build_leaderboard(result.leaderboard, result.model, request.model),
        {
            "leaderboard": build_download_rows(result.leaderboard, CSV_LEADERBOARD_COLUMNS),
            "forecast": build_download_rows(result.forecast, CSV_FORECAST_COLUMNS),
        },
    )


def build_message_view(message: str) -> ForecastView:
    """The view of a request that cannot be answered: the message in place of the chart."""
    note = components.build_empty_note("No forecast, so no backtest either.")
    return ForecastView(figures.build_empty_figure(message[:1].upper() + message[1:]), [], note, {})


def check_series(cur: duckdb.DuckDBPyConnection, series: Series) -> dict[str, Any]:
    """The names of the chosen store and product; ForecastError naming a store, product,
    region, category or subcategory the data does not have."""
    database = current_database()
    key = ("forecast:names", series.store_id, series.product_id)
    names: dict[str, Any] = database.memoized(
        key,
        lambda: forecast_queries.load_names(
            cur, store_id=series.store_id, product_id=series.product_id
        ),
    ).row(0, named=True)
    if series.store_id is not None and names["store_name"] is None:
        raise ForecastError(f"There is no store {series.store_id}.")
    if series.product_id is not None and names["product_name"] is None:
        raise ForecastError(f"There is no product {series.product_id}.")
    known = database.memoized(
        "forecast:known-values", lambda: forecast_queries.load_known_values(cur)
    )
    for kind, value in (
        ("region", series.region),
        ("category", series.category),
        ("subcategory", series.subcategory),
    ):
        values = known.filter(pl.col("kind") == kind).get_column("value")
        if value is not None and value not in values:
            # plotly reads tags in a figure's text: a value from the URL is shown, not parsed
            shown = html.escape(value[:60], quote=False)
            raise ForecastError(f"There is no {kind} called '{shown}'.")
    return names


def forecast_horizon(request: ForecastRequest, last: dt.date) -> int:
    """Days to forecast after `last`: up to the chosen date, else the horizon."""
    if request.target_date is None:
        if request.horizon is None:
            raise ForecastError(f"Choose a horizon of 1 to {MAX_HORIZON} days.")
        return request.horizon
    days = (request.target_date - last).days
    if days < 1:
        raise ForecastError(f"Pick a date after {last:%d %b %Y}, the last day of data.")
    if days > MAX_HORIZON:
        raise ForecastError(
            f"Pick a date at most {MAX_HORIZON} days after {last:%d %b %Y}, the last day of data."
        )
    return days


def describe_series(names: Mapping[str, Any], series: Series) -> str:
    """ "Milk 1 L, Super Paris" or "Dairy, Bretagne" or "All products, all stores"."""
    if series.is_single:
        return f"{names['product_name']}, {names['store_name']}"
    what = names["product_name"] or series.subcategory or series.category or "All products"
    where = names["store_name"] or series.region or "all stores"
    return f"{what}, {where}"


@callback(
    Output(GRAPH_ID, "figure"),
    Output(KPIS_ID, "children"),
    Output(LEADERBOARD_ID, "children"),
    Output(DATA_ID, "data"),
    *FORECAST_INPUTS,
)
def update_forecast(*values: Any) -> tuple[go.Figure, list[Component], Component, Any]:
    if filters.is_partial_range(values[0]):
        raise dash.exceptions.PreventUpdate  # wait for the second date
    request = ForecastRequest.from_controls(*values)
    with current_database().cursor() as cur:  # closed before the modelling starts
        inputs = load_inputs(cur, request)
    view = forecast_view(inputs, request)
    return view.figure, view.kpis, view.leaderboard, view.data


@callback(
    Output(TARGET_DATE_ID, "minDate"),
    Output(TARGET_DATE_ID, "maxDate"),
    Output(TARGET_DATE_ID, "defaultDate"),
    Input(TARGET_DATE_ID, "id"),
)
def update_target_bounds(_: Any) -> tuple[str | None, str | None, str | None]:
    """Dates after the last day of data, up to the longest horizon; the picker opens on the
    first of them (not on today's month)."""
    with current_database().cursor() as cur:
        bounds = current_database().memoized(
            "sales:date-bounds", lambda: sales_queries.load_date_bounds(cur)
        )
    last = bounds.row(0, named=True)["last_date"]
    if last is None:
        return None, None, None
    first = (last + dt.timedelta(days=1)).isoformat()
    return first, (last + dt.timedelta(days=MAX_HORIZON)).isoformat(), first


@callback(
    Output(DOWNLOAD_ID, "data"),
    Input(DOWNLOAD_LEADERBOARD_ID, "n_clicks"),
    Input(DOWNLOAD_FORECAST_ID, "n_clicks"),
    State(DATA_ID, "data"),
    prevent_initial_call=True,
)
def download_csv(_leaderboard: int | None, _forecast: int | None, data: Any) -> dict[str, Any]:
    """The shown leaderboard or forecast as CSV (the rows the page already holds)."""
    which = "forecast" if dash.ctx.triggered_id == DOWNLOAD_FORECAST_ID else "leaderboard"
    return {
        "content": build_csv(data, which),
        "filename": f"forecast-{which}.csv",
        "type": "text/csv",
        "base64": False,
    }


@embeddable("forecast", title="Demand forecast")
def embed_forecast(cur: duckdb.DuckDBPyConnection, query: Mapping[str, str]) -> go.Figure:
    """The page's chart for /embed/forecast?<the page's URL query>. The embed is built while
    its layout is served, outside the callbacks' error handler: a model that fails says so in
    the frame (and the log), like a failed callback."""
    request = ForecastRequest.from_query(query)
    inputs = load_inputs(cur, request)  # DataUnavailable goes to the embed page's alert
    try:
        return forecast_view(inputs, request).figure
    except Exception:
        logger.exception("forecast embed failed for %s", dict(query))
        return figures.build_empty_figure(FAILED_MESSAGE)


filters.register_filter_callbacks(IDS, has_grain=False)
clientside_callback(
    "function (on) { return Boolean(on); }",
    Output(HORIZON_ID, "disabled"),
    Input(TARGET_DATE_ID, "value"),
)
urlstate.sync_to_url(
    {
        "model": (MODEL_ID, "value"),
        "horizon": (HORIZON_ID, "value"),
        "on": (TARGET_DATE_ID, "value"),
    }
)
