"""The Stockout risk page's pieces: its KPI cards, the grid's columns, the model and replay
tables, and its charts (a series' sales, stock and forecast with its order levels; the models'
calibration curves; the permutation importance; the highest risks, for the embed).

Charts are built from plain dicts (see `traces.build_figure`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

import dash_ag_grid as dag
import dash_mantine_components as dmc
import numpy as np
import polars as pl
from dash import html
from dash.development.base_component import Component
from plotly import graph_objects as go

from dashboard import components
from dashboard.figures import (
    FONT_FAMILY,
    MUTED_COLOR,
    PALETTE,
    STOCKOUT_COLOR,
    TEMPLATE,
    TEXT_COLOR,
    build_empty_figure,
)
from dashboard.figures.forecast import stockout_runs
from dashboard.figures.traces import Trace, build_figure, build_trace

SALES_COLOR: Final = "#8a96a3"
STOCK_COLOR: Final = "#009E73"
FORECAST_COLOR: Final = "#0072B2"
BAND_FILL: Final = "rgba(0, 114, 178, 0.2)"
STOCKOUT_FILL: Final = "rgba(213, 94, 0, 0.13)"
REORDER_COLOR: Final = "#D55E00"
UP_TO_COLOR: Final = "#CC79A7"
MODEL_LABELS: Final = {
    "rule": "Rule (cover vs lead time)",
    "logistic": "Logistic regression",
    "forest": "Random forest",
    "boosting": "Gradient boosting",
}
KIND_LABELS: Final = {"cycle": "cycle service level", "fill_rate": "fill rate"}


GRID_THEME: Final = (
    "themeQuartz.withParams({spacing: 5, fontSize: 13, headerFontSize: 12, "
    "fontFamily: 'inherit', wrapperBorderRadius: 6})"
)


def _column(field: str, header: str, spec: str, width: int, **extra: Any) -> dict[str, Any]:
    """A grid column of numbers: right-aligned, a number filter (in the column menu), formatted in
    the browser; `width` is its least, the grid shares out what is left."""
    formatter = f"params.value == null ? '' : d3.format('{spec}')(params.value)"
    return {
        "field": field, "headerName": header, "minWidth": width, "flex": 1,
        "type": "rightAligned", "filter": "agNumberColumnFilter",
        # the filter stays in the column menu: the header's room is for its name
        "suppressHeaderFilterButton": True,
        "valueFormatter": {"function": formatter}, **extra,
    }  # fmt: skip


GRID_COLUMNS: Final[list[dict[str, Any]]] = [
    _column("risk_rank", "#", "d", 52, sort="asc", flex=0, maxWidth=52, filter=False,
            headerTooltip="Rank by stockout risk, 1 the highest"),
    {"field": "store_name", "headerName": "Store", "minWidth": 110, "flex": 1.4},
    {"field": "product_name", "headerName": "Product", "minWidth": 150, "flex": 2.5,
     "tooltipField": "product_name"},
    {"field": "category", "headerName": "Category", "minWidth": 95, "flex": 1.2},
    _column("stockout_probability", "Risk", ".1%", 76,
            headerTooltip="Stockout probability within the series' lead time"),
    _column("days_of_cover", "Cover days", ",.1f", 76),
    _column("stock_on_hand", "On hand", ",.0f", 76),
    _column("on_order", "On order", ",.0f", 76),
    _column("demand_mean", "Demand", ",.1f", 76, headerTooltip="Mean demand per day"),
    _column("reorder_point", "Reorder", ",.1f", 76, headerTooltip="Reorder point (units)"),
    _column("safety_stock", "Safety stock", ",.1f", 76),
    _column("suggested_order", "Order units", ",.0f", 76,
            headerTooltip="Suggested order in whole packs at the chosen service level"),
    _column("expected_lost_revenue", "Lost EUR", ",.0f", 76,
            headerTooltip="Expected revenue lost over the lead time if nothing is ordered"),
]  # fmt: skip


_GRID_DEFAULTS: Final = {"sortable": True, "filter": True, "resizable": True,
                         "wrapHeaderText": True, "autoHeaderHeight": True}  # fmt: skip
_GRID_OPTIONS: Final = {
    "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
    "animateRows": False, "tooltipShowDelay": 300, "suppressColumnVirtualisation": True,
    "theme": {"function": GRID_THEME},
}  # fmt: skip


def build_grid_card(grid_id: str, note_id: str, *, selected: str | None) -> Component:
    """The ranked grid (rows come from a callback) under its note; `selected` is the id of
    the row shown selected ("store-product")."""
    grid = dag.AgGrid(
        id=grid_id,
        columnDefs=GRID_COLUMNS,
        rowData=[],
        getRowId="params.data.id",
        defaultColDef=_GRID_DEFAULTS,
        dashGridOptions=_GRID_OPTIONS,
        selectedRows={"ids": [selected]} if selected else [],
        style={"height": "460px"},
    )
    note = dmc.Text(id=note_id, size="sm", c="dimmed", mb="xs")
    card: Component = dmc.Card([note, grid], withBorder=True, padding="sm", mt="md")
    return card


def model_label(model: str, is_calibrated: bool | None = None) -> str:
    label = MODEL_LABELS.get(model, model.replace("_", " ").capitalize())
    return f"{label}, calibrated" if is_calibrated else label


def describe_level(level: float, kind: str) -> str:
    """ "95% cycle service level", "97.5% fill rate"."""
    return f"{level * 100:g}% {KIND_LABELS.get(kind, kind)}"


def describe_scoring(scoring: Mapping[str, Any]) -> str:
    """ "Scores of 31 Dec 2025 by Logistic regression (run 114c0b7cd0c8, trained ...)"."""
    trained = scoring["trained_at"]
    when = f", trained {trained:%d %b %Y %H:%M}" if trained else ""
    text = (
        f"Scores of {scoring['as_of_date']:%d %b %Y} by {model_label(scoring['model'])} "
        f"(run {scoring['run_id']}{when})."
    )
    if scoring["latest_run_id"] not in (None, scoring["run_id"]):
        text += f" Run {scoring['latest_run_id']} is newer: run 'shelfsight predict' to use it."
    return text


def build_kpi_cards(
    summary: Mapping[str, Any], *, level: float, kind: str, value_ids: Sequence[str]
) -> list[Component]:
    """Four cards from `summary`: `series`, `at_risk`, `lost_revenue`, `lost_units`,
    `to_order`, `units_to_order`, `order_value`."""
    at_risk_id, lost_id, series_id, units_id = value_ids
    series = summary["series"]
    cards = [
        components.build_kpi_card(
            value_id=at_risk_id,
            label="Series at 50%+ stockout risk",
            value=components.format_count(summary["at_risk"]),
            detail=f"of {series:,} series scored, within each one's lead time",
            trend="bad" if summary["at_risk"] else "neutral",
        ),
        components.build_kpi_card(
            value_id=lost_id,
            label="Expected lost revenue if nothing is ordered",
            value=components.format_eur(summary["lost_revenue"]),
            detail=f"{summary['lost_units']:,.0f} units over each series' lead time",
            trend="bad" if summary["lost_revenue"] >= 0.5 else "neutral",
        ),
        components.build_kpi_card(
            value_id=series_id,
            label="Series to order",
            value=components.format_count(summary["to_order"]),
            detail=f"at a {describe_level(level, kind)}",
        ),
        components.build_kpi_card(
            value_id=units_id,
            label="Units to order",
            value=components.format_count(summary["units_to_order"]),
            detail=f"in whole packs, worth {components.format_eur(summary['order_value'])}",
        ),
    ]
    return [dmc.SimpleGrid(cards, cols={"base": 1, "sm": 2, "lg": 4})]


def build_text_table(
    header: Sequence[tuple[str, str]], rows: Sequence[Sequence[str]], *, min_width: int
) -> Component:
    """A table of formatted cells: `header` gives (title, unit); every column but the first
    holds numbers (right-aligned)."""
    classes = ["col-text"] + ["col-decimal"] * (len(header) - 1)
    head = dmc.TableThead(
        dmc.TableTr(
            [
                dmc.TableTh([title, html.Div(unit, className="unit")], className=cls)
                for (title, unit), cls in zip(header, classes, strict=True)
            ]
        )
    )
    body = dmc.TableTbody(
        [
            dmc.TableTr(
                [dmc.TableTd(cell, className=c) for cell, c in zip(row, classes, strict=True)]
            )
            for row in rows
        ]
    )
    table = dmc.Table([head, body], striped=True, tabularNums=True, fz="sm", verticalSpacing=6)
    container: Component = dmc.TableScrollContainer(table, minWidth=min_width)
    return container


def build_runs_table(runs: pl.DataFrame) -> Component:
    """The latest run's comparison: one row per model and variant, the chosen one marked."""
    if runs.is_empty():
        return components.build_empty_note("No model runs recorded.")
    header = [
        ("Model", ""), ("ROC-AUC", ""), ("PR-AUC", "held-out days"), ("Brier", "lower is better"),
        ("Precision@k", ""), ("Recall@k", ""), ("Fit", "seconds"),
    ]  # fmt: skip
    rows: list[list[str]] = [
        [
            model_label(row["model"], row["is_calibrated"])
            + (" (chosen)" if row["is_chosen"] else ""),
            _number(row["roc_auc"], ".3f"),
            _number(row["pr_auc"], ".3f"),
            _number(row["brier"], ".4f"),
            _number(row["precision_at_k"], ".1%"),
            _number(row["recall_at_k"], ".1%"),
            _number(row["fit_seconds"], ",.1f"),
        ]
        for row in runs.iter_rows(named=True)
    ]
    first = runs.row(0, named=True)
    about = (
        f"Run {first['run_id']}: held-out days {first['test_start']:%d %b} to "
        f"{first['test_end']:%d %b %Y}; precision and recall over the {first['k']:,} highest "
        "scores a day."
    )
    stack: Component = dmc.Stack(
        [dmc.Text(about, size="sm"), build_text_table(header, rows, min_width=720)], gap=4
    )
    return stack


