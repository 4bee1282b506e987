"""Basket lines for the customers of a chunk of stores, reconciled with those stores' sales."""

from __future__ import annotations

import numpy as np
import polars as pl

from data.customers import FAVOURITE_SHARE, FAVOURITES, Customers
from data.simulate import CalendarArrays, Demand

_ZIPF = 1 / np.arange(1, FAVOURITES + 1) ** 0.8
_ZIPF /= _ZIPF.sum()


def _visit_minutes(rng: np.random.Generator, sunday: np.ndarray) -> np.ndarray:
    """Minutes after midnight: a late-morning and an after-work peak; Sunday mornings only."""
    morning = rng.random(sunday.size) < 0.45
    minutes = np.where(morning, rng.normal(660, 60, sunday.size), rng.normal(1065, 80, sunday.size))
    weekday = np.clip(minutes, 510, 1230)
    return np.where(sunday, np.clip(rng.normal(645, 50, sunday.size), 540, 765), weekday).astype(
        int
    )


def simulate_baskets(
    rng: np.random.Generator,
    customers: Customers,
    chunk_stores: np.ndarray,  # store indices of this chunk, in chunk order
    store_ids: np.ndarray,  # their ids
    cal: CalendarArrays,
    demand: Demand,
    sales: np.ndarray,  # (day, store, product) units sold
    price: np.ndarray,  # (day, store, product) shelf price paid
) -> pl.DataFrame:
    members = np.flatnonzero(np.isin(customers.home, chunk_stores))
    n_days, n_stores, n_products = sales.shape
    local_store = np.searchsorted(chunk_stores, customers.home[members])
    active_days = customers.last_day[members] - customers.first_day[members]
    visits = rng.poisson(customers.rate[members] * active_days / 7)
    who = np.repeat(np.arange(members.size), visits)
    # Visit days: uniform inside the customer's active span, then moved off closed days.
    span = active_days[who]
    day = customers.first_day[members][who] + (rng.random(who.size) * span).astype(int)
    day = np.where(cal.closed[day], np.minimum(day + 1, n_days - 1), day)
    sequence = np.arange(who.size) - np.repeat(np.cumsum(visits) - visits, visits)
    n_lines = 1 + rng.poisson(customers.lines[members][who] - 1)
    visit = np.repeat(np.arange(who.size), n_lines)
    cust = who[visit]
    favourite = rng.random(visit.size) < FAVOURITE_SHARE
    product = customers.favourites[members[cust], rng.choice(FAVOURITES, visit.size, p=_ZIPF)]
    explore = np.flatnonzero(~favourite)
    segment = customers.segment[members[cust[explore]]]
    for g in np.unique(segment):
        rows = explore[segment == g]
        product[rows] = rng.choice(n_products, rows.size, p=customers.segment_products[g])
    line_day, line_store = day[visit], local_store[cust]
    mean_expected = demand.expected.mean(axis=0).clip(1e-6)
    lift = demand.expected[line_day, line_store, product] / mean_expected[line_store, product]
    accept = np.clip(0.6 * lift ** customers.sensitivity[members[cust]], 0, 1)
    keep = rng.random(visit.size) < accept
    quantity = 1 + rng.poisson(0.25, visit.size)
    # Reconcile: shuffle, then keep lines while the cumulative quantity fits in the day's sales.
    idx = np.flatnonzero(keep)
    idx = idx[rng.permutation(idx.size)]
    key = (line_day[idx] * n_stores + line_store[idx]) * n_products + product[idx]
    order = np.argsort(key, kind="stable")
    idx, key = idx[order], key[order]
    qty = quantity[idx]
    group_start = np.r_[True, key[1:] != key[:-1]]
    cumulative = np.cumsum(qty)
    offsets = np.maximum.accumulate(np.where(group_start, cumulative - qty, 0))
    fits = (cumulative - offsets) <= sales.reshape(-1)[key]
    idx = np.sort(idx[fits])
    v = visit[idx]
    customer_ids = customers.frame["customer_id"].to_numpy()[members[who[v]]]
    start = np.datetime64(cal.dates[0], "m")
    minutes = _visit_minutes(rng, cal.weekday[day] == 6)
    stamp = (start + (day[v] * 1440 + minutes[v]).astype("timedelta64[m]")).astype("datetime64[us]")
    frame = pl.DataFrame(
        {
            "basket_id": customer_ids.astype(np.int64) * 1000 + sequence[v],
            "customer_id": customer_ids,
            "store_id": store_ids[line_store[idx]],
            "purchased_at": stamp,
            "product_id": (product[idx] + 1).astype(np.int32),
            "quantity": quantity[idx].astype(np.int32),
            "unit_price_paid": price[line_day[idx], line_store[idx], product[idx]],
        }
    )
    # The same product drawn twice in one visit is one line.
    return (
        frame.group_by("basket_id", "product_id")
        .agg(pl.col("quantity").sum(), pl.exclude("quantity").first())
        .select(frame.columns)
        .sort("basket_id", "product_id")
    )
