"""Figures of the data-quality page."""

from __future__ import annotations

from typing import Final

import plotly.graph_objects as go
import polars as pl

from dashboard.figures import (
    FONT_FAMILY,
    GRID_COLOR,
    PALETTE,
    TEMPLATE,
    TEXT_COLOR,
    build_empty_figure,
)

CHECK_LABELS: Final = {
    "duplicate_row": "Duplicated rows",
    "missing_day": "Missing days",
    "missing_units": "Missing units",
    "missing_price": "Missing prices",
    "price_outlier": "Price outliers",
    "negative_stock": "Negative stock",
    "impossible_stock": "Impossible stock",
    "sales_on_zero_stock": "Sales on zero stock",
    "missing_customer_profile": "Customers without age band",
}


def check_label(check_name: str) -> str:
    return CHECK_LABELS.get(check_name, check_name.replace("_", " ").capitalize())


def _bar_layout(title: str, x_title: str, rows: int) -> go.Layout:
    return go.Layout(
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 16}},
        font={"family": FONT_FAMILY, "size": 12, "color": TEXT_COLOR},
        template=TEMPLATE,
        margin={"l": 8, "r": 24, "t": 48, "b": 40},
        xaxis={"title": {"text": x_title}, "gridcolor": GRID_COLOR, "rangemode": "tozero"},
        yaxis={"autorange": "reversed", "automargin": True, "ticklabelstandoff": 6},
        showlegend=False,
        bargap=0.35,
        height=max(220, 48 + 40 + 26 * rows),
    )


def build_checks_figure(checks: pl.DataFrame) -> go.Figure:
    """Rows touched per defect kind, as horizontal bars, with the share and the repair."""
    if checks.is_empty():
        return build_empty_figure("No checks recorded for this database")
    labels = [check_label(name) for name in checks["check_name"]]
    figure = go.Figure(
        go.Bar(
            x=checks["affected_rows"].to_list(),
            y=labels,
            orientation="h",
            marker={"color": PALETTE[0]},
            customdata=list(
                zip(
                    (checks["affected_share"] * 100).to_list(),
                    checks["table_name"].to_list(),
                    checks["action"].to_list(),
                    strict=True,
                )
            ),
            hovertemplate=(
                "<b>%{y}</b> (%{customdata[1]})<br>%{x:,} rows, %{customdata[0]:.2f}% of the table"
                "<br>Repair: %{customdata[2]}<extra></extra>"
            ),
        ),
        layout=_bar_layout("Rows affected by each defect", "Rows", checks.height),
    )
    return figure


def build_missing_figure(profile: pl.DataFrame, table: str) -> go.Figure:
    """Share of missing values per column of one table."""
    if profile.is_empty():
        return build_empty_figure(f"No profile for table '{table}'")
    figure = go.Figure(
        go.Bar(
            x=(profile["null_share"] * 100).to_list(),
            y=profile["column_name"].to_list(),
            orientation="h",
            marker={"color": PALETTE[5]},
            customdata=profile["null_count"].to_list(),
            hovertemplate="<b>%{y}</b><br>%{x:.2f}% missing (%{customdata:,} rows)<extra></extra>",
        ),
        layout=_bar_layout(f"Missing values per column of {table}", "Missing (%)", profile.height),
    )
    highest = max((profile["null_share"] * 100).fill_null(0).to_list(), default=0.0)
    figure.update_xaxes(range=[0, max(1.0, highest * 1.1)])
    return figure
