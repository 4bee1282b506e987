"""Forecaster base class, baselines (naive, seasonal naive) and the helpers every model shares.

See analytics.forecast for the interface; this module holds its common machinery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Self, TypedDict

import numpy as np
import polars as pl
from scipy import stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from analytics import features
from analytics.features import ID_COLS, TARGET_COL, TIME_COL
from analytics.table import Array, SeriesTable, build_table

Key = tuple[Any, ...]
LEVELS: Final = (80, 95)
OUTPUT_COLUMNS: Final = ("y_hat", "y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95")
# A forecast (and its interval) is at most this many times the largest value in training (plus
# one): extrapolating a price or promotion effect fitted on a few days can otherwise explode.
CAP_FACTOR: Final = 4.0
# Warnings a statsmodels fit can raise on a degenerate series; caught per fit, never globally.
FIT_WARNINGS: Final = (ConvergenceWarning, PerfectSeparationWarning, RuntimeWarning)


class ColumnNames(TypedDict):
    id_cols: Sequence[str]
    time_col: str
    target_col: str


@dataclass
class SeriesFit:
    """What a model learned of one series: its completed history, its period in days (1 or 7)
    and the model's own state."""

    history: pl.DataFrame
    state: Any
    step: int = 1


class Forecaster:
    """The shared loop: split by series, complete the days, fit each, predict each.

    A model implements `fit_table(table, end) -> state` (learn from rows [0, end) of a
    `SeriesTable`; never read `table.y` from `end` on) and `predict_table(state, table, end, h)`
    (the output columns for rows [end, end + h)). `fit`/`predict` run those on polars frames;
    a backtest runs them on slices of one table (see analytics.backtest). `name` is the
    model's name in `analytics.pipeline.MODELS`.
    """

    name: ClassVar[str] = "model"

    def __init__(
        self,
        *,
        id_cols: Sequence[str] = ID_COLS,
        time_col: str = TIME_COL,
        target_col: str = TARGET_COL,
    ) -> None:
        self.id_cols = id_cols
        self.time_col = time_col
        self.target_col = target_col

    def fit(self, df: pl.DataFrame) -> Self:
        ids = [c for c in self.id_cols if c in df.columns]
        self.id_cols_ = tuple(ids)
        self.id_schema_ = {c: df.schema[c] for c in ids}
        self.fits_: dict[Key, SeriesFit] = {}
        parts = df.partition_by(ids, as_dict=True, maintain_order=True) if ids else {(): df}
        for key, part in parts.items():
            history = part.sort(self.time_col)
            table = build_table(history, time_col=self.time_col, target_col=self.target_col)
            if not np.isfinite(table.y).any():
                raise ValueError(f"series {key} has no observed {self.target_col}")
            completed = features.complete_series(
                history.lazy(), id_cols=ids, time_col=self.time_col, every=table.step
            ).collect()
            state = self.fit_table(table, table.n_history)
            self.fits_[key] = SeriesFit(completed, state, table.step)
        return self

    def predict(self, h: int, future: pl.DataFrame | None = None) -> pl.DataFrame:
        if h < 1:
            raise ValueError(f"the horizon must be at least one day, not {h}")
        frames = []
        for key, fitted in self.fits_.items():
            known = None
            if future is not None:
                known = series_part(future, self.id_cols_, key).drop(self.target_col, strict=False)
            days = features.future_frame(
                fitted.history.lazy(),
                h,
                calendar=None if known is None else known.lazy(),
                id_cols=self.id_cols_,
                time_col=self.time_col,
                every=fitted.step,
            ).collect()
            table = build_table(
                fitted.history.drop(self.id_cols_),
                days.drop(self.id_cols_),
                step=fitted.step,
                time_col=self.time_col,
                target_col=self.target_col,
            )
            values = self.predict_table(fitted.state, table, table.n_history, h)
            columns: dict[str, Any] = {
                c: pl.Series(c, [key[i]] * h, dtype=self.id_schema_[c])
                for i, c in enumerate(self.id_cols_)
            }
            columns[self.time_col] = days.get_column(self.time_col)
            frames.append(pl.DataFrame({**columns, **interval_series(values)}))
        return pl.concat(frames)

    def fit_table(self, table: SeriesTable, end: int) -> Any:
        raise NotImplementedError

    def predict_table(self, state: Any, table: SeriesTable, end: int, h: int) -> dict[str, Array]:
        raise NotImplementedError


