"""Figures of the Sales & stock page: pure functions from polars frames to plotly Figures.

The trend has two panels sharing the time axis: the measure (bars, the comparison as a dashed
line) with the stock on hand on a right-hand axis, and under it a strip of the share of
store x product days out of stock and on promotion. Promotions of a selected product are
shaded, public holidays drawn as dotted lines; both have a marker along the top to hover.
The overlays are drawn by `overlays`, the breakdown figure by `breakdown`; their names are
importable from here too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
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
from dashboard.figures.breakdown import LEVEL_NAMES as LEVEL_NAMES
from dashboard.figures.breakdown import MIN_BREAKDOWN_ROWS as MIN_BREAKDOWN_ROWS
from dashboard.figures.breakdown import NEXT_LEVEL_HINT as NEXT_LEVEL_HINT
from dashboard.figures.breakdown import SELECTED_COLOR as SELECTED_COLOR
from dashboard.figures.breakdown import build_breakdown_figure as build_breakdown_figure
from dashboard.figures.overlays import HOLIDAY_COLOR as HOLIDAY_COLOR
from dashboard.figures.overlays import MARKER_ROW as MARKER_ROW
from dashboard.figures.overlays import PROMO_COLOR as PROMO_COLOR
from dashboard.figures.overlays import PROMO_FILL as PROMO_FILL
from dashboard.figures.overlays import REGIONAL_PROMO_FILL as REGIONAL_PROMO_FILL
from dashboard.figures.overlays import build_holiday_overlay, build_promotion_overlay
from dashboard.figures.traces import COMPARISON_COLOR as COMPARISON_COLOR
from dashboard.figures.traces import MEASURE_COLOR as MEASURE_COLOR
from dashboard.figures.traces import MEASURE_LABELS as MEASURE_LABELS
from dashboard.figures.traces import FigureSpec, build_spec, build_trace
from dashboard.figures.traces import Trace as Trace
from dashboard.queries.periods import COMPARISON, CURRENT, Grain, Measure

STOCK_COLOR: Final = PALETTE[2]
PARTIAL_OPACITY: Final = 0.45
MAIN_DOMAIN: Final = (0.3, 1.0)
STRIP_DOMAIN: Final = (0.0, 0.2)
DAY_MS: Final = 86_400_000
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
) -> FigureSpec:
    """The measure per period with its comparison, stock on hand, stockout and promotion
    shares, promotions and holidays, from `queries.sales.load_trend`'s frame (and
    `load_promotions`, `load_holidays`). A plain dict (see `traces.FigureSpec`): the
    single-series callback's hot path."""
    current = _series_columns(trend, CURRENT)
    if current is None:
        empty: FigureSpec = build_empty_figure(EMPTY_MESSAGE).to_plotly_json()
        return empty
    comparison = _series_columns(trend, COMPARISON)
    name, unit = MEASURE_LABELS[measure]
    column = "revenue" if measure == "revenue" else "units_sold"
    period = _PERIOD[grain]
    # numpy arrays, not lists: plotly validates a list element by element (4x slower).
    x = current["period_start"]
    days_word = "days" if labels.is_single_series else "store x product days"
    traces: list[Trace] = [
        build_trace(
            "bar",
            x=x,
            y=current[column],
            name=name,
            marker={
                "color": MEASURE_COLOR,
                "opacity": np.where(current["is_partial"], PARTIAL_OPACITY, 1.0),
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
    if comparison is not None:
        traces.append(
            build_trace(
                "scatter",
                x=comparison["period_start"],
                y=comparison[column],
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
        build_trace(
            "scatter",
            x=x,
            y=current["stock_units"],
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
        promotion_shapes, promotion_markers = build_promotion_overlay(promotions)
        shapes.extend(promotion_shapes)
        traces.append(promotion_markers)
    if holidays is not None and not holidays.is_empty():
        holiday_shapes, holiday_markers = build_holiday_overlay(holidays)
        shapes.extend(holiday_shapes)
        traces.append(holiday_markers)
    layout = _trend_layout(labels.title, labels.subtitle, f"{name} ({unit})", grain)
    return build_spec(traces, {**layout, "shapes": shapes})


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


Columns = dict[str, "np.ndarray[Any, Any]"]
_TREND_COLUMNS: Final = (
    "period_start",
    "period_end",
    "is_partial",
    "day_count",
    "units_sold",
    "revenue",
    "stock_units",
    "series_count",
    "stockout_count",
    "promo_count",
)


def _series_columns(trend: pl.DataFrame, series: str) -> Columns | None:
    """One series' rows of the trend as numpy columns sorted by period (None when it has
    none): on a few dozen rows, each eager polars step costs more than the numpy."""
    if trend.is_empty():
        return None
    rows = np.flatnonzero(trend.get_column("series").to_numpy() == series)
    if len(rows) == 0:
        return None
    starts = trend.get_column("period_start").to_numpy()[rows]
    rows = rows[np.argsort(starts, kind="stable")]
    return {name: trend.get_column(name).to_numpy()[rows] for name in _TREND_COLUMNS}


def _period_details(
    current: Columns,
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
            (start, end, f"Promotion -{discount:.0%}")
            for start, end, discount in zip(
                promotions.get_column("start_date").to_list(),
                promotions.get_column("end_date").to_list(),
                promotions.get_column("discount_pct").to_list(),
                strict=True,
            )
        ]
    if holidays is not None:
        events += [
            (day, day, f"{holiday} ({day:%d %b})")
            for day, holiday in zip(
                holidays.get_column("date").to_list(),
                holidays.get_column("holiday_name").to_list(),
                strict=True,
            )
        ]
    series = current["series_count"]
    series = np.where(series == 0, 1, series)  # `or 1`: no division by zero
    details = np.empty((len(series), 3), dtype=object)
    details[:, 0] = current["stockout_count"] / series
    details[:, 1] = current["promo_count"] / series
    for index, (start, end, is_partial, day_count) in enumerate(
        zip(
            current["period_start"].tolist(),
            current["period_end"].tolist(),
            current["is_partial"].tolist(),
            current["day_count"].tolist(),
            strict=True,
        )
    ):
        named = [label for first, last, label in events if first <= end and last >= start]
        text = "<br>" + ", ".join(named) if named else ""
        if is_partial:
            length = (end - start).days + 1
            text += f"<br>Partial period: {day_count} of {length} days in the window"
        details[index, 2] = text
    return details


def _stockout_markers(current: Columns, period: dict[str, Any]) -> list[Trace]:
    """A red cross on the stock line for every period with a stockout day (one series)."""
    stockouts = current["stockout_count"]
    out = stockouts > 0
    if not out.any():
        return []
    marker = build_trace(
        "scatter",
        x=current["period_start"][out],
        y=current["stock_units"][out],
        customdata=np.column_stack([stockouts[out], current["day_count"][out]]),
        name="Stockout day",
        yaxis="y2",
        mode="markers",
        marker={"symbol": "x", "size": 9, "color": STOCKOUT_COLOR},
        hovertemplate="Out of stock %{customdata[0]} of %{customdata[1]} days<extra></extra>",
        **period,
    )
    return [marker]


def _strip_traces(
    current: Columns, period: dict[str, Any], *, is_single_series: bool
) -> list[Trace]:
    """Shares of days out of stock (bars) and on promotion (line) in the lower panel."""
    stockouts = current["stockout_count"]
    promos = current["promo_count"]
    series = current["series_count"]
    days = "days" if is_single_series else "store x product days"
    x = current["period_start"]
    return [
        build_trace(
            "bar",
            x=x,
            y=stockouts / series,
            customdata=np.column_stack([stockouts, series]),
            name="Out of stock (% of days)",
            yaxis="y3",
            marker={"color": STOCKOUT_COLOR},
            hovertemplate=(
                f"Out of stock: %{{y:.1%}} (%{{customdata[0]:,}} of %{{customdata[1]:,}} {days})"
                "<extra></extra>"
            ),
            **period,
        ),
        build_trace(
            "scatter",
            x=x,
            y=promos / series,
            customdata=np.column_stack([promos, series]),
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
