"""Queries of the promotions page: each reads a promotion mart with bound `$name` filters.

Filters left at None mean "all". Effects summed over several stores get their intervals from
the stores' standard errors (baselines are fitted per store, independently): the variance of a
sum is the sum of the variances. Promotion summaries read the region mart, or the store mart
when one store is chosen; both are summed the same way.
"""

from __future__ import annotations

from typing import Final, Literal

import duckdb
import polars as pl

from dashboard.queries import fetch

STORE_EFFECTS_VIEW: Final = "promotion_store_effects"
REGION_EFFECTS_VIEW: Final = "promotion_region_effects"
DEPTH_EFFECTS_VIEW: Final = "promotion_depth_effects"
DAILY_EFFECTS_VIEW: Final = "promotion_daily_effects"
REQUIRED_VIEWS: Final = (
    STORE_EFFECTS_VIEW,
    REGION_EFFECTS_VIEW,
    DEPTH_EFFECTS_VIEW,
    DAILY_EFFECTS_VIEW,
)

Z95: Final = 1.959963984540054
RANKED_LIMIT: Final = 10
RankBy = Literal["net_revenue", "revenue", "units", "uplift"]
RANK_COLUMNS: Final[dict[RankBy, str]] = {
    "net_revenue": "net_incremental_revenue",
    "revenue": "incremental_revenue",
    "units": "incremental_units",
    "uplift": "uplift_pct",
}
RANK_BY: Final[dict[RankBy, str]] = {
    "net_revenue": "Net extra revenue",
    "revenue": "Extra revenue",
    "units": "Extra units",
    "uplift": "Uplift %",
}

_FILTERS: Final = """
    ($category is null or category = $category)
    and ($region is null or region = $region)
    and ($store_id is null or store_id = $store_id)
"""


