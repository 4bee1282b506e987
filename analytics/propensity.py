"""Purchase-propensity models: will a customer buy from a category in the next 30 days?

Models are scikit-learn Pipelines over the polars frame of
`customer_features.build_propensity_frame`: `rule` (the naive "bought from the category in the
last `horizon_days` days", scoring 1 or 0), `logistic` (log1p, scaling and one-hot
categories), `forest` (a capped random forest) and `boosting` (HistGradientBoostingClassifier
on ordinal categories).

Everything splits by cutoff date. `split_by_cutoff` tests on the last labelled cutoffs and
keeps for training only the cutoffs whose label window ends before the first test cutoff
(purged). `fit_propensity_model` holds the last training cutoff back to calibrate on
(`CalibratedClassifierCV` on a frozen estimator, isotonic by default), fits on the purged
cutoffs before it (optionally tuning a grid by average precision over expanding folds of
cutoffs) and keeps both the raw and the calibrated pipelines. Training rows beyond `max_rows`
are a uniform sample (positives are about a quarter of the rows: no re-weighting needed).

Metrics and the calibration table are those of `analytics.stockout_risk` (`evaluate_scores`,
`calibration_table`); their top-k alerts are the top `k` customers of each category.
`explain_customer` gives one customer's probability per category and its main drivers.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

from analytics.customer_features import (
    CATEGORICAL_FEATURES,
    CUTOFF_COL,
    FEATURES,
    LABEL_COL,
    NUMERIC_FEATURES,
)
from analytics.stockout_risk import calibration_table, evaluate_scores

MODEL_KINDS: Final = ("rule", "logistic", "forest", "boosting")
HORIZON_COL: Final = "horizon_days"
Array = np.ndarray[Any, np.dtype[Any]]


class RecentPurchaseRule(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """The naive baseline: a customer who bought from the category in the last `window_days`
    days buys again (score 1), one who did not does not (score 0). Nothing is learned."""

    def __init__(self, recency_col: str = "category_days_since_last", window_days: int = 30):
        self.recency_col = recency_col
        self.window_days = window_days

    def fit(self, x: pl.DataFrame, y: Array) -> RecentPurchaseRule:
        self.classes_ = np.array([False, True])
        return self

    def predict_proba(self, x: pl.DataFrame) -> Array:
        recent = pl.col(self.recency_col) <= self.window_days
        p = x.select(recent.cast(pl.Float64).alias("p")).get_column("p").to_numpy()
        return np.column_stack([1.0 - p, p])

    def predict(self, x: pl.DataFrame) -> Array:
        return np.asarray(self.predict_proba(x)[:, 1] > 0.5)


def build_pipeline(kind: str, *, seed: int = 0, n_jobs: int = -1) -> Pipeline:
    """An unfitted Pipeline (`prep`, `model` steps) of one of `MODEL_KINDS` over `FEATURES`."""
    numeric, categorical = list(NUMERIC_FEATURES), list(CATEGORICAL_FEATURES)
    one_hot = OneHotEncoder(handle_unknown="ignore")
    if kind == "rule":
        return Pipeline([("prep", "passthrough"), ("model", RecentPurchaseRule())])
    if kind == "logistic":
        scaled = Pipeline([("log", FunctionTransformer(np.log1p)), ("scale", StandardScaler())])
        prep = ColumnTransformer([("num", scaled, numeric), ("cat", one_hot, categorical)])
        model: Any = LogisticRegression(C=1.0, max_iter=2000)
    elif kind == "forest":
        prep = ColumnTransformer([("num", "passthrough", numeric), ("cat", one_hot, categorical)])
        model = RandomForestClassifier(
            n_estimators=100,
            max_depth=12,
            min_samples_leaf=20,
            max_samples=0.3,
            n_jobs=n_jobs,
            random_state=seed,
        )
    elif kind == "boosting":
        ordinal = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan)
        prep = ColumnTransformer([("cat", ordinal, categorical), ("num", "passthrough", numeric)])
        model = HistGradientBoostingClassifier(
            max_iter=150,
            learning_rate=0.05,
            max_leaf_nodes=31,
            min_samples_leaf=50,
            l2_regularization=1.0,
            categorical_features=list(range(len(categorical))),
            early_stopping=False,
            random_state=seed,
        )
    else:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {MODEL_KINDS}")
    return Pipeline([("prep", prep), ("model", model)])


def split_by_cutoff(
    df: pl.DataFrame, *, test_cutoffs: int = 1
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(train, test) of the labelled rows: test holds the last `test_cutoffs` cutoffs, train
    the earlier ones whose label window ends before the first test cutoff (purged)."""
    labelled = df.filter(pl.col(LABEL_COL).is_not_null())
    cutoffs = labelled.get_column(CUTOFF_COL).unique().sort()
    first_test = cutoffs[-test_cutoffs]
    window_end = pl.col(CUTOFF_COL) + pl.duration(days=pl.col(HORIZON_COL))
    test = labelled.filter(pl.col(CUTOFF_COL) >= first_test)
    return labelled.filter(window_end <= first_test), test


