"""`shelfsight train`: fit the stockout-risk models on the database and store them in it.

Reads daily_sales and the tables the features need (`analytics.risk_features`), holds out the
last `test_days` labelled days, tunes, fits and calibrates each model kind on the days before
(`analytics.stockout_risk.fit_risk_model`), scores the held-out days and picks the variant with
the best PR-AUC. That model is then refitted, with the parameters its tuning chose, on every
labelled day (the held-out ones too: the scores of `shelfsight predict` should learn from the
latest months), and stored pickled in `risk_model_store` with the run's metrics.

Tables written (through `data.publish.update_database`, atomically, beside what is there):
- `model_runs`: one row per run x model x variant (raw or calibrated): the run id and time, the
  model, its parameters, the data snapshot, the split, the held-out metrics, the fit time, and
  `is_chosen`. Earlier runs are kept.
- `model_calibration`: the binned calibration curve of each model and variant on the held-out
  days; `model_importance`: the permutation importance of the chosen model there. Kept per run.
- `risk_model_store`: the chosen model of the latest run only (what `predict` loads).

The pickled model is loaded only from the database file the user built and trained; like any
pickle it must not come from an untrusted source.
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import duckdb
import polars as pl

from data.errors import ShelfsightError

Progress = Callable[[str, float], None]
RISK_TABLES: Final = (
    "daily_sales",
    "products",
    "stores",
    "replenishments",
    "promotions",
    "calendar",
)
RUN_TABLES: Final = ("model_runs", "model_calibration", "model_importance")
STORE_TABLE: Final = "risk_model_store"
# Labelled days needed before the held-out ones: tuning folds plus the calibration days.
MIN_TRAIN_DAYS: Final = 120
MIN_POSITIVES: Final = {"train": 50, "test": 10}
_SALES_COLUMNS: Final = (
    "store_id", "product_id", "date", "units_sold", "stock_end", "is_stockout", "is_promo",
)  # fmt: skip


@dataclass(frozen=True)
class TrainRequest:
    models: tuple[str, ...] = ("rule", "logistic", "forest", "boosting")
    horizon: int | None = None  # label window in days; None: each product's lead time
    test_days: int = 90
    calibration_days: int = 60
    k: int = 10  # alerts per day for precision and recall at k
    max_rows: int = 400_000  # training rows sampled beyond this (see stockout_risk)
    importance_rows: int = 50_000  # held-out rows the permutation importance shuffles
    seed: int = 0


@dataclass(frozen=True)
class StoredModel:
    """What `predict` needs of a trained model."""

    run_id: str
    kind: str
    is_calibrated: bool
    horizon: int | None
    trained_at: dt.datetime
    model: Any  # analytics.stockout_risk.RiskModel


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    runs: pl.DataFrame
    calibration: pl.DataFrame
    importance: pl.DataFrame
    stored: StoredModel
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)


def check_train_request(request: TrainRequest) -> None:
    from analytics.stockout_risk import MODEL_KINDS

    unknown = [m for m in request.models if m not in MODEL_KINDS]
    if unknown or not request.models:
        name = unknown[0] if unknown else ""
        raise ShelfsightError(f"unknown model {name!r}; choose from {', '.join(MODEL_KINDS)}")
    if request.horizon is not None and not 1 <= request.horizon <= 60:
        raise ShelfsightError(f"the horizon must be 1 to 60 days, not {request.horizon}")
    if request.test_days < 14:
        raise ShelfsightError(f"test days must be at least 14, not {request.test_days}")
    if request.max_rows < 10_000:
        raise ShelfsightError(f"max rows must be at least 10,000, not {request.max_rows}")
    if request.k < 1:
        raise ShelfsightError(f"k must be at least 1, not {request.k}")


def check_stock_columns(con: duckdb.DuckDBPyConnection, db: Path) -> None:
    """Raise unless daily_sales has stock levels (imported sales may have none)."""
    tables = {r[0] for r in con.sql("select table_name from duckdb_tables()").fetchall()}
    tables |= {r[0] for r in con.sql("select view_name from duckdb_views()").fetchall()}
    missing = [t for t in RISK_TABLES if t not in tables]
    if missing:
        raise ShelfsightError(f"{db} has no {missing[0]} table; is it a shelfsight database?")
    columns = {r[0] for r in con.sql("describe daily_sales").fetchall()}
    lacking = [c for c in ("stock_end", "is_stockout") if c not in columns]
    if lacking or not con.sql("select count(stock_end) from daily_sales").fetchall()[0][0]:
        raise ShelfsightError(
            f"{db} has no stock levels in daily_sales (sales imported without stock); "
            "stockout risk needs the stock on hand of each day"
        )


def load_tables(
    con: duckdb.DuckDBPyConnection, db: Path, *, since: dt.date | None = None
) -> dict[str, pl.DataFrame]:
    """The tables `build_risk_frame` reads, daily_sales from `since` on (default: all)."""
    check_stock_columns(con, db)
    where = "where date >= $since" if since is not None else ""
    sales = con.sql(
        f"select {', '.join(_SALES_COLUMNS)} from daily_sales {where} "
        "order by store_id, product_id, date",
        params={"since": since} if since is not None else None,
    ).pl()
    if sales.is_empty():
        raise ShelfsightError(f"{db} has no sales rows")
    frames = {"daily_sales": sales}
    for name in RISK_TABLES[1:]:
        frames[name] = con.sql(f"select * from {name}").pl()
    return frames


def snapshot(con: duckdb.DuckDBPyConnection, db: Path) -> str:
    """What the models were fitted on, in words: file, rows, dates."""
    query = "select count(*), min(date), max(date) from daily_sales"
    rows, first, last = con.sql(query).fetchall()[0]
    return f"{Path(db).name}: daily_sales {rows:,} rows, {first} to {last}"


def risk_frame(tables: dict[str, pl.DataFrame], horizon: int | None) -> pl.DataFrame:
    from analytics.risk_features import build_risk_frame

    return build_risk_frame(*(tables[name] for name in RISK_TABLES), horizon=horizon)


def train(db: Path, request: TrainRequest, progress: Progress | None = None) -> TrainResult:
    """Fit, compare and keep the models (see the module docstring); nothing is written here."""
    from analytics import stockout_risk as sr
    from analytics.risk_features import LABEL_COL
    from data.forecasting import connect

    report = progress or (lambda _message, _fraction: None)
    check_train_request(request)
    started = time.perf_counter()
    report("reading the sales, stock and orders", 0.0)
    con = connect(db)
    try:
        tables = load_tables(con, db)
        data_snapshot = snapshot(con, db)
    finally:
        con.close()
    report(f"features for {tables['daily_sales'].height:,} store-product-days", 0.03)
    frame = risk_frame(tables, request.horizon)
    del tables
    labelled = frame.filter(pl.col(LABEL_COL).is_not_null())
    _check_history(labelled, request)
    train_part, test_part = sr.split_by_time(labelled, test_days=request.test_days)
    _check_positives(train_part, test_part)
    y = test_part.get_column(LABEL_COL).to_numpy()
    days = test_part.get_column("date").to_numpy()
    runs, curves, fitted = [], [], {}
    share = 0.8 / (len(request.models) + 1)
    for i, kind in enumerate(request.models):
        report(f"fitting {kind} ({i + 1}/{len(request.models)})", 0.05 + i * share)
        model = sr.fit_risk_model(
            kind,
            train_part,
            grid=sr.DEFAULT_GRIDS.get(kind),
            calibration=None if kind == "rule" else "isotonic",
            calibration_days=request.calibration_days,
            max_rows=request.max_rows,
            seed=request.seed,
        )
        for is_calibrated in [False] if model.calibrated is None else [False, True]:
            score = model.predict_proba(test_part, calibrated=is_calibrated)
            runs.append(
                {
                    "model": kind,
                    "is_calibrated": is_calibrated,
                    "params": json.dumps(model.params, sort_keys=True, default=str),
                    **sr.evaluate_scores(y, score, days, k=request.k),
                    "fit_seconds": model.fit_seconds,
                    "n_fit_rows": model.n_fit_rows,
                    "n_test_rows": test_part.height,
                }
            )
            curves.append(
                sr.calibration_table(y, score).with_columns(
                    pl.lit(kind).alias("model"), pl.lit(is_calibrated).alias("is_calibrated")
                )
            )
            fitted[kind] = model
    best = max(runs, key=lambda r: (r["pr_auc"], not r["is_calibrated"]))
    kind, is_calibrated = str(best["model"]), bool(best["is_calibrated"])
    report(f"permutation importance of {kind}", 0.05 + len(request.models) * share)
    sample = test_part
    if sample.height > request.importance_rows:
        sample = sample.sample(n=request.importance_rows, seed=request.seed)
    importance = sr.permutation_importance(
        fitted[kind], sample, n_repeats=3, calibrated=is_calibrated, seed=request.seed
    )
    report(f"refitting {kind} on every labelled day", 0.9)
    final = sr.fit_risk_model(
        kind,
        labelled,
        params=fitted[kind].params,
        calibration="isotonic" if is_calibrated else None,
        calibration_days=request.calibration_days,
        max_rows=request.max_rows,
        seed=request.seed,
    )
    run_id = uuid.uuid4().hex[:12]
    trained_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    first_test = test_part.get_column("date").min()
    split = {
        "run_id": run_id,
        "trained_at": trained_at,
        "horizon": request.horizon,
        "snapshot": data_snapshot,
        "train_start": labelled.get_column("date").min(),
        "test_start": first_test,
        "test_end": test_part.get_column("date").max(),
        "k": request.k,
    }
    runs_frame = pl.DataFrame(
        [{**split, **r, "is_chosen": r is best} for r in runs], infer_schema_length=None
    ).with_columns(pl.col("horizon").cast(pl.Int32))
    with_run = [pl.lit(run_id).alias("run_id")]
    stored = StoredModel(run_id, kind, is_calibrated, request.horizon, trained_at, final)
    report("done", 1.0)
    return TrainResult(
        run_id=run_id,
        runs=runs_frame,
        calibration=pl.concat(curves).with_columns(with_run),
        importance=importance.with_columns(pl.lit(kind).alias("model"), *with_run),
        stored=stored,
        seconds=time.perf_counter() - started,
        rows={"features": frame.height, "labelled": labelled.height, "test": test_part.height},
    )


def _check_history(labelled: pl.DataFrame, request: TrainRequest) -> None:
    days = labelled.get_column("date").n_unique()
    need = request.test_days + MIN_TRAIN_DAYS
    if days < need:
        raise ShelfsightError(
            f"too little history to train: {days} labelled days, need at least {need} "
            f"({request.test_days} to test on and {MIN_TRAIN_DAYS} to fit and calibrate on)"
        )


def _check_positives(train_part: pl.DataFrame, test_part: pl.DataFrame) -> None:
    from analytics.risk_features import LABEL_COL

    found = {
        "train": int(train_part.get_column(LABEL_COL).sum()),
        "test": int(test_part.get_column(LABEL_COL).sum()),
    }
    if any(found[part] < MIN_POSITIVES[part] for part in found):
        raise ShelfsightError(
            f"too few stockouts to learn from: {found['train']:,} in the training days and "
            f"{found['test']:,} in the test days (need {MIN_POSITIVES['train']} and "
            f"{MIN_POSITIVES['test']})"
        )


def write_training(con: duckdb.DuckDBPyConnection, result: TrainResult) -> dict[str, int]:
    """Append the run's tables and replace the stored model, in `con` (a copy being
    published); the tables' row counts afterwards."""
    import sklearn

    counts: dict[str, int] = {}
    existing = {r[0] for r in con.sql("select table_name from duckdb_tables()").fetchall()}
    frames = {
        "model_runs": result.runs,
        "model_calibration": result.calibration,
        "model_importance": result.importance,
    }
    for table, frame in frames.items():
        con.register("incoming", frame)
        try:
            if table in existing:
                con.execute(f"insert into {table} by name select * from incoming")
            else:
                con.execute(f"create table {table} as select * from incoming")
        finally:
            con.unregister("incoming")
        counts[table] = int(con.sql(f"select count(*) from {table}").fetchall()[0][0])
    stored = result.stored
    con.execute(
        f"""
        create or replace table {STORE_TABLE} (
            run_id varchar, model varchar, is_calibrated boolean, horizon integer,
            trained_at timestamp, sklearn_version varchar, payload blob
        )
        """
    )
    con.execute(
        f"insert into {STORE_TABLE} values (?, ?, ?, ?, ?, ?, ?)",
        [
            stored.run_id,
            stored.kind,
            stored.is_calibrated,
            stored.horizon,
            stored.trained_at,
            sklearn.__version__,
            pickle.dumps(stored.model, protocol=pickle.HIGHEST_PROTOCOL),
        ],
    )
    counts[STORE_TABLE] = 1
    return counts


def load_model(con: duckdb.DuckDBPyConnection, db: Path) -> StoredModel:
    """The model the latest `shelfsight train` stored in `db`."""
    import sklearn

    tables = {r[0] for r in con.sql("select table_name from duckdb_tables()").fetchall()}
    if STORE_TABLE not in tables:
        raise ShelfsightError(f"{db} has no trained model; run 'shelfsight train' first")
    row = con.sql(
        f"select run_id, model, is_calibrated, horizon, trained_at, sklearn_version, payload "
        f"from {STORE_TABLE} order by trained_at desc limit 1"
    ).fetchall()
    if not row:
        raise ShelfsightError(f"{db} has no trained model; run 'shelfsight train' first")
    run_id, kind, is_calibrated, horizon, trained_at, version, payload = row[0]
    if version != sklearn.__version__:
        raise ShelfsightError(
            f"the stored model was trained with scikit-learn {version}, this is "
            f"{sklearn.__version__}; run 'shelfsight train' again"
        )
    model = pickle.loads(payload)
    return StoredModel(run_id, kind, bool(is_calibrated), horizon, trained_at, model)
