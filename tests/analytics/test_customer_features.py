"""Purchase-propensity labels and features (analytics.customer_features)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.customer_features import (
    CUTOFF_COL,
    FEATURES,
    LABEL_COL,
    NEVER_DAYS,
    add_promotion_flags,
    build_propensity_frame,
    monthly_cutoffs,
)

DAY = dt.date(2024, 3, 1)
CUTOFF = dt.date(2024, 3, 31)


def _day(n: int) -> dt.date:
    return DAY + dt.timedelta(days=n)


def _hand_baskets() -> dict[str, pl.DataFrame]:
    """Customer 1 buys Dairy on days 0, 10 and 20 (the last on promotion) and Bakery on day 20;
    after the cutoff (day 30) Dairy on day 35 and Bakery on day 61 (past the 30-day window).
    Customer 2 only shops from day 32 on; customer 3 buys Bakery on day 29 and Dairy on 59."""
    rows = [
        # basket, customer, day, product, quantity, amount, promo
        (11, 1, 0, 1, 1, 2.0, False),
        (12, 1, 10, 1, 2, 4.0, False),
        (13, 1, 20, 1, 1, 1.5, True),
        (13, 1, 20, 2, 1, 2.5, False),
        (14, 1, 35, 1, 1, 2.0, False),
        (15, 1, 61, 2, 1, 2.5, False),
        (21, 2, 32, 1, 1, 2.0, False),
        (31, 3, 29, 2, 3, 7.5, True),
        (32, 3, 59, 1, 1, 2.0, False),
    ]
    baskets = pl.DataFrame(
        {
            "basket_id": [r[0] for r in rows],
            "customer_id": [r[1] for r in rows],
            "purchase_date": [_day(r[2]) for r in rows],
            "product_id": [r[3] for r in rows],
            "quantity": [r[4] for r in rows],
            "line_amount_eur": [r[5] for r in rows],
            "is_promo": [r[6] for r in rows],
        },
        schema_overrides={"customer_id": pl.Int32, "product_id": pl.Int32},
    )
    products = pl.DataFrame(
        {"product_id": [1, 2], "category": ["Dairy", "Bakery"]},
        schema_overrides={"product_id": pl.Int32},
    )
    customers = pl.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "age_band": ["25-34", "35-44", "65+"],
            "household_size": [3, 1, 2],
            "loyalty_tier": ["gold", "bronze", "silver"],
            "region": ["Bretagne", "Bretagne", "Alsace"],
            "price_sensitivity": ["low", "high", "medium"],
            "preferred_categories": [["Dairy", "Frozen"], ["Bakery", "Dairy"], None],
            "signup_date": [dt.date(2024, 1, 1), _day(32), None],
        },
        schema_overrides={"customer_id": pl.Int32},
    )
    return {"baskets": baskets, "products": products, "customers": customers}


def test_propensity_labels_mark_purchases_within_the_window() -> None:
    tables = _hand_baskets()
    df = build_propensity_frame(**tables, cutoffs=[CUTOFF], horizon_days=30)
    # customer 2 has no basket before the cutoff: no rows; the window is days 30-59
    labels = df.select("customer_id", "category", LABEL_COL).rows()
    assert labels == [
        (1, "Bakery", False),  # day 61 is past the window
        (1, "Dairy", True),  # day 35
        (3, "Bakery", False),  # day 29 is before the cutoff
        (3, "Dairy", True),  # day 59 is the window's last day
    ]


def test_propensity_labels_are_null_past_the_data_end() -> None:
    tables = _hand_baskets()
    df = build_propensity_frame(
        **tables, cutoffs=[CUTOFF, _day(40)], horizon_days=30, data_end=_day(65)
    )
    by_cutoff = df.group_by(CUTOFF_COL).agg(pl.col(LABEL_COL).null_count()).sort(CUTOFF_COL)
    assert by_cutoff.rows() == [(CUTOFF, 0), (_day(40), 6)]


def test_propensity_features_summarise_the_history() -> None:
    tables = _hand_baskets()
    df = build_propensity_frame(**tables, cutoffs=[CUTOFF], horizon_days=30)
    one = df.filter(pl.col("customer_id") == 1).sort("category")
    expected = pl.DataFrame(
        {
            "category": ["Bakery", "Dairy"],
            "days_since_last_visit": [10.0, 10.0],
            "visits_30": [3.0, 3.0],  # the 30 days before the cutoff are days 0-29
            "visits_365": [3.0, 3.0],
            "spend_365": [10.0, 10.0],
            "mean_basket_eur": [10.0 / 3, 10.0 / 3],
            "promo_unit_share": [0.2, 0.2],  # 1 of 5 units
            "tenure_days": [90.0, 90.0],
            "history_days": [30.0, 30.0],
            "category_days_since_last": [10.0, 10.0],
            "category_baskets_365": [1.0, 3.0],
            "category_spend_share": [0.25, 0.75],
            "category_basket_share": [1 / 3, 1.0],
            "category_mean_interval": [NEVER_DAYS, 10.0],
            "category_overdue_ratio": [0.0, 1.0],
            "category_promo_share": [0.0, 0.25],
            "is_preferred_category": [0.0, 1.0],
        }
    )
    assert_frame_equal(one.select(expected.columns), expected)


def test_propensity_features_fill_never_bought_categories_and_missing_profiles() -> None:
    tables = _hand_baskets()
    df = build_propensity_frame(**tables, cutoffs=[CUTOFF], horizon_days=30)
    three = df.filter(pl.col("customer_id") == 3, pl.col("category") == "Dairy")
    assert three.select(
        "category_days_since_last",
        "category_baskets_365",
        "category_spend_share",
        "tenure_days",
        "is_preferred_category",
    ).row(0) == (NEVER_DAYS, 0.0, 0.0, 1.0, 0.0)
    # everyone's promotion share before the cutoff is 4 of 8 units; customer 3's is 3 of 3
    assert three.get_column("promo_responsiveness").item() == 2.0


def test_monthly_cutoffs_keep_windows_inside_the_data() -> None:
    got = monthly_cutoffs(dt.date(2025, 9, 15), dt.date(2025, 12, 31), horizon_days=30)
    assert got == [dt.date(2025, 10, 1), dt.date(2025, 11, 1), dt.date(2025, 12, 1)]
    got = monthly_cutoffs(dt.date(2025, 10, 1), dt.date(2025, 12, 20), labelled=False)
    assert got == [dt.date(2025, 10, 1), dt.date(2025, 11, 1), dt.date(2025, 12, 1)]


def test_add_promotion_flags_takes_the_store_day_and_defaults_to_false() -> None:
    baskets = pl.DataFrame(
        {"store_id": [1, 1, 2], "product_id": [5, 5, 5], "purchase_date": [DAY, _day(1), DAY]}
    )
    sales = pl.DataFrame(
        {
            "store_id": [1, 1],
            "product_id": [5, 5],
            "date": [DAY, _day(1)],
            "is_promo": [True, False],
        }
    )
    got = add_promotion_flags(baskets, sales).get_column("is_promo").to_list()
    assert got == [True, False, False]


def _load(path: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {
            n: con.sql(f"select * from {n}").pl() for n in ("baskets", "products", "customers")
        }
        sales = con.sql("select store_id, product_id, date, is_promo from daily_sales").pl()
    finally:
        con.close()
    tables["baskets"] = add_promotion_flags(tables["baskets"], sales)
    return tables


@pytest.fixture(scope="module")
def tiny_tables(tiny_db: Path) -> dict[str, pl.DataFrame]:
    return _load(tiny_db)


def test_propensity_features_ignore_baskets_from_the_cutoff_on(
    tiny_tables: dict[str, pl.DataFrame],
) -> None:
    cutoff = dt.date(2025, 6, 1)
    before = build_propensity_frame(**tiny_tables, cutoffs=[cutoff])
    baskets = tiny_tables["baskets"]
    is_after = pl.col("purchase_date") >= cutoff
    changed = baskets.with_columns(
        pl.when(is_after).then(pl.col("quantity") * 5).otherwise("quantity"),
        pl.when(is_after).then(pl.col("line_amount_eur") * 7).otherwise("line_amount_eur"),
        pl.when(is_after).then(~pl.col("is_promo")).otherwise("is_promo"),
        pl.when(is_after)
        .then(pl.col("product_id") % 36 + 1)
        .otherwise("product_id")
        .cast(baskets.schema["product_id"]),
    ).filter(~(is_after & (pl.col("customer_id") % 3 == 0)))
    after = build_propensity_frame(**{**tiny_tables, "baskets": changed}, cutoffs=[cutoff])
    columns = ["customer_id", CUTOFF_COL, *FEATURES]
    assert_frame_equal(after.select(columns), before.select(columns))
    labels = before.join(after, on=["customer_id", "category"], suffix="_after")
    assert labels.filter(pl.col(LABEL_COL) != pl.col(f"{LABEL_COL}_after")).height > 100


def test_propensity_features_recover_price_sensitivity_and_tastes(
    tiny_tables: dict[str, pl.DataFrame],
) -> None:
    df = build_propensity_frame(**tiny_tables, cutoffs=[dt.date(2025, 12, 1)])
    # the generator makes price-sensitive customers buy more on promotion (measured on tiny:
    # 0.166 of units for "high", 0.134 for "low")
    shares = dict(
        df.group_by("price_sensitivity").agg(pl.col("promo_unit_share").mean()).iter_rows()
    )
    assert shares["high"] >= shares["low"] + 0.02
    # and a customer's preferred categories take more of the spend (measured 0.128 vs 0.067)
    spend = dict(
        df.group_by("is_preferred_category").agg(pl.col("category_spend_share").mean()).iter_rows()
    )
    assert spend[1.0] >= 1.6 * spend[0.0]
