"""Benchmark: latency of each page's main callbacks through the real Dash endpoint on gunicorn.

    python bench/bench_callbacks.py --db /path/to/medium.duckdb [--requests 200] [--workers 2]

Starts `shelfsight serve` on a free port, reads /_dash-dependencies, and POSTs the payload the
browser would send to /_dash-update-component for each scenario below: first with one client,
then with four concurrent clients. Beside each, the bare query time of the same view (the
queries.* function on a read-only cursor), so the framework's overhead is visible.
Prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from dashboard.db import CONNECTION_CONFIG
from dashboard.queries import forecast as forecast_queries
from dashboard.queries import (
    load_top_at_risk,
    load_weekly_category_revenue,
    load_weekly_stockout_rate,
)
from dashboard.queries import quality as quality_queries
from dashboard.queries import sales as sales_queries
from dashboard.queries import seasonality as season_queries

Bare = Callable[[duckdb.DuckDBPyConnection], object]


@dataclass(frozen=True)
class Scenario:
    name: str
    output: str  # the callback's first output "id.property", to find it in the dependencies
    values: dict[str, Any] = field(default_factory=dict)  # "id.property" -> value sent
    bare: Bare | None = None
    kind: str = "aggregate"  # or "single series"


_SALES_FILTERS = {
    f"sales-{key}.value": None for key in ("region", "store", "category", "subcategory", "product")
}
_SALES = {
    **_SALES_FILTERS,
    "sales-dates.value": [None, None],
    "sales-grain.value": "week",
    "sales-measure.value": "revenue",
    "sales-comparison.value": "previous",
}


_SEASON = {
    "seasonality-category.value": "Dairy",
    "seasonality-region.value": None,
    "seasonality-store.value": None,
    "seasonality-product.value": None,
}


_PROMOTIONS = {
    "promotions-category.value": "Dairy",
    "promotions-region.value": None,
    "promotions-store.value": None,
}


_FORECAST = {
    "forecast-dates.value": [None, None],
    "forecast-region.value": None,
    "forecast-store.value": "7",
    "forecast-category.value": None,
    "forecast-subcategory.value": None,
    "forecast-product.value": "50",
    "forecast-model.value": "auto",
    "forecast-horizon.value": 28,
    "forecast-on.value": None,
}


def _window(**filters: Any) -> sales_queries.Selection:
    start, end = dt.date(2025, 7, 1), dt.date(2025, 12, 31)
    return sales_queries.build_selection(start, end, "week", "previous", **filters)


SCENARIOS: list[Scenario] = [
    Scenario(
        "framework floor: a callback that stops at once (PreventUpdate)",
        "sales-trend.figure",
        {**_SALES, "sales-dates.value": ["2025-07-01", None]},
        kind="no work",
    ),
    Scenario(
        "overview: weekly revenue by category",
        "overview-revenue-by-category.figure",
        {"overview-region.value": None, "overview-store.value": None},
        lambda cur: load_weekly_category_revenue(cur, region=None, store_id=None),
    ),
    Scenario(
        "overview: weekly stockout rate, one region",
        "overview-stockout-rate.figure",
        {"overview-region.value": "Bretagne", "overview-store.value": None},
        lambda cur: load_weekly_stockout_rate(cur, region="Bretagne", store_id=None),
    ),
    Scenario(
        "overview: top at-risk table",
        "overview-at-risk.children",
        {"overview-region.value": None, "overview-store.value": None},
        lambda cur: load_top_at_risk(cur, region=None, store_id=None),
    ),
    Scenario(
        "sales: trend, everything by week",
        "sales-trend.figure",
        _SALES,
        lambda cur: sales_queries.load_trend(cur, _window()),
    ),
    Scenario(
        "sales: trend, one product in one store",
        "sales-trend.figure",
        {**_SALES, "sales-store.value": "7", "sales-product.value": "100"},
        lambda cur: sales_queries.load_trend(cur, _window(store_id=7, product_id=100)),
        kind="single series",
    ),
    Scenario(
        "sales: breakdown by category",
        "sales-breakdown.figure",
        _SALES,
        lambda cur: sales_queries.load_breakdown(cur, _window()),
    ),
    Scenario(
        "seasonality: decomposition + anomalies, one category",
        "seasonality-decomposition.figure",
        _SEASON,
        lambda cur: season_queries.load_category_days(
            cur, category="Dairy", region=None, store_id=None
        ),
    ),
    Scenario(
        "seasonality: weekday + yearly profiles, one category",
        "seasonality-weekday-profile.figure",
        _SEASON,
        lambda cur: season_queries.load_category_days(
            cur, category="Dairy", region=None, store_id=None
        ),
    ),
    Scenario(
        "seasonality: decomposition, one product at one store",
        "seasonality-decomposition.figure",
        {**_SEASON, "seasonality-store.value": "17", "seasonality-product.value": "21"},
        lambda cur: season_queries.load_series_days(cur, store_id=17, product_id=21),
        kind="single series",
    ),
    Scenario(
        "promotions: uplift by discount depth, one category",
        "promotions-uplift-by-depth.figure",
        _PROMOTIONS,
    ),
    Scenario(
        "promotions: scatter of promotions, one category",
        "promotions-scatter.figure",
        {**_PROMOTIONS, "promotions-promo.value": "1"},
    ),
    Scenario(
        "promotions: one promotion's detail, all stores",
        "promotions-detail.figure",
        {**_PROMOTIONS, "promotions-promo.value": "1"},
    ),
    Scenario(
        "forecast: auto with its leaderboard, one product at one store",
        "forecast-chart.figure",
        _FORECAST,
        lambda cur: forecast_queries.load_history(
            cur, forecast_queries.Series(store_id=7, product_id=50)
        ),
        kind="single-series forecast",
    ),
    Scenario(
        "forecast: auto, one category in one region",
        "forecast-chart.figure",
        {
            **_FORECAST,
            "forecast-store.value": None,
            "forecast-product.value": None,
            "forecast-region.value": "Bretagne",
            "forecast-category.value": "Dairy",
        },
        lambda cur: forecast_queries.load_history(
            cur, forecast_queries.Series(region="Bretagne", category="Dairy")
        ),
        kind="aggregate forecast",
    ),
    Scenario(
        "data quality: column profile",
        "quality-missing-graph.figure",
        {"quality-table.value": "raw_daily_sales"},
        lambda cur: quality_queries.load_profile(cur, table="raw_daily_sales"),
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _parse_outputs(output: str) -> list[dict[str, str]] | dict[str, str]:
    def one(text: str) -> dict[str, str]:
        component, prop = text.rsplit(".", 1)
        return {"id": component, "property": prop}

    if output.startswith(".."):
        return [one(part) for part in output.strip(".").split("...")]
    return one(output)


def _payload(dependency: dict[str, Any], values: dict[str, Any]) -> bytes:
    def props(items: list[dict[str, str]]) -> list[dict[str, Any]]:
        return [{**item, "value": values.get(f"{item['id']}.{item['property']}")} for item in items]

    inputs = props(dependency["inputs"])
    body = {
        "output": dependency["output"],
        "outputs": _parse_outputs(dependency["output"]),
        "inputs": inputs,
        "state": props(dependency.get("state", [])),
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"] if inputs else [],
    }
    return json.dumps(body).encode()


def _find(dependencies: list[dict[str, Any]], output: str) -> dict[str, Any]:
    for dependency in dependencies:
        if dependency.get("clientside_function"):
            continue
        outputs = _parse_outputs(dependency["output"])
        first = outputs[0] if isinstance(outputs, list) else outputs
        if f"{first['id']}.{first['property']}" == output:
            return dependency
    raise SystemExit(f"no server callback with output {output}")


def _post(url: str, body: bytes) -> float:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        if response.status not in (200, 204):  # 204: the callback raised PreventUpdate
            raise SystemExit(f"callback answered {response.status}")
    return (time.perf_counter() - started) * 1000


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def _measure(url: str, body: bytes, requests: int, clients: int) -> tuple[float, float]:
    for _ in range(5):
        _post(url, body)  # warm-up: connections, caches
    with ThreadPoolExecutor(clients) as pool:
        samples = list(pool.map(lambda _: _post(url, body), range(requests)))
    return _percentiles(samples)


def _bare(db: Path, bare: Bare | None, repeat: int) -> str:
    if bare is None:
        return "-"
    con = duckdb.connect(str(db), read_only=True, config=CONNECTION_CONFIG)
    try:
        cur = con.cursor()
        bare(cur)
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            bare(cur)
            samples.append((time.perf_counter() - started) * 1000)
    finally:
        con.close()
    return f"{statistics.median(samples):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="run the scenarios whose name contains this (repeat for several; default: all)",
    )
    args = parser.parse_args()
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "SHELFSIGHT_DB": str(args.db)}
    command = [sys.executable, "-m", "data.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", str(args.workers), "--db", str(args.db)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "_dash-dependencies", timeout=2) as response:
                    dependencies = json.loads(response.read())
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.3)
        rows = []
        with duckdb.connect(str(args.db), read_only=True) as con:
            daily_rows = con.sql("select count(*) from daily_sales").fetchall()[0][0]
        chosen = [s for s in SCENARIOS if not args.only or any(o in s.name for o in args.only)]
        for scenario in chosen:
            body = _payload(_find(dependencies, scenario.output), scenario.values)
            endpoint = base + "_dash-update-component"
            one = _measure(endpoint, body, args.requests, 1)
            four = _measure(endpoint, body, args.requests, 4)
            bare = _bare(args.db, scenario.bare, 30)
            rows.append(
                f"| {scenario.name} | {scenario.kind} | {one[0]:.1f} | {one[1]:.1f} "
                f"| {four[0]:.1f} | {four[1]:.1f} | {bare} |"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"{args.db.name}: {daily_rows:,} daily rows; gunicorn {args.workers} workers; "
        f"{args.requests} requests per cell; {platform.machine()}, {os.cpu_count()} cores"
    )
    print(
        "| callback | kind | p50 ms, 1 client | p95 ms, 1 client | p50 ms, 4 clients "
        "| p95 ms, 4 clients | bare query p50 ms |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
