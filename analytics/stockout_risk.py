"""Stockout-risk models: will a store x product run out within its horizon (`risk_features`)?

Models are scikit-learn Pipelines over the polars frame of `risk_features.build_risk_frame`:
`rule` (days of cover below the horizon, as the score horizon / (horizon + cover), 0.5 at the
threshold), `logistic` (median imputation, log1p, scaling and one-hot categories), `forest` (a
capped random forest) and `boosting` (HistGradientBoostingClassifier on ordinal categories).

Everything splits by time. `split_by_time` holds out the last `test_days` labelled days and
purges training rows whose label window reaches into them. `fit_risk_model` keeps the last
`calibration_days` of the training days (again purged) to calibrate on, tunes a small grid by
average precision over `n_splits` expanding-window folds of the earlier days (each purged the
same way), fits the best parameters on those days and calibrates the fitted pipeline on the
held-back days (`CalibratedClassifierCV` on a frozen estimator). Both the raw and calibrated
pipelines are kept.

To fit 1M+ rows in minutes on two cores, training rows beyond `max_rows` are sampled: every
positive is kept (unless positives alone exceed the cap) and a fraction of the negatives, which
are re-weighted by one over that fraction (`sample_weight`), so the fitted probabilities stay on
the scale of the full data. Calibration rows are a uniform sample of at most `max_rows`.
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
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

from analytics.features import ID_COLS, TIME_COL
from analytics.risk_features import (
    CATEGORICAL_FEATURES,
    FEATURES,
    HORIZON_COL,
    LABEL_COL,
    NUMERIC_FEATURES,
)

MODEL_KINDS: Final = ("rule", "logistic", "forest", "boosting")
DEFAULT_GRIDS: Final[dict[str, dict[str, list[Any]]]] = {
    "logistic": {"model__C": [0.1, 1.0]},
    "forest": {"model__min_samples_leaf": [20, 100]},
    "boosting": {"model__learning_rate": [0.05, 0.1]},
}
Array = np.ndarray[Any, np.dtype[Any]]


class CoverRule(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """The rule baseline: alert when days of cover fall below the horizon. Its score
    horizon / (horizon + cover) is 1 on an empty shelf, 0.5 at the threshold and falls towards
    0 as cover grows; an unknown cover scores 0.5. Nothing is learned."""

    def __init__(self, cover_col: str = "days_of_cover", horizon_col: str = HORIZON_COL) -> None:
        self.cover_col = cover_col
        self.horizon_col = horizon_col

    def fit(self, x: pl.DataFrame, y: Array, sample_weight: Array | None = None) -> CoverRule:
        self.classes_ = np.array([False, True])
        return self

    def predict_proba(self, x: pl.DataFrame) -> Array:
        horizon = pl.col(self.horizon_col).cast(pl.Float64)
        score = (horizon / (horizon + pl.col(self.cover_col))).fill_null(0.5)
        p = x.select(score.alias("p")).get_column("p").to_numpy()
        return np.column_stack([1.0 - p, p])

    def predict(self, x: pl.DataFrame) -> Array:
        return np.asarray(self.predict_proba(x)[:, 1] > 0.5)


def build_pipeline(kind: str, *, seed: int = 0, n_jobs: int = -1) -> Pipeline:
    """An unfitted Pipeline (`prep`, `model` steps) of one of `MODEL_KINDS`, reading the
    `FEATURES` columns of a risk frame. The forest is capped (100 trees of depth at most 12,
    leaves of 20+ rows, each tree on a 30% bootstrap sample) to fit 1M rows in minutes."""
    numeric, categorical = list(NUMERIC_FEATURES), list(CATEGORICAL_FEATURES)
    one_hot = OneHotEncoder(handle_unknown="ignore")
    if kind == "rule":
        return Pipeline([("prep", "passthrough"), ("model", CoverRule())])
    if kind == "logistic":
        scaled = Pipeline(
            [
                ("impute", SimpleImputer(strategy="median")),
                ("log", FunctionTransformer(np.log1p)),
                ("scale", StandardScaler()),
            ]
        )
        prep = ColumnTransformer([("num", scaled, numeric), ("cat", one_hot, categorical)])
        model: Any = LogisticRegression(C=1.0, max_iter=2000)
    elif kind == "forest":
        imputed = SimpleImputer(strategy="median")
        prep = ColumnTransformer([("num", imputed, numeric), ("cat", one_hot, categorical)])
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
            learning_rate=0.1,
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


def split_by_time(
    df: pl.DataFrame, *, test_days: int = 90, time_col: str = TIME_COL
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(train, test) of the labelled rows: test holds the last `test_days` labelled days;
    train the earlier rows whose label window ends before the first test day (purged)."""
    labelled = df.filter(pl.col(LABEL_COL).is_not_null())
    start = labelled.get_column(time_col).max() - pl.duration(days=test_days - 1)
    test = labelled.filter(pl.col(time_col) >= start)
    window_end = pl.col(time_col) + pl.duration(days=pl.col(HORIZON_COL))
    return labelled.filter(window_end < start), test


