"""Promotion effects: what each promotion added over its baseline, per store it ran in.

The baseline (what a store would have sold of a product without the promotion) is one log-linear
OLS regression per store x product series, fitted in `baseline` on the days free of the
product's own promotions, their aftermath and stockouts. Summed over a promotion's days, the
days after it (its dip) and its siblings' promotions (cannibalisation: the other products of
the subcategory, through the summed-discount regressor), the baseline against what sold gives
the effects; `effect_tables` turns the sums into rows with 95% intervals. The public names
of both modules stay importable from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from analytics.baseline import Array as Array
from analytics.baseline import BoolArray as BoolArray
from analytics.baseline import EffectSettings as EffectSettings
from analytics.baseline import IntArray as IntArray
from analytics.baseline import SeriesBaseline as SeriesBaseline
from analytics.baseline import calendar_features as calendar_features
from analytics.baseline import easter_sunday as easter_sunday
from analytics.baseline import feature_columns as feature_columns
from analytics.baseline import fit_series_baseline as fit_series_baseline
from analytics.baseline import range_sums as range_sums
from analytics.effect_tables import DAY_SCHEMA as DAY_SCHEMA
from analytics.effect_tables import EFFECT_COLUMNS as EFFECT_COLUMNS
from analytics.effect_tables import EFFECT_SCHEMA as EFFECT_SCHEMA
from analytics.effect_tables import PHASES as PHASES
from analytics.effect_tables import Z95 as Z95
from analytics.effect_tables import EffectTotals, build_days_frame, build_effects_frame


@dataclass(frozen=True)
class PromotionEffects:
    """`effects`: one row per promo_id x store_id (`EFFECT_SCHEMA`); `days`: the baseline day
    by day from `pre_days` before each promotion to the end of its dip (`DAY_SCHEMA`), with
    its phase: 'before', 'promotion' or 'after'."""

    effects: pl.DataFrame
    days: pl.DataFrame


@dataclass(frozen=True)
class _Windows:
    """Promotions of one store: row number in the promotions frame, product index, first and
    last day index, discount."""

    rows: IntArray
    promo_ids: IntArray
    products: IntArray
    starts: IntArray
    ends: IntArray
    discounts: Array

    def take(self, mask: BoolArray) -> _Windows:
        return _Windows(
            rows=self.rows[mask],
            promo_ids=self.promo_ids[mask],
            products=self.products[mask],
            starts=self.starts[mask],
            ends=self.ends[mask],
            discounts=self.discounts[mask],
        )


@dataclass(frozen=True)
class _Series:
    """One store x product: day arrays and the design matrix."""

    store_id: int
    design: Array
    units: Array  # 0 where the day has no row (see is_valid)
    revenue: Array
    price: Array  # regular price, EUR
    has_row: BoolArray
    is_valid: BoolArray  # the store was open and the day has a row
    is_stockout: BoolArray
    is_own_promo_or_dip: BoolArray


def estimate_promotion_effects(
    sales: pl.DataFrame,
    features: pl.DataFrame,
    prices: pl.DataFrame,
    promotions: pl.DataFrame,
    products: pl.DataFrame,
    settings: EffectSettings | None = None,
) -> PromotionEffects:
    """Baseline, incremental units and revenue, dip and cannibalisation per promotion x store.

    sales: store_id, product_id, date, units_sold, revenue, is_stockout (no row = no data).
    features: a `calendar_features` frame, one row per consecutive date of the period.
    prices: product_id, date, regular_price (EUR). promotions: promo_id, product_id, store_id,
    start_date, end_date, discount_pct (0 to 1), one row per store it ran in, inside the
    period. products: product_id, subcategory. Series with fewer than `min_train_days` clean
    days are not estimated: their promotions are left out.
    """
    settings = settings or EffectSettings()
    dates = features.get_column("date").sort()
    n_days, first_day = dates.len(), dates[0]
    product_ids = products.get_column("product_id").to_list()
    to_index = {
        "_day": (pl.col("date") - first_day).dt.total_days(),
        "_product": pl.col("product_id").replace_strict(
            product_ids, list(range(len(product_ids))), default=-1, return_dtype=pl.Int64
        ),
    }
    design_base = np.column_stack(
        [np.ones(n_days), features.sort("date").select(feature_columns(features)).to_numpy()]
    )
    is_open = ~features.sort("date").get_column("is_store_closed").to_numpy()
    price = _price_matrix(prices.with_columns(**to_index), len(product_ids), n_days)
    subcategories = products.get_column("subcategory").to_list()
    siblings = [
        np.array([j for j, other in enumerate(subcategories) if other == mine and j != i], int)
        for i, mine in enumerate(subcategories)
    ]
    promos = (
        promotions.with_columns(
            _start=(pl.col("start_date") - first_day).dt.total_days(),
            _end=(pl.col("end_date") - first_day).dt.total_days(),
            _product=to_index["_product"],
        )
        .filter((pl.col("_product") >= 0) & (pl.col("_start") >= 0) & (pl.col("_end") < n_days))
        .with_row_index("_row")
    )
    sales_by_store = (
        sales.with_columns(**to_index)
        .filter((pl.col("_product") >= 0) & pl.col("_day").is_between(0, n_days - 1))
        .partition_by("store_id", as_dict=True)
    )
    totals = EffectTotals(promos.height)
    day_parts: list[dict[str, Array]] = []
    for (store_id,), store_promos in promos.partition_by("store_id", as_dict=True).items():
        store_sales = sales_by_store.get((store_id,))
        if store_sales is None:
            continue
        windows = _windows(store_promos)
        units, revenue, stockout = _store_arrays(store_sales, len(product_ids), n_days)
        discount = np.zeros((len(product_ids), n_days))
        own = np.zeros((len(product_ids), n_days), dtype=bool)
        for p, start, end, depth in zip(
            windows.products, windows.starts, windows.ends, windows.discounts, strict=True
        ):
            discount[p, start : end + 1] += depth
            own[p, start : end + 1 + settings.dip_days] = True
        promoted = set(windows.products.tolist())
        for p in sorted(promoted | {int(j) for q in promoted for j in siblings[q]}):
            series = _Series(
                store_id=int(store_id),
                design=np.column_stack(
                    [design_base, np.log(price[p]), discount[siblings[p]].sum(axis=0)]
                ),
                units=np.nan_to_num(units[p]),
                revenue=np.nan_to_num(revenue[p]),
                price=price[p],
                has_row=~np.isnan(units[p]),
                is_valid=is_open & ~np.isnan(units[p]),
                is_stockout=stockout[p] > 0,
                is_own_promo_or_dip=own[p],
            )
            is_train = series.is_valid & ~series.is_own_promo_or_dip & ~series.is_stockout
            fit = fit_series_baseline(series.units, series.design, is_train, settings)
            if fit is None:
                continue
            mine = windows.take(windows.products == p)
            theirs = windows.take(np.isin(windows.products, siblings[p]))
            _add_windows(totals, fit, series, mine, theirs, settings)
            if mine.rows.size:
                day_parts.append(_daily_rows(fit, series, is_open, mine, settings))
    return PromotionEffects(build_effects_frame(promos, totals), build_days_frame(day_parts, dates))


def _windows(promos: pl.DataFrame) -> _Windows:
    def ints(name: str) -> IntArray:
        values: IntArray = promos.get_column(name).cast(pl.Int64).to_numpy()
        return values

    return _Windows(
        rows=ints("_row"),
        promo_ids=ints("promo_id"),
        products=ints("_product"),
        starts=ints("_start"),
        ends=ints("_end"),
        discounts=promos.get_column("discount_pct").cast(pl.Float64).to_numpy(),
    )


def _price_matrix(prices: pl.DataFrame, n_products: int, n_days: int) -> Array:
    """(product, day) regular prices; gaps take the nearest known price (1 EUR with none)."""
    known = prices.filter(
        (pl.col("_product") >= 0)
        & pl.col("_day").is_between(0, n_days - 1)
        & (pl.col("regular_price") > 0)
    )
    matrix = np.full((n_days, n_products), np.nan)
    matrix[known.get_column("_day").to_numpy(), known.get_column("_product").to_numpy()] = (
        known.get_column("regular_price").to_numpy()
    )
    filled = (
        pl.DataFrame(matrix, schema=[f"p{i}" for i in range(n_products)])
        .fill_nan(None)
        .fill_null(strategy="forward")
        .fill_null(strategy="backward")
        .fill_null(1.0)
    )
    result: Array = filled.to_numpy().T.astype(np.float64)
    return result


def _store_arrays(sales: pl.DataFrame, n_products: int, n_days: int) -> tuple[Array, ...]:
    """(product, day) arrays of one store's units, revenue and stockouts; NaN with no row."""
    index = (sales.get_column("_product").to_numpy(), sales.get_column("_day").to_numpy())
    arrays = []
    for name in ("units_sold", "revenue", "is_stockout"):
        matrix = np.full((n_products, n_days), np.nan)
        matrix[index] = sales.get_column(name).cast(pl.Float64).fill_null(0.0).to_numpy()
        arrays.append(matrix)
    return tuple(arrays)


