"""`shelfsight train` and `shelfsight predict`: arguments, run, write, report."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import duckdb
    import polars as pl

ProgressFactory = Callable[[Console], AbstractContextManager[Callable[[str, float], None]]]


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    train = commands.add_parser(
        "train", help="fit and compare the stockout-risk models; store the best in the database"
    )
    train.add_argument(
        "--models",
        nargs="+",
        default=None,
        help="model kinds (default: rule logistic forest boosting)",
    )
    train.add_argument(
        "--horizon", type=int, default=None, help="days ahead (default: each product's lead time)"
    )
    train.add_argument("--test-days", type=int, default=90, help="last days held out (default 90)")
    train.add_argument(
        "--max-rows", type=int, default=400_000, help="training rows kept by sampling (400,000)"
    )
    train.add_argument("--k", type=int, default=10, help="alerts per day for precision@k")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--db", type=Path, default=None)

    predict = commands.add_parser(
        "predict",
        help="score the last day's stockout risk, suggest orders and replay the policy",
    )
    predict.add_argument(
        "--service-level", type=float, default=0.95, help="between 0 and 1 (default 0.95)"
    )
    predict.add_argument(
        "--kind",
        choices=["cycle", "fill_rate"],
        default="cycle",
        help="cycle service level (chance of no stockout per cycle) or fill rate",
    )
    predict.add_argument("--review-days", type=int, default=7, help="days between orders (7)")
    predict.add_argument("--replay-months", type=int, default=3, help="months replayed (3)")
    predict.add_argument("--db", type=Path, default=None)


def run(args: argparse.Namespace, db: Path, progress: ProgressFactory) -> int:
    """Check the arguments, compute with a progress bar, publish atomically, report."""
    err = Console(stderr=True)
    out = Console(width=120)
    if args.command == "train":
        from data import risk

        request = risk.TrainRequest(
            models=tuple(dict.fromkeys(args.models or risk.TrainRequest().models)),
            horizon=args.horizon,
            test_days=args.test_days,
            k=args.k,
            max_rows=args.max_rows,
            seed=args.seed,
        )
        risk.check_train_request(request)
        with progress(err) as report:
            trained = risk.train(db, request, report)
        _publish(db, err, lambda staged: risk.write_training(staged, trained))
        _print_training(out, trained)
        out.print(f"Wrote model_runs, model_calibration, model_importance and the model into {db}.")
        return 0
    from data import reorder

    asked = reorder.PredictRequest(
        service_level=args.service_level,
        kind=args.kind,
        review_days=args.review_days,
        replay_months=args.replay_months,
    )
    reorder.check_predict_request(asked)
    with progress(err) as report:
        predicted = reorder.predict(db, asked, report)
    _publish(db, err, lambda staged: reorder.write_predictions(staged, predicted))
    _print_predictions(out, predicted)
    written = ", ".join(f"{t} ({f.height:,} rows)" for t, f in predicted.tables.items())
    out.print(f"Wrote {written} into {db}.")
    return 0


def _publish(
    db: Path, err: Console, write: Callable[[duckdb.DuckDBPyConnection], dict[str, int]]
) -> None:
    from data.publish import update_database

    update_database(db, write, lambda: err.print(f"waiting for another command writing {db}"))


def _print_training(out: Console, trained: object) -> None:
    import polars as pl

    from data.risk import TrainResult

    assert isinstance(trained, TrainResult)
    runs = trained.runs.select(
        "model",
        "is_calibrated",
        "roc_auc",
        "pr_auc",
        "brier",
        "precision_at_k",
        "recall_at_k",
        "fit_seconds",
        "n_fit_rows",
        pl.when("is_chosen").then(pl.lit("<- chosen")).otherwise(pl.lit("")).alias(" "),
    )
    first = trained.runs.row(0, named=True)
    out.print(
        frame_table(
            runs,
            f"Held-out days {first['test_start']} to {first['test_end']} "
            f"({trained.rows['test']:,} rows; {trained.rows['labelled']:,} labelled in all)",
        )
    )
    out.print(frame_table(trained.importance.head(8).drop("run_id"), "Permutation importance"))
    stored = trained.stored
    variant = "calibrated " if stored.is_calibrated else ""
    out.print(
        f"Run {trained.run_id} in {trained.seconds:.1f} s: kept the {variant}{stored.kind} "
        "model, refitted on every labelled day."
    )


def _print_predictions(out: Console, predicted: object) -> None:
    import polars as pl

    from data.reorder import PredictResult

    assert isinstance(predicted, PredictResult)
    risk = predicted.tables["stockout_risk"]
    orders = predicted.tables["reorder_suggestions"]
    replay = predicted.tables["policy_replay"]
    out.print(
        frame_table(
            risk.head(10).select(
                "risk_rank",
                "store_id",
                "product_id",
                "stockout_probability",
                "stock_end",
                "days_of_cover",
                "on_order_units",
            ),
            f"Highest stockout risk on {predicted.as_of} "
            f"({predicted.model}, run {predicted.run_id})",
        )
    )
    ordering = orders.filter(pl.col("suggested_order") > 0)
    totals = replay.select(
        (pl.col("policy_lost_units").sum() / pl.col("demand_units").sum()).alias("policy"),
        (pl.col("actual_lost_units").sum() / pl.col("demand_units").sum()).alias("actual"),
        pl.col("policy_stockout_days").sum().alias("policy_days"),
        pl.col("actual_stockout_days").sum().alias("actual_days"),
        (pl.col("policy_average_stock") * pl.col("days")).sum() / pl.col("days").sum(),
        ((pl.col("actual_average_stock") * pl.col("days")).sum() / pl.col("days").sum()).alias(
            "actual_stock"
        ),
    ).row(0, named=True)
    level = orders.get_column("service_level")[0]
    kind = orders.get_column("service_kind")[0]
    out.print(
        f"{risk.height:,} series scored in {predicted.seconds:.1f} s; "
        f"{int((risk.get_column('stockout_probability') >= 0.5).sum()):,} at 50%+ risk. "
        f"At {kind} service level {level:.0%} ({predicted.demand_source} demand): "
        f"order {ordering.height:,} series, {int(ordering.get_column('suggested_order').sum()):,} "
        f"units. Replay: fill rate {1 - totals['policy']:.1%} vs {1 - totals['actual']:.1%} "
        f"actual, {totals['policy_days']:,} stockout days vs {totals['actual_days']:,}, "
        f"{totals['policy_average_stock']:.1f} units on the shelf on average vs "
        f"{totals['actual_stock']:.1f}."
    )


def frame_table(frame: pl.DataFrame, title: str) -> Table:
    table = Table(title=title)
    for name, dtype in frame.schema.items():
        table.add_column(name, justify="right" if dtype.is_numeric() else "left")
    for row in frame.iter_rows():
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
    return table
