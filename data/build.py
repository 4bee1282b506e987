"""The only code that writes the database: load raw tables, apply sql/ in order, publish."""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl

from data.errors import ShelfsightError
from data.generate import Dataset, GeneratorConfig, generate
from data.jobs import promotion_effects, write_tables
from data.profile import profile_tables
from data.publish import discard, publish, remove_stale_builds, staging_path, verify

MATERIALIZE = re.compile(r"^-- materialize: order by (?P<keys>[a-z_, ]+)$", re.MULTILINE)
MARTS_FROM = "3"  # sql files from here on may read the batch jobs' tables
VIEW_NAME = re.compile(r"create or replace view (?P<name>[a-z_]+) as")

Progress = Callable[[str, float], None]  # (what is happening, fraction done)


@dataclass(frozen=True)
class SqlFile:
    name: str
    text: str

    @property
    def is_raw(self) -> bool:
        return self.name.startswith("0")

    @property
    def view(self) -> str | None:
        match = VIEW_NAME.search(self.text)
        return match["name"] if match else None

    @property
    def order_by(self) -> str | None:
        match = MATERIALIZE.search(self.text)
        return match["keys"] if match else None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass(frozen=True)
class BuildSummary:
    path: Path
    scale: str
    seed: int
    rows: dict[str, int]
    defects: dict[str, int]
    seconds: float
    size_bytes: int


def sql_files() -> list[SqlFile]:
    """The view definitions shipped in the sql package, in file-name order."""
    folder = resources.files("sql")
    files = [f for f in folder.iterdir() if f.name.endswith(".sql")]
    return [
        SqlFile(f.name, f.read_text(encoding="utf-8")) for f in sorted(files, key=lambda f: f.name)
    ]


def check_target(target: Path, force: bool) -> None:
    if target.is_dir():
        raise ShelfsightError(
            f"{target} is a directory; give a file path such as {target}/shelfsight.duckdb"
        )
    if target.exists() and not force:
        raise ShelfsightError(f"{target} already exists; pass --force to replace it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ShelfsightError(f"cannot create {target.parent}: {error.strerror}") from None
    if not os.access(target.parent, os.W_OK):
        raise ShelfsightError(f"cannot write to {target.parent}: permission denied")


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    con.register("incoming", frame)
    try:
        con.execute(f"insert into {table} by name select * from incoming")
    finally:
        con.unregister("incoming")


def _apply(con: duckdb.DuckDBPyConnection, sql: SqlFile) -> None:
    con.execute(sql.text)
    if sql.order_by and sql.view:
        # Views stay the definition; the heavy ones are stored as tables in their read order.
        con.execute(
            f"create table {sql.view}__stored as select * from {sql.view} order by {sql.order_by}"
        )
        con.execute(f"drop view {sql.view}")
        con.execute(f"alter table {sql.view}__stored rename to {sql.view}")


def load_dataset(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, progress: Progress
) -> dict[str, int]:
    """Create the raw tables and load every frame; return the rows loaded per table."""
    files = sql_files()
    for sql in files:
        if sql.is_raw:
            con.execute(sql.text)
    loaded: dict[str, int] = {}
    for table, frame in dataset.reference.items():
        _insert(con, table, frame)
        loaded[table] = frame.height
    for number, chunk in enumerate(dataset.chunks, start=1):
        for table, frame in chunk.items():
            _insert(con, table, frame)
            loaded[table] = loaded.get(table, 0) + frame.height
        progress(
            f"simulated and loaded store group {number}/{dataset.n_chunks}",
            number / dataset.n_chunks,
        )
    return loaded


def run_jobs(con: duckdb.DuckDBPyConnection, progress: Progress) -> None:
    """Batch analytics over the public views; their tables feed the marts (3xx)."""
    write_tables(con, promotion_effects(con, progress))


def apply_views(con: duckdb.DuckDBPyConnection, progress: Progress) -> None:
    """Apply staging (1xx) and public (2xx) views, run the batch jobs, then the marts (3xx)."""
    files = [f for f in sql_files() if not f.is_raw]
    jobs_done = False
    for number, sql in enumerate(files, start=1):
        if not jobs_done and sql.name >= MARTS_FROM:
            done = (number - 1) / len(files)
            run_jobs(con, lambda message, fraction, done=done: progress(message, done))
            jobs_done = True
        _apply(con, sql)
        progress(f"applied {sql.name}", number / len(files))
    progress("profiling the raw tables", 1.0)
    profile = profile_tables(con)
    con.register("incoming", profile)
    try:
        con.execute("create table table_profile as select * from incoming")
    finally:
        con.unregister("incoming")
    con.execute("create table build_info (sql_file varchar, sha256 varchar)")
    con.executemany(
        "insert into build_info values (?, ?)", [(f.name, f.sha256) for f in sql_files()]
    )


def build_database(
    target: Path, config: GeneratorConfig, *, force: bool = False, progress: Progress | None = None
) -> BuildSummary:
    """Generate `config`'s dataset into a new file beside `target`, verify it, swap it in."""
    report = progress or (lambda _message, _fraction: None)
    started = time.perf_counter()
    target = Path(target)
    check_target(target, force)
    remove_stale_builds(target)
    staged = staging_path(target)
    discard(staged)
    try:
        con = duckdb.connect(str(staged))
        try:
            dataset = generate(config)
            loaded = load_dataset(con, dataset, lambda m, f: report(m, 0.6 * f))
            apply_views(con, lambda m, f: report(m, 0.6 + 0.35 * f))
            con.execute("checkpoint")
        finally:
            con.close()
        report("verifying the new file", 0.97)
        counts = verify(staged, loaded)
        publish(staged, target)
    except BaseException:
        discard(staged)
        raise
    report("published", 1.0)
    return BuildSummary(
        path=target,
        scale=config.scale.name,
        seed=config.seed,
        rows=counts,
        defects=dict(dataset.defects),
        seconds=time.perf_counter() - started,
        size_bytes=target.stat().st_size,
    )
