"""The `shelfsight` command line: generate data, forecast and backtest, train the stockout-risk
models and predict, serve the dashboard.

Every command exits non-zero with one line on stderr (no traceback) when something is wrong.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from data.errors import ShelfsightError
from data.risk_cli import add_commands as add_risk_commands
from data.risk_cli import frame_table
from data.risk_cli import run as run_risk_command

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from data.forecasting import BatchResult

DEFAULT_DB = Path("data/shelfsight.duckdb")
DEMO_SCALE, DEMO_SEED = "small", 42
log = logging.getLogger("shelfsight")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"shelfsight: error: {message} (see 'shelfsight --help')\n")


def _default_db() -> Path:
    return Path(os.environ.get("SHELFSIGHT_DB") or DEFAULT_DB)


def _parser() -> argparse.ArgumentParser:
    from data.generate import SCALES

    parser = _Parser(prog="shelfsight", description="Retail analytics and forecasting on DuckDB.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    gen = commands.add_parser("generate", help="build the synthetic dataset into a DuckDB file")
    gen.add_argument("--scale", choices=list(SCALES), default=DEMO_SCALE)
    gen.add_argument("--seed", type=int, default=DEMO_SEED)
    gen.add_argument("--defect-rate", type=float, default=0.03, help="share of raw rows damaged")
    gen.add_argument(
        "--db", type=Path, default=None, help="default: $SHELFSIGHT_DB or data/shelfsight.duckdb"
    )
    gen.add_argument("--force", action="store_true", help="replace an existing file")

    serve = commands.add_parser("serve", help="serve the dashboard with gunicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8050)
    serve.add_argument(
        "--prefix", default="/", help="URL prefix kept by a reverse proxy, e.g. /analytics/"
    )
    serve.add_argument("--workers", type=int, default=2)
    serve.add_argument(
        "--frame-ancestors",
        default=None,
        help="who may put the app in an iframe (CSP frame-ancestors), default 'self'",
    )
    serve.add_argument("--db", type=Path, default=None)

    forecast = commands.add_parser(
        "forecast", help="forecast every series (or one) with 80%% and 95%% intervals"
    )
    until = forecast.add_mutually_exclusive_group(required=True)
    until.add_argument("--horizon", type=int, help="days to forecast after the data's last day")
    until.add_argument("--date", help="forecast up to this day (YYYY-MM-DD) instead of --horizon")
    forecast.add_argument("--model", default="auto", help="a model name (default: auto)")
    _add_batch_arguments(forecast, "forecasts")

    backtest = commands.add_parser("backtest", help="rolling-origin accuracy of models per series")
    backtest.add_argument("--horizon", type=int, required=True, help="days per window (max 28)")
    backtest.add_argument("--windows", type=int, required=True, help="number of cutoffs")
    backtest.add_argument("--step", type=int, default=None, help="days between cutoffs")
    backtest.add_argument(
        "--models", nargs="+", default=None, help="default: seasonal_naive linear holt_winters"
    )
    _add_batch_arguments(backtest, "backtest_metrics")
    add_risk_commands(commands)
    return parser


def _add_batch_arguments(command: argparse.ArgumentParser, table: str) -> None:
    command.add_argument("--store", type=int, default=None, help="one series: with --product")
    command.add_argument("--product", type=int, default=None, help="one series: with --store")
    command.add_argument("--out", type=Path, default=None, help="write a .csv or .parquet file")
    command.add_argument(
        "--write-db", action="store_true", help=f"write table {table} into the database (atomic)"
    )
    command.add_argument("--jobs", type=int, default=None, help="processes (default: all cores)")
    command.add_argument("--backend", choices=["loky", "dask"], default="loky")
    command.add_argument("--scheduler", default=None, help="Dask scheduler address (dask only)")
    command.add_argument("--db", type=Path, default=None)


@contextmanager
def _progress(console: Console) -> Iterator[Callable[[str, float], None]]:
    columns = (
        TextColumn("{task.description:<48}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
    )
    with Progress(
        *columns, TimeElapsedColumn(), console=console, disable=not console.is_terminal
    ) as bar:
        task = bar.add_task("starting", total=1.0)
        yield lambda message, fraction: bar.update(task, description=message, completed=fraction)


def _generate(db: Path, scale: str, seed: int, defect_rate: float, force: bool) -> None:
    from data.build import build_database
    from data.generate import SCALES, GeneratorConfig

    try:
        config = GeneratorConfig(SCALES[scale], seed=seed, defect_rate=defect_rate)
    except ValueError as error:
        raise ShelfsightError(str(error)) from None
    err = Console(stderr=True)
    with _progress(err) as report:
        summary = build_database(db, config, force=force, progress=report)
    table = Table(title=f"{summary.path} - scale {summary.scale}, seed {summary.seed}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name in (
        "stores",
        "products",
        "customers",
        "promotions",
        "daily_sales",
        "replenishments",
        "baskets",
    ):
        table.add_row(name, f"{summary.rows[name]:,}")
    defects = sum(summary.defects.values())
    out = Console(width=120)
    out.print(table)
    out.print(
        f"Built in {summary.seconds:.1f} s, {summary.size_bytes / 1e6:.1f} MB. "
        f"{defects:,} defective raw rows were injected and repaired or flagged "
        "(see the data_quality view)."
    )


def _serve(args: argparse.Namespace, db: Path) -> None:
    if not db.exists():
        print(
            f"{db} not found: building the demo dataset (scale {DEMO_SCALE}) first", file=sys.stderr
        )
        _generate(db, DEMO_SCALE, DEMO_SEED, 0.03, force=False)
        print("scoring the demo's stockout risk (shelfsight train, predict)", file=sys.stderr)
        # Fewer training rows than the default: a first start should not wait minutes.
        for command in (["train", "--max-rows", "150000"], ["predict"]):
            run_risk_command(_parser().parse_args(command), db, _progress)
    if not 1 <= args.port <= 65535:
        raise ShelfsightError(f"port must be between 1 and 65535, got {args.port}")
    if args.workers < 1:
        raise ShelfsightError(f"workers must be at least 1, got {args.workers}")
    prefix = "/" + args.prefix.strip("/") + "/" if args.prefix.strip("/") else "/"
    if shutil.which("gunicorn") is None and not (Path(sys.executable).parent / "gunicorn").exists():
        raise ShelfsightError("gunicorn is not installed; run 'pip install gunicorn'")
    env = dict(os.environ, SHELFSIGHT_DB=str(db.resolve()), SHELFSIGHT_PREFIX=prefix)
    if args.frame_ancestors:
        env["SHELFSIGHT_FRAME_ANCESTORS"] = args.frame_ancestors
    command = [
        sys.executable, "-m", "gunicorn",
        "--bind", f"{args.host}:{args.port}",
        "--workers", str(args.workers),
        "--access-logfile", "-",
        "--graceful-timeout", "5",
        "dashboard.app:create_server()",
    ]  # fmt: skip
    print(f"serving {db} on http://{args.host}:{args.port}{prefix} (Ctrl-C stops)", file=sys.stderr)
    os.execve(sys.executable, command, env)


def _check_batch_arguments(args: argparse.Namespace) -> bool:
    """Raise ShelfsightError for bad flags; True when one series is asked for."""
    if (args.store is None) != (args.product is None):
        given, other = (
            ("--store", "--product") if args.store is not None else ("--product", "--store")
        )
        raise ShelfsightError(f"{given} needs {other}: give both for one series, neither for all")
    if args.jobs is not None and args.jobs < 1:
        raise ShelfsightError(f"jobs must be at least 1, got {args.jobs}")
    if args.scheduler and args.backend != "dask":
        raise ShelfsightError("--scheduler is for --backend dask")
    if args.backend == "dask" and not args.scheduler:
        raise ShelfsightError("--backend dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
    if args.out is not None:
        from data.publish import check_output

        check_output(args.out)
    db = args.db or _default_db()
    if args.write_db and db.parent.is_dir() and not os.access(db.parent, os.W_OK):
        raise ShelfsightError(f"cannot write to {db.parent} (--write-db): permission denied")
    return args.store is not None


def _horizon_until(text: str, last: dt.date) -> int:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ShelfsightError(f"--date must be a day as YYYY-MM-DD, got {text!r}") from None
    if day <= last:
        raise ShelfsightError(f"--date must be after the data's last day, {last}; got {day}")
    return (day - last).days


def _batch(args: argparse.Namespace, db: Path) -> int:
    """`forecast` and `backtest`: check everything, run, write (file, then database), report.

    Exit 0 when every series was done or skipped (no sales), 3 when some failed (the others'
    results are written), 2 (nothing written) on bad input or when no series succeeded."""
    from data import forecasting
    from data.publish import update_database, write_file

    single = _check_batch_arguments(args)
    con = forecasting.connect(db)
    try:
        bounds = forecasting.read_bounds(con, db)
        if args.command == "forecast":
            horizon = (
                args.horizon if args.date is None else _horizon_until(args.date, bounds.last_date)
            )
            request = forecasting.BatchRequest("forecast", horizon, (args.model,))
            if not (single or args.out or args.write_db):
                raise ShelfsightError(
                    "nothing would be kept of every series' forecast: pass --out FILE or --write-db"
                )
        else:
            models = tuple(dict.fromkeys(args.models or forecasting.BACKTEST_MODELS))
            request = forecasting.BatchRequest(
                "backtest", args.horizon, models, args.windows, args.step
            )
        forecasting.check_request(request)
        stores, products = ([args.store], [args.product]) if single else (None, None)
        series = forecasting.select_series(con, bounds, stores, products)
        if single:
            forecasting.check_has_sales(con, args.store, args.product)
        categories = con.sql("select product_id, category from products").pl()
    finally:
        con.close()
    err = Console(stderr=True)
    with _progress(err) as report:
        result = forecasting.run_batch(
            db,
            request,
            series,
            jobs=args.jobs,
            backend=args.backend,
            scheduler=args.scheduler,
            progress=report,
        )
    if result.counts["ok"] == 0:
        first = result.runs.row(0, named=True)
        where = "" if single else "no series could be done; first: "
        raise ShelfsightError(
            f"{where}store {first['store_id']}, product {first['product_id']}: {first['reason']}"
        )
    run_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    tables = _result_tables(result, run_at)
    out = Console(width=120)
    if args.write_db:

        def write(staged: duckdb.DuckDBPyConnection) -> dict[str, int]:
            return forecasting.write_results(staged, tables, replace=not single)

        update_database(db, write, lambda: err.print(f"waiting for another command writing {db}"))
    main_table = "forecasts" if request.kind == "forecast" else "backtest_metrics"
    if args.out is not None:
        write_file(tables[main_table], args.out)
    _print_result(out, result, categories, show_rows=single and args.out is None)
    written = [f"{args.out} ({tables[main_table].height:,} rows)"] if args.out else []
    if args.write_db:
        written.append(
            f"tables {', '.join(f'{t} ({f.height:,} rows)' for t, f in tables.items())} into {db}"
        )
    if written:
        out.print("Wrote " + "; ".join(written) + ".")
    failed = result.counts["failed"]
    if failed:
        total = result.runs.height
        print(
            f"shelfsight: error: {failed:,} of {total:,} series failed; "
            "the others' results were written",
            file=sys.stderr,
        )
        return 3
    return 0


def _result_tables(result: BatchResult, run_at: dt.datetime) -> dict[str, pl.DataFrame]:
    import polars as pl

    request = result.request
    if request.kind == "backtest":
        return {"backtest_metrics": result.metrics}
    runs = result.runs.with_columns(
        pl.lit(run_at).alias("run_at"),
        pl.lit(request.horizon).alias("horizon"),
        pl.lit(request.models[0]).alias("requested_model"),
    )
    return {"forecasts": result.forecasts, "forecast_runs": runs, "lost_sales": result.lost}


def _print_result(
    out: Console, result: BatchResult, categories: pl.DataFrame, *, show_rows: bool
) -> None:
    import polars as pl

    from data.forecasting import leaderboards

    request = result.request
    counts = result.counts
    if request.kind == "forecast" and show_rows:
        run = result.runs.row(0, named=True)
        out.print(
            frame_table(
                result.forecasts.drop("store_id", "product_id", "model"),
                title=(
                    f"store {run['store_id']}, product {run['product_id']}: "
                    f"{run['model']} ({run['reason']})"
                ),
            )
        )
    if request.kind == "backtest":
        boards = leaderboards(result, categories)
        out.print(frame_table(boards["model"], title="Leaderboard per model (all series)"))
        out.print(frame_table(boards["category"], title="Leaderboard per category and model"))
    what = f"model {request.models[0]}" if request.kind == "forecast" else ", ".join(request.models)
    windows = f", {request.windows} window(s)" if request.kind == "backtest" else ""
    out.print(
        f"{request.kind.capitalize()} of {result.runs.height:,} series ({request.horizon} days"
        f"{windows}, {what}) in {result.seconds:.1f} s: {counts['ok']:,} done, "
        f"{counts['skipped']:,} skipped, {counts['failed']:,} failed; "
        f"{result.warnings:,} model warnings."
    )
    for status in ("skipped", "failed"):
        rows = result.runs.filter(pl.col("status") == status)
        for (reason,), part in list(rows.partition_by("reason", as_dict=True).items())[:5]:
            first = part.row(0, named=True)
            out.print(
                f"  {status}: {part.height:,} series: {reason} "
                f"(e.g. store {first['store_id']}, product {first['product_id']})"
            )


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    db = args.db or _default_db()
    try:
        if args.command == "generate":
            _generate(db, args.scale, args.seed, args.defect_rate, args.force)
        elif args.command == "serve":
            _serve(args, db)
        elif args.command in ("forecast", "backtest"):
            return _batch(args, db)
        elif args.command in ("train", "predict"):
            return run_risk_command(args, db, _progress)
    except ShelfsightError as error:
        print(f"shelfsight: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("shelfsight: interrupted; the database was left as it was", file=sys.stderr)
        return 130
    except Exception as error:  # a bug: one line for the user, the traceback in the log
        log.debug("unexpected error", exc_info=True)
        print(f"shelfsight: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
