"""The Sales & stock page's window arithmetic: which days to read, and how they become periods.

A trend has two series: `current` (the chosen window) and `comparison` (the comparison window,
its days moved forward by the shift so that both share the same periods). The SQL only sums
each day of both windows; polars then cuts the days into periods (at most two windows of 731
days) here, and sums them for the page's figures and its CSV download.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final, Literal

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
_PERIOD_EVERY: Final[dict[Grain, str]] = {"day": "1d", "week": "1w", "month": "1mo"}


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


def summarise_periods(daily: pl.DataFrame, selection: Selection) -> pl.DataFrame:
    """Days (`date`, `units_sold`, `revenue`, `stock_units`, `series_count`, `stockout_count`,
    `promo_count`) cut into the selection's periods, per series:

    `series` ("current", then "comparison"), `period_start`, `period_end`, `is_partial` (the
    period runs past the window), `day_count` (days with data), `units_sold`, `revenue` (EUR),
    `stock_units` (closing stock summed over the store x product series, averaged over the
    period's days), `series_count`, `stockout_count`, `promo_count` (store x product days,
    those out of stock, those on promotion). A comparison day lands in the period of the day
    the shift moves it to, so both series share the current window's periods.
    """
    every = _PERIOD_EVERY[selection.grain]
    shift = f"{selection.shift_months}mo{selection.shift_days}d"
    lazy = daily.lazy()
    current = lazy.filter(pl.col("date").is_between(selection.start, selection.end))
    comparison = lazy.filter(
        pl.col("date").is_between(selection.comparison_start, selection.comparison_end)
    )
    days = pl.concat(
        [
            current.with_columns(series=pl.lit(CURRENT)),
            comparison.with_columns(
                series=pl.lit(COMPARISON), date=pl.col("date").dt.offset_by(shift)
            ),
        ]
    )
    periods = (
        days.group_by("series", period_start=pl.col("date").dt.truncate(every))
        .agg(
            day_count=pl.len().cast(pl.Int64),
            units_sold=pl.col("units_sold").sum(),
            revenue=pl.col("revenue").sum(),
            stock_units=pl.col("stock_units").mean(),
            series_count=pl.col("series_count").sum(),
            stockout_count=pl.col("stockout_count").sum(),
            promo_count=pl.col("promo_count").sum(),
        )
        .with_columns(period_end=pl.col("period_start").dt.offset_by(every).dt.offset_by("-1d"))
        .with_columns(
            is_partial=(pl.col("period_start") < selection.start)
            | (pl.col("period_end") > selection.end)
        )
        .sort(pl.col("series") != CURRENT, "period_start")
    )
    return periods.select(
        "series",
        "period_start",
        "period_end",
        "is_partial",
        "day_count",
        "units_sold",
        "revenue",
        pl.col("stock_units").cast(pl.Float64),
        "series_count",
        "stockout_count",
        "promo_count",
    ).collect()  # one lazy plan: on a few hundred rows, each eager step cost a collect


def summarise_totals(trend: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """Per series ("current", "comparison"): `revenue`, `units_sold`, `stockout_rate`,
    `day_count` over the whole window (None where a series has no data)."""
    sums = (
        trend.group_by("series")
        .agg(pl.col("revenue", "units_sold", "stockout_count", "series_count", "day_count").sum())
        .rows_by_key("series", named=True, unique=True)
    )
    totals: dict[str, dict[str, Any]] = {}
    for series in (CURRENT, COMPARISON):
        total = sums.get(series)
        if total is None:
            totals[series] = {
                "revenue": None,
                "units_sold": None,
                "stockout_rate": None,
                "day_count": 0,
            }
            continue
        totals[series] = {
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
