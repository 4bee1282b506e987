"""Forecaster base class, baselines (naive, seasonal naive) and the helpers every model shares.

See analytics.forecast for the interface; this module holds its common machinery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Self, TypedDict

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from analytics import features
from analytics.features import ID_COLS, TARGET_COL, TIME_COL

Array = npt.NDArray[np.float64]
Key = tuple[Any, ...]
LEVELS: Final = (80, 95)
OUTPUT_COLUMNS: Final = ("y_hat", "y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95")
# Warnings a statsmodels fit can raise on a degenerate series; caught per fit, never globally.
FIT_WARNINGS: Final = (ConvergenceWarning, PerfectSeparationWarning, RuntimeWarning)


class ColumnNames(TypedDict):
    id_cols: Sequence[str]
    time_col: str
    target_col: str


@dataclass
class SeriesFit:
    """What a model learned of one series: its completed history and the model's own state."""

    history: pl.DataFrame
    state: Any


class Forecaster:
    """The shared loop: split by series, complete the days, fit each, predict each."""

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
        completed = features.complete_series(df.lazy(), id_cols=ids, time_col=self.time_col)
        frame = completed.collect()
        self.id_cols_ = tuple(ids)
        self.id_schema_ = {c: frame.schema[c] for c in ids}
        self.fits_: dict[Key, SeriesFit] = {}
        parts = frame.partition_by(ids, as_dict=True, maintain_order=True) if ids else {(): frame}
        for key, part in parts.items():
            y = part.get_column(self.target_col).cast(pl.Float64).fill_null(np.nan).to_numpy()
            if not np.isfinite(y).any():
                raise ValueError(f"series {key} has no observed {self.target_col}")
            self.fits_[key] = SeriesFit(part, self._fit_series(part, y.astype(np.float64)))
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
            ).collect()
            values = self._predict_series(fitted, days)
            columns: dict[str, Any] = {
                c: pl.Series(c, [key[i]] * h, dtype=self.id_schema_[c])
                for i, c in enumerate(self.id_cols_)
            }
            columns[self.time_col] = days.get_column(self.time_col)
            frames.append(pl.DataFrame({**columns, **interval_series(values)}))
        return pl.concat(frames)

    def _fit_series(self, history: pl.DataFrame, y: Array) -> Any:
        raise NotImplementedError

    def _predict_series(self, fitted: SeriesFit, days: pl.DataFrame) -> dict[str, Array]:
        raise NotImplementedError


class Naive(Forecaster):
    """The last observed value. Intervals: a random walk, sd sigma sqrt(h), where sigma is the
    root mean square of the day-to-day changes."""

    def _fit_series(self, history: pl.DataFrame, y: Array) -> tuple[float, float]:
        observed = y[np.isfinite(y)]
        changes = np.diff(observed)
        sigma = float(np.sqrt(np.mean(changes**2))) if len(changes) else 0.0
        return float(observed[-1]), sigma

    def _predict_series(self, fitted: SeriesFit, days: pl.DataFrame) -> dict[str, Array]:
        last, sigma = fitted.state
        steps = np.arange(1, days.height + 1, dtype=np.float64)
        return normal_intervals(np.full(days.height, last), sigma * np.sqrt(steps))


class SeasonalNaive(Forecaster):
    """The value one season (default a week) earlier, going back further seasons past missing
    days. Intervals: sd sigma sqrt(k) for the k-th season ahead, where sigma is the root mean
    square of the in-sample seasonal differences (of all values when there are none)."""

    def __init__(
        self,
        season_length: int = 7,
        *,
        id_cols: Sequence[str] = ID_COLS,
        time_col: str = TIME_COL,
        target_col: str = TARGET_COL,
    ) -> None:
        super().__init__(id_cols=id_cols, time_col=time_col, target_col=target_col)
        self.season_length = season_length

    def _fit_series(self, history: pl.DataFrame, y: Array) -> tuple[Array, float]:
        m = self.season_length
        diffs = y[m:] - y[:-m] if len(y) > m else np.array([])
        diffs = diffs[np.isfinite(diffs)]
        observed = y[np.isfinite(y)]
        sigma = float(np.sqrt(np.mean(diffs**2))) if len(diffs) else float(np.std(observed, ddof=0))
        # the last observed value of each phase of the season (by position from the end)
        last = np.full(m, float(np.mean(observed)))
        for phase in range(m):
            values = y[len(y) - m + phase :: -m] if len(y) - m + phase >= 0 else np.array([])
            finite = values[np.isfinite(values)]
            if len(finite):
                last[phase] = finite[0]
        return last, sigma

    def _predict_series(self, fitted: SeriesFit, days: pl.DataFrame) -> dict[str, Array]:
        last, sigma = fitted.state
        steps = np.arange(days.height)
        seasons = steps // self.season_length + 1
        return normal_intervals(last[steps % self.season_length], sigma * np.sqrt(seasons))


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
