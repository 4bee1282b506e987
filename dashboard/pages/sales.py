"""Sales & stock over time: units or revenue per day, week or month against a comparison
period, with stock on hand, stockouts, promotions and holidays, and a breakdown to drill into."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final, NamedTuple, get_args

import dash
import dash_mantine_components as dmc
import duckdb
import plotly.graph_objects as go
import polars as pl
from dash import Input, Output, State, callback, dcc
from dash.development.base_component import Component

from dashboard import components, figures, filters, urlstate
from dashboard.db import DataUnavailable, current_database
from dashboard.embeds import embeddable
from dashboard.figures import sales as sales_figures
from dashboard.figures.traces import FigureSpec
from dashboard.queries import sales as sales_queries
from dashboard.queries.sales import Comparison, Measure, Selection

IDS: Final = filters.FilterIds("sales")
MEASURE_ID: Final = "sales-measure"
COMPARISON_ID: Final = "sales-comparison"
PERIOD_ID: Final = "sales-period"
KPIS_ID: Final = "sales-kpis"
KPI_REVENUE_ID: Final = "sales-kpi-revenue"
KPI_UNITS_ID: Final = "sales-kpi-units"
KPI_STOCKOUT_ID: Final = "sales-kpi-stockout-rate"
TREND_GRAPH_ID: Final = "sales-trend"
BREAKDOWN_GRAPH_ID: Final = "sales-breakdown"
DOWNLOAD_BUTTON_ID: Final = "sales-download-button"
DOWNLOAD_ID: Final = "sales-download"
DOWNLOAD_NOTE_ID: Final = "sales-download-note"

MEASURES: Final[tuple[Measure, ...]] = get_args(Measure)
COMPARISONS: Final[tuple[Comparison, ...]] = get_args(Comparison)
DEFAULT_MEASURE: Final[Measure] = "revenue"
DEFAULT_COMPARISON: Final[Comparison] = "previous"
COMPARISON_LABELS: Final[dict[Comparison, str]] = {
    "previous": "Previous period",
    "last_year": "Same period last year",
}
NO_DATA_MESSAGE: Final = "No sales data yet."
COVERAGE_NOTE_SHARE: Final = 0.9  # say so when the comparison has data on fewer of its days
TREND_HEIGHT: Final = 540
BREAKDOWN_HEIGHT: Final = 500
FILTER_INPUTS: Final = (
    Input(IDS.dates, "value"),
    Input(IDS.grain, "value"),
    Input(IDS.region, "value"),
    Input(IDS.store, "value"),
    Input(IDS.category, "value"),
    Input(IDS.subcategory, "value"),
    Input(IDS.product, "value"),
    Input(MEASURE_ID, "value"),
    Input(COMPARISON_ID, "value"),
)

dash.register_page(  # type: ignore[no-untyped-call]
    __name__, path="/sales", name="Sales & stock", title="shelfsight - Sales & stock", order=1
)


def parse_measure(value: Any) -> Measure:
    return urlstate.parse_choice(value, MEASURES, DEFAULT_MEASURE)


def parse_comparison(value: Any) -> Comparison:
    return urlstate.parse_choice(value, COMPARISONS, DEFAULT_COMPARISON)


def layout(**query: Any) -> Component:
    """The page; the URL's query (FilterState keys, `measure`, `compare`) sets the controls."""
    state = filters.FilterState.from_query(query)
    view_controls = dmc.Group(
        [
            filters.build_labelled(
                "Measure",
                dmc.SegmentedControl(
                    id=MEASURE_ID,
                    value=parse_measure(query.get("measure")),
                    data=[
                        {"value": "revenue", "label": "Revenue"},
                        {"value": "units", "label": "Units"},
                    ],
                ),
            ),
            filters.build_labelled(
                "Compare with",
                dmc.SegmentedControl(
                    id=COMPARISON_ID,
                    value=parse_comparison(query.get("compare")),
                    data=[
                        {"value": value, "label": label}
                        for value, label in COMPARISON_LABELS.items()
                    ],
                ),
            ),
            dmc.Stack(
                [
                    dmc.Button(
                        "Download CSV",
                        id=DOWNLOAD_BUTTON_ID,
                        variant="light",
                    ),
                    dmc.Text(id=DOWNLOAD_NOTE_ID, size="xs", c="dimmed"),
                ],
                gap=2,
                ml="auto",
            ),
        ],
        gap="md",
        align="flex-end",
        mt="sm",
    )
    kpis = dmc.Stack(
        [dmc.SimpleGrid(components.build_kpi_skeleton(3), cols={"base": 1, "sm": 3})],
        id=KPIS_ID,
        gap="xs",
    )
    page: Component = dmc.Box(
        [
            components.build_page_header(
                "Sales & stock over time",
                "Units or revenue per day, week or month against a comparison period, with the "
                "stock on hand, stockouts, promotions and holidays. Click a bar of the breakdown "
                "to drill down.",
            ),
            dmc.Card(
                [filters.build_filter_bar(IDS, state), view_controls],
                withBorder=True,
                padding="sm",
                mb="md",
            ),
            kpis,
            _graph_card(TREND_GRAPH_ID, TREND_HEIGHT),
            _graph_card(BREAKDOWN_GRAPH_ID, BREAKDOWN_HEIGHT),
            dcc.Download(id=DOWNLOAD_ID),
        ]
    )
    return page


