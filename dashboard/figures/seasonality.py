"""Figures of the seasonality page: pure functions from polars frames to plotly Figures."""

from __future__ import annotations

import math
from typing import Any, Final

import plotly.graph_objects as go
import polars as pl

from dashboard.figures import (
    FONT_FAMILY,
    GRID_COLOR,
    MUTED_COLOR,
    PALETTE,
    STOCKOUT_COLOR,
    TEXT_COLOR,
    build_empty_figure,
)

WEEKDAY_NAMES: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES: Final = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
LINE_COLOR: Final = PALETTE[0]
BAND_COLOR: Final = "rgba(0, 114, 178, 0.18)"
OBSERVED_COLOR: Final = "#9aa5b1"
TREND_COLOR: Final = TEXT_COLOR
ANOMALY_COLOR: Final = STOCKOUT_COLOR
# Sequential, colour-blind safe (cividis-like blues to yellow would fight the text; plain blues).
HEATMAP_SCALE: Final = (
    (0.0, "#f7fbff"),
    (0.25, "#c6dbef"),
    (0.5, "#6baed6"),
    (0.75, "#2171b5"),
    (1.0, "#08306b"),
)
DECOMPOSITION_ROWS: Final = (
    # (y axis, domain, title, format)
    ("y", (0.55, 1.0), "Units", ",.0f"),
    ("y2", (0.37, 0.51), "Weekly", "+.0%"),
    ("y3", (0.19, 0.33), "Yearly", "+.0%"),
    ("y4", (0.0, 0.15), "Residual", "+.0%"),
)


def _layout(title: str, subtitle: str, *, top: int = 72, **extra: Any) -> go.Layout:
    return go.Layout(
        title={
            "text": title,
            "x": 0.01,
            "xanchor": "left",
            "font": {"size": 16},
            "subtitle": {"text": subtitle, "font": {"size": 12, "color": MUTED_COLOR}},
        },
        font={"family": FONT_FAMILY, "size": 12, "color": TEXT_COLOR},
        template="plotly_white",
        margin={"l": 64, "r": 16, "t": top, "b": 40},
        hoverlabel={"font": {"family": FONT_FAMILY}},
        separators=".,",
        **extra,
    )


def _subtitle(scope_label: str | None, method: str) -> str:
    return method if not scope_label else f"{scope_label} · {method}"


def _number_format(values: pl.Series) -> str:
    """Whole numbers for large values, one decimal for small ones (a single product)."""
    largest = values.abs().max()
    return ",.0f" if isinstance(largest, int | float) and largest >= 20 else ",.1f"


def build_heatmap_figure(grid: pl.DataFrame, *, scope_label: str | None = None) -> go.Figure:
    """Average daily units per weekday (rows, Monday on top) and month (columns), from
    `month`, `weekday`, `mean_value`, `day_count`, `index`."""
    if grid.is_empty():
        return build_empty_figure()
    months = sorted(grid.get_column("month").unique().to_list())
    cells = {(row["weekday"], row["month"]): row for row in grid.iter_rows(named=True)}

    def matrix(column: str) -> list[list[Any]]:
        return [
            [cells.get((weekday, month), {}).get(column) for month in months]
            for weekday in range(1, 8)
        ]

    number = _number_format(grid.get_column("mean_value"))
    customdata = [
        [[index, count] for index, count in zip(index_row, count_row, strict=True)]
        for index_row, count_row in zip(matrix("index"), matrix("day_count"), strict=True)
    ]
    figure = go.Figure(
        go.Heatmap(
            z=matrix("mean_value"),
            x=[MONTH_NAMES[month - 1][:3] for month in months],
            y=[name[:3] for name in WEEKDAY_NAMES],
            customdata=customdata,
            colorscale=[list(stop) for stop in HEATMAP_SCALE],
            texttemplate=f"%{{z:{number}}}",
            textfont={"size": 11},
            xgap=2,
            ygap=2,
            colorbar={
                "title": {"text": "units a day", "side": "right"},
                "thickness": 12,
                "tickformat": number,
            },
            hovertemplate=(
                f"%{{y}} in %{{x}}: %{{z:{number}}} units a day<br>"
                "Index %{customdata[0]:.2f} (1 = average day) over %{customdata[1]} days"
                "<extra></extra>"
            ),
        ),
        layout=_layout(
            "Average daily units by weekday and month",
            _subtitle(scope_label, "Days the stores were open"),
            xaxis={"side": "bottom", "showgrid": False, "title": {"text": "Month"}},
            yaxis={"autorange": "reversed", "showgrid": False, "title": {"text": "Weekday"}},
        ),
    )
    return figure


