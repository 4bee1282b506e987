"""The dashboard's configuration: one frozen dataclass, read from SHELFSIGHT_* variables once."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DB_PATH = Path("data/shelfsight.duckdb")
# A CSP source list: keywords, schemes, hosts and origins separated by spaces; no ';' or ','.
_SOURCE_LIST = re.compile(r"[A-Za-z0-9'*:/._\-\[\] ]+")


@dataclass(frozen=True)
class Settings:
    db_path: Path = DEFAULT_DB_PATH
    url_prefix: str = "/"
    sql_row_limit: int = 10_000
    sql_timeout_s: float = 5.0
    frame_ancestors: str = "'self'"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Settings from SHELFSIGHT_* variables; a bad value raises a one-line ValueError."""
        return cls(
            db_path=_parse_db_path(environ.get("SHELFSIGHT_DB")),
            url_prefix=_parse_prefix(environ.get("SHELFSIGHT_PREFIX")),
            sql_row_limit=_parse_row_limit(environ.get("SHELFSIGHT_SQL_ROW_LIMIT")),
            sql_timeout_s=_parse_timeout(environ.get("SHELFSIGHT_SQL_TIMEOUT")),
            frame_ancestors=_parse_frame_ancestors(environ.get("SHELFSIGHT_FRAME_ANCESTORS")),
        )


def _parse_db_path(raw: str | None) -> Path:
    if raw is None or not raw.strip():
        return DEFAULT_DB_PATH
    return Path(raw.strip()).expanduser()


def _parse_prefix(raw: str | None) -> str:
    """A URL path prefix such as "/analytics/": leading and trailing slashes are added."""
    if raw is None or not raw.strip():
        return "/"
    value = raw.strip()
    if not re.fullmatch(r"[A-Za-z0-9._~\-/]+", value):
        raise ValueError(f"SHELFSIGHT_PREFIX must be a URL path such as /analytics/, got {raw!r}")
    parts = [part for part in value.split("/") if part]
    return "/" + "".join(f"{part}/" for part in parts)


def _parse_row_limit(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return Settings.sql_row_limit
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(
            f"SHELFSIGHT_SQL_ROW_LIMIT must be a whole number of rows, got {raw!r}"
        ) from None
    if value < 1:
        raise ValueError(f"SHELFSIGHT_SQL_ROW_LIMIT must be at least 1, got {raw!r}")
    return value


def _parse_timeout(raw: str | None) -> float:
    if raw is None or not raw.strip():
        return Settings.sql_timeout_s
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError(
            f"SHELFSIGHT_SQL_TIMEOUT must be a number of seconds, got {raw!r}"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"SHELFSIGHT_SQL_TIMEOUT must be a positive number of seconds, got {raw!r}"
        )
    return value


def _parse_frame_ancestors(raw: str | None) -> str:
    if raw is None or not raw.strip():
        return Settings.frame_ancestors
    value = " ".join(raw.split())
    if not _SOURCE_LIST.fullmatch(value):
        raise ValueError(
            "SHELFSIGHT_FRAME_ANCESTORS must be a CSP source list such as "
            f"\"'self' https://intranet.example.com\", got {raw!r}"
        )
    return value
