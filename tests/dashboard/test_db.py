from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from dashboard.db import (
    FAILED_MESSAGE,
    MISSING_MESSAGE,
    REFRESHING_MESSAGE,
    Database,
    DataUnavailable,
    MissingViews,
)


def write_db(path: Path, value: int) -> Path:
    """A one-table file holding `value`, written beside `path` then swapped in like a build."""
    staged = path.with_name(f"{path.name}.staged-{value}")
    with duckdb.connect(str(staged)) as con:
        con.sql(f"create table answer as select {value}::integer as value")
        con.sql("create view answer_view as select value from answer")
    os.replace(staged, path)
    return path


def read_value(database: Database) -> int:
    with database.cursor() as cur:
        rows = cur.sql("select value from answer").fetchall()
    return int(rows[0][0])


def assert_one_sentence(message: str) -> None:
    assert message.endswith(".")
    assert "\n" not in message
    assert ". " not in message.rstrip(".")


def test_database_opens_nothing_until_first_cursor(tmp_path: Path) -> None:
    Database(tmp_path / "absent.duckdb")  # no error: the file is only needed by a request


def test_database_missing_file_raises_one_sentence(tmp_path: Path) -> None:
    database = Database(tmp_path / "absent.duckdb")
    with pytest.raises(DataUnavailable) as excinfo, database.cursor():
        pass
    assert excinfo.value.message == MISSING_MESSAGE
    assert_one_sentence(excinfo.value.message)


def test_database_reads_through_cursor(tmp_path: Path) -> None:
    database = Database(write_db(tmp_path / "store.duckdb", 1))
    assert read_value(database) == 1
    database.close()


def test_database_picks_up_replaced_file(tmp_path: Path) -> None:
    path = write_db(tmp_path / "store.duckdb", 1)
    database = Database(path)
    assert read_value(database) == 1
    write_db(path, 2)
    assert read_value(database) == 2
    database.close()


def test_database_keeps_serving_when_file_disappears(tmp_path: Path) -> None:
    path = write_db(tmp_path / "store.duckdb", 1)
    database = Database(path)
    assert read_value(database) == 1
    path.unlink()
    assert read_value(database) == 1
    database.close()


def test_database_readers_see_no_error_across_swaps(tmp_path: Path) -> None:
    path = write_db(tmp_path / "store.duckdb", 0)
    database = Database(path)
    seen: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read_until_stopped() -> None:
        try:
            while not stop.is_set():
                seen.append(read_value(database))
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=read_until_stopped, daemon=True) for _ in range(4)]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + 20
    try:
        for value in range(1, 6):
            write_db(path, value)
            while read_value(database) != value:
                assert time.monotonic() < deadline, "the replaced file was never picked up"
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=10)
    last = read_value(database)
    database.close()
    assert errors == []
    assert set(seen) <= set(range(6))
    assert last == 5


def test_database_is_read_only(tmp_path: Path) -> None:
    database = Database(write_db(tmp_path / "store.duckdb", 1))
    with pytest.raises(DataUnavailable) as excinfo, database.cursor() as cur:
        cur.sql("create table extra as select 1 as value")
    assert excinfo.value.message == FAILED_MESSAGE
    database.close()


def test_database_hides_duckdb_message_and_logs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database(write_db(tmp_path / "store.duckdb", 1))
    with (
        caplog.at_level(logging.ERROR, logger="dashboard.db"),
        pytest.raises(DataUnavailable) as excinfo,
        database.cursor() as cur,
    ):
        cur.sql("select * from no_such_view").fetchall()
    assert excinfo.value.message == FAILED_MESSAGE
    assert "no_such_view" not in excinfo.value.message
    assert "no_such_view" in caplog.text
    database.close()


def test_database_locked_by_writer_says_refreshing(tmp_path: Path) -> None:
    path = write_db(tmp_path / "store.duckdb", 1)
    holder = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
        "print('ready', flush=True); sys.stdin.read()"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", holder, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        with pytest.raises(DataUnavailable) as excinfo, Database(path).cursor():
            pass
    finally:
        writer.communicate(timeout=10)
    assert excinfo.value.message == REFRESHING_MESSAGE
    assert_one_sentence(excinfo.value.message)


def test_database_check_views_lists_every_missing_view(tmp_path: Path) -> None:
    database = Database(write_db(tmp_path / "store.duckdb", 1))
    with pytest.raises(MissingViews) as excinfo:
        database.check_views(["answer", "answer_view", "zeta_view", "alpha_view"])
    assert excinfo.value.missing == ("alpha_view", "zeta_view")
    assert "alpha_view, zeta_view" in excinfo.value.message
    database.close()


def test_database_required_views_checked_when_opening(tmp_path: Path) -> None:
    database = Database(write_db(tmp_path / "store.duckdb", 1), required_views=["stores"])
    with pytest.raises(MissingViews, match="stores"), database.cursor():
        pass


def test_database_memoized_until_file_replaced(tmp_path: Path) -> None:
    path = write_db(tmp_path / "store.duckdb", 1)
    database = Database(path)
    loads: list[int] = []

    def memo_value() -> int:
        with database.cursor() as cur:

            def load() -> int:
                loads.append(1)
                return int(cur.sql("select value from answer").fetchall()[0][0])

            return database.memoized("answer", load)

    assert (memo_value(), memo_value()) == (1, 1)
    assert len(loads) == 1  # the second call was served from the memo
    write_db(path, 2)
    assert memo_value() == 2  # a replaced file is read again
    assert len(loads) == 2
    database.close()
