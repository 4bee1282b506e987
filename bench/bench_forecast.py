"""Benchmark: forecast accuracy, interval coverage and seconds against statsforecast.

    pip install -e '.[bench]'   # statsforecast: a benchmark-only peer, never imported by the app
    python bench/bench_forecast.py --db medium.duckdb --series 200 --windows 2 --horizon 28

On the same sample of store x product series (drawn with `--seed`) and the same rolling origins
(the last `--windows` blocks of `--horizon` days before the data's end), every model is fitted on
the history up to the origin and forecasts the block after it:

- ours, through `analytics.pipeline.forecast_series` (what the page and the CLI run): `auto`,
  `linear` and `seasonal_naive`, fitted on the stockout-corrected demand and given the block's
  known prices, promotions and calendar (promotions are planned ahead);
- statsforecast's `AutoETS` and `SeasonalNaive` (weekly season) on the observed sales.

Scored against the observed sales (and, for the stockout question, against the generator's true
demand): MASE (each series' MAE over the in-sample MAE of a 7-day seasonal naive, then the mean
over series), sMAPE (%), bias (mean forecast - actual), coverage of the 80% and 95% intervals,
and seconds of fitting and forecasting (one process, one BLAS thread, statsforecast's JIT compiled
before timing). Prints Markdown tables for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
from threadpoolctl import threadpool_limits

from analytics import pipeline

SEASON = 7
OURS = ("auto", "linear", "seasonal_naive")
PEERS = ("AutoETS", "SeasonalNaive")
Forecasts = pl.DataFrame  # series, cutoff, date, forecast, lo_80, hi_80, lo_95, hi_95


def load_sample(db: Path, count: int, seed: int) -> pl.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        keys = con.sql("select store_id, product_id from stores, products order by all").pl()
        rng = np.random.default_rng(seed)
        picked = keys[np.sort(rng.choice(keys.height, size=count, replace=False))]
        con.register("picked", picked.to_arrow())
        return con.sql(
            """
            select f.*, t.demand_units::double as true_demand
            from forecast_input f
            join picked using (store_id, product_id)
            left join true_demand t using (store_id, product_id, date)
            order by store_id, product_id, date
            """
        ).pl()
    finally:
        con.close()


def run_ours(
    model: str, series: dict[tuple[int, int], pl.DataFrame], cutoffs: list[dt.date], horizon: int
) -> tuple[Forecasts, float, dict[str, int]]:
    parts, chosen, spent = [], {}, 0.0
    for key, frame in series.items():
        for cutoff in cutoffs:
            history = frame.filter(pl.col("date") <= cutoff)
            block = frame.filter(pl.col("date") > cutoff).head(horizon)
            known = block.drop(
                "units_sold", "true_demand", "is_stockout", "stock_begin", "received_units"
            )
            started = time.perf_counter()
            try:
                result = pipeline.forecast_series(
                    history.drop("true_demand"),
                    horizon=horizon,
                    model=model,
                    future=known,
                    compare=(),
                    windows=1,
                )
            except pipeline.ForecastError:
                continue
            spent += time.perf_counter() - started
            chosen[result.model] = chosen.get(result.model, 0) + 1
            parts.append(
                result.forecast.drop("model").with_columns(
                    pl.lit(f"{key[0]}-{key[1]}").alias("series"), pl.lit(cutoff).alias("cutoff")
                )
            )
    return pl.concat(parts), spent, chosen


def run_peer(
    name: str, series: dict[tuple[int, int], pl.DataFrame], cutoffs: list[dt.date], horizon: int
) -> tuple[Forecasts, float]:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, SeasonalNaive

    factory: Callable[[], object] = {
        "AutoETS": lambda: AutoETS(season_length=SEASON),
        "SeasonalNaive": lambda: SeasonalNaive(season_length=SEASON),
    }[name]
    parts, spent = [], 0.0
    for cutoff in cutoffs:
        frames = []
        for key, frame in series.items():
            history = _regular(frame.filter(pl.col("date") <= cutoff))
            frames.append(
                history.select(
                    pl.lit(f"{key[0]}-{key[1]}").alias("unique_id"),
                    pl.col("date").cast(pl.Datetime).alias("ds"),
                    pl.col("units_sold").cast(pl.Float64).alias("y"),
                )
            )
        train = pl.concat(frames).to_pandas()
        model = StatsForecast(models=[factory()], freq="D", n_jobs=1)
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = model.forecast(df=train, h=horizon, level=[80, 95])
        spent += time.perf_counter() - started
        out = pl.from_pandas(pd.DataFrame(out).reset_index(drop="unique_id" not in out.index.names))
        parts.append(
            out.select(
                pl.col("unique_id").alias("series"),
                pl.lit(cutoff).alias("cutoff"),
                pl.col("ds").cast(pl.Date).alias("date"),
                pl.col(name).clip(lower_bound=0).alias("forecast"),
                *[
                    pl.col(f"{name}-{side}-{level}").clip(lower_bound=0).alias(f"{side}_{level}")
                    for level in (80, 95)
                    for side in ("lo", "hi")
                ],
            )
        )
    return pl.concat(parts), spent


def _regular(history: pl.DataFrame) -> pl.DataFrame:
    """Every day present, a missing day's sales interpolated (the peers need regular series)."""
    days = pl.DataFrame(
        {"date": pl.date_range(history["date"].min(), history["date"].max(), "1d", eager=True)}
    )
    return days.join(history, on="date", how="left").with_columns(
        pl.col("units_sold").cast(pl.Float64).interpolate().fill_null(0.0)
    )