def cutoff_folds(df: pl.DataFrame, n_splits: int) -> list[tuple[Array, Array]]:
    """Expanding-window folds over the cutoffs of `df`: validate on each of its last
    `n_splits` cutoffs, fitting on the rows whose label window ends by that cutoff."""
    cutoffs = df.get_column(CUTOFF_COL).cast(pl.Int32).to_numpy()
    ends = cutoffs + df.get_column(HORIZON_COL).to_numpy()
    return [
        (np.flatnonzero(ends <= check), np.flatnonzero(cutoffs == check))
        for check in np.unique(cutoffs)[-n_splits:]
    ]


@dataclass
class PropensityModel:
    """A fitted propensity model: the pipeline fitted on the training cutoffs before the
    calibration cutoff, the same calibrated on it (None when not calibrated), the chosen
    parameters, the seconds and rows the fit took, and the reference (median or most common)
    value of each feature in the fitted rows, which `explain_customer` compares against."""

    kind: str
    pipeline: Pipeline
    calibrated: CalibratedClassifierCV | None
    params: dict[str, Any] = field(default_factory=dict)
    fit_seconds: float = 0.0
    n_fit_rows: int = 0
    reference: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, df: pl.DataFrame, *, calibrated: bool = True) -> Array:
        """The probability that each row's customer buys from its category in the window."""
        model = self.calibrated if calibrated and self.calibrated is not None else self.pipeline
        return np.asarray(model.predict_proba(df.select(*FEATURES))[:, 1])

    def predict(self, df: pl.DataFrame, *, calibrated: bool = True) -> pl.DataFrame:
        """customer_id, category, `cutoff_date` and `purchase_probability` per row of `df`."""
        p = pl.Series("purchase_probability", self.predict_proba(df, calibrated=calibrated))
        return df.select("customer_id", "category", CUTOFF_COL).with_columns(p)


def fit_propensity_model(
    kind: str,
    train: pl.DataFrame,
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    params: Mapping[str, Any] | None = None,
    calibration: str | None = "isotonic",
    n_splits: int = 2,
    max_rows: int = 300_000,
    seed: int = 0,
) -> PropensityModel:
    """Tune, fit and calibrate one model on the labelled rows of `train` (see the module
    docstring). `grid` maps pipeline parameters to the values to try (default: none);
    `params` fixes pipeline parameters (e.g. `{"model__max_iter": 50}`); `calibration` is
    "isotonic", "sigmoid" or None (fit on every training cutoff)."""
    started = time.perf_counter()
    labelled = train.filter(pl.col(LABEL_COL).is_not_null())
    if calibration is not None and kind != "rule":
        fit_part, calibration_part = split_by_cutoff(labelled)
    else:
        fit_part, calibration_part = labelled, labelled.clear()
    if fit_part.height > max_rows:
        fit_part = fit_part.sample(n=max_rows, seed=seed)
    fit_part = fit_part.sort(CUTOFF_COL)
    x, y = fit_part.select(*FEATURES), fit_part.get_column(LABEL_COL).to_numpy()
    pipeline = build_pipeline(kind, seed=seed)
    chosen: dict[str, Any] = dict(params or {}) if kind != "rule" else {}
    pipeline.set_params(**chosen)
    if grid and kind != "rule":
        search = GridSearchCV(
            pipeline,
            {name: list(values) for name, values in grid.items()},
            scoring="average_precision",
            cv=cutoff_folds(fit_part, n_splits),
            refit=False,
        )
        search.fit(x, y)
        chosen |= dict(search.best_params_)
        pipeline.set_params(**chosen)
    pipeline.fit(x, y)
    calibrated = None
    if calibration_part.height > 0:
        if calibration_part.height > max_rows:
            calibration_part = calibration_part.sample(n=max_rows, seed=seed)
        calibrated = CalibratedClassifierCV(FrozenEstimator(pipeline), method=calibration)
        calibrated.fit(
            calibration_part.select(*FEATURES), calibration_part.get_column(LABEL_COL).to_numpy()
        )
    reference = {name: fit_part.get_column(name).median() for name in NUMERIC_FEATURES}
    reference |= {name: fit_part.get_column(name).mode().sort()[0] for name in CATEGORICAL_FEATURES}
    seconds = time.perf_counter() - started
    return PropensityModel(kind, pipeline, calibrated, chosen, seconds, fit_part.height, reference)


