"""Fixtures for the dashboard tests: the app over the shared `tiny_db`, its pages, a live server.

`tiny_db` (tests/conftest.py) is built with the real generator and sql/. Every app closes its
database connection on teardown: DuckDB refuses, in one process, two read-only connections to
one file with different configurations, and other tests open `tiny_db` with the defaults.
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest
from dash import Dash
from playwright.sync_api import ConsoleMessage, Page, expect

from dashboard.app import create_app
from dashboard.db import CONNECTION_CONFIG
from dashboard.settings import Settings
from tests.dashboard.support import close_database, serve

# Playwright's 5 s default for `expect` failed once when two test runs shared the two cores (a
# seasonality page drew its last chart later): wait up to 15 s; a passing test never waits it.
expect.set_options(timeout=15_000)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def expected_db(tiny_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An independent read-only connection, for computing expected values in SQL.

    It uses the app's connection configuration, so both can be open at once.
    """
    with duckdb.connect(str(tiny_db), read_only=True, config=CONNECTION_CONFIG) as con:
        yield con


@pytest.fixture
def app(tiny_db: Path) -> Iterator[Dash]:
    app = create_app(Settings(db_path=tiny_db))
    yield app
    close_database(app)


@pytest.fixture
def overview(app: Dash) -> Iterator[ModuleType]:
    """The overview page module, as `app` registered it, inside the app's context.

    Pages can only be imported once an app exists; `create_app` (re)executes them.
    """
    with app.server.app_context():
        yield importlib.import_module("dashboard.pages.overview")


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """Debian's chromium, never a downloaded browser (overrides pytest-playwright's fixture)."""
    return {"executable_path": shutil.which("chromium"), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url() -> str | None:
    """No base URL (tests use `live_server`).

    Overrides pytest-playwright 0.10's fallback fixture, a session-scoped fixture defined as an
    instance method, which pytest 9 deprecates with a warning that `filterwarnings = error`
    turns into an error at setup of every browser test.
    """
    return None


@pytest.fixture(scope="module")
def live_server(tiny_db: Path) -> Iterator[str]:
    with serve(Settings(db_path=tiny_db)) as url:
        yield url


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where browser tests save their screenshots: $SHELFSIGHT_SCREENSHOT_DIR, to look at
    them, else the test's temporary folder."""
    directory = Path(os.environ.get("SHELFSIGHT_SCREENSHOT_DIR") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """The browser console's errors and the page's uncaught exceptions, as they come."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors
