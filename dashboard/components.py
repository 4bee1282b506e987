"""Pieces every page shares: the app shell and its navigation, page headers, KPI cards, alerts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import dash
import dash_mantine_components as dmc
import polars as pl
from dash import dcc, html
from dash.development.base_component import Component

APP_NAME: Final = "shelfsight"
HEADER_HEIGHT: Final = 56
NAVBAR_WIDTH: Final = 220
CHART_HEIGHT: Final = 360
BURGER_ID: Final = "app-burger"
SHELL_ID: Final = "app-shell"
NO_VALUE: Final = "-"
THEME: Final[dict[str, Any]] = {
    "primaryColor": "indigo",
    "defaultRadius": "md",
    "fontFamily": (
        "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
    ),
}
Trend = Literal["good", "bad", "neutral"]
CellKind = Literal["text", "count", "decimal", "eur", "ratio", "percent"]
TREND_COLORS: Final[dict[Trend, str]] = {"good": "teal.7", "bad": "red.7", "neutral": "dimmed"}
# Kinds that align as the numbers they are (the CSS knows count, decimal and eur).
_CELL_CLASS: Final[dict[CellKind, str]] = {"ratio": "col-decimal", "percent": "col-decimal"}


def build_navigation(pages: Iterable[Mapping[str, Any]]) -> list[Component]:
    """One link per registered page, in registry order; hrefs carry the URL prefix.

    Pages registered with `in_navigation=False` (the embed route) get no link.
    """
    links: list[Component] = [
        dmc.NavLink(
            label=page["name"],
            href=page["relative_path"],
            active="exact",
            id=f"nav-{page['module'].rsplit('.', 1)[-1]}",
        )
        for page in pages
        if page.get("in_navigation", True)
    ]
    return links


def build_app_shell(pages: Iterable[Mapping[str, Any]]) -> Component:
    """Header, navigation and the page container, inside the Mantine provider."""
    header = dmc.AppShellHeader(
        dmc.Group(
            [
                dmc.Burger(id=BURGER_ID, size="sm", hiddenFrom="sm", opened=False),
                dmc.Title(APP_NAME, order=3, c="indigo.8"),
                dmc.Text("retail analytics", size="sm", c="dimmed", visibleFrom="xs"),
            ],
            h="100%",
            px="md",
            gap="sm",
        )
    )
    navbar = dmc.AppShellNavbar(build_navigation(pages), p="sm")
    shell = dmc.AppShell(
        [header, navbar, dmc.AppShellMain(dash.page_container)],
        id=SHELL_ID,
        header={"height": HEADER_HEIGHT},
        navbar={"width": NAVBAR_WIDTH, "breakpoint": "sm", "collapsed": {"mobile": True}},
        padding="md",
    )
    provider: Component = dmc.MantineProvider(shell, theme=THEME, defaultColorScheme="light")
    return provider


def build_page_header(title: str, description: str, extra: Component | None = None) -> Component:
    """The page title, one line saying what the page answers, and an optional right-hand item."""
    header: Component = dmc.Group(
        [
            dmc.Stack([dmc.Title(title, order=2), dmc.Text(description, c="dimmed")], gap=2),
            extra,
        ],
        justify="space-between",
        align="flex-end",
        mb="md",
    )
    return header


def build_kpi_card(
    *,
    value_id: str,
    label: str,
    value: str,
    detail: str,
    trend: Trend = "neutral",
) -> Component:
    """A KPI: a label, a large value (with a stable id a test can read), and one detail line
    (a change against the previous period, coloured by whether the change is good)."""
    card: Component = dmc.Card(
        [
            dmc.Text(label, size="sm", c="dimmed", fw=500),
            dmc.Text(value, id=value_id, fz=28, fw=700, lh=1.3, className="kpi-value"),
            dmc.Text(detail, size="sm", c=TREND_COLORS[trend], id=f"{value_id}-detail"),
        ],
        withBorder=True,
        padding="md",
    )
    return card


def build_kpi_skeleton(count: int) -> list[Component]:
    """Placeholders with the height of the KPI cards, shown until the first values arrive."""
    return [dmc.Skeleton(h=112, radius="md") for _ in range(count)]


def build_section(title: str, description: str, body: Component) -> Component:
    """A bordered card holding one table or list under a small heading."""
    section: Component = dmc.Card(
        [
            dmc.Title(title, order=4),
            dmc.Text(description, size="sm", c="dimmed", mb="sm"),
            body,
        ],
        withBorder=True,
        padding="md",
    )
    return section


def build_graph(graph_id: str, *, has_long_legend: bool = False) -> Component:
    """A chart in a bordered card; the figure comes from a callback. A chart whose legend
    wraps into many lines grows on narrow screens (in the CSS)."""
    card: Component = dmc.Card(
        dcc.Graph(
            id=graph_id,
            config={"displaylogo": False, "responsive": True},
            className="chart chart-long-legend" if has_long_legend else "chart",
            style={"height": f"{CHART_HEIGHT}px"},
        ),
        withBorder=True,
        padding="xs",
    )
    return card


@dataclass(frozen=True)
class Column:
    """A table column: the frame's column `name`, its header, a unit shown under the header,
    how cells are formatted (numbers align right), and an optional `detail` column shown
    small under each value."""

    name: str
    header: str
    unit: str = ""
    kind: CellKind = "text"
    detail: str | None = None


def build_table(df: pl.DataFrame, columns: Sequence[Column], *, min_width: int) -> Component:
    """A striped table of `df`; it scrolls sideways in its card below `min_width` pixels."""
    head = dmc.TableThead(
        dmc.TableTr(
            [
                dmc.TableTh(
                    [column.header, html.Div(column.unit, className="unit")],
                    className=_cell_class(column.kind),
                )
                for column in columns
            ]
        )
    )
    body = dmc.TableTbody(
        [
            dmc.TableTr([_build_cell(row, column) for column in columns])
            for row in df.iter_rows(named=True)
        ]
    )
    table = dmc.Table(
        [head, body],
        striped=True,
        highlightOnHover=True,
        tabularNums=True,
        fz="sm",
        horizontalSpacing="xs",
        verticalSpacing=6,
    )
    container: Component = dmc.TableScrollContainer(table, minWidth=min_width)
    return container


def _build_cell(row: Mapping[str, Any], column: Column) -> Component:
    value = format_cell(row[column.name], column.kind)
    if column.detail is None:
        cell: Component = dmc.TableTd(value, className=_cell_class(column.kind))
        return cell
    detail = html.Div(format_cell(row[column.detail], "text"), className="cell-detail")
    cell = dmc.TableTd([value, detail], className=_cell_class(column.kind))
    return cell


def _cell_class(kind: CellKind) -> str:
    return _CELL_CLASS.get(kind, f"col-{kind}")


def format_cell(value: Any, kind: CellKind) -> str:
    """A table value as text: counts with separators, one decimal, whole euros, ratios with two
    decimals (0.67), shares (0 to 1) as percentages with one decimal (82.1%)."""
    if value is None:
        return NO_VALUE
    if kind == "ratio":
        return f"{value:,.2f}"
    if kind == "percent":
        return f"{value:.1%}"
    if kind == "count":
        return f"{value:,}"
    if kind == "decimal":
        return f"{value:,.1f}"
    if kind == "eur":
        return f"{value:,.0f}"
    return str(value)


def build_error_alert(message: str) -> Component:
    """How a failed data load reads on the page: one sentence, no technical detail."""
    alert: Component = dmc.Alert(
        message, title="Data unavailable", color="orange", variant="light", className="data-alert"
    )
    return alert


def build_empty_note(message: str) -> Component:
    note: Component = html.P(message, className="empty-note")
    return note


def format_eur(value: float | None) -> str:
    """Whole euros with thousands separators: 15,262 EUR."""
    return NO_VALUE if value is None else f"{value:,.0f} EUR"


def format_count(value: int | None) -> str:
    return NO_VALUE if value is None else f"{value:,}"


def format_percent(value: float | None) -> str:
    """A share (0 to 1) as a percentage with one decimal: 8.8%."""
    return NO_VALUE if value is None else f"{value:.1%}"


def format_relative_change(
    current: float | None, previous: float | None, *, is_increase_good: bool = True
) -> tuple[str | None, Trend]:
    """A change as a signed percentage ("+3.2%") and whether it is good news; None when
    there is nothing to compare with."""
    if current is None or not previous:
        return None, "neutral"
    change = round((current / previous - 1) * 100, 1) + 0.0  # no "-0.0"
    return f"{change:+.1f}%", _trend(change, is_increase_good)


def format_point_change(
    current: float | None, previous: float | None, *, is_increase_good: bool = True
) -> tuple[str | None, Trend]:
    """A change between two shares (0 to 1) in percentage points: "+1.4 pp"."""
    if current is None or previous is None:
        return None, "neutral"
    change = round((current - previous) * 100, 1) + 0.0
    return f"{change:+.1f} pp", _trend(change, is_increase_good)


def _trend(shown_change: float, is_increase_good: bool) -> Trend:
    """Neutral when the change, as shown, is zero."""
    if shown_change == 0:
        return "neutral"
    return "good" if (shown_change > 0) == is_increase_good else "bad"
