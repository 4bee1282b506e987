"""The tables of `promotions.estimate_promotion_effects`: their schemas, the sums it collects
per promotion x store, and the rows built from those sums with 95% normal intervals (the
actual units are observed, so the incremental units' interval is actual minus that of the
baseline)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import polars as pl

from analytics.baseline import Array, IntArray

Z95: Final = 1.959963984540054
_F, _I = pl.Float64, pl.Int32
EFFECT_SCHEMA: Final[dict[str, type[pl.DataType]]] = {
    "promo_id": _I, "store_id": _I, "product_id": _I, "discount_pct": _F,
    "promo_days": _I, "stockout_days": _I,
    "actual_units": pl.Int64, "baseline_units": _F, "baseline_units_se": _F,
    "incremental_units": _F, "incremental_units_lo95": _F, "incremental_units_hi95": _F,
    "uplift_pct": _F, "uplift_pct_lo95": _F, "uplift_pct_hi95": _F,
    "actual_revenue": _F, "baseline_revenue": _F, "incremental_revenue": _F,
    "incremental_revenue_se": _F, "incremental_revenue_lo95": _F, "incremental_revenue_hi95": _F,
    "dip_days": _I, "dip_actual_units": pl.Int64, "dip_baseline_units": _F, "dip_units": _F,
    "dip_units_se": _F, "dip_units_lo95": _F, "dip_units_hi95": _F,
    "dip_revenue": _F, "dip_revenue_se": _F,
    "sibling_count": _I, "cannibalised_units": _F, "cannibalised_units_se": _F,
    "cannibalised_units_lo95": _F, "cannibalised_units_hi95": _F,
    "cannibalised_revenue": _F, "cannibalised_revenue_se": _F,
    "net_incremental_units": _F, "net_incremental_units_se": _F,
    "net_incremental_units_lo95": _F, "net_incremental_units_hi95": _F,
    "net_incremental_revenue": _F, "net_incremental_revenue_se": _F,
    "net_incremental_revenue_lo95": _F, "net_incremental_revenue_hi95": _F,
    "train_days": _I, "r_squared": _F,
}  # fmt: skip
EFFECT_COLUMNS: Final = tuple(EFFECT_SCHEMA)
DAY_SCHEMA: Final[dict[str, type[pl.DataType]]] = {
    "promo_id": _I, "store_id": _I, "date": pl.Date, "phase": pl.String, "units_sold": _I,
    "baseline_units": _F, "baseline_var": _F,
}  # fmt: skip
PHASES: Final = ("before", "promotion", "after")  # the days table's phase, by code 0, 1, 2


@dataclass
class EffectTotals:
    """Sums per promotion x store, indexed by the promotions frame's row number."""

    n: int
    values: dict[str, Array] = field(default_factory=dict)

    def add(self, name: str, rows: IntArray, amounts: Array) -> None:
        """Add `amounts` to the rows (each row at most once per call)."""
        column = self.values.setdefault(name, np.zeros(self.n))
        column[rows] += amounts


def build_days_frame(parts: list[dict[str, Array]], dates: pl.Series) -> pl.DataFrame:
    if not parts:
        return pl.DataFrame(schema=DAY_SCHEMA)
    columns = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    day = columns.pop("day")
    return (
        pl.DataFrame(columns)
        .with_columns(
            date=dates.gather(day),
            phase=pl.col("phase").replace_strict(range(len(PHASES)), PHASES),
            units_sold=pl.col("units_sold").fill_nan(None).round(0),
        )
        .select(list(DAY_SCHEMA))
        .cast(DAY_SCHEMA)  # type: ignore[arg-type]
        .sort("promo_id", "store_id", "date")
    )


def _interval(estimate: str, se: str, name: str) -> list[pl.Expr]:
    return [
        (pl.col(estimate) - Z95 * pl.col(se)).alias(f"{name}_lo95"),
        (pl.col(estimate) + Z95 * pl.col(se)).alias(f"{name}_hi95"),
    ]


