"""Replenishment: safety stock, reorder point and order quantity per store x product, and a replay
of the policy over history against what actually happened.

The policy is periodic review, order-up-to (R, S), as the synthetic stores run it
(`data/simulate.py`): every `review_days` (R) days the store orders enough to bring its inventory
position (on hand plus on order) up to S, in whole packs. An order placed now arrives after the
lead time L, and the next one can be placed only R days later, so the stock must cover the
protection interval L + R. Per series, with d and sd the mean and standard deviation of daily
demand (from the forecast: its mean and, say, its backtest residuals or interval width) and
L and sd_L those of the lead time in days (`lead_time_stats`):

- sigma_lead_time = sqrt(L sd^2 + d^2 sd_L^2): demand over the lead time, with its variability;
  sigma_protection is the same over L + R.
- safety_factor k: for a cycle service level (the chance a cycle ends without a stockout),
  k = Phi^-1(level); for a fill rate (the share of demand served from the shelf), k solves
  G(k) = (1 - fill) Q / sigma_protection, G the standard normal loss function
  G(k) = phi(k) - k (1 - Phi(k)) and Q = max(d R, pack_size) the units ordered per cycle.
- safety_stock = k sigma_protection (negative for a CSL under 50%); order_up_to
  S = d (L + R) + safety_stock; reorder_point = d L + safety_stock = S - d R, the position below
  which the shelf is expected to reach its safety stock before an order placed now arrives.
- suggested_order = max(0, S - (on_hand + on_order)) rounded up to a multiple of pack_size.
- expected_lost_units if nothing is ordered: E[(D_L - on_hand - on_order)^+] for the lead-time
  demand D_L ~ N(d L, sigma_lead_time^2), that is sigma_lead_time G((position - d L) /
  sigma_lead_time) (what is on order counts as available over the whole lead time);
  expected_lost_revenue is that times the price.

`replay_policy` runs an order-up-to policy day by day over the last months of history (see its
docstring) and sets it beside what happened. Bad input raises ValueError with a one-line message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import special

from analytics.features import ID_COLS, TARGET_COL, TIME_COL
from analytics.table import Array

POSITION_COLUMNS: Final = (
    "on_hand",
    "on_order",
    "demand_mean",
    "demand_sd",
    "lead_time_mean",
    "lead_time_sd",
    "pack_size",
    "price",
)
OPTIONAL_ZERO: Final = ("on_order", "lead_time_sd")  # a null one is taken as 0
SUGGESTION_COLUMNS: Final = (
    "safety_factor",
    "sigma_lead_time",
    "sigma_protection",
    "inventory_position",
    "safety_stock",
    "reorder_point",
    "order_up_to",
    "suggested_order",
    "expected_lost_units",
    "expected_lost_revenue",
)
_EPS: Final = 1e-9  # slack for float comparisons of units


def check_service_level(service_level: float) -> None:
    """Raise ValueError unless 0 < service_level < 1."""
    if not 0.0 < service_level < 1.0:
        raise ValueError(
            f"the service level must be between 0 and 1 (exclusive), not {service_level}"
        )


def normal_loss(k: Array) -> Array:
    """The standard normal loss function G(k) = E[(Z - k)^+] = phi(k) - k (1 - Phi(k))."""
    k = np.asarray(k, dtype=np.float64)
    pdf = np.exp(-0.5 * k * k) / np.sqrt(2 * np.pi)
    return np.asarray(pdf - k * special.ndtr(-k), dtype=np.float64)


def fill_rate_factor(target: Array) -> Array:
    """The k with G(k) = target (target = (1 - fill) Q / sigma), by Newton's method: G is convex
    and decreasing, and -target lies left of the root (G(k) > -k), so the iterates rise
    monotonically to it. +inf for a target of 0, -inf for an infinite one."""
    t = np.asarray(target, dtype=np.float64)
    is_finite = np.isfinite(t) & (t > 0)
    k = np.where(is_finite, -t, 0.0)
    for _ in range(200):
        step = (normal_loss(k) - t) / special.ndtr(-k)  # G'(k) = -(1 - Phi(k))
        step = np.where(is_finite, step, 0.0)
        k = k + step
        if not np.any(np.abs(step) > 1e-13 * np.maximum(1.0, np.abs(k))):
            break
    return np.where(is_finite, k, np.where(t > 0, -np.inf, np.inf))


def suggest_orders(
    positions: pl.DataFrame,
    *,
    service_level: float,
    kind: Literal["cycle", "fill_rate"],
    review_days: int = 7,
) -> pl.DataFrame:
    """Per row of `positions` (one per series: the ids, such as store_id and product_id, and
    `POSITION_COLUMNS`: on_hand, on_order, demand_mean and demand_sd per day over the coming
    days, lead_time_mean and lead_time_sd in days, pack_size, price), the same row with
    `SUGGESTION_COLUMNS` added (see the module docstring; safety_factor is null, and the
    safety stock 0, where sigma_protection is 0). `kind` says whether
    `service_level` is a cycle service level or a fill rate; orders are placed every
    `review_days` days. Null on_order or lead_time_sd count as 0."""
    check_service_level(service_level)
    if kind not in ("cycle", "fill_rate"):
        raise ValueError(f"kind must be 'cycle' or 'fill_rate', not {kind!r}")
    if review_days < 1:
        raise ValueError(f"review_days must be at least 1, not {review_days}")
    missing = [c for c in POSITION_COLUMNS if c not in positions.columns]
    if missing:
        raise ValueError(f"the positions lack the column(s) {', '.join(missing)}")
    values = {
        c: positions.get_column(c).cast(pl.Float64).fill_null(0.0)
        if c in OPTIONAL_ZERO
        else positions.get_column(c).cast(pl.Float64)
        for c in POSITION_COLUMNS
    }
    nulls = [c for c, s in values.items() if s.null_count()]
    if nulls:
        raise ValueError(f"the positions have nulls in {', '.join(nulls)}")
    a = {c: s.to_numpy() for c, s in values.items()}
    if (a["pack_size"] < 1).any() or (a["demand_sd"] < 0).any() or (a["lead_time_sd"] < 0).any():
        raise ValueError("pack_size must be at least 1 and the standard deviations non-negative")
    d, lead = a["demand_mean"], a["lead_time_mean"]
    spread = a["demand_sd"] ** 2
    drift = (d * a["lead_time_sd"]) ** 2
    sigma_lead = np.sqrt(lead * spread + drift)
    sigma = np.sqrt((lead + review_days) * spread + drift)
    if kind == "cycle":
        k = np.full(len(d), float(special.ndtri(service_level)))
    else:
        cycle_units = np.maximum(d * review_days, a["pack_size"])
        with np.errstate(divide="ignore"):
            k = fill_rate_factor((1 - service_level) * cycle_units / sigma)
    safety = np.where(sigma > 0, k, 0.0) * sigma  # no uncertainty, no safety stock
    up_to = d * (lead + review_days) + safety
    position = a["on_hand"] + a["on_order"]
    pack = a["pack_size"]
    order = np.ceil(np.maximum(up_to - position, 0.0) / pack - _EPS).clip(min=0) * pack
    lost = np.where(
        sigma_lead > 0,
        sigma_lead * normal_loss((position - d * lead) / np.where(sigma_lead > 0, sigma_lead, 1)),
        np.maximum(d * lead - position, 0.0),
    )
    out = {
        "safety_factor": np.where(np.isfinite(k) & (sigma > 0), k, np.nan),
        "sigma_lead_time": sigma_lead,
        "sigma_protection": sigma,
        "inventory_position": position,
        "safety_stock": safety,
        "reorder_point": d * lead + safety,
        "order_up_to": up_to,
        "suggested_order": order.astype(np.int64),
        "expected_lost_units": lost,
        "expected_lost_revenue": lost * a["price"],
    }
    return positions.with_columns(
        pl.Series(name, column).fill_nan(None)
        if column.dtype.kind == "f"
        else pl.Series(name, column)
        for name, column in out.items()
    )


def promotion_uplift(
    sales: pl.DataFrame,
    *,
    product_col: str = "product_id",
    target_col: str = TARGET_COL,
    max_uplift: float = 10.0,
) -> pl.DataFrame:
    """Per product: `promo_uplift`, the mean units sold on promotion days over the mean on other
    days, pooled over the stores, counting only days the shelf did not end empty (`sales`:
    `product_col`, `target_col`, `is_promo`, `is_stockout`). 1 when either kind of day is
    missing or sold nothing; clipped to [1, `max_uplift`]."""
    uncensored = sales.filter(~pl.col("is_stockout").fill_null(value=False))
    units = pl.col(target_col).cast(pl.Float64)
    is_promo = pl.col("is_promo").fill_null(value=False)
    return uncensored.group_by(product_col).agg(
        (units.filter(is_promo).mean() / units.filter(~is_promo).mean())
        .fill_nan(None)
        .fill_null(1.0)
        .clip(1.0, max_uplift)
        .alias("promo_uplift")
    )


def plan_demand(
    plans: pl.DataFrame,
    promo_days: pl.DataFrame,
    uplift: pl.DataFrame,
    *,
    id_cols: Sequence[str] = ID_COLS,
    time_col: str = TIME_COL,
) -> pl.DataFrame:
    """The daily demand to plan an order with, from a baseline and the promotions planned ahead.

    `plans`: ids, `time_col` (the day the order is placed), `base_mean` and `base_sd` (daily
    demand without a promotion) and `protection_days` (the days the order must cover);
    `promo_days`: ids and `time_col` of every day a promotion is planned; `uplift`: product_id
    and `promo_uplift` (`promotion_uplift`). Returns `plans` with `promo_share` (the share of
    the protection days after `time_col` under a promotion) and `demand_mean` and `demand_sd`:
    the baseline's times 1 + (uplift - 1) x promo_share (the spread grows with the level)."""
    ids = list(id_cols)
    keys = plans.select(*ids, time_col, "protection_days").unique()
    ahead = (
        keys.join(promo_days.select(*ids, pl.col(time_col).alias("_promo")), on=ids)
        .filter(
            pl.col("_promo") > pl.col(time_col),
            pl.col("_promo") <= pl.col(time_col) + pl.duration(days=pl.col("protection_days")),
        )
        .group_by(*ids, time_col)
        .agg(pl.len().alias("_promo_days"))
    )
    factor = 1 + (pl.col("promo_uplift").fill_null(1.0) - 1) * pl.col("promo_share")
    return (
        plans.join(ahead, on=[*ids, time_col], how="left", maintain_order="left")
        .join(uplift.select("product_id", "promo_uplift"), on="product_id", how="left")
        .with_columns(
            (
                pl.col("_promo_days").fill_null(0).cast(pl.Float64)
                / pl.col("protection_days").clip(lower_bound=1)
            ).alias("promo_share")
        )
        .with_columns(
            (pl.col("base_mean") * factor).alias("demand_mean"),
            (pl.col("base_sd") * factor).alias("demand_sd"),
        )
        .drop("_promo_days", "promo_uplift")
    )


