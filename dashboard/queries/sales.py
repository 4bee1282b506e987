"""Queries of the Sales & stock page and its filter bar; one fact view per chart input.

Which view a chart reads depends on the filters, so that only one product in one store reads
`daily_sales` day by day: a product in every store (or a region) reads `daily_product_sales`,
any other selection `daily_subcategory_sales`. The two breakdowns that need store x product
detail (the products of one store, the stores of one product) read `daily_sales` for that one
store or product (it is stored ordered by store and product).

A trend has two series: `current` (the chosen window) and `comparison` (the comparison window,
its days moved forward by the shift so that both share the same periods). The SQL only sums
each day of both windows (kept flat: DuckDB plans a chain of CTEs in several milliseconds);
polars then cuts the days into periods (at most two windows of 731 days).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final, Literal

import duckdb
import polars as pl

from dashboard.queries import Params, fetch

DAILY_SALES_VIEW: Final = "daily_sales"
PRODUCT_SALES_VIEW: Final = "daily_product_sales"
SUBCATEGORY_SALES_VIEW: Final = "daily_subcategory_sales"
STORE_SALES_VIEW: Final = "daily_store_sales"
CATEGORY_SALES_VIEW: Final = "daily_category_sales"
PRODUCTS_VIEW: Final = "products"
STORES_VIEW: Final = "stores"
PROMOTIONS_VIEW: Final = "promotions"
CALENDAR_VIEW: Final = "calendar"
REQUIRED_VIEWS: Final = (PRODUCT_SALES_VIEW, SUBCATEGORY_SALES_VIEW)

Grain = Literal["day", "week", "month"]
Comparison = Literal["previous", "last_year"]
Measure = Literal["revenue", "units"]
BreakdownLevel = Literal["category", "product", "region", "store"]
CURRENT: Final = "current"
COMPARISON: Final = "comparison"
BREAKDOWN_LIMIT: Final = 15
DEFAULT_WINDOW_MONTHS: Final = 6
WEEK_DAYS: Final = 7
LAST_YEAR_DAYS: Final = 364  # 52 weeks back: the same weekdays last year
_PERIOD_EVERY: Final[dict[Grain, str]] = {"day": "1d", "week": "1w", "month": "1mo"}


@dataclass(frozen=True)
class Selection:
    """What to read: a window of dates, its comparison window and the filters (None = all)."""

    start: dt.date
    end: dt.date
    comparison_start: dt.date
    comparison_end: dt.date
    shift_days: int
    shift_months: int
    grain: Grain
    region: str | None = None
    store_id: int | None = None
    category: str | None = None
    subcategory: str | None = None
    product_id: int | None = None

    @property
    def is_single_series(self) -> bool:
        return self.store_id is not None and self.product_id is not None

    def params(self, *names: str) -> Params:
        """The window bounds (ISO text; the SQL casts them) and the named filters."""
        windows = {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "comparison_start": self.comparison_start.isoformat(),
            "comparison_end": self.comparison_end.isoformat(),
            "first_date": min(self.start, self.comparison_start).isoformat(),
            "last_date": max(self.end, self.comparison_end).isoformat(),
        }
        filters: dict[str, str | int | None] = {
            "region": self.region,
            "store_id": self.store_id,
            "category": self.category,
            "subcategory": self.subcategory,
            "product_id": self.product_id,
        }
        return {**windows, **{name: filters[name] for name in names}}


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months, the day of month clamped to the target month's length."""
    index = day.year * 12 + day.month - 1 + months
    year, month_index = divmod(index, 12)
    following = dt.date(year + (month_index + 1) // 12, (month_index + 1) % 12 + 1, 1)
    last_day = (following - dt.timedelta(days=1)).day
    return dt.date(year, month_index + 1, min(day.day, last_day))


def default_window(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """The last six months of data: 2025-07-01..2025-12-31 for data ending 2025-12-31."""
    start = add_months(last, -DEFAULT_WINDOW_MONTHS) + dt.timedelta(days=1)
    return max(start, first), last


def comparison_shift(
    start: dt.date, end: dt.date, grain: Grain, comparison: Comparison
) -> tuple[int, int]:
    """How far back the comparison window lies, as (days, months).

    Day and week grains move by whole weeks so that weekdays line up: the previous period is
    the window's length rounded up to whole weeks, last year is 52 weeks. The month grain moves
    by whole months: as many as the window touches, or twelve.
    """
    if grain == "month":
        if comparison == "last_year":
            return 0, 12
        return 0, (end.year - start.year) * 12 + end.month - start.month + 1
    if comparison == "last_year":
        return LAST_YEAR_DAYS, 0
    days = (end - start).days + 1
    return -(-days // WEEK_DAYS) * WEEK_DAYS, 0


def build_selection(
    start: dt.date,
    end: dt.date,
    grain: Grain,
    comparison: Comparison,
    *,
    region: str | None = None,
    store_id: int | None = None,
    category: str | None = None,
    subcategory: str | None = None,
    product_id: int | None = None,
) -> Selection:
    shift_days, shift_months = comparison_shift(start, end, grain, comparison)

    def back(day: dt.date) -> dt.date:
        return add_months(day, -shift_months) - dt.timedelta(days=shift_days)

    return Selection(
        start=start,
        end=end,
        comparison_start=back(start),
        comparison_end=back(end),
        shift_days=shift_days,
        shift_months=shift_months,
        grain=grain,
        region=region,
        store_id=store_id,
        category=category,
        subcategory=subcategory,
        product_id=product_id,
    )


def load_date_bounds(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """One row: `first_date`, `last_date` of the sales data (NULL when there is none)."""
    sql = f"select min(date) as first_date, max(date) as last_date from {STORE_SALES_VIEW}"
    return fetch(cur, sql)


def load_categories(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every `category`, `subcategory` pair that has products, sorted."""
    sql = f"""
        select distinct category, subcategory
        from {PRODUCTS_VIEW}
        where category is not null and subcategory is not null
        order by category, subcategory
    """
    return fetch(cur, sql)


def load_products(
    cur: duckdb.DuckDBPyConnection, *, category: str | None, subcategory: str | None
) -> pl.DataFrame:
    """Products of a category and subcategory (None = all), sorted by name:
    `product_id`, `product_name`, `category`, `subcategory`."""
    sql = f"""
        select product_id, product_name, category, subcategory
        from {PRODUCTS_VIEW}
        where ($category is null or category = $category)
            and ($subcategory is null or subcategory = $subcategory)
        order by product_name, product_id
    """
    return fetch(cur, sql, {"category": category, "subcategory": subcategory})


# Both windows' days (and nothing between them), summed per day. `{columns}` sums the view's
# columns, `{where}` filters it: constants of the loaders below.
_DAILY_SQL: Final = """
    select
        date,
        {columns}
    from {view}
    where date between $first_date::date and $last_date::date
        and (
            date between $start::date and $end::date
            or date between $comparison_start::date and $comparison_end::date
        )
        and {where}
    group by date
"""
_SUMMED_COLUMNS: Final = """
    sum(units_sold)::bigint as units_sold,
    sum(revenue)::double as revenue,
    sum(stock_units)::bigint as stock_units,
    sum(series_count)::bigint as series_count,
    sum(stockout_count)::bigint as stockout_count,
    sum(promo_count)::bigint as promo_count,
"""
_SERIES_SQL: Final = f"""
    select
        date,
        units_sold::bigint as units_sold,
        revenue::double as revenue,
        stock_end::bigint as stock_units,
        1::bigint as series_count,
        is_stockout::bigint as stockout_count,
        is_promo::bigint as promo_count,
    from {DAILY_SALES_VIEW}
    where store_id = $store_id
        and product_id = $product_id
        and date between $first_date::date and $last_date::date
        and (
            date between $start::date and $end::date
            or date between $comparison_start::date and $comparison_end::date
        )
"""
_GROUP_FILTERS: Final = """
    ($region is null or region = $region)
    and ($store_id is null or store_id = $store_id)
    and ($category is null or category = $category)
    and ($subcategory is null or subcategory = $subcategory)
"""
_PRODUCT_FILTERS: Final = "product_id = $product_id and ($region is null or region = $region)"


def load_trend(cur: duckdb.DuckDBPyConnection, selection: Selection) -> pl.DataFrame:
    """Per series and period (see `summarise_periods`), from the view the filters call for."""
    if selection.is_single_series:
        daily = load_series_days(cur, selection)
    elif selection.product_id is not None:
        daily = load_product_days(cur, selection)
    else:
        daily = load_group_days(cur, selection)
    return summarise_periods(daily, selection)


def load_series_days(cur: duckdb.DuckDBPyConnection, selection: Selection) -> pl.DataFrame:
    """One product in one store, from `daily_sales` (already one row a day): the columns of
    `summarise_periods`' input."""
    return fetch(cur, _SERIES_SQL, selection.params("store_id", "product_id"))


def load_product_days(cur: duckdb.DuckDBPyConnection, selection: Selection) -> pl.DataFrame:
    """One product in every store or a region's stores, from `daily_product_sales`."""
    sql = _DAILY_SQL.format(
        view=PRODUCT_SALES_VIEW, columns=_SUMMED_COLUMNS, where=_PRODUCT_FILTERS
    )
    return fetch(cur, sql, selection.params("product_id", "region"))


def load_group_days(cur: duckdb.DuckDBPyConnection, selection: Selection) -> pl.DataFrame:
    """Every product of the filters, from `daily_subcategory_sales`."""
    sql = _DAILY_SQL.format(
        view=SUBCATEGORY_SALES_VIEW, columns=_SUMMED_COLUMNS, where=_GROUP_FILTERS
    )
    return fetch(cur, sql, selection.params("region", "store_id", "category", "subcategory"))


def summarise_periods(daily: pl.DataFrame, selection: Selection) -> pl.DataFrame:
    """Days (`date`, `units_sold`, `revenue`, `stock_units`, `series_count`, `stockout_count`,
    `promo_count`) cut into the selection's periods, per series:

    `series` ("current", then "comparison"), `period_start`, `period_end`, `is_partial` (the
    period runs past the window), `day_count` (days with data), `units_sold`, `revenue` (EUR),
    `stock_units` (closing stock summed over the store x product series, averaged over the
    period's days), `series_count`, `stockout_count`, `promo_count` (store x product days,
    those out of stock, those on promotion). A comparison day lands in the period of the day
    the shift moves it to, so both series share the current window's periods.
    """
    every = _PERIOD_EVERY[selection.grain]
    shift = f"{selection.shift_months}mo{selection.shift_days}d"
    current = daily.filter(pl.col("date").is_between(selection.start, selection.end))
    comparison = daily.filter(
        pl.col("date").is_between(selection.comparison_start, selection.comparison_end)
    )
    days = pl.concat(
        [
            current.with_columns(series=pl.lit(CURRENT)),
            comparison.with_columns(
                series=pl.lit(COMPARISON), date=pl.col("date").dt.offset_by(shift)
            ),
        ]
    )
    periods = (
        days.group_by("series", period_start=pl.col("date").dt.truncate(every))
        .agg(
            day_count=pl.len().cast(pl.Int64),
            units_sold=pl.col("units_sold").sum(),
            revenue=pl.col("revenue").sum(),
            stock_units=pl.col("stock_units").mean(),
            series_count=pl.col("series_count").sum(),
            stockout_count=pl.col("stockout_count").sum(),
            promo_count=pl.col("promo_count").sum(),
        )
        .with_columns(period_end=pl.col("period_start").dt.offset_by(every).dt.offset_by("-1d"))
        .with_columns(
            is_partial=(pl.col("period_start") < selection.start)
            | (pl.col("period_end") > selection.end)
        )
        .sort(pl.col("series") != CURRENT, "period_start")
    )
    return periods.select(
        "series",
        "period_start",
        "period_end",
        "is_partial",
        "day_count",
        "units_sold",
        "revenue",
        pl.col("stock_units").cast(pl.Float64),
        "series_count",
        "stockout_count",
        "promo_count",
    )


def summarise_totals(trend: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """Per series ("current", "comparison"): `revenue`, `units_sold`, `stockout_rate`,
    `day_count` over the whole window (None where a series has no data)."""
    totals: dict[str, dict[str, Any]] = {}
    for series in (CURRENT, COMPARISON):
        rows = trend.filter(pl.col("series") == series)
        if rows.is_empty():
            totals[series] = {
                "revenue": None,
                "units_sold": None,
                "stockout_rate": None,
                "day_count": 0,
            }
            continue
        sums = rows.select(
            "revenue", "units_sold", "stockout_count", "series_count", "day_count"
        ).sum()
        total = sums.row(0, named=True)
        totals[series] = {
            "revenue": total["revenue"],
            "units_sold": total["units_sold"],
            "stockout_rate": (
                total["stockout_count"] / total["series_count"] if total["series_count"] else None
            ),
            "day_count": total["day_count"],
        }
    return totals


def build_trend_table(trend: pl.DataFrame) -> pl.DataFrame:
    """The trend as the CSV download gives it: one row per period of the window, the
    comparison's values beside it, units in the column names."""
    measures = ("units_sold", "revenue", "stock_units", "series_count", "stockout_count")
    current = trend.filter(pl.col("series") == CURRENT)
    comparison = trend.filter(pl.col("series") == COMPARISON).select(
        "period_start",
        *[pl.col(name).alias(f"comparison_{name}") for name in ("day_count", *measures)],
    )
    table = current.join(comparison, on="period_start", how="left").sort("period_start")
    return table.select(
        "period_start",
        "period_end",
        "is_partial",
        pl.col("day_count").alias("days_with_data"),
        "units_sold",
        pl.col("revenue").round(2).alias("revenue_eur"),
        pl.col("stock_units").round(1).alias("stock_on_hand_units"),
        pl.col("series_count").alias("store_product_days"),
        pl.col("stockout_count").alias("stockout_days"),
        pl.col("promo_count").alias("promo_days"),
        pl.col("comparison_day_count").alias("comparison_days_with_data"),
        "comparison_units_sold",
        pl.col("comparison_revenue").round(2).alias("comparison_revenue_eur"),
        pl.col("comparison_stock_units").round(1).alias("comparison_stock_on_hand_units"),
        pl.col("comparison_series_count").alias("comparison_store_product_days"),
        pl.col("comparison_stockout_count").alias("comparison_stockout_days"),
    )


def breakdown_level(selection: Selection) -> BreakdownLevel:
    """The next level down: categories, a category's products, a product's regions, then the
    stores of a region (or of the selected store's region)."""
    if selection.product_id is None:
        if selection.category is None and selection.subcategory is None:
            return "category"
        return "product"
    if selection.region is None and selection.store_id is None:
        return "region"
    return "store"


# Totals per member over both windows, the biggest first. `{key}` and `{label}` are the
# member's key and name, `{source}` and `{where}` the rows: constants of the loaders below.
_BREAKDOWN_SQL: Final = """
    select
        {key} as member_key,
        any_value({label}) as member_label,
        sum(sales.units_sold) filter (where {is_current})::bigint as units_sold,
        sum(sales.revenue) filter (where {is_current})::double as revenue,
        sum(sales.stockout_count) filter (where {is_current})::bigint as stockout_count,
        sum(sales.series_count) filter (where {is_current})::bigint as series_count,
        sum(sales.units_sold) filter (where {is_comparison})::bigint as comparison_units_sold,
        sum(sales.revenue) filter (where {is_comparison})::double as comparison_revenue,
        count(*) over ()::bigint as member_count,
    {source}
    where sales.date between $first_date::date and $last_date::date
        and ({is_current} or {is_comparison})
        and {where}
    group by member_key
    having count(*) filter (where {is_current}) > 0
    order by
        case
            when $measure = 'units' then sum(sales.units_sold) filter (where {is_current})
            else sum(sales.revenue) filter (where {is_current})
        end desc,
        member_label,
        member_key
    limit $limit
"""
_IS_CURRENT: Final = "sales.date between $start::date and $end::date"
_IS_COMPARISON: Final = "sales.date between $comparison_start::date and $comparison_end::date"


def _breakdown_sql(*, key: str, label: str, source: str, where: str) -> str:
    return _BREAKDOWN_SQL.format(
        key=key,
        label=label,
        source=source,
        where=where,
        is_current=_IS_CURRENT,
        is_comparison=_IS_COMPARISON,
    )


def load_breakdown(
    cur: duckdb.DuckDBPyConnection,
    selection: Selection,
    *,
    measure: Measure = "revenue",
    limit: int = BREAKDOWN_LIMIT,
) -> pl.DataFrame:
    """The biggest members of the next level down (`breakdown_level`), biggest first:
    `member_key` (text: a category, a product id, a region, a store id), `member_label`,
    `units_sold`, `revenue`, `stockout_count`, `series_count` in the window,
    `comparison_units_sold`, `comparison_revenue` in the comparison window (NULL when the member
    sold nothing then) and `member_count` (how many members there are before the limit).

    The stores of a product ignore the store filter, so that another store is one click away."""
    level = breakdown_level(selection)
    if level == "category":
        return load_category_breakdown(cur, selection, measure=measure, limit=limit)
    if level == "region":
        return load_region_breakdown(cur, selection, measure=measure, limit=limit)
    if level == "store":
        return load_store_breakdown(cur, selection, measure=measure, limit=limit)
    if selection.store_id is not None:
        return load_store_product_breakdown(cur, selection, measure=measure, limit=limit)
    return load_product_breakdown(cur, selection, measure=measure, limit=limit)


def _breakdown_params(
    selection: Selection, measure: Measure, limit: int, *filters: str
) -> dict[str, str | int | None]:
    return {**selection.params(*filters), "measure": measure, "limit": limit}


def load_category_breakdown(
    cur: duckdb.DuckDBPyConnection, selection: Selection, *, measure: Measure, limit: int
) -> pl.DataFrame:
    """Categories of every store, a region or a store, from `daily_category_sales` (the level
    shows only while no category or subcategory is chosen)."""
    sql = _breakdown_sql(
        key="sales.category",
        label="sales.category",
        source=f"from {CATEGORY_SALES_VIEW} as sales",
        where="""
            ($region is null or sales.region = $region)
            and ($store_id is null or sales.store_id = $store_id)
        """,
    )
    filters = ("region", "store_id")
    return fetch(cur, sql, _breakdown_params(selection, measure, limit, *filters))


def load_product_breakdown(
    cur: duckdb.DuckDBPyConnection, selection: Selection, *, measure: Measure, limit: int
) -> pl.DataFrame:
    """Products of a category or subcategory in every store or a region, from
    `daily_product_sales` (names from `products`)."""
    sql = _breakdown_sql(
        key="sales.product_id::varchar",
        label="products.product_name",
        source=f"""
            from {PRODUCT_SALES_VIEW} as sales
            inner join {PRODUCTS_VIEW} as products on products.product_id = sales.product_id
        """,
        where="""
            ($region is null or sales.region = $region)
            and ($category is null or sales.category = $category)
            and ($subcategory is null or sales.subcategory = $subcategory)
        """,
    )
    filters = ("region", "category", "subcategory")
    return fetch(cur, sql, _breakdown_params(selection, measure, limit, *filters))


def load_store_product_breakdown(
    cur: duckdb.DuckDBPyConnection, selection: Selection, *, measure: Measure, limit: int
) -> pl.DataFrame:
    """Products of a category or subcategory in one store, from `daily_sales` (that store's
    rows only; names from `products`)."""
    sql = _breakdown_sql(
        key="sales.product_id::varchar",
        label="products.product_name",
        source=f"""
            from (
                select
                    date,
                    product_id,
                    units_sold,
                    revenue,
                    1 as series_count,
                    is_stockout::integer as stockout_count,
                from {DAILY_SALES_VIEW}
                where store_id = $store_id
            ) as sales
            inner join {PRODUCTS_VIEW} as products on products.product_id = sales.product_id
        """,
        where="""
            ($category is null or products.category = $category)
            and ($subcategory is null or products.subcategory = $subcategory)
        """,
    )
    filters = ("store_id", "category", "subcategory")
    return fetch(cur, sql, _breakdown_params(selection, measure, limit, *filters))


def load_region_breakdown(
    cur: duckdb.DuckDBPyConnection, selection: Selection, *, measure: Measure, limit: int
) -> pl.DataFrame:
    """Regions selling one product, from `daily_product_sales`."""
    sql = _breakdown_sql(
        key="sales.region",
        label="sales.region",
        source=f"from {PRODUCT_SALES_VIEW} as sales",
        where="sales.product_id = $product_id",
    )
    return fetch(cur, sql, _breakdown_params(selection, measure, limit, "product_id"))


def load_store_breakdown(
    cur: duckdb.DuckDBPyConnection, selection: Selection, *, measure: Measure, limit: int
) -> pl.DataFrame:
    """The stores of the selected region (or of the selected store's region) selling one
    product, from `daily_sales`: only those stores' rows (it is stored ordered by store)."""
    sql = _breakdown_sql(
        key="sales.store_id::varchar",
        label="stores.store_name",
        source=f"""
            from (
                select
                    date,
                    store_id,
                    units_sold,
                    revenue,
                    1 as series_count,
                    is_stockout::integer as stockout_count,
                from {DAILY_SALES_VIEW}
                where product_id = $product_id
                    and store_id in (
                        select store_id
                        from {STORES_VIEW}
                        where region = coalesce(
                            $region,
                            (select region from {STORES_VIEW} where store_id = $store_id)
                        )
                    )
            ) as sales
            inner join {STORES_VIEW} as stores on stores.store_id = sales.store_id
        """,
        where="true",
    )
    filters = ("product_id", "region", "store_id")
    return fetch(cur, sql, _breakdown_params(selection, measure, limit, *filters))


def load_promotions(
    cur: duckdb.DuckDBPyConnection, selection: Selection, *, region: str | None
) -> pl.DataFrame:
    """Promotions of the selected product overlapping the window, national or of `region`
    (the selected store's or the selected region; None = every region): `promo_id`,
    `start_date`, `end_date`, `discount_pct` (0 to 1), `promo_type`, `region` (NULL =
    national)."""
    sql = f"""
        select promo_id, start_date, end_date, discount_pct, promo_type, region,
        from {PROMOTIONS_VIEW}
        where product_id = $product_id
            and start_date <= $end::date
            and end_date >= $start::date
            and (region is null or $region::varchar is null or region = $region)
        order by start_date, promo_id
    """
    params = {
        "product_id": selection.product_id,
        "region": region,
        "start": selection.start.isoformat(),
        "end": selection.end.isoformat(),
    }
    return fetch(cur, sql, params)


def load_names(cur: duckdb.DuckDBPyConnection, selection: Selection) -> pl.DataFrame:
    """One row: the selected store's `store_name` and `store_region`, the selected product's
    `product_name` (NULL when none is selected)."""
    sql = f"""
        select
            (select store_name from {STORES_VIEW} where store_id = $store_id) as store_name,
            (select region from {STORES_VIEW} where store_id = $store_id) as store_region,
            (select product_name from {PRODUCTS_VIEW} where product_id = $product_id)
                as product_name
    """
    return fetch(cur, sql, {"store_id": selection.store_id, "product_id": selection.product_id})


def load_holidays(cur: duckdb.DuckDBPyConnection, selection: Selection) -> pl.DataFrame:
    """Public holidays in the window: `date`, `holiday_name`, `is_store_closed`."""
    sql = f"""
        select date, holiday_name, is_store_closed
        from {CALENDAR_VIEW}
        where is_public_holiday and date between $start::date and $end::date
        order by date
    """
    params = {"start": selection.start.isoformat(), "end": selection.end.isoformat()}
    return fetch(cur, sql, params)
