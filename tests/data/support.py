"""Helpers shared by the command tests."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from data.cli import main


def file_state(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every file in `folder` with its inode, size and modification time."""
    return {
        p.name: (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()
    }


def read_table(db: Path, query: str) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(query).pl()


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`shelfsight *args` in this process: exit code, stdout, stderr."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err
