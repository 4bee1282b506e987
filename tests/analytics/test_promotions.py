"""Promotion effects: calendar regressors, the per-series baseline, window sums, and recovery of
known uplift, dip and cannibalisation from a synthetic panel."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.promotions import (
    EFFECT_COLUMNS,
    EffectSettings,
    calendar_features,
    easter_sunday,
    estimate_promotion_effects,
    feature_columns,
    fit_series_baseline,
    range_sums,
)

START = dt.date(2024, 1, 1)
N_DAYS = 731
WEEKDAY_PROFILE = (0.8, 0.85, 0.9, 0.95, 1.15, 1.45, 0.9)
BETA = 2.5  # uplift exp(BETA x discount)
DIP_DEPTH = 0.6  # first day after: 1 - 0.6 x discount, fading over 7 days
CANNIBALISATION = 0.3  # a sibling's demand x (1 - 0.3 x discount)


def make_calendar(start: dt.date = START, days: int = N_DAYS) -> pl.DataFrame:
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    return pl.DataFrame(
        {
            "date": dates,
            "weekday": [d.isoweekday() for d in dates],
            "day_of_year": [d.timetuple().tm_yday for d in dates],
            "is_public_holiday": [False] * days,
            "is_store_closed": [False] * days,
            "school_holiday_name": [None] * days,
        },
        schema_overrides={"school_holiday_name": pl.String},
    )


def test_easter_sunday_known_years() -> None:
    assert [easter_sunday(y) for y in (2024, 2025, 2026)] == [
        dt.date(2024, 3, 31),
        dt.date(2025, 4, 20),
        dt.date(2026, 4, 5),
    ]


def test_calendar_features_weekdays_holidays_and_christmas() -> None:
    calendar = make_calendar(dt.date(2024, 12, 22), 5).with_columns(
        is_public_holiday=pl.col("date") == dt.date(2024, 12, 25),
        is_store_closed=pl.col("date") == dt.date(2024, 12, 25),
    )
    features = calendar_features(calendar)
    got = features.select(
        "date",
        "is_store_closed",
        "weekday_7",
        "weekday_2",
        "is_holiday_eve",
        "is_holiday_open",
        "christmas_run_up",
        "new_year_run_up",
    )
    expected = pl.DataFrame(
        {
            "date": [dt.date(2024, 12, d) for d in range(22, 27)],
            "is_store_closed": [False, False, False, True, False],
            "weekday_7": [1.0, 0.0, 0.0, 0.0, 0.0],  # the 22nd is a Sunday
            "weekday_2": [0.0, 0.0, 1.0, 0.0, 0.0],
            "is_holiday_eve": [0.0, 0.0, 1.0, 0.0, 0.0],
            "is_holiday_open": [0.0] * 5,  # closed, not open
            "christmas_run_up": [(21 / 23) ** 2, (22 / 23) ** 2, 1.0, 0.0, 0.0],
            "new_year_run_up": [0.0, 0.0, 0.0, 0.0, 1 / 6],
        }
    )
    assert_frame_equal(got, expected)


def test_calendar_features_easter_and_school_start() -> None:
    calendar = make_calendar(dt.date(2024, 3, 1), 200).with_columns(
        school_holiday_name=pl.when(
            pl.col("date").is_between(dt.date(2024, 7, 6), dt.date(2024, 9, 1))
        ).then(pl.lit("Été"))
    )
    features = calendar_features(calendar, fourier_order=2).to_dicts()
    by_date = {row["date"]: row for row in features}
    assert by_date[dt.date(2024, 3, 31)]["easter_run_up"] == 1.0
    assert by_date[dt.date(2024, 3, 24)]["easter_run_up"] == 0.5
    assert by_date[dt.date(2024, 4, 1)]["easter_run_up"] == 0.0
    # The peak is three days before the first day of school (2 September).
    assert by_date[dt.date(2024, 8, 30)]["school_start_6"] == 1.0
    assert by_date[dt.date(2024, 8, 24)]["school_start_6"] == pytest.approx(math.exp(-1))
    assert by_date[dt.date(2024, 7, 10)]["is_summer_holiday"] == 1.0
    assert [c for c in feature_columns(calendar_features(calendar)) if c.startswith("sin")] == [
        "sin_1",
        "sin_2",
        "sin_3",
        "sin_4",
    ]


def test_range_sums_clips_and_handles_empty_ranges() -> None:
    values = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0], [5.0, 50.0]])
    sums = range_sums(values, np.array([0, 3, 2, -2]), np.array([1, 9, 1, 0]))
    np.testing.assert_array_equal(sums, [[3, 30], [9, 90], [0, 0], [1, 10]])


def _weekday_design(days: int) -> np.ndarray:
    weekday = np.arange(days) % 7
    return np.column_stack([np.ones(days), *[(weekday == k) * 1.0 for k in range(1, 7)]])


def test_fit_series_baseline_reproduces_an_exact_weekly_pattern() -> None:
    """Without noise the fit is exact: every day's baseline is what sold."""
    design = _weekday_design(140)
    units = np.round(20 * np.array(WEEKDAY_PROFILE)[np.arange(140) % 7])
    fit = fit_series_baseline(units, design, np.ones(140, bool), EffectSettings())
    assert fit is not None
    baseline, _ = fit.predict(design[:7])
    np.testing.assert_allclose(baseline, units[:7], rtol=1e-9)
    assert (fit.smearing, fit.train_days) == (pytest.approx(1.0), 140)


