"""The project's own modules are the ones imported (PyPI has other `analytics` and `dashboard`)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["analytics", "dashboard", "data", "sql"])
def test_packaging_imports_our_module(name: str) -> None:
    module = importlib.import_module(name)
    assert Path(module.__file__ or "").resolve().parent == ROOT / name


def test_packaging_console_script_outside_repo(tmp_path: Path) -> None:
    """Run from another folder, the installed packages and their sql files are found."""
    code = "from data.build import sql_files; print(len(sql_files()))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(list((ROOT / "sql").glob("*.sql")))


def test_packaging_import_contracts() -> None:
    """import-linter: analytics never imports Dash, plotly or DuckDB; the dashboard never writes."""
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
