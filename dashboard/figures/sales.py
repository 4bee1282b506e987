"""Figures of the Sales & stock page: pure functions from polars frames to plotly Figures.

The trend has two panels sharing the time axis: the measure (bars, the comparison as a dashed
line) with the stock on hand on a right-hand axis, and under it a strip of the share of
store x product days out of stock and on promotion. Promotions of a selected product are
shaded, public holidays drawn as dotted lines; both have a marker along the top to hover.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import plotly.graph_objects as go
import polars as pl

from dashboard.figures import (
    EMPTY_MESSAGE,
    FONT_FAMILY,
    MUTED_COLOR,
    PALETTE,
    STOCKOUT_COLOR,
    TEMPLATE,
    TEXT_COLOR,
    build_empty_figure,
)
from dashboard.queries.sales import COMPARISON, CURRENT, BreakdownLevel, Grain, Measure

Trace = dict[str, Any]
MEASURE_COLOR: Final = PALETTE[0]
COMPARISON_COLOR: Final = "#5f6b76"
STOCK_COLOR: Final = PALETTE[2]
PROMO_COLOR: Final = PALETTE[3]
PROMO_FILL: Final = "rgba(204, 121, 167, 0.16)"
REGIONAL_PROMO_FILL: Final = "rgba(204, 121, 167, 0.07)"
HOLIDAY_COLOR: Final = "#7048e8"
SELECTED_COLOR: Final = PALETTE[1]
PARTIAL_OPACITY: Final = 0.45
MIN_BREAKDOWN_ROWS: Final = 8
MAIN_DOMAIN: Final = (0.3, 1.0)
STRIP_DOMAIN: Final = (0.0, 0.2)
MARKER_ROW: Final = 0.985  # where promotion and holiday markers sit on the hidden top axis
DAY_MS: Final = 86_400_000
MEASURE_LABELS: Final[dict[Measure, tuple[str, str]]] = {
    "revenue": ("Revenue", "EUR"),
    "units": ("Units sold", "units"),
}
LEVEL_NAMES: Final[dict[BreakdownLevel, tuple[str, str]]] = {
    "category": ("category", "categories"),
    "product": ("product", "products"),
    "region": ("region", "regions"),
    "store": ("store", "stores"),
}
NEXT_LEVEL_HINT: Final[dict[BreakdownLevel, str]] = {
    "category": "click a category to see its products",
    "product": "click a product to see it by region and store",
    "region": "click a region to see its stores",
    "store": "click a store to see that product there",
}
_PERIOD: Final[dict[Grain, dict[str, Any]]] = {
    "day": {},
    "week": {"xperiod": 7 * DAY_MS, "xperiod0": "2024-01-01", "xperiodalignment": "middle"},
    "month": {"xperiod": "M1", "xperiod0": "2024-01-01", "xperiodalignment": "middle"},
}
_HOVER_DATE: Final[dict[Grain, str]] = {
    "day": "%a %d %b %Y",
    "week": "Week of %d %b %Y",
    "month": "%B %Y",
}


@dataclass(frozen=True)
class TrendLabels:
    """Words the trend needs beyond its data: its title, the comparison's name, whether the
    data is one store x product series (its stockout days are then marked on the stock line)."""

    title: str
    subtitle: str
    comparison: str
    is_single_series: bool = False


def build_trend_figure(
    trend: pl.DataFrame,
    *,
    measure: Measure,
    grain: Grain,
    labels: TrendLabels,
    promotions: pl.DataFrame | None = None,
    holidays: pl.DataFrame | None = None,
) -> go.Figure:
    """The measure per period with its comparison, stock on hand, stockout and promotion
    shares, promotions and holidays, from `queries.sales.load_trend`'s frame (and
    `load_promotions`, `load_holidays`). Traces and shapes are collected first and the figure
    built once: plotly validates every `add_*` call on its own."""
    current = trend.filter(pl.col("series") == CURRENT).sort("period_start")
    if current.is_empty():
        return build_empty_figure(EMPTY_MESSAGE)
    comparison = trend.filter(pl.col("series") == COMPARISON).sort("period_start")
    name, unit = MEASURE_LABELS[measure]
    column = "revenue" if measure == "revenue" else "units_sold"
    period = _PERIOD[grain]
    # numpy arrays, not lists: plotly validates a list element by element (4x slower).
    x = current.get_column("period_start").to_numpy()
    days_word = "days" if labels.is_single_series else "store x product days"
    traces: list[Trace] = [
        _trace(
            "bar",
            x=x,
            y=current.get_column(column).to_numpy(),
            name=name,
            marker={
                "color": MEASURE_COLOR,
                "opacity": np.where(
                    current.get_column("is_partial").to_numpy(), PARTIAL_OPACITY, 1.0
                ),
            },
            customdata=_period_details(current, promotions, holidays),
            hovertemplate=(
                f"{name}: %{{y:,.0f}} {unit}"
                f"<br>Out of stock: %{{customdata[0]:.1%}} of {days_word}"
                f"<br>On promotion: %{{customdata[1]:.1%}} of {days_word}"
                "%{customdata[2]}<extra></extra>"
            ),
            **period,
        )
    ]
    if not comparison.is_empty():
        traces.append(
            _trace(
                "scatter",
                x=comparison.get_column("period_start").to_numpy(),
                y=comparison.get_column(column).to_numpy(),
                name=labels.comparison,
                mode="lines+markers",
                line={"color": COMPARISON_COLOR, "width": 2, "dash": "dash"},
                marker={"size": 4},
                hovertemplate=f"{labels.comparison}: %{{y:,.0f}} {unit}<extra></extra>",
                **period,
            )
        )
    stock_word = "closing" if grain == "day" else "average"
    traces.append(
        _trace(
            "scatter",
            x=x,
            y=current.get_column("stock_units").to_numpy(),
            name="Stock on hand",
            yaxis="y2",
            mode="lines",
            line={"color": STOCK_COLOR, "width": 2, "shape": "hv" if grain == "day" else "linear"},
            hovertemplate=f"Stock on hand ({stock_word}): %{{y:,.0f}} units<extra></extra>",
            **period,
        )
    )
    if labels.is_single_series:
        traces.extend(_stockout_markers(current, period))
    traces.extend(_strip_traces(current, period, is_single_series=labels.is_single_series))
    shapes: list[dict[str, Any]] = []
    if promotions is not None and not promotions.is_empty():
        promotion_shapes, promotion_markers = _promotions(promotions)
        shapes.extend(promotion_shapes)
        traces.append(promotion_markers)
    if holidays is not None and not holidays.is_empty():
        holiday_shapes, holiday_markers = _holidays(holidays)
        shapes.extend(holiday_shapes)
        traces.append(holiday_markers)
    layout = _trend_layout(labels.title, labels.subtitle, f"{name} ({unit})", grain)
    return _figure(traces, {**layout, "shapes": shapes})


def _trace(kind: str, **props: Any) -> Trace:
    return {"type": kind, **props}


def _figure(traces: Sequence[Trace], layout: dict[str, Any]) -> go.Figure:
    """The figure from plain dicts, not validated by plotly on the way in (its private
    `_validate=False`): validation took 6 of the 8 ms a trend figure cost, mostly walking
    lists. The tests rebuild every kind of figure with validation on."""
    figure: go.Figure = go.Figure(data=traces, layout=layout, _validate=False)
    return figure


def _trend_layout(title: str, subtitle: str, y_title: str, grain: Grain) -> dict[str, Any]:
    return {
        "title": {
            "text": title,
            "subtitle": {"text": subtitle, "font": {"color": MUTED_COLOR, "size": 12}},
            "x": 0.01,
            "xanchor": "left",
            "font": {"size": 16},
        },
        "font": {"family": FONT_FAMILY, "size": 12, "color": TEXT_COLOR},
        "template": TEMPLATE,
        "margin": {"l": 64, "r": 64, "t": 64, "b": 32},
        "hovermode": "x unified",
        "hoverlabel": {"font": {"family": FONT_FAMILY}},
        "bargap": 0.15 if grain != "day" else 0.05,
        "xaxis": {
            "anchor": "y3",
            "showgrid": False,
            "hoverformat": _HOVER_DATE[grain],
            "ticklabelstandoff": 6,
            "ticklabelmode": "period" if grain == "month" else "instant",
        },
        "yaxis": {
            "domain": MAIN_DOMAIN,
            "title": {"text": y_title},
            "rangemode": "tozero",
            "tickformat": "~s",
        },
        "yaxis2": {
            "overlaying": "y",
            "side": "right",
            "title": {"text": "Stock on hand (units)", "font": {"color": STOCK_COLOR}},
            "automargin": True,  # an embedding page may set narrow margins
            "tickfont": {"color": STOCK_COLOR},
            "tickformat": "~s",
            "tickmode": "auto",
            "nticks": 6,
            "rangemode": "tozero",
            "showgrid": False,
            "zeroline": False,
        },
        "yaxis3": {
            "domain": STRIP_DOMAIN,
            "title": {"text": "Days (%)", "font": {"size": 11}},
            "rangemode": "tozero",
            "tickformat": ".0%",
            "nticks": 3,
        },
        "yaxis4": {"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True},
        "showlegend": True,
        "legend": {
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": -0.08,
            "yanchor": "top",
            "traceorder": "normal",
        },
        "separators": ".,",
    }


def _period_details(
    current: pl.DataFrame,
    promotions: pl.DataFrame | None,
    holidays: pl.DataFrame | None,
) -> np.ndarray[Any, np.dtype[np.object_]]:
    """Per period, for the measure's hover: the shares of days out of stock and on promotion,
    and a text naming the promotions and holidays in it and whether the window cuts it short.

    The unified hover lists the traces of the top panel only, and the promotion and holiday
    markers stay out of it (their own x would head the label), so the bar says it all."""
    events: list[tuple[dt.date, dt.date, str]] = []
    if promotions is not None:
        events += [
            (row["start_date"], row["end_date"], f"Promotion -{row['discount_pct']:.0%}")
            for row in promotions.iter_rows(named=True)
        ]
    if holidays is not None:
        events += [
            (row["date"], row["date"], f"{row['holiday_name']} ({row['date']:%d %b})")
            for row in holidays.iter_rows(named=True)
        ]
    details = np.empty((current.height, 3), dtype=object)
    for index, row in enumerate(current.iter_rows(named=True)):
        start, end = row["period_start"], row["period_end"]
        series = row["series_count"] or 1
        named = [label for first, last, label in events if first <= end and last >= start]
        text = "<br>" + ", ".join(named) if named else ""
        if row["is_partial"]:
            length = (end - start).days + 1
            text += f"<br>Partial period: {row['day_count']} of {length} days in the window"
        details[index] = (row["stockout_count"] / series, row["promo_count"] / series, text)
    return details


def _stockout_markers(current: pl.DataFrame, period: dict[str, Any]) -> list[Trace]:
    """A red cross on the stock line for every period with a stockout day (one series)."""
    out = current.filter(pl.col("stockout_count") > 0)
    if out.is_empty():
        return []
    marker = _trace(
        "scatter",
        x=out.get_column("period_start").to_numpy(),
        y=out.get_column("stock_units").to_numpy(),
        customdata=out.select("stockout_count", "day_count").to_numpy(),
        name="Stockout day",
        yaxis="y2",
        mode="markers",
        marker={"symbol": "x", "size": 9, "color": STOCKOUT_COLOR},
        hovertemplate="Out of stock %{customdata[0]} of %{customdata[1]} days<extra></extra>",
        **period,
    )
    return [marker]


def _strip_traces(
    current: pl.DataFrame, period: dict[str, Any], *, is_single_series: bool
) -> list[Trace]:
    """Shares of days out of stock (bars) and on promotion (line) in the lower panel."""
    shares = current.select(
        "period_start",
        "stockout_count",
        "promo_count",
        "series_count",
        stockout_share=pl.col("stockout_count") / pl.col("series_count"),
        promo_share=pl.col("promo_count") / pl.col("series_count"),
    )
    days = "days" if is_single_series else "store x product days"
    x = shares.get_column("period_start").to_numpy()
    return [
        _trace(
            "bar",
            x=x,
            y=shares.get_column("stockout_share").to_numpy(),
            customdata=shares.select("stockout_count", "series_count").to_numpy(),
            name="Out of stock (% of days)",
            yaxis="y3",
            marker={"color": STOCKOUT_COLOR},
            hovertemplate=(
                f"Out of stock: %{{y:.1%}} (%{{customdata[0]:,}} of %{{customdata[1]:,}} {days})"
                "<extra></extra>"
            ),
            **period,
        ),
        _trace(
            "scatter",
            x=x,
            y=shares.get_column("promo_share").to_numpy(),
            customdata=shares.select("promo_count", "series_count").to_numpy(),
            name="On promotion (% of days)",
            yaxis="y3",
            mode="lines",
            line={"color": PROMO_COLOR, "width": 2, "shape": "hv" if not period else "linear"},
            hovertemplate=(
                f"On promotion: %{{y:.1%}} (%{{customdata[0]:,}} of %{{customdata[1]:,}} {days})"
                "<extra></extra>"
            ),
            **period,
        ),
    ]


def _promotions(promotions: pl.DataFrame) -> tuple[list[dict[str, Any]], Trace]:
    """A shade over the top panel per promotion (regional ones lighter: they are shown when
    every region is) and a marker at its middle naming it on hover."""
    shapes: list[dict[str, Any]] = []
    middles: list[dt.datetime] = []
    texts: list[str] = []
    for promo in promotions.sort("start_date").iter_rows(named=True):
        start: dt.date = promo["start_date"]
        end: dt.date = promo["end_date"]
        region = promo["region"]
        shapes.append(
            {
                "type": "rect",
                "x0": start.isoformat(),
                "x1": (end + dt.timedelta(days=1)).isoformat(),
                "xref": "x",
                "yref": "y domain",
                "y0": 0,
                "y1": 1,
                "fillcolor": PROMO_FILL if region is None else REGIONAL_PROMO_FILL,
                "line": {"width": 0},
                "layer": "below",
            }
        )
        middles.append(
            dt.datetime.combine(start, dt.time()) + (end - start + dt.timedelta(days=1)) / 2
        )
        texts.append(
            f"Promotion -{promo['discount_pct']:.0%} ({promo['promo_type']}), "
            f"{start:%d %b} to {end:%d %b %Y}, {region or 'national'}"
        )
    markers = _trace(
        "scatter",
        x=middles,
        y=[MARKER_ROW - 0.05] * len(middles),
        text=texts,
        name="Promotion",
        yaxis="y4",
        mode="markers",
        marker={"symbol": "square", "size": 8, "color": PROMO_COLOR},
        hoverinfo="skip",
    )
    return shapes, markers


def _holidays(holidays: pl.DataFrame) -> tuple[list[dict[str, Any]], Trace]:
    """A dotted line through both panels at each public holiday, named by a marker on top."""
    shapes: list[dict[str, Any]] = []
    noons: list[dt.datetime] = []
    texts: list[str] = []
    for holiday in holidays.sort("date").iter_rows(named=True):
        noon = dt.datetime.combine(holiday["date"], dt.time(12))
        closed = ", stores closed" if holiday["is_store_closed"] else ""
        noons.append(noon)
        texts.append(f"{holiday['holiday_name']} ({holiday['date']:%d %b}){closed}")
        shapes.append(
            {
                "type": "line",
                "x0": noon,
                "x1": noon,
                "xref": "x",
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": HOLIDAY_COLOR, "width": 1, "dash": "dot"},
                "opacity": 0.6,
                "layer": "below",
            }
        )
    markers = _trace(
        "scatter",
        x=noons,
        y=[MARKER_ROW] * len(noons),
        text=texts,
        name="Public holiday",
        yaxis="y4",
        mode="markers",
        marker={"symbol": "triangle-down", "size": 9, "color": HOLIDAY_COLOR},
        hoverinfo="skip",
    )
    return shapes, markers


def build_breakdown_figure(
    df: pl.DataFrame,
    *,
    level: BreakdownLevel,
    measure: Measure,
    comparison: str,
    selected: str | None = None,
) -> go.Figure:
    """Horizontal bars of the measure per member, biggest on top, the comparison window's value
    as a tick; from `queries.sales.load_breakdown`. Each bar carries [level, member_key] in
    its customdata so that a click can set the next filter; `selected` is highlighted."""
    if df.is_empty():
        return build_empty_figure(EMPTY_MESSAGE)
    name, unit = MEASURE_LABELS[measure]
    column, comparison_column = (
        ("revenue", "comparison_revenue")
        if measure == "revenue"
        else ("units_sold", "comparison_units_sold")
    )
    singular, plural = LEVEL_NAMES[level]
    total = df.get_column("member_count")[0]
    scope = f"top {df.height} of {total} {plural}" if total > df.height else f"by {singular}"
    rows = df.with_columns(
        change=pl.col(column) / pl.col(comparison_column) - 1,
        stockout_share=pl.col("stockout_count") / pl.col("series_count"),
    )
    keys = rows.get_column("member_key").to_list()
    labels = [_short(label) for label in rows.get_column("member_label").to_list()]
    bars = _trace(
        "bar",
        x=rows.get_column(column).to_numpy(),
        y=labels,
        orientation="h",
        name=name,
        marker={"color": [SELECTED_COLOR if key == selected else MEASURE_COLOR for key in keys]},
        customdata=[
            [level, key, _change_text(change, comparison), share]
            for key, change, share in zip(
                keys,
                rows.get_column("change").to_list(),
                rows.get_column("stockout_share").to_list(),
                strict=True,
            )
        ],
        hovertemplate=(
            f"<b>%{{y}}</b><br>{name}: %{{x:,.0f}} {unit}%{{customdata[2]}}"
            "<br>Out of stock: %{customdata[3]:.1%} of days<extra></extra>"
        ),
    )
    ticks = _trace(
        "scatter",
        x=rows.get_column(comparison_column).to_numpy(),
        y=labels,
        name=comparison,
        mode="markers",
        marker={
            "symbol": "line-ns",
            "size": 16,
            "line": {"width": 3, "color": COMPARISON_COLOR},
        },
        hovertemplate=f"{comparison}: %{{x:,.0f}} {unit}<extra></extra>",
    )
    layout = _breakdown_layout(
        f"{name}, {scope}", NEXT_LEVEL_HINT[level], f"{name} ({unit})", len(keys)
    )
    return _figure([bars, ticks], layout)


def _breakdown_layout(title: str, hint: str, x_title: str, count: int) -> dict[str, Any]:
    return {
        "title": {
            "text": title,
            "subtitle": {"text": hint, "font": {"color": MUTED_COLOR, "size": 12}},
            "x": 0.01,
            "xanchor": "left",
            "yref": "container",
            "y": 0.97,
            "yanchor": "top",
            "font": {"size": 16},
        },
        "font": {"family": FONT_FAMILY, "size": 12, "color": TEXT_COLOR},
        "template": TEMPLATE,
        "margin": {"l": 8, "r": 16, "t": 100, "b": 48},
        "hovermode": "closest",
        "hoverlabel": {"font": {"family": FONT_FAMILY}},
        "bargap": 0.25,
        "xaxis": {
            "title": {"text": x_title},
            "rangemode": "tozero",
            "tickformat": "~s",
        },
        # At least MIN_BREAKDOWN_ROWS rows tall, biggest on top: a few bars stay bar-sized.
        "yaxis": {
            "range": [max(count, MIN_BREAKDOWN_ROWS) - 0.5, -0.5],
            "automargin": True,
            "ticksuffix": " ",
        },
        "showlegend": True,
        # Under the subtitle, from the figure's left edge (the bars start far right of it
        # when labels are long): below the plot, a wrapped legend covered the axis title.
        "legend": {
            "orientation": "h",
            "xref": "container",
            "x": 0.01,
            "xanchor": "left",
            "yref": "container",
            "y": 0.85,
            "yanchor": "top",
        },
        "separators": ".,",
        "clickmode": "event",
    }


def _change_text(change: float | None, comparison: str) -> str:
    if change is None:
        return f"<br>Nothing sold in the {comparison.lower()}"
    return f"<br>{change:+.1%} vs {comparison.lower()}"


def _short(label: str, limit: int = 32) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
