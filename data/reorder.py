"""`shelfsight predict`: score the latest day with the stored model, suggest orders, replay.

For the data's last day, per store x product:
- `stockout_risk`: the probability of a stockout within the horizon (the stored model's, see
  `data.risk`), its rank, and the features an analyst checks it against (stock, days of cover,
  units on order, recent sales).
- `reorder_suggestions`: the position (stock on hand, units on order), the daily demand mean and
  spread over the coming lead time plus review period, the lead time's mean and spread, pack
  size and price, and what `analytics.replenishment.suggest_orders` makes of them for the
  requested service level: safety stock, reorder point, order-up-to level, suggested order in
  whole packs, expected lost units and EUR if nothing is ordered. The demand comes from the
  `forecasts` table when `shelfsight forecast --write-db` wrote one that starts the day after
  (mean of the forecast; spread from its 80% interval), else from the last 28 days' sales on
  days the shelf was not empty (mean and standard deviation): `demand_source` says which. The
  lead time's statistics come from each series' delivered orders, or, with none, the
  product's nominal lead time with no spread.
- `policy_replay`: the same policy (same service level and kind), re-planned every review day
  from the 28 days before it, replayed over the last `replay_months` months against what the
  store did (`analytics.replenishment.replay_policy`). Demand on stockout days is the estimate
  in `lost_sales` when the forecast wrote it; otherwise the larger of the day's sales and the
  mean daily sales of the 28 days before on days the shelf was not empty (both sides alike).

Everything is written through `data.publish.update_database`: the three tables are replaced
together, or nothing is.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import duckdb
import polars as pl

from data.errors import ShelfsightError

Progress = Callable[[str, float], None]
Kind = Literal["cycle", "fill_rate"]
IDS: Final = ["store_id", "product_id"]
PREDICT_TABLES: Final = ("stockout_risk", "reorder_suggestions", "policy_replay")
# History read before the last day and the replay: the 56-day feature windows, and the days
# the baselines and promotion uplifts are estimated on.
FEATURE_DAYS: Final = 120
DEMAND_DAYS: Final = 28  # days of sales the demand mean and spread come from without forecasts
Z_80: Final = 1.2815515655446004  # the 90% normal quantile: an 80% interval is +-Z_80 sd


@dataclass(frozen=True)
class PredictRequest:
    service_level: float = 0.95
    kind: Kind = "cycle"
    review_days: int = 7
    replay_months: int = 3


@dataclass(frozen=True)
class PredictResult:
    tables: dict[str, pl.DataFrame]
    as_of: dt.date
    run_id: str
    model: str
    demand_source: str
    seconds: float


def check_predict_request(request: PredictRequest) -> None:
    from analytics.replenishment import check_service_level

    try:
        check_service_level(request.service_level)
    except ValueError as error:
        raise ShelfsightError(str(error)) from None
    if request.kind not in ("cycle", "fill_rate"):
        raise ShelfsightError(f"the service kind must be cycle or fill_rate, not {request.kind!r}")
    if not 1 <= request.review_days <= 28:
        raise ShelfsightError(f"review days must be 1 to 28, not {request.review_days}")
    if not 1 <= request.replay_months <= 12:
        raise ShelfsightError(f"replay months must be 1 to 12, not {request.replay_months}")


def predict(db: Path, request: PredictRequest, progress: Progress | None = None) -> PredictResult:
    """Score, suggest and replay (see the module docstring); nothing is written here."""
    from analytics.risk_features import HORIZON_COL
    from data.forecasting import connect
    from data.risk import load_model, load_tables, risk_frame

    report = progress or (lambda _message, _fraction: None)
    check_predict_request(request)
    started = time.perf_counter()
    report("reading the model and the latest data", 0.0)
    con = connect(db)
    try:
        stored = load_model(con, db)
        last = con.sql("select max(date) from daily_sales").fetchall()[0][0]
        if not isinstance(last, dt.date):
            raise ShelfsightError(f"{db} has no sales rows")
        replay_start = _months_before(last, request.replay_months)
        since = min(last, replay_start) - dt.timedelta(days=FEATURE_DAYS)
        tables = load_tables(con, db, since=since)
        history = _replay_history(con, since)
        facts = _series_facts(con, last)
        forecast_demand = _forecast_demand(con, last, request.review_days)
    finally:
        con.close()
    report(f"features for {tables['daily_sales'].height:,} store-product-days", 0.1)
    frame = risk_frame(tables, stored.horizon).filter(pl.col("date") == last)
    if frame.is_empty():
        raise ShelfsightError(f"no series has a row on the last day, {last}")
    report(f"scoring {frame.height:,} series with {stored.kind}", 0.35)
    score = stored.model.predict_proba(frame, calibrated=stored.is_calibrated)
    risk = (
        frame.select(
            *IDS,
            pl.col("date").alias("as_of_date"),
            pl.col(HORIZON_COL).alias("horizon_days"),
            pl.Series("stockout_probability", score),
            pl.col("stock_end").cast(pl.Float64),
            "days_of_cover",
            pl.col("on_order_units").cast(pl.Float64).fill_null(0.0),
            "units_sold_mean_28",
        )
        .with_columns(
            pl.col("stockout_probability")
            .rank("ordinal", descending=True)
            .cast(pl.Int32)
            .alias("risk_rank"),
            pl.lit(stored.kind).alias("model"),
            pl.lit(stored.run_id).alias("run_id"),
        )
        .sort("risk_rank")
    )
    report("reorder suggestions", 0.5)
    lead = _lead_times(tables["replenishments"], last)
    if forecast_demand is None:
        source = "history"
        recent = _recent_baseline(tables["daily_sales"], last)
        demand = _plan(recent, tables, lead, _uplift(tables["daily_sales"]), request.review_days)
    else:
        source = "forecast"
        demand = forecast_demand.join(lead, on=IDS, how="left")
    positions = _positions(facts, demand, source)
    suggestions = suggest(positions, request)
    report(f"replaying the policy over {request.replay_months} month(s)", 0.65)
    replay = replay_summary(history, tables, request)
    report("done", 1.0)
    return PredictResult(
        tables={"stockout_risk": risk, "reorder_suggestions": suggestions, "policy_replay": replay},
        as_of=last,
        run_id=stored.run_id,
        model=stored.kind,
        demand_source=source,
        seconds=time.perf_counter() - started,
    )


def suggest(positions: pl.DataFrame, request: PredictRequest) -> pl.DataFrame:
    """`suggest_orders` on `positions`, with the request's settings as columns."""
    from analytics.replenishment import suggest_orders

    return suggest_orders(
        positions,
        service_level=request.service_level,
        kind=request.kind,
        review_days=request.review_days,
    ).with_columns(
        pl.lit(request.service_level).alias("service_level"),
        pl.lit(request.kind).alias("service_kind"),
        pl.lit(request.review_days).alias("review_days"),
    )


