"""Figures of the promotions page: uplift by discount depth, promotions as points, one promotion
day by day. Pure functions from polars frames (see dashboard.queries.promotions) to figures.

Figures are assembled from plain dicts and built without plotly's validation, as plotly
express does: validating thousands of points element by element, or applying a named template,
costs tens of milliseconds a figure. The browser and the tests check what is drawn.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Final

import plotly.graph_objects as go
import polars as pl

from dashboard.figures import (
    FONT_FAMILY,
    GRID_COLOR,
    MUTED_COLOR,
    PALETTE,
    TEXT_COLOR,
    build_empty_figure,
)

# Okabe-Ito first, then Paul Tol's muted scheme: twelve categories stay apart.
CATEGORY_COLORS: Final = (*PALETTE, "#332288", "#882255", "#44AA99", "#999933", "#AA4499")
ACTUAL_COLOR: Final = "#0072B2"
BASELINE_COLOR: Final = "#555555"
BAND_COLOR: Final = "rgba(85, 85, 85, 0.15)"
PROMOTION_SHADE: Final = "rgba(230, 159, 0, 0.16)"
DIP_SHADE: Final = "rgba(136, 34, 85, 0.08)"
SELECTED_COLOR: Final = "#111111"
DODGE_WIDTH: Final = 2.4  # discount points shared by the categories drawn at one depth
LEGEND_ROW_HEIGHT: Final = 20
DEPTH_X_TITLE: Final = "Discount (% off the regular price)"
UPLIFT_Y_TITLE: Final = "Units sold over baseline (%)"


def _figure(traces: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    return go.Figure(data=traces, layout=layout, _validate=False)


def _layout(
    title: str, x_title: str, y_title: str, *, legend_entries: int = 0, legend_columns: int = 1
) -> dict[str, Any]:
    """Title top left, hover on the nearest point, and the legend (if any) at the bottom of the
    figure, under the axis title, in `legend_columns` columns: the bottom margin grows with
    its rows so that it never covers the plot. plotly_white's look, set directly."""
    rows = math.ceil(legend_entries / legend_columns)
    axis = {"linecolor": GRID_COLOR, "ticks": "", "automargin": True}
    return {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 16}},
        "font": {"family": FONT_FAMILY, "size": 12, "color": TEXT_COLOR},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "margin": {"l": 64, "r": 16, "t": 56, "b": 56 + LEGEND_ROW_HEIGHT * rows},
        "hovermode": "closest",
        "hoverlabel": {"font": {"family": FONT_FAMILY}, "align": "left"},
        "xaxis": {"title": {"text": x_title}, "showgrid": False, "zeroline": False, **axis},
        "yaxis": {
            "title": {"text": y_title},
            "gridcolor": GRID_COLOR,
            "zerolinecolor": "#adb5bd",
            **axis,
        },
        "showlegend": legend_entries > 0,
        "legend": {
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "yref": "container",
            "y": 0,
            "yanchor": "bottom",
            "entrywidth": 1 / legend_columns,
            "entrywidthmode": "fraction",
            "title": {"text": ""},
        },
        "separators": ".,",
    }


def category_colors(categories: list[str]) -> dict[str, str]:
    """A colour per category, in alphabetical order, the same in every chart of a view."""
    return {
        name: CATEGORY_COLORS[index % len(CATEGORY_COLORS)]
        for index, name in enumerate(sorted(categories))
    }


def _depth_ticks(discounts: pl.Series) -> dict[str, Any]:
    """A tick at each discount depth present (the axis title gives the unit)."""
    depths = sorted({round(d * 100, 1) for d in discounts.to_list()})
    return {"tickvals": depths, "ticktext": [f"{d:g}" for d in depths]}


def _signed(value: float | None) -> str:
    return "unbounded" if value is None or math.isnan(value) else f"{value * 100:+.0f}%"


