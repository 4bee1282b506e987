"""The promotion batch job over the tiny store: shape, keys, and recovery of the generator's
promotion uplift (data/catalogue.py promo_beta, data/reference.py dip) from the sales alone.

`build_promotion_store` is shared with the mart and page tests: a copy of `tiny_db` with the
job's tables and the 33x views, as the build will make it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.promotions import EFFECT_SCHEMA
from data.build import _apply, sql_files
from data.jobs import (
    BASELINE_DAY_SCHEMA,
    PROMOTION_BASELINE_DAYS,
    PROMOTION_ESTIMATES,
    promotion_effects,
    write_tables,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
# The estimated multiplier actual / baseline against the generator's expected / baseline:
# censoring by stockouts makes deep promotions sell less than their demand, hence the margins.
MEDIAN_TOLERANCE = 0.15
BUCKET_TOLERANCE = 0.20
DIP_TOLERANCE = 0.30  # measured: 0.78 of the true dip (a small effect: ~8% of the baseline)


def build_promotion_store(source: Path, target: Path) -> Path:
    """Copy `source`, write the promotion job's tables into it and apply the 33x sql files."""
    shutil.copy(source, target)
    con = duckdb.connect(str(target))
    try:
        write_tables(con, promotion_effects(con, workers=1))
        for sql in sql_files():
            if sql.name.startswith("33") and sql.view:
                _drop(con, sql.view)
                _apply(con, sql)
        con.execute("checkpoint")
    finally:
        con.close()
    return target


def _drop(con: duckdb.DuckDBPyConnection, name: str | None) -> None:
    """Drop a view or table the build may already have made (once it runs the job itself)."""
    rows = con.sql(
        "select table_type from information_schema.tables where table_name = $name",
        params={"name": name},
    ).fetchall()
    if rows:
        kind = "view" if rows[0][0] == "VIEW" else "table"
        con.execute(f"drop {kind} {name}")


@pytest.fixture(scope="module")
def frames(tiny_db: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(tiny_db), read_only=True)
    try:
        return promotion_effects(con, workers=1)
    finally:
        con.close()


@pytest.fixture
def con(tiny_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(tiny_db), read_only=True) as connection:
        yield connection


def test_promotion_effects_returns_typed_tables(frames: dict[str, pl.DataFrame]) -> None:
    assert set(frames) == {PROMOTION_ESTIMATES, PROMOTION_BASELINE_DAYS}
    assert dict(frames[PROMOTION_ESTIMATES].schema) == EFFECT_SCHEMA
    assert dict(frames[PROMOTION_BASELINE_DAYS].schema) == BASELINE_DAY_SCHEMA


def test_promotion_effects_one_row_per_promotion_and_store_it_ran_in(
    frames: dict[str, pl.DataFrame], con: duckdb.DuckDBPyConnection
) -> None:
    expected = con.sql(
        """
        select distinct promo_id, store_id from daily_sales
        where promo_id is not null order by all
        """
    ).pl()
    found = frames[PROMOTION_ESTIMATES].select("promo_id", "store_id")
    assert_frame_equal(found, expected, check_dtypes=False)


def test_promotion_effects_actual_units_match_daily_sales(
    frames: dict[str, pl.DataFrame], con: duckdb.DuckDBPyConnection
) -> None:
    """Actual units and revenue are the promotion days' sales (store open, data present)."""
    con.register("estimates", frames[PROMOTION_ESTIMATES])
    wrong = con.sql(
        """
        with expected as (
            select sales.promo_id, sales.store_id, sum(sales.units_sold) as units,
                sum(sales.revenue) as revenue, count(*) as days,
            from daily_sales as sales
            inner join calendar on calendar.date = sales.date
            where sales.promo_id is not null and not calendar.is_store_closed
            group by all
        )
        select count(*) from estimates inner join expected using (promo_id, store_id)
        where estimates.actual_units != expected.units
            or abs(estimates.actual_revenue - expected.revenue) > 1e-6
            or estimates.promo_days != expected.days
        """
    ).fetchall()[0][0]
    assert wrong == 0


def test_promotion_effects_arithmetic_and_intervals(frames: dict[str, pl.DataFrame]) -> None:
    df = frames[PROMOTION_ESTIMATES]
    col = pl.col
    checks = df.select(
        incremental=(col("incremental_units") - col("actual_units") + col("baseline_units"))
        .abs()
        .max(),
        dip=(col("dip_units") - col("dip_actual_units") + col("dip_baseline_units")).abs().max(),
        ordered=(
            (col("incremental_units_lo95") <= col("incremental_units"))
            & (col("incremental_units") <= col("incremental_units_hi95"))
        ).all(),
        positive_baseline=(col("baseline_units") > 0).all(),
        # One product per subcategory in tiny: nothing to cannibalise.
        no_siblings=((col("cannibalised_units") == 0) & (col("sibling_count") == 0)).all(),
    ).row(0, named=True)
    assert checks["incremental"] < 1e-9
    assert checks["dip"] < 1e-9
    assert (checks["ordered"], checks["positive_baseline"], checks["no_siblings"]) == (
        True,
        True,
        True,
    )