def lead_time_days(
    replenishments: pl.DataFrame,
    *,
    id_cols: Sequence[str] = ID_COLS,
    order_col: str = "order_date",
    delivered_col: str = "delivered_date",
) -> pl.DataFrame:
    """The ids, `order_col` and `lead_time_days` (delivery less order date) of every delivered
    order (late and short ones too: their lead time is what the variability is made of)."""
    ids = [c for c in id_cols if c in replenishments.columns]
    return replenishments.filter(pl.col(delivered_col).is_not_null()).select(
        *ids,
        order_col,
        (pl.col(delivered_col) - pl.col(order_col)).dt.total_days().alias("lead_time_days"),
    )


def lead_time_stats(
    replenishments: pl.DataFrame,
    *,
    id_cols: Sequence[str] = ID_COLS,
    order_col: str = "order_date",
    delivered_col: str = "delivered_date",
) -> pl.DataFrame:
    """Per `id_cols` (default store x product; ("product_id",) pools the stores): the
    `lead_time_mean` and `lead_time_sd` (sample; 0 from a single order) of the delivered orders
    and how many there were, `lead_time_orders`."""
    days = lead_time_days(
        replenishments, id_cols=id_cols, order_col=order_col, delivered_col=delivered_col
    )
    ids = [c for c in id_cols if c in days.columns]
    return (
        days.group_by(ids)
        .agg(
            pl.col("lead_time_days").cast(pl.Float64).mean().alias("lead_time_mean"),
            pl.col("lead_time_days").cast(pl.Float64).std().fill_null(0.0).alias("lead_time_sd"),
            pl.len().cast(pl.Int64).alias("lead_time_orders"),
        )
        .sort(ids)
    )


