"""The batch forecast and backtest (data/forecasting.py, `shelfsight forecast` and `backtest`).

A few series of the tiny store with cheap models keep it quick; the same series must give the
same results in this process, in worker processes and on a Dask cluster.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics import evaluate, pipeline
from data import forecasting
from data.errors import ShelfsightError
from data.forecasting import BatchRequest, BatchResult, run_batch
from data.publish import update_database, write_file
from tests.data.support import file_state, read_table, run_cli

HORIZON = 7
LAST_DAY = dt.date(2025, 12, 31)  # tiny's last day
FORECAST = BatchRequest("forecast", HORIZON, ("seasonal_naive",))
BACKTEST = BatchRequest("backtest", HORIZON, ("naive", "seasonal_naive"), windows=2)


def _series(db: Path, stores: list[int], products: list[int]) -> pl.DataFrame:
    con = forecasting.connect(db)
    try:
        return forecasting.select_series(con, forecasting.read_bounds(con, db), stores, products)
    finally:
        con.close()


@pytest.fixture(scope="module")
def four(tiny_db: Path) -> pl.DataFrame:
    return _series(tiny_db, [1, 2], [1, 2])


@pytest.fixture(scope="module")
def forecast(tiny_db: Path, four: pl.DataFrame) -> BatchResult:
    return run_batch(tiny_db, FORECAST, four, jobs=1)


@pytest.fixture(scope="module")
def backtest(tiny_db: Path, four: pl.DataFrame) -> BatchResult:
    return run_batch(tiny_db, BACKTEST, four, jobs=1)


@pytest.fixture(scope="module")
def zeroed_db(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of tiny where store 1 never sold product 2."""
    target = tmp_path_factory.mktemp("zeroed") / "zeroed.duckdb"
    shutil.copy(tiny_db, target)
    with duckdb.connect(str(target)) as con:
        con.execute(
            "update stg_daily_sales set units_sold = 0 where store_id = 1 and product_id = 2"
        )
    return target


