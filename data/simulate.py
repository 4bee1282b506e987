"""Demand and stock mechanics, vectorised over series; stock is a recurrence over days.

Arrays are laid out (day, store, product) while simulating. Expected demand is the product of the
effects named in the README (base x traffic x trend x weekday x season x holidays x price x
promotion x post-promotion dip x cannibalisation); realised demand is negative-binomial around
it; sales are min(demand, stock on the shelf), with stock refilled by a periodic-review
order-up-to policy that forecasts from its own (censored) sales, anticipates a third of a
promotion's uplift, and suffers late and short deliveries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from data.calendar import easter_sunday
from data.catalogue import CATEGORIES
from data.reference import CANNIBALISATION, DIP_DAYS, DIP_DEPTH, Products, Stores

HOLIDAY_FACTOR = 0.55  # open public holiday
EVE_FACTOR = 1.2  # the day before a public holiday
LATE_SHARE, SHORT_SHARE = 0.06, 0.05  # deliveries that come 1-4 days late / incomplete
FORECAST_ALPHA = 0.08  # exponential smoothing of the store's own sales
PIPELINE_DAYS = 32


@dataclass(frozen=True)
class CalendarArrays:
    dates: list[dt.date]
    weekday: np.ndarray  # 0 = Monday
    closed: np.ndarray  # bool per day
    holiday: np.ndarray  # national traffic factor per day (0 when closed)
    summer: np.ndarray  # bool per day: summer school holidays
    season: np.ndarray  # (day, category) yearly seasonality incl. events
    weekday_weight: np.ndarray  # (day, category)


def _event(name: str, day: dt.date) -> float:
    if name == "christmas" and day.month == 12 and day.day <= 24:
        return ((day.day - 1) / 23) ** 2
    if name == "new_year" and day.month == 12 and day.day >= 26:
        return ((day.day - 26) / 5) ** 2
    if name == "easter":
        delta = (easter_sunday(day.year) - day).days
        return ((14 - delta) / 13) ** 2 if 1 <= delta <= 14 else (0.5 if delta == 0 else 0.0)
    if name == "back_to_school":
        doy = day.timetuple().tm_yday
        return float(np.exp(-(((doy - 241) / 8) ** 2)))
    return 0.0


def calendar_arrays(calendar: pl.DataFrame) -> CalendarArrays:
    dates = calendar["date"].to_list()
    weekday = calendar["weekday"].to_numpy() - 1
    closed = calendar["is_store_closed"].to_numpy()
    is_holiday = calendar["is_public_holiday"].to_numpy()
    eve = np.append(is_holiday[1:], False)
    holiday = np.where(
        closed, 0.0, np.where(is_holiday, HOLIDAY_FACTOR, np.where(eve, EVE_FACTOR, 1.0))
    )
    doy = calendar["day_of_year"].to_numpy()
    season = np.empty((len(dates), len(CATEGORIES)))
    weekday_weight = np.empty_like(season)
    for c, cat in enumerate(CATEGORIES):
        yearly = 1 + cat.season_amplitude * np.cos(2 * np.pi * (doy - cat.season_peak_day) / 365.25)
        events = np.array([sum(s * _event(n, d) for n, s in cat.events) for d in dates])
        season[:, c] = yearly * (1 + events)
        weekday_weight[:, c] = np.array(cat.weekday_weights)[weekday]
    summer = (calendar["school_holiday_name"] == "Été").fill_null(False).to_numpy()
    return CalendarArrays(dates, weekday, closed, holiday, summer, season, weekday_weight)


@dataclass(frozen=True)
class Demand:
    expected: np.ndarray  # (day, store, product) expected units
    baseline: np.ndarray  # expected units without promotion, dip and cannibalisation
    realised: np.ndarray  # int32 draw
    discount: np.ndarray  # active discount
    promo_id: np.ndarray  # int32, 0 when none
    regular_price: np.ndarray  # (day, product)


def promotion_arrays(
    promotions: pl.DataFrame, store_regions: list[str], n_days: int, n_products: int, start: dt.date
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Discount, promo id and post-promotion dip factor per (day, store, product)."""
    shape = (n_days, len(store_regions), n_products)
    discount = np.zeros(shape, dtype=np.float32)
    promo_id = np.zeros(shape, dtype=np.int32)
    dip = np.ones(shape, dtype=np.float32)
    regions = np.array(store_regions)
    fade = 1 - np.arange(DIP_DAYS) / DIP_DAYS
    for row in promotions.iter_rows(named=True):
        stores = np.ones(len(regions), bool) if row["region"] is None else regions == row["region"]
        if not stores.any():
            continue
        first, last = (row["start_date"] - start).days, (row["end_date"] - start).days
        p = row["product_id"] - 1
        discount[first : last + 1, stores, p] = row["discount_pct"]
        promo_id[first : last + 1, stores, p] = row["promo_id"]
        tail = min(DIP_DAYS, n_days - last - 1)
        depth = 1 - DIP_DEPTH * row["discount_pct"] * fade[:tail]
        dip[last + 1 : last + 1 + tail, stores, p] = depth[:, None]
    return discount, promo_id, dip