@dataclass(frozen=True)
class Replay:
    """`summary`: one row per series (see `replay_policy`); `days`: one per series and day."""

    summary: pl.DataFrame
    days: pl.DataFrame


def replay_policy(
    history: pl.DataFrame,
    policy: pl.DataFrame,
    *,
    months: int = 3,
    review_days: int = 7,
    lead_times: pl.DataFrame | None = None,
    seed: int = 0,
    demand_col: str = "demand",
    id_cols: Sequence[str] = ID_COLS,
    time_col: str = TIME_COL,
    target_col: str = TARGET_COL,
    price_col: str = "price",
) -> Replay:
    """Run the order-up-to `policy` day by day over the last `months` months of `history`
    (the window ends on its last date) and set it beside what happened.

    `history`: ids, `time_col`, `target_col` (sales), `price_col`, `is_stockout`,
    `stock_begin`, `received_units` and optionally `demand_col` (the stockout-corrected demand;
    without it the demand is the sales, a lower bound on stockout days). `policy`: ids,
    `order_up_to`, `pack_size` and `lead_time_mean`, one row per series, or per series and
    `time_col` for a level re-planned over time (the last at or before each day applies; before
    the first, the first). Series in only one of the two are left out.

    Each day: deliveries due arrive, the shelf sells min(demand, stock), and on review days
    (every `review_days` days from the window's first) a position below the order-up-to level
    orders the difference in whole packs. It arrives `L` days later: L drawn (with `seed`) from
    the series' observed `lead_times` (ids such as store_id and product_id, or product_id
    alone, `lead_time_days`, and `order_date` when present: only orders placed before the
    window count), or the rounded mean when none are given. The replay starts from the actual
    stock of the first day, and the actual deliveries of its first rounded-mean-lead-time days
    arrive as they did (their orders were placed before the window).

    `Replay.days`: per series and day, `demand`, `price_col`, `policy_received`, `policy_sold`,
    `policy_ordered`, `policy_stock_end`, `is_policy_stockout` (ended the day empty, as
    `is_stockout` does), and the actual `units_sold`, `stock_end` and `is_stockout`. Days missing
    from the history have no demand. `Replay.summary`, per series over the days in the history:
    `days`, `demand_units`, then for `policy_` and `actual_`: `fill_rate` (sales over demand),
    `stockout_days`, `lost_units`, `lost_revenue`, `average_stock` (end of day), and
    `policy_orders`.
    """
    if months < 1 or review_days < 1:
        raise ValueError(f"months and review_days must be at least 1, not {months}, {review_days}")
    ids = [c for c in id_cols if c in history.columns]
    needed = [*ids, time_col, target_col, price_col, "is_stockout", "stock_begin", "received_units"]
    missing = [c for c in needed if c not in history.columns]
    missing += [
        c for c in ("order_up_to", "pack_size", "lead_time_mean") if c not in policy.columns
    ]
    if missing:
        raise ValueError(f"the history or policy lacks the column(s) {', '.join(missing)}")
    last: dt.date = history.get_column(time_col).max()  # type: ignore[assignment]
    first: dt.date = history.get_column(time_col).min()  # type: ignore[assignment]
    start = max(_months_before(last, months), first)
    n_days = (last - start).days + 1
    keys = (
        policy.group_by(ids, maintain_order=True)
        .agg(pl.col("pack_size").first(), pl.col("lead_time_mean").first())
        .join(history.select(ids).unique(), on=ids)
        .sort(ids)
        .with_row_index("series")
    )
    n = keys.height
    frame = history.filter(pl.col(time_col) >= start).join(keys.select(*ids, "series"), on=ids)
    demand = demand_col if demand_col in frame.columns else target_col
    frame = frame.with_columns(
        (pl.col(time_col) - pl.lit(start)).dt.total_days().alias("day"),
        pl.col(demand).cast(pl.Float64).fill_null(pl.col(target_col)).alias("demand"),
    )
    day, series = frame["day"].to_numpy(), frame["series"].to_numpy()

    def grid(column: str) -> Array:
        out = np.zeros((n_days, n), dtype=np.float64)
        out[day, series] = frame.get_column(column).cast(pl.Float64).fill_null(0.0).to_numpy()
        return out

    want, received = grid("demand"), grid("received_units")
    begin = grid("stock_begin")
    pack = keys["pack_size"].cast(pl.Float64).to_numpy()
    mean_lead = np.maximum(np.round(keys["lead_time_mean"].to_numpy()), 1).astype(np.int64)
    levels = _levels(policy, keys, ids, start, n_days, time_col)
    pool, offset, count = _lead_pools(lead_times, keys, ids, start)
    rng = np.random.default_rng(seed)
    max_lead = int(max(mean_lead.max(initial=1), pool.max(initial=1)))
    arrivals = np.zeros((n_days + max_lead + 1, n), dtype=np.float64)
    is_early = np.arange(n_days)[:, None] < mean_lead[None, :]
    arrivals[:n_days] = np.where(is_early, received, 0.0)
    on_order = arrivals[:n_days].sum(axis=0)
    stock = begin[0].copy()
    paths = {k: np.zeros((n_days, n)) for k in ("received", "sold", "ordered", "stock_end")}
    for d in range(n_days):
        arriving = arrivals[d]
        on_order -= arriving
        available = stock + arriving
        sold = np.minimum(want[d], available)
        stock = available - sold
        paths["received"][d], paths["sold"][d], paths["stock_end"][d] = arriving, sold, stock
        if d % review_days:
            continue
        gap = levels[d] - (stock + on_order)
        idx = np.flatnonzero(gap > _EPS)  # a NaN level (no policy) orders nothing
        if idx.size == 0:
            continue
        qty = np.ceil(gap[idx] / pack[idx] - _EPS) * pack[idx]
        lead = mean_lead[idx]
        has_pool = count[idx] > 0
        draw = offset[idx] + np.floor(rng.random(idx.size) * count[idx]).astype(np.int64)
        lead = np.where(has_pool, pool[np.where(has_pool, draw, 0)] if pool.size else 0, lead)
        lead = np.maximum(lead, 1)
        np.add.at(arrivals, (d + lead, idx), qty)
        on_order[idx] += qty
        paths["ordered"][d, idx] = qty
    return _replay_frames(
        frame, keys, ids, start, n_days, want, paths, time_col, target_col, price_col
    )


