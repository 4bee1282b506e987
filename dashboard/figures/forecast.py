"""The Forecast page's chart: recent history, the forecast with its 80% and 95% bands, and
what stockouts cost, from `analytics.pipeline.forecast_series`' frames.

History is the units sold per day (a grey line); on a stockout day (`is_censored`) the day is
shaded, and a bar from the units sold up to the estimated demand shows the units lost, with a
marker at the demand. The forecast is a blue line over its two bands; a dotted line marks where
it starts, public holidays in its window are dotted lines named at the top, and a chosen date
gets a marker with its ranges. Built from plain dicts (see `traces.build_figure`). The
KPI cards, the backtest's leaderboard table, the models' names for people and the rows of the
downloads are here too (as `figures.seasonality` holds its page's table).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

import dash_mantine_components as dmc
import numpy as np
import polars as pl
from dash.development.base_component import Component
from plotly import graph_objects as go

from dashboard import components
from dashboard.figures import (
    FONT_FAMILY,
    MUTED_COLOR,
    STOCKOUT_COLOR,
    TEMPLATE,
    TEXT_COLOR,
    build_empty_figure,
)
from dashboard.figures.overlays import HOLIDAY_COLOR
from dashboard.figures.traces import Trace, build_figure, build_trace

NO_HISTORY_MESSAGE: Final = "No sales recorded for this selection"
SALES_COLOR: Final = "#5f6b76"
FORECAST_COLOR: Final = "#0072B2"
BAND_80_FILL: Final = "rgba(0, 114, 178, 0.28)"
BAND_95_FILL: Final = "rgba(0, 114, 178, 0.12)"
STOCKOUT_FILL: Final = "rgba(213, 94, 0, 0.13)"
LOST_FILL: Final = "rgba(213, 94, 0, 0.55)"
DAY_MS: Final = 86_400_000
MAX_HOLIDAY_LABELS: Final = 12


MODEL_LABELS: Final = {
    "auto": "Auto (picks per series)",
    "naive": "Naive",
    "seasonal_naive": "Seasonal naive",
    "linear": "Linear regression",
    "count": "Count regression",
    "holt_winters": "Holt-Winters",
    "stl_ets": "STL + ETS",
    "sarimax": "SARIMAX",
}
LEADERBOARD_COLUMNS: Final = (
    components.Column("label", "Model", detail="note"),
    components.Column("mase", "MASE", "vs seasonal naive", kind="ratio"),
    components.Column("smape", "sMAPE", "%", kind="decimal"),
    components.Column("mae", "MAE", "units/day", kind="decimal"),
    components.Column("bias", "Bias", "units/day", kind="decimal"),
    components.Column("coverage_80", "In 80% range", "of days", kind="percent"),
    components.Column("coverage_95", "In 95% range", "of days", kind="percent"),
    components.Column("n", "Days tested", kind="count"),
)


def model_label(name: str) -> str:
    """A model's name for people: "Holt-Winters" for `holt_winters`."""
    return MODEL_LABELS.get(name, name.replace("_", " ").capitalize())


def format_units(value: float) -> str:
    """Units as shown in the KPIs: one decimal under 10 (but 0 for none), whole units from
    there."""
    if value == 0:
        return "0"
    return f"{value:,.1f}" if abs(value) < 10 else f"{value:,.0f}"


def build_leaderboard(board: pl.DataFrame, used: str, requested: str) -> Component:
    """The backtest's leaderboard (`analytics.pipeline`'s: best MASE first), the `used` model
    marked, and the `auto` row (if any) saying what it picked."""
    if board.is_empty():
        return components.build_empty_note("Too little history to backtest the models.")
    notes = {used: "used for this forecast"}
    if requested == "auto":
        notes["auto"] = f"picked {model_label(used)} on the whole history"
    labels = {name: model_label(name) for name in board.get_column("model").to_list()}
    rows = board.with_columns(
        pl.col(pl.Float64).fill_nan(None),
        pl.col("model").replace_strict(labels, return_dtype=pl.String).alias("label"),
        pl.col("model").replace_strict(notes, default="", return_dtype=pl.String).alias("note"),
    )
    return components.build_table(rows, LEADERBOARD_COLUMNS, min_width=760)


