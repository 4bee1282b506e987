"""Atomic publish: a database file is built aside, verified, then swapped in with os.replace.

A crash or Ctrl-C at any point leaves the previous file intact; readers that reopen on a changed
inode see the new file whole.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import duckdb

from data.errors import ShelfsightError

STAGING_MARK = ".building-"


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