def build_effects_frame(promos: pl.DataFrame, totals: EffectTotals) -> pl.DataFrame:
    """One row per estimated promotion x store, with intervals (see EFFECT_COLUMNS)."""
    raw = promos.select("promo_id", "store_id", "product_id", "discount_pct").with_columns(
        **{name: pl.Series(values) for name, values in totals.values.items()}
    )
    for name in ("_estimated", "sibling_count", "cannibal_baseline_units"):
        if name not in raw.columns:
            raw = raw.with_columns(pl.lit(0.0).alias(name))
    for name in (
        "cannibal_actual_units", "cannibal_var_units", "cannibal_baseline_units_at_price",
        "cannibal_actual_units_at_price", "cannibal_var_units_at_price",
    ):  # fmt: skip
        if name not in raw.columns:
            raw = raw.with_columns(pl.lit(0.0).alias(name))
    col = pl.col
    lower = col("baseline_units") - Z95 * col("baseline_units_se")
    effects = (
        raw.filter(col("_estimated") > 0)
        .with_columns(
            baseline_units=col("promo_baseline_units"),
            baseline_units_se=col("promo_var_units").sqrt(),
            incremental_units=col("promo_actual_units") - col("promo_baseline_units"),
            baseline_revenue=col("promo_baseline_revenue"),
            incremental_revenue=col("promo_actual_revenue") - col("promo_baseline_revenue"),
            incremental_revenue_se=col("promo_var_revenue").sqrt(),
            dip_units=col("dip_actual_units") - col("dip_baseline_units"),
            dip_units_se=col("dip_var_units").sqrt(),
            dip_revenue=col("dip_actual_revenue") - col("dip_baseline_revenue"),
            dip_revenue_se=col("dip_var_revenue").sqrt(),
            cannibalised_units=col("cannibal_baseline_units") - col("cannibal_actual_units"),
            cannibalised_units_se=col("cannibal_var_units").sqrt(),
            cannibalised_revenue=col("cannibal_baseline_units_at_price")
            - col("cannibal_actual_units_at_price"),
            cannibalised_revenue_se=col("cannibal_var_units_at_price").sqrt(),
        )
        .with_columns(
            uplift_pct=pl.when(col("baseline_units") > 0).then(
                col("promo_actual_units") / col("baseline_units") - 1
            ),
            uplift_pct_lo95=pl.when(col("baseline_units") > 0).then(
                col("promo_actual_units") / (col("baseline_units") + Z95 * col("baseline_units_se"))
                - 1
            ),
            uplift_pct_hi95=pl.when(lower > 0).then(col("promo_actual_units") / lower - 1),
            net_incremental_units=col("net_actual_units")
            - col("net_baseline_units")
            - col("cannibalised_units"),
            net_incremental_units_se=(col("net_var_units") + col("cannibal_var_units")).sqrt(),
            net_incremental_revenue=col("net_actual_revenue")
            - col("net_baseline_revenue")
            - col("cannibalised_revenue"),
            net_incremental_revenue_se=(
                col("net_var_revenue") + col("cannibal_var_units_at_price")
            ).sqrt(),
        )
        .with_columns(
            *_interval("incremental_units", "baseline_units_se", "incremental_units"),
            *_interval("incremental_revenue", "incremental_revenue_se", "incremental_revenue"),
            *_interval("dip_units", "dip_units_se", "dip_units"),
            *_interval("cannibalised_units", "cannibalised_units_se", "cannibalised_units"),
            *_interval(
                "net_incremental_units", "net_incremental_units_se", "net_incremental_units"
            ),
            *_interval(
                "net_incremental_revenue", "net_incremental_revenue_se", "net_incremental_revenue"
            ),
        )
        .rename({"promo_actual_units": "actual_units", "promo_actual_revenue": "actual_revenue"})
    )
    counts = [name for name, dtype in EFFECT_SCHEMA.items() if dtype in (pl.Int32, pl.Int64)]
    return (
        effects.with_columns(pl.col(counts).round(0))
        .select(EFFECT_COLUMNS)
        .cast(EFFECT_SCHEMA)  # type: ignore[arg-type]
        .sort("promo_id", "store_id")
    )