def _months_before(last: dt.date, months: int) -> dt.date:
    earlier: dt.date = pl.Series([last]).dt.offset_by(f"-{months}mo")[0]
    return earlier + dt.timedelta(days=1)


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.sql("select table_name from duckdb_tables()").fetchall()}


def _replay_history(con: duckdb.DuckDBPyConnection, since: dt.date) -> pl.DataFrame:
    """Sales, stock and deliveries per series and day, with the estimated demand of stockout
    days from `lost_sales` when it is there."""
    demand, estimated = "s.units_sold::double", "false"
    join = ""
    if "lost_sales" in _tables(con):
        demand = "coalesce(l.demand, s.units_sold::double)"
        estimated = "l.demand is not null"
        join = "left join lost_sales as l using (store_id, product_id, date)"
    return con.sql(
        f"""
        select
            s.store_id, s.product_id, s.date, s.units_sold, s.price, s.is_stockout, s.is_promo,
            s.stock_begin, s.received_units, s.stock_end, {demand} as demand,
            {estimated} as is_demand_estimated,
        from daily_sales as s {join}
        where s.date >= $since and s.stock_begin is not null
        order by s.store_id, s.product_id, s.date
        """,
        params={"since": since},
    ).pl()


def _series_facts(con: duckdb.DuckDBPyConnection, last: dt.date) -> pl.DataFrame:
    """Per series with a row on `last`: stock on hand, units on order, pack size and price."""
    return con.sql(
        """
        with
        latest as (
            select store_id, product_id, stock_end, price
            from daily_sales where date = $last
        ),
        on_order as (
            select store_id, product_id, sum(ordered_units)::double as on_order,
            from replenishments
            where order_date <= $last and (delivered_date is null or delivered_date > $last)
            group by store_id, product_id
        )
        select
            latest.store_id, latest.product_id,
            latest.stock_end::double as on_hand,
            coalesce(on_order.on_order, 0)::double as on_order,
            products.pack_size, coalesce(latest.price, products.base_price) as price,
            products.lead_time_days,
        from latest
        join products using (product_id)
        left join on_order using (store_id, product_id)
        order by latest.store_id, latest.product_id
        """,
        params={"last": last},
    ).pl()


