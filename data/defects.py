"""Realistic defects injected into the raw sales feed, so that cleaning is real work.

Each kind hits its own rows (the row sets are disjoint), so every defect can be detected and
repaired exactly, and the data-quality view's counts equal what was injected.
"""

from __future__ import annotations

import numpy as np
import polars as pl

# kind -> share of the defect rate; description of what staging does about it lives in sql/.
DEFECT_WEIGHTS: dict[str, float] = {
    "duplicate_row": 0.20,
    "missing_units": 0.12,
    "missing_price": 0.12,
    "negative_stock": 0.10,
    "impossible_stock": 0.06,
    "price_outlier": 0.12,
    "missing_day": 0.16,
    "sales_on_zero_stock": 0.12,
}
CUSTOMER_DEFECT_SHARE = 0.5  # share of the rate of customers with a missing age band


def inject_sales_defects(
    rng: np.random.Generator, sales: pl.DataFrame, rate: float
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Return the sales frame with defects and the number of rows hit per kind."""
    n = sales.height
    counts = {kind: round(n * rate * w) for kind, w in DEFECT_WEIGHTS.items()}
    if rate <= 0 or n == 0:
        return sales, dict.fromkeys(DEFECT_WEIGHTS, 0)
    units = sales["units_sold"].to_numpy()
    order = rng.permutation(n)
    selling = order[units[order] > 0]
    picked: dict[str, np.ndarray] = {
        "sales_on_zero_stock": selling[: counts["sales_on_zero_stock"]]
    }
    rest = np.setdiff1d(order, picked["sales_on_zero_stock"], assume_unique=True)
    rest = rest[rng.permutation(rest.size)]
    start = 0
    for kind, count in counts.items():
        if kind == "sales_on_zero_stock":
            continue
        picked[kind] = rest[start : start + count]
        start += count

    price = sales["price"].to_numpy().copy()
    price[picked["price_outlier"]] *= 100
    begin = sales["stock_begin"].to_numpy().copy()
    received = sales["received_units"].to_numpy().copy()
    end = sales["stock_end"].to_numpy().copy()
    neg = picked["negative_stock"]
    end[neg] = -(end[neg] + rng.integers(1, 20, neg.size))
    imp = picked["impossible_stock"]
    end[imp] = (begin[imp] + received[imp]) * 10 + 999
    zero = picked["sales_on_zero_stock"]
    begin[zero], received[zero], end[zero] = 0, 0, 0
    damaged = sales.with_columns(
        pl.Series("units_sold", units).scatter(picked["missing_units"], None),
        pl.Series("price", price).scatter(picked["missing_price"], None),
        pl.Series("stock_begin", begin),
        pl.Series("received_units", received),
        pl.Series("stock_end", end),
    )
    keep = np.ones(n, bool)
    keep[picked["missing_day"]] = False
    duplicates = damaged[np.sort(picked["duplicate_row"])]
    result = pl.concat([damaged.filter(pl.Series(keep)), duplicates])
    return result, counts


def inject_customer_defects(
    rng: np.random.Generator, customers: pl.DataFrame, rate: float
) -> tuple[pl.DataFrame, int]:
    count = round(customers.height * rate * CUSTOMER_DEFECT_SHARE)
    idx = rng.choice(customers.height, size=count, replace=False)
    return customers.with_columns(customers["age_band"].scatter(idx, None)), count
