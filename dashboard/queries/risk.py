"""Queries of the Stockout risk page, over the tables `shelfsight train` and `shelfsight predict`
write (see data/risk.py and data/reorder.py): `stockout_risk`, `reorder_suggestions`,
`policy_replay`, `model_runs`, `model_calibration`, `model_importance`.

Those tables exist only once the file has been scored, so they are not views the app requires at
start: `load_missing_tables` tells the page whether to say so instead. Every filter is bound as a
`$name` parameter; None means "all", as in the other pages' queries.
"""

from __future__ import annotations

from typing import Any, Final, Literal, NamedTuple

import duckdb
import polars as pl

from analytics.replenishment import suggest_orders
from dashboard.queries import fetch

RISK_TABLE: Final = "stockout_risk"
SUGGESTIONS_TABLE: Final = "reorder_suggestions"
REPLAY_TABLE: Final = "policy_replay"
RUNS_TABLE: Final = "model_runs"
CALIBRATION_TABLE: Final = "model_calibration"
IMPORTANCE_TABLE: Final = "model_importance"
SCORED_TABLES: Final = (
    RISK_TABLE,
    SUGGESTIONS_TABLE,
    REPLAY_TABLE,
    RUNS_TABLE,
    CALIBRATION_TABLE,
    IMPORTANCE_TABLE,
)
STORES_VIEW: Final = "stores"
PRODUCTS_VIEW: Final = "products"
SALES_VIEW: Final = "daily_sales"
SERIES_DAYS: Final = 120
Kind = Literal["cycle", "fill_rate"]
KINDS: Final[tuple[Kind, ...]] = ("cycle", "fill_rate")
AT_RISK: Final = 0.5  # the probability from which a series counts as at risk
CSV_COLUMNS: Final = (
    "store_id", "store_name", "product_id", "product_name", "category", "suggested_order",
    "pack_size", "on_hand", "on_order", "reorder_point", "order_up_to", "stockout_probability",
)  # fmt: skip
# What `analytics.replenishment.suggest_orders` reads, as `reorder_suggestions` holds it.
POSITION_COLUMNS: Final = (
    "on_hand", "on_order", "demand_mean", "demand_sd", "lead_time_mean", "lead_time_sd",
    "pack_size", "price",
)  # fmt: skip


class RiskFilter(NamedTuple):
    """Which series the page shows; None means all."""

    region: str | None = None
    store_id: int | None = None
    category: str | None = None
    subcategory: str | None = None
    product_id: int | None = None

    def params(self) -> dict[str, str | int | None]:
        return dict(self._asdict())


_FILTER_SQL: Final = """
    ($region is null or stores.region = $region)
    and ($store_id is null or stores.store_id = $store_id)
    and ($category is null or products.category = $category)
    and ($subcategory is null or products.subcategory = $subcategory)
    and ($product_id is null or products.product_id = $product_id)
"""