def _forecast_demand(
    con: duckdb.DuckDBPyConnection, last: dt.date, review_days: int
) -> pl.DataFrame | None:
    """Per series: the forecast's daily mean and spread over its first days (up to the
    product's lead time plus `review_days`), when `forecasts` starts the day after `last`."""
    if "forecasts" not in _tables(con):
        return None
    first = con.sql("select min(date) from forecasts").fetchall()[0][0]
    if first != last + dt.timedelta(days=1):
        return None
    return con.sql(
        """
        select
            f.store_id, f.product_id,
            avg(f.forecast)::double as demand_mean,
            avg((f.hi_80 - f.lo_80) / (2 * $z))::double as demand_sd,
        from forecasts as f
        join products as p using (product_id)
        where f.date <= $last + p.lead_time_days + $review
        group by f.store_id, f.product_id
        """,
        params={"z": Z_80, "last": last, "review": review_days},
    ).pl()


def _recent_baseline(sales: pl.DataFrame, last: dt.date) -> pl.DataFrame:
    """Per series: `base_mean` and `base_sd` of the last `DEMAND_DAYS` days' sales on days
    the shelf did not end empty and no promotion ran (null with no such day), as of `last`."""
    start = last - dt.timedelta(days=DEMAND_DAYS - 1)
    normal = ~pl.col("is_stockout").fill_null(value=False) & ~pl.col("is_promo").fill_null(
        value=False
    )
    return (
        sales.filter(pl.col("date") >= start, normal)
        .group_by(IDS)
        .agg(
            pl.col("units_sold").cast(pl.Float64).mean().alias("base_mean"),
            pl.col("units_sold").cast(pl.Float64).std().alias("base_sd"),
        )
        .with_columns(pl.lit(last).alias("date"))
    )


def _lead_times(replenishments: pl.DataFrame, before: dt.date) -> pl.DataFrame:
    """Per store x product: lead time mean and spread of the orders delivered by `before`."""
    from analytics.replenishment import lead_time_stats

    delivered = replenishments.filter(pl.col("delivered_date") <= before)
    return lead_time_stats(delivered).select(*IDS, "lead_time_mean", "lead_time_sd")


def _positions(facts: pl.DataFrame, demand: pl.DataFrame, source: str) -> pl.DataFrame:
    """Every series of `facts` with its demand and lead time (`demand`: ids, demand_mean,
    demand_sd, lead_time_mean, lead_time_sd); a series without them plans no demand and the
    product's nominal lead time."""
    kept = ["demand_mean", "demand_sd", "lead_time_mean", "lead_time_sd"]
    return (
        facts.join(demand.select(*IDS, *kept), on=IDS, how="left")
        .with_columns(
            pl.col("demand_mean").fill_null(0.0).clip(lower_bound=0.0),
            pl.col("demand_sd").fill_null(0.0).clip(lower_bound=0.0),
            pl.col("lead_time_mean").fill_null(pl.col("lead_time_days").cast(pl.Float64)),
            pl.col("lead_time_sd").fill_null(0.0),
            pl.col("on_hand").fill_null(0.0).clip(lower_bound=0.0),
            pl.col("price").fill_null(0.0),
            pl.lit(source).alias("demand_source"),
        )
        .drop("lead_time_days")
    )


