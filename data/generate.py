"""Seeded synthetic retail data: same seed, same data.

`generate(config)` returns the reference tables at once and the big tables (daily sales, stock,
replenishments, baskets, true demand) as chunks of stores, so that memory stays bounded at any
scale and the build can write each chunk as it comes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from data.baskets import simulate_baskets
from data.calendar import build_calendar
from data.catalogue import CATEGORIES
from data.customers import Customers, make_customers
from data.defects import inject_customer_defects, inject_sales_defects
from data.reference import (
    Products,
    Stores,
    make_price_list,
    make_products,
    make_promotions,
    make_stores,
)
from data.simulate import (
    CalendarArrays,
    Demand,
    Inventory,
    calendar_arrays,
    promotion_arrays,
    simulate_demand,
    simulate_inventory,
)

CHUNK_CELLS = 3_600_000  # store x product x day cells simulated at once


@dataclass(frozen=True)
class Scale:
    name: str
    n_stores: int
    n_products: int


SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", 4, 36),
    "small": Scale("small", 12, 80),
    "medium": Scale("medium", 60, 240),
    "large": Scale("large", 120, 600),
}


@dataclass(frozen=True)
class GeneratorConfig:
    scale: Scale
    seed: int = 42
    defect_rate: float = 0.03
    basket_share: float = 0.2  # share of units bought by loyalty-card customers
    store_limit: int | None = None  # simulate only the first stores (mechanics checks at scale)

    def __post_init__(self) -> None:
        if not 0 <= self.defect_rate <= 0.2:
            raise ValueError(f"defect rate must be between 0 and 0.2, got {self.defect_rate}")


@dataclass
class Dataset:
    config: GeneratorConfig
    reference: dict[str, pl.DataFrame]
    chunks: Iterator[dict[str, pl.DataFrame]]
    n_chunks: int
    daily_rows: int  # rows of daily sales before defects
    defects: Counter[str] = field(default_factory=Counter)


def generate(config: GeneratorConfig) -> Dataset:
    rng = np.random.default_rng([config.seed, 0])
    calendar = build_calendar()
    dates = calendar["date"].to_list()
    n_stores = min(config.scale.n_stores, config.store_limit or config.scale.n_stores)
    stores = make_stores(rng, config.scale.n_stores)
    products = make_products(rng, config.scale.n_products)
    prices = make_price_list(rng, products, dates)
    promotions = make_promotions(rng, products, dates)
    customers = make_customers(rng, stores, products, len(dates), config.basket_share)
    raw_customers, missing_profiles = inject_customer_defects(
        rng, customers.frame.filter(pl.Series(customers.home < n_stores)), config.defect_rate
    )
    reference = {
        "raw_calendar": calendar,
        "raw_stores": stores.frame.head(n_stores),
        "raw_products": products.frame,
        "raw_prices": prices,
        "raw_promotions": promotions,
        "raw_customers": raw_customers,
    }
    per_chunk = max(1, CHUNK_CELLS // (len(dates) * config.scale.n_products))
    groups = [np.arange(s, min(s + per_chunk, n_stores)) for s in range(0, n_stores, per_chunk)]
    dataset = Dataset(
        config, reference, iter(()), len(groups), n_stores * products.base_demand.size * len(dates)
    )
    dataset.defects["missing_customer_profile"] = missing_profiles
    dataset.chunks = _chunks(
        dataset, groups, calendar_arrays(calendar), stores, products, prices, customers
    )
    return dataset


def _regular_prices(prices: pl.DataFrame, dates: list, n_products: int) -> np.ndarray:
    out = np.empty((len(dates), n_products))
    start = dates[0]
    for row in prices.iter_rows(named=True):
        first = (row["valid_from"] - start).days
        last = len(dates) if row["valid_to"] is None else (row["valid_to"] - start).days + 1
        out[first:last, row["product_id"] - 1] = row["price"]
    return out


def _chunks(
    dataset: Dataset,
    groups: list[np.ndarray],
    cal: CalendarArrays,
    stores: Stores,
    products: Products,
    prices: pl.DataFrame,
    customers: Customers,
) -> Iterator[dict[str, pl.DataFrame]]:
    config = dataset.config
    n_days, n_products = len(cal.dates), products.base_demand.size
    regular = _regular_prices(prices, cal.dates, n_products)
    regions = stores.frame["region"].to_list()
    promotions = dataset.reference["raw_promotions"]
    cat = products.category_index
    review = np.array([c.review_days for c in CATEGORIES])[cat]
    dispersion = np.where(
        products.is_slow_mover, 1.5, np.array([c.dispersion for c in CATEGORIES])[cat]
    )
    lead = products.frame["lead_time_days"].to_numpy()
    pack = products.frame["pack_size"].to_numpy()
    next_order_id = 1
    for number, group in enumerate(groups):
        rng = np.random.default_rng([config.seed, 1, number])
        promo = promotion_arrays(
            promotions, [regions[s] for s in group], n_days, n_products, cal.dates[0]
        )
        demand = simulate_demand(rng, cal, stores, group, products, regular, promo)
        tile = len(group)
        inventory = simulate_inventory(
            rng,
            demand,
            np.tile(lead, tile),
            np.tile(review, tile),
            np.tile(pack, tile),
            np.repeat(stores.service_z[group], n_products),
            np.tile(dispersion, tile),
            cal.closed,
        )
        price = np.round(regular[:, None, :] * (1 - demand.discount), 2)
        store_ids = stores.frame["store_id"].to_numpy()[group]
        frames = _series_frames(cal, store_ids, products, demand, inventory, price)
        sales, counts = inject_sales_defects(rng, frames["daily"], config.defect_rate)
        dataset.defects.update(counts)
        sold = inventory.sales.reshape(n_days, tile, n_products)
        baskets = simulate_baskets(rng, customers, group, store_ids, cal, demand, sold, price)
        orders = _orders_frame(inventory.orders, cal, store_ids, products, next_order_id)
        next_order_id += orders.height
        yield {
            "raw_daily_sales": sales,
            "true_demand": frames["true_demand"],
            "raw_replenishments": orders,
            "raw_baskets": baskets,
        }


def _series_major(a: np.ndarray) -> np.ndarray:
    """(day, store, product) or (day, series) -> flat in (store, product, day) order."""
    return np.ascontiguousarray(a.reshape(a.shape[0], -1).T).reshape(-1)


def _series_frames(
    cal: CalendarArrays,
    store_ids: np.ndarray,
    products: Products,
    demand: Demand,
    inventory: Inventory,
    price: np.ndarray,
) -> dict[str, pl.DataFrame]:
    n_days, n_products = len(cal.dates), products.base_demand.size
    keys = {
        "date": pl.Series(cal.dates * (len(store_ids) * n_products)),
        "store_id": np.repeat(store_ids, n_products * n_days).astype(np.int32),
        "product_id": np.tile(
            np.repeat(np.arange(1, n_products + 1, dtype=np.int32), n_days), len(store_ids)
        ),
    }
    begin = _series_major(inventory.stock_begin)
    received = _series_major(inventory.received)
    units = _series_major(inventory.sales)
    promo_id = _series_major(demand.promo_id)
    daily = pl.DataFrame(
        {
            **keys,
            "units_sold": units,
            "price": _series_major(price),
            "promo_id": promo_id,
            "stock_begin": begin,
            "received_units": received,
            "stock_end": (begin + received - units).astype(np.int32),
        }
    )
    daily = daily.with_columns(
        pl.when(pl.col("promo_id") > 0).then(pl.col("promo_id")).alias("promo_id")
    )
    true_demand = pl.DataFrame(
        {
            **keys,
            "demand_units": _series_major(demand.realised),
            "expected_units": _series_major(demand.expected).astype(np.float64),
            "baseline_units": _series_major(demand.baseline).astype(np.float64),
        }
    )
    return {"daily": daily, "true_demand": true_demand}


def _orders_frame(
    orders: pl.DataFrame,
    cal: CalendarArrays,
    store_ids: np.ndarray,
    products: Products,
    first_id: int,
) -> pl.DataFrame:
    n_days, n_products = len(cal.dates), products.base_demand.size
    start = np.datetime64(cal.dates[0], "D")
    series = orders["series"].to_numpy()
    arrival = orders["arrival_day"].to_numpy()
    arrived = arrival < n_days
    ordered = orders["ordered"].to_numpy().astype(np.int32)
    delivered = orders["delivered"].to_numpy().astype(np.int32)
    expected = orders["expected_day"].to_numpy()
    status = np.select(
        [~arrived, delivered < ordered, arrival > expected], ["open", "short", "late"], "delivered"
    )
    frame = pl.DataFrame(
        {
            "store_id": store_ids[series // n_products].astype(np.int32),
            "product_id": (series % n_products + 1).astype(np.int32),
            "order_date": start + orders["order_day"].to_numpy().astype("timedelta64[D]"),
            "expected_date": start + expected.astype("timedelta64[D]"),
            "delivered_date": start + arrival.astype("timedelta64[D]"),
            "ordered_units": ordered,
            "delivered_units": delivered,
            "status": status,
        }
    )
    frame = frame.with_columns(
        pl.when(pl.Series(arrived)).then(pl.col("delivered_date", "delivered_units")),
    ).sort("store_id", "product_id", "order_date")
    order_id = pl.int_range(first_id, first_id + frame.height, dtype=pl.Int64).alias("order_id")
    return frame.select(order_id, pl.all())