def _number(value: float | None, spec: str) -> str:
    return components.NO_VALUE if value is None or np.isnan(value) else format(value, spec)


def build_replay_table(totals: Mapping[str, Any]) -> Component:
    """The policy against what happened, from `load_replay_totals`' row, under a line saying
    over what and at which level it was replayed."""
    if not totals["series"] or totals["replay_start"] is None:
        return components.build_empty_note("No series of these filters was replayed.")
    level = describe_level(totals["service_level"], totals["service_kind"])
    about = (
        f"{totals['series']:,} series from {totals['replay_start']:%d %b} to "
        f"{totals['replay_end']:%d %b %Y}, replayed at the {level} 'shelfsight predict' used "
        "(the slider does not change it)."
    )
    header = [
        ("", ""), ("Fill rate", "1 - lost / demand"), ("Stockout days", "series x days"),
        ("Lost units", ""), ("Lost revenue", "EUR"), ("Average stock", "units, all series"),
    ]  # fmt: skip
    demand = totals["demand_units"] or 0.0
    rows = []
    for side, label in (("policy", "Suggested policy"), ("actual", "What happened")):
        lost = totals[f"{side}_lost_units"] or 0.0
        rows.append(
            [
                label,
                components.format_percent(1 - lost / demand if demand else None),
                components.format_count(totals[f"{side}_stockout_days"]),
                f"{lost:,.0f}",
                f"{totals[f'{side}_lost_revenue'] or 0.0:,.0f}",
                f"{totals[f'{side}_average_stock'] or 0.0:,.0f}",
            ]
        )
    stack: Component = dmc.Stack(
        [dmc.Text(about, size="sm"), build_text_table(header, rows, min_width=640)], gap=4
    )
    return stack


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        "font": {"family": FONT_FAMILY, "size": 12, "color": TEXT_COLOR},
        "template": TEMPLATE,
        "margin": {"l": 64, "r": 24, "t": 56, "b": 40},
        "hoverlabel": {"font": {"family": FONT_FAMILY}},
        "separators": ".,",
        **extra,
    }


