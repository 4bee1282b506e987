"""Pure builders of the Promotions page's components: its chart cards and filters, the
promotion picker's options, the detail cards and the ranking tables (no callbacks, no queries)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import dash_mantine_components as dmc
import polars as pl
from dash import dcc
from dash.development.base_component import Component

from dashboard import components

TALL_CHART_HEIGHT: Final = 460
RANKING_COLUMNS: Final = (
    components.Column("product_name", "Product", detail="period"),
    components.Column("discount", "Discount", "% off", "count"),
    components.Column("store_count", "Stores", "", "count"),
    components.Column("uplift", "Uplift", "% vs baseline", "decimal", detail="uplift_ci"),
    components.Column("extra_units", "Extra units", "units", "count", detail="extra_units_ci"),
    components.Column(
        "incremental_revenue", "Extra revenue", "EUR", "eur", detail="extra_revenue_ci"
    ),
    components.Column("dip", "Dip after", "units, 7 days", "count"),
    components.Column("cannibalised", "Siblings", "units taken", "count"),
    components.Column(
        "net_incremental_revenue", "Net revenue", "EUR, all in", "eur", detail="net_revenue_ci"
    ),
)


def build_tall_graph(graph_id: str) -> Component:
    """A chart card like components.build_graph, taller: its legend lists every category."""
    card: Component = dmc.Card(
        dcc.Graph(
            id=graph_id,
            config={"displaylogo": False, "responsive": True},
            className="chart",
            style={"height": f"{TALL_CHART_HEIGHT}px"},
        ),
        withBorder=True,
        padding="xs",
    )
    return card


def build_select(
    component_id: str, label: str, placeholder: str, value: str | None, width: int
) -> Any:
    """A filter: clearable and searchable, its options set by a callback."""
    return dmc.Select(
        id=component_id,
        label=label,
        placeholder=placeholder,
        value=value,
        data=[],
        clearable=True,
        searchable=True,
        nothingFoundMessage="Nothing matches",
        w={"base": "100%", "xs": width},
    )


def clicked_promotion(click: dict[str, Any] | None) -> int | None:
    """The promo_id of a clicked scatter point (its customdata[0])."""
    try:
        value = (click or {})["points"][0]["customdata"][0]
    except (KeyError, IndexError, TypeError):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else None


def build_promotion_options(df: pl.DataFrame) -> list[dict[str, str]]:
    """Select options: "Product · 25% off · 01 Mar 2025 (#12)", in the frame's order."""
    labels = df.select(
        pl.format(
            "{} · {}% off · {} (#{})",
            pl.col("product_name"),
            (pl.col("discount_pct") * 100).round(0).cast(pl.Int64),
            pl.col("start_date").dt.strftime("%d %b %Y"),
            pl.col("promo_id"),
        )
    ).to_series()
    return [
        {"value": str(promo_id), "label": label}
        for promo_id, label in zip(df["promo_id"], labels, strict=True)
    ]


def choose_promotion(df: pl.DataFrame, wanted: int | None) -> str | None:
    ids = df.get_column("promo_id")
    if wanted is not None and wanted in ids:
        return str(wanted)
    if df.is_empty():
        return None
    best = df.sort("net_incremental_revenue", "promo_id", descending=[True, False], nulls_last=True)
    return str(best.get_column("promo_id")[0])


def build_detail_cards(row: Mapping[str, Any], cards: Sequence[tuple[str, str, str]]) -> Component:
    """A line on the stores and units, then a card per (value id, label, column) of `cards`
    (the page's: extra units (and uplift), extra revenue, dip, cannibalisation and net extra
    revenue), each with its 95% interval."""
    uplift = components.NO_VALUE if row["uplift_pct"] is None else f"{row['uplift_pct']:+.0%}"
    kpis = [
        components.build_kpi_card(
            value_id=value_id,
            label=label,
            value=_signed(row[name]),
            detail=f"95%: {_signed(row[f'{name}_lo95'])} to {_signed(row[f'{name}_hi95'])}"
            + (f" · uplift {uplift}" if name == "incremental_units" else ""),
        )
        for value_id, label, name in cards
    ]
    stores = row["store_count"]
    note = dmc.Text(
        f"{stores:,} store{'s' if stores != 1 else ''} · {row['actual_units']:,} units sold "
        f"against a baseline of {row['baseline_units']:,.0f} · {row['stockout_days']:,} "
        "store-days out of stock during the promotion",
        size="sm",
        c="dimmed",
    )
    grid = dmc.SimpleGrid(kpis, cols={"base": 1, "xs": 2, "lg": 5})
    stack: Component = dmc.Stack([note, grid], gap="xs")
    return stack


def _signed(value: float | None) -> str:
    return components.NO_VALUE if value is None else f"{round(value) + 0:+,}"


def build_ranking_tables(df: pl.DataFrame) -> Component:
    """The best and the worst promotions as two tables, or a note when there are none."""
    if df.is_empty():
        return components.build_empty_note("No estimated promotion matches these filters.")
    shown = format_ranking(df)
    parts: list[Component] = []
    for group, title in (("best", "Best"), ("worst", "Worst")):
        rows = shown.filter(pl.col("rank_group") == group)
        if rows.height:
            parts.append(dmc.Title(f"{title} {rows.height}", order=5, mt="xs"))
            parts.append(components.build_table(rows, RANKING_COLUMNS, min_width=980))
    stack: Component = dmc.Stack(parts, gap=4)
    return stack


def format_ranking(df: pl.DataFrame) -> pl.DataFrame:
    """The table's display columns: percentages as numbers of points, counts rounded, and the
    small lines (period, 95% intervals) as text."""

    def interval(name: str, scale: float = 1.0, suffix: str = "") -> pl.Series:
        lows = df.get_column(f"{name}_lo95").to_list()
        highs = df.get_column(f"{name}_hi95").to_list()
        return pl.Series(
            [_interval_text(lo, hi, scale, suffix) for lo, hi in zip(lows, highs, strict=True)]
        )

    return df.with_columns(
        period=pl.format(
            "{} · {}-{}",
            pl.col("category"),
            pl.col("start_date").dt.strftime("%d %b"),
            pl.col("end_date").dt.strftime("%d %b %y"),
        ),
        discount=(pl.col("discount_pct") * 100).round(0).cast(pl.Int64),
        uplift=pl.col("uplift_pct") * 100,
        uplift_ci=interval("uplift_pct", 100, "%"),
        extra_units=pl.col("incremental_units").round(0).cast(pl.Int64),
        extra_units_ci=interval("incremental_units"),
        extra_revenue_ci=interval("incremental_revenue"),
        dip=pl.col("dip_units").round(0).cast(pl.Int64),
        cannibalised=pl.col("cannibalised_units").round(0).cast(pl.Int64),
        net_revenue_ci=interval("net_incremental_revenue"),
    )


def _interval_text(low: float | None, high: float | None, scale: float, suffix: str) -> str:
    """'1,234 to 2,345' (a missing bound is unbounded)."""

    def bound(value: float | None) -> str:
        return "unbounded" if value is None else f"{round(value * scale) + 0:,}{suffix}"

    return f"{bound(low)} to {bound(high)}"
