"""The app as a whole: pages, prefix, headers, local assets, and errors reaching callbacks."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dash
import flask
import pytest
from dash import Dash

import dashboard
from dashboard import queries
from dashboard.app import UNEXPECTED_MESSAGE, create_app, create_server
from dashboard.db import MISSING_MESSAGE, current_database
from dashboard.settings import Settings
from tests.dashboard.support import close_database

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    f"dashboard.pages.{path.stem}"
    for path in (REPO_ROOT / "dashboard" / "pages").glob("*.py")
    if not path.name.startswith("_")
)


@pytest.fixture
def client(app: Dash) -> flask.testing.FlaskClient:
    return app.server.test_client()


@pytest.fixture
def missing_db_client(tmp_path: Path) -> Iterator[flask.testing.FlaskClient]:
    app = create_app(Settings(db_path=tmp_path / "absent.duckdb"))
    yield app.server.test_client()
    close_database(app)


def post_callback(
    client: flask.testing.FlaskClient, output_id: str, prop: str
) -> tuple[int, str, Any]:
    """Call one overview callback over HTTP as the browser does (no filters set)."""
    body = {
        "output": f"{output_id}.{prop}",
        "outputs": {"id": output_id, "property": prop},
        "inputs": [
            {"id": "overview-region", "property": "value", "value": None},
            {"id": "overview-store", "property": "value", "value": None},
        ],
        "changedPropIds": [],
        "state": [],
    }
    response = client.post("/_dash-update-component", json=body)
    text = response.get_data(as_text=True)
    return response.status_code, text, json.loads(text)["response"][output_id][prop]


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict in a JSON layout, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def status_of(client: flask.testing.FlaskClient, url: str) -> int:
    with client.get(url) as response:
        return response.status_code


def test_create_app_registers_every_page(app: Dash) -> None:
    assert {"dashboard.pages.overview", "dashboard.pages.embed"} <= set(PAGES)
    assert sorted(dash.page_registry) == PAGES
    overview = dash.page_registry["dashboard.pages.overview"]
    assert (overview["path"], overview["name"]) == ("/", "Overview")


def test_create_app_serves_pages_and_links_under_prefix(tiny_db: Path) -> None:
    app = create_app(Settings(db_path=tiny_db, url_prefix="/analytics/"))
    client = app.server.test_client()
    try:
        assert client.get("/analytics/").status_code == 200
        layout = client.get("/analytics/_dash-layout").get_json()
        links = [node["props"]["href"] for node in walk(layout) if node.get("type") == "NavLink"]
        assert links[0] == "/analytics/"
        assert all(link.startswith("/analytics/") for link in links)
        assert not any("embed" in link for link in links)
    finally:
        close_database(app)


def test_app_sends_frame_ancestors_header(tiny_db: Path) -> None:
    settings = Settings(db_path=tiny_db, frame_ancestors="'self' https://intranet.example.com")
    app = create_app(settings)
    response = app.server.test_client().get("/")
    assert response.headers["Content-Security-Policy"] == (
        "frame-ancestors 'self' https://intranet.example.com"
    )
    close_database(app)


def test_index_loads_only_local_assets(client: flask.testing.FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert urls, "the page references no scripts or styles"
    assert [url for url in urls if not url.startswith("/") or url.startswith("//")] == []
    assert {url: status_of(client, url) for url in urls} == dict.fromkeys(urls, 200)


def test_missing_file_becomes_alert_in_page(missing_db_client: flask.testing.FlaskClient) -> None:
    status, text, kpis = post_callback(missing_db_client, "overview-kpis", "children")
    assert status == 200
    assert (kpis["type"], kpis["namespace"]) == ("Alert", "dash_mantine_components")
    assert kpis["props"]["children"] == MISSING_MESSAGE
    assert "Traceback" not in text
    assert "IO Error" not in text


def test_missing_file_leaves_message_in_chart(missing_db_client: flask.testing.FlaskClient) -> None:
    _, _, figure = post_callback(missing_db_client, "overview-revenue-by-category", "figure")
    assert figure["data"] == []
    assert [note["text"] for note in figure["layout"]["annotations"]] == [MISSING_MESSAGE]


def test_unexpected_error_is_logged_not_shown(
    client: flask.testing.FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(queries, "load_period_kpis", fail)
    with caplog.at_level(logging.ERROR, logger="dashboard.app"):
        status, text, kpis = post_callback(client, "overview-kpis", "children")
    assert status == 200
    assert kpis["props"]["children"] == UNEXPECTED_MESSAGE
    assert "secret" not in text
    assert "secret internal detail" in caplog.text


def test_create_server_reads_environment(tiny_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELFSIGHT_DB", str(tiny_db))
    monkeypatch.setenv("SHELFSIGHT_PREFIX", "/shelf/")
    server = create_server()
    assert isinstance(server, flask.Flask)
    assert server.test_client().get("/shelf/").status_code == 200
    with server.app_context():
        assert current_database().path == tiny_db
        current_database().close()


def test_dashboard_is_imported_from_this_repository() -> None:
    assert Path(dashboard.__file__).resolve() == REPO_ROOT / "dashboard" / "__init__.py"
