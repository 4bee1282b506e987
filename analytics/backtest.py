"""Rolling-origin backtests on one `SeriesTable`: fit on a slice, forecast the next rows.

The same windows as `evaluate.cross_validation` (the last cutoff `h` rows before the end of the
history, earlier ones `step_size` rows apart, training on every row up to and including the
cutoff, forecasting with the exogenous values of the test rows), but the features are built
once per series and each window only slices arrays, so a backtest costs the model fits alone.
`backtest_frame` lays the result out as `cross_validation` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from analytics.forecasters import OUTPUT_COLUMNS, Forecaster
from analytics.table import Array, SeriesTable

# What makes a window fail for a model: it sits that backtest out.
FIT_ERRORS: Final = (ValueError, np.linalg.LinAlgError)


@dataclass(frozen=True)
class Backtest:
    """One model's backtest of one series: a row per forecast row with an observed target."""

    name: str
    cutoff: npt.NDArray[np.int64]  # row index of each row's cutoff
    row: npt.NDArray[np.int64]  # row index of the forecast row
    y: Array
    values: dict[str, Array]  # OUTPUT_COLUMNS
    mase_scale: Array

    @property
    def mase(self) -> float:
        """Mean absolute scaled error over rows with a positive scale (NaN without any)."""
        ok = self.mase_scale > 0
        if not ok.any():
            return float("nan")
        return float(np.mean(np.abs(self.y[ok] - self.values["y_hat"][ok]) / self.mase_scale[ok]))

    def coverage(self, level: int) -> float:
        inside = (self.y >= self.values[f"y_lo_{level}"]) & (self.y <= self.values[f"y_hi_{level}"])
        return float(np.mean(inside)) if len(self.y) else float("nan")


def cutoffs(table: SeriesTable, h: int, n_windows: int, step_size: int | None = None) -> list[int]:
    """Row indexes of the cutoffs, earliest first, that leave at least one training row."""
    step = h if step_size is None else step_size
    last = table.n_history - 1
    rows = [last - h - (n_windows - 1 - i) * step for i in range(n_windows)]
    return [r for r in rows if r >= 0]


def mase_scale(table: SeriesTable, end: int, season_length: int | None = None) -> float:
    """Mean absolute seasonal difference of the target over rows [0, end) (lag one season, or
    one row when the rows do not span two seasons); NaN when no pair is observed."""
    lag = season_length or (table.season if end > table.season else 1)
    y = table.y[:end]
    if len(y) <= lag:
        return float("nan")
    diffs = np.abs(y[lag:] - y[:-lag])
    diffs = diffs[np.isfinite(diffs)]
    return float(np.mean(diffs)) if len(diffs) else float("nan")


def backtest_table(
    model: Forecaster,
    table: SeriesTable,
    *,
    h: int,
    n_windows: int,
    step_size: int | None = None,
    season_length: int | None = None,
    name: str | None = None,
) -> Backtest:
    """Backtest `model` over the windows; a window whose training rows hold no observed target
    is skipped. Errors of a fit (FIT_ERRORS) propagate: the caller decides."""
    if h < 1 or n_windows < 1:
        raise ValueError("h and n_windows must be at least 1")
    cut, rows, ys, scales = [], [], [], []
    parts: dict[str, list[Array]] = {c: [] for c in OUTPUT_COLUMNS}
    for cutoff in cutoffs(table, h, n_windows, step_size):
        end = cutoff + 1
        if not np.isfinite(table.y[:end]).any():
            continue
        state = model.fit_table(table, end)
        stop = min(end + h, table.n_history)
        values = model.predict_table(state, table, end, stop - end)
        actual = table.y[end:stop]
        keep = np.isfinite(actual)
        for c in OUTPUT_COLUMNS:
            parts[c].append(np.asarray(values[c], dtype=np.float64)[keep])
        index = np.arange(end, stop)[keep]
        rows.append(index)
        cut.append(np.full(len(index), cutoff))
        ys.append(actual[keep])
        scales.append(np.full(len(index), mase_scale(table, end, season_length)))

    def joined(chunks: list[Array]) -> Array:
        return np.concatenate(chunks) if chunks else np.array([], dtype=np.float64)

    return Backtest(
        name or model.name,
        np.concatenate(cut).astype(np.int64) if cut else np.array([], dtype=np.int64),
        np.concatenate(rows).astype(np.int64) if rows else np.array([], dtype=np.int64),
        joined(ys),
        {c: joined(parts[c]) for c in OUTPUT_COLUMNS},
        joined(scales),
    )


def backtest_frame(table: SeriesTable, backtests: list[Backtest]) -> pl.DataFrame:
    """`date`, `cutoff`, `y`, `y_hat`, the interval columns, `mase_scale` and `model`: the
    layout of `evaluate.cross_validation` for one series (a NaN scale is null)."""
    frames = [
        pl.DataFrame(
            {
                "date": table.dates.gather(bt.row),
                "cutoff": table.dates.gather(bt.cutoff),
                "y": bt.y,
                **{c: bt.values[c] for c in OUTPUT_COLUMNS},
                "mase_scale": bt.mase_scale,
                "model": [bt.name] * len(bt.y),
            },
            schema_overrides={"model": pl.String},
        ).with_columns(pl.col("mase_scale").fill_nan(None))
        for bt in backtests
        if len(bt.y)
    ]
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames)


def leaderboard(backtests: list[Backtest]) -> pl.DataFrame:
    """`evaluate.leaderboard(backtest_frame(...), by=("model",))` computed on the arrays: one
    row per model with `n` and every metric of `evaluate.METRICS`, best MASE first."""
    rows = []
    for bt in backtests:
        y, y_hat = bt.y, bt.values["y_hat"]
        error = y_hat - y
        total = np.abs(y) + np.abs(y_hat)
        smape = np.where(total > 0, 200 * np.abs(error) / np.where(total > 0, total, 1.0), 0.0)
        rows.append(
            {
                "model": bt.name,
                "n": len(y),
                "mae": _mean(np.abs(error)),
                "rmse": float(np.sqrt(_mean(error**2))),
                "mase": bt.mase,
                "smape": _mean(smape),
                "bias": _mean(error),
                "coverage_80": bt.coverage(80),
                "coverage_95": bt.coverage(95),
            }
        )
    schema = {"model": pl.String, "n": pl.Int64, **dict.fromkeys(METRIC_NAMES, pl.Float64)}
    return pl.DataFrame(rows, schema=schema, orient="row").sort("mase", "model", nulls_last=True)


METRIC_NAMES: Final = ("mae", "rmse", "mase", "smape", "bias", "coverage_80", "coverage_95")


def _mean(values: Array) -> float:
    return float(np.mean(values)) if len(values) else float("nan")