CSV_LEADERBOARD_COLUMNS: Final = (
    "model", "n", "mase", "smape", "mae", "rmse", "bias", "coverage_80", "coverage_95",
)  # fmt: skip
CSV_FORECAST_COLUMNS: Final = ("date", "forecast", "lo_80", "hi_80", "lo_95", "hi_95", "model")


def build_download_rows(df: pl.DataFrame, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """`columns` of `df` (those it has) as JSON-ready rows, for a dcc.Store."""
    if df.is_empty():
        return []
    present = [column for column in columns if column in df.columns]
    return df.select(present).with_columns(pl.col(pl.Date).cast(pl.String)).to_dicts()


def build_csv(data: Any, which: str) -> str:
    """CSV of `data[which]` with its columns (just the header when there are no rows)."""
    columns = CSV_FORECAST_COLUMNS if which == "forecast" else CSV_LEADERBOARD_COLUMNS
    rows = data.get(which) if isinstance(data, dict) else None
    if not rows:
        return ",".join(columns) + "\n"
    return pl.DataFrame(rows).write_csv()


def build_kpi_cards(
    forecast: pl.DataFrame,
    shown: pl.DataFrame,
    *,
    model: str,
    reason: str,
    target_date: dt.date | None,
    value_ids: tuple[str, str, str, str],
) -> list[Component]:
    """The forecast (of the chosen date with its ranges, else the horizon's total), the units
    and revenue lost to stockouts over the shown history (`is_censored`, `lost_units`,
    `lost_revenue`), and the model with its reason; `value_ids` name the four values."""
    forecast_id, lost_units_id, lost_revenue_id, model_id = value_ids
    first, last = forecast.get_column("date").min(), forecast.get_column("date").max()
    assert isinstance(first, dt.date)
    assert isinstance(last, dt.date)
    day = forecast.filter(pl.col("date") == target_date) if target_date else forecast.head(0)
    if day.height:
        row = day.row(0, named=True)
        forecast_card = components.build_kpi_card(
            value_id=forecast_id,
            label=f"Forecast for {target_date:%a %d %b %Y}",
            value=f"{format_units(row['forecast'])} units",
            detail=(
                f"80%: {format_units(row['lo_80'])} to {format_units(row['hi_80'])} · "
                f"95%: {format_units(row['lo_95'])} to {format_units(row['hi_95'])}"
            ),
        )
    else:
        total = float(forecast.get_column("forecast").sum())
        forecast_card = components.build_kpi_card(
            value_id=forecast_id,
            label=f"Forecast, next {forecast.height} days",
            value=f"{format_units(total)} units",
            detail=f"{first:%d %b} to {last:%d %b %Y}, {format_units(total / forecast.height)} "
            "a day on average",
        )
    days_out = int(shown.get_column("is_censored").sum())
    lost_units = float(shown.get_column("lost_units").sum())
    lost_revenue = float(shown.get_column("lost_revenue").sum())
    span = _span(shown)
    cards = [
        forecast_card,
        components.build_kpi_card(
            value_id=lost_units_id,
            label="Units lost to stockouts (estimated)",
            value=f"{format_units(lost_units)} units",
            detail=f"On {days_out} stockout day{'s' if days_out != 1 else ''}, {span}",
            trend="bad" if lost_units > 0 else "neutral",
        ),
        components.build_kpi_card(
            value_id=lost_revenue_id,
            label="Revenue lost to stockouts (estimated)",
            value=components.format_eur(lost_revenue),
            detail=f"Units lost at the day's price, {span}",
            trend="bad" if lost_revenue > 0 else "neutral",
        ),
        components.build_kpi_card(
            value_id=model_id,
            label="Model used",
            value=model_label(model),
            detail=reason[:1].upper() + reason[1:],
        ),
    ]
    return [dmc.SimpleGrid(cards, cols={"base": 1, "sm": 2, "xl": 4})]


def _span(shown: pl.DataFrame) -> str:
    if shown.is_empty():
        return "no history shown"
    first, last = shown.get_column("date").min(), shown.get_column("date").max()
    assert isinstance(first, dt.date)
    assert isinstance(last, dt.date)
    return f"{first:%d %b %Y} to {last:%d %b %Y}"


@dataclass(frozen=True)
class ForecastLabels:
    """Words the chart needs beyond its data: title and subtitle."""

    title: str
    subtitle: str


def build_forecast_figure(
    history: pl.DataFrame,
    forecast: pl.DataFrame,
    *,
    labels: ForecastLabels,
    target_date: dt.date | None = None,
    holidays: pl.DataFrame | None = None,
) -> go.Figure:
    """The chart from the shown history (`date`, `units_sold`, `demand`, `is_censored`,
    `lost_units`), the forecast (`date`, `forecast`, `lo_80`, `hi_80`, `lo_95`, `hi_95`), an
    optional chosen date in the forecast, and public holidays (`date`, `holiday_name`) to name
    if they fall in the forecast's window."""
    if history.is_empty() and forecast.is_empty():
        return build_empty_figure(NO_HISTORY_MESSAGE)
    history = history.sort("date")
    forecast = forecast.sort("date")
    censored = history.filter(pl.col("is_censored"))
    traces: list[Trace] = []
    if not censored.is_empty():
        traces.extend(_stockout_traces(censored))
    if not forecast.is_empty():
        traces.extend(_band_traces(forecast))
    traces.append(
        build_trace(
            "scatter",
            x=history.get_column("date").to_numpy(),
            y=history.get_column("units_sold").to_numpy(),
            name="Sold",
            mode="lines",
            line={"color": SALES_COLOR, "width": 1.5},
            hovertemplate="Sold: %{y:,.0f}<extra></extra>",
        )
    )
    shapes = [
        _stockout_shape(first, last) for first, last in stockout_runs(censored.get_column("date"))
    ]
    annotations: list[dict[str, Any]] = []
    if not forecast.is_empty():
        traces.append(_forecast_trace(forecast))
        start = forecast.get_column("date").min()
        assert isinstance(start, dt.date)
        shapes.append(_day_line(start - dt.timedelta(days=1), MUTED_COLOR, "dot"))
        annotations.append(_top_label(start - dt.timedelta(days=1), "Forecast", MUTED_COLOR))
        if holidays is not None:
            in_window = holidays.filter(
                pl.col("date").is_between(start, forecast.get_column("date").max())
            ).head(MAX_HOLIDAY_LABELS)
            for row in in_window.iter_rows(named=True):
                shapes.append(_day_line(row["date"], HOLIDAY_COLOR, "dot"))
                annotations.append(_top_label(row["date"], row["holiday_name"], HOLIDAY_COLOR))
        if target_date is not None:
            traces.extend(_target_traces(forecast.filter(pl.col("date") == target_date)))
    layout = _layout(labels)
    return build_figure(traces, {**layout, "shapes": shapes, "annotations": annotations})


def _stockout_traces(censored: pl.DataFrame) -> list[Trace]:
    """The units lost as a bar from the units sold up to the demand, a marker at the demand,
    and a legend entry for the shading of stockout days (`_stockout_shape`)."""
    x = censored.get_column("date").to_numpy()
    return [
        build_trace(
            "scatter",
            x=[None],
            y=[None],
            name="Stockout day",
            mode="markers",
            marker={"symbol": "square", "size": 12, "color": STOCKOUT_FILL},
            hoverinfo="skip",
        ),
        build_trace(
            "bar",
            x=x,
            y=censored.get_column("lost_units").to_numpy(),
            base=censored.get_column("units_sold").to_numpy(),
            width=DAY_MS * 0.7,
            name="Lost (estimated)",
            marker={"color": LOST_FILL, "line": {"width": 0}},
            hovertemplate="Lost (estimated): %{y:,.1f}<extra></extra>",
        ),
        build_trace(
            "scatter",
            x=x,
            y=censored.get_column("demand").to_numpy(),
            name="Demand (estimated)",
            mode="markers",
            marker={"symbol": "diamond", "size": 6, "color": STOCKOUT_COLOR},
            hovertemplate="Demand (estimated): %{y:,.1f}<extra></extra>",
        ),
    ]


def stockout_runs(days: pl.Series) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days as (first, last) runs: one shaded rectangle per run of stockouts."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in days.sort().to_list():
        if runs and day - runs[-1][1] == dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _stockout_shape(first: dt.date, last: dt.date) -> dict[str, Any]:
    half_day = dt.timedelta(hours=12)
    return {
        "type": "rect",
        "x0": dt.datetime.combine(first, dt.time()) - half_day,
        "x1": dt.datetime.combine(last, dt.time()) + half_day,
        "xref": "x",
        "yref": "paper",
        "y0": 0,
        "y1": 1,
        "fillcolor": STOCKOUT_FILL,
        "line": {"width": 0},
        "layer": "below",
    }


def _band_traces(forecast: pl.DataFrame) -> list[Trace]:
    """The 95% and 80% intervals as closed polygons (one trace each, no hover)."""
    x = forecast.get_column("date").to_numpy()
    around = np.concatenate([x, x[::-1]])
    bands = []
    for level, fill in (("95", BAND_95_FILL), ("80", BAND_80_FILL)):
        lower = forecast.get_column(f"lo_{level}").to_numpy()
        upper = forecast.get_column(f"hi_{level}").to_numpy()
        bands.append(
            build_trace(
                "scatter",
                x=around,
                y=np.concatenate([upper, lower[::-1]]),
                name=f"{level}% range",
                mode="lines",
                fill="toself",
                fillcolor=fill,
                line={"width": 0, "color": fill},
                hoverinfo="skip",
            )
        )
    return bands


def _forecast_trace(forecast: pl.DataFrame) -> Trace:
    return build_trace(
        "scatter",
        x=forecast.get_column("date").to_numpy(),
        y=forecast.get_column("forecast").to_numpy(),
        customdata=forecast.select("lo_80", "hi_80", "lo_95", "hi_95").to_numpy(),
        name="Forecast",
        mode="lines",
        line={"color": FORECAST_COLOR, "width": 2},
        hovertemplate=(
            "Forecast: %{y:,.1f}<br>80%: %{customdata[0]:,.1f} to %{customdata[1]:,.1f}"
            "<br>95%: %{customdata[2]:,.1f} to %{customdata[3]:,.1f}<extra></extra>"
        ),
    )


def _target_traces(day: pl.DataFrame) -> list[Trace]:
    """The chosen date's forecast as a marker with its 95% range as an error bar."""
    if day.is_empty():
        return []
    row = day.row(0, named=True)
    return [
        build_trace(
            "scatter",
            x=[row["date"]],
            y=[row["forecast"]],
            name=f"{row['date']:%d %b %Y}",
            mode="markers",
            marker={"symbol": "circle", "size": 10, "color": FORECAST_COLOR},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [row["hi_95"] - row["forecast"]],
                "arrayminus": [row["forecast"] - row["lo_95"]],
                "color": FORECAST_COLOR,
                "thickness": 1.5,
                "width": 6,
            },
            hoverinfo="skip",
        )
    ]