def compare_models(
    df: pl.DataFrame,
    *,
    kinds: Sequence[str] = MODEL_KINDS,
    grids: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    calibration: str | None = "isotonic",
    k: int = 20,
    max_rows: int = 300_000,
    seed: int = 0,
) -> tuple[pl.DataFrame, dict[str, PropensityModel]]:
    """Each model fitted on the purged cutoffs before the last labelled one of `df` and
    scored on that one: a frame with one row per model and variant (`is_calibrated`) -
    `roc_auc`, `pr_auc`, `brier`, `precision_at_k` and `recall_at_k` (the top `k` customers
    of each category), `positive_rate`, `fit_seconds`, `n_fit_rows`, `n_test_rows`, `params` -
    and the fitted models by kind. `grids` and `params` are by kind (`fit_propensity_model`)."""
    train, test = split_by_cutoff(df)
    y = test.get_column(LABEL_COL).to_numpy()
    groups = test.get_column("category").to_numpy()
    rows, models = [], {}
    for kind in kinds:
        model = fit_propensity_model(
            kind,
            train,
            grid=(grids or {}).get(kind),
            params=(params or {}).get(kind),
            calibration=calibration,
            max_rows=max_rows,
            seed=seed,
        )
        models[kind] = model
        for is_calibrated in [False] if model.calibrated is None else [False, True]:
            score = model.predict_proba(test, calibrated=is_calibrated)
            rows.append(
                {
                    "model": kind,
                    "is_calibrated": is_calibrated,
                    **evaluate_scores(y, score, groups, k=k),
                    "fit_seconds": model.fit_seconds,
                    "n_fit_rows": model.n_fit_rows,
                    "n_test_rows": test.height,
                    "params": str(model.params),
                }
            )
    return pl.DataFrame(rows), models


def calibration_of(
    model: PropensityModel, df: pl.DataFrame, *, calibrated: bool = True, n_bins: int = 10
) -> pl.DataFrame:
    """The calibration table (`stockout_risk.calibration_table`) of the model on the labelled
    rows of `df`."""
    labelled = df.filter(pl.col(LABEL_COL).is_not_null())
    score = model.predict_proba(labelled, calibrated=calibrated)
    return calibration_table(labelled.get_column(LABEL_COL).to_numpy(), score, n_bins=n_bins)


def explain_customer(
    model: PropensityModel, rows: pl.DataFrame, *, top_n: int = 3, calibrated: bool = True
) -> pl.DataFrame:
    """Probability per category and main drivers for the feature rows of one customer (one
    row per category, at one cutoff): customer_id, category, `purchase_probability`,
    `driver_rank`, `feature`, `value` (the customer's, as text) and `contribution` - how much
    the probability drops (negative: rises) when that feature alone is set to the reference
    value of the fitted rows. The `top_n` largest absolute contributions of each category,
    categories by falling probability."""
    if rows.get_column("customer_id").n_unique() != 1:
        raise ValueError("explain_customer takes the rows of exactly one customer")
    base = model.predict_proba(rows, calibrated=calibrated)
    movable = [name for name in FEATURES if name != "category"]
    variants = pl.concat(
        [
            rows.with_columns(pl.lit(model.reference[name], dtype=rows.schema[name]).alias(name))
            for name in movable
        ]
    )
    shifted = model.predict_proba(variants, calibrated=calibrated).reshape(len(movable), -1)
    values = rows.select(pl.col(name).cast(pl.String) for name in movable)
    long = pl.DataFrame(
        {
            "customer_id": np.tile(rows.get_column("customer_id").to_numpy(), len(movable)),
            "category": np.tile(rows.get_column("category").to_numpy(), len(movable)),
            "purchase_probability": np.tile(base, len(movable)),
            "feature": np.repeat(movable, rows.height),
            "value": np.concatenate([values.get_column(n).to_numpy() for n in movable]),
            "contribution": (base[None, :] - shifted).reshape(-1),
        }
    )
    rank = pl.col("contribution").abs().rank("ordinal", descending=True).over("category")
    return (
        long.with_columns(rank.cast(pl.Int32).alias("driver_rank"))
        .filter(pl.col("driver_rank") <= top_n)
        .sort(["purchase_probability", "category", "driver_rank"], descending=[True, False, False])
        .select(
            "customer_id",
            "category",
            "purchase_probability",
            "driver_rank",
            "feature",
            "value",
            "contribution",
        )
    )