def time_folds(
    df: pl.DataFrame, n_splits: int, *, time_col: str = TIME_COL
) -> list[tuple[Array, Array]]:
    """Expanding-window folds over the days of `df` (as TimeSeriesSplit over its unique days):
    row indices to fit on and to validate on, the fit rows purged of label windows reaching
    the validation days."""
    days = df.get_column(time_col).cast(pl.Int32).to_numpy()
    ends = days + df.get_column(HORIZON_COL).to_numpy()
    unique = np.unique(days)
    size = len(unique) // (n_splits + 1)
    folds = []
    for i in range(1, n_splits + 1):
        first = unique[i * size]
        last = unique[min((i + 1) * size, len(unique)) - 1]
        fit_rows = np.flatnonzero(ends < first)
        check_rows = np.flatnonzero((days >= first) & (days <= last))
        folds.append((fit_rows, check_rows))
    return folds


def sample_training_rows(df: pl.DataFrame, *, max_rows: int, seed: int = 0) -> pl.DataFrame:
    """`df` with a `sample_weight` column, cut to about `max_rows` rows: all positives (a
    uniform share of them if they alone exceed the cap) and a uniform share of the negatives,
    each kept row weighted by one over its class's kept share."""
    if df.height <= max_rows:
        return df.with_columns(pl.lit(1.0).alias("sample_weight"))
    positives = df.filter(pl.col(LABEL_COL))
    negatives = df.filter(~pl.col(LABEL_COL))
    kept_positives = min(positives.height, max_rows // 2)
    parts = []
    for part, size in ((positives, kept_positives), (negatives, max_rows - kept_positives)):
        share = min(1.0, size / max(part.height, 1))
        sample = part.sample(fraction=share, seed=seed) if share < 1.0 else part
        parts.append(sample.with_columns(pl.lit(1.0 / share).alias("sample_weight")))
    return pl.concat(parts)


@dataclass
class RiskModel:
    """A fitted risk model: the pipeline fitted on the training days before the calibration
    days, the same calibrated on them (None when not calibrated), the chosen parameters and
    the seconds and rows the fit took."""

    kind: str
    pipeline: Pipeline
    calibrated: CalibratedClassifierCV | None
    params: dict[str, Any] = field(default_factory=dict)
    fit_seconds: float = 0.0
    n_fit_rows: int = 0

    def predict_proba(self, df: pl.DataFrame, *, calibrated: bool = True) -> Array:
        """The probability of a stockout ahead for each row of `df`."""
        model = self.calibrated if calibrated and self.calibrated is not None else self.pipeline
        return np.asarray(model.predict_proba(df.select(*FEATURES, HORIZON_COL))[:, 1])

    def predict(
        self,
        df: pl.DataFrame,
        *,
        calibrated: bool = True,
        id_cols: Sequence[str] = ID_COLS,
        time_col: str = TIME_COL,
    ) -> pl.DataFrame:
        """Ids, `time_col` and `stockout_risk` (the probability) for each row of `df`."""
        risk = pl.Series("stockout_risk", self.predict_proba(df, calibrated=calibrated))
        return df.select(*id_cols, time_col).with_columns(risk)


def fit_risk_model(
    kind: str,
    train: pl.DataFrame,
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    params: Mapping[str, Any] | None = None,
    calibration: str | None = "isotonic",
    calibration_days: int = 60,
    n_splits: int = 3,
    max_rows: int = 400_000,
    seed: int = 0,
    time_col: str = TIME_COL,
) -> RiskModel:
    """Tune, fit and calibrate one model on the labelled rows of `train` (see the module
    docstring). `grid` maps pipeline parameters to the values to try (default: none, the
    pipeline's own); `params` fixes pipeline parameters instead (a refit with the parameters
    a tuning chose); `calibration` is "isotonic", "sigmoid" or None."""
    started = time.perf_counter()
    labelled = train.filter(pl.col(LABEL_COL).is_not_null())
    if calibration is not None:
        fit_part, calibration_part = split_by_time(
            labelled, test_days=calibration_days, time_col=time_col
        )
    else:
        fit_part, calibration_part = labelled, labelled.clear()
    fit_part = sample_training_rows(fit_part.sort(time_col), max_rows=max_rows, seed=seed)
    fit_part = fit_part.sort(time_col)
    x = fit_part.select(*FEATURES, HORIZON_COL)
    y = fit_part.get_column(LABEL_COL).to_numpy()
    weight = fit_part.get_column("sample_weight").to_numpy()
    pipeline = build_pipeline(kind, seed=seed)
    chosen: dict[str, Any] = dict(params or {})
    if chosen:
        pipeline.set_params(**chosen)
    if grid and kind != "rule":
        search = GridSearchCV(
            pipeline,
            {name: list(values) for name, values in grid.items()},
            scoring="average_precision",
            cv=time_folds(fit_part, n_splits, time_col=time_col),
            refit=False,
        )
        search.fit(x, y, model__sample_weight=weight)
        chosen = dict(search.best_params_)
        pipeline.set_params(**chosen)
    pipeline.fit(x, y, model__sample_weight=weight)
    calibrated = None
    if calibration is not None and calibration_part.height > 0:
        if calibration_part.height > max_rows:
            calibration_part = calibration_part.sample(n=max_rows, seed=seed)
        calibrated = CalibratedClassifierCV(FrozenEstimator(pipeline), method=calibration)
        calibrated.fit(
            calibration_part.select(*FEATURES, HORIZON_COL),
            calibration_part.get_column(LABEL_COL).to_numpy(),
        )
    seconds = time.perf_counter() - started
    return RiskModel(kind, pipeline, calibrated, chosen, seconds, fit_part.height)


def compare_models(
    df: pl.DataFrame,
    *,
    kinds: Sequence[str] = MODEL_KINDS,
    grids: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
    test_days: int = 90,
    calibration: str | None = "isotonic",
    calibration_days: int = 60,
    n_splits: int = 3,
    k: int = 10,
    max_rows: int = 400_000,
    seed: int = 0,
    time_col: str = TIME_COL,
) -> pl.DataFrame:
    """One row per model on the last `test_days` labelled days of `df` (a risk frame), each
    model fitted on the days before (`fit_risk_model`, `grids` by kind: default
    `DEFAULT_GRIDS`): `model`, `is_calibrated` (a calibrated model gets a row of its own),
    `roc_auc`, `pr_auc`, `brier`, `precision_at_k`, `recall_at_k` (top `k` alerts a day),
    `positive_rate`, `fit_seconds`, `n_fit_rows`, `n_test_rows` and `params`."""
    chosen = DEFAULT_GRIDS if grids is None else grids
    train, test = split_by_time(df, test_days=test_days, time_col=time_col)
    y = test.get_column(LABEL_COL).to_numpy()
    days = test.get_column(time_col).to_numpy()
    rows = []
    for kind in kinds:
        model = fit_risk_model(
            kind,
            train,
            grid=chosen.get(kind),
            calibration=None if kind == "rule" else calibration,
            calibration_days=calibration_days,
            n_splits=n_splits,
            max_rows=max_rows,
            seed=seed,
            time_col=time_col,
        )
        variants = [False] if model.calibrated is None else [False, True]
        for is_calibrated in variants:
            score = model.predict_proba(test, calibrated=is_calibrated)
            rows.append(
                {
                    "model": kind,
                    "is_calibrated": is_calibrated,
                    **evaluate_scores(y, score, days, k=k),
                    "fit_seconds": model.fit_seconds,
                    "n_fit_rows": model.n_fit_rows,
                    "n_test_rows": test.height,
                    "params": str(model.params),
                }
            )
    return pl.DataFrame(rows)


def alerts_at_k(y: Array, score: Array, days: Array, *, k: int) -> tuple[float, float]:
    """(precision, recall) of alerting the `k` highest scores of each day: the share of alerts
    that were stockouts ahead and the share of stockouts ahead that were alerted."""
    frame = pl.DataFrame({"day": days, "y": y.astype(bool), "score": score})
    rank = pl.col("score").rank("ordinal", descending=True).over("day")
    alerts = frame.filter(rank <= k)
    hits = int(alerts.get_column("y").sum())
    positives = int(frame.get_column("y").sum())
    precision = hits / alerts.height if alerts.height else float("nan")
    return precision, hits / positives if positives else float("nan")


def evaluate_scores(y: Array, score: Array, days: Array, *, k: int = 10) -> dict[str, float]:
    """`roc_auc`, `pr_auc` (average precision), `brier`, `precision_at_k` and `recall_at_k`
    (`alerts_at_k`) and `positive_rate` of scores against 0/1 labels."""
    truth = y.astype(bool)
    precision, recall = alerts_at_k(truth, score, days, k=k)
    return {
        "roc_auc": float(roc_auc_score(truth, score)),
        "pr_auc": float(average_precision_score(truth, score)),
        "brier": float(brier_score_loss(truth, score)),
        "precision_at_k": precision,
        "recall_at_k": recall,
        "positive_rate": float(truth.mean()),
    }


def calibration_table(y: Array, score: Array, *, n_bins: int = 10) -> pl.DataFrame:
    """The binned calibration curve: `n_bins` equal-width score bins on [0, 1] (empty ones
    left out) with `bin`, `rows`, `mean_score` and `observed_rate` (the share of positives)."""
    frame = pl.DataFrame({"y": y.astype(np.float64), "score": score.astype(np.float64)})
    index = (pl.col("score") * n_bins).floor().clip(0, n_bins - 1).cast(pl.Int32)
    return (
        frame.group_by(index.alias("bin"))
        .agg(
            pl.len().alias("rows"),
            pl.col("score").mean().alias("mean_score"),
            pl.col("y").mean().alias("observed_rate"),
        )
        .sort("bin")
    )


def permutation_importance(
    model: RiskModel,
    df: pl.DataFrame,
    *,
    n_repeats: int = 3,
    calibrated: bool = False,
    seed: int = 0,
) -> pl.DataFrame:
    """How much the PR-AUC on the labelled rows of `df` drops when one feature's values are
    shuffled across rows: `feature`, `pr_auc_drop` (mean of `n_repeats` shuffles) and
    `pr_auc_drop_std`, largest drop first."""
    labelled = df.filter(pl.col(LABEL_COL).is_not_null())
    y = labelled.get_column(LABEL_COL).to_numpy()
    base = average_precision_score(y, model.predict_proba(labelled, calibrated=calibrated))
    rng = np.random.default_rng(seed)
    rows = []
    for name in FEATURES:
        column = labelled.get_column(name)
        drops = []
        for _ in range(n_repeats):
            shuffled = column.gather(rng.permutation(labelled.height))
            score = model.predict_proba(labelled.with_columns(shuffled), calibrated=calibrated)
            drops.append(base - average_precision_score(y, score))
        rows.append(
            {
                "feature": name,
                "pr_auc_drop": float(np.mean(drops)),
                "pr_auc_drop_std": float(np.std(drops)),
            }
        )
    return pl.DataFrame(rows).sort("pr_auc_drop", descending=True)
