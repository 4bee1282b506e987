"""One series as numpy arrays: its target and every regressor, history and forecast days alike.

`build_table(history, future)` completes the history to one row per period (a day, or a week
for weekly data: see `detect_step`), appends the forecast periods and computes each regressor
once, so a backtest fits its windows on slices (`rows [0, end)` to fit, `[end, end + h)` to
forecast) instead of rebuilding features per window. The target of the forecast rows is NaN.

Regressors, by name: `weekday_2`..`weekday_7` (daily data), `yearly_sin_k`/`yearly_cos_k`
(any k, made on first use), `trend` (years since the first row), `is_holiday`,
`is_holiday_eve` (daily data: the next day is a holiday), `is_store_closed`, `log_price`,
`promo_flag` and `promo_depth`. A missing value takes the last known one (or the first, before
any is known), so a future day without a price has the last price.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from analytics.features import TARGET_COL, TIME_COL, YEAR_DAYS
from analytics.holidays import holiday_arrays

Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
DAILY: Final = 1
WEEKLY: Final = 7
# The season, in periods, of daily and weekly data.
SEASONS: Final = {DAILY: 7, WEEKLY: 52}
# Raw columns the regressors are made from.
SOURCE_COLUMNS: Final = (
    "price",
    "is_promo",
    "discount_pct",
    "is_public_holiday",
    "is_store_closed",
)


@dataclass
class SeriesTable:
    """A completed series: `n_history` observed-or-missing rows, then the forecast rows."""

    dates: pl.Series
    days: npt.NDArray[np.int64]  # days since 1970-01-01
    y: Array  # NaN on missing days and on forecast rows
    step: int  # days between rows: 1 (daily) or 7 (weekly)
    n_history: int
    sources: dict[str, Array]
    # the table row of each row of the history it was built from that fell on the grid
    history_rows: npt.NDArray[np.int64] | None = None
    _cache: dict[str, Array] = field(default_factory=dict, repr=False)

    @property
    def season(self) -> int:
        """The seasonal period in rows: 7 for daily data, 52 for weekly."""
        return SEASONS[self.step]

    @property
    def span_days(self) -> int:
        return int(self.days[self.n_history - 1] - self.days[0]) + self.step

    def column(self, name: str) -> Array | None:
        """The regressor `name` over every row, or None when the data cannot make it."""
        if name not in self._cache:
            made = self._make(name)
            if made is None:
                return None
            self._cache[name] = made
        return self._cache[name]

    def _make(self, name: str) -> Array | None:
        days = self.days.astype(np.float64)
        if name.startswith("weekday_"):
            if self.step != DAILY:
                return None
            weekday = (self.days + 3) % 7 + 1  # 1970-01-01 was a Thursday
            out: Array = (weekday == int(name.removeprefix("weekday_"))).astype(np.float64)
            return out
        if name.startswith("yearly_"):
            _, kind, order = name.split("_")
            angle = 2 * math.pi * int(order) * days / YEAR_DAYS
            wave: Array = np.sin(angle) if kind == "sin" else np.cos(angle)
            return wave
        if name == "trend":
            trend: Array = (days - days[0]) / YEAR_DAYS
            return trend
        if name == "is_holiday":
            return self.sources.get("is_public_holiday")
        if name == "is_holiday_eve":
            holiday = self.sources.get("is_public_holiday")
            if holiday is None or self.step != DAILY:
                return None
            return np.append(holiday[1:], 0.0)
        if name == "is_store_closed":
            return self.sources.get("is_store_closed")
        if name == "log_price":
            price = self.sources.get("price")
            return None if price is None else np.log(price)
        if name == "promo_flag":
            return self.sources.get("is_promo")
        if name == "promo_depth":
            promo, discount = self.sources.get("is_promo"), self.sources.get("discount_pct")
            return None if promo is None or discount is None else promo * discount
        return None

    def matrix(self, columns: Sequence[str], start: int, stop: int) -> Array:
        """The intercept and `columns` over rows [start, stop)."""
        out = np.ones((stop - start, len(columns) + 1))
        for j, name in enumerate(columns, start=1):
            values = self.column(name)
            assert values is not None
            out[:, j] = values[start:stop]
        return out

    def usable(
        self,
        wanted: Sequence[str],
        end: int,
        *,
        min_feature_days: int = 2,
        rows: npt.NDArray[np.bool_] | None = None,
    ) -> list[str]:
        """The `wanted` regressors that exist and, on the observed rows before `end` (and among
        `rows`, when given: one flag per row before `end`), take at least two values, each but
        the commonest on `min_feature_days` rows or more."""
        observed = np.isfinite(self.y[:end])
        if rows is not None:
            observed &= rows
        kept = []
        for name in wanted:
            values = self.column(name)
            if values is None:
                continue
            seen = values[:end][observed]
            if len(seen) == 0:
                continue
            if name.startswith(("yearly_", "trend")):
                varies = len(seen) - int(np.sum(seen == seen[0]))  # distinct on every day
            elif name in _BINARY:
                ones = int(np.count_nonzero(seen))
                varies = min(ones, len(seen) - ones) if 0 < ones < len(seen) else 0
            else:
                _, counts = np.unique(seen, return_counts=True)
                varies = len(seen) - int(counts.max()) if len(counts) > 1 else 0
            if varies >= max(min_feature_days, 1):
                kept.append(name)
        return kept


_BINARY: Final = frozenset(
    {*(f"weekday_{d}" for d in range(1, 8)), "is_holiday", "is_holiday_eve", "is_store_closed"}
)


def detect_step(dates: pl.Series) -> int:
    """1 for daily dates, 7 for weekly ones (the smallest gap between distinct dates); a
    single date counts as daily. Other spacings raise ValueError."""
    days = np.unique(dates.drop_nulls().cast(pl.Date).cast(pl.Int32).to_numpy())
    if len(days) < 2:
        return DAILY
    gaps = np.diff(days)
    step = int(gaps.min())
    if step not in SEASONS or np.any(gaps % step):
        raise ValueError(
            f"the dates are neither daily nor weekly (smallest gap {step} days); "
            "give one row per day or per week"
        )
    return step


def build_table(
    history: pl.DataFrame,
    future: pl.DataFrame | None = None,
    *,
    horizon: int | None = None,
    step: int | None = None,
    time_col: str = TIME_COL,
    target_col: str = TARGET_COL,
) -> SeriesTable:
    """The table of one series: `history` completed to every period from its first to its last
    date (rows off that grid are dropped; of two rows for one date the later counts), then the
    forecast rows: `horizon` periods, or as many as `future` has rows when `horizon` is None.

    `future` holds what is known of forecast periods, matched by date (other dates are
    ignored); what it leaves unknown is the default of `features.future_frame`: the last
    price, no promotion, the French public holidays and closures by rule (`holidays`)."""
    every = detect_step(history.get_column(time_col)) if step is None else step
    days = _days(history.get_column(time_col))
    first = int(days.min())
    n_history = (int(days.max()) - first) // every + 1
    on_grid = (days - first) % every == 0
    rows = (days[on_grid] - first) // every
    n_future = horizon if horizon is not None else (0 if future is None else future.height)
    grid = first + every * np.arange(n_history + n_future, dtype=np.int64)
    y = np.full(len(grid), np.nan)
    y[rows] = _floats(history.get_column(target_col))[on_grid]
    future_rows = np.zeros(0, dtype=np.int64)
    future_index = np.zeros(0, dtype=np.int64)
    if future is not None and future.height:
        known_days = _days(future.get_column(time_col))
        offset = known_days - grid[n_history - 1]
        usable = (offset > 0) & (offset % every == 0) & (offset // every <= n_future)
        future_rows = n_history - 1 + offset[usable] // every
        future_index = np.flatnonzero(usable)
    rules: tuple[BoolArray, BoolArray] | None = None
    sources: dict[str, Array] = {}
    for name in SOURCE_COLUMNS:
        in_history = name in history.columns
        in_future = future is not None and name in future.columns
        if not (in_history or in_future) or (name == "price" and not in_history):
            continue
        values = np.full(len(grid), np.nan)
        if in_history:
            values[rows] = _floats(history.get_column(name))[on_grid]
        if future is not None and in_future:
            values[future_rows] = _floats(future.get_column(name))[future_index]
        if name == "price":
            with np.errstate(invalid="ignore"):
                values[~(values > 0)] = np.nan
        else:
            ahead = values[n_history:]
            if name in ("is_public_holiday", "is_store_closed"):
                if rules is None:
                    rules = holiday_arrays(grid[n_history:], step=every)
                default = rules[0] if name == "is_public_holiday" else rules[1]
                ahead[np.isnan(ahead)] = default[np.isnan(ahead)]
            else:
                ahead[np.isnan(ahead)] = 0.0
        filled = _fill(values)
        if filled is not None:
            sources[name] = filled
    dates = pl.Series(time_col, grid.astype(np.int32)).cast(pl.Date)
    return SeriesTable(dates, grid, y, every, n_history, sources, history_rows=rows)


def _days(dates: pl.Series) -> npt.NDArray[np.int64]:
    return dates.cast(pl.Date).cast(pl.Int32).to_numpy().astype(np.int64)


def _floats(values: pl.Series) -> Array:
    out = values.cast(pl.Float64).to_numpy()
    return np.asarray(out, dtype=np.float64)


def _fill(values: Array) -> Array | None:
    """Each NaN replaced by the last value before it (the first value, before any); None when
    every value is NaN."""
    known = np.isfinite(values)
    if not known.any():
        return None
    index = np.where(known, np.arange(len(values)), 0)
    np.maximum.accumulate(index, out=index)
    filled = values[index]
    filled[: int(np.argmax(known))] = values[int(np.argmax(known))]
    return filled


def until(table: SeriesTable, end: int) -> SeriesTable:
    """`table` as it was known at row `end`: the history ends there (later targets are NaN);
    the regressors (and their cache) are shared."""
    y = table.y.copy()
    y[end:] = np.nan
    return SeriesTable(
        table.dates, table.days, y, table.step, end, table.sources, _cache=table._cache
    )