def build_weekday_profile_figure(
    profile: pl.DataFrame, *, scope_label: str | None = None
) -> go.Figure:
    """The weekday index with its 95% band, from `weekday_profile`'s frame."""
    if profile.is_empty():
        return build_empty_figure()
    weeks = int(profile.get_column("week_count").max() or 0)  # type: ignore[arg-type]
    labels = [WEEKDAY_NAMES[day - 1][:3] for day in profile.get_column("weekday").to_list()]
    return _build_profile_figure(
        profile,
        labels=labels,
        full_labels=[WEEKDAY_NAMES[day - 1] for day in profile.get_column("weekday").to_list()],
        title="Weekday profile",
        subtitle=_subtitle(
            scope_label, f"Band: 95% CI across {weeks} full weeks without a public holiday"
        ),
        x_title="Weekday",
        y_title="Index (1 = average day of the week)",
        value_text="units a day on average",
    )


def build_yearly_profile_figure(
    profile: pl.DataFrame, *, scope_label: str | None = None
) -> go.Figure:
    """The monthly index with its 95% band, from `yearly_profile`'s frame."""
    if profile.is_empty():
        return build_empty_figure()
    weeks = int(profile.get_column("week_count").sum())
    months = profile.get_column("month").to_list()
    return _build_profile_figure(
        profile,
        labels=[MONTH_NAMES[month - 1][:3] for month in months],
        full_labels=[MONTH_NAMES[month - 1] for month in months],
        title="Yearly profile",
        subtitle=_subtitle(scope_label, f"Band: 95% CI across the {weeks} weeks, by month"),
        x_title="Month (of the week's Thursday)",
        y_title="Index (1 = average week of the year)",
        value_text="units a week on average",
    )


def _build_profile_figure(
    profile: pl.DataFrame,
    *,
    labels: list[str],
    full_labels: list[str],
    title: str,
    subtitle: str,
    x_title: str,
    y_title: str,
    value_text: str,
) -> go.Figure:
    low = profile.get_column("index_low").to_list()
    high = profile.get_column("index_high").to_list()
    index = profile.get_column("index").to_list()
    number = _number_format(profile.get_column("mean_value"))
    customdata = [
        [name, lo, hi, value, count]
        for name, lo, hi, value, count in zip(
            full_labels,
            low,
            high,
            profile.get_column("mean_value").to_list(),
            profile.get_column("week_count").to_list(),
            strict=True,
        )
    ]
    figure = go.Figure(
        layout=_layout(
            title,
            subtitle,
            showlegend=False,
            hovermode="closest",
            xaxis={"showgrid": False, "title": {"text": x_title}, "fixedrange": True},
            yaxis={
                "title": {"text": y_title},
                "gridcolor": GRID_COLOR,
                "tickformat": ".2f",
                "zeroline": False,
            },
        )
    )
    figure.add_trace(
        go.Scatter(x=labels, y=high, mode="lines", line={"width": 0}, hoverinfo="skip")
    )
    figure.add_trace(
        go.Scatter(
            x=labels,
            y=low,
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=BAND_COLOR,
            hoverinfo="skip",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=labels,
            y=index,
            customdata=customdata,
            name="Index",
            mode="lines+markers",
            line={"width": 2, "color": LINE_COLOR},
            marker={"size": 7},
            hovertemplate=(
                "%{customdata[0]}: index %{y:.2f}<br>"
                "95% CI %{customdata[1]:.2f} to %{customdata[2]:.2f}<br>"
                f"%{{customdata[3]:{number}}} {value_text} (%{{customdata[4]}} weeks)"
                "<extra></extra>"
            ),
        )
    )
    figure.add_hline(y=1, line={"width": 1, "dash": "dot", "color": MUTED_COLOR})
    return figure


