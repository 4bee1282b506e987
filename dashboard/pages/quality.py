"""Data quality: what was wrong in the raw feed, what staging did about it, and a profile of every
raw table (types, missing values, distinct values, ranges)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import dash
import dash_mantine_components as dmc
import duckdb
import plotly.graph_objects as go
import polars as pl
from dash import Input, Output, State, callback, dcc, html
from dash.development.base_component import Component

from dashboard import components, urlstate
from dashboard.db import current_database
from dashboard.embeds import embeddable
from dashboard.figures import quality as figures
from dashboard.queries import quality as queries

LOAD_ID: Final = "quality-load"
KPIS_ID: Final = "quality-kpis"
CHECKS_GRAPH_ID: Final = "quality-checks-graph"
CHECKS_TABLE_ID: Final = "quality-checks"
TABLE_ID: Final = "quality-table"
MISSING_GRAPH_ID: Final = "quality-missing-graph"
PROFILE_ID: Final = "quality-profile"
DOWNLOAD_BUTTON_ID: Final = "quality-download-button"
DOWNLOAD_ID: Final = "quality-download"
DEFAULT_TABLE: Final = "raw_daily_sales"
ROW_CHECKS: Final = (
    "missing_units",
    "missing_price",
    "price_outlier",
    "negative_stock",
    "impossible_stock",
    "sales_on_zero_stock",
)
PROFILE_COLUMNS: Final = (
    components.Column("column_name", "Column", detail="column_type"),
    components.Column("null_count", "Missing", "rows", "count"),
    components.Column("null_percent", "Missing", "%", "decimal"),
    components.Column("distinct_approx", "Distinct", "approx.", "count"),
    components.Column("min_value", "Min"),
    components.Column("max_value", "Max"),
    components.Column("mean_value", "Mean", "numbers", "decimal"),
    components.Column("std_value", "Std dev", "numbers", "decimal"),
)

dash.register_page(  # type: ignore[no-untyped-call]
    __name__, path="/data-quality", name="Data quality", title="shelfsight - Data quality", order=8
)


def layout(table: str | None = None, **_query: Any) -> Component:
    chosen = urlstate.parse_text(table) or DEFAULT_TABLE
    page: Component = dmc.Box(
        [
            dcc.Store(id=LOAD_ID, data=0),
            components.build_page_header(
                "Data quality",
                "What was wrong in the raw sales feed, how the staging views repaired it, "
                "and a profile of every raw table.",
            ),
            dmc.SimpleGrid(
                components.build_kpi_skeleton(4), id=KPIS_ID, cols={"base": 1, "sm": 2, "lg": 4}
            ),
            dmc.SimpleGrid(
                [
                    dmc.Card(
                        dcc.Graph(id=CHECKS_GRAPH_ID, config={"displaylogo": False}),
                        withBorder=True,
                        padding="xs",
                    ),
                    components.build_section(
                        "Checks and repairs",
                        "Each defect kind, the rows it touched, what staging did, and the SQL "
                        "that lists those rows (paste it in any DuckDB client).",
                        dmc.Box(dmc.Skeleton(h=200), id=CHECKS_TABLE_ID),
                    ),
                ],
                cols={"base": 1, "lg": 2},
                my="md",
                style={"alignItems": "start"},
            ),
            components.build_section(
                "Table profile",
                "Descriptive statistics of each column, computed over the whole raw table "
                "when the database was built.",
                dmc.Stack(
                    [
                        dmc.Group(
                            [
                                dmc.Select(
                                    id=TABLE_ID,
                                    label="Table",
                                    value=chosen,
                                    data=[{"value": chosen, "label": chosen}],
                                    allowDeselect=False,
                                    w=260,
                                ),
                                dmc.Button("Download CSV", id=DOWNLOAD_BUTTON_ID, variant="light"),
                                dcc.Download(id=DOWNLOAD_ID),
                            ],
                            align="end",
                        ),
                        dcc.Graph(id=MISSING_GRAPH_ID, config={"displaylogo": False}),
                        dmc.Box(dmc.Skeleton(h=200), id=PROFILE_ID),
                    ]
                ),
            ),
        ]
    )
    return page


@callback(
    Output(KPIS_ID, "children"),
    Output(CHECKS_GRAPH_ID, "figure"),
    Output(CHECKS_TABLE_ID, "children"),
    Output(TABLE_ID, "data"),
    Input(LOAD_ID, "data"),
)
def update_checks(_load: Any) -> tuple[list[Component], go.Figure, Component, list[str]]:
    with current_database().cursor() as cur:
        checks = queries.load_checks(cur)
        tables = queries.load_profiled_tables(cur)
    return (
        build_kpi_cards(checks),
        figures.build_checks_figure(checks),
        build_checks_list(checks),
        tables["table_name"].to_list(),
    )


@callback(
    Output(MISSING_GRAPH_ID, "figure"),
    Output(PROFILE_ID, "children"),
    Input(TABLE_ID, "value"),
)
def update_profile(table: str | None) -> tuple[go.Figure, Component]:
    chosen = urlstate.parse_text(table) or DEFAULT_TABLE
    with current_database().cursor() as cur:
        profile = queries.load_profile(cur, table=chosen)
    return figures.build_missing_figure(profile, chosen), build_profile_table(profile)


@callback(
    Output(DOWNLOAD_ID, "data"),
    Input(DOWNLOAD_BUTTON_ID, "n_clicks"),
    State(TABLE_ID, "value"),
    prevent_initial_call=True,
)
def download_profile(_clicks: int | None, table: str | None) -> dict[str, Any]:
    chosen = urlstate.parse_text(table) or DEFAULT_TABLE
    with current_database().cursor() as cur:
        profile = queries.load_profile(cur, table=chosen)
    return {"content": profile.write_csv(), "filename": f"profile_{chosen}.csv"}


@embeddable("data-quality-checks", title="Rows affected by each defect")
def embed_checks(cur: duckdb.DuckDBPyConnection, _query: Mapping[str, str]) -> go.Figure:
    return figures.build_checks_figure(queries.load_checks(cur))


urlstate.sync_to_url({"table": (TABLE_ID, "value")})


def build_kpi_cards(checks: pl.DataFrame) -> list[Component]:
    """Raw rows, rows repaired, duplicates dropped and missing days of the sales feed."""
    by_name = {row["check_name"]: row for row in checks.iter_rows(named=True)}
    duplicates = by_name.get("duplicate_row", {})
    missing = by_name.get("missing_day", {})
    raw_rows = int(duplicates.get("total_rows") or 0)
    clean_rows = raw_rows - int(duplicates.get("affected_rows") or 0)
    repaired = sum(int(by_name.get(name, {}).get("affected_rows") or 0) for name in ROW_CHECKS)
    share = repaired / clean_rows if clean_rows else None
    return [
        components.build_kpi_card(
            value_id="quality-kpi-raw-rows",
            label="Rows in the raw sales feed",
            value=components.format_count(raw_rows),
            detail=f"{components.format_count(clean_rows)} after de-duplication",
        ),
        components.build_kpi_card(
            value_id="quality-kpi-repaired",
            label="Rows repaired by staging",
            value=components.format_count(repaired),
            detail=f"{components.format_percent(share)} of the clean rows",
        ),
        components.build_kpi_card(
            value_id="quality-kpi-duplicates",
            label="Duplicated rows dropped",
            value=components.format_count(int(duplicates.get("affected_rows") or 0)),
            detail="exact copies of a store, product and day",
        ),
        components.build_kpi_card(
            value_id="quality-kpi-missing-days",
            label="Missing store x product days",
            value=components.format_count(int(missing.get("affected_rows") or 0)),
            detail="left missing: models treat them as gaps",
        ),
    ]


def build_checks_list(checks: pl.DataFrame) -> Component:
    """An accordion: one item per check with its counts, repair and the SQL listing its rows."""
    if checks.is_empty():
        return components.build_empty_note("No checks recorded for this database.")
    items = []
    for row in checks.iter_rows(named=True):
        share = components.format_percent(row["affected_share"])
        items.append(
            dmc.AccordionItem(
                [
                    dmc.AccordionControl(
                        dmc.Group(
                            [
                                dmc.Text(figures.check_label(row["check_name"]), fw=500),
                                dmc.Badge(
                                    f"{components.format_count(row['affected_rows'])} rows",
                                    variant="light",
                                    color="orange" if row["affected_rows"] else "teal",
                                ),
                            ],
                            justify="space-between",
                            wrap="nowrap",
                            pr="sm",
                        )
                    ),
                    dmc.AccordionPanel(
                        [
                            dmc.Text(
                                f"{row['description']} ({share} of {row['table_name']}). "
                                f"Repair: {row['action']}.",
                                size="sm",
                            ),
                            html.Pre(row["rows_sql"], className="sql-text"),
                        ]
                    ),
                ],
                value=row["check_name"],
            )
        )
    accordion: Component = dmc.Accordion(items, variant="separated", chevronPosition="left")
    return accordion


def build_profile_table(profile: pl.DataFrame) -> Component:
    if profile.is_empty():
        return components.build_empty_note("No profile for this table.")
    shown = profile.with_columns(null_percent=pl.col("null_share") * 100)
    return components.build_table(shown, PROFILE_COLUMNS, min_width=820)