def load_missing_tables(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """The scored tables the file lacks (all of them before `shelfsight train`), sorted."""
    present = fetch(cur, "select table_name from information_schema.tables")
    names = set(present.get_column("table_name").to_list())
    return sorted(set(SCORED_TABLES) - names)


def load_scoring(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """One row on how the scores were made: `as_of_date`, `model`, `run_id` and its
    `trained_at`, the `service_level`, `service_kind` and `review_days` predict used, and the
    `latest_run_id` (by `trained_at`) of model_runs, which may be newer than the scores'."""
    sql = f"""
        with
        risk as (
            select max(as_of_date) as as_of_date, any_value(model) as model,
                any_value(run_id) as run_id,
            from {RISK_TABLE}
        ),
        settings as (
            select any_value(service_level)::double as service_level,
                any_value(service_kind) as service_kind,
                any_value(review_days)::integer as review_days,
            from {SUGGESTIONS_TABLE}
        ),
        runs as (
            select run_id, max(trained_at) as trained_at,
            from {RUNS_TABLE}
            group by run_id
        ),
        latest as (
            select run_id as latest_run_id from runs order by trained_at desc, run_id limit 1
        )
        select risk.*, runs.trained_at, settings.*, latest.latest_run_id,
        from risk
        cross join settings
        left join runs on runs.run_id = risk.run_id
        left join latest on true
    """
    return fetch(cur, sql)


def load_series(cur: duckdb.DuckDBPyConnection, where: RiskFilter) -> pl.DataFrame:
    """Every series the filters match, highest risk first (`risk_rank`, then the ids; series
    without a score last): names, the score and the facts beside it from `stockout_risk`, and
    the position `reorder_suggestions` holds (`POSITION_COLUMNS`, null where it has no row)
    with the `suggested_order` stored for predict's service level."""
    sql = f"""
        with
        scored as (
            select coalesce(risk.store_id, orders.store_id) as store_id,
                coalesce(risk.product_id, orders.product_id) as product_id,
                risk.risk_rank, risk.stockout_probability, risk.horizon_days,
                risk.days_of_cover, coalesce(risk.stock_end, orders.on_hand) as stock_on_hand,
                risk.units_sold_mean_28,
                orders.on_hand, orders.on_order, orders.demand_mean, orders.demand_sd,
                orders.lead_time_mean, orders.lead_time_sd, orders.pack_size, orders.price,
                orders.suggested_order as stored_order,
            from {RISK_TABLE} as risk
            full join {SUGGESTIONS_TABLE} as orders
                on orders.store_id = risk.store_id and orders.product_id = risk.product_id
        )
        select scored.store_id, stores.store_name, scored.product_id, products.product_name,
            products.category, scored.* exclude (store_id, product_id),
        from scored
        inner join {STORES_VIEW} as stores on stores.store_id = scored.store_id
        inner join {PRODUCTS_VIEW} as products on products.product_id = scored.product_id
        where {_FILTER_SQL}
        order by scored.risk_rank nulls last, scored.store_id, scored.product_id
    """
    return fetch(cur, sql, where.params())


def load_replay_totals(cur: duckdb.DuckDBPyConnection, where: RiskFilter) -> pl.DataFrame:
    """One row: the replay's totals over the filtered series, for the policy (`policy_*`) and
    for what the stores did (`actual_*`), with `series`, `demand_units`, the window and the
    service level and kind it was replayed at (null when no series matches)."""
    measures = ", ".join(
        f"sum(replay.{side}_{measure})::{kind} as {side}_{measure}"
        for side in ("policy", "actual")
        for measure, kind in (
            ("stockout_days", "bigint"),
            ("lost_units", "double"),
            ("lost_revenue", "double"),
            ("average_stock", "double"),
        )
    )
    sql = f"""
        select count(*)::bigint as series, sum(replay.demand_units)::double as demand_units,
            {measures},
            sum(replay.policy_orders)::bigint as policy_orders,
            min(replay.replay_start) as replay_start, max(replay.replay_end) as replay_end,
            any_value(replay.service_level)::double as service_level,
            any_value(replay.service_kind) as service_kind,
        from {REPLAY_TABLE} as replay
        inner join {STORES_VIEW} as stores on stores.store_id = replay.store_id
        inner join {PRODUCTS_VIEW} as products on products.product_id = replay.product_id
        where {_FILTER_SQL}
    """
    return fetch(cur, sql, where.params())


_LATEST_RUN: Final = f"(select run_id from {RUNS_TABLE} order by trained_at desc, run_id limit 1)"


def load_model_runs(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The latest run's models and variants, the chosen one first, then by PR-AUC."""
    sql = f"""
        select run_id, trained_at, model, is_calibrated, is_chosen, roc_auc, pr_auc, brier,
            precision_at_k, recall_at_k, k, fit_seconds, test_start, test_end,
        from {RUNS_TABLE}
        where run_id = {_LATEST_RUN}
        order by is_chosen desc, pr_auc desc nulls last, model, is_calibrated
    """
    return fetch(cur, sql)


def load_calibration(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The latest run's calibration bins: `model`, `is_calibrated`, `bin`, `rows`,
    `mean_score`, `observed_rate`."""
    sql = f"""
        select model, is_calibrated, bin, rows::bigint as rows, mean_score, observed_rate,
        from {CALIBRATION_TABLE}
        where run_id = {_LATEST_RUN}
        order by model, is_calibrated, bin
    """
    return fetch(cur, sql)


def load_importance(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The latest run's permutation importance, largest first: `feature`, `pr_auc_drop`,
    `pr_auc_drop_std`, `model`."""
    sql = f"""
        select feature, pr_auc_drop, pr_auc_drop_std, model,
        from {IMPORTANCE_TABLE}
        where run_id = {_LATEST_RUN}
        order by pr_auc_drop desc, feature
    """
    return fetch(cur, sql)


def load_series_days(
    cur: duckdb.DuckDBPyConnection, *, store_id: int, product_id: int, days: int = SERIES_DAYS
) -> pl.DataFrame:
    """The series' last `days` days of data: `date`, `units_sold`, `stock_end`,
    `is_stockout`, oldest first."""
    sql = f"""
        select date, units_sold::bigint as units_sold, stock_end::double as stock_end,
            coalesce(is_stockout, false) as is_stockout,
        from {SALES_VIEW}
        where store_id = $store_id and product_id = $product_id
            and date > (select max(date) from {SALES_VIEW}) - $days::integer
        order by date
    """
    return fetch(cur, sql, {"store_id": store_id, "product_id": product_id, "days": days})


def load_known_values(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every value a filter can take, long (`kind`, `value` as text): store and product ids,
    regions, categories and subcategories; to tell an unknown one."""
    sql = f"""
        select 'store' as kind, store_id::varchar as value from {STORES_VIEW}
        union all select 'product', product_id::varchar from {PRODUCTS_VIEW}
        union all select distinct 'region', region from {STORES_VIEW} where region is not null
        union all select distinct 'category', category from {PRODUCTS_VIEW}
            where category is not null
        union all select distinct 'subcategory', subcategory from {PRODUCTS_VIEW}
            where subcategory is not null
    """
    return fetch(cur, sql)


def add_suggestions(
    series: pl.DataFrame,
    *,
    level: float,
    kind: Kind,
    review_days: int,
) -> pl.DataFrame:
    """`series` (from `load_series`) with `analytics.replenishment.suggest_orders`' columns
    recomputed at `level` and `kind` (null for a series without a position), in its order."""
    positions = series.filter(pl.col("pack_size").is_not_null()).select(
        "store_id", "product_id", *POSITION_COLUMNS
    )
    suggested = suggest_orders(positions, service_level=level, kind=kind, review_days=review_days)
    added = suggested.drop(POSITION_COLUMNS)
    return series.join(added, on=["store_id", "product_id"], how="left", maintain_order="left")


def summarize_orders(orders: pl.DataFrame) -> dict[str, Any]:
    """Totals over every row of `orders` (from `add_suggestions`): `series`, `at_risk`,
    `lost_revenue`, `lost_units`, `to_order`, `units_to_order` and `order_value` (EUR)."""
    ordered = pl.col("suggested_order").fill_null(0)
    row = orders.select(
        pl.len().alias("series"),
        (pl.col("stockout_probability") >= AT_RISK).sum().alias("at_risk"),
        pl.col("expected_lost_revenue").sum().alias("lost_revenue"),
        pl.col("expected_lost_units").sum().alias("lost_units"),
        (ordered > 0).sum().alias("to_order"),
        ordered.sum().alias("units_to_order"),
        (ordered * pl.col("price")).sum().alias("order_value"),
    ).row(0, named=True)
    return {key: value or 0 for key, value in row.items()}


def build_grid_rows(orders: pl.DataFrame, limit: int) -> tuple[list[dict[str, Any]], str]:
    """The first `limit` rows of `orders` (highest risk first) for the grid, with an `id`
    ("store-product"), and a note saying how many there are and whether they were cut."""
    shown = orders.head(limit).select(
        pl.concat_str("store_id", "product_id", separator="-").alias("id"),
        "store_id", "product_id", "risk_rank", "store_name", "product_name", "category",
        "stockout_probability", "days_of_cover", "stock_on_hand", "on_order", "demand_mean",
        "reorder_point", "safety_stock", "suggested_order", "expected_lost_revenue",
    ).with_columns(pl.col(pl.Float64).round(4))  # fmt: skip
    total = orders.height
    if total > limit:
        note = f"{limit:,} highest of {total:,}; filter to narrow."
    elif total:
        note = f"{total:,} series, highest risk first. Click a row for its chart."
    else:
        note = "No series match these filters."
    return shown.to_dicts(), note


def build_csv(orders: pl.DataFrame) -> str:
    """The order list: every row of `orders` with something to order, by store and product."""
    rows = orders.filter(pl.col("suggested_order") > 0).sort("store_id", "product_id")
    return rows.select(CSV_COLUMNS).with_columns(pl.col(pl.Float64).round(3)).write_csv()
