"""Loyalty-card customers and their baskets, consistent with the store sales.

Each customer belongs to a hidden segment (category tastes), has a home store, a visit rate, a
basket size, a price sensitivity and a set of favourite products. Visits fall on open days; each
line is a favourite (buy again) or an exploration drawn from the segment's tastes, accepted more
often when the product's demand is high that day (season, promotion: more so for price-sensitive
customers). Lines are then reconciled with the store's sales: a store x product x day never has
more units in baskets than it sold, so a stockout also empties the customers' baskets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from data.catalogue import AGE_BANDS, CATEGORIES, LOYALTY_TIERS, SEGMENTS
from data.reference import Products, Stores

FAVOURITES = 12
FAVOURITE_SHARE = 0.55
SEGMENT_SHARES = np.array([0.22, 0.12, 0.12, 0.20, 0.14, 0.20])
MEAN_RATE, MEAN_LINES, MEAN_ACCEPT, MEAN_QTY = 0.6, 5.0, 0.45, 1.25  # per week, per visit


@dataclass(frozen=True)
class Customers:
    frame: pl.DataFrame
    home: np.ndarray  # store index per customer
    segment: np.ndarray
    rate: np.ndarray  # visits per week
    lines: np.ndarray  # mean lines per visit
    sensitivity: np.ndarray  # exponent on the product's demand multiplier
    favourites: np.ndarray  # (customer, FAVOURITES) product indices
    first_day: np.ndarray  # first day (index) with visits
    last_day: np.ndarray  # one past the last day with visits
    segment_products: np.ndarray  # (segment, product) probabilities


def make_customers(
    rng: np.random.Generator, stores: Stores, products: Products, n_days: int, share: float
) -> Customers:
    daily_units = products.base_demand.sum() * stores.traffic
    per_customer = MEAN_RATE / 7 * MEAN_LINES * MEAN_ACCEPT * MEAN_QTY
    per_store = np.maximum(np.round(share * daily_units / per_customer), 20).astype(int)
    home = np.repeat(np.arange(len(per_store)), per_store)
    n = home.size
    segment = rng.choice(len(SEGMENTS), size=n, p=SEGMENT_SHARES)
    cat_weights = np.array([s[1] for s in SEGMENTS])
    popularity = (
        products.base_demand
        / np.bincount(products.category_index, products.base_demand)[products.category_index]
    )
    segment_products = cat_weights[:, products.category_index] * popularity[None, :]
    segment_products /= segment_products.sum(axis=1, keepdims=True)
    favourites = np.empty((n, FAVOURITES), np.int64)
    for g in range(len(SEGMENTS)):
        members = np.flatnonzero(segment == g)
        favourites[members] = rng.choice(
            products.base_demand.size, size=(members.size, FAVOURITES), p=segment_products[g]
        )
    rate = np.clip(rng.lognormal(np.log(MEAN_RATE) - 0.18, 0.6, n), 0.05, 3.0)
    lines = np.clip(rng.lognormal(np.log(MEAN_LINES) - 0.08, 0.4, n), 1.0, 12.0)
    budget = np.isin(segment, [2, 5])  # students, budget
    sensitivity = np.clip(rng.normal(np.where(budget, 1.4, 0.7), 0.3), 0.1, 2.5)
    joins_late = rng.random(n) < 0.2
    first_day = np.where(joins_late, rng.integers(0, n_days - 60, n), 0)
    churns = rng.random(n) < 0.15
    last_day = np.where(churns, np.minimum(first_day + rng.integers(60, n_days, n), n_days), n_days)
    frame = _profile_frame(rng, segment, rate, sensitivity, first_day, cat_weights)
    store_ids = stores.frame["store_id"].to_numpy()[home]
    regions = stores.frame["region"].to_numpy()[home]
    frame = frame.insert_column(4, pl.Series("home_store_id", store_ids)).insert_column(
        4, pl.Series("region", regions, dtype=pl.String)
    )
    return Customers(
        frame,
        home,
        segment,
        rate,
        lines,
        sensitivity,
        favourites,
        first_day,
        last_day,
        segment_products,
    )


def _profile_frame(
    rng: np.random.Generator,
    segment: np.ndarray,
    rate: np.ndarray,
    sensitivity: np.ndarray,
    first_day: np.ndarray,
    cat_weights: np.ndarray,
) -> pl.DataFrame:
    n = segment.size
    ages, sizes = [], []
    for g in segment:
        _, _, seg_ages, (lo, hi) = SEGMENTS[g]
        typical = rng.random() < 0.75
        pool = seg_ages if typical else AGE_BANDS
        ages.append(pool[int(rng.integers(len(pool)))])
        sizes.append(int(rng.integers(lo, hi + 1)))
    tier = np.digitize(rate, np.quantile(rate, [0.5, 0.85]))
    taste = cat_weights[segment] * rng.lognormal(0, 0.35, (n, len(CATEGORIES)))
    top = np.argsort(-taste, axis=1)[:, :2]
    signup = [
        dt.date(2024, 1, 1)
        + dt.timedelta(days=int(d) - (int(rng.integers(30, 1500)) if d == 0 else 0))
        for d in first_day
    ]
    return pl.DataFrame(
        {
            "customer_id": np.arange(1, n + 1, dtype=np.int32),
            "age_band": ages,
            "household_size": np.array(sizes, dtype=np.int32),
            "loyalty_tier": [LOYALTY_TIERS[t] for t in tier],
            "price_sensitivity": np.select(
                [sensitivity < 0.6, sensitivity < 1.1], ["low", "medium"], "high"
            ).tolist(),
            "preferred_categories": [[CATEGORIES[a].name, CATEGORIES[b].name] for a, b in top],
            "signup_date": signup,
        }
    )
