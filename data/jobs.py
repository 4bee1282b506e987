"""Batch jobs: analytics run over the whole store at build time; their results become tables.

A job reads the public views through the build's connection (it never writes) and returns
polars frames by table name; the build writes them before applying the sql/ files that read
them (33x for the promotion marts).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, as_completed, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

import duckdb
import polars as pl
from threadpoolctl import threadpool_limits

from analytics.promotions import (
    DAY_SCHEMA,
    EFFECT_SCHEMA,
    EffectSettings,
    calendar_features,
    estimate_promotion_effects,
)

Progress = Callable[[str, float], None]  # (what is happening, fraction done)

PROMOTION_ESTIMATES: Final = "promotion_estimates"
PROMOTION_BASELINE_DAYS: Final = "promotion_baseline_days"
# Daily rows read at once: a group of whole stores (daily_sales is stored by store).
ROWS_PER_CHUNK: Final = 2_000_000
# promotion_baseline_days: the analytics' days with the store's region (for region filters).
BASELINE_DAY_SCHEMA: Final = {
    **{k: v for k, v in DAY_SCHEMA.items() if k in ("promo_id", "store_id")},
    "region": pl.String,
    **{k: v for k, v in DAY_SCHEMA.items() if k not in ("promo_id", "store_id")},
}

_CALENDAR = """
    select date, weekday, day_of_year, is_public_holiday, is_store_closed, school_holiday_name,
    from calendar
    order by date
"""
_PRICES = """
    select prices.product_id, calendar.date, prices.price_eur as regular_price,
    from prices
    inner join calendar
        on calendar.date between prices.valid_from and coalesce(prices.valid_to, calendar.date)
"""
_PRODUCTS = "select product_id, subcategory from products order by product_id"
_STORES = "select store_id, region from stores order by store_id"
# A national promotion (region null) runs in every store, a regional one in its region's.
_PROMOTIONS = """
    select
        promotions.promo_id,
        promotions.product_id,
        stores.store_id,
        promotions.start_date,
        promotions.end_date,
        promotions.discount_pct,
    from promotions
    inner join stores
        on promotions.region is null or promotions.region = stores.region
    where stores.store_id between $first_store and $last_store
"""
_SALES = """
    select store_id, product_id, date, units_sold, revenue, is_stockout,
    from daily_sales
    where store_id between $first_store and $last_store
