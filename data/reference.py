"""Seeded reference tables: stores, products, price list, promotions.

Each function takes a numpy Generator and returns a polars frame (plus, where the simulation needs
them, the hidden parameters that are never written: a product's base demand, a store's traffic).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from data.catalogue import CATEGORIES, FORMATS, REGIONS, SLOW_MOVER_SHARE

VARIANTS = ("Classic", "Organic", "Family pack", "Premium", "Light", "Original", "Mini", "XL")
DISCOUNTS = np.array([0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50])
DISCOUNT_WEIGHTS = np.array([0.14, 0.14, 0.22, 0.16, 0.18, 0.10, 0.06])
PROMO_DURATIONS = np.array([7, 10, 14])
DIP_DAYS = 7  # the post-promotion dip lasts a week
DIP_DEPTH = 0.6  # first-day dip = DIP_DEPTH * discount, fading linearly
CANNIBALISATION = 0.3  # each sibling promotion removes 0.3 * its discount from the others


@dataclass(frozen=True)
class Stores:
    frame: pl.DataFrame
    traffic: np.ndarray  # demand multiplier per store
    summer_factor: np.ndarray  # per store
    service_z: np.ndarray  # safety-stock factor the store's ordering uses


@dataclass(frozen=True)
class Products:
    frame: pl.DataFrame
    category_index: np.ndarray  # index into CATEGORIES, per product
    subcategory_index: np.ndarray  # global subcategory number; products sorted by it
    base_demand: np.ndarray  # units a day at a supermarket, before any effect
    is_slow_mover: np.ndarray


def make_stores(rng: np.random.Generator, n_stores: int) -> Stores:
    region_idx = np.resize(rng.permutation(len(REGIONS)), n_stores)
    shares = np.array([f.share for f in FORMATS])
    format_idx = rng.choice(len(FORMATS), size=n_stores, p=shares / shares.sum())
    names, cities, seen = [], [], dict[str, int]()
    for region, fmt in zip(region_idx, format_idx, strict=True):
        city = REGIONS[region].cities[int(rng.integers(len(REGIONS[region].cities)))]
        label = {"hypermarket": "Hyper", "supermarket": "Super", "proximity": "Proxi"}
        base = f"{label[FORMATS[fmt].name]} {city}"
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base} {seen[base]}")
        cities.append(city)
    sizes = [int(rng.integers(*FORMATS[f].size_sqm)) for f in format_idx]
    frame = pl.DataFrame(
        {
            "store_id": np.arange(1, n_stores + 1, dtype=np.int32),
            "store_name": names,
            "city": cities,
            "region": [REGIONS[r].name for r in region_idx],
            "school_zone": [REGIONS[r].school_zone for r in region_idx],
            "format": [FORMATS[f].name for f in format_idx],
            "size_sqm": np.array(sizes, dtype=np.int32),
        }
    )
    traffic = np.array([FORMATS[f].traffic for f in format_idx]) * rng.lognormal(0, 0.15, n_stores)
    summer = np.array([REGIONS[r].summer_factor for r in region_idx])
    return Stores(frame, traffic, summer, rng.uniform(-0.2, 0.9, n_stores))


def make_products(rng: np.random.Generator, n_products: int) -> Products:
    category_idx = np.sort(np.arange(n_products) % len(CATEGORIES))
    rows, sub_global, offset = [], [], 0
    for c, cat in enumerate(CATEGORIES):
        count = int((category_idx == c).sum())
        subs = np.sort(np.arange(count) % len(cat.subcategories))
        for k, sub in enumerate(subs):
            low, high = cat.price_range
            price = float(np.exp(rng.uniform(np.log(low), np.log(high))))
            price = max(round(price, 1) - 0.01, 0.19)
            brand = cat.brands[int(rng.integers(len(cat.brands)))]
            variant = VARIANTS[(k + c) % len(VARIANTS)]
            rows.append(
                {
                    "product_name": f"{brand} {cat.subcategories[sub]} {variant}",
                    "brand": brand,
                    "category": cat.name,
                    "subcategory": cat.subcategories[sub],
                    "base_price": price,
                    "unit_cost": round(price * rng.uniform(0.55, 0.75), 2),
                    "lead_time_days": int(rng.integers(cat.lead_time[0], cat.lead_time[1] + 1)),
                    "pack_size": int(cat.pack_sizes[int(rng.integers(len(cat.pack_sizes)))]),
                }
            )
            sub_global.append(offset + int(sub))
        offset += len(cat.subcategories)
    frame = pl.DataFrame(rows).with_columns(
        pl.int_range(1, n_products + 1, dtype=pl.Int32).alias("product_id"),
        pl.col("lead_time_days", "pack_size").cast(pl.Int32),
    )
    frame = frame.select("product_id", *[c for c in frame.columns if c != "product_id"])
    is_slow = rng.random(n_products) < SLOW_MOVER_SHARE
    price = frame["base_price"].to_numpy()
    fast = rng.lognormal(np.log(4.0), 0.6, n_products) * (3.0 / price) ** 0.3
    base = np.where(is_slow, rng.uniform(0.05, 0.4, n_products), fast)
    return Products(frame, category_idx, np.array(sub_global), base, is_slow)


def make_price_list(
    rng: np.random.Generator, products: Products, dates: list[dt.date]
) -> pl.DataFrame:
    """Regular shelf prices: one to three changes per product over the period (mostly rises)."""
    rows = []
    n_days = len(dates)
    for pid, price in zip(products.frame["product_id"], products.frame["base_price"], strict=True):
        changes = np.sort(
            rng.choice(np.arange(60, n_days - 30), size=int(rng.integers(1, 4)), replace=False)
        )
        start = 0
        for change in [*changes.tolist(), n_days]:
            rows.append(
                {
                    "product_id": pid,
                    "valid_from": dates[start],
                    "valid_to": dates[change - 1] if change < n_days else None,
                    "price": round(price, 2),
                }
            )
            price = price * rng.uniform(0.97, 1.08)
            start = change
    return pl.DataFrame(rows, schema_overrides={"product_id": pl.Int32, "valid_to": pl.Date})


def make_promotions(
    rng: np.random.Generator, products: Products, dates: list[dt.date]
) -> pl.DataFrame:
    """Promotions per product: national or regional, 7-14 days, gaps of five to thirteen weeks."""
    rows = []
    n_days = len(dates)
    regions = [r.name for r in REGIONS]
    for p, pid in enumerate(products.frame["product_id"]):
        day = int(rng.integers(5, 60))
        slow = bool(products.is_slow_mover[p])
        while True:
            length = int(rng.choice(PROMO_DURATIONS))
            if day + length >= n_days:
                break
            discount = float(rng.choice(DISCOUNTS, p=DISCOUNT_WEIGHTS))
            regional = rng.random() < 0.3
            rows.append(
                {
                    "product_id": pid,
                    "region": regions[int(rng.integers(len(regions)))] if regional else None,
                    "start_date": dates[day],
                    "end_date": dates[day + length - 1],
                    "discount_pct": discount,
                    "promo_type": "catalogue" if discount >= 0.25 else "shelf",
                }
            )
            day += length + int(rng.integers(35, 90)) * (2 if slow else 1)
    frame = pl.DataFrame(rows, schema_overrides={"product_id": pl.Int32, "region": pl.String})
    return frame.with_columns(
        pl.int_range(1, frame.height + 1, dtype=pl.Int32).alias("promo_id")
    ).select(
        "promo_id", "product_id", "region", "start_date", "end_date", "discount_pct", "promo_type"
    )