def score(
    forecasts: Forecasts, actuals: pl.DataFrame, scales: pl.DataFrame, target: str
) -> dict[str, float]:
    joined = forecasts.join(actuals, on=["series", "date"]).join(scales, on=["series", "cutoff"])
    joined = joined.filter(pl.col(target).is_not_null())
    y, f = pl.col(target), pl.col("forecast")
    per_series = (
        joined.filter(pl.col("scale") > 0)
        .group_by("series", "cutoff")
        .agg(((f - y).abs().mean() / pl.col("scale").first()).alias("mase"))
    )
    both_zero = (y.abs() + f.abs()) == 0
    smape = pl.when(both_zero).then(0.0).otherwise(200 * (f - y).abs() / (y.abs() + f.abs()))
    row = joined.select(
        smape.mean().alias("smape"),
        (f - y).mean().alias("bias"),
        y.is_between(pl.col("lo_80"), pl.col("hi_80")).mean().alias("coverage_80"),
        y.is_between(pl.col("lo_95"), pl.col("hi_95")).mean().alias("coverage_95"),
    ).row(0, named=True)
    return {"mase": float(per_series["mase"].mean()), **row}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("data/shelfsight.duckdb"))
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--windows", type=int, default=2)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--models", default=",".join((*OURS, *PEERS)))
    args = parser.parse_args()
    wanted = args.models.split(",")
    data = load_sample(args.db, args.series, args.seed)
    last = data["date"].max()
    cutoffs = [last - dt.timedelta(days=args.horizon * k) for k in range(args.windows, 0, -1)]
    series = {
        (int(k[0]), int(k[1])): part
        for k, part in data.partition_by("store_id", "product_id", as_dict=True).items()
    }
    name = pl.concat_str(pl.col("store_id"), pl.lit("-"), pl.col("product_id")).alias("series")
    actuals = data.select(name, "date", pl.col("units_sold").cast(pl.Float64), "true_demand")
    scales = pl.concat(
        [
            data.filter(pl.col("date") <= cutoff)
            .sort("date")
            .group_by("store_id", "product_id")
            .agg(
                (pl.col("units_sold") - pl.col("units_sold").shift(SEASON))
                .abs()
                .mean()
                .alias("scale")
            )
            .select(name, pl.lit(cutoff).alias("cutoff"), "scale")
            for cutoff in cutoffs
        ]
    )
    results: dict[str, tuple[Forecasts, float]] = {}
    with threadpool_limits(1):
        if any(m in PEERS for m in wanted):  # compile statsforecast's numba code before timing
            warm = dict(list(series.items())[:1])
            for peer in PEERS:
                run_peer(peer, warm, cutoffs[:1], args.horizon)
        for model in wanted:
            if model in PEERS:
                results[model] = run_peer(model, series, cutoffs, args.horizon)
            else:
                forecasts, spent, chosen = run_ours(model, series, cutoffs, args.horizon)
                results[model] = (forecasts, spent)
                if model == "auto":
                    print("auto chose:", ", ".join(f"{k} {v}" for k, v in sorted(chosen.items())))
    fits = len(series) * len(cutoffs)
    print(
        f"\n{len(series)} series x {len(cutoffs)} origins ({', '.join(map(str, cutoffs))}),"
        f" horizon {args.horizon} days; {platform.processor() or platform.machine()},"
        f" Python {platform.python_version()}\n"
    )
    for target in ("units_sold", "true_demand"):
        print(f"Scored against {target}:\n")
        print(
            "| model | MASE | sMAPE % | bias | coverage 80 | coverage 95 | seconds | ms per fit |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for model, (forecasts, spent) in results.items():
            m = score(forecasts, actuals, scales, target)
            print(
                f"| {model} | {m['mase']:.3f} | {m['smape']:.1f} | {m['bias']:+.3f} "
                f"| {m['coverage_80']:.1%} | {m['coverage_95']:.1%} | {spent:.1f} "
                f"| {1000 * spent / fits:.1f} |"
            )
        if "auto" in results and "AutoETS" in results:
            ours = score(results["auto"][0], actuals, scales, target)["mase"]
            peer = score(results["AutoETS"][0], actuals, scales, target)["mase"]
            print(f"\nauto / AutoETS MASE: {ours / peer:.3f} ({1 - ours / peer:+.1%} lower)\n")


if __name__ == "__main__":
    main()