"""


def promotion_effects(
    con: duckdb.DuckDBPyConnection,
    progress: Progress | None = None,
    *,
    settings: EffectSettings | None = None,
    workers: int | None = None,
    rows_per_chunk: int = ROWS_PER_CHUNK,
) -> dict[str, pl.DataFrame]:
    """Estimate every promotion's effect in every store it ran in (see analytics.promotions).

    Returns {"promotion_estimates": one row per promo_id x store_id, "promotion_baseline_days":
    one row per promo_id x store_id x date, from two weeks before a promotion to a week after
    it}. Reads calendar, prices, products, stores, promotions and daily_sales (never the
    generator's truth), a group of stores at a time; the groups are estimated by `workers` processes
    (default: one per CPU; one means in this process).
    """
    report = progress or (lambda _message, _fraction: None)
    settings = settings or EffectSettings()
    calendar = con.sql(_CALENDAR).pl()
    shared = _Shared(
        features=calendar_features(calendar, fourier_order=settings.fourier_order),
        prices=con.sql(_PRICES).pl(),
        products=con.sql(_PRODUCTS).pl(),
        settings=settings,
    )
    stores = con.sql(_STORES).pl()
    store_ids = stores.get_column("store_id").to_list()
    per_chunk = max(1, rows_per_chunk // max(1, shared.products.height * calendar.height))
    chunks = [store_ids[i : i + per_chunk] for i in range(0, len(store_ids), per_chunk)]

    def read(chunk: list[int]) -> _Chunk:
        bounds = {"first_store": chunk[0], "last_store": chunk[-1]}
        return _Chunk(
            sales=con.sql(_SALES, params=bounds).pl(),
            promotions=con.sql(_PROMOTIONS, params=bounds).pl(),
        )

    results: list[tuple[pl.DataFrame, pl.DataFrame]] = []

    def collect(result: tuple[pl.DataFrame, pl.DataFrame]) -> None:
        results.append(result)
        done = len(results) / len(chunks)
        report(f"estimated promotion effects, store group {len(results)}/{len(chunks)}", done)

    processes = min(workers or len(os.sched_getaffinity(0)), len(chunks))
    if processes <= 1:
        for chunk in chunks:
            collect(_estimate_chunk(shared, read(chunk)))
    else:
        _estimate_in_processes(shared, map(read, chunks), processes, collect)
    return {
        PROMOTION_ESTIMATES: _concat(
            [effects for effects, _ in results], EFFECT_SCHEMA, ("promo_id", "store_id")
        ),
        PROMOTION_BASELINE_DAYS: _concat(
            [days for _, days in results], DAY_SCHEMA, ("promo_id", "store_id", "date")
        )
        .join(stores, on="store_id", how="left")
        .select(list(BASELINE_DAY_SCHEMA)),
    }


@dataclass(frozen=True)
class _Shared:
    """What every store group needs."""

    features: pl.DataFrame
    prices: pl.DataFrame
    products: pl.DataFrame
    settings: EffectSettings


@dataclass(frozen=True)
class _Chunk:
    sales: pl.DataFrame
    promotions: pl.DataFrame


def _estimate_chunk(shared: _Shared, chunk: _Chunk) -> tuple[pl.DataFrame, pl.DataFrame]:
    # Thousands of small matrix products: BLAS threads only wait on each other (30x slower
    # on a busy 2-core machine), so one thread.
    with threadpool_limits(limits=1, user_api="blas"):
        result = estimate_promotion_effects(
            sales=chunk.sales,
            features=shared.features,
            prices=shared.prices,
            promotions=chunk.promotions,
            products=shared.products,
            settings=shared.settings,
        )
    return result.effects, result.days


def _estimate_in_processes(
    shared: _Shared,
    chunks: Iterator[_Chunk],
    processes: int,
    collect: Callable[[tuple[pl.DataFrame, pl.DataFrame]], None],
) -> None:
    """Estimate the groups in worker processes, reading the next group while they work and
    keeping at most one group waiting per worker (memory stays bounded).

    Workers are spawned, not forked (a fork of a process running polars or DuckDB threads can
    deadlock), with one polars thread each: the processes are the parallelism, and polars
    threads in each only wait on each other (the variable is read when a worker imports
    polars; this process's polars has started already).
    """
    context = multiprocessing.get_context("spawn")
    with (
        scoped_environment(POLARS_MAX_THREADS="1"),
        ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool,
    ):
        pending: set[Future[tuple[pl.DataFrame, pl.DataFrame]]] = set()
        for chunk in chunks:
            if len(pending) >= 2 * processes:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    collect(future.result())
            pending.add(pool.submit(_estimate_chunk, shared, chunk))
        for future in as_completed(pending):
            collect(future.result())


@contextmanager
def scoped_environment(**variables: str) -> Iterator[None]:
    """Set environment variables (inherited by processes started meanwhile), then restore."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _concat(
    frames: list[pl.DataFrame], schema: dict[str, type[pl.DataType]], order: tuple[str, ...]
) -> pl.DataFrame:
    """The chunks as one frame in read order (an empty store gives an empty, typed frame)."""
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(frames).sort(order)


def write_tables(con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame]) -> None:
    """Store each frame as a table of its name, replacing any previous one."""
    for table, frame in frames.items():
        con.register("job_output", frame)
        try:
            con.execute(f"create or replace table {table} as select * from job_output")
        finally:
            con.unregister("job_output")
