"""The build writes aside, verifies, and swaps atomically; a killed build changes nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from data.build import BuildSummary, build_database, sql_files
from data.errors import ShelfsightError
from data.generate import SCALES, GeneratorConfig
from data.publish import STAGING_MARK, publish, staging_path

CHECKSUM = (
    "select sum(hash(date, store_id, product_id, units_sold, price, stock_end)) from daily_sales"
)


def _checksum(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return int(con.sql(CHECKSUM).fetchall()[0][0])
    finally:
        con.close()


def test_build_same_seed_same_bytes_of_data(tiny_build: BuildSummary, tmp_path: Path) -> None:
    again = build_database(tmp_path / "again.duckdb", GeneratorConfig(SCALES["tiny"], seed=7))
    assert again.rows == tiny_build.rows
    assert _checksum(again.path) == _checksum(tiny_build.path)


def test_build_records_every_sql_file(cur: duckdb.DuckDBPyConnection) -> None:
    recorded = cur.sql("select sql_file from build_info order by sql_file").fetchall()
    assert [name for (name,) in recorded] == [f.name for f in sql_files()]


def test_build_refuses_existing_file_without_force(tiny_db: Path) -> None:
    with pytest.raises(ShelfsightError, match="already exists; pass --force"):
        build_database(tiny_db, GeneratorConfig(SCALES["tiny"]))


def test_build_leaves_no_staging_file(tiny_db: Path) -> None:
    assert not list(tiny_db.parent.glob(f"*{STAGING_MARK}*"))
    assert not tiny_db.with_name(tiny_db.name + ".wal").exists()


def test_publish_removes_stale_wal(tiny_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "store.duckdb"
    shutil.copy(tiny_db, target)
    target.with_name(target.name + ".wal").write_bytes(b"left by a crashed writer")
    staged = staging_path(target)
    shutil.copy(tiny_db, staged)
    publish(staged, target)
    assert not target.with_name(target.name + ".wal").exists()
    assert _checksum(target) == _checksum(tiny_db)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_build_killed_midway_leaves_previous_file(tiny_db: Path, tmp_path: Path, how: int) -> None:
    target = tmp_path / "store.duckdb"
    shutil.copy(tiny_db, target)
    before = _checksum(target)
    command = [sys.executable, "-m", "data.cli", "generate", "--scale", "small", "--force"]
    process = subprocess.Popen(
        [*command, "--db", str(target)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(f".store.duckdb{STAGING_MARK}*")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the build never started writing"
        time.sleep(0.05)
    time.sleep(0.5)  # well inside the load
    process.send_signal(how)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0
    assert b"Traceback" not in stderr
    assert _checksum(target) == before
    if how == signal.SIGINT:  # a clean interrupt tidies up after itself
        assert not list(tmp_path.glob(f"*{STAGING_MARK}*"))
    # The next build clears what a killed one left and publishes.
    config = GeneratorConfig(SCALES["tiny"], seed=3)
    build_database(target, config, force=True)
    assert not list(tmp_path.glob(f"*{STAGING_MARK}*"))
    assert _checksum(target) != before
    assert os.path.getsize(target) > 0
