"""The Sales & stock page's window arithmetic: which days to read, and how they become periods.

A trend has two series: `current` (the chosen window) and `comparison` (the comparison window,
its days moved forward by the shift so that both share the same periods). The SQL only sums
each day of both windows; numpy then cuts the days into periods (at most two windows of 731
days) here, and polars sums them for the page's KPIs and its CSV download.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import polars as pl

from dashboard.queries import Params

Grain = Literal["day", "week", "month"]
Comparison = Literal["previous", "last_year"]
Measure = Literal["revenue", "units"]
CURRENT: Final = "current"
COMPARISON: Final = "comparison"
DEFAULT_WINDOW_MONTHS: Final = 6
WEEK_DAYS: Final = 7
LAST_YEAR_DAYS: Final = 364  # 52 weeks back: the same weekdays last year
# A day's columns as numpy arrays (masked where null), as DuckDB's `fetchnumpy` returns them.
Days = Mapping[str, "np.ndarray[Any, Any]"]
_SUMMED: Final = ("units_sold", "revenue", "series_count", "stockout_count", "promo_count")
_PERIOD_SCHEMA: Final = {
    "series": pl.String,
    "period_start": pl.Date,
    "period_end": pl.Date,
    "is_partial": pl.Boolean,
    "day_count": pl.Int64,
    "units_sold": pl.Int64,
    "revenue": pl.Float64,
    "stock_units": pl.Float64,
    "series_count": pl.Int64,
    "stockout_count": pl.Int64,
    "promo_count": pl.Int64,
}
_DAY_INPUTS: Final = ("date", *_SUMMED, "stock_units")
_EPOCH_WEEKDAY: Final = 3  # 1970-01-01, day 0 of datetime64[D], was a Thursday


@dataclass(frozen=True)
class Selection:
    """What to read: a window of dates, its comparison window and the filters (None = all)."""

    start: dt.date
    end: dt.date
    comparison_start: dt.date
    comparison_end: dt.date
    shift_days: int
    shift_months: int
    grain: Grain
    region: str | None = None
    store_id: int | None = None
    category: str | None = None
    subcategory: str | None = None
    product_id: int | None = None

    @property
    def is_single_series(self) -> bool:
        return self.store_id is not None and self.product_id is not None

    def params(self, *names: str) -> Params:
        """The window bounds (ISO text; the SQL casts them) and the named filters."""
        windows = {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "comparison_start": self.comparison_start.isoformat(),
            "comparison_end": self.comparison_end.isoformat(),
            "first_date": min(self.start, self.comparison_start).isoformat(),
            "last_date": max(self.end, self.comparison_end).isoformat(),
        }
        filters: dict[str, str | int | None] = {
            "region": self.region,
            "store_id": self.store_id,
            "category": self.category,
            "subcategory": self.subcategory,
            "product_id": self.product_id,
        }
        return {**windows, **{name: filters[name] for name in names}}


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months, the day of month clamped to the target month's length."""
    index = day.year * 12 + day.month - 1 + months
    year, month_index = divmod(index, 12)
    following = dt.date(year + (month_index + 1) // 12, (month_index + 1) % 12 + 1, 1)
    last_day = (following - dt.timedelta(days=1)).day
    return dt.date(year, month_index + 1, min(day.day, last_day))


def default_window(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """The last six months of data: 2025-07-01..2025-12-31 for data ending 2025-12-31."""
    start = add_months(last, -DEFAULT_WINDOW_MONTHS) + dt.timedelta(days=1)
    return max(start, first), last


def comparison_shift(
    start: dt.date, end: dt.date, grain: Grain, comparison: Comparison
) -> tuple[int, int]:
    """How far back the comparison window lies, as (days, months).

    Day and week grains move by whole weeks so that weekdays line up: the previous period is
    the window's length rounded up to whole weeks, last year is 52 weeks. The month grain moves
    by whole months: as many as the window touches, or twelve.
    """
    if grain == "month":
        if comparison == "last_year":
            return 0, 12
        return 0, (end.year - start.year) * 12 + end.month - start.month + 1
    if comparison == "last_year":
        return LAST_YEAR_DAYS, 0
    days = (end - start).days + 1
    return -(-days // WEEK_DAYS) * WEEK_DAYS, 0


def build_selection(
    start: dt.date,
    end: dt.date,
    grain: Grain,
    comparison: Comparison,
    *,
    region: str | None = None,
    store_id: int | None = None,
    category: str | None = None,
    subcategory: str | None = None,
    product_id: int | None = None,
) -> Selection:
    shift_days, shift_months = comparison_shift(start, end, grain, comparison)

    def back(day: dt.date) -> dt.date:
        return add_months(day, -shift_months) - dt.timedelta(days=shift_days)

    return Selection(
        start=start,
        end=end,
        comparison_start=back(start),
        comparison_end=back(end),
        shift_days=shift_days,
        shift_months=shift_months,
        grain=grain,
        region=region,
        store_id=store_id,
        category=category,
        subcategory=subcategory,
        product_id=product_id,
    )


def summarise_periods(daily: pl.DataFrame | Days, selection: Selection) -> pl.DataFrame:
    """Days (`date`, `units_sold`, `revenue`, `stock_units`, `series_count`, `stockout_count`,
    `promo_count`; a polars frame or numpy columns) cut into the selection's periods, per series:

    `series` ("current", then "comparison"), `period_start`, `period_end`, `is_partial` (the
    period runs past the window), `day_count` (days with data), `units_sold`, `revenue` (EUR),
    `stock_units` (closing stock summed over the store x product series, averaged over the
    period's days), `series_count`, `stockout_count`, `promo_count` (store x product days,
    those out of stock, those on promotion). A comparison day lands in the period of the day
    the shift moves it to, so both series share the current window's periods. Nulls count as
    in polars: a sum skips them, a mean of none is null.

    In numpy: on at most two windows of 731 days, a polars plan cost 1-2 ms of the
    single-series trend's budget, this about a tenth of that.
    """
    columns = _as_columns(daily)
    dates, has_date = columns["date"]
    dates = dates.astype("datetime64[D]")
    windows = (
        (CURRENT, selection.start, selection.end, 0, 0),
        (
            COMPARISON,
            selection.comparison_start,
            selection.comparison_end,
            selection.shift_months,
            selection.shift_days,
        ),
    )
    parts: list[dict[str, np.ndarray[Any, Any]]] = []
    for series, first, last, months, days in windows:
        keep = has_date & (dates >= np.datetime64(first)) & (dates <= np.datetime64(last))
        moved = _offset(dates[keep], months, days)
        starts, index = np.unique(_truncate(moved, selection.grain), return_inverse=True)
        ends = _period_end(starts, selection.grain)
        part: dict[str, np.ndarray[Any, Any]] = {
            "series": np.full(len(starts), series, dtype=object),
            "period_start": starts,
            "period_end": ends,
            "is_partial": (starts < np.datetime64(selection.start))
            | (ends > np.datetime64(selection.end)),
            "day_count": np.bincount(index, minlength=len(starts)).astype(np.int64),
        }
        for name in _SUMMED:
            values, valid = columns[name]
            part[name] = _group_sum(values[keep], valid[keep], index, len(starts))
        values, valid = columns["stock_units"]
        total = _group_sum(values[keep], valid[keep], index, len(starts)).astype(np.float64)
        count = np.bincount(index, weights=valid[keep], minlength=len(starts))
        part["stock_units"] = np.divide(
            total, count, out=np.full_like(total, np.nan), where=count > 0
        )
        parts.append(part)
    merged = {name: np.concatenate([part[name] for part in parts]) for name in _PERIOD_SCHEMA}
    stock = merged["stock_units"]
    frame = pl.DataFrame(
        {**merged, "stock_units": pl.Series(stock, nan_to_null=True)}, schema=_PERIOD_SCHEMA
    )
    return frame


def _as_columns(
    daily: pl.DataFrame | Days,
) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    """Each input column as (values, is-not-null), from polars or numpy (masked where null, as
    DuckDB's `fetchnumpy` gives them)."""
    columns: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}
    for name in _DAY_INPUTS:
        if isinstance(daily, pl.DataFrame):
            column = daily.get_column(name)
            valid = column.is_not_null().to_numpy()
            fill = 0 if name != "date" else dt.date(1970, 1, 1)
            values = column.fill_null(fill).to_numpy() if column.null_count() else column.to_numpy()
        else:
            array = daily[name]
            valid = ~np.ma.getmaskarray(array)
            values = np.ma.getdata(array)
        columns[name] = (values, valid)
    return columns


def _group_sum(
    values: np.ndarray[Any, Any],
    valid: np.ndarray[Any, Any],
    index: np.ndarray[Any, Any],
    size: int,
) -> np.ndarray[Any, Any]:
    """Per group, the sum of the values not null (0 when none), integers kept as int64."""
    kept = np.where(valid, values, 0)
    if values.dtype.kind in "iub":
        out = np.zeros(size, dtype=np.int64)
        np.add.at(out, index, kept.astype(np.int64))
        return out
    return np.bincount(index, weights=kept.astype(np.float64), minlength=size)


def _offset(dates: np.ndarray[Any, Any], months: int, days: int) -> np.ndarray[Any, Any]:
    """`dates` moved by whole months (the day of month clamped, as `add_months`), then days."""
    if months:
        month = dates.astype("datetime64[M]")
        target = month + months
        length = (target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")
        day = np.minimum(dates - month.astype("datetime64[D]"), length - 1)
        dates = target.astype("datetime64[D]") + day
    moved: np.ndarray[Any, Any] = dates + np.timedelta64(days, "D")
    return moved


def _truncate(dates: np.ndarray[Any, Any], grain: Grain) -> np.ndarray[Any, Any]:
    """The first day of each date's period: itself, its week's Monday, its month's first."""
    if grain == "week":
        weekday = (dates.astype(np.int64) + _EPOCH_WEEKDAY) % WEEK_DAYS
        monday: np.ndarray[Any, Any] = dates - weekday.astype("timedelta64[D]")
        return monday
    if grain == "month":
        return dates.astype("datetime64[M]").astype("datetime64[D]")
    return dates


def _period_end(starts: np.ndarray[Any, Any], grain: Grain) -> np.ndarray[Any, Any]:
    if grain == "week":
        return starts + np.timedelta64(WEEK_DAYS - 1, "D")
    if grain == "month":
        return (starts.astype("datetime64[M]") + 1).astype("datetime64[D]") - np.timedelta64(1, "D")
    return starts


def summarise_totals(trend: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """Per series ("current", "comparison"): `revenue`, `units_sold`, `stockout_rate`,
    `day_count` over the whole window (None where a series has no data)."""
    series = trend.get_column("series").to_numpy()
    sums = {
        name: trend.get_column(name).to_numpy()
        for name in ("revenue", "units_sold", "stockout_count", "series_count", "day_count")
    }  # numpy, not a polars group-by: on a few dozen rows the plan cost more than the sums
    totals: dict[str, dict[str, Any]] = {}
    for name in (CURRENT, COMPARISON):
        rows = series == name
        if not rows.any():
            totals[name] = {
                "revenue": None,
                "units_sold": None,
                "stockout_rate": None,
                "day_count": 0,
            }
            continue
        total = {column: np.nansum(values[rows]).item() for column, values in sums.items()}
        totals[name] = {
            "revenue": total["revenue"],
            "units_sold": total["units_sold"],
            "stockout_rate": (
                total["stockout_count"] / total["series_count"] if total["series_count"] else None
            ),
            "day_count": total["day_count"],
        }
    return totals


def build_trend_table(trend: pl.DataFrame) -> pl.DataFrame:
    """The trend as the CSV download gives it: one row per period of the window, the
    comparison's values beside it, units in the column names."""
    measures = ("units_sold", "revenue", "stock_units", "series_count", "stockout_count")
    current = trend.filter(pl.col("series") == CURRENT)
    comparison = trend.filter(pl.col("series") == COMPARISON).select(
        "period_start",
        *[pl.col(name).alias(f"comparison_{name}") for name in ("day_count", *measures)],
    )
    table = current.join(comparison, on="period_start", how="left").sort("period_start")
    return table.select(
        "period_start",
        "period_end",
        "is_partial",
        pl.col("day_count").alias("days_with_data"),
        "units_sold",
        pl.col("revenue").round(2).alias("revenue_eur"),
        pl.col("stock_units").round(1).alias("stock_on_hand_units"),
        pl.col("series_count").alias("store_product_days"),
        pl.col("stockout_count").alias("stockout_days"),
        pl.col("promo_count").alias("promo_days"),
        pl.col("comparison_day_count").alias("comparison_days_with_data"),
        "comparison_units_sold",
        pl.col("comparison_revenue").round(2).alias("comparison_revenue_eur"),
        pl.col("comparison_stock_units").round(1).alias("comparison_stock_on_hand_units"),
        pl.col("comparison_series_count").alias("comparison_store_product_days"),
        pl.col("comparison_stockout_count").alias("comparison_stockout_days"),
    )