def load_categories(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Categories that have estimated promotions, sorted: `category`."""
    sql = f"select distinct category from {STORE_EFFECTS_VIEW} order by category"
    return fetch(cur, sql)


def load_uplift_by_depth(
    cur: duckdb.DuckDBPyConnection,
    *,
    category: str | None,
    region: str | None,
    store_id: int | None,
) -> pl.DataFrame:
    """Uplift per category and discount depth (5-point buckets), pooled over promotions and
    stores: `category`, `discount_pct`, `promotion_count` (promotion x store pairs),
    `actual_units`, `baseline_units`, `uplift_pct` and its 95% interval `uplift_pct_lo95`,
    `uplift_pct_hi95` (null when the baseline's interval reaches zero)."""
    sql = f"""
        with pooled as (
            select
                category,
                discount_bucket_pct as discount_pct,
                sum(promotion_count)::bigint as promotion_count,
                sum(actual_units)::bigint as actual_units,
                sum(baseline_units)::double as baseline_units,
                sqrt(sum(baseline_units_var))::double as baseline_units_se,
            from {DEPTH_EFFECTS_VIEW}
            where {_FILTERS}
            group by category, discount_bucket_pct
        )
        select
            category,
            discount_pct,
            promotion_count,
            actual_units,
            baseline_units,
            (actual_units / nullif(baseline_units, 0) - 1)::double as uplift_pct,
            (actual_units / nullif(baseline_units + {Z95} * baseline_units_se, 0) - 1)::double
                as uplift_pct_lo95,
            (case when baseline_units - {Z95} * baseline_units_se > 0
                then actual_units / (baseline_units - {Z95} * baseline_units_se) - 1 end)::double
                as uplift_pct_hi95,
        from pooled
        order by category, discount_pct
    """
    params = {"category": category, "region": region, "store_id": store_id}
    return fetch(cur, sql, params)


_SUMMED_METRICS: Final = (
    "baseline_units", "incremental_revenue", "dip_units", "cannibalised_units",
    "net_incremental_revenue",
)  # fmt: skip


def _summary_sql(view: str, store_count: str, variance: str) -> str:
    """One row per promotion, its rows summed: `variance` turns a metric's name into its
    variance in `view` (a column there, or the square of its standard error)."""
    variances = ",\n".join(
        f"sum({variance.format(name)})::double as {name}_var" for name in _SUMMED_METRICS
    )
    return f"""
        select
            promo_id,
            any_value(product_name) as product_name,
            any_value(category) as category,
            any_value(subcategory) as subcategory,
            any_value(start_date) as start_date,
            any_value(end_date) as end_date,
            any_value(discount_pct) as discount_pct,
            any_value(promo_type) as promo_type,
            any_value(is_national) as is_national,
            {store_count}::bigint as store_count,
            sum(stockout_days)::bigint as stockout_days,
            sum(actual_units)::bigint as actual_units,
            sum(baseline_units)::double as baseline_units,
            sum(actual_revenue)::double as actual_revenue,
            sum(incremental_revenue)::double as incremental_revenue,
            sum(dip_units)::double as dip_units,
            sum(cannibalised_units)::double as cannibalised_units,
            sum(net_incremental_units)::double as net_incremental_units,
            sum(net_incremental_revenue)::double as net_incremental_revenue,
            {variances},
        from {{view}}
        where ($category is null or category = $category)
            and ($region is null or region = $region)
            and ($store_id is null or store_id = $store_id)
            and ($promo_id is null or promo_id = $promo_id)
        group by promo_id
        order by any_value(start_date) desc, promo_id desc
    """.replace("{view}", view)


# Per region (the usual case: few rows to add up), or per store when one store is chosen.
_SUMMARY_BY_REGION: Final = _summary_sql(REGION_EFFECTS_VIEW, "sum(store_count)", "{}_var").replace(
    "($store_id is null or store_id = $store_id)", "$store_id is null"
)
_SUMMARY_BY_STORE: Final = _summary_sql(STORE_EFFECTS_VIEW, "count(*)", "{}_se ^ 2")


def load_promotion_summaries(
    cur: duckdb.DuckDBPyConnection,
    *,
    category: str | None,
    region: str | None,
    store_id: int | None,
    promo_id: int | None = None,
) -> pl.DataFrame:
    """One row per promotion (or only `promo_id`), its effects summed over the stores that
    match the filters, latest first: ids, product, dates, discount, `store_count`, units,
    revenue (EUR), dip, cannibalisation and net effects, each with a 95% interval
    (`*_lo95`, `*_hi95`; the uplift's upper bound is null when the baseline's reaches 0)."""
    sql = _SUMMARY_BY_REGION if store_id is None else _SUMMARY_BY_STORE
    params = {"category": category, "region": region, "store_id": store_id, "promo_id": promo_id}
    return with_intervals(fetch(cur, sql, params))


def with_intervals(df: pl.DataFrame) -> pl.DataFrame:
    """Summed effects with their 95% intervals, from the sums and their variances (`*_var`,
    dropped): normal intervals; the uplift's is the ratio to the baseline's bounds."""
    col = pl.col
    se = {name: col(f"{name}_var").sqrt() for name in _SUMMED_METRICS}
    low, high = (
        col("baseline_units") - Z95 * se["baseline_units"],
        col("baseline_units") + Z95 * se["baseline_units"],
    )
    incremental = col("actual_units") - col("baseline_units")
    return df.with_columns(
        incremental_units=incremental,
        incremental_units_lo95=incremental - Z95 * se["baseline_units"],
        incremental_units_hi95=incremental + Z95 * se["baseline_units"],
        uplift_pct=pl.when(col("baseline_units") > 0).then(
            col("actual_units") / col("baseline_units") - 1
        ),
        uplift_pct_lo95=pl.when(high > 0).then(col("actual_units") / high - 1),
        uplift_pct_hi95=pl.when(low > 0).then(col("actual_units") / low - 1),
        **{
            f"{name}_{side}": col(name) + sign * Z95 * se[name]
            for name in _SUMMED_METRICS[1:]
            for side, sign in (("lo95", -1), ("hi95", 1))
        },
    ).drop(f"{name}_var" for name in _SUMMED_METRICS)


def load_ranked_promotions(
    cur: duckdb.DuckDBPyConnection,
    *,
    category: str | None,
    region: str | None,
    store_id: int | None,
    rank_by: RankBy,
    limit: int = RANKED_LIMIT,
) -> pl.DataFrame:
    """The `limit` best and `limit` worst promotions by `rank_by` (as `load_promotion_summaries`
    plus `rank_group` 'best' or 'worst' and `rank`, 1 = best): best first, the worst last. A
    promotion is in one group only; promotions without a score are not ranked."""
    summaries = load_promotion_summaries(cur, category=category, region=region, store_id=store_id)
    ranked = (
        summaries.with_columns(_score=pl.col(RANK_COLUMNS[rank_by]))
        .filter(pl.col("_score").is_not_null() & pl.col("_score").is_not_nan())
        .sort(["_score", "promo_id"], descending=[True, False])
        .with_row_index("rank", offset=1)
    )
    total = ranked.height
    return (
        ranked.filter((pl.col("rank") <= limit) | (pl.col("rank") > max(total - limit, limit)))
        .with_columns(
            rank_group=pl.when(pl.col("rank") <= limit)
            .then(pl.lit("best"))
            .otherwise(pl.lit("worst")),
            rank=pl.col("rank").cast(pl.Int64),
        )
        .drop("_score")
    )


def load_promotion_days(
    cur: duckdb.DuckDBPyConnection,
    *,
    promo_id: int,
    region: str | None,
    store_id: int | None,
) -> pl.DataFrame:
    """Units sold and the baseline day by day around one promotion, summed over the stores
    that match: `date`, `phase` ('before', 'promotion', 'after'), `units_sold` (null when no
    store has data that day), `baseline_units`, `baseline_lo95`, `baseline_hi95`."""
    sql = f"""
        with chosen as (
            select * from {DAILY_EFFECTS_VIEW}
            where promo_id = $promo_id
                and ($region is null or region = $region)
                and ($store_id is null or store_id = $store_id)
        ),
        summed as (
            select
                date,
                any_value(phase) as phase,
                sum(units_sold)::bigint as units_sold,
                sum(baseline_units)::double as baseline_units,
                sqrt(sum(baseline_var))::double as baseline_se,
            from chosen
            group by date
        )
        select
            date,
            phase,
            units_sold,
            baseline_units,
            greatest(baseline_units - {Z95} * baseline_se, 0)::double as baseline_lo95,
            (baseline_units + {Z95} * baseline_se)::double as baseline_hi95,
        from summed
        order by date
    """
    params = {"promo_id": promo_id, "region": region, "store_id": store_id}
    return fetch(cur, sql, params)