def simulate_demand(
    rng: np.random.Generator,
    cal: CalendarArrays,
    stores: Stores,
    store_index: np.ndarray,
    products: Products,
    regular_price: np.ndarray,
    promo: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> Demand:
    n_days, n_stores, n_products = len(cal.dates), len(store_index), len(products.base_demand)
    cat = products.category_index
    beta = np.array([c.promo_beta for c in CATEGORIES])[cat]
    elasticity = np.array([c.price_elasticity for c in CATEGORIES])[cat]
    base_price = products.frame["base_price"].to_numpy()
    by_day = cal.weekday_weight[:, cat] * cal.season[:, cat] * cal.holiday[:, None]
    by_day *= (regular_price / base_price) ** elasticity
    traffic = stores.traffic[store_index]
    summer = np.where(cal.summer[:, None], stores.summer_factor[store_index][None, :], 1.0)
    fit = rng.lognormal(0, 0.25, (n_stores, n_products))
    years = np.arange(n_days)[:, None, None] / 365.25
    growth = np.array([c.trend for c in CATEGORIES])[cat] + rng.normal(
        0, 0.05, (n_stores, n_products)
    )
    baseline = (
        products.base_demand[None, None, :]
        * (traffic[:, None] * fit)[None]
        * by_day[:, None, :]
        * summer[:, :, None]
        * np.exp(growth[None] * years)
    ).astype(np.float32)
    discount, promo_id, dip = promo
    uplift = np.exp(beta[None, None, :] * discount)
    # Cannibalisation: siblings in the same subcategory on promotion take a share of demand.
    sub = products.subcategory_index
    starts = np.flatnonzero(np.r_[True, sub[1:] != sub[:-1]])
    sibling_total = np.add.reduceat(discount, starts, axis=2)[
        :, :, np.searchsorted(starts, np.arange(n_products), "right") - 1
    ]
    cannibal = 1 - CANNIBALISATION * np.minimum(sibling_total - discount, 1.0)
    expected = (baseline * uplift * dip * cannibal).astype(np.float32)
    shape_k = np.where(
        products.is_slow_mover, 1.5, np.array([c.dispersion for c in CATEGORIES])[cat]
    )
    gamma = rng.gamma(shape_k[None, None, :], 1 / shape_k[None, None, :], expected.shape)
    realised = rng.poisson(expected * gamma).astype(np.int32)
    return Demand(expected, baseline, realised, discount, promo_id, regular_price)


@dataclass(frozen=True)
class Inventory:
    stock_begin: np.ndarray  # (day, series) int32
    received: np.ndarray
    sales: np.ndarray
    orders: pl.DataFrame  # series, order_day, expected_day, arrival_day, ordered, delivered


def simulate_inventory(
    rng: np.random.Generator,
    demand: Demand,
    lead_time: np.ndarray,  # per series
    review_days: np.ndarray,  # per series
    pack: np.ndarray,  # per series
    service_z: np.ndarray,  # per series
    dispersion: np.ndarray,  # per series
    closed: np.ndarray,
) -> Inventory:
    n_days = demand.realised.shape[0]
    want = demand.realised.reshape(n_days, -1)
    n = want.shape[1]
    # The store plans with a third of each promotion's true uplift, looked up at the arrival day.
    planned = (1 + 0.3 * (demand.expected / demand.baseline.clip(1e-6) - 1)).reshape(n_days, -1)
    forecast = demand.expected[:28].reshape(28, -1).mean(axis=0).astype(np.float64)
    horizon = lead_time + review_days
    stock = np.zeros(n, np.int64)
    ordered_pipe = np.zeros((PIPELINE_DAYS, n), np.int64)
    delivered_pipe = np.zeros((PIPELINE_DAYS, n), np.int64)
    on_order = np.zeros(n, np.int64)
    stock_begin = np.empty((n_days, n), np.int32)
    received = np.empty((n_days, n), np.int32)
    sales = np.empty((n_days, n), np.int32)
    offset = rng.integers(0, 7, n)
    cols = np.arange(n)
    order_log: list[tuple[np.ndarray, ...]] = []
    stock[:] = np.ceil(forecast * (horizon + 2) / pack) * pack
    for d in range(n_days):
        slot = d % PIPELINE_DAYS
        arriving = delivered_pipe[slot].copy()
        on_order -= ordered_pipe[slot]
        ordered_pipe[slot] = 0
        delivered_pipe[slot] = 0
        stock_begin[d] = stock
        received[d] = arriving
        available = stock + arriving
        sold = np.minimum(want[d], available)
        sales[d] = sold
        stock = available - sold
        if closed[d]:
            continue
        forecast += FORECAST_ALPHA * (sold - forecast)
        arrival_day = np.minimum(d + lead_time, n_days - 1)
        level = forecast * planned[arrival_day, cols]
        sigma = np.sqrt(level + level**2 / dispersion)
        reorder_point = level * horizon + service_z * sigma * np.sqrt(horizon)
        order_up_to = reorder_point + np.maximum(level * review_days, pack)
        position = stock + on_order
        due = ((d + offset) % review_days == 0) & (position <= reorder_point)
        idx = np.flatnonzero(due)
        if idx.size == 0:
            continue
        qty = (np.ceil((order_up_to[idx] - position[idx]) / pack[idx]) * pack[idx]).astype(np.int64)
        late = np.where(rng.random(idx.size) < LATE_SHARE, rng.integers(1, 5, idx.size), 0)
        short = rng.random(idx.size) < SHORT_SHARE
        delivered = np.where(short, np.floor(qty * rng.uniform(0.3, 0.9, idx.size)), qty).astype(
            np.int64
        )
        expected_day = d + lead_time[idx]
        arrival = expected_day + late
        np.add.at(ordered_pipe, (arrival % PIPELINE_DAYS, idx), qty)
        np.add.at(delivered_pipe, (arrival % PIPELINE_DAYS, idx), delivered)
        on_order[idx] += qty
        order_log.append((idx, np.full(idx.size, d), expected_day, arrival, qty, delivered))
    columns = ("series", "order_day", "expected_day", "arrival_day", "ordered", "delivered")
    orders = pl.DataFrame(
        {
            name: np.concatenate([o[i] for o in order_log]) if order_log else np.array([], np.int64)
            for i, name in enumerate(columns)
        }
    )
    return Inventory(stock_begin, received, sales, orders)