def build_series_figure(
    days: pl.DataFrame,
    forecast: pl.DataFrame,
    *,
    title: str,
    levels: Mapping[str, float],
) -> go.Figure:
    """Units sold a day (bars) and stock on hand (a step line, right axis) from `days`
    (`date`, `units_sold`, `stock_end`, `is_stockout`), stockout days shaded, the forecast
    (`date`, `forecast`, `lo_80`, `hi_80`) with its 80% band, and `levels` (label: units of
    stock, such as the reorder point) as dashed lines on the stock axis."""
    if days.is_empty():
        return build_empty_figure("No sales recorded for this series")
    dates = days.get_column("date").to_numpy()
    traces: list[Trace] = [
        build_trace("scatter", x=[None], y=[None], name="Stockout day", mode="markers",
                    marker={"symbol": "square", "size": 12, "color": STOCKOUT_FILL},
                    hoverinfo="skip"),
        build_trace("bar", x=dates, y=days.get_column("units_sold").to_numpy(), name="Sold",
                    marker={"color": SALES_COLOR, "line": {"width": 0}},
                    hovertemplate="Sold: %{y:,.0f}<extra></extra>"),
        build_trace("scatter", x=dates, y=days.get_column("stock_end").to_numpy(),
                    name="Stock on hand", yaxis="y2", mode="lines", line={"color": STOCK_COLOR,
                    "width": 2, "shape": "hv"}, hovertemplate="Stock: %{y:,.0f}<extra></extra>"),
    ]  # fmt: skip
    if not forecast.is_empty():
        x = forecast.get_column("date").to_numpy()
        band = np.concatenate([forecast["hi_80"].to_numpy(), forecast["lo_80"].to_numpy()[::-1]])
        traces += [
            build_trace("scatter", x=np.concatenate([x, x[::-1]]), y=band, name="80% range",
                        mode="lines", fill="toself", fillcolor=BAND_FILL,
                        line={"width": 0, "color": BAND_FILL}, hoverinfo="skip"),
            build_trace("scatter", x=x, y=forecast.get_column("forecast").to_numpy(),
                        name="Forecast", mode="lines", line={"color": FORECAST_COLOR, "width": 2},
                        hovertemplate="Forecast: %{y:,.1f}<extra></extra>"),
        ]  # fmt: skip
    stockouts = days.filter(pl.col("is_stockout")).get_column("date")
    shapes = [_day_span(first, last) for first, last in stockout_runs(stockouts)]
    annotations = []
    for (label, value), color in zip(levels.items(), (REORDER_COLOR, UP_TO_COLOR), strict=False):
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y2",
                       "y0": value, "y1": value, "line": {"color": color, "width": 1.5,
                       "dash": "dash"}})  # fmt: skip
        annotations.append({"xref": "paper", "x": 0.995, "xanchor": "right", "yref": "y2",
                            "y": value, "yanchor": "bottom", "showarrow": False,
                            "text": f"{label} {value:,.0f}", "font": {"color": color}})  # fmt: skip
    layout = _layout(
        title,
        hovermode="x unified",
        barmode="overlay",
        shapes=shapes,
        annotations=annotations,
        xaxis={"type": "date", "showgrid": False, "hoverformat": "%a %d %b %Y"},
        yaxis={"title": {"text": "Units sold a day"}, "rangemode": "tozero"},
        yaxis2={"title": {"text": "Stock on hand (units)", "font": {"color": STOCK_COLOR}},
                "tickmode": "auto",
                "overlaying": "y", "side": "right", "rangemode": "tozero", "showgrid": False},
        legend={"orientation": "h", "x": 0, "y": -0.12, "yanchor": "top"},
    )  # fmt: skip
    layout["margin"] = {"l": 64, "r": 72, "t": 56, "b": 40}
    return build_figure(traces, layout)