def _graph_card(graph_id: str, height: int) -> Component:
    card: Component = dmc.Card(
        dcc.Graph(
            id=graph_id,
            config={"displaylogo": False, "responsive": True},
            className="chart",
            style={"height": f"{height}px"},
        ),
        withBorder=True,
        padding="xs",
        mt="md",
    )
    return card


class SalesView(NamedTuple):
    """Everything the page shows for one state of the controls. (Not a dataclass: Dash runs
    page modules without registering them in sys.modules, which dataclasses need.)"""

    state: filters.FilterState
    measure: Measure
    comparison: Comparison

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> SalesView:
        return cls(
            filters.FilterState.from_query(query),
            parse_measure(query.get("measure")),
            parse_comparison(query.get("compare")),
        )

    @classmethod
    def from_controls(cls, *values: Any) -> SalesView:
        """From the values of FILTER_INPUTS, in their order."""
        keys = ("dates", "grain", "region", "store", "category", "subcategory", "product")
        query = dict(zip((*keys, "measure", "compare"), values, strict=True))
        return cls.from_query(query)

    @property
    def comparison_label(self) -> str:
        return COMPARISON_LABELS[self.comparison]

    def select(self, cur: duckdb.DuckDBPyConnection) -> Selection | None:
        """The window (the last six months of data when no dates are set) and its comparison;
        None when there is no data at all."""
        if self.state.start is not None and self.state.end is not None:
            start, end = self.state.start, self.state.end
        else:
            bounds = (
                current_database()
                .memoized("sales:date-bounds", lambda: sales_queries.load_date_bounds(cur))
                .row(0, named=True)
            )
            if bounds["first_date"] is None:
                return None
            start, end = self.state.window(bounds["first_date"], bounds["last_date"])
        return sales_queries.build_selection(
            start,
            end,
            self.state.grain,
            self.comparison,
            region=self.state.region,
            store_id=self.state.store_id,
            category=self.state.category,
            subcategory=self.state.subcategory,
            product_id=self.state.product_id,
        )


class TrendView(NamedTuple):
    figure: FigureSpec
    kpis: list[Component]


def build_trend_view(cur: duckdb.DuckDBPyConnection, view: SalesView) -> TrendView:
    """The trend chart and the KPI cards of `view` (both from one read of the trend)."""
    selection = view.select(cur)
    if selection is None:
        return TrendView(figures.build_empty_figure(NO_DATA_MESSAGE).to_plotly_json(), [])
    trend = sales_queries.load_trend(cur, selection)
    names = _load_names(cur, selection)
    promotions = None
    if selection.product_id is not None:
        region = names["store_region"] or selection.region
        product_id = selection.product_id
        everywhere = current_database().memoized(
            ("sales:promotions", product_id),
            lambda: sales_queries.load_product_promotions(cur, product_id=product_id),
        )
        promotions = sales_queries.filter_promotions(everywhere, selection, region=region)
    holidays = (
        current_database()
        .memoized("sales:holidays", lambda: sales_queries.load_all_holidays(cur))
        .filter(pl.col("date").is_between(selection.start, selection.end))
    )
    labels = sales_figures.TrendLabels(
        title=_trend_title(view),
        subtitle=_scope_text(names, selection),
        comparison=view.comparison_label,
        is_single_series=selection.is_single_series,
    )
    figure = sales_figures.build_trend_figure(
        trend,
        measure=view.measure,
        grain=selection.grain,
        labels=labels,
        promotions=promotions,
        holidays=holidays,
    )
    return TrendView(figure, build_kpi_cards(trend, selection, view.comparison_label))