def _add_windows(
    totals: EffectTotals,
    fit: SeriesBaseline,
    series: _Series,
    mine: _Windows,
    theirs: _Windows,
    settings: EffectSettings,
) -> None:
    """Sum actual and baseline units and revenue over the series' own promotions, their dips
    and both together; and over its siblings' promotions (cannibalisation: on the days this
    product is not itself on promotion or in its dip, its baseline without that promotion,
    less what it sold, in units and at its regular price)."""
    n = mine.rows.size
    after = mine.ends + settings.dip_days
    firsts = np.concatenate([mine.starts, mine.ends + 1, mine.starts])
    lasts = np.concatenate([mine.ends, after, after])
    valid = series.is_valid
    units, units_var = fit.sum_windows(series.design, firsts, lasts, is_counted=valid)
    revenue, revenue_var = fit.sum_windows(
        series.design, firsts, lasts, is_counted=valid, weights=series.price
    )
    actual = range_sums(
        np.column_stack([series.units, series.revenue, np.ones_like(series.units),
                         series.is_stockout]) * valid[:, None],
        firsts,
        lasts,
    )  # fmt: skip
    for number, span in enumerate(("promo", "dip", "net")):
        part = slice(number * n, (number + 1) * n)
        totals.add(f"{span}_actual_units", mine.rows, actual[part, 0])
        totals.add(f"{span}_baseline_units", mine.rows, units[part])
        totals.add(f"{span}_var_units", mine.rows, units_var[part])
        totals.add(f"{span}_actual_revenue", mine.rows, actual[part, 1])
        totals.add(f"{span}_baseline_revenue", mine.rows, revenue[part])
        totals.add(f"{span}_var_revenue", mine.rows, revenue_var[part])
    totals.add("promo_days", mine.rows, actual[:n, 2])
    totals.add("stockout_days", mine.rows, actual[:n, 3])
    totals.add("dip_days", mine.rows, actual[n : 2 * n, 2])
    totals.add("train_days", mine.rows, np.full(n, float(fit.train_days)))
    totals.add("r_squared", mine.rows, np.full(n, fit.r_squared))
    totals.add("_estimated", mine.rows, np.ones(n))
    if theirs.rows.size:
        _add_cannibalisation(totals, fit, series, theirs)


