"""Read-only access to the DuckDB file: one connection per process, one cursor per request.

The connection is opened on first use (never at import) and reopened when the file is replaced
(a build publishes a new file with `os.replace`): every request compares the file's inode and
modification time with those seen at open. DuckDB keeps serving the old file to an open
connection, and `connect()` returns the cached instance while any connection to the path is
open, so a reopen waits for the requests in flight, closes, then connects again.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, ParamSpec, TypeVar, cast

import duckdb
import flask

logger = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
MEMO_LIMIT: Final = 4096  # memoized lookups kept per open file
_NOT_FOUND: Final = object()

# Every read-only connection to a file in one process must use the same configuration.
CONNECTION_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,
    "lock_configuration": True,
}
MISSING_MESSAGE = "The data file was not found; build it with 'shelfsight generate' first."
REFRESHING_MESSAGE = "The data is being refreshed; try again in a moment."
FAILED_MESSAGE = "The data could not be loaded; the error has been logged."
REOPEN_WAIT_S = 30.0
_EXTENSION_KEY = "shelfsight_database"


class DataUnavailable(Exception):
    """The data cannot be read right now; `message` is one sentence fit to show a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingViews(DataUnavailable):
    """The file lacks views the dashboard reads (it was built by another version)."""

    def __init__(self, missing: Iterable[str]) -> None:
        self.missing = tuple(sorted(missing))
        super().__init__(
            f"The data file lacks the views {', '.join(self.missing)}; "
            "rebuild it with 'shelfsight generate'."
        )


FileIdentity = tuple[int, int]


class Database:
    """A process-wide read-only connection to one DuckDB file."""

    def __init__(self, path: Path, required_views: Iterable[str] = ()) -> None:
        self.path = path
        self.required_views = tuple(required_views)
        self._condition = threading.Condition()
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._identity: FileIdentity | None = None
        self._active_cursors = 0
        self._memo: dict[Hashable, Any] = {}

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh cursor for one request; DuckDB errors inside become DataUnavailable."""
        with self._condition:
            connection = self._current_connection()
            cur = _translate_errors(connection.cursor)
            self._active_cursors += 1
        try:
            yield cur
        except duckdb.Error as exc:
            raise _unavailable(exc, self.path) from exc
        finally:
            cur.close()
            with self._condition:
                self._active_cursors -= 1
                self._condition.notify_all()

    def memoized(self, key: Hashable, load: Callable[[], T]) -> T:
        """`load()` once per open file, then its result: for small lookups that only change when
        the file is replaced (date bounds, names, public holidays). Call it inside `cursor()`;
        the memo is dropped when the file is reopened, and bounded."""
        with self._condition:
            identity = self._identity
            found = self._memo.get((identity, key), _NOT_FOUND)
        if found is not _NOT_FOUND:
            return cast(T, found)
        value = load()
        with self._condition:
            if self._identity == identity:
                if len(self._memo) >= MEMO_LIMIT:
                    self._memo.clear()
                self._memo[(identity, key)] = value
        return value

    def check_views(self, required: Iterable[str]) -> None:
        """Raise MissingViews naming every required view (or table) absent from the file."""
        with self.cursor() as cur:
            _check_views(cur, required)

    def close(self) -> None:
        with self._condition:
            self._wait_until(lambda: self._active_cursors == 0)
            self._close()

    def _current_connection(self) -> duckdb.DuckDBPyConnection:
        """The open connection, (re)opened if the file changed; call with the lock held."""
        identity = self._stat()
        if self._connection is not None and identity in (self._identity, None):
            return self._connection  # unchanged, or gone while we still hold the old file
        if identity is None:
            raise DataUnavailable(MISSING_MESSAGE)
        if self._connection is not None:
            self._wait_until(lambda: self._active_cursors == 0 or self._identity == identity)
            if self._connection is not None and self._identity == identity:
                return self._connection  # another request reopened it while we waited
            logger.info("data file %s was replaced; reopening", self.path)
            self._close()
        connection = _translate_errors(
            duckdb.connect, str(self.path), read_only=True, config=CONNECTION_CONFIG
        )
        try:
            if self.required_views:
                with connection.cursor() as cur:
                    _translate_errors(_check_views, cur, self.required_views)
        except DataUnavailable:
            connection.close()
            raise
        self._connection, self._identity = connection, identity
        return connection

    def _wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait (lock held) for requests in flight on the old file to finish."""
        if not self._condition.wait_for(predicate, REOPEN_WAIT_S):
            raise DataUnavailable(REFRESHING_MESSAGE)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection, self._identity = None, None
        self._memo.clear()

    def _stat(self) -> FileIdentity | None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns


def _check_views(cur: duckdb.DuckDBPyConnection, required: Iterable[str]) -> None:
    present = {
        row[0] for row in cur.sql("select table_name from information_schema.tables").fetchall()
    }
    missing = set(required) - present
    if missing:
        raise MissingViews(missing)


def _translate_errors(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    try:
        return function(*args, **kwargs)
    except duckdb.Error as exc:
        raise _unavailable(exc, None) from exc


def _unavailable(exc: duckdb.Error, path: Path | None) -> DataUnavailable:
    """The user-facing error for a DuckDB error; the raw message goes to the log only."""
    text = str(exc)
    if isinstance(exc, duckdb.IOException) and "does not exist" in text:
        return DataUnavailable(MISSING_MESSAGE)
    if isinstance(exc, duckdb.IOException) and "lock" in text.lower():
        logger.warning("data file is locked by a writer: %s", text)
        return DataUnavailable(REFRESHING_MESSAGE)
    logger.error("query failed on %s: %s", path or "the data file", text, exc_info=exc)
    return DataUnavailable(FAILED_MESSAGE)


def install_database(server: flask.Flask, database: Database) -> None:
    """Make `database` the one the callbacks of `server` read."""
    server.extensions[_EXTENSION_KEY] = database


def current_database() -> Database:
    """The Database of the app serving the current request."""
    database = flask.current_app.extensions[_EXTENSION_KEY]
    assert isinstance(database, Database)
    return database