def _trend_title(view: SalesView) -> str:
    name = "Revenue" if view.measure == "revenue" else "Units sold"
    return f"{name} and stock on hand by {view.state.grain}"


def _load_names(cur: duckdb.DuckDBPyConnection, selection: Selection) -> dict[str, Any]:
    """The selected store's name and region and the selected product's name (None if unset)."""
    if selection.product_id is None and selection.store_id is None:
        return {"store_name": None, "store_region": None, "product_name": None}
    key = ("sales:names", selection.store_id, selection.product_id)
    frame = current_database().memoized(key, lambda: sales_queries.load_names(cur, selection))
    names: dict[str, Any] = frame.row(0, named=True)
    return names


def _scope_text(names: Mapping[str, Any], selection: Selection) -> str:
    """What the chart covers, in words: "Milk 1 L, Super Paris, 01 Jul 2025 to 31 Dec 2025"."""
    what = names["product_name"] or selection.subcategory or selection.category or "All products"
    where = names["store_name"] or selection.region or "all stores"
    return f"{what}, {where}, {_format_range(selection.start, selection.end)}"


def _format_range(start: dt.date, end: dt.date) -> str:
    return f"{start:%d %b %Y} to {end:%d %b %Y}"


def build_kpi_cards(
    trend: pl.DataFrame, selection: Selection, comparison_label: str
) -> list[Component]:
    """The period line and three KPI cards with their change against the comparison."""
    totals = sales_queries.summarise_totals(trend)
    now, then = totals[sales_queries.CURRENT], totals[sales_queries.COMPARISON]
    against = f" vs {comparison_label.lower()}"
    comparison_days = (selection.comparison_end - selection.comparison_start).days + 1
    if 0 < then["day_count"] < COVERAGE_NOTE_SHARE * comparison_days:  # not for a few gaps
        against += f" (which has data on {then['day_count']} of its {comparison_days} days)"
    revenue = components.format_relative_change(now["revenue"], then["revenue"])
    units = components.format_relative_change(now["units_sold"], then["units_sold"])
    stockout = components.format_point_change(
        now["stockout_rate"], then["stockout_rate"], is_increase_good=False
    )
    cards = [
        components.build_kpi_card(
            value_id=KPI_REVENUE_ID,
            label="Revenue",
            value=components.format_eur(now["revenue"]),
            detail=_detail(revenue[0], against),
            trend=revenue[1],
        ),
        components.build_kpi_card(
            value_id=KPI_UNITS_ID,
            label="Units sold",
            value=components.format_count(now["units_sold"]),
            detail=_detail(units[0], against),
            trend=units[1],
        ),
        components.build_kpi_card(
            value_id=KPI_STOCKOUT_ID,
            label="Stockout rate (store x product days)",
            value=components.format_percent(now["stockout_rate"]),
            detail=_detail(stockout[0], against),
            trend=stockout[1],
        ),
    ]
    period = dmc.Text(
        f"{_format_range(selection.start, selection.end)} by {selection.grain}, compared with "
        f"{_format_range(selection.comparison_start, selection.comparison_end)} "
        f"({comparison_label.lower()})",
        id=PERIOD_ID,
        size="sm",
        c="dimmed",
    )
    return [period, dmc.SimpleGrid(cards, cols={"base": 1, "sm": 3})]


def _detail(change: str | None, against: str) -> str:
    return "Nothing to compare with" if change is None else change + against


