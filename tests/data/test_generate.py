"""The generator: deterministic, and its mechanics can be recovered from what it writes."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from data.catalogue import CATEGORIES
from data.generate import SCALES, GeneratorConfig, generate
from tests.conftest import TINY

STOCKOUT_BAND = (0.01, 0.08)  # share of store x product days that end with an empty shelf
WEEKDAY_TOLERANCE = 0.10  # absolute, on a profile normalised to mean 1
UPLIFT_TOLERANCE = 0.15  # relative, pooled over all promotions of a discount depth


def _collect(config: GeneratorConfig) -> dict[str, pl.DataFrame]:
    dataset = generate(config)
    chunks = list(dataset.chunks)
    frames = dict(dataset.reference)
    for table in chunks[0]:
        frames[table] = pl.concat([chunk[table] for chunk in chunks])
    return frames


def test_generate_same_seed_same_data(tiny_frames: dict[str, pl.DataFrame]) -> None:
    again = _collect(TINY)
    assert again.keys() == tiny_frames.keys()
    for table, frame in tiny_frames.items():
        assert_frame_equal(again[table], frame)


def test_generate_other_seed_other_data(tiny_frames: dict[str, pl.DataFrame]) -> None:
    other = _collect(GeneratorConfig(SCALES["tiny"], seed=8))
    assert not other["raw_daily_sales"]["units_sold"].equals(
        tiny_frames["raw_daily_sales"]["units_sold"]
    )


def test_generate_scales_have_the_promised_rows() -> None:
    days = 731
    rows = {name: s.n_stores * s.n_products * days for name, s in SCALES.items()}
    assert 500_000 <= rows["small"] <= 1_000_000
    assert rows["medium"] >= 10_000_000
    assert rows["large"] >= 50_000_000


def test_generate_sales_never_exceed_available_stock(tiny_frames: dict[str, pl.DataFrame]) -> None:
    clean = _collect(GeneratorConfig(SCALES["tiny"], seed=7, defect_rate=0.0))["raw_daily_sales"]
    available = clean["stock_begin"] + clean["received_units"]
    assert (clean["units_sold"] <= available).all()
    assert (clean["stock_end"] == available - clean["units_sold"]).all()
    assert (clean["stock_end"] >= 0).all()


def test_generate_true_demand_bounds_sales(tiny_frames: dict[str, pl.DataFrame]) -> None:
    clean = _collect(GeneratorConfig(SCALES["tiny"], seed=7, defect_rate=0.0))
    both = clean["raw_daily_sales"].join(
        clean["true_demand"], on=["date", "store_id", "product_id"]
    )
    assert both.height == clean["true_demand"].height
    assert (both["demand_units"] >= both["units_sold"]).all()
    stockout = both.filter(pl.col("stock_end") == 0)
    lost = stockout.filter(pl.col("demand_units") > pl.col("units_sold"))
    assert lost.height > 0.3 * stockout.height  # an empty shelf usually turned shoppers away
    # Where the shelf did not run empty, sales are the demand.
    assert (
        both.filter(pl.col("stock_end") > 0)
        .select((pl.col("demand_units") == pl.col("units_sold")).all())
        .item()
    )


@pytest.mark.parametrize("scale", list(SCALES))
def test_generate_stockout_share_within_band(scale: str) -> None:
    # Two stores with the scale's full assortment: the mechanics do not depend on the store count.
    config = GeneratorConfig(SCALES[scale], seed=11, defect_rate=0.0, store_limit=2)
    sales = pl.concat(chunk["raw_daily_sales"] for chunk in generate(config).chunks)
    share = (sales["stock_end"] == 0).mean()
    assert STOCKOUT_BAND[0] <= share <= STOCKOUT_BAND[1], f"{scale}: stockout share {share:.3f}"


def _ordinary_days(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Sales on days with no promotion, no stockout, no holiday (nor its eve), store open."""
    calendar = frames["raw_calendar"].with_columns(
        eve=pl.col("is_public_holiday").shift(-1, fill_value=False)
    )
    products = frames["raw_products"].select("product_id", "category")
    return (
        frames["raw_daily_sales"]
        .unique(["date", "store_id", "product_id"])
        .join(calendar, on="date")
        .join(products, on="product_id")
        .filter(
            pl.col("promo_id").is_null(),
            pl.col("units_sold").is_not_null(),
            pl.col("stock_end") > 0,
            ~pl.col("is_public_holiday"),
            ~pl.col("eve"),
        )
    )


def test_generate_weekday_profile_recovered(tiny_frames: dict[str, pl.DataFrame]) -> None:
    # Each day against its own series-week's mean, so that season and trend cancel out.
    ordinary = _ordinary_days(tiny_frames).with_columns(
        week_mean=pl.col("units_sold").mean().over("store_id", "product_id", "year", "iso_week")
    )
    for category in CATEGORIES:
        by_day = (
            ordinary.filter(pl.col("category") == category.name)
            .group_by("weekday")
            .agg(ratio=pl.col("units_sold").sum() / pl.col("week_mean").sum())
            .sort("weekday")
        )
        profile = by_day["ratio"].to_numpy()
        profile = profile / profile.mean()
        truth = np.array(category.weekday_weights)
        assert np.abs(profile - truth).max() < WEEKDAY_TOLERANCE, (category.name, profile, truth)


def test_generate_promotion_uplift_recovered(tiny_frames: dict[str, pl.DataFrame]) -> None:
    """Promotion days against the same series' ordinary days of the four weeks before the start."""
    beta = {c.name: c.promo_beta for c in CATEGORIES}
    promotions = tiny_frames["raw_promotions"]
    sales = tiny_frames["raw_daily_sales"].unique(["date", "store_id", "product_id"])
    products = tiny_frames["raw_products"].select("product_id", "category")
    on_promo = (
        sales.filter(pl.col("promo_id").is_not_null(), pl.col("stock_end") > 0)
        .join(promotions.select("promo_id", "start_date", "discount_pct"), on="promo_id")
        .join(products, on="product_id")
        .with_columns(weekday=pl.col("date").dt.weekday())
    )
    before = (
        _ordinary_days(tiny_frames)
        .select("store_id", "product_id", "date", "units_sold", weekday=pl.col("weekday"))
        .join(
            on_promo.select("store_id", "product_id", "start_date", "weekday").unique(),
            on=["store_id", "product_id", "weekday"],
        )
        .filter(
            pl.col("date") < pl.col("start_date"),
            pl.col("date") >= pl.col("start_date") - pl.duration(days=28),
        )
        .group_by("store_id", "product_id", "start_date", "weekday")
        .agg(baseline=pl.col("units_sold").mean())
    )
    matched = on_promo.join(before, on=["store_id", "product_id", "start_date", "weekday"])
    matched = matched.with_columns(
        truth=(pl.col("category").replace_strict(beta) * pl.col("discount_pct")).exp()
    )
    buckets = (
        matched.group_by("discount_pct")
        .agg(
            observed=pl.col("units_sold").sum() / pl.col("baseline").sum(),
            expected=(pl.col("baseline") * pl.col("truth")).sum() / pl.col("baseline").sum(),
            rows=pl.len(),
        )
        .sort("discount_pct")
    )
    assert buckets.filter(pl.col("rows") >= 100).height >= 5
    for row in buckets.filter(pl.col("rows") >= 100).iter_rows(named=True):
        ratio = row["observed"] / row["expected"]
        assert math.isclose(ratio, 1.0, abs_tol=UPLIFT_TOLERANCE), row
    # Deeper discounts lift more.
    assert buckets["observed"].is_sorted()
