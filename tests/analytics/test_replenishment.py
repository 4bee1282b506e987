"""Replenishment: safety stock and order quantities on hand-made positions, the fill-rate factor
against the loss function, a replay computed by hand, and the replay of a 95% policy on the tiny
database against what its stores did."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Final, Literal

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy import integrate, stats

from analytics import replenishment

LEVELS: Final = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999)
KINDS: Final[tuple[Literal["cycle", "fill_rate"], ...]] = ("cycle", "fill_rate")
# tiny_db, a 95% CSL policy with weekly review replayed over the last 3 months (2025-10-01 to
# 2025-12-31) of the 144 series, planned each day from the generator's expected demand (a
# perfect forecast of the mean over the lead time plus review days, promotions and Christmas
# included) with the sd of its daily errors over the 28 days before; lead times drawn from the
# orders delivered before the window; the actual demand is the true demand. Measured (seed 0):
# 53 policy stockout days against 211 (0.25); of the 63 series that ran out, 57 (0.905) run
# out on fewer days; 133 of 144 series (0.924) on no more days; fill rate 0.9947 against
# 0.9809 (demand-weighted); lost revenue 914 against 5141 EUR; mean end-of-day stock 42.8
# units a series against 41.3 (1.036).
STOCKOUT_DAYS_RATIO_MAX: Final = 0.5
FEWER_SHARE_MIN: Final = 0.75  # among series that ran out
NO_MORE_SHARE_MIN: Final = 0.85  # among all series
STOCK_RATIO_MAX: Final = 1.25
REVIEW_DAYS: Final = 7


def positions(**overrides: object) -> pl.DataFrame:
    """One row per combination of a few demand and lead-time profiles, on hand 0."""
    rows = [
        {"demand_mean": d, "demand_sd": sd, "lead_time_mean": lead, "lead_time_sd": lead_sd}
        for d, sd, lead, lead_sd in itertools.product(
            (0.5, 4.0, 40.0), (0.5, 3.0, 20.0), (1.0, 3.0, 6.0), (0.0, 1.0, 2.5)
        )
    ]
    frame = (
        pl.DataFrame(rows)
        .with_row_index("product_id")
        .with_columns(store_id=pl.lit(1), on_hand=0.0, on_order=0.0, pack_size=6, price=2.5)
    )
    return frame.with_columns(**{k: pl.lit(v) for k, v in overrides.items()})


@pytest.mark.parametrize("kind", KINDS)
def test_safety_stock_grows_with_service_level(kind: Literal["cycle", "fill_rate"]) -> None:
    frame = positions()
    safety = np.column_stack(
        [
            replenishment.suggest_orders(frame, service_level=level, kind=kind)["safety_stock"]
            for level in LEVELS
        ]
    )
    assert (np.diff(safety, axis=1) > 0).all()


@pytest.mark.parametrize("kind", KINDS)
def test_safety_stock_grows_with_lead_time_variability(
    kind: Literal["cycle", "fill_rate"],
) -> None:
    safety = np.column_stack(
        [
            replenishment.suggest_orders(
                positions(lead_time_sd=lead_sd), service_level=0.95, kind=kind
            )["safety_stock"]
            for lead_sd in (0.0, 0.5, 1.0, 2.0, 4.0)
        ]
    )
    assert (np.diff(safety, axis=1) > 0).all()


def test_safety_stock_follows_the_cycle_formula() -> None:
    row = pl.DataFrame(
        {
            "store_id": [1],
            "product_id": [1],
            "on_hand": [10.0],
            "on_order": [5.0],
            "demand_mean": [4.0],
            "demand_sd": [2.0],
            "lead_time_mean": [3.0],
            "lead_time_sd": [1.0],
            "pack_size": [6],
            "price": [2.0],
        }
    )
    out = replenishment.suggest_orders(row, service_level=0.95, kind="cycle", review_days=7)
    sigma = np.sqrt(10 * 2.0**2 + 4.0**2 * 1.0**2)  # L + R = 10 days
    safety = stats.norm.ppf(0.95) * sigma
    assert out["sigma_lead_time"][0] == pytest.approx(np.sqrt(3 * 4.0 + 16.0), rel=1e-12)
    assert out["safety_stock"][0] == pytest.approx(safety, rel=1e-12)
    assert out["order_up_to"][0] == pytest.approx(40.0 + safety, rel=1e-12)
    assert out["reorder_point"][0] == pytest.approx(12.0 + safety, rel=1e-12)
    # 40 + 1.645 x 7.48 = 52.3 up to, less 15 in position: 37.3, up to 7 packs of 6
    assert out["suggested_order"][0] == 42


@pytest.mark.parametrize("kind", KINDS)
def test_certain_demand_needs_no_safety_stock(kind: Literal["cycle", "fill_rate"]) -> None:
    frame = positions(demand_mean=4.0, demand_sd=0.0, lead_time_sd=0.0, on_hand=3.0).head(3)
    out = replenishment.suggest_orders(frame, service_level=0.99, kind=kind, review_days=7)
    assert out["safety_stock"].to_list() == [0.0, 0.0, 0.0]
    assert out["safety_factor"].null_count() == 3  # no spread to scale
    # 4 a day over 1 + 7 days, less 3 on hand: 29, up to 5 packs of 6
    assert out["suggested_order"].to_list() == [30, 30, 30]
    assert out["expected_lost_units"].to_list() == [1.0, 1.0, 1.0]  # 4 in the lead time, 3 on hand


def test_fill_rate_factor_solves_the_loss_equation() -> None:
    targets = np.geomspace(1e-8, 50.0, 400)
    k = replenishment.fill_rate_factor(targets)
    np.testing.assert_allclose(replenishment.normal_loss(k), targets, rtol=1e-9, atol=0)


def test_fill_rate_safety_factor_solves_the_loss_equation() -> None:
    frame = positions()
    out = replenishment.suggest_orders(frame, service_level=0.97, kind="fill_rate", review_days=3)
    cycle_units = np.maximum(out["demand_mean"].to_numpy() * 3, 6.0)
    expected = 0.03 * cycle_units / out["sigma_protection"].to_numpy()
    loss = replenishment.normal_loss(out["safety_factor"].to_numpy())
    np.testing.assert_allclose(loss, expected, rtol=1e-9, atol=0)


def test_normal_loss_matches_its_integral() -> None:
    for k in (-2.0, -0.3, 0.0, 1.0, 2.5):
        value, _ = integrate.quad(lambda z, k=k: (z - k) * stats.norm.pdf(z), k, np.inf)
        assert replenishment.normal_loss(np.array([k]))[0] == pytest.approx(value, rel=1e-9)


def test_suggested_order_is_a_multiple_of_the_pack_size() -> None:
    frame = pl.concat(
        [
            positions(on_hand=float(on_hand), pack_size=pack)
            for on_hand in (0, 7, 33)
            for pack in (1, 6, 24)
        ]
    )
    out = replenishment.suggest_orders(frame, service_level=0.9, kind="cycle")
    order, pack = out["suggested_order"].to_numpy(), out["pack_size"].to_numpy()
    gap = (out["order_up_to"] - out["inventory_position"]).to_numpy()
    assert (order % pack == 0).all()
    assert (order >= gap - 1e-9).all()
    assert (order < np.maximum(gap, 0) + pack).all()


def test_suggested_order_is_zero_above_the_order_up_to_level() -> None:
    frame = positions()
    level = replenishment.suggest_orders(frame, service_level=0.9, kind="cycle")["order_up_to"]
    above = frame.with_columns(on_hand=level * 0.7 + 0.5, on_order=level * 0.3)
    out = replenishment.suggest_orders(above, service_level=0.9, kind="cycle")
    assert (out["suggested_order"] == 0).all()


def test_expected_lost_units_are_the_normal_shortfall() -> None:
    frame = positions(on_hand=5.0, on_order=3.0)
    out = replenishment.suggest_orders(frame, service_level=0.9, kind="cycle")
    for row in out.iter_rows(named=True):
        mean = row["demand_mean"] * row["lead_time_mean"]
        sd = row["sigma_lead_time"]
        value, _ = integrate.quad(
            lambda x, m=mean, s=sd: (x - 8.0) * stats.norm.pdf(x, m, s),
            8.0,
            max(8.0, mean + 12 * sd),
            points=[mean] if mean > 8.0 else None,
            epsabs=1e-12,
            epsrel=1e-11,
        )
        assert row["expected_lost_units"] == pytest.approx(value, rel=1e-8, abs=1e-10)
        assert row["expected_lost_revenue"] == pytest.approx(2.5 * row["expected_lost_units"])


@pytest.mark.parametrize("level", [0.0, 1.0, -0.2, 95.0])
def test_bad_service_level_raises_one_line(level: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1") as error:
        replenishment.suggest_orders(positions(), service_level=level, kind="cycle")
    assert "\n" not in str(error.value)


def test_lead_time_stats_from_delivered_orders() -> None:
    orders = pl.DataFrame(
        {
            "store_id": [1, 1, 1, 1, 2],
            "product_id": [7, 7, 7, 7, 7],
            "order_date": [dt.date(2025, 1, d) for d in (1, 5, 9, 20, 3)],
            "delivered_date": [
                dt.date(2025, 1, 3),
                dt.date(2025, 1, 7),
                dt.date(2025, 1, 14),
                None,
                dt.date(2025, 1, 6),
            ],
        }
    )
    expected = pl.DataFrame(
        {
            "store_id": [1, 2],
            "product_id": [7, 7],
            "lead_time_mean": [3.0, 3.0],
            "lead_time_sd": [np.sqrt(3.0), 0.0],  # 2, 2, 5: variance (1 + 1 + 4) / 2
            "lead_time_orders": [3, 1],
        }
    )
    assert_frame_equal(replenishment.lead_time_stats(orders), expected)
    pooled = replenishment.lead_time_stats(orders, id_cols=("product_id",))
    assert pooled.row(0) == (7, 3.0, pytest.approx(np.sqrt(2.0), rel=1e-12), 4)  # 2, 2, 5, 3


def ten_days(demand: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "store_id": 1,
            "product_id": 1,
            "date": pl.date_range(dt.date(2025, 3, 1), dt.date(2025, 3, 10), "1d", eager=True),
            "units_sold": [min(x, 5) for x in demand],
            "demand": [float(x) for x in demand],
            "price": 2.0,
            "is_stockout": [x >= 5 for x in demand],
            "stock_begin": [5] * 10,
            "received_units": [3, 0, 9, 9, 9, 9, 9, 9, 9, 9],
        }
    )


def test_replay_reproduces_a_hand_computed_case() -> None:
    demand = [4, 6, 3, 8, 2, 0, 7, 5, 1, 6]
    policy = pl.DataFrame(
        {
            "store_id": [1],
            "product_id": [1],
            "order_up_to": [10.0],
            "pack_size": [1],
            "lead_time_mean": [2.0],
        }
    )
    replay = replenishment.replay_policy(ten_days(demand), policy, months=1, review_days=1)
    # Start: 5 on hand, and the 3 units received on day 0 were ordered before (the first two
    # days' receipts arrive as they did: 3 and 0). Each day: receive, sell min(demand, stock),
    # order 10 - (stock + on order), which arrives two days later.
    # day  recv avail sold end  on order  order
    #  0    3     8    4    4     0        6
    #  1    0     4    4    0     6        4   (2 lost)
    #  2    6     6    3    3     4        3
    #  3    4     7    7    0     3        7   (1 lost)
    #  4    3     3    2    1     7        2
    #  5    7     8    0    8     2        0
    #  6    2    10    7    3     0        7
    #  7    0     3    3    0     7        3   (2 lost)
    #  8    7     7    1    6     3        1
    #  9    3     9    6    3     1        6
    days = replay.days
    assert days["policy_received"].to_list() == [3, 0, 6, 4, 3, 7, 2, 0, 7, 3]
    assert days["policy_sold"].to_list() == [4, 4, 3, 7, 2, 0, 7, 3, 1, 6]
    assert days["policy_stock_end"].to_list() == [4, 0, 3, 0, 1, 8, 3, 0, 6, 3]
    assert days["policy_ordered"].to_list() == [6, 4, 3, 7, 2, 0, 7, 3, 1, 6]
    summary = replay.summary.row(0, named=True)
    assert summary["policy_fill_rate"] == pytest.approx(37 / 42, rel=1e-12)
    assert summary["policy_stockout_days"] == 3
    assert summary["policy_lost_units"] == 5.0
    assert summary["policy_lost_revenue"] == 10.0
    assert summary["policy_average_stock"] == pytest.approx(2.8, rel=1e-12)
    assert summary["actual_fill_rate"] == pytest.approx(sum(min(x, 5) for x in demand) / 42)
    assert summary["actual_stockout_days"] == 5  # demand of 5 or more took the 5 on the shelf


def test_replay_sampled_lead_times_are_deterministic_for_a_seed() -> None:
    history = ten_days([4, 6, 3, 8, 2, 0, 7, 5, 1, 6])
    policy = pl.DataFrame(
        {
            "store_id": [1],
            "product_id": [1],
            "order_up_to": [12.0],
            "pack_size": [2],
            "lead_time_mean": [2.0],
        }
    )
    lead_times = pl.DataFrame({"product_id": [1, 1, 1], "lead_time_days": [1, 2, 4]})

    def replay(seed: int) -> pl.DataFrame:
        return replenishment.replay_policy(
            history, policy, months=1, review_days=1, lead_times=lead_times, seed=seed
        ).days

    assert_frame_equal(replay(3), replay(3))
    assert any(not replay(3).equals(replay(seed)) for seed in range(4, 10))
    assert (replay(3)["policy_ordered"] % 2 == 0).all()


def coming_mean(history: pl.DataFrame, horizon: pl.DataFrame) -> pl.DataFrame:
    """`history` (one series after another, by date) with `demand_mean`: the mean expected
    units over the coming `protection_days` days of its series (fewer at the end)."""
    parts = []
    for part in history.join(horizon, on=["store_id", "product_id"]).partition_by(
        "store_id", "product_id", maintain_order=True
    ):
        days = int(part["protection_days"][0])
        total = np.concatenate([[0.0], np.cumsum(part["expected_units"].to_numpy())])
        first = np.arange(part.height)
        last = np.minimum(first + days, part.height)
        parts.append(part.with_columns(demand_mean=(total[last] - total[first]) / (last - first)))
    return pl.concat(parts)


def test_replay_on_tiny_runs_out_less_than_the_stores(cur: duckdb.DuckDBPyConnection) -> None:
    history = cur.sql(
        """
        select
            s.store_id, s.product_id, s.date, s.units_sold, s.price, s.is_stockout,
            s.stock_begin, s.received_units, s.stock_end,
            t.demand_units::double as demand, t.expected_units,
        from daily_sales as s
        join true_demand as t using (store_id, product_id, date)
        where s.date >= date '2025-08-01'
        order by s.store_id, s.product_id, s.date
        """
    ).pl()
    orders = cur.sql(
        "select store_id, product_id, order_date, delivered_date from replenishments"
    ).pl()
    packs = cur.sql("select product_id, pack_size from products").pl()
    start = dt.date(2025, 10, 1)
    lead = replenishment.lead_time_stats(orders.filter(pl.col("order_date") < start))
    series = ["store_id", "product_id"]
    # a perfect forecast of the mean over the protection interval (lead time + review days);
    # the sd of its daily errors over the 28 days before
    horizon = lead.select(
        *series, protection_days=pl.col("lead_time_mean").round().cast(pl.Int64) + REVIEW_DAYS
    )
    plan = (
        coming_mean(history, horizon)
        .with_columns(
            (pl.col("demand") - pl.col("expected_units"))
            .shift(1)
            .rolling_std(28)
            .over(series)
            .alias("demand_sd"),
            on_hand=0.0,
            on_order=0.0,
        )
        .filter(pl.col("date") >= start)
        .join(lead, on=series)
        .join(packs, on="product_id")
    )
    policy = replenishment.suggest_orders(
        plan, service_level=0.95, kind="cycle", review_days=REVIEW_DAYS
    )
    replay = replenishment.replay_policy(
        history,
        policy.select(*series, "date", "order_up_to", "pack_size", "lead_time_mean"),
        months=3,
        review_days=REVIEW_DAYS,
        lead_times=replenishment.lead_time_days(orders),
        seed=0,
    )
    summary = replay.summary
    assert summary.height == 144
    assert summary["days"].max() == 92
    policy_days = summary["policy_stockout_days"].sum()
    actual_days = summary["actual_stockout_days"].sum()
    assert policy_days <= STOCKOUT_DAYS_RATIO_MAX * actual_days
    ran_out = summary.filter(pl.col("actual_stockout_days") > 0)
    fewer = (ran_out["policy_stockout_days"] < ran_out["actual_stockout_days"]).mean()
    assert fewer is not None
    assert fewer >= FEWER_SHARE_MIN
    no_more = (summary["policy_stockout_days"] <= summary["actual_stockout_days"]).mean()
    assert no_more is not None
    assert no_more >= NO_MORE_SHARE_MIN
    served = (summary["demand_units"] * summary["policy_fill_rate"]).sum()
    sold = (summary["demand_units"] * summary["actual_fill_rate"]).sum()
    assert served > sold
    stock_ratio = summary["policy_average_stock"].sum() / summary["actual_average_stock"].sum()
    assert stock_ratio <= STOCK_RATIO_MAX


def test_promotion_uplift_pools_stores_and_skips_empty_shelves() -> None:
    sales = pl.DataFrame(
        {
            "store_id": [1, 1, 1, 2, 2, 2, 1],
            "product_id": [1, 1, 1, 1, 1, 1, 2],
            "units_sold": [2, 6, 40, 4, 12, 0, 5],
            "is_promo": [False, True, True, False, True, False, False],
            "is_stockout": [False, False, True, False, False, False, False],
        }
    )
    uplift = replenishment.promotion_uplift(sales).sort("product_id")
    # product 1: promo days 6 and 12 (the 40 sold out), other days 2, 4 and 0: 9 / 2 = 4.5;
    # product 2 never ran a promotion
    assert uplift.rows() == [(1, 4.5), (2, 1.0)]


def test_plan_demand_scales_the_baseline_by_the_promotion_days_ahead() -> None:
    day = dt.date(2025, 3, 1)
    plans = pl.DataFrame(
        {
            "store_id": [1, 1],
            "product_id": [1, 2],
            "date": [day, day],
            "base_mean": [10.0, 3.0],
            "base_sd": [2.0, 1.0],
            "protection_days": [4, 4],
        }
    )
    # product 1: promoted on the day itself (not ahead), days 2 and 4 ahead, and day 5 (beyond)
    promo_days = pl.DataFrame(
        {
            "store_id": [1, 1, 1, 1],
            "product_id": [1, 1, 1, 1],
            "date": [day + dt.timedelta(days=d) for d in (0, 2, 4, 5)],
        }
    )
    uplift = pl.DataFrame({"product_id": [1, 2], "promo_uplift": [3.0, 2.0]})
    planned = replenishment.plan_demand(plans, promo_days, uplift)
    assert planned.get_column("promo_share").to_list() == [0.5, 0.0]
    # 10 x (1 + (3 - 1) x 0.5) = 20; the spread scales alike; product 2 keeps its baseline
    assert planned.get_column("demand_mean").to_list() == [20.0, 3.0]
    assert planned.get_column("demand_sd").to_list() == [4.0, 1.0]
