"""The breakdown figure of the Sales & stock page: the biggest members of the next level down
as horizontal bars, with the comparison window's value as a tick; a click drills down."""

from __future__ import annotations

from typing import Any, Final

import plotly.graph_objects as go
import polars as pl

from dashboard.figures import (
    EMPTY_MESSAGE,
    FONT_FAMILY,
    MUTED_COLOR,
    PALETTE,
    TEMPLATE,
    TEXT_COLOR,
    build_empty_figure,
)
from dashboard.figures.traces import (
    COMPARISON_COLOR,
    MEASURE_COLOR,
    MEASURE_LABELS,
    build_figure,
    build_trace,
)
from dashboard.queries.breakdown import BreakdownLevel
from dashboard.queries.periods import Measure

SELECTED_COLOR: Final = PALETTE[1]
MIN_BREAKDOWN_ROWS: Final = 8
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


def build_breakdown_figure(
    df: pl.DataFrame,
    *,
    level: BreakdownLevel,
    measure: Measure,
    comparison: str,
    selected: str | None = None,
) -> go.Figure:
    """Horizontal bars of the measure per member, biggest on top, the comparison window's value
    as a tick; from `queries.breakdown.load_breakdown`. Each bar carries [level, member_key] in
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
    bars = build_trace(
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
    ticks = build_trace(
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
    return build_figure([bars, ticks], layout)


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
