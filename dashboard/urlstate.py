"""Filters live in the URL query string, both ways.

A page's `layout(**query)` receives the query parameters (Dash pages passes them) and restores its
controls with the parsers below; `sync_to_url` registers one clientside callback that writes the
controls' values back into the address bar with history.replaceState (no reload, no re-render).
Parsers never raise: a value that does not parse (a hand-edited or hostile URL) means the default.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping
from typing import Any, TypeVar

from dash import Input, clientside_callback

T = TypeVar("T", bound=str)

_SYNC_JS = """
function (...values) {
    const keys = %s;
    const url = new URL(window.location.href);
    keys.forEach(function (key, i) {
        let value = values[i];
        if (Array.isArray(value)) { value = value.join(","); }
        if (value === null || value === undefined || value === "") {
            url.searchParams.delete(key);
        } else {
            url.searchParams.set(key, String(value));
        }
    });
    if (url.href !== window.location.href) {
        window.history.replaceState(window.history.state, "", url);
    }
    return window.dash_clientside.no_update;
}
"""


def sync_to_url(controls: Mapping[str, tuple[str, str]]) -> None:
    """Mirror controls into the query string: {url key: (component id, property)}.

    The callback has no output (Dash 4 allows it); register it once, at module level of the page.
    """
    keys = list(controls)
    clientside_callback(
        _SYNC_JS % json.dumps(keys),
        *[Input(component_id, prop) for component_id, prop in controls.values()],
    )


def parse_int(
    value: Any, default: int | None = None, *, low: int = 1, high: int = 10**9
) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        return default
    return number if low <= number <= high else default


def parse_choice(value: Any, choices: Collection[T], default: T) -> T:
    for choice in choices:
        if value == choice:
            return choice
    return default


def parse_text(value: Any, *, max_length: int = 200) -> str | None:
    """A free-text value (a region or category name); None when absent or implausible."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if 0 < len(text) <= max_length else None


def parse_date(value: Any, default: dt.date | None = None) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return default
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return default