def _add_cannibalisation(
    totals: EffectTotals, fit: SeriesBaseline, series: _Series, theirs: _Windows
) -> None:
    eligible = series.is_valid & ~series.is_own_promo_or_dip
    offsets = -theirs.discounts
    actual = range_sums(
        np.column_stack([series.units, series.units * series.price, np.ones_like(series.units)])
        * eligible[:, None],
        theirs.starts,
        theirs.ends,
    )
    for column, (unit, weights) in enumerate((("units", None), ("units_at_price", series.price))):
        baseline, variance = fit.sum_windows(
            series.design,
            theirs.starts,
            theirs.ends,
            is_counted=eligible,
            weights=weights,
            offsets=offsets,
        )
        totals.add(f"cannibal_actual_{unit}", theirs.rows, actual[:, column])
        totals.add(f"cannibal_baseline_{unit}", theirs.rows, baseline)
        totals.add(f"cannibal_var_{unit}", theirs.rows, variance)
    totals.add("sibling_count", theirs.rows, (actual[:, 2] > 0).astype(np.float64))


def _daily_rows(
    fit: SeriesBaseline,
    series: _Series,
    is_open: BoolArray,
    windows: _Windows,
    settings: EffectSettings,
) -> dict[str, Array]:
    """Actual and baseline units per day around each promotion of the series."""
    n_days = series.units.size
    spans = [
        np.arange(max(start - settings.pre_days, 0), min(end + settings.dip_days + 1, n_days))
        for start, end in zip(windows.starts, windows.ends, strict=True)
    ]
    days = np.concatenate(spans)
    sizes = [span.size for span in spans]
    baseline, variance = fit.predict(series.design[days])
    closed = ~is_open[days]
    return {
        "promo_id": np.repeat(windows.promo_ids, sizes),
        "store_id": np.full(days.size, series.store_id),
        "day": days,
        "phase": (days >= np.repeat(windows.starts, sizes)).astype(np.int64)
        + (days > np.repeat(windows.ends, sizes)),
        "units_sold": np.where(series.has_row[days], series.units[days], np.nan),
        "baseline_units": np.where(closed, 0.0, np.maximum(baseline, 0.0)),
        "baseline_var": np.where(closed, 0.0, variance),
    }
