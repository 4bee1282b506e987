"""Helpers shared by the dashboard tests and their fixtures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from dash import Dash
from werkzeug.serving import make_server

from dashboard.app import create_app
from dashboard.db import current_database
from dashboard.settings import Settings


def close_database(app: Dash) -> None:
    with app.server.app_context():
        current_database().close()


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The app served on 127.0.0.1 at a free port in a thread; yields its base URL."""
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        close_database(app)
