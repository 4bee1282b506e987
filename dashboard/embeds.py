"""Charts that can be embedded alone in an intranet page: /embed/<name>?<the page's URL filters>.

A page registers its main chart at import time:

    @embeddable("sales-trend", title="Sales and stock over time")
    def embed_sales_trend(cur: duckdb.DuckDBPyConnection, query: Mapping[str, str]) -> go.Figure:
        state = parse_state(query)                 # the same parsers the page's layout uses
        return figures.build_trend(queries.load_trend(cur, **state))

The embed page (dashboard/pages/embed.py) looks the name up, opens a cursor, and renders the
figure without navigation, sized to its iframe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import duckdb
import plotly.graph_objects as go

EmbedBuilder = Callable[[duckdb.DuckDBPyConnection, Mapping[str, str]], go.Figure]


@dataclass(frozen=True)
class Embed:
    name: str
    title: str
    build: EmbedBuilder


EMBEDS: dict[str, Embed] = {}


def embeddable(name: str, *, title: str) -> Callable[[EmbedBuilder], EmbedBuilder]:
    def register(build: EmbedBuilder) -> EmbedBuilder:
        EMBEDS[name] = Embed(name, title, build)
        return build

    return register