def build_decomposition_figure(
    parts: pl.DataFrame, *, scope_label: str | None = None, threshold: float
) -> go.Figure:
    """Observed units with the expected level, trend and anomalies; the weekly and yearly effects
    and the residual below, on one date axis. From `decompose` + `flag_anomalies`: `date`,
    `observed`, `expected`, `trend`, `weekly`, `yearly`, `residual`, `is_anomaly`,
    `resid_low`, `resid_high`."""
    if parts.is_empty():
        return build_empty_figure()
    dates = parts.get_column("date").to_list()
    number = _number_format(parts.get_column("observed"))
    axes: dict[str, Any] = {
        "xaxis": {
            "showgrid": False,
            "tickformat": "%b %Y",
            "hoverformat": "%a %d %b %Y",
            "anchor": "y4",
            "showspikes": True,
            "spikemode": "across",
            "spikethickness": 1,
            "spikecolor": MUTED_COLOR,
        }
    }
    for axis, domain, title, tick_format in DECOMPOSITION_ROWS:
        axes[axis.replace("y", "yaxis")] = {
            "domain": list(domain),
            "title": {"text": title},
            "gridcolor": GRID_COLOR,
            "tickformat": tick_format,
            "zeroline": axis != "y",
            "zerolinecolor": GRID_COLOR,
            "rangemode": "tozero" if axis == "y" else "normal",
        }
    figure = go.Figure(
        layout=_layout(
            "Decomposition: trend, weekly and yearly seasonality, residual",
            _subtitle(
                scope_label,
                f"Multiplicative STL on log(1 + units); anomaly: |modified z| > {threshold:g}",
            ),
            top=76,
            hovermode="x unified",
            hoversubplots="axis",
            legend={
                "orientation": "h",
                "x": 1,
                "xanchor": "right",
                "y": 1.0,
                "yanchor": "bottom",
            },
            **axes,
        )
    )

    def line(y: str, column: str, name: str, color: str, fmt: str, **style: Any) -> go.Scatter:
        return go.Scatter(
            x=dates,
            y=parts.get_column(column).to_list(),
            yaxis=y,
            name=name,
            mode="lines",
            line={"color": color, "width": 1.5, **style},
            hovertemplate=f"%{{y:{fmt}}}",
        )

    figure.add_trace(line("y", "observed", "Observed", OBSERVED_COLOR, number, width=1))
    figure.add_trace(line("y", "expected", "Expected", LINE_COLOR, number))
    figure.add_trace(line("y", "trend", "Trend", TREND_COLOR, number, dash="dash"))
    anomalies = parts.filter(pl.col("is_anomaly"))
    figure.add_trace(
        go.Scatter(
            x=anomalies.get_column("date").to_list(),
            y=anomalies.get_column("observed").to_list(),
            yaxis="y",
            name="Anomaly",
            mode="markers",
            marker={"color": ANOMALY_COLOR, "size": 8, "symbol": "circle-open", "line": {"width": 2}},
            hovertemplate=f"%{{y:{number}}}",
        )
    )
    figure.add_trace(line("y2", "weekly", "Weekly effect", PALETTE[2], "+.1%", width=1))
    figure.add_trace(line("y3", "yearly", "Yearly effect", PALETTE[1], "+.1%"))
    figure.add_trace(line("y4", "residual", "Residual", MUTED_COLOR, "+.1%", width=1))
    for bound in ("resid_low", "resid_high"):
        value = math.expm1(float(parts.get_column(bound)[0]))
        figure.add_shape(
            type="line",
            xref="paper",
            x0=0,
            x1=1,
            yref="y4",
            y0=value,
            y1=value,
            line={"width": 1, "dash": "dot", "color": ANOMALY_COLOR},
        )
    for trace in figure.data[4:]:
        trace.showlegend = False
    return figure
