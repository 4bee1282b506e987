"""Batch forecasts and backtests over store x product series (`shelfsight forecast`/`backtest`).

One task is one store: a worker opens the file read-only (several processes may), reads all the
store's series from the `forecast_input` view with one query, and calls
`analytics.pipeline.forecast_series` per series. Tasks run in this process (`jobs=1`), in
worker processes (joblib's loky backend), or on a Dask distributed cluster (joblib's dask
backend; its workers must see the database at the same path). A series with no sales is
skipped; a series whose forecast raises is recorded as failed with a one-line reason; neither
stops the batch. Results come back sorted by store, product (and date), whatever ran them.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import duckdb
import polars as pl
from threadpoolctl import threadpool_limits

from data.errors import ShelfsightError
from data.jobs import scoped_environment

Progress = Callable[[str, float], None]  # (what is happening, fraction done)
Kind = Literal["forecast", "backtest"]
BACKENDS: Final = ("loky", "dask")
IDS: Final = {"store_id": pl.Int32, "product_id": pl.Int32}
METRICS: Final = ("mae", "rmse", "mase", "smape", "bias", "coverage_80", "coverage_95")
FORECAST_SCHEMA: Final = {
    **IDS,
    "date": pl.Date,
    **dict.fromkeys(("forecast", "lo_80", "hi_80", "lo_95", "hi_95"), pl.Float64),
    "model": pl.String,
}
METRIC_SCHEMA: Final = {
    **IDS,
    "model": pl.String,
    **dict.fromkeys(METRICS, pl.Float64),
    "n": pl.Int64,
}
# What the leaderboards over many series need of each backtest row.
BACKTEST_SCHEMA: Final = {
    **IDS,
    "model": pl.String,
    **dict.fromkeys(("y", "y_hat", "y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95"), pl.Float64),
    "mase_scale": pl.Float64,
}
# Per store x product x stockout day: the sales, the estimated unconstrained demand, and the
# units and EUR lost (the demand the shelf could not serve; `analytics.lost_sales`).
LOST_SCHEMA: Final = {
    **IDS,
    "date": pl.Date,
    **dict.fromkeys(("units_sold", "demand", "lost_units", "lost_revenue"), pl.Float64),
}
# One row per series of the run: status ok, skipped (no sales, too short) or failed.
RUN_SCHEMA: Final = {
    **IDS,
    "status": pl.String,
    "model": pl.String,
    "reason": pl.String,
    "history_end": pl.Date,
    "backtest_mase": pl.Float64,
}
# What `shelfsight backtest` compares unless told.
# (Holt-Winters, STL+ETS and SARIMAX cost 0.2 to 2 s a series: name them for a sample.)
BACKTEST_MODELS: Final = ("seasonal_naive", "linear", "count", "auto")
# Cheapest first: the backtest command's own forecast (which it discards) uses the cheapest.
_COST_ORDER: Final = (
    "naive", "seasonal_naive", "linear", "count", "auto", "holt_winters", "stl_ets", "sarimax",
)  # fmt: skip

_SERIES = """
    select store_id, product_id from forecast_input
    group by store_id, product_id
    order by store_id, product_id
"""
_STORE_INPUT = """
    select * exclude (store_id) from forecast_input
    where store_id = $store_id and list_contains($products, product_id)
    order by product_id, date
