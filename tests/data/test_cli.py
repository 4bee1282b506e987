"""The command line: a one-line message and a non-zero exit on bad input, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "data.cli", *args], capture_output=True, text=True, timeout=120
    )


def _assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr


def test_cli_unknown_scale(tmp_path: Path) -> None:
    result = _run("generate", "--scale", "huge", "--db", str(tmp_path / "x.duckdb"))
    _assert_one_line_error(result, "invalid choice: 'huge'")


def test_cli_unwritable_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = _run("generate", "--scale", "tiny", "--db", str(blocker / "x.duckdb"))
    _assert_one_line_error(result, "cannot create")


def test_cli_existing_file_without_force(tiny_db: Path) -> None:
    result = _run("generate", "--scale", "tiny", "--db", str(tiny_db))
    _assert_one_line_error(result, "already exists; pass --force")


def test_cli_bad_defect_rate(tmp_path: Path) -> None:
    result = _run(
        "generate", "--scale", "tiny", "--defect-rate", "0.9", "--db", str(tmp_path / "x")
    )
    _assert_one_line_error(result, "defect rate must be between 0 and 0.2")


@pytest.mark.parametrize("port", ["0", "70000"])
def test_cli_serve_bad_port(tiny_db: Path, port: str) -> None:
    _assert_one_line_error(_run("serve", "--db", str(tiny_db), "--port", port), "port must be")


def test_cli_generate_prints_summary(tmp_path: Path) -> None:
    target = tmp_path / "demo.duckdb"
    result = _run("generate", "--scale", "tiny", "--seed", "5", "--db", str(target))
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(str(target), read_only=True)
    try:
        rows = con.sql("select count(*) from daily_sales").fetchall()[0][0]
    finally:
        con.close()
    assert f"{rows:,}" in result.stdout
    assert "daily_sales" in result.stdout