def _day_span(first: dt.date, last: dt.date) -> dict[str, Any]:
    half = dt.timedelta(hours=12)
    return {"type": "rect", "xref": "x", "yref": "paper", "y0": 0, "y1": 1, "layer": "below",
            "x0": dt.datetime.combine(first, dt.time()) - half,
            "x1": dt.datetime.combine(last, dt.time()) + half,
            "fillcolor": STOCKOUT_FILL, "line": {"width": 0}}  # fmt: skip


def build_calibration_figure(bins: pl.DataFrame) -> go.Figure:
    """Observed stockout rate against the mean score per bin, one line per model and variant,
    with the diagonal a perfectly calibrated model follows."""
    if bins.is_empty():
        return build_empty_figure("No calibration recorded")
    traces: list[Trace] = [
        build_trace("scatter", x=[0, 1], y=[0, 1], name="Perfectly calibrated", mode="lines",
                    line={"color": MUTED_COLOR, "dash": "dot", "width": 1}, hoverinfo="skip"),
    ]  # fmt: skip
    variants = bins.select("model", "is_calibrated").unique(maintain_order=True).rows()
    for index, (model, is_calibrated) in enumerate(variants):
        rows = bins.filter(pl.col("model") == model, pl.col("is_calibrated") == is_calibrated)
        traces.append(
            build_trace(
                "scatter",
                x=rows.get_column("mean_score").to_numpy(),
                y=rows.get_column("observed_rate").to_numpy(),
                customdata=rows.get_column("rows").to_numpy(),
                name=model_label(model, is_calibrated),
                mode="lines+markers",
                line={"color": PALETTE[index % len(PALETTE)], "width": 2},
                hovertemplate="Scored %{x:.1%}, observed %{y:.1%} (%{customdata:,} rows)"
                "<extra></extra>",
            )
        )
    axis = {"range": [0, 1], "tickformat": ".0%", "zeroline": False}
    return build_figure(
        traces,
        _layout(
            "Calibration: predicted against observed",
            xaxis={**axis, "title": {"text": "Mean predicted probability"}},
            yaxis={**axis, "title": {"text": "Observed stockout rate"}},
            legend={"x": 0.02, "y": 0.98, "bgcolor": "rgba(255, 255, 255, 0.85)"},
        ),
    )


