"""Benchmark: build the synthetic dataset at each scale, report seconds, rows/s and file size.

    python bench/bench_generate.py                      # tiny, small, medium
    python bench/bench_generate.py --scales large       # about 5 minutes and 2 GB of disk

Prints one Markdown table row per scale (paste into BENCHMARKS.md) and the time per build phase.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import duckdb

from data.build import build_database
from data.generate import SCALES, GeneratorConfig


def _phases(log: list[tuple[float, str]]) -> str:
    marks = {
        "simulated": "simulate+load",
        "applied": "views",
        "verifying": "verify",
        "published": "publish",
    }
    spent: dict[str, float] = {}
    previous = log[0][0]
    for stamp, message in log[1:]:
        phase = next((v for k, v in marks.items() if message.startswith(k)), "other")
        spent[phase] = spent.get(phase, 0.0) + stamp - previous
        previous = stamp
    return ", ".join(f"{k} {v:.1f} s" for k, v in spent.items())


def run(scale: str, seed: int, folder: Path) -> str:
    log: list[tuple[float, str]] = [(time.perf_counter(), "start")]
    summary = build_database(
        folder / f"{scale}.duckdb",
        GeneratorConfig(SCALES[scale], seed=seed),
        force=True,
        progress=lambda message, _fraction: log.append((time.perf_counter(), message)),
    )
    con = duckdb.connect(str(summary.path), read_only=True)
    try:
        stockout = con.sql("select avg(is_stockout::int) from daily_sales").fetchall()[0][0]
        started = time.perf_counter()
        for store in range(1, 11):
            con.sql(
                "select date, units_sold from daily_sales where store_id = $s and product_id = 7",
                params={"s": store},
            ).fetchall()
        one_series_ms = (time.perf_counter() - started) * 100
    finally:
        con.close()
    rows = summary.rows["daily_sales"]
    print(f"  {scale}: {_phases(log)}")
    summary.path.unlink()
    return (
        f"| {scale} | {rows:,} | {summary.rows['baskets']:,} | {summary.seconds:.1f} | "
        f"{rows / summary.seconds:,.0f} | {summary.size_bytes / 1e6:,.0f} | {stockout:.1%} | "
        f"{one_series_ms:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", nargs="+", default=["tiny", "small", "medium"], choices=SCALES)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    rows = []
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as folder:
        for scale in args.scales:
            rows.append(run(scale, args.seed, Path(folder)))
    print(
        "| scale | daily rows | basket lines | build s | daily rows/s | file MB "
        "| stockout days | one series ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
