"""Embedding in an intranet page, and hostile requests to the callback endpoint."""

from __future__ import annotations

import http.server
import importlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dash import Dash
from playwright.sync_api import ConsoleMessage, Page, expect

from dashboard.db import current_database
from dashboard.settings import Settings
from tests.dashboard.support import serve


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.get("props", {}).values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


@pytest.fixture
def client(app: Dash) -> Any:
    return app.server.test_client()


def test_embed_renders_registered_chart_with_url_filters(app: Dash) -> None:
    with app.server.app_context():
        embed = importlib.import_module("dashboard.pages.embed")
        overview = importlib.import_module("dashboard.pages.overview")
        graph = embed.layout(chart="overview-revenue", region="Bretagne")
        with current_database().cursor() as cur:
            expected = overview.embed_revenue(cur, {"region": "Bretagne"})
    assert graph.id == embed.GRAPH_ID
    assert [trace.name for trace in graph.figure.data] == [trace.name for trace in expected.data]
    for shown, wanted in zip(graph.figure.data, expected.data, strict=True):
        assert list(shown.y) == pytest.approx(list(wanted.y), rel=1e-9)
    assert graph.figure.layout.title.text == "Weekly revenue by category"


def test_embed_unknown_chart_lists_the_known_ones(app: Dash) -> None:
    with app.server.app_context():
        embed = importlib.import_module("dashboard.pages.embed")
        page = embed.layout(chart="<script>alert(1)</script>")
    texts = [str(node) for node in page.children]
    assert "overview-revenue" in texts[1]


@pytest.mark.parametrize(
    "body",
    [
        "garbage",
        "{}",
        '{"output": "overview-kpis.children", "inputs": "x"}',
        json.dumps(
            {
                "output": "nope.children",
                "outputs": {"id": "nope", "property": "children"},
                "inputs": [],
                "changedPropIds": [],
            }
        ),
        "\x00\xff" * 50,
    ],
)
def test_garbage_callback_payload_gets_error_without_traceback(client: Any, body: str) -> None:
    response = client.post(
        "/_dash-update-component",
        data=body.encode("utf-8", "surrogateescape"),
        content_type="application/json",
    )
    text = response.get_data(as_text=True)
    assert response.status_code >= 400
    assert "Traceback" not in text
    assert 'File "' not in text
    assert ".py" not in text


def test_hostile_filter_values_reach_no_sql(client: Any) -> None:
    """A well-formed request with hostile input values: the callback answers, nothing leaks."""
    payload = {
        "output": "overview-kpis.children",
        "outputs": {"id": "overview-kpis", "property": "children"},
        "inputs": [
            {
                "id": "overview-region",
                "property": "value",
                "value": "x' or 1=1; drop table stores --",
            },
            {"id": "overview-store", "property": "value", "value": {"nested": [1, 2]}},
        ],
        "changedPropIds": ["overview-region.value"],
    }
    response = client.post("/_dash-update-component", json=payload)
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    assert "duckdb" not in text.lower()


class _Parent(http.server.BaseHTTPRequestHandler):
    """An intranet page framing one chart of the app."""

    target = ""

    def do_GET(self) -> None:
        frame = f'<iframe src="{self.target}" width="800" height="450"></iframe>'
        body = f"<html><body>{frame}</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def parent_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Parent)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.browser
def test_embed_in_iframe_allowed_origin_only(
    tiny_db: Path, page: Page, parent_server: http.server.HTTPServer
) -> None:
    port = parent_server.server_address[1]
    allowed = f"http://127.0.0.1:{port}"
    settings = Settings(db_path=tiny_db, frame_ancestors=f"'self' {allowed}")
    refused: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "frame-ancestors" in message.text:
            refused.append(message.text)

    page.on("console", on_console)
    with serve(settings) as url:
        _Parent.target = f"{url}embed/overview-revenue?region=Bretagne"
        page.goto(f"{allowed}/")
        frame = page.frame_locator("iframe")
        expect(frame.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=20_000)
        expect(frame.locator(".mantine-AppShell-navbar")).to_have_count(0)
        assert refused == []
        # The same page served from another origin (localhost is not 127.0.0.1) is refused.
        page.goto(f"http://localhost:{port}/")
        page.wait_for_timeout(2_000)
        assert any("frame-ancestors" in text for text in refused)
        assert page.frame_locator("iframe").locator(".js-plotly-plot").count() == 0