def build_importance_figure(importance: pl.DataFrame) -> go.Figure:
    """The PR-AUC lost when each feature is shuffled, largest at the top, with its spread."""
    if importance.is_empty():
        return build_empty_figure("No importance recorded")
    rows = importance.sort("pr_auc_drop")
    model = model_label(str(rows.get_column("model")[0]))
    trace = build_trace(
        "bar",
        orientation="h",
        x=rows.get_column("pr_auc_drop").to_numpy(),
        y=rows.get_column("feature").to_list(),
        error_x={"type": "data", "array": rows.get_column("pr_auc_drop_std").to_numpy(),
                 "color": MUTED_COLOR, "thickness": 1},
        marker={"color": PALETTE[0]},
        hovertemplate="%{y}: %{x:.3f}<extra></extra>",
    )  # fmt: skip
    return build_figure(
        [trace],
        _layout(
            f"What the chosen model relies on ({model})",
            xaxis={"title": {"text": "PR-AUC lost when the feature is shuffled"}},
            yaxis={"automargin": True},
            margin={"l": 16, "r": 24, "t": 56, "b": 40},
        ),
    )


def build_top_risk_figure(rows: pl.DataFrame, *, limit: int = 20) -> go.Figure:
    """The `limit` highest stockout probabilities (`store_name`, `product_name`,
    `stockout_probability`) as bars, highest at the top."""
    rows = rows.drop_nulls("stockout_probability").head(limit)
    if rows.is_empty():
        return build_empty_figure("No series match these filters")
    labels = [f"{p} · {s}" for p, s in rows.select("product_name", "store_name").rows()]
    trace = build_trace(
        "bar", orientation="h", x=rows.get_column("stockout_probability").to_numpy()[::-1],
        y=labels[::-1], marker={"color": STOCKOUT_COLOR},
        hovertemplate="%{y}: %{x:.1%}<extra></extra>",
    )  # fmt: skip
    return build_figure(
        [trace],
        _layout(
            "Highest stockout risks",
            xaxis={"tickformat": ".0%", "title": {"text": "Stockout probability"}},
            yaxis={"automargin": True},
            margin={"l": 16, "r": 24, "t": 56, "b": 40},
        ),
    )