def build_uplift_by_depth_figure(df: pl.DataFrame) -> go.Figure:
    """Uplift (%) against discount depth, a line per category with 95% error bars, from
    `load_uplift_by_depth`. Categories at one depth are spread a little sideways so that
    their bars do not hide each other; the hover gives the exact depth. An upper bound that
    is unknown (the baseline's interval reaches zero) draws no bar above the point."""
    if df.is_empty():
        return build_empty_figure()
    shown = df.sort("category", "discount_pct").with_columns(
        x=pl.col("discount_pct") * 100,
        y=pl.col("uplift_pct") * 100,
        above=((pl.col("uplift_pct_hi95") - pl.col("uplift_pct")) * 100).fill_null(0.0),
        below=((pl.col("uplift_pct") - pl.col("uplift_pct_lo95")) * 100).fill_null(0.0),
    )
    groups = shown.partition_by("category", as_dict=True)
    colors = category_colors([category for (category,) in groups])
    traces = []
    for index, (category, color) in enumerate(colors.items()):
        rows = groups[(category,)]
        dodge = 0.0 if len(colors) == 1 else (index / (len(colors) - 1) - 0.5) * DODGE_WIDTH
        numbers = rows.select("x", "promotion_count", "actual_units", "baseline_units").rows()
        bounds = zip(rows["uplift_pct_lo95"], rows["uplift_pct_hi95"], strict=True)
        traces.append(
            {
                "type": "scatter",
                "x": [x + dodge for x in rows["x"]],
                "y": rows["y"].to_list(),
                "name": category,
                "mode": "lines+markers",
                "line": {"width": 1.5, "color": color},
                "marker": {"size": 7, "color": color},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": rows["above"].to_list(),
                    "arrayminus": rows["below"].to_list(),
                    "thickness": 1.2,
                    "width": 3,
                    "color": color,
                },
                "customdata": [
                    [*values, _signed(low), _signed(high)]
                    for values, (low, high) in zip(numbers, bounds, strict=True)
                ],
                "hovertemplate": (
                    f"<b>{category}</b>, %{{customdata[0]:.0f}}% off<br>"
                    "Uplift %{y:+.0f}% (95% CI %{customdata[4]} to %{customdata[5]})<br>"
                    "%{customdata[2]:,} units sold, baseline %{customdata[3]:,.0f}<br>"
                    "%{customdata[1]:,} promotion x store<extra></extra>"
                ),
            }
        )
    layout = _layout(
        "Uplift by discount depth",
        DEPTH_X_TITLE,
        UPLIFT_Y_TITLE,
        legend_entries=len(colors),
        legend_columns=2,
    )
    layout["xaxis"] |= _depth_ticks(df.get_column("discount_pct"))
    layout["yaxis"] |= {"ticksuffix": "%", "rangemode": "tozero"}
    return _figure(traces, layout)


def build_promotion_scatter_figure(df: pl.DataFrame, selected: int | None = None) -> go.Figure:
    """A point per promotion: discount (%) across (spread by up to a point either way, the
    same on every redraw, so that promotions of one depth do not hide each other), uplift (%)
    up, coloured by category, from `load_promotion_summaries`; the `selected` promotion is
    ringed. Clicking a point gives its promo_id as customdata[0]."""
    rows = df.filter(pl.col("uplift_pct").is_not_null())
    if rows.is_empty():
        return build_empty_figure()
    points = rows.with_columns(
        x=pl.col("discount_pct") * 100
        + ((pl.col("promo_id").cast(pl.Float64) * 0.6180339887) % 1.0 - 0.5) * 2.0,
        y=pl.col("uplift_pct") * 100,
        text=pl.format(
            "{}<br>{} to {}",
            pl.col("product_name"),
            pl.col("start_date").dt.strftime("%d %b"),
            pl.col("end_date").dt.strftime("%d %b %Y"),
        ),
        discount=pl.col("discount_pct") * 100,
    ).select(
        "category", "promo_id", "x", "y", "text", "discount", "incremental_units",
        "net_incremental_revenue",
    )  # fmt: skip
    groups = points.partition_by("category", as_dict=True)
    colors = category_colors([category for (category,) in groups])
    traces = [
        _scatter_points(groups[(category,)], category, color) for category, color in colors.items()
    ]
    chosen = points.filter(pl.col("promo_id") == selected)
    if not chosen.is_empty():
        ring = _scatter_points(chosen, "Selected", SELECTED_COLOR)
        ring["marker"] = {
            "size": 16,
            "symbol": "circle-open",
            "color": SELECTED_COLOR,
            "line": {"width": 2.5},
        }
        ring["showlegend"] = False
        traces.append(ring)
    layout = _layout(
        "Promotions: uplift against discount",
        DEPTH_X_TITLE,
        UPLIFT_Y_TITLE,
        legend_entries=len(colors),
        legend_columns=2,
    )
    layout["xaxis"] |= _depth_ticks(rows.get_column("discount_pct"))
    layout["yaxis"] |= {"ticksuffix": "%"}
    layout["clickmode"] = "event"
    return _figure(traces, layout)


