from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import plotly.graph_objects as go
import polars as pl
import pytest

from dashboard import figures

WEEKS = [dt.date(2025, 12, 1), dt.date(2025, 12, 8)]


def test_build_category_revenue_figure_stacks_biggest_first_other_last() -> None:
    df = pl.DataFrame(
        {
            "week_start": [WEEKS[0]] * 3 + [WEEKS[1]] * 3,
            "category": ["Other categories", "Bakery", "Dairy"] * 2,
            "is_other": [True, False, False] * 2,
            "revenue": [500.0, 80.0, 120.0, 400.0, 70.0, 130.0],
        }
    )
    figure = figures.build_category_revenue_figure(df)
    assert [trace.name for trace in figure.data] == ["Dairy", "Bakery", "Other categories"]
    assert [list(trace.y) for trace in figure.data] == [
        [120.0, 130.0],
        [80.0, 70.0],
        [500.0, 400.0],
    ]
    assert [list(trace.x) for trace in figure.data] == [WEEKS, WEEKS, WEEKS]
    assert {trace.stackgroup for trace in figure.data} == {"revenue"}
    assert [trace.line.color for trace in figure.data] == [
        figures.PALETTE[0], figures.PALETTE[1], figures.OTHER_COLOR,
    ]  # fmt: skip


def test_build_category_revenue_figure_labels_axes_with_units() -> None:
    df = pl.DataFrame(
        {"week_start": WEEKS[:1], "category": ["Dairy"], "is_other": [False], "revenue": [1.0]}
    )
    figure = figures.build_category_revenue_figure(df)
    assert figure.layout.title.text == "Weekly revenue by category"
    assert figure.layout.yaxis.title.text == "Revenue (EUR)"
    assert figure.layout.xaxis.hoverformat == "Week of %d %b %Y"
    assert figure.data[0].hovertemplate == "Dairy: %{y:,.0f} EUR<extra></extra>"


def test_build_stockout_rate_figure_plots_rate_as_percent() -> None:
    df = pl.DataFrame(
        {
            "week_start": [WEEKS[1], WEEKS[0]],
            "stockout_rate": [0.05, 0.025],
            "stockout_count": [5, 2],
            "series_count": [100, 80],
        }
    )
    figure = figures.build_stockout_rate_figure(df)
    (trace,) = figure.data
    assert list(trace.x) == WEEKS
    assert list(trace.y) == [0.025, 0.05]
    assert [list(row) for row in trace.customdata] == [[2, 80], [5, 100]]
    assert figure.layout.yaxis.tickformat == ".1%"
    assert figure.layout.yaxis.title.text == "Store x product days out of stock (%)"


@pytest.mark.parametrize(
    ("build", "columns"),
    [
        (figures.build_category_revenue_figure, ["week_start", "category", "is_other", "revenue"]),
        (
            figures.build_stockout_rate_figure,
            ["week_start", "stockout_rate", "stockout_count", "series_count"],
        ),
    ],
)
def test_build_figure_says_no_data_when_empty(
    build: Callable[[pl.DataFrame], go.Figure], columns: list[str]
) -> None:
    figure = build(pl.DataFrame({name: [] for name in columns}))
    assert len(figure.data) == 0
    assert [annotation.text for annotation in figure.layout.annotations] == [
        "No data for these filters"
    ]


def test_build_empty_figure_shows_message_without_axes() -> None:
    figure = figures.build_empty_figure("The data is being refreshed; try again in a moment.")
    assert (
        figure.layout.annotations[0].text == "The data is being refreshed; try again in a moment."
    )
    assert figure.layout.xaxis.visible is False
    assert figure.layout.yaxis.visible is False