@pytest.fixture
def db_copy(tiny_db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "store" / "tiny.duckdb"
    target.parent.mkdir()
    shutil.copy(tiny_db, target)
    return target


def _history(db: Path, store_id: int, product_id: int) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(
            "select * exclude (store_id, product_id) from forecast_input "
            "where store_id = $s and product_id = $p order by date",
            params={"s": store_id, "p": product_id},
        ).pl()


def test_forecast_batch_one_row_per_series_and_day(forecast: BatchResult) -> None:
    df = forecast.forecasts
    assert list(df.columns) == list(forecasting.FORECAST_SCHEMA)
    assert df.height == 4 * HORIZON
    assert df.select("store_id", "product_id", "date").is_unique().all()
    days = sorted(set(df.get_column("date").to_list()))
    assert days == [LAST_DAY + dt.timedelta(days=i) for i in range(1, HORIZON + 1)]
    ordered = (
        (pl.col("lo_95") <= pl.col("lo_80"))
        & (pl.col("lo_80") <= pl.col("forecast"))
        & (pl.col("forecast") <= pl.col("hi_80"))
        & (pl.col("hi_80") <= pl.col("hi_95"))
    )
    assert df.select(ordered.all()).item() is True
    assert set(df.get_column("model")) == {"seasonal_naive"}
    assert forecast.counts == {"ok": 4, "skipped": 0, "failed": 0}
    assert forecast.runs.get_column("reason").to_list() == ["chosen by the user"] * 4


def test_forecast_batch_equals_forecast_series(tiny_db: Path, forecast: BatchResult) -> None:
    """The batch is forecast_series per series: same numbers as calling it directly."""
    direct = pipeline.forecast_series(
        _history(tiny_db, 2, 1), horizon=HORIZON, model="seasonal_naive", compare=(), windows=1
    )
    batch = forecast.forecasts.filter(pl.col("store_id") == 2, pl.col("product_id") == 1)
    assert_frame_equal(batch.drop("store_id", "product_id"), direct.forecast)
    run = forecast.runs.filter(pl.col("store_id") == 2, pl.col("product_id") == 1).row(
        0, named=True
    )
    assert run["backtest_mase"] == direct.leaderboard.get_column("mase")[0]
    assert run["history_end"] == LAST_DAY
    lost = forecast.lost.filter(pl.col("store_id") == 2, pl.col("product_id") == 1)
    censored = direct.history.filter(pl.col("is_censored"))
    assert lost.get_column("date").to_list() == censored.get_column("date").to_list()
    assert lost.get_column("lost_units").sum() == pytest.approx(
        censored.get_column("lost_units").sum()
    )
    # lost revenue is the lost units at the day's price; demand never below the sales
    prices = _history(tiny_db, 2, 1).select("date", "price")
    priced = lost.join(prices, on="date")
    assert priced.select(
        (pl.col("lost_revenue") - pl.col("lost_units") * pl.col("price")).abs().max()
    ).item() == pytest.approx(0.0, abs=1e-9)
    assert (lost.get_column("demand") >= lost.get_column("units_sold")).all()


def test_backtest_batch_metrics_per_series_and_model(backtest: BatchResult) -> None:
    metrics = backtest.metrics
    assert list(metrics.columns) == list(forecasting.METRIC_SCHEMA)
    assert metrics.select("store_id", "product_id", "model").rows() == [
        (s, p, m) for s in (1, 2) for p in (1, 2) for m in ("naive", "seasonal_naive")
    ]
    # Each row is evaluate.leaderboard over that series and model's backtest rows.
    rows = backtest.backtest.filter(pl.col("store_id") == 1, pl.col("product_id") == 1)
    expected = evaluate.leaderboard(rows, by=("model",)).sort("model")
    found = metrics.filter(pl.col("store_id") == 1, pl.col("product_id") == 1)
    assert_frame_equal(found.select(expected.columns), expected)
    assert set(metrics.get_column("n")) == {2 * HORIZON}


def test_backtest_leaderboards_count_every_row(backtest: BatchResult, tiny_db: Path) -> None:
    categories = read_table(tiny_db, "select product_id, category from products")
    boards = forecasting.leaderboards(backtest, categories)
    per_model = boards["model"].select("model", "n").sort("model")
    summed = backtest.metrics.group_by("model").agg(pl.col("n").sum()).sort("model")
    assert_frame_equal(per_model, summed)
    by_category = boards["category"].group_by("model").agg(pl.col("n").sum()).sort("model")
    assert_frame_equal(by_category, summed)


def test_batch_same_in_worker_processes(
    tiny_db: Path, four: pl.DataFrame, forecast: BatchResult
) -> None:
    seen: list[float] = []
    parallel = run_batch(tiny_db, FORECAST, four, jobs=2, progress=lambda _m, f: seen.append(f))
    assert_frame_equal(parallel.forecasts, forecast.forecasts)
    assert_frame_equal(parallel.runs, forecast.runs)
    assert sorted(seen) == [0.5, 1.0]


def test_batch_same_on_dask(tiny_db: Path, backtest: BatchResult) -> None:
    """The dask backend runs the same tasks (joblib's dask backend) with the same results."""
    from distributed import LocalCluster

    series = _series(tiny_db, [1, 2], [1, 2])
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        result = run_batch(
            tiny_db, BACKTEST, series, backend="dask", scheduler=cluster.scheduler_address
        )
    assert_frame_equal(result.metrics, backtest.metrics)
    assert_frame_equal(result.backtest, backtest.backtest)
    assert_frame_equal(result.runs, backtest.runs)


def test_series_without_sales_is_skipped(zeroed_db: Path) -> None:
    result = run_batch(zeroed_db, FORECAST, _series(zeroed_db, [1], [1, 2, 3]), jobs=1)
    assert result.counts == {"ok": 2, "skipped": 1, "failed": 0}
    skipped = result.runs.filter(pl.col("status") == "skipped")
    assert skipped.select("product_id", "reason").rows() == [(2, "no sales")]
    assert sorted(set(result.forecasts.get_column("product_id"))) == [1, 3]


def test_series_failure_is_counted_with_its_reason(
    tiny_db: Path, four: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = pipeline.forecast_series

    def flaky(history: pl.DataFrame, **kwargs: Any) -> pipeline.SeriesForecast:
        if history.get_column("units_sold").sum() % 2 == 0:
            raise ZeroDivisionError("float division by zero\nsecond line")
        return original(history, **kwargs)

    monkeypatch.setattr(pipeline, "forecast_series", flaky)
    result = run_batch(tiny_db, FORECAST, four, jobs=1)
    failed = result.runs.filter(pl.col("status") == "failed")
    assert failed.height == result.counts["failed"]
    assert 0 < failed.height < 4
    assert set(failed.get_column("reason")) == {"ZeroDivisionError: float division by zero"}
    assert result.forecasts.height == HORIZON * result.counts["ok"]


def test_write_results_replaces_only_the_series_run(tmp_path: Path) -> None:
    def frame(store: int, products: list[int], value: float) -> pl.DataFrame:
        return pl.DataFrame(
            {"store_id": store, "product_id": products, "value": value}
        ).with_columns(pl.col("store_id", "product_id").cast(pl.Int32))

    with duckdb.connect(str(tmp_path / "x.duckdb")) as con:
        assert forecasting.write_results(con, {"t": frame(1, [1, 2, 3], 0.0)}, replace=True) == {
            "t": 3
        }
        counts = forecasting.write_results(con, {"t": frame(1, [2], 9.0)}, replace=False)
        rows = con.sql("select product_id, value from t order by all").fetchall()
        assert (counts, rows) == ({"t": 3}, [(1, 0.0), (2, 9.0), (3, 0.0)])
        forecasting.write_results(con, {"t": frame(2, [5], 1.0)}, replace=True)
        assert con.sql("select store_id, product_id from t").fetchall() == [(2, 5)]


def test_update_database_failure_leaves_file(db_copy: Path) -> None:
    before = file_state(db_copy.parent)

    def broken(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
        con.execute("create table forecasts as select 1 as x")
        raise RuntimeError("killed half-way")

    with pytest.raises(RuntimeError, match="killed half-way"):
        update_database(db_copy, broken)
    with pytest.raises(ShelfsightError, match="verification failed"):
        update_database(db_copy, lambda con: {"stores": -1})
    assert file_state(db_copy.parent) == before | {f".{db_copy.name}.lock": _lock(db_copy)}


def _lock(db: Path) -> tuple[int, int, int]:
    lock = db.with_name(f".{db.name}.lock")
    return (lock.stat().st_ino, lock.stat().st_size, lock.stat().st_mtime_ns)


def test_update_database_refuses_a_file_replaced_meanwhile(db_copy: Path) -> None:
    def write(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
        os.utime(db_copy, ns=(1, 1))  # as a build swapping a new file in would
        return {}

    with pytest.raises(ShelfsightError, match="was replaced while writing"):
        update_database(db_copy, write)
    assert sorted(p.name for p in db_copy.parent.iterdir()) == [
        f".{db_copy.name}.lock",
        db_copy.name,
    ]


def test_write_file_csv_and_parquet(tmp_path: Path, forecast: BatchResult) -> None:
    write_file(forecast.forecasts, tmp_path / "f.csv")
    write_file(forecast.forecasts, tmp_path / "f.parquet")
    csv = pl.read_csv(tmp_path / "f.csv", try_parse_dates=True)
    assert_frame_equal(csv, forecast.forecasts, check_dtypes=False)
    assert_frame_equal(pl.read_parquet(tmp_path / "f.parquet"), forecast.forecasts)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.csv", "f.parquet"]


# The command line, in this process (the same `main` the console script calls).


def test_cli_forecast_one_series_to_csv_and_database(
    db_copy: Path, capsys: pytest.CaptureFixture[str], forecast: BatchResult
) -> None:
    out = db_copy.parent / "f.csv"
    args = ["--db", str(db_copy), "--store", "2", "--product", "1", "--out", str(out)]
    code, stdout, err = run_cli(
        capsys, "forecast", "--horizon", "7", "--model", "seasonal_naive", *args, "--write-db"
    )
    assert (code, err) == (0, "")
    expected = forecast.forecasts.filter(pl.col("store_id") == 2, pl.col("product_id") == 1)
    assert_frame_equal(pl.read_csv(out, try_parse_dates=True), expected, check_dtypes=False)
    assert_frame_equal(read_table(db_copy, "select * from forecasts"), expected)
    runs = read_table(db_copy, "select * from forecast_runs")
    assert runs.select("store_id", "product_id", "status", "model", "horizon").rows() == [
        (2, 1, "ok", "seasonal_naive", 7)
    ]
    lost = read_table(db_copy, "select * from lost_sales order by date")
    assert_frame_equal(
        lost, forecast.lost.filter(pl.col("store_id") == 2, pl.col("product_id") == 1)
    )
    assert "Wrote" in stdout
    # A second series is added beside the first, not over it.
    code, _, _ = run_cli(
        capsys,
        "forecast",
        "--date",
        "2026-01-03",
        "--model",
        "naive",
        "--db",
        str(db_copy),
        "--store",
        "1",
        "--product",
        "1",
        "--write-db",
    )
    keys = read_table(
        db_copy,
        "select store_id, product_id, count(*) as n from forecasts group by all order by all",
    )
    assert (code, keys.rows()) == (0, [(1, 1, 3), (2, 1, 7)])
    assert not [p.name for p in db_copy.parent.iterdir() if ".building-" in p.name]


def test_cli_forecast_every_series_in_processes_while_a_reader_stays_open(
    db_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole store in worker processes, published while a dashboard-like reader holds
    the file: the reader keeps the old file, a reopened one sees the new tables."""
    out = db_copy.parent / "all.parquet"
    reader = duckdb.connect(str(db_copy), read_only=True)
    try:
        code, stdout, err = run_cli(
            capsys, "forecast", "--horizon", "3", "--model", "naive", "--jobs", "2",
            "--out", str(out), "--write-db", "--db", str(db_copy),
        )  # fmt: skip
        tables = reader.sql("select table_name from duckdb_tables() where table_name like 'fore%'")
        assert tables.fetchall() == []
        assert reader.sql("select count(*) from stores").fetchall() == [(4,)]
    finally:
        reader.close()
    assert (code, err) == (0, "")
    assert "144 done, 0 skipped, 0 failed" in stdout
    forecasts = read_table(db_copy, "select * from forecasts order by store_id, product_id, date")
    assert forecasts.height == 144 * 3
    assert_frame_equal(pl.read_parquet(out), forecasts)
    runs = read_table(db_copy, "select status, count(*) as n from forecast_runs group by all")
    assert runs.rows() == [("ok", 144)]


def test_cli_backtest_prints_leaderboards_and_writes_parquet(
    db_copy: Path, capsys: pytest.CaptureFixture[str], backtest: BatchResult
) -> None:
    out = db_copy.parent / "metrics.parquet"
    code, stdout, err = run_cli(
        capsys, "backtest", "--horizon", "7", "--windows", "2",
        "--models", "naive", "seasonal_naive",
        "--store", "1", "--product", "2", "--out", str(out), "--db", str(db_copy),
    )  # fmt: skip
    assert (code, err) == (0, "")
    expected = backtest.metrics.filter(pl.col("store_id") == 1, pl.col("product_id") == 2)
    assert_frame_equal(pl.read_parquet(out), expected)
    assert "Leaderboard per model" in stdout
    assert "Leaderboard per category and model" in stdout
    assert "Dairy" in stdout or "Fruits" in stdout


BAD_INPUT = [
    (["forecast", "--horizon", "7", "--store", "99", "--product", "1"], "store 99 does not exist"),
    (["forecast", "--horizon", "7", "--store", "1", "--product", "999"], "product 999 does not"),
    (["forecast", "--horizon", "0", "--store", "1", "--product", "1"], "at least one day, not 0"),
    (["forecast", "--horizon", "-3", "--out", "x.csv"], "at least one day, not -3"),
    (["forecast", "--horizon", "7", "--model", "magic", "--out", "x.csv"], "unknown model 'magic'"),
    (["forecast", "--horizon", "7", "--store", "1"], "--store needs --product"),
    (["forecast", "--horizon", "7", "--product", "1"], "--product needs --store"),
    (["forecast", "--horizon", "7", "--out", "x.txt"], "must end in one of .csv, .parquet"),
    (["forecast", "--horizon", "7", "--out", "nowhere/x.csv"], "does not exist"),
    (["forecast", "--horizon", "7"], "pass --out FILE or --write-db"),
    (["forecast", "--date", "2025-12-31", "--out", "x.csv"], "after the data's last day"),
    (["forecast", "--date", "31/12/2026", "--out", "x.csv"], "YYYY-MM-DD"),
    (["forecast", "--horizon", "7", "--out", "x.csv", "--backend", "dask"], "needs --scheduler"),
    (["forecast", "--horizon", "7", "--out", "x.csv", "--jobs", "0"], "jobs must be at least 1"),
    (["backtest", "--horizon", "7", "--windows", "0", "--out", "x.csv"], "windows must be at"),
    (["backtest", "--horizon", "7", "--windows", "2", "--models", "naive", "nope"], "model 'nope'"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
def test_cli_bad_input_one_line_nothing_written(
    db_copy: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(db_copy.parent)
    before = file_state(db_copy.parent)
    write = [] if "--write-db" in message else ["--write-db"]
    code, _, err = run_cli(capsys, *args, *write, "--db", str(db_copy))
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("shelfsight: error: ")
    assert message in err
    assert file_state(db_copy.parent) == before


def test_cli_series_without_sales(zeroed_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = file_state(zeroed_db.parent)
    args = ["--store", "1", "--product", "2", "--write-db", "--db", str(zeroed_db)]
    code, _, err = run_cli(capsys, "forecast", "--horizon", "7", *args)
    assert code == 2
    assert err == "shelfsight: error: store 1, product 2 has no sales to forecast from\n"
    assert file_state(zeroed_db.parent) == before


def test_cli_missing_database(tmp_path: Path) -> None:
    """As a user runs it: a console script, one line, no traceback, no file made."""
    db = tmp_path / "absent.duckdb"
    result = subprocess.run(
        [sys.executable, "-m", "data.cli", "forecast", "--horizon", "7",
         "--db", str(db), "--out", str(tmp_path / "f.csv")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == f"shelfsight: error: {db} not found; run 'shelfsight generate' first\n"
    assert list(tmp_path.iterdir()) == []