def test_fit_series_baseline_drops_rare_regressors_and_short_series() -> None:
    settings = EffectSettings(min_train_days=100, min_feature_days=10)
    design = np.column_stack([_weekday_design(140), np.r_[np.ones(5), np.zeros(135)]])
    units = (
        np.round(20 * np.array(WEEKDAY_PROFILE)[np.arange(140) % 7])
        + np.r_[np.full(5, 50.0), np.zeros(135)]
    )
    fit = fit_series_baseline(units, design, np.ones(140, bool), settings)
    assert fit is not None
    assert fit.params[-1] == 0.0  # seen on 5 days only: left out
    assert fit.cov[-1].tolist() == [0.0] * 8
    assert fit_series_baseline(units, design, np.arange(140) < 99, settings) is None


def test_sum_windows_matches_day_by_day_sums() -> None:
    rng = np.random.default_rng(3)
    design = np.column_stack([_weekday_design(200), rng.normal(0, 0.3, 200)])
    units = rng.poisson(np.exp(2 + 0.5 * design[:, -1])).astype(float)
    fit = fit_series_baseline(units, design, np.ones(200, bool), EffectSettings())
    assert fit is not None
    counted = np.ones(200, bool)
    counted[12] = False
    price = rng.uniform(1, 3, 200)
    total, variance = fit.sum_windows(
        design, np.array([10, 50]), np.array([19, 50]), is_counted=counted, weights=price
    )
    mean, _ = fit.predict(design)
    days = [i for i in range(10, 20) if i != 12]
    assert total[0] == pytest.approx((mean[days] * price[days]).sum(), rel=1e-12)
    assert total[1] == pytest.approx(mean[50] * price[50], rel=1e-12)
    gradient = (fit.smearing * np.exp(design[days] @ fit.params) * price[days]) @ design[days]
    noise = (
        fit.inflation * fit.noise_var * (np.exp(2 * design[days] @ fit.params) * price[days] ** 2)
    )
    assert variance[0] == pytest.approx(gradient @ fit.cov @ gradient + noise.sum(), rel=1e-9)


def test_sum_windows_offsets_shift_the_last_column() -> None:
    rng = np.random.default_rng(4)
    design = np.column_stack([_weekday_design(200), rng.uniform(0, 0.5, 200)])
    units = rng.poisson(10 * np.exp(-0.8 * design[:, -1])).astype(float)
    fit = fit_series_baseline(units, design, np.ones(200, bool), EffectSettings())
    assert fit is not None
    total, variance = fit.sum_windows(
        design, np.array([30]), np.array([39]), is_counted=np.ones(200, bool),
        offsets=np.array([-0.2]),
    )  # fmt: skip
    shifted = design.copy()
    shifted[:, -1] -= 0.2
    expected, expected_var = fit.sum_windows(
        shifted, np.array([30]), np.array([39]), is_counted=np.ones(200, bool)
    )
    assert total[0] == pytest.approx(expected[0], rel=1e-12)
    assert variance[0] == pytest.approx(expected_var[0], rel=1e-9)


