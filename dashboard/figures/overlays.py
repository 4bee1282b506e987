"""Events drawn over the Sales & stock trend: promotions shaded over the top panel, public
holidays as dotted lines through both panels, each named by a marker along the top (on a
hidden axis, `yaxis4` of the trend's layout)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import polars as pl

from dashboard.figures import PALETTE
from dashboard.figures.traces import Trace, build_trace

PROMO_COLOR: Final = PALETTE[3]
PROMO_FILL: Final = "rgba(204, 121, 167, 0.16)"
REGIONAL_PROMO_FILL: Final = "rgba(204, 121, 167, 0.07)"
HOLIDAY_COLOR: Final = "#7048e8"
MARKER_ROW: Final = 0.985  # where promotion and holiday markers sit on the hidden top axis


def build_promotion_overlay(promotions: pl.DataFrame) -> tuple[list[dict[str, Any]], Trace]:
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
    markers = build_trace(
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


def build_holiday_overlay(holidays: pl.DataFrame) -> tuple[list[dict[str, Any]], Trace]:
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
    markers = build_trace(
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