@callback(
    Output(TREND_GRAPH_ID, "figure"),
    Output(KPIS_ID, "children"),
    *FILTER_INPUTS,
)
def update_trend(*values: Any) -> tuple[FigureSpec, list[Component]]:
    if filters.is_partial_range(values[0]):
        raise dash.exceptions.PreventUpdate  # wait for the second date
    with current_database().cursor() as cur:
        trend = build_trend_view(cur, SalesView.from_controls(*values))
    return trend.figure, trend.kpis


@callback(Output(BREAKDOWN_GRAPH_ID, "figure"), *FILTER_INPUTS)
def update_breakdown(*values: Any) -> go.Figure:
    if filters.is_partial_range(values[0]):
        raise dash.exceptions.PreventUpdate
    with current_database().cursor() as cur:
        return build_breakdown(cur, SalesView.from_controls(*values))


def build_breakdown(cur: duckdb.DuckDBPyConnection, view: SalesView) -> go.Figure:
    selection = view.select(cur)
    if selection is None:
        return figures.build_empty_figure(NO_DATA_MESSAGE)
    level = sales_queries.breakdown_level(selection)
    df = sales_queries.load_breakdown(cur, selection, measure=view.measure)
    selected = {"store": selection.store_id, "region": selection.region}.get(level)
    return sales_figures.build_breakdown_figure(
        df,
        level=level,
        measure=view.measure,
        comparison=view.comparison_label,
        selected=None if selected is None else str(selected),
    )


@callback(
    Output(IDS.category, "value", allow_duplicate=True),
    Output(IDS.product, "value", allow_duplicate=True),
    Output(IDS.region, "value", allow_duplicate=True),
    Output(IDS.store, "value", allow_duplicate=True),
    Input(BREAKDOWN_GRAPH_ID, "clickData"),
    prevent_initial_call=True,
)
def drill_down(click: Mapping[str, Any] | None) -> tuple[Any, Any, Any, Any]:
    """Clicking a bar sets the filter of its level (category, product, region or store) and
    leaves the others as they are."""
    level, key = parse_click(click)
    if level is None:
        raise dash.exceptions.PreventUpdate
    targets = ("category", "product", "region", "store")
    return tuple(key if level == target else dash.no_update for target in targets)  # type: ignore[return-value]


def parse_click(click: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """(level, member key) of the clicked breakdown bar, or (None, None)."""
    try:
        level, key = click["points"][0]["customdata"][:2]  # type: ignore[index]
    except (KeyError, IndexError, TypeError, ValueError):
        return None, None
    if level not in get_args(sales_queries.BreakdownLevel) or not isinstance(key, str):
        return None, None
    return level, key


@callback(
    Output(DOWNLOAD_ID, "data"),
    Output(DOWNLOAD_NOTE_ID, "children"),
    Input(DOWNLOAD_BUTTON_ID, "n_clicks"),
    *[State(item.component_id, item.component_property) for item in FILTER_INPUTS],
    prevent_initial_call=True,
)
def download_csv(_: int | None, *values: Any) -> tuple[Any, str]:
    """The shown periods as CSV; a failed read says so beside the button (never a file)."""
    view = SalesView.from_controls(*values)
    try:
        with current_database().cursor() as cur:
            selection = view.select(cur)
            trend = None if selection is None else sales_queries.load_trend(cur, selection)
    except DataUnavailable as error:
        return dash.no_update, error.message
    if selection is None or trend is None:
        return dash.no_update, NO_DATA_MESSAGE
    filename = f"sales-{selection.start}-{selection.end}-{selection.grain}.csv"
    content = sales_queries.build_trend_table(trend).write_csv()
    download = {"content": content, "filename": filename}
    return {**download, "type": "text/csv", "base64": False}, ""


@embeddable("sales-trend", title="Sales and stock over time")
def embed_sales_trend(cur: duckdb.DuckDBPyConnection, query: Mapping[str, str]) -> go.Figure:
    """The page's trend chart for /embed/sales-trend?<the page's URL query>."""
    return go.Figure(build_trend_view(cur, SalesView.from_query(query)).figure)


filters.register_filter_callbacks(IDS)
urlstate.sync_to_url({"measure": (MEASURE_ID, "value"), "compare": (COMPARISON_ID, "value")})