def _scatter_points(points: pl.DataFrame, name: str, color: str) -> dict[str, Any]:
    """One trace of points made by build_promotion_scatter_figure."""
    return {
        "type": "scatter",
        "x": points["x"].to_list(),
        "y": points["y"].to_list(),
        "text": points["text"].to_list(),
        "name": name,
        "mode": "markers",
        "marker": {"size": 7, "color": color, "opacity": 0.75, "line": {"width": 0}},
        "customdata": points.select(
            "promo_id", "discount", "incremental_units", "net_incremental_revenue"
        ).rows(),
        "hovertemplate": (
            "<b>%{text}</b><br>%{customdata[1]:.0f}% off · uplift %{y:+.0f}%<br>"
            "Extra units %{customdata[2]:,.0f} · net extra revenue %{customdata[3]:,.0f} EUR"
            "<br>Click to see it day by day<extra></extra>"
        ),
    }


def _period(start: dt.date, end: dt.date) -> str:
    return f"{start:%d %b} to {end:%d %b %Y}"


def build_promotion_detail_figure(days: pl.DataFrame, summary: dict[str, Any]) -> go.Figure:
    """One promotion day by day, from `load_promotion_days`: units sold against the baseline
    and its 95% band, the promotion shaded, then the 7 days after it (the dip). `summary` is
    the promotion's row of `load_promotion_summaries`."""
    if days.is_empty():
        return build_empty_figure("No daily estimates for this promotion")
    start, end = summary["start_date"], summary["end_date"]
    dates = days.get_column("date").to_list()
    band = {"x": dates, "type": "scatter", "mode": "lines", "line": {"width": 0}}
    traces: list[dict[str, Any]] = [
        band | {"y": days["baseline_hi95"].to_list(), "hoverinfo": "skip", "showlegend": False},
        band
        | {
            "y": days["baseline_lo95"].to_list(),
            "name": "Baseline, 95% interval",
            "fill": "tonexty",
            "fillcolor": BAND_COLOR,
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "x": dates,
            "y": days["baseline_units"].to_list(),
            "customdata": days.select("baseline_lo95", "baseline_hi95").rows(),
            "name": "Baseline (without the promotion)",
            "mode": "lines",
            "line": {"width": 2, "color": BASELINE_COLOR, "dash": "dash"},
            "hovertemplate": (
                "Baseline %{y:,.1f} (95%: %{customdata[0]:,.1f} to %{customdata[1]:,.1f})"
                "<extra></extra>"
            ),
        },
        {
            "type": "scatter",
            "x": dates,
            "y": days["units_sold"].to_list(),
            "name": "Units sold",
            "mode": "lines+markers",
            "line": {"width": 2, "color": ACTUAL_COLOR},
            "marker": {"size": 5},
            "hovertemplate": "Sold %{y:,}<extra></extra>",
        },
    ]
    half_day = dt.timedelta(hours=12)
    spans = [(start - half_day, end + half_day, PROMOTION_SHADE, "Promotion")]
    after = days.filter(pl.col("phase") == "after").get_column("date").to_list()
    if after:
        spans.append((end + half_day, max(after) + half_day, DIP_SHADE, "Dip"))
    title = (
        f"{summary['product_name']}<br><sup>{summary['discount_pct']:.0%} off, "
        f"{_period(start, end)}</sup>"
    )
    layout = _layout(title, "", "Units per day", legend_entries=1)
    layout["legend"] |= {"entrywidthmode": "pixels", "entrywidth": 0}
    layout["hovermode"] = "x unified"
    layout["xaxis"] |= {"tickformat": "%d %b", "hoverformat": "%a %d %b %Y"}
    layout["yaxis"] |= {"rangemode": "tozero", "tickformat": ",.0f"}
    layout["shapes"] = [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": x0,
            "x1": x1,
            "y0": 0,
            "y1": 1,
            "fillcolor": color,
            "line": {"width": 0},
            "layer": "below",
        }
        for x0, x1, color, _ in spans
    ]
    layout["annotations"] = [
        {
            "text": label,
            "xref": "x",
            "yref": "paper",
            "x": x0 + (x1 - x0) / 2,
            "y": 1,
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": 11, "color": MUTED_COLOR},
        }
        for x0, x1, _, label in spans
    ]
    return _figure(traces, layout)