"""


@dataclass(frozen=True)
class BatchRequest:
    """What to compute per series: a `forecast` with `models[0]` (its one-window backtest MASE
    is kept), or a `backtest` of every model in `models` over `windows` cutoffs."""

    kind: Kind
    horizon: int
    models: tuple[str, ...]
    windows: int = 1
    step: int | None = None


@dataclass(frozen=True)
class StoreTask:
    db: str
    store_id: int
    products: tuple[int, ...]
    request: BatchRequest


@dataclass(frozen=True)
class StoreResult:
    forecasts: pl.DataFrame
    lost: pl.DataFrame
    runs: pl.DataFrame
    metrics: pl.DataFrame
    backtest: pl.DataFrame
    warnings: int


@dataclass(frozen=True)
class BatchResult:
    request: BatchRequest
    forecasts: pl.DataFrame  # FORECAST_SCHEMA (forecast runs)
    lost: pl.DataFrame  # LOST_SCHEMA (forecast runs): the stockout days of the histories
    runs: pl.DataFrame  # RUN_SCHEMA, every series of the run
    metrics: pl.DataFrame  # METRIC_SCHEMA (backtest runs): one row per series and model
    backtest: pl.DataFrame  # BACKTEST_SCHEMA (backtest runs)
    warnings: int  # warnings the model fits raised (rank-deficient designs, convergence)
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DataBounds:
    """What the parent knows of the file before it plans the tasks."""

    last_date: dt.date
    series: pl.DataFrame  # store_id, product_id


def connect(db: Path) -> duckdb.DuckDBPyConnection:
    """Open `db` read-only for the batch, with one-line errors for a missing or busy file."""
    if not Path(db).is_file():
        raise ShelfsightError(f"{db} not found; run 'shelfsight generate' first")
    try:
        return duckdb.connect(str(db), read_only=True)
    except duckdb.IOException:
        raise ShelfsightError(
            f"cannot open {db}: another process is writing it; try again when it ends"
        ) from None
    except duckdb.Error:
        raise ShelfsightError(f"cannot open {db}: not a DuckDB database") from None


def read_bounds(con: duckdb.DuckDBPyConnection, db: Path) -> DataBounds:
    views = con.sql("select view_name from duckdb_views() where view_name = 'forecast_input'")
    if not views.fetchall():
        raise ShelfsightError(
            f"{db} has no forecast_input view (built by an older version); "
            "rebuild it with 'shelfsight generate --force'"
        )
    last = con.sql("select max(date) from forecast_input").fetchall()[0][0]
    if not isinstance(last, dt.date):
        raise ShelfsightError(f"{db} has no sales to forecast from")
    return DataBounds(last_date=last, series=con.sql(_SERIES).pl().cast(IDS))


def check_request(request: BatchRequest) -> None:
    """Raise ShelfsightError for a request no series can answer."""
    from analytics.pipeline import MODELS

    unknown = [m for m in request.models if m not in MODELS]
    if unknown or not request.models:
        name = unknown[0] if unknown else ""
        raise ShelfsightError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    if request.horizon < 1:
        raise ShelfsightError(f"the horizon must be at least one day, not {request.horizon}")
    if request.windows < 1:
        raise ShelfsightError(f"windows must be at least 1, not {request.windows}")
    if request.step is not None and request.step < 1:
        raise ShelfsightError(f"the step must be at least one day, not {request.step}")


def select_series(
    con: duckdb.DuckDBPyConnection,
    bounds: DataBounds,
    stores: Sequence[int] | None,
    products: Sequence[int] | None,
) -> pl.DataFrame:
    """The series to run: every one, or those of `stores` x `products`; unknown ids raise."""
    series = bounds.series
    for column, table, ids in (
        ("store_id", "stores", stores),
        ("product_id", "products", products),
    ):
        if ids is None:
            continue
        known = set(series.get_column(column).to_list())
        missing = [i for i in ids if i not in known]
        if missing:
            found = con.sql(
                f"select {column} from {table} where {column} = $id", params={"id": missing[0]}
            ).fetchall()
            noun = column.removesuffix("_id")
            detail = "has no sales rows" if found else "does not exist"
            raise ShelfsightError(f"{noun} {missing[0]} {detail}")
        series = series.filter(pl.col(column).is_in(list(ids)))
    if series.is_empty():
        raise ShelfsightError("no series has sales rows for this store and product")
    return series


def check_has_sales(con: duckdb.DuckDBPyConnection, store_id: int, product_id: int) -> None:
    sold = con.sql(
        "select coalesce(sum(units_sold), 0) from forecast_input "
        "where store_id = $store and product_id = $product",
        params={"store": store_id, "product": product_id},
    ).fetchall()[0][0]
    if sold <= 0:
        raise ShelfsightError(
            f"store {store_id}, product {product_id} has no sales to forecast from"
        )


def run_batch(
    db: Path,
    request: BatchRequest,
    series: pl.DataFrame,
    *,
    jobs: int | None = None,
    backend: str = "loky",
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> BatchResult:
    """Run `request` over `series` (store_id, product_id; from `select_series`), a store per
    task, with `jobs` processes (default: every core; 1: in this process) or on the Dask
    scheduler at `scheduler`."""
    report = progress or (lambda _message, _fraction: None)
    started = time.perf_counter()
    path = str(Path(db).resolve())
    parts = series.partition_by("store_id", as_dict=True, maintain_order=True)
    tasks = [
        StoreTask(path, int(key[0]), tuple(part.get_column("product_id").to_list()), request)
        for key, part in parts.items()
    ]
    total = series.height
    results: list[StoreResult] = []
    for result in _execute(tasks, jobs=jobs, backend=backend, scheduler=scheduler):
        results.append(result)
        done = sum(r.runs.height for r in results)
        report(
            f"{request.kind}: store {len(results)}/{len(tasks)}, {done:,}/{total:,} series",
            done / total,
        )
    return _combine(request, results, time.perf_counter() - started)


def _execute(
    tasks: list[StoreTask], *, jobs: int | None, backend: str, scheduler: str | None
) -> Iterator[StoreResult]:
    if backend == "dask":
        yield from _on_dask(tasks, scheduler)
        return
    processes = min(jobs or len(os.sched_getaffinity(0)), len(tasks))
    if processes <= 1:
        for task in tasks:
            yield forecast_store(task)
        return
    import joblib

    # Spawned workers with one polars thread each: the processes are the parallelism.
    with scoped_environment(POLARS_MAX_THREADS="1"):
        parallel = joblib.Parallel(
            n_jobs=processes, backend="loky", batch_size=1, return_as="generator_unordered"
        )
        yield from parallel(joblib.delayed(forecast_store)(task) for task in tasks)


def _on_dask(tasks: list[StoreTask], scheduler: str | None) -> Iterator[StoreResult]:
    if not scheduler:
        raise ShelfsightError("--backend dask needs --scheduler ADDRESS (tcp://host:8786)")
    try:
        import joblib
        from distributed import Client
    except ImportError:
        raise ShelfsightError(
            "the dask backend needs the distributed package: pip install 'shelfsight[dask]'"
        ) from None
    try:
        client = Client(scheduler, timeout=10, set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as error:
        raise ShelfsightError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
    try:
        with joblib.parallel_config(backend="dask", client=client):
            parallel = joblib.Parallel(batch_size=1, return_as="generator_unordered")
            yield from parallel(joblib.delayed(forecast_store)(task) for task in tasks)
    finally:
        client.close()  # type: ignore[no-untyped-call]


def forecast_store(task: StoreTask) -> StoreResult:
    """Read one store's series with one query and forecast or backtest each (a worker's task)."""
    # Many small fits: BLAS threads would only wait on each other.
    with threadpool_limits(limits=1, user_api="blas"):
        con = duckdb.connect(task.db, read_only=True)
        try:
            params = {"store_id": task.store_id, "products": list(task.products)}
            frame = con.sql(_STORE_INPUT, params=params).pl()
        finally:
            con.close()
        parts = frame.partition_by("product_id", as_dict=True, maintain_order=True)
        outputs = [
            _one_series(task, int(key[0]), part.drop("product_id")) for key, part in parts.items()
        ]
    return StoreResult(
        forecasts=_concat([o.forecast for o in outputs], FORECAST_SCHEMA),
        lost=_concat([o.lost for o in outputs], LOST_SCHEMA),
        runs=_concat([o.run for o in outputs], RUN_SCHEMA),
        metrics=_concat([o.metrics for o in outputs], METRIC_SCHEMA),
        backtest=_concat([o.backtest for o in outputs], BACKTEST_SCHEMA),
        warnings=sum(o.warnings for o in outputs),
    )


@dataclass(frozen=True)
class _Output:
    run: pl.DataFrame
    forecast: pl.DataFrame | None = None
    lost: pl.DataFrame | None = None
    metrics: pl.DataFrame | None = None
    backtest: pl.DataFrame | None = None
    warnings: int = 0


def _one_series(task: StoreTask, product_id: int, history: pl.DataFrame) -> _Output:
    from analytics.pipeline import ForecastError, forecast_series

    request = task.request
    ids = {"store_id": task.store_id, "product_id": product_id}
    end = history.get_column("date").max()

    def run(
        status: str, reason: str, model: str | None = None, mase: float | None = None
    ) -> pl.DataFrame:
        row = {**ids, "status": status, "model": model, "reason": reason, "history_end": end}
        return pl.DataFrame([{**row, "backtest_mase": mase}], schema=RUN_SCHEMA)

    sold = history.get_column("units_sold").drop_nulls()
    if sold.len() == 0 or float(sold.sum()) <= 0:
        return _Output(run("skipped", "no sales"))
    compare: tuple[str, ...] = ()
    if request.kind == "forecast":
        model = request.models[0]
    else:
        model = min(request.models, key=lambda m: _COST_ORDER.index(m) if m in _COST_ORDER else 99)
        compare = request.models
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = forecast_series(
                history,
                horizon=request.horizon,
                model=model,
                compare=compare,
                windows=request.windows,
                step=request.step,
            )
        except Exception as error:  # one series' failure is reported, not the batch's
            message = str(error).strip().splitlines()[0] if str(error).strip() else ""
            reason = (
                message
                if isinstance(error, ForecastError)
                else f"{type(error).__name__}: {message}"
            )
            return _Output(run("failed", reason, model), warnings=len(caught))
    with_ids = [pl.lit(value, pl.Int32).alias(name) for name, value in ids.items()]
    board = result.leaderboard
    if request.kind == "forecast":
        mase = float(board.get_column("mase")[0]) if board.height else math.nan
        return _Output(
            run("ok", result.reason, result.model, None if math.isnan(mase) else mase),
            forecast=result.forecast.with_columns(with_ids).select(list(FORECAST_SCHEMA)),
            lost=result.history.filter(pl.col("is_censored"))
            .with_columns(with_ids)
            .select(list(LOST_SCHEMA)),
            warnings=len(caught),
        )
    if not board.height:
        return _Output(run("skipped", "too short to backtest"), warnings=len(caught))
    kept = result.backtest.filter(pl.col("model").is_in(list(request.models)))
    return _Output(
        run("ok", f"backtested {board.height} model(s)"),
        metrics=board.filter(pl.col("model").is_in(list(request.models)))
        .with_columns(with_ids)
        .select(list(METRIC_SCHEMA)),
        backtest=kept.with_columns(with_ids).select(list(BACKTEST_SCHEMA)),
        warnings=len(caught),
    )


def _concat(frames: Iterable[pl.DataFrame | None], schema: dict[str, Any]) -> pl.DataFrame:
    present = [f.cast(schema) for f in frames if f is not None]  # type: ignore[arg-type]
    return pl.concat(present) if present else pl.DataFrame(schema=schema)


def _combine(request: BatchRequest, results: list[StoreResult], seconds: float) -> BatchResult:
    runs = _concat([r.runs for r in results], RUN_SCHEMA).sort("store_id", "product_id")
    counts = {status: 0 for status in ("ok", "skipped", "failed")}
    for status, n in runs.group_by("status").len().iter_rows():
        counts[status] = n
    return BatchResult(
        request=request,
        forecasts=_concat([r.forecasts for r in results], FORECAST_SCHEMA).sort(
            "store_id", "product_id", "date"
        ),
        lost=_concat([r.lost for r in results], LOST_SCHEMA).sort("store_id", "product_id", "date"),
        runs=runs,
        metrics=_concat([r.metrics for r in results], METRIC_SCHEMA).sort(
            "store_id", "product_id", "model"
        ),
        backtest=_concat([r.backtest for r in results], BACKTEST_SCHEMA).sort(
            "store_id", "product_id", "model", maintain_order=True
        ),
        warnings=sum(r.warnings for r in results),
        seconds=seconds,
        counts=counts,
    )


def leaderboards(result: BatchResult, categories: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The backtest's metrics over all its series, per model and per category and model (every
    backtest row counts once, as `evaluate.leaderboard` counts them). `categories`: the
    products' product_id and category."""
    from analytics import evaluate

    products = categories.select("product_id", "category").cast({"product_id": pl.Int32})
    rows = result.backtest.join(products, on="product_id", how="left")
    return {
        "model": evaluate.leaderboard(rows, by=("model",)),
        "category": evaluate.leaderboard(rows, by=("category", "model")).sort(
            "category", "mase", nulls_last=True
        ),
    }


def write_results(
    con: duckdb.DuckDBPyConnection, tables: dict[str, pl.DataFrame], *, replace: bool
) -> dict[str, int]:
    """Write each frame as the table of its name into `con` (a copy being published): the whole
    table when `replace`, else only the rows of its series (the others are kept). Returns each
    table's row count afterwards, for verification."""
    counts: dict[str, int] = {}
    existing = {row[0] for row in con.sql("select table_name from duckdb_tables()").fetchall()}
    for table, frame in tables.items():
        con.register("incoming", frame)
        try:
            if replace or table not in existing:
                con.execute(f"create or replace table {table} as select * from incoming")
                counts[table] = frame.height
                continue
            keys = "(select distinct store_id, product_id from incoming) as s"
            kept = con.sql(
                f"select count(*) from {table} anti join {keys} using (store_id, product_id)"
            ).fetchall()[0][0]
            con.execute(
                f"delete from {table} using {keys} "
                f"where {table}.store_id = s.store_id and {table}.product_id = s.product_id"
            )
            con.execute(f"insert into {table} by name select * from incoming")
            counts[table] = int(kept) + frame.height
        finally:
            con.unregister("incoming")
    return counts
