"""One chart alone, for an intranet page's iframe: /embed/<chart>?<the page's URL filters>.

The figure is built when the layout is served (no callback round trip) and fills its frame.
"""

from __future__ import annotations

from typing import Any, Final

import dash
import dash_mantine_components as dmc
from dash import dcc, html
from dash.development.base_component import Component

from dashboard import components
from dashboard.db import DataUnavailable, current_database
from dashboard.embeds import EMBEDS

GRAPH_ID: Final = "embed-graph"
UNKNOWN_ID: Final = "embed-unknown"

dash.register_page(  # type: ignore[no-untyped-call]
    __name__,
    path_template="/embed/<chart>",
    name="Embed",
    title="shelfsight - chart",
    in_navigation=False,
)


def layout(chart: str | None = None, **query: Any) -> Component:
    embed = EMBEDS.get(chart or "")
    if embed is None:
        return _unknown(chart)
    params = {key: value for key, value in query.items() if isinstance(value, str)}
    try:
        with current_database().cursor() as cur:
            figure = embed.build(cur, params)
    except DataUnavailable as error:
        return components.build_error_alert(error.message)
    margin = figure.layout.margin
    figure.update_layout(
        title={"text": embed.title},
        margin={"l": 56, "r": 16, "t": max(48, margin.t or 0), "b": max(40, margin.b or 0)},
    )
    graph: Component = dcc.Graph(
        id=GRAPH_ID,
        figure=figure,
        responsive=True,
        config={"displaylogo": False},
        style={"height": "100vh", "width": "100%"},
    )
    return graph


def _unknown(chart: str | None) -> Component:
    names = sorted(EMBEDS)
    page: Component = dmc.Stack(
        [
            dmc.Alert(
                f"There is no chart called '{(chart or '')[:60]}' to embed.",
                title="Unknown chart",
                color="orange",
                variant="light",
            ),
            html.P("Charts that can be embedded: " + (", ".join(names) or "none yet") + "."),
        ],
        id=UNKNOWN_ID,
        p="md",
    )
    return page
