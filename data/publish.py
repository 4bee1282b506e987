"""Atomic publish: a database file is built aside, verified, then swapped in with os.replace.

A crash or Ctrl-C at any point leaves the previous file intact; readers that reopen on a changed
inode see the new file whole. `update_database` does the same for commands that add tables to
an existing file (copy aside, write, verify, swap), and `write_file` for result files.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

import duckdb
import polars as pl

from data.errors import ShelfsightError

STAGING_MARK = ".building-"
# Result files by extension: CSV or Parquet.
FILE_FORMATS: Final = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def staging_path(target: Path) -> Path:
    """Where the next version of `target` is built: same folder (same filesystem), hidden."""
    return target.with_name(f".{target.name}{STAGING_MARK}{os.getpid()}")


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_builds(target: Path) -> list[Path]:
    """Delete files left by builds that were killed (their process is gone)."""
    removed = []
    for path in target.parent.glob(f".{target.name}{STAGING_MARK}*"):
        pid_text = path.name.rsplit(STAGING_MARK, 1)[1].split(".", 1)[0]
        if pid_text.isdigit() and not _is_running(int(pid_text)):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def discard(staged: Path) -> None:
    staged.unlink(missing_ok=True)
    staged.with_name(staged.name + ".wal").unlink(missing_ok=True)


def verify(staged: Path, expected_rows: dict[str, int]) -> dict[str, int]:
    """Open read-only, run every view once, compare the loaded tables' row counts."""
    counts: dict[str, int] = {}
    con = duckdb.connect(str(staged), read_only=True)
    try:
        names = con.sql(
            "select table_name from information_schema.tables where table_schema = 'main' "
            "order by table_name"
        ).fetchall()
        for (name,) in names:
            counts[name] = int(con.sql(f'select count(*) from "{name}"').fetchall()[0][0])
    finally:
        con.close()
    wrong = {k: (v, counts.get(k)) for k, v in expected_rows.items() if counts.get(k) != v}
    if wrong:
        raise ShelfsightError(f"verification failed, row counts differ (expected, found): {wrong}")
    return counts


def publish(staged: Path, target: Path) -> None:
    """Swap the verified file in. A stale write-ahead log beside the target would corrupt it."""
    if staged.with_name(staged.name + ".wal").exists():
        raise ShelfsightError(f"{staged} was not checkpointed; refusing to publish it")
    target.with_name(target.name + ".wal").unlink(missing_ok=True)
    os.replace(staged, target)
    with contextlib.suppress(OSError):
        fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def write_lock(target: Path, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock beside `target` (`.<name>.lock`) so that two commands updating
    the same file never publish over each other; wait for the other one (calling `waiting`
    first when there is one to wait for)."""
    lock_path = target.with_name(f".{target.name}.lock")
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def update_database(
    target: Path,
    write: Callable[[duckdb.DuckDBPyConnection], dict[str, int]],
    waiting: Callable[[], None] | None = None,
) -> dict[str, int]:
    """Add to an existing database atomically: copy it aside, let `write` change the copy
    (it returns the row counts the tables it wrote must have), checkpoint, verify, swap in.

    A crash, Ctrl-C or failed verification leaves `target` as it was and no copy behind (a
    killed process's copy is removed by the next write). Readers such as the dashboard keep
    the old file until they reopen. Refuses to publish when `target` was replaced meanwhile
    (by a build), rather than overwrite the newer file with older data.
    """
    target = Path(target)
    if not target.is_file():
        raise ShelfsightError(f"{target} not found; run 'shelfsight generate' first")
    if not os.access(target.parent, os.W_OK):
        raise ShelfsightError(f"cannot write to {target.parent}: permission denied")
    with write_lock(target, waiting):
        remove_stale_builds(target)
        staged = staging_path(target)
        discard(staged)
        try:
            before = target.stat()
            shutil.copyfile(target, staged)
            con = duckdb.connect(str(staged))
            try:
                expected = write(con)
                con.execute("checkpoint")
            finally:
                con.close()
            counts = verify(staged, expected)
            after = target.stat()
            if (after.st_ino, after.st_mtime_ns) != (before.st_ino, before.st_mtime_ns):
                raise ShelfsightError(f"{target} was replaced while writing; run the command again")
            publish(staged, target)
        except BaseException:
            discard(staged)
            raise
    return counts


def write_file(frame: pl.DataFrame, path: Path) -> None:
    """Write `frame` as CSV or Parquet (by `path`'s extension, see FILE_FORMATS) atomically:
    into a hidden file beside it, then renamed over it."""
    writer = FILE_FORMATS[path.suffix.lower()]
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        if writer == "csv":
            frame.write_csv(partial)
        else:
            frame.write_parquet(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def check_output(path: Path) -> None:
    """Raise ShelfsightError unless `path` can be written by `write_file`."""
    if path.suffix.lower() not in FILE_FORMATS:
        kinds = ", ".join(FILE_FORMATS)
        raise ShelfsightError(f"cannot write {path}: the file name must end in one of {kinds}")
    if path.is_dir():
        raise ShelfsightError(f"{path} is a directory; give a file name")
    if not path.parent.is_dir():
        raise ShelfsightError(f"cannot write {path}: the folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ShelfsightError(f"cannot write {path}: permission denied")
