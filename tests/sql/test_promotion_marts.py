"""Promotion marts (sql/33x) over the tiny store with the promotion job's tables: keys, sums
that carry over from the job's estimates, accepted values and dtypes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest

from analytics.promotions import EFFECT_SCHEMA
from data.jobs import BASELINE_DAY_SCHEMA
from tests.data.test_jobs import build_promotion_store

KEYS = {
    "promotion_store_effects": ["promo_id", "store_id"],
    "promotion_region_effects": ["promo_id", "region"],
    "promotion_depth_effects": ["category", "discount_bucket_pct", "store_id"],
    "promotion_daily_effects": ["promo_id", "store_id", "date"],
}


@pytest.fixture(scope="module")
def promo_db(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_promotion_store(tiny_db, tmp_path_factory.mktemp("promo") / "tiny.duckdb")


@pytest.fixture
def con(promo_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(promo_db), read_only=True) as connection:
        yield connection


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    return con.sql(sql).fetchall()[0][0]


@pytest.mark.parametrize(("view", "key"), KEYS.items())
def test_promotion_mart_key_unique_and_not_null(
    con: duckdb.DuckDBPyConnection, view: str, key: list[str]
) -> None:
    columns = ", ".join(key)
    nulls = " or ".join(f"{c} is null" for c in key)
    assert _scalar(con, f"select count(*) from {view} where {nulls}") == 0
    duplicates = (
        f"select count(*) from (select {columns} from {view} group by all having count(*) > 1)"
    )
    assert _scalar(con, duplicates) == 0
    assert _scalar(con, f"select count(*) from {view}") > 0  # type: ignore[operator]


def test_promotion_store_effects_carries_every_estimate(con: duckdb.DuckDBPyConnection) -> None:
    sql = """
        select count(*), round(sum(incremental_units), 6), round(sum(net_incremental_revenue), 6)
        from {table}
    """
    assert (
        con.sql(sql.format(table="promotion_store_effects")).fetchall()
        == con.sql(sql.format(table="promotion_estimates")).fetchall()
    )


def test_promotion_store_effects_names_match_dimensions(con: duckdb.DuckDBPyConnection) -> None:
    wrong = """
        select count(*) from promotion_store_effects as effects
        inner join promotions using (promo_id)
        inner join products on products.product_id = effects.product_id
        inner join stores on stores.store_id = effects.store_id
        where effects.product_id != promotions.product_id
            or effects.category != products.category
            or effects.region != stores.region
            or effects.is_national != (promotions.region is null)
            or effects.start_date != promotions.start_date
    """
    assert _scalar(con, wrong) == 0


def test_promotion_depth_effects_add_up_to_store_effects(con: duckdb.DuckDBPyConnection) -> None:
    depth = con.sql(
        """
        select sum(promotion_count), sum(actual_units), round(sum(baseline_units), 6),
            round(sum(baseline_units_var), 6), round(sum(incremental_revenue), 6),
        from promotion_depth_effects
        """
    ).fetchall()
    store = con.sql(
        """
        select count(*), sum(actual_units), round(sum(baseline_units), 6),
            round(sum(baseline_units_se ^ 2), 6), round(sum(incremental_revenue), 6),
        from promotion_store_effects
        """
    ).fetchall()
    assert depth == store


def test_promotion_region_effects_add_up_to_store_effects(
    con: duckdb.DuckDBPyConnection,
) -> None:
    sql = """
        select promo_id, region, {count}, sum(actual_units), round(sum(baseline_units), 6),
            round(sum({baseline_var}), 6), round(sum(net_incremental_revenue), 6),
            round(sum({net_var}), 6),
        from {view} group by all order by all
    """
    region = con.sql(
        sql.format(
            view="promotion_region_effects",
            count="sum(store_count)",
            baseline_var="baseline_units_var",
            net_var="net_incremental_revenue_var",
        )
    ).fetchall()
    store = con.sql(
        sql.format(
            view="promotion_store_effects",
            count="count(*)",
            baseline_var="baseline_units_se ^ 2",
            net_var="net_incremental_revenue_se ^ 2",
        )
    ).fetchall()
    assert region == store


def test_promotion_depth_buckets_are_the_discounts(con: duckdb.DuckDBPyConnection) -> None:
    buckets = con.sql(
        "select distinct discount_bucket_pct from promotion_depth_effects order by 1"
    ).fetchall()
    discounts = con.sql("select distinct discount_pct from promotions order by 1").fetchall()
    assert buckets == discounts  # the generator's depths are multiples of 5 points


def test_promotion_daily_effects_phases(con: duckdb.DuckDBPyConnection) -> None:
    """'promotion' exactly on the promotion's dates, 'before' up to 14 days ahead, 'after' up
    to 7 days after; the band holds the baseline."""
    wrong = """
        select count(*) from promotion_daily_effects as days
        inner join promotions using (promo_id)
        where days.phase != case
                when days.date < promotions.start_date then 'before'
                when days.date <= promotions.end_date then 'promotion'
                else 'after' end
            or days.date < promotions.start_date - 14
            or days.date > promotions.end_date + 7
            or not (days.baseline_lo95 <= days.baseline_units
                and days.baseline_units <= days.baseline_hi95)
    """
    assert _scalar(con, wrong) == 0
    phases = con.sql("select distinct phase from promotion_daily_effects order by 1").fetchall()
    assert phases == [("after",), ("before",), ("promotion",)]


def test_promotion_daily_effects_region_is_the_stores(con: duckdb.DuckDBPyConnection) -> None:
    wrong = """
        select count(*) from promotion_daily_effects as days
        inner join stores using (store_id)
        where days.region is distinct from stores.region
    """
    assert _scalar(con, wrong) == 0


def test_promotion_daily_effects_units_match_daily_sales(con: duckdb.DuckDBPyConnection) -> None:
    wrong = """
        select count(*) from promotion_daily_effects as days
        inner join promotions using (promo_id)
        left join daily_sales as sales
            on sales.store_id = days.store_id and sales.product_id = promotions.product_id
            and sales.date = days.date
        where days.units_sold is distinct from sales.units_sold
    """
    assert _scalar(con, wrong) == 0


def test_promotion_marts_dtypes(con: duckdb.DuckDBPyConnection) -> None:
    depth = con.sql("select * from promotion_depth_effects limit 1").pl().schema
    assert (depth["promotion_count"], depth["actual_units"], depth["baseline_units"]) == (
        pl.Int64,
        pl.Int64,
        pl.Float64,
    )
    effects = con.sql("select * from promotion_store_effects limit 1").pl().schema
    assert (effects["discount_bucket_pct"], effects["is_national"]) == (pl.Float64, pl.Boolean)


def test_placeholder_tables_have_the_job_schema(cur: duckdb.DuckDBPyConnection) -> None:
    """Before the job runs (sql/330), its tables exist, empty, with the job's columns."""
    for table, schema in (
        ("promotion_estimates", EFFECT_SCHEMA),
        ("promotion_baseline_days", BASELINE_DAY_SCHEMA),
    ):
        empty = cur.sql(f"select * from {table} limit 0").pl()
        assert dict(empty.schema) == schema