def _months_before(last: dt.date, months: int) -> dt.date:
    """The first day of the `months` months that end on `last`."""
    earlier: dt.date = pl.Series([last]).dt.offset_by(f"-{months}mo")[0]
    return earlier + dt.timedelta(days=1)


def _levels(
    policy: pl.DataFrame,
    keys: pl.DataFrame,
    ids: list[str],
    start: dt.date,
    n_days: int,
    time_col: str,
) -> Array:
    """The order-up-to level per (day, series): constant, or the last set at or before each
    day (the first one before it is set); NaN for a series without a level."""
    n = keys.height
    if time_col not in policy.columns:
        level = keys.join(
            policy.group_by(ids).agg(pl.col("order_up_to").first()), on=ids, how="left"
        )
        row = level.sort("series")["order_up_to"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        return np.tile(row, (n_days, 1))
    dated = (
        policy.join(keys.select(*ids, "series"), on=ids)
        .with_columns(
            (pl.col(time_col).cast(pl.Date) - pl.lit(start))
            .dt.total_days()
            .clip(lower_bound=0)
            .alias("day")
        )
        .filter(pl.col("day") < n_days, pl.col("order_up_to").is_not_null())
        .sort(time_col)
        .group_by("series", "day")
        .agg(pl.col("order_up_to").last())
    )
    levels = np.full((n_days, n), np.nan)
    levels[dated["day"].to_numpy(), dated["series"].to_numpy()] = (
        dated["order_up_to"].cast(pl.Float64).to_numpy()
    )
    is_set = ~np.isnan(levels)
    rows = np.maximum.accumulate(np.where(is_set, np.arange(n_days)[:, None], 0), axis=0)
    first = np.argmax(is_set, axis=0)
    rows = np.maximum(rows, first[None, :])  # before the first level set, the first
    filled: Array = levels[rows, np.arange(n)[None, :]]
    return filled


def _lead_pools(
    lead_times: pl.DataFrame | None, keys: pl.DataFrame, ids: list[str], start: dt.date
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The observed lead times of every series, concatenated in series order, with each
    series' offset into them and count (0: none observed)."""
    n = keys.height
    empty = np.zeros(0, dtype=np.int64)
    if lead_times is None:
        return empty, np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    key = [c for c in ids if c in lead_times.columns]
    if not key:
        raise ValueError(f"lead_times needs at least one of the columns {', '.join(ids)}")
    observed = lead_times.filter(pl.col("lead_time_days").is_not_null())
    if "order_date" in observed.columns:
        observed = observed.filter(pl.col("order_date") < start)
    pooled = (
        keys.select(*key, "series")
        .join(observed.select(*key, "lead_time_days"), on=key)
        .sort("series", maintain_order=True)
    )
    series = pooled["series"].to_numpy().astype(np.int64)
    count = np.bincount(series, minlength=n).astype(np.int64)
    offset = np.cumsum(count) - count
    pool = pooled["lead_time_days"].cast(pl.Int64).to_numpy().astype(np.int64)
    return pool, offset, count


def _replay_frames(
    frame: pl.DataFrame,
    keys: pl.DataFrame,
    ids: list[str],
    start: dt.date,
    n_days: int,
    want: Array,
    paths: dict[str, Array],
    time_col: str,
    target_col: str,
    price_col: str,
) -> Replay:
    n = keys.height
    dates = pl.date_range(start, start + dt.timedelta(days=n_days - 1), "1d", eager=True)

    def flat(a: Array) -> Array:
        return np.ascontiguousarray(a.T).reshape(-1)

    stock_end = (
        pl.col("stock_end")
        if "stock_end" in frame.columns
        else pl.col("stock_begin") + pl.col("received_units") - pl.col(target_col)
    )
    actual = frame.select(
        *ids,
        pl.col(time_col).cast(pl.Date),
        pl.col(price_col).cast(pl.Float64),
        pl.col(target_col).cast(pl.Float64).alias("units_sold"),
        stock_end.cast(pl.Float64).alias("stock_end"),
        pl.col("is_stockout"),
        pl.lit(value=True).alias("is_in_history"),
    )
    days = (
        pl.DataFrame(
            {
                **{c: np.repeat(keys[c].to_numpy(), n_days) for c in ids},
                time_col: pl.concat([dates] * n) if n else dates.clear(),
                "demand": flat(want),
                **{f"policy_{k}": flat(v) for k, v in paths.items()},
            }
        )
        .with_columns((pl.col("policy_stock_end") <= _EPS).alias("is_policy_stockout"))
        .join(actual, on=[*ids, time_col], how="left", maintain_order="left")
        .with_columns(pl.col("is_in_history").fill_null(value=False))
    )
    policy_lost = pl.col("demand") - pl.col("policy_sold")
    actual_lost = (pl.col("demand") - pl.col("units_sold")).clip(lower_bound=0.0)
    summary = (
        days.filter("is_in_history")
        .group_by(ids, maintain_order=True)
        .agg(
            pl.len().cast(pl.Int64).alias("days"),
            pl.col("demand").sum().alias("demand_units"),
            (pl.col("policy_sold").sum() / pl.col("demand").sum()).alias("policy_fill_rate"),
            pl.col("is_policy_stockout").sum().cast(pl.Int64).alias("policy_stockout_days"),
            policy_lost.sum().alias("policy_lost_units"),
            (policy_lost * pl.col(price_col)).sum().alias("policy_lost_revenue"),
            pl.col("policy_stock_end").mean().alias("policy_average_stock"),
            (pl.col("policy_ordered") > 0).sum().cast(pl.Int64).alias("policy_orders"),
            (pl.col("units_sold").sum() / pl.col("demand").sum()).alias("actual_fill_rate"),
            pl.col("is_stockout").sum().cast(pl.Int64).alias("actual_stockout_days"),
            actual_lost.sum().alias("actual_lost_units"),
            (actual_lost * pl.col(price_col)).sum().alias("actual_lost_revenue"),
            pl.col("stock_end").mean().alias("actual_average_stock"),
        )
        .with_columns(pl.col("policy_fill_rate", "actual_fill_rate").fill_nan(None))
    )
    return Replay(summary=summary, days=days.drop("is_in_history"))
