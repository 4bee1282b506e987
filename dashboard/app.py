"""The Dash application: `create_app(settings)` for code and tests, `create_server()` for gunicorn.

gunicorn 'dashboard.app:create_server()'
"""

from __future__ import annotations

import logging
import os
from typing import Any, Final

import dash
import flask
from dash import Dash, Input, Output, State

from dashboard import components, figures, queries
from dashboard.db import Database, DataUnavailable, install_database
from dashboard.queries import forecast as forecast_queries
from dashboard.queries import promotions as promotion_queries
from dashboard.queries import quality as quality_queries
from dashboard.queries import sales as sales_queries
from dashboard.queries import seasonality as seasonality_queries
from dashboard.settings import Settings

logger = logging.getLogger(__name__)

# Every view a page reads: an older file without one gets a clear message, not a failed query.
REQUIRED_VIEWS: Final = tuple(
    dict.fromkeys(
        [
            *queries.REQUIRED_VIEWS,
            *quality_queries.REQUIRED_VIEWS,
            *sales_queries.REQUIRED_VIEWS,
            *seasonality_queries.REQUIRED_VIEWS,
            *promotion_queries.REQUIRED_VIEWS,
            *forecast_queries.REQUIRED_VIEWS,
        ]
    )
)

UNEXPECTED_MESSAGE: Final = (
    "Something went wrong while loading this view; the error has been logged."
)

_TOGGLE_NAVBAR_JS: Final = """
function (opened, navbar) {
    return Object.assign({}, navbar, {collapsed: {mobile: !opened}});
}
"""
_CLOSE_BURGER_JS: Final = "function (pathname) { return false; }"
# An embedded chart shows no header, no navigation and no padding.
_EMBED_SHELL_JS: Final = """
function (pathname) {
    const embedded = (pathname || "").indexOf("/embed/") !== -1;
    return [embedded, embedded ? 0 : "md"];
}
"""


def create_app(settings: Settings | None = None) -> Dash:
    """Build the app; the database is opened on the first request, not here."""
    settings = settings or Settings()
    app = Dash(
        "dashboard",
        use_pages=True,
        url_base_pathname=settings.url_prefix,
        serve_locally=True,
        title=components.APP_NAME,
        update_title="",  # keep the title while callbacks run
        suppress_callback_exceptions=True,  # page callbacks target components of other pages
        on_error=handle_callback_error,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.layout = components.build_app_shell(dash.page_registry.values())
    app.clientside_callback(  # type: ignore[no-untyped-call]
        _TOGGLE_NAVBAR_JS,
        Output(components.SHELL_ID, "navbar"),
        Input(components.BURGER_ID, "opened"),
        State(components.SHELL_ID, "navbar"),
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        _CLOSE_BURGER_JS,
        Output(components.BURGER_ID, "opened"),
        Input("_pages_location", "pathname"),
        prevent_initial_call=True,
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        _EMBED_SHELL_JS,
        Output(components.SHELL_ID, "disabled"),
        Output(components.SHELL_ID, "padding"),
        Input("_pages_location", "pathname"),
    )
    server: flask.Flask = app.server
    install_database(server, Database(settings.db_path, required_views=REQUIRED_VIEWS))
    frame_ancestors = f"frame-ancestors {settings.frame_ancestors}"

    @server.after_request
    def add_security_headers(response: flask.Response) -> flask.Response:
        response.headers["Content-Security-Policy"] = frame_ancestors
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return app


def create_server() -> flask.Flask:
    """The Flask server for gunicorn, configured from SHELFSIGHT_* variables."""
    server: flask.Flask = create_app(Settings.from_env(os.environ)).server
    return server


def handle_callback_error(exc: Exception) -> Any:
    """Turn any error raised in a callback into a readable message where its outputs go.

    Figures become a blank chart stating the message, `children` an alert, option lists empty;
    other properties keep their value. DuckDB's text and tracebacks go to the log only.
    """
    if isinstance(exc, DataUnavailable):
        message = exc.message
    else:
        logger.error("callback failed", exc_info=exc)
        message = UNEXPECTED_MESSAGE
    outputs = dash.ctx.outputs_list
    if isinstance(outputs, dict):
        return _placeholder(outputs, message)
    return [_placeholder(output, message) for output in outputs]


def _placeholder(output: Any, message: str) -> Any:
    prop = output.get("property") if isinstance(output, dict) else None
    if prop == "figure":
        return figures.build_empty_figure(message)
    if prop == "children":
        return components.build_error_alert(message)
    if prop == "data" and not str(output.get("id", "")).endswith("-download"):
        return []
    return dash.no_update