def simulate_panel(
    *, n_stores: int, beta: float, seed: int, dip: bool = True, cannibalise: bool = True
) -> dict[str, pl.DataFrame]:
    """Stores x three products (1 and 2 in one subcategory, 3 alone) over two years: demand is
    base x weekday x exp(beta x discount) x post-promotion dip x cannibalisation, Poisson."""
    rng = np.random.default_rng(seed)
    calendar = make_calendar()
    day = np.arange(N_DAYS)
    weekday = np.array(WEEKDAY_PROFILE)[day % 7]
    discount = np.zeros((3, N_DAYS))
    promotions = []
    for product, (first, depth) in enumerate(((20, 0.3), (45, 0.2), (30, 0.4))):
        for start in range(first, N_DAYS - 20, 70):
            discount[product, start : start + 10] = depth
            promotions.append((len(promotions) + 1, product + 1, start, start + 9, depth))
    dip_factor = np.ones((3, N_DAYS))
    if dip:
        for _, product, _, end, depth in promotions:
            fade = 1 - np.arange(7) / 7
            dip_factor[product - 1, end + 1 : end + 8] = 1 - DIP_DEPTH * depth * fade
    sibling = discount[[1, 0, 2]] * np.array([[1.0], [1.0], [0.0]])
    cannibal = 1 - CANNIBALISATION * sibling if cannibalise else np.ones_like(sibling)
    base = np.array([[12.0], [8.0], [15.0]])
    expected = base * weekday * np.exp(beta * discount) * dip_factor * cannibal
    baseline = base * weekday * np.ones((3, N_DAYS))
    rows, promo_rows = [], []
    for store in range(1, n_stores + 1):
        level = rng.uniform(0.7, 1.3)
        sold = rng.poisson(expected * level)
        for product in range(3):
            rows.append(
                pl.DataFrame(
                    {
                        "store_id": store,
                        "product_id": product + 1,
                        "date": calendar.get_column("date"),
                        "units_sold": sold[product],
                        "revenue": sold[product] * 2.0 * (1 - discount[product]),
                        "is_stockout": False,
                        "expected": expected[product] * level,
                        "baseline": baseline[product] * level,
                    }
                )
            )
        promo_rows += [
            (pid, product, store, START + dt.timedelta(days=s), START + dt.timedelta(days=e), d)
            for pid, product, s, e, d in promotions
        ]
    sales = pl.concat(rows).with_columns(pl.col("store_id", "product_id").cast(pl.Int32))
    return {
        "sales": sales,
        "features": calendar_features(calendar),
        "prices": pl.DataFrame(
            {
                "product_id": np.repeat([1, 2, 3], N_DAYS).astype(np.int32),
                "date": calendar.get_column("date").to_list() * 3,
                "regular_price": 2.0,
            }
        ),
        "promotions": pl.DataFrame(
            promo_rows,
            schema=["promo_id", "product_id", "store_id", "start_date", "end_date", "discount_pct"],
            orient="row",
        ),
        "products": pl.DataFrame({"product_id": [1, 2, 3], "subcategory": ["A", "A", "B"]}),
    }


def _estimate(panel: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return estimate_promotion_effects(
        panel["sales"].drop("expected", "baseline"),
        panel["features"],
        panel["prices"],
        panel["promotions"],
        panel["products"],
    ).effects


@pytest.fixture(scope="module")
def panel() -> dict[str, pl.DataFrame]:
    return simulate_panel(n_stores=3, beta=BETA, seed=11)


@pytest.fixture(scope="module")
def effects(panel: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return _estimate(panel)


def test_estimate_promotion_effects_columns_and_rows(
    panel: dict[str, pl.DataFrame], effects: pl.DataFrame
) -> None:
    assert tuple(effects.columns) == EFFECT_COLUMNS
    assert effects.height == panel["promotions"].height
    assert effects.get_column("promo_days").unique().to_list() == [10]
    assert effects.get_column("dip_days").unique().to_list() == [7]


def test_estimate_promotion_effects_recovers_uplift(effects: pl.DataFrame) -> None:
    """Pooled actual / baseline per discount within 8% of exp(2.5 x discount)."""
    pooled = (
        effects.group_by("discount_pct")
        .agg(pl.col("actual_units").sum() / pl.col("baseline_units").sum())
        .sort("discount_pct")
    )
    # Product 1's and 2's promotions overlap no sibling promotion: the truth is exp(beta d).
    for depth, multiplier in pooled.iter_rows():
        assert multiplier == pytest.approx(math.exp(BETA * depth), rel=0.08)


def test_estimate_promotion_effects_recovers_dip_and_cannibalisation(
    panel: dict[str, pl.DataFrame], effects: pl.DataFrame
) -> None:
    """Dip and cannibalisation summed over promotions within 30% of the simulated truth."""
    truth = panel["sales"].join(panel["products"], on="product_id")
    true_dip = 0.0
    true_cannibalised = 0.0
    for _pid, product, store, start, end, depth in panel["promotions"].iter_rows():
        own = truth.filter((pl.col("store_id") == store) & (pl.col("product_id") == product))
        after = own.filter(pl.col("date").is_between(end + dt.timedelta(1), end + dt.timedelta(7)))
        true_dip += (after["expected"] - after["baseline"]).sum()
        if product != 3:
            sibling = truth.filter(
                (pl.col("store_id") == store)
                & (pl.col("product_id") == 3 - product)
                & pl.col("date").is_between(start, end)
            )
            true_cannibalised += (CANNIBALISATION * depth * sibling["baseline"]).sum()
    assert effects["dip_units"].sum() == pytest.approx(true_dip, rel=0.3)
    assert effects["cannibalised_units"].sum() == pytest.approx(true_cannibalised, rel=0.3)
    assert effects.filter(pl.col("product_id") == 3)["sibling_count"].to_list() == [0] * 10 * 3


def test_estimate_promotion_effects_intervals_cover_no_effect() -> None:
    """Promotions that change nothing: about 95% of the incremental units' intervals hold 0."""
    placebo = simulate_panel(n_stores=12, beta=0.0, seed=5, dip=False, cannibalise=False)
    effects = _estimate(placebo)
    covered = effects.select(
        ((pl.col("incremental_units_lo95") <= 0) & (pl.col("incremental_units_hi95") >= 0)).mean()
    ).item()
    assert effects.height == 12 * 30
    assert 0.9 <= covered <= 0.99
    assert effects["uplift_pct"].median() == pytest.approx(0.0, abs=0.03)