class Naive(Forecaster):
    """The last observed value. Intervals: a random walk, sd sigma sqrt(h), where sigma is the
    root mean square of the day-to-day changes."""

    name: ClassVar[str] = "naive"

    def fit_table(self, table: SeriesTable, end: int) -> tuple[float, float]:
        y = table.y[:end]
        observed = y[np.isfinite(y)]
        if not len(observed):
            raise ValueError("naive needs an observed value")
        changes = np.diff(observed)
        sigma = float(np.sqrt(np.mean(changes**2))) if len(changes) else 0.0
        return float(observed[-1]), sigma

    def predict_table(
        self, state: tuple[float, float], table: SeriesTable, end: int, h: int
    ) -> dict[str, Array]:
        last, sigma = state
        steps = np.arange(1, h + 1, dtype=np.float64)
        return normal_intervals(np.full(h, last), sigma * np.sqrt(steps))


class SeasonalNaive(Forecaster):
    """The value one season (default: a week of daily data, a year of weekly data) earlier,
    going back further seasons past missing days. Intervals: normal, with sd for the k-th
    season ahead the root mean square of the in-sample k-season differences y(t) - y(t - k m)
    (sigma sqrt(k) when fewer than `min_pairs` such pairs are observed, sigma the one-season
    figure, or the sd of all values when there is none): a stationary series' error does not
    grow like a random walk's, and sigma sqrt(k) covered 92% for 80% on 100 medium series."""

    name: ClassVar[str] = "seasonal_naive"

    def __init__(
        self,
        season_length: int | None = None,
        *,
        min_pairs: int = 28,
        id_cols: Sequence[str] = ID_COLS,
        time_col: str = TIME_COL,
        target_col: str = TARGET_COL,
    ) -> None:
        super().__init__(id_cols=id_cols, time_col=time_col, target_col=target_col)
        self.season_length = season_length
        self.min_pairs = min_pairs

    def fit_table(self, table: SeriesTable, end: int) -> tuple[Array, float, int, Array]:
        m = self.season_length or table.season
        y = table.y[:end]
        observed = y[np.isfinite(y)]
        if not len(observed):
            raise ValueError("seasonal naive needs an observed value")
        sigma = _difference_rms(y, m)
        if not np.isfinite(sigma):
            sigma = float(np.std(observed, ddof=0))
        # the last observed value of each phase of the season (by position from the end)
        last = np.full(m, float(np.mean(observed)))
        for phase in range(m):
            values = y[len(y) - m + phase :: -m] if len(y) - m + phase >= 0 else np.array([])
            finite = values[np.isfinite(values)]
            if len(finite):
                last[phase] = finite[0]
        return last, sigma, m, y

    def predict_table(
        self, state: tuple[Array, float, int, Array], table: SeriesTable, end: int, h: int
    ) -> dict[str, Array]:
        last, sigma, m, y = state
        steps = np.arange(h)
        seasons = steps // m + 1
        sd_by_season = {
            k: _difference_rms(y, k * m, self.min_pairs) for k in np.unique(seasons).tolist()
        }
        sd = np.array(
            [
                sd_by_season[k] if np.isfinite(sd_by_season[k]) else sigma * np.sqrt(k)
                for k in seasons.tolist()
            ]
        )
        return normal_intervals(last[steps % m], sd)


def _difference_rms(y: Array, lag: int, min_pairs: int = 1) -> float:
    """Root mean square of the observed y(t) - y(t - lag); NaN with fewer than `min_pairs`."""
    if len(y) <= lag:
        return float("nan")
    diffs = y[lag:] - y[:-lag]
    diffs = diffs[np.isfinite(diffs)]
    return float(np.sqrt(np.mean(diffs**2))) if len(diffs) >= max(min_pairs, 1) else float("nan")


def cap_for(y: Array) -> float:
    """The largest forecast allowed for a series whose training target is `y` (see CAP_FACTOR)."""
    finite = y[np.isfinite(y)]
    return CAP_FACTOR * float(finite.max(initial=0.0)) + 1.0


def normal_intervals(mean: Array, sd: Array) -> dict[str, Array]:
    out = {"y_hat": mean.astype(np.float64)}
    for level in LEVELS:
        z = float(stats.norm.ppf(0.5 + level / 200))
        out[f"y_lo_{level}"] = np.maximum(mean - z * sd, 0.0)
        out[f"y_hi_{level}"] = mean + z * sd
    return out


def interval_series(values: dict[str, Array]) -> dict[str, pl.Series]:
    return {c: pl.Series(c, values[c], dtype=pl.Float64) for c in OUTPUT_COLUMNS}


def series_part(df: pl.DataFrame, id_cols: Sequence[str], key: Key) -> pl.DataFrame:
    if not id_cols:
        return df
    present = [c for c in id_cols if c in df.columns]
    condition = pl.lit(value=True)
    for c in present:
        condition = condition & (pl.col(c) == key[list(id_cols).index(c)])
    return df.filter(condition)