def _multipliers(frames: dict[str, pl.DataFrame], con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per promotion x store: estimated actual / baseline, and the generator's expected /
    baseline demand over the same days (true_demand: for this test only)."""
    con.register("estimates", frames[PROMOTION_ESTIMATES])
    return con.sql(
        """
        select
            estimates.promo_id,
            estimates.store_id,
            estimates.discount_pct,
            estimates.actual_units / estimates.baseline_units as estimated,
            sum(truth.expected_units) / sum(truth.baseline_units) as true_multiplier,
        from estimates
        inner join promotions using (promo_id)
        inner join daily_sales as sales
            on sales.store_id = estimates.store_id and sales.promo_id = estimates.promo_id
        inner join true_demand as truth
            on truth.store_id = sales.store_id and truth.product_id = sales.product_id
            and truth.date = sales.date
        inner join calendar on calendar.date = sales.date
        where not calendar.is_store_closed
        group by all
        """
    ).pl()


def test_promotion_effects_recover_generator_uplift(
    frames: dict[str, pl.DataFrame], con: duckdb.DuckDBPyConnection
) -> None:
    """Median over promotions x stores of estimated / true multiplier within 15% of 1, and
    within 20% in every discount bucket (the truth is exp(promo_beta x discount) of the
    product's category, times its siblings' cannibalisation: 1 in tiny)."""
    df = _multipliers(frames, con).with_columns(
        ratio=pl.col("estimated") / pl.col("true_multiplier")
    )
    assert df.height == frames[PROMOTION_ESTIMATES].height
    assert abs(df.get_column("ratio").median() - 1) < MEDIAN_TOLERANCE  # type: ignore[operator]
    buckets = df.group_by("discount_pct").agg(pl.col("ratio").median()).sort("discount_pct")
    assert buckets.height == 7
    off = buckets.filter((pl.col("ratio") - 1).abs() >= BUCKET_TOLERANCE)
    assert off.is_empty(), off


def test_promotion_effects_recover_generator_dip(
    frames: dict[str, pl.DataFrame], con: duckdb.DuckDBPyConnection
) -> None:
    """Summed over in-stock days after the promotions, units sold less the estimated baseline
    is within 30% of the generator's dip (expected - baseline demand: 1 - 0.6 x discount,
    fading over 7 days). Days the shelf was empty are left out: there sales show stock, not
    demand."""
    con.register("days", frames[PROMOTION_BASELINE_DAYS])
    estimated, true_dip = con.sql(
        """
        select
            sum(days.units_sold - days.baseline_units),
            sum(truth.expected_units - truth.baseline_units),
        from days
        inner join promotions using (promo_id)
        inner join daily_sales as sales
            on sales.store_id = days.store_id and sales.product_id = promotions.product_id
            and sales.date = days.date
        inner join true_demand as truth
            on truth.store_id = sales.store_id and truth.product_id = sales.product_id
            and truth.date = sales.date
        where days.date > promotions.end_date and not sales.is_stockout
        """
    ).fetchall()[0]
    assert true_dip < 0
    assert abs(estimated / true_dip - 1) < DIP_TOLERANCE


def test_promotion_effects_same_in_chunks_and_processes(
    tiny_db: Path, frames: dict[str, pl.DataFrame]
) -> None:
    """Store groups estimated one by one or in worker processes give the same tables."""
    with duckdb.connect(str(tiny_db), read_only=True) as con:
        chunked = promotion_effects(con, workers=2, rows_per_chunk=30_000)
    for name, frame in frames.items():
        assert_frame_equal(chunked[name], frame)


def test_promotion_effects_reports_progress(tiny_db: Path) -> None:
    seen: list[tuple[str, float]] = []
    with duckdb.connect(str(tiny_db), read_only=True) as con:
        promotion_effects(
            con, lambda message, done: seen.append((message, done)), rows_per_chunk=60_000
        )
    assert [done for _, done in seen] == [0.5, 1.0]
    assert seen[-1][0] == "estimated promotion effects, store group 2/2"


def test_write_tables_replaces_tables(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "store.duckdb")) as con:
        write_tables(con, {"job_result": pl.DataFrame({"x": [1, 2]})})
        write_tables(con, {"job_result": pl.DataFrame({"x": [3]})})
        assert con.sql("select x from job_result").fetchall() == [(3,)]


def test_no_app_or_model_code_reads_true_demand() -> None:
    """The synthetic truth is for tests only: the models, the job and the app never name it."""
    sources = [
        *(REPO_ROOT / "analytics").rglob("*.py"),
        *(REPO_ROOT / "dashboard").rglob("*.py"),
        REPO_ROOT / "data" / "jobs.py",
    ]
    readers = [
        str(path.relative_to(REPO_ROOT))
        for path in sources
        if "true_demand" in path.read_text(encoding="utf-8")
    ]
    sql_readers = [sql.name for sql in sql_files() if sql.name >= "3" and "true_demand" in sql.text]
    assert readers == []
    assert sql_readers == []
