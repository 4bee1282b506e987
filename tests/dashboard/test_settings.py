from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.settings import Settings


def test_settings_from_env_defaults_when_unset() -> None:
    assert Settings.from_env({}) == Settings(
        db_path=Path("data/shelfsight.duckdb"),
        url_prefix="/",
        sql_row_limit=10_000,
        sql_timeout_s=5.0,
        frame_ancestors="'self'",
    )


def test_settings_from_env_reads_every_variable() -> None:
    environ = {
        "SHELFSIGHT_DB": "/srv/shelfsight/store.duckdb",
        "SHELFSIGHT_PREFIX": "/analytics/",
        "SHELFSIGHT_SQL_ROW_LIMIT": "500",
        "SHELFSIGHT_SQL_TIMEOUT": "2.5",
        "SHELFSIGHT_FRAME_ANCESTORS": "'self' https://intranet.example.com",
    }
    assert Settings.from_env(environ) == Settings(
        db_path=Path("/srv/shelfsight/store.duckdb"),
        url_prefix="/analytics/",
        sql_row_limit=500,
        sql_timeout_s=2.5,
        frame_ancestors="'self' https://intranet.example.com",
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", "/"), ("/", "/"), ("analytics", "/analytics/"), ("/a/b", "/a/b/"), ("//a//", "/a/")],
)
def test_settings_from_env_normalises_prefix(raw: str, expected: str) -> None:
    assert Settings.from_env({"SHELFSIGHT_PREFIX": raw}).url_prefix == expected


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("SHELFSIGHT_SQL_ROW_LIMIT", "many"),
        ("SHELFSIGHT_SQL_ROW_LIMIT", "0"),
        ("SHELFSIGHT_SQL_TIMEOUT", "soon"),
        ("SHELFSIGHT_SQL_TIMEOUT", "-1"),
        ("SHELFSIGHT_SQL_TIMEOUT", "nan"),
        ("SHELFSIGHT_PREFIX", "/a b/"),
        ("SHELFSIGHT_FRAME_ANCESTORS", "'self'; script-src *"),
    ],
)
def test_settings_from_env_rejects_bad_value_in_one_line(name: str, raw: str) -> None:
    with pytest.raises(ValueError, match=name) as excinfo:
        Settings.from_env({name: raw})
    assert "\n" not in str(excinfo.value)
    assert repr(raw) in str(excinfo.value)


def test_settings_is_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.url_prefix = "/other/"  # type: ignore[misc]
