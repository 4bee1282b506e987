"""The `shelfsight` command line: generate data, serve the dashboard.

Every command exits non-zero with one line on stderr (no traceback) when something is wrong.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from data.errors import ShelfsightError

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
    return parser


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


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    db = args.db or _default_db()
    try:
        if args.command == "generate":
            _generate(db, args.scale, args.seed, args.defect_rate, args.force)
        elif args.command == "serve":
            _serve(args, db)
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