def _day_line(day: dt.date, color: str, dash: str) -> dict[str, Any]:
    """A vertical line at the end of `day` (between it and the next)."""
    at = dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=12)
    return {
        "type": "line",
        "x0": at,
        "x1": at,
        "xref": "x",
        "yref": "paper",
        "y0": 0,
        "y1": 1,
        "line": {"color": color, "width": 1, "dash": dash},
        "layer": "below",
    }


def _top_label(day: dt.date, text: str, color: str) -> dict[str, Any]:
    at = dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=12)
    return {
        "x": at,
        "xref": "x",
        "y": 1,
        "yref": "paper",
        "yanchor": "bottom",
        "xanchor": "left",
        "text": text,
        "showarrow": False,
        "font": {"size": 11, "color": color},
    }


def _layout(labels: ForecastLabels) -> dict[str, Any]:
    return {
        "title": {
            "text": labels.title,
            "subtitle": {"text": labels.subtitle, "font": {"color": MUTED_COLOR, "size": 12}},
            "x": 0.01,
            "xanchor": "left",
            "font": {"size": 16},
        },
        "font": {"family": FONT_FAMILY, "size": 12, "color": TEXT_COLOR},
        "template": TEMPLATE,
        "margin": {"l": 64, "r": 24, "t": 80, "b": 32},
        "hovermode": "x unified",
        "hoverlabel": {"font": {"family": FONT_FAMILY}},
        "barmode": "overlay",
        "xaxis": {
            "type": "date",  # the legend-only trace has no x to guess the type from
            "showgrid": False,
            "hoverformat": "%a %d %b %Y",
            "ticklabelstandoff": 6,
        },
        "yaxis": {"title": {"text": "Units per day"}, "rangemode": "tozero", "tickformat": "~s"},
        "showlegend": True,
        "legend": {
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": -0.1,
            "yanchor": "top",
            "traceorder": "normal",
        },
        "separators": ".,",
    }