def replay_summary(
    history: pl.DataFrame, tables: dict[str, pl.DataFrame], request: PredictRequest
) -> pl.DataFrame:
    """The policy re-planned every review day from the `DEMAND_DAYS` days before it and the
    promotions planned ahead, replayed over the last `replay_months` months (see the module
    docstring): one row per series. `tables`: replenishments, products, promotions, stores."""
    from analytics.replenishment import lead_time_days, replay_policy

    last: dt.date = history.get_column("date").max()  # type: ignore[assignment]
    start = _months_before(last, request.replay_months)
    before = tables["replenishments"].filter(pl.col("order_date") < start)
    lead = _lead_times(before, start)
    uplift = _uplift(history.filter(pl.col("date") < start))
    trailing = (
        history.sort(*IDS, "date")
        .with_columns(
            _baseline(pl.col("units_sold"), "rolling_mean").alias("base_mean"),
            _baseline(pl.col("units_sold"), "rolling_std").alias("base_sd"),
        )
        .join(uplift, on="product_id", how="left")
    )
    # A stockout day without an estimate from lost_sales: at least the baseline (times the
    # product's uplift on a promotion day) was asked for.
    censored = pl.col("is_stockout").fill_null(value=False) & ~pl.col("is_demand_estimated")
    expected = pl.col("base_mean").fill_null(0.0) * pl.when(
        pl.col("is_promo").fill_null(value=False)
    ).then(pl.col("promo_uplift").fill_null(1.0)).otherwise(1.0)
    trailing = trailing.with_columns(
        pl.when(censored).then(pl.max_horizontal("demand", expected)).otherwise("demand")
    )
    review = (pl.col("date") - pl.lit(start)).dt.total_days() % request.review_days == 0
    plans = trailing.filter(pl.col("date") >= start, review).select(
        *IDS, "date", "base_mean", "base_sd"
    )
    positions = _plan(plans, tables, lead, uplift, request.review_days).with_columns(
        pl.lit(0.0).alias("on_hand"), pl.lit(0.0).alias("on_order"), pl.lit(0.0).alias("price")
    )
    policy = suggest(positions, request).select(
        *IDS, "date", "order_up_to", "pack_size", "lead_time_mean"
    )
    replay = replay_policy(
        trailing.drop("base_mean", "base_sd", "promo_uplift", "is_demand_estimated"),
        policy,
        months=request.replay_months,
        review_days=request.review_days,
        lead_times=lead_time_days(before),
        seed=0,
    )
    return replay.summary.with_columns(
        pl.lit(request.service_level).alias("service_level"),
        pl.lit(request.kind).alias("service_kind"),
        pl.lit(start).alias("replay_start"),
        pl.lit(last).alias("replay_end"),
    )


def _baseline(units: pl.Expr, how: str) -> pl.Expr:
    """The mean or spread of the `DEMAND_DAYS` days before each day, over the days the shelf
    did not end empty and no promotion ran (a day's own sales are not known when it opens)."""
    normal = ~pl.col("is_stockout").fill_null(value=False) & ~pl.col("is_promo").fill_null(
        value=False
    )
    values = pl.when(normal).then(units.cast(pl.Float64))
    rolling = getattr(values, how)(DEMAND_DAYS, min_samples=7)
    return rolling.shift(1).over(IDS, order_by="date")


def _uplift(sales: pl.DataFrame) -> pl.DataFrame:
    from analytics.replenishment import promotion_uplift

    return promotion_uplift(sales)


def _plan(
    plans: pl.DataFrame,
    tables: dict[str, pl.DataFrame],
    lead: pl.DataFrame,
    uplift: pl.DataFrame,
    review_days: int,
) -> pl.DataFrame:
    """`plans` (ids, date, base_mean, base_sd) with the lead time, the pack size and the
    demand to plan with over the lead time plus `review_days` (`plan_demand`)."""
    from analytics.replenishment import plan_demand
    from analytics.risk_features import known_promotion_days

    products = tables["products"].select("product_id", "pack_size", "lead_time_days")
    with_lead = (
        plans.join(products, on="product_id")
        .join(lead, on=IDS, how="left")
        .with_columns(
            pl.col("base_mean").fill_null(0.0).clip(lower_bound=0.0),
            pl.col("base_sd").fill_null(0.0).clip(lower_bound=0.0),
            pl.col("lead_time_mean").fill_null(pl.col("lead_time_days").cast(pl.Float64)),
            pl.col("lead_time_sd").fill_null(0.0),
        )
        .with_columns(
            (pl.col("lead_time_mean").round().cast(pl.Int64) + review_days).alias("protection_days")
        )
        .drop("lead_time_days")
    )
    promo_days = (
        known_promotion_days(tables["promotions"], tables["stores"]).select(*IDS, "date").collect()
    )
    return plan_demand(with_lead, promo_days, uplift).drop("protection_days")


def write_predictions(con: duckdb.DuckDBPyConnection, result: PredictResult) -> dict[str, int]:
    """Replace the prediction tables in `con` (a copy being published); their row counts."""
    counts: dict[str, int] = {}
    for table, frame in result.tables.items():
        con.register("incoming", frame)
        try:
            con.execute(f"create or replace table {table} as select * from incoming")
        finally:
            con.unregister("incoming")
        counts[table] = frame.height
    return counts
