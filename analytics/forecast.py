"""Forecasting models for daily (or weekly) store x product demand, all with one interface.

Every model follows scikit-learn's estimator rules and statsforecast's models: `__init__` only
stores hyper-parameters; `fit(df) -> self` learns; `predict(h, future=None) -> pl.DataFrame`
returns one row per series and period: the id columns, `date`, `y_hat` and the 80% and 95%
prediction intervals `y_lo_80`, `y_hi_80`, `y_lo_95`, `y_hi_95`. Learned state ends in `_`.

`df` is one series (`date`, `units_sold` and any exogenous columns) or several, told apart by
the `id_cols` present in it; the models loop over the series. Each series is reindexed to a
full range of days (or of weeks, when its dates are 7 days apart) first: a missing day's target
is missing (left out of fits), never zero. `future` carries what is known of the forecast days
(ids, `date`, price, `is_promo`, `discount_pct`, calendar columns); what it lacks comes from
`features.future_frame`'s defaults (the last price, no promotion, the French holidays).
Underneath, each model fits and forecasts one `table.SeriesTable` (`fit_table` and
`predict_table`), which is what backtests slice.

Models: `Naive`, `SeasonalNaive`, `LinearModel` (OLS on log1p), `CountModel` (Poisson or
negative-binomial GLM), `HoltWinters`, `StlEts` and `Sarimax` (statsmodels, on log1p) and
`AutoModel` (picks one per series by a rolling-origin backtest, with fallbacks for short and
intermittent series).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from analytics.backtest import FIT_ERRORS, backtest_table
from analytics.features import ID_COLS, TARGET_COL, TIME_COL
from analytics.forecasters import (
    ColumnNames,
    Forecaster,
    Key,
    SeriesFit,
)
from analytics.forecasters import (
    Naive as Naive,
)
from analytics.forecasters import (
    SeasonalNaive as SeasonalNaive,
)
from analytics.regression import CountModel as CountModel
from analytics.regression import LinearModel as LinearModel
from analytics.smoothing import HoltWinters as HoltWinters
from analytics.smoothing import Sarimax as Sarimax
from analytics.smoothing import StlEts as StlEts
from analytics.table import DAILY, Array, SeriesTable, until

__all__ = [
    "AutoModel",
    "CountModel",
    "Forecaster",
    "HoltWinters",
    "LinearModel",
    "Naive",
    "Sarimax",
    "SeasonalNaive",
    "SeriesFit",
    "StlEts",
    "minimum_history",
]


def minimum_history(table: SeriesTable) -> int:
    """Observed periods a series needs before `AutoModel` compares models: two weeks of daily
    data, half a year of weekly data."""
    return 2 * table.season if table.step == DAILY else 26


class AutoModel(Forecaster):
    """Per series, the candidate with the lowest MASE in a short rolling-origin backtest.

    Fallbacks, checked in order: fewer observed periods than `minimum_history` (two weeks of
    daily data, 26 weeks of weekly data) gives `SeasonalNaive` (with at least one season) or
    `Naive`; fewer than `min_selling_periods` periods with a sale gives `CountModel`; too
    little history for `n_windows` backtest windows of `h` periods after that minimum gives
    `SeasonalNaive`. Otherwise the candidates (default: seasonal naive and the linear model)
    are compared by `select`, which can also take scores from a backtest already run; the
    reason notes a series with more than `intermittent_share` zero periods as intermittent.

    The count model is not a default candidate: its point forecast is the mean, and on 100
    medium series (a third of them intermittent) letting the backtest choose it raised the
    holdout MASE from 0.677 to 0.711 (the log-linear model's median suits absolute errors).
    A short backtest is noisy, and on medium data the linear model beat seasonal naive in
    every category over 14,400 series: `select` keeps the `prefer`red candidate unless another
    beats its backtest MASE by more than `margin` (relative; 25% gave the lowest holdout MASE
    of 0, 10% and 25% on 200 medium series). `chosen_` maps each series key to
    the chosen model's class name and `reason_` to why (the backtest MASE of every candidate
    when there was one).
    """

    name: ClassVar[str] = "auto"

    def __init__(
        self,
        candidates: Sequence[Forecaster] | None = None,
        *,
        h: int = 7,
        n_windows: int = 2,
        intermittent_share: float = 0.5,
        min_selling_periods: int = 10,
        prefer: str | None = "linear",
        margin: float = 0.25,
        id_cols: Sequence[str] = ID_COLS,
        time_col: str = TIME_COL,
        target_col: str = TARGET_COL,
    ) -> None:
        super().__init__(id_cols=id_cols, time_col=time_col, target_col=target_col)
        self.candidates = candidates
        self.prefer = prefer
        self.margin = margin
        self.h = h
        self.n_windows = n_windows
        self.intermittent_share = intermittent_share
        self.min_selling_periods = min_selling_periods

    def fit_table(self, table: SeriesTable, end: int) -> tuple[Forecaster, Any, str]:
        model, reason = self.select(table, end)
        return model, model.fit_table(table, end), reason

    def predict_table(
        self, state: tuple[Forecaster, Any, str], table: SeriesTable, end: int, h: int
    ) -> dict[str, Array]:
        model, fitted, _ = state
        return model.predict_table(fitted, table, end, h)

    def candidate_models(self, table: SeriesTable, end: int) -> list[Forecaster]:
        """The models `select` compares on this series."""
        if self.candidates is not None:
            return list(self.candidates)
        names = self._names()
        return [SeasonalNaive(**names), LinearModel(**names)]

    def fallback(self, table: SeriesTable, end: int, h: int) -> tuple[Forecaster, str] | None:
        """The model and reason when the series is too short or intermittent to compare
        models by a backtest of `n_windows` x `h` periods; None when it can be compared."""
        names = self._names()
        unit = "days" if table.step == DAILY else "weeks"
        y = table.y[:end]
        observed = y[np.isfinite(y)]
        m, minimum = table.season, minimum_history(table)
        if len(observed) < minimum:
            span = "two seasons" if table.step == DAILY else "half a year"
            short = f"{len(observed)} observed {unit}, fewer than {span} ({minimum})"
            if len(observed) >= m:
                return SeasonalNaive(**names), f"{short}: seasonal naive"
            return Naive(**names), f"{short} and less than a season ({m}): naive"
        selling = int(np.count_nonzero(observed))
        if selling < self.min_selling_periods:
            reason = (
                f"intermittent: {selling} of {len(observed)} {unit} sold anything, too few to "
                "fit or backtest a model of their pattern: count model (the mean rate)"
            )
            return CountModel(**names), reason
        needed = minimum + h * self.n_windows
        if end < needed:
            reason = f"{end} {unit}, too few to backtest (needs {needed}): seasonal naive"
            return SeasonalNaive(**names), reason
        return None

    def select(
        self,
        table: SeriesTable,
        end: int,
        *,
        scores: Mapping[str, float] | None = None,
        h: int | None = None,
    ) -> tuple[Forecaster, str]:
        """The model for rows [0, end) of `table` and why. `scores` (model name -> backtest
        MASE of a backtest of `n_windows` x `h` periods already run) spare the backtest."""
        window = self.h if h is None else h
        chosen = self.fallback(table, end, window)
        if chosen is not None:
            return chosen
        candidates = self.candidate_models(table, end)
        if scores is None:
            known = until(table, end)
            scores = {}
            for candidate in candidates:
                try:
                    bt = backtest_table(candidate, known, h=window, n_windows=self.n_windows)
                    scores[candidate.name] = bt.mase
                except FIT_ERRORS:
                    scores[candidate.name] = math.nan
        listed = {c.name: scores.get(c.name, math.nan) for c in candidates}
        valid = {k: v for k, v in listed.items() if math.isfinite(v)}
        if not valid:
            names = self._names()
            return SeasonalNaive(**names), "every candidate failed the backtest: seasonal naive"
        best = min(valid, key=lambda k: valid[k])
        listing = ", ".join(f"{k} {v:.3f}" for k, v in listed.items())
        unit = "days" if table.step == DAILY else "weeks"
        reason = f"lowest backtest MASE ({self.n_windows} x {window} {unit}): {listing}"
        if (
            self.prefer is not None
            and self.prefer in valid
            and best != self.prefer
            and valid[best] >= valid[self.prefer] * (1 - self.margin)
        ):
            best = self.prefer
            reason = (
                f"{self.prefer}: no model beat it by more than {self.margin:.0%} in the backtest "
                f"({self.n_windows} x {window} {unit}): {listing}"
            )
        y = table.y[:end]
        zero_share = float(np.mean(y[np.isfinite(y)] == 0))
        if zero_share > self.intermittent_share:
            reason = f"intermittent ({zero_share:.0%} of {unit} sold zero); {reason}"
        return next(c for c in candidates if c.name == best), reason

    def _names(self) -> ColumnNames:
        return ColumnNames(id_cols=self.id_cols, time_col=self.time_col, target_col=self.target_col)

    @property
    def chosen_(self) -> dict[Key, str]:
        return {key: type(fit.state[0]).__name__ for key, fit in self.fits_.items()}

    @property
    def reason_(self) -> dict[Key, str]:
        return {key: str(fit.state[2]) for key, fit in self.fits_.items()}
