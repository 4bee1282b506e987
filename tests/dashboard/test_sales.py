"""The Sales & stock page: its periods, queries, callbacks and figures against SQL over
`daily_sales` on the tiny database, and the page in a real Chromium.

Screenshots go to $SHELFSIGHT_SCREENSHOT_DIR when set (to look at them), else to tmp_path.
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import dash
import duckdb
import plotly.graph_objects as go
import polars as pl
import pytest
from dash import Dash, html
from dash.development.base_component import Component
from playwright.sync_api import Page, expect

from dashboard.db import MISSING_MESSAGE
from dashboard.embeds import EMBEDS
from dashboard.figures import EMPTY_MESSAGE
from dashboard.figures import sales as sales_figures
from dashboard.queries import sales as q
from dashboard.settings import Settings
from tests.dashboard.support import serve

START, END = dt.date(2025, 7, 1), dt.date(2025, 12, 31)  # the default window on the tiny data
PREVIOUS_START, PREVIOUS_END = dt.date(2024, 12, 24), dt.date(2025, 6, 25)  # 27 weeks before
CONTROLS = ("dates", "grain", "region", "store", "category", "subcategory", "product")


@pytest.fixture
def sales(app: Dash) -> Iterator[ModuleType]:
    """The page module, as `app` registered it, inside the app's context."""
    with app.server.app_context():
        yield importlib.import_module("dashboard.pages.sales")


def controls(**values: Any) -> list[Any]:
    """The page's FILTER_INPUTS values in order, defaults unless given."""
    defaults: dict[str, Any] = {
        "dates": [None, None],
        "grain": "week",
        "measure": "revenue",
        "compare": "previous",
    }
    merged = {**defaults, **values}
    return [merged.get(key) for key in (*CONTROLS, "measure", "compare")]


def find(tree: Component | list[Component], component_id: str) -> Component:
    root = html.Div(tree) if isinstance(tree, list) else tree
    found: Component = root[component_id]
    return found


def scalar(con: duckdb.DuckDBPyConnection, sql: str, **params: Any) -> Any:
    return con.sql(sql, params=params or None).fetchall()[0][0]


def window_sum(
    con: duckdb.DuckDBPyConnection,
    expression: str,
    start: dt.date,
    end: dt.date,
    where: str = "true",
) -> Any:
    sql = f"""
        select {expression}
        from daily_sales as sales
        join stores using (store_id)
        join products using (product_id)
        where sales.date between $start and $end and {where}
    """
    return scalar(con, sql, start=start, end=end)


# Periods and windows -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2025, 8, 31), -6, dt.date(2025, 2, 28)),
        (dt.date(2024, 3, 31), -1, dt.date(2024, 2, 29)),
        (dt.date(2025, 12, 31), 1, dt.date(2026, 1, 31)),
        (dt.date(2025, 1, 15), -1, dt.date(2024, 12, 15)),
        (dt.date(2025, 1, 15), -13, dt.date(2023, 12, 15)),
    ],
)
def test_add_months_clamps_day_of_month(day: dt.date, months: int, expected: dt.date) -> None:
    assert q.add_months(day, months) == expected


@pytest.mark.parametrize(
    ("start", "end", "grain", "comparison", "expected"),
    [
        (START, END, "week", "previous", (189, 0)),  # 184 days, rounded up to 27 weeks
        (dt.date(2025, 7, 7), dt.date(2025, 9, 28), "day", "previous", (84, 0)),  # 12 weeks
        (START, END, "day", "last_year", (364, 0)),
        (START, END, "month", "previous", (0, 6)),
        (dt.date(2025, 7, 15), dt.date(2025, 9, 10), "month", "previous", (0, 3)),
        (START, END, "month", "last_year", (0, 12)),
    ],
)
def test_comparison_shift_keeps_weekdays_or_months_aligned(
    start: dt.date, end: dt.date, grain: q.Grain, comparison: q.Comparison, expected: Any
) -> None:
    assert q.comparison_shift(start, end, grain, comparison) == expected


@pytest.mark.parametrize(
    ("grain", "comparison", "expected"),
    [
        ("week", "previous", (PREVIOUS_START, PREVIOUS_END)),
        ("month", "previous", (dt.date(2025, 1, 1), dt.date(2025, 6, 30))),
        ("week", "last_year", (dt.date(2024, 7, 2), dt.date(2025, 1, 1))),
        ("month", "last_year", (dt.date(2024, 7, 1), dt.date(2024, 12, 31))),
    ],
)
def test_build_selection_comparison_window(
    grain: q.Grain, comparison: q.Comparison, expected: tuple[dt.date, dt.date]
) -> None:
    selection = q.build_selection(START, END, grain, comparison)
    assert (selection.comparison_start, selection.comparison_end) == expected
    assert expected[0].weekday() == START.weekday() or grain == "month"


def test_summarise_periods_cuts_weeks_and_moves_comparison_forward() -> None:
    """Window Wed 2025-07-02..Tue 2025-07-15 (two partial weeks and one whole); the comparison
    is the 14 days before, moved forward by 14 days."""
    days = pl.date_range(dt.date(2025, 6, 18), dt.date(2025, 7, 15), eager=True)
    daily = pl.DataFrame(
        {
            "date": days,
            "units_sold": [1] * 14 + [10] * 14,
            "revenue": [2.0] * 14 + [20.0] * 14,
            "stock_units": list(range(28)),
            "series_count": [2] * 28,
            "stockout_count": [1, 0] * 14,
            "promo_count": [0] * 27 + [2],
        }
    )
    selection = q.build_selection(dt.date(2025, 7, 2), dt.date(2025, 7, 15), "week", "previous")
    periods = q.summarise_periods(daily, selection)
    assert periods.select(
        "series", "period_start", "is_partial", "day_count", "units_sold", "stock_units"
    ).rows() == [
        ("current", dt.date(2025, 6, 30), True, 5, 50, 16.0),  # Wed 2 to Sun 6 July
        ("current", dt.date(2025, 7, 7), False, 7, 70, 22.0),
        ("current", dt.date(2025, 7, 14), True, 2, 20, 26.5),
        ("comparison", dt.date(2025, 6, 30), True, 5, 5, 2.0),  # Wed 18 to Sun 22 June
        ("comparison", dt.date(2025, 7, 7), False, 7, 7, 8.0),
        ("comparison", dt.date(2025, 7, 14), True, 2, 2, 12.5),
    ]
    assert periods.get_column("promo_count").to_list() == [0, 0, 2, 0, 0, 0]
    assert periods.get_column("period_end").to_list()[:3] == [
        dt.date(2025, 7, 6),
        dt.date(2025, 7, 13),
        dt.date(2025, 7, 20),
    ]


# Queries against daily_sales -----------------------------------------------------------------


def test_load_trend_current_weeks_equal_daily_sales(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    expected = expected_db.sql(
        """
        select
            date_trunc('week', date)::date as period_start,
            count(distinct date) as day_count,
            sum(units_sold) as units_sold,
            sum(revenue) as revenue,
            sum(stock_end) / count(distinct date) as stock_units,
            count(*) as series_count,
            count(*) filter (where is_stockout) as stockout_count,
            count(*) filter (where is_promo) as promo_count,
        from daily_sales
        where date between $start and $end
        group by all
        order by period_start
        """,
        params={"start": START, "end": END},
    ).pl()
    trend = q.load_trend(expected_db, q.build_selection(START, END, "week", "previous"))
    current = trend.filter(pl.col("series") == "current")
    assert current.get_column("period_start").to_list() == expected["period_start"].to_list()
    for column in ("day_count", "units_sold", "series_count", "stockout_count", "promo_count"):
        assert current[column].to_list() == expected[column].to_list(), column
    for column in ("revenue", "stock_units"):
        assert current[column].to_list() == pytest.approx(expected[column].to_list()), column
    assert current["is_partial"].to_list() == [True] + [False] * 25 + [True]


def test_load_trend_comparison_is_previous_period_moved_forward(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    expected = expected_db.sql(
        """
        select date_trunc('week', date + 189)::date as period_start, sum(units_sold) as units,
        from daily_sales
        where date between $start and $end
        group by all order by all
        """,
        params={"start": PREVIOUS_START, "end": PREVIOUS_END},
    ).fetchall()
    trend = q.load_trend(expected_db, q.build_selection(START, END, "week", "previous"))
    comparison = trend.filter(pl.col("series") == "comparison")
    assert comparison.select("period_start", "units_sold").rows() == expected


def test_load_trend_one_series_is_its_daily_rows(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    store_id, product_id = 2, 5
    expected = expected_db.sql(
        """
        select date, units_sold, stock_end::double, is_stockout::integer, is_promo::integer
        from daily_sales
        where store_id = $store and product_id = $product and date between $start and $end
        order by date
        """,
        params={"store": store_id, "product": product_id, "start": START, "end": END},
    ).fetchall()
    selection = q.build_selection(
        START, END, "day", "last_year", store_id=store_id, product_id=product_id
    )
    current = q.load_trend(expected_db, selection).filter(pl.col("series") == "current")
    assert (
        current.select(
            "period_start", "units_sold", "stock_units", "stockout_count", "promo_count"
        ).rows()
        == expected
    )
    assert current["series_count"].unique().to_list() == [1]


@pytest.mark.parametrize(
    ("filters", "where"),
    [
        ({"product_id": 7, "region": "Bretagne"}, "product_id = 7 and region = 'Bretagne'"),
        ({"store_id": 3, "category": "Dairy"}, "store_id = 3 and category = 'Dairy'"),
        ({"subcategory": "Milk"}, "subcategory = 'Milk'"),
        ({"product_id": 7}, "product_id = 7"),
    ],
)
def test_load_trend_months_follow_the_filters(
    expected_db: duckdb.DuckDBPyConnection, filters: dict[str, Any], where: str
) -> None:
    selection = q.build_selection(START, END, "month", "last_year", **filters)
    trend = q.load_trend(expected_db, selection)
    for series, start, end in (
        ("current", START, END),
        ("comparison", dt.date(2024, 7, 1), dt.date(2024, 12, 31)),
    ):
        rows = trend.filter(pl.col("series") == series)
        assert rows.height == 6
        assert rows["units_sold"].sum() == window_sum(
            expected_db, "sum(units_sold)", start, end, where
        )
        assert rows["revenue"].sum() == pytest.approx(
            window_sum(expected_db, "sum(revenue)", start, end, where)
        )


@pytest.mark.parametrize(
    ("filters", "level"),
    [
        ({}, "category"),
        ({"region": "Bretagne", "store_id": 2}, "category"),
        ({"category": "Dairy"}, "product"),
        ({"subcategory": "Milk", "store_id": 1}, "product"),
        ({"product_id": 4}, "region"),
        ({"product_id": 4, "region": "Bretagne"}, "store"),
        ({"product_id": 4, "store_id": 1}, "store"),
    ],
)
def test_breakdown_level_follows_the_drill_path(filters: dict[str, Any], level: str) -> None:
    assert q.breakdown_level(q.build_selection(START, END, "week", "previous", **filters)) == level


def expected_breakdown(
    con: duckdb.DuckDBPyConnection, key: str, label: str, where: str
) -> pl.DataFrame:
    return con.sql(
        f"""
        select
            {key}::varchar as member_key,
            any_value({label}) as member_label,
            sum(units_sold) filter (where date between $start and $end) as units_sold,
            sum(revenue) filter (where date between $start and $end) as revenue,
            count(*) filter (where date between $start and $end and is_stockout)
                as stockout_count,
            count(*) filter (where date between $start and $end) as series_count,
            sum(revenue) filter (where date between $cs and $ce) as comparison_revenue,
        from daily_sales
        join stores using (store_id)
        join products using (product_id)
        where {where}
        group by all
        having count(*) filter (where date between $start and $end) > 0
        order by revenue desc
        """,
        params={"start": START, "end": END, "cs": PREVIOUS_START, "ce": PREVIOUS_END},
    ).pl()


@pytest.mark.parametrize(
    ("filters", "key", "label", "where"),
    [
        ({}, "category", "category", "true"),
        ({"region": "Bretagne"}, "category", "category", "region = 'Bretagne'"),
        ({"category": "Dairy"}, "product_id", "product_name", "category = 'Dairy'"),
        (
            {"category": "Dairy", "store_id": 3},
            "product_id",
            "product_name",
            "category = 'Dairy' and store_id = 3",
        ),
        ({"product_id": 9}, "region", "region", "product_id = 9"),
        (
            {"product_id": 9, "store_id": 4},
            "store_id",
            "store_name",
            "product_id = 9 and region = (select region from stores where store_id = 4)",
        ),
    ],
)
def test_load_breakdown_equals_daily_sales(
    expected_db: duckdb.DuckDBPyConnection,
    filters: dict[str, Any],
    key: str,
    label: str,
    where: str,
) -> None:
    expected = expected_breakdown(expected_db, key, label, where)
    selection = q.build_selection(START, END, "week", "previous", **filters)
    df = q.load_breakdown(expected_db, selection)
    assert (
        df.select("member_key", "member_label").rows()
        == expected.select("member_key", "member_label").rows()
    )
    for column in ("units_sold", "stockout_count", "series_count"):
        assert df[column].to_list() == expected[column].to_list(), column
    for column in ("revenue", "comparison_revenue"):
        assert df[column].to_list() == pytest.approx(expected[column].to_list()), column
    assert df["member_count"].unique().to_list() == [expected.height]


def test_load_breakdown_limits_and_orders_by_measure(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    expected = expected_db.sql(
        """
        select category, sum(units_sold) from daily_sales join products using (product_id)
        where date between $start and $end group by all order by 2 desc limit 5
        """,
        params={"start": START, "end": END},
    ).fetchall()
    selection = q.build_selection(START, END, "week", "previous")
    df = q.load_breakdown(expected_db, selection, measure="units", limit=5)
    assert df.select("member_key", "units_sold").rows() == expected
    assert df["member_count"].unique().to_list() == [12]


def test_load_promotions_keep_national_and_the_region(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    product_id, region = expected_db.sql(
        """
        select product_id, min(region) from promotions
        group by product_id having count(distinct region) > 1 and count(*) > count(region)
        order by product_id limit 1
        """
    ).fetchall()[0]
    selection = q.build_selection(
        dt.date(2024, 1, 1), END, "week", "previous", product_id=product_id
    )
    everywhere = q.load_promotions(expected_db, selection, region=None)
    in_region = q.load_promotions(expected_db, selection, region=region)
    assert everywhere["promo_id"].to_list() == [
        promo_id
        for (promo_id,) in expected_db.sql(
            "select promo_id from promotions where product_id = $p order by start_date, promo_id",
            params={"p": product_id},
        ).fetchall()
    ]
    assert in_region["promo_id"].to_list() == (
        everywhere.filter(pl.col("region").is_null() | (pl.col("region") == region))[
            "promo_id"
        ].to_list()
    )
    assert 0 < in_region.height < everywhere.height


def test_load_names_of_selected_store_and_product(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    expected = expected_db.sql(
        """
        select store_name, region, product_name
        from stores cross join products where store_id = 3 and product_id = 8
        """
    ).fetchall()
    selection = q.build_selection(START, END, "week", "previous", store_id=3, product_id=8)
    assert q.load_names(expected_db, selection).rows() == expected
    nothing = q.build_selection(START, END, "week", "previous")
    assert q.load_names(expected_db, nothing).rows() == [(None, None, None)]


def test_load_holidays_lists_public_holidays_of_window(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    holidays = q.load_holidays(expected_db, q.build_selection(START, END, "week", "previous"))
    assert holidays["holiday_name"].to_list() == [
        name
        for (name,) in expected_db.sql(
            "select holiday_name from calendar where is_public_holiday "
            "and date between $start and $end order by date",
            params={"start": START, "end": END},
        ).fetchall()
    ]
    assert holidays.filter(pl.col("is_store_closed"))["date"].to_list() == [dt.date(2025, 12, 25)]


# Callbacks -----------------------------------------------------------------------------------


def test_update_trend_kpis_match_daily_sales(
    sales: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    revenue = window_sum(expected_db, "sum(revenue)", START, END)
    units = window_sum(expected_db, "sum(units_sold)", START, END)
    rate = window_sum(expected_db, "avg(is_stockout::integer)", START, END)
    _, kpis = sales.update_trend(*controls())
    assert find(kpis, sales.KPI_REVENUE_ID).children == f"{revenue:,.0f} EUR"
    assert find(kpis, sales.KPI_UNITS_ID).children == f"{units:,}"
    assert find(kpis, sales.KPI_STOCKOUT_ID).children == f"{rate:.1%}"
    assert find(kpis, sales.PERIOD_ID).children == (
        "01 Jul 2025 to 31 Dec 2025 by week, compared with 24 Dec 2024 to 25 Jun 2025 "
        "(previous period)"
    )


@pytest.mark.parametrize(
    ("compare", "start", "end", "label"),
    [
        ("previous", PREVIOUS_START, PREVIOUS_END, "previous period"),
        ("last_year", dt.date(2024, 7, 2), dt.date(2025, 1, 1), "same period last year"),
    ],
)
def test_update_trend_kpi_detail_compares_the_comparison_window(
    sales: ModuleType,
    expected_db: duckdb.DuckDBPyConnection,
    compare: str,
    start: dt.date,
    end: dt.date,
    label: str,
) -> None:
    where = "region = 'Bretagne'"
    current = window_sum(expected_db, "sum(revenue)", START, END, where)
    previous = window_sum(expected_db, "sum(revenue)", start, end, where)
    change = round((current / previous - 1) * 100, 1) + 0.0
    _, kpis = sales.update_trend(*controls(region="Bretagne", compare=compare))
    detail = find(kpis, f"{sales.KPI_REVENUE_ID}-detail")
    assert detail.children == f"{change:+.1f}% vs {label}"


def test_update_trend_kpi_detail_says_when_comparison_lacks_data(sales: ModuleType) -> None:
    """The data starts on 2024-01-01: the 28 days before 15 Jan 2024 have 14 days of data,
    those before 1 Jan 2024 none."""
    _, kpis = sales.update_trend(*controls(dates=["2024-01-15", "2024-02-11"]))
    detail = find(kpis, f"{sales.KPI_UNITS_ID}-detail").children
    assert detail.endswith(" vs previous period (which has data on 14 of its 28 days)")
    _, kpis = sales.update_trend(*controls(dates=["2024-01-01", "2024-01-28"]))
    assert find(kpis, f"{sales.KPI_UNITS_ID}-detail").children == "Nothing to compare with"


def test_update_trend_figure_bars_sum_to_window(
    sales: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    dates = ["2025-03-03", "2025-03-30"]
    units = window_sum(
        expected_db, "sum(units_sold)", dt.date(2025, 3, 3), dt.date(2025, 3, 30), "store_id = 1"
    )
    spec, _ = sales.update_trend(*controls(dates=dates, store="1", measure="units"))
    figure = go.Figure(spec)  # the callback sends a plain dict; validated here
    bars = figure.data[0]
    assert bars.name == "Units sold"
    assert len(bars.x) == 4  # four whole weeks
    assert sum(bars.y) == units
    assert figure.layout.yaxis.title.text == "Units sold (units)"
    assert figure.layout.title.subtitle.text.startswith("All products, ")


def test_update_trend_waits_for_the_second_date(sales: ModuleType) -> None:
    with pytest.raises(dash.exceptions.PreventUpdate):
        sales.update_trend(*controls(dates=["2025-03-03", None]))


def test_update_trend_single_series_marks_stockouts_and_promotions(
    sales: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    store_id, product_id, stockouts = expected_db.sql(
        """
        select store_id, product_id, count(*) filter (where is_stockout)
        from daily_sales where date between $start and $end
        group by all order by 3 desc, 1, 2 limit 1
        """,
        params={"start": START, "end": END},
    ).fetchall()[0]
    spec, _ = sales.update_trend(
        *controls(grain="day", store=str(store_id), product=str(product_id))
    )
    figure = go.Figure(spec)
    marked = next(trace for trace in figure.data if trace.name == "Stockout day")
    assert len(marked.x) == stockouts
    holidays = next(trace for trace in figure.data if trace.name == "Public holiday")
    assert len(holidays.x) == 5


def test_update_breakdown_bars_carry_level_and_key(
    sales: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    expected = expected_breakdown(expected_db, "category", "category", "true")
    figure = sales.update_breakdown(*controls())
    bars = figure.data[0]
    assert list(bars.y) == expected["member_label"].to_list()
    assert list(bars.x) == pytest.approx(expected["revenue"].to_list())
    assert [point[:2] for point in bars.customdata] == [
        ["category", key] for key in expected["member_key"].to_list()
    ]
    assert figure.layout.title.text == "Revenue, by category"


def test_update_breakdown_highlights_selected_store(
    sales: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    figure = sales.update_breakdown(*controls(product="9", store="4"))
    bars = figure.data[0]
    colors = dict(zip((point[1] for point in bars.customdata), bars.marker.color, strict=True))
    assert colors == {"4": sales_figures.SELECTED_COLOR}


@pytest.mark.parametrize(
    ("level", "key", "expected"),
    [
        ("category", "Dairy", ("Dairy", dash.no_update, dash.no_update, dash.no_update)),
        ("product", "12", (dash.no_update, "12", dash.no_update, dash.no_update)),
        ("region", "Bretagne", (dash.no_update, dash.no_update, "Bretagne", dash.no_update)),
        ("store", "3", (dash.no_update, dash.no_update, dash.no_update, "3")),
    ],
)
def test_drill_down_sets_the_clicked_level_only(
    sales: ModuleType, level: str, key: str, expected: tuple[Any, ...]
) -> None:
    click = {"points": [{"customdata": [level, key, "", 0.1], "x": 10, "y": key}]}
    assert sales.drill_down(click) == expected


@pytest.mark.parametrize(
    "click",
    [None, {}, {"points": []}, {"points": [{"x": 1}]}, {"points": [{"customdata": ["x", "y"]}]}],
)
def test_drill_down_ignores_other_clicks(sales: ModuleType, click: Any) -> None:
    with pytest.raises(dash.exceptions.PreventUpdate):
        sales.drill_down(click)


def test_download_csv_has_one_row_per_period_with_comparison(
    sales: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    download, note = sales.download_csv(1, *controls(grain="month", compare="last_year"))
    assert note == ""
    assert download["filename"] == "sales-2025-07-01-2025-12-31-month.csv"
    table = pl.read_csv(io.StringIO(download["content"]), try_parse_dates=True)
    assert table["period_start"].to_list() == [dt.date(2025, m, 1) for m in range(7, 13)]
    assert table["units_sold"].sum() == window_sum(expected_db, "sum(units_sold)", START, END)
    assert table["comparison_units_sold"].sum() == window_sum(
        expected_db, "sum(units_sold)", dt.date(2024, 7, 1), dt.date(2024, 12, 31)
    )
    assert table["revenue_eur"].sum() == pytest.approx(
        window_sum(expected_db, "sum(revenue)", START, END), abs=0.05
    )


def test_embed_builds_the_page_chart_from_the_same_query(
    sales: ModuleType, expected_db: duckdb.DuckDBPyConnection
) -> None:
    query = {"category": "Dairy", "grain": "month", "measure": "units", "compare": "last_year"}
    embedded = EMBEDS["sales-trend"].build(expected_db, query)
    shown, _ = sales.update_trend(*controls(category="Dairy", grain="month", measure="units",
                                            compare="last_year"))  # fmt: skip
    assert embedded.to_json() == go.Figure(shown).to_json()
    assert EMBEDS["sales-trend"].title == "Sales and stock over time"


def test_layout_takes_controls_from_url(sales: ModuleType) -> None:
    page = sales.layout(
        dates="2025-01-06,2025-03-30",
        region="Bretagne",
        store="2",
        category="Dairy",
        product="14",
        grain="day",
        measure="units",
        compare="last_year",
        utm_source="mail",
    )
    ids = sales.IDS
    assert find(page, ids.dates).value == ["2025-01-06", "2025-03-30"]
    assert find(page, ids.region).value == "Bretagne"
    assert find(page, ids.store).value == "2"
    assert find(page, ids.product).value == "14"
    assert find(page, ids.grain).value == "day"
    assert find(page, sales.MEASURE_ID).value == "units"
    assert find(page, sales.COMPARISON_ID).value == "last_year"


def test_layout_falls_back_on_bad_url_values(sales: ModuleType) -> None:
    page = sales.layout(dates="soon", store="<script>", grain="hour", measure="x", compare=3)
    ids = sales.IDS
    assert find(page, ids.dates).value == [None, None]
    assert find(page, ids.store).value is None
    assert find(page, ids.grain).value == "week"
    assert find(page, sales.MEASURE_ID).value == "revenue"
    assert find(page, sales.COMPARISON_ID).value == "previous"


# Figures -------------------------------------------------------------------------------------


def test_build_trend_figure_without_rows_says_so() -> None:
    empty = pl.DataFrame(schema={"series": pl.String, "period_start": pl.Date})
    figure = sales_figures.build_trend_figure(
        empty,
        measure="revenue",
        grain="week",
        labels=sales_figures.TrendLabels("t", "s", "Previous period"),
    )
    assert go.Figure(figure).layout.annotations[0].text == EMPTY_MESSAGE


def test_build_trend_figure_shades_promotions_and_draws_holidays() -> None:
    trend = pl.DataFrame(
        {
            "series": ["current", "current", "comparison"],
            "period_start": [dt.date(2025, 7, 7), dt.date(2025, 7, 14), dt.date(2025, 7, 7)],
            "period_end": [dt.date(2025, 7, 13), dt.date(2025, 7, 20), dt.date(2025, 7, 13)],
            "is_partial": [False, False, False],
            "day_count": [7, 7, 7],
            "units_sold": [10, 20, 5],
            "revenue": [100.0, 200.0, 50.0],
            "stock_units": [30.0, 0.0, 12.0],
            "series_count": [7, 7, 7],
            "stockout_count": [0, 2, 0],
            "promo_count": [0, 7, 0],
        }
    )
    promotions = pl.DataFrame(
        {
            "start_date": [dt.date(2025, 7, 14), dt.date(2025, 7, 8)],
            "end_date": [dt.date(2025, 7, 20), dt.date(2025, 7, 9)],
            "discount_pct": [0.25, 0.1],
            "promo_type": ["catalogue", "shelf"],
            "region": [None, "Bretagne"],
        }
    )
    holidays = pl.DataFrame(
        {"date": [dt.date(2025, 7, 14)], "holiday_name": ["Fête"], "is_store_closed": [False]}
    )
    spec = sales_figures.build_trend_figure(
        trend,
        measure="revenue",
        grain="week",
        labels=sales_figures.TrendLabels("t", "s", "Previous period", is_single_series=True),
        promotions=promotions,
        holidays=holidays,
    )
    figure = go.Figure(spec)
    names = [trace.name for trace in figure.data]
    assert names == [
        "Revenue",
        "Previous period",
        "Stock on hand",
        "Stockout day",
        "Out of stock (% of days)",
        "On promotion (% of days)",
        "Promotion",
        "Public holiday",
    ]
    by_name = {trace.name: trace for trace in figure.data}
    assert by_name["Stock on hand"].yaxis == "y2"
    assert list(by_name["Out of stock (% of days)"].y) == [0, 2 / 7]
    assert list(by_name["Stockout day"].customdata[0]) == [2, 7]
    assert list(by_name["Promotion"].text) == [
        "Promotion -10% (shelf), 08 Jul to 09 Jul 2025, Bretagne",
        "Promotion -25% (catalogue), 14 Jul to 20 Jul 2025, national",
    ]
    assert [list(row) for row in by_name["Revenue"].customdata] == [
        [0.0, 0.0, "<br>Promotion -10%"],
        [2 / 7, 1.0, "<br>Promotion -25%, Fête (14 Jul)"],
    ]
    assert by_name["Public holiday"].hoverinfo == "skip"  # the bars name it instead
    rects = [shape for shape in figure.layout.shapes if shape.type == "rect"]
    assert [(rect.x0, rect.x1) for rect in rects] == [
        ("2025-07-08", "2025-07-10"),
        ("2025-07-14", "2025-07-21"),
    ]
    assert [shape.type for shape in figure.layout.shapes].count("line") == 1


def test_build_breakdown_figure_says_top_n_of_all() -> None:
    df = pl.DataFrame(
        {
            "member_key": ["1", "2"],
            "member_label": ["Super A", "Hyper B with a very long name indeed, really"],
            "units_sold": [5, 3],
            "revenue": [50.0, 30.0],
            "stockout_count": [1, 0],
            "series_count": [10, 10],
            "comparison_units_sold": [4, None],
            "comparison_revenue": [40.0, None],
            "member_count": [7, 7],
        }
    )
    figure = sales_figures.build_breakdown_figure(
        df, level="store", measure="revenue", comparison="Previous period", selected="2"
    )
    bars = figure.data[0]
    assert figure.layout.title.text == "Revenue, top 2 of 7 stores"
    assert list(bars.y) == ["Super A", "Hyper B with a very long name i…"]
    assert [point[2] for point in bars.customdata] == [
        "<br>+25.0% vs previous period",
        "<br>Nothing sold in the previous period",
    ]
    assert list(bars.marker.color) == [sales_figures.MEASURE_COLOR, sales_figures.SELECTED_COLOR]


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"grain": "day", "store": "2", "product": "13", "dates": ["2024-01-01", "2025-12-31"]},
        {"grain": "month", "product": "16", "measure": "units", "compare": "last_year"},
    ],
)
def test_figures_pass_plotly_validation(sales: ModuleType, values: dict[str, Any]) -> None:
    """The figures are built without plotly's validation (for speed): rebuilding them with it
    must accept every property."""
    trend, _ = sales.update_trend(*controls(**values))
    breakdown = sales.update_breakdown(*controls(**values))
    for spec in (trend, breakdown.to_dict()):
        rebuilt = go.Figure(spec)
        assert len(rebuilt.data) == len(spec["data"])
    assert any(shape["type"] == "rect" for shape in trend["layout"]["shapes"]) == (
        "product" in values
    )


# In a browser --------------------------------------------------------------------------------

WIDE = {"width": 1400, "height": 900}
NARROW = {"width": 390, "height": 844}
LOAD_TIMEOUT_MS = 20_000


def wait_for_sales(page: Page) -> None:
    """Until the KPIs and both charts are drawn (the first load fetches plotly.js: allow for a
    busy machine)."""
    expect(page.locator("#sales-kpi-revenue")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    for graph in ("#sales-trend", "#sales-breakdown"):
        expect(page.locator(f"{graph} .main-svg").first).to_be_visible(timeout=LOAD_TIMEOUT_MS)


def trace_lengths(page: Page, graph: str) -> list[int]:
    lengths: list[int] = page.evaluate(
        f"""() => document.querySelector('#{graph} .js-plotly-plot')._fullData
            .map(trace => (trace.x || []).length)"""
    )
    return lengths


def url_query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


@pytest.mark.browser
def test_sales_page_default_view(
    page: Page,
    live_server: str,
    console_errors: list[str],
    expected_db: duckdb.DuckDBPyConnection,
    screenshot_dir: Path,
) -> None:
    revenue = window_sum(expected_db, "sum(revenue)", START, END)
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server}sales")
    wait_for_sales(page)
    expect(page.locator("#sales-kpi-revenue")).to_have_text(f"{revenue:,.0f} EUR")
    expect(page).to_have_title("shelfsight - Sales & stock")
    assert trace_lengths(page, "sales-trend")[0] == 27  # 26 weeks and two partial ones
    page.screenshot(path=screenshot_dir / "sales-1400x900.png", full_page=True)
    assert console_errors == []


@pytest.mark.browser
def test_sales_grain_change_updates_chart_and_url(
    page: Page, live_server: str, console_errors: list[str]
) -> None:
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server}sales")
    wait_for_sales(page)
    page.locator("#sales-grain").get_by_text("Month", exact=True).click()
    expect(page.locator("#sales-period")).to_contain_text("by month")
    page.wait_for_function(
        """() => document.querySelector('#sales-trend .js-plotly-plot')._fullData[0].x.length
            === 6"""
    )
    assert url_query(page)["grain"] == ["month"]
    assert console_errors == []


@pytest.mark.browser
def test_sales_date_preset_sets_window_and_url(
    page: Page,
    live_server: str,
    console_errors: list[str],
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    units = window_sum(expected_db, "sum(units_sold)", dt.date(2025, 12, 4), END)
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server}sales")
    wait_for_sales(page)
    page.locator("#sales-dates").click()
    page.get_by_text("Last 4 weeks", exact=True).click()
    expect(page.locator("#sales-kpi-units")).to_have_text(f"{units:,}")
    expect(page.locator("#sales-period")).to_contain_text("04 Dec 2025 to 31 Dec 2025 by week")
    assert url_query(page)["dates"] == ["2025-12-04,2025-12-31"]
    assert console_errors == []


@pytest.mark.browser
def test_sales_breakdown_click_drills_into_category(
    page: Page,
    live_server: str,
    console_errors: list[str],
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    top = expected_breakdown(expected_db, "category", "category", "true")["member_key"][0]
    revenue = window_sum(expected_db, "sum(revenue)", START, END, f"category = '{top}'")
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server}sales?grain=month")
    wait_for_sales(page)
    bar = page.locator("#sales-breakdown .bars .point path").first
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("#sales-category")).to_have_value(top)
    expect(page.locator("#sales-kpi-revenue")).to_have_text(f"{revenue:,.0f} EUR")
    expect(page.locator("#sales-breakdown .gtitle")).to_have_text("Revenue, by product")
    query = url_query(page)
    assert (query["category"], query["grain"]) == ([top], ["month"])
    assert console_errors == []


@pytest.mark.browser
def test_sales_url_round_trip(
    page: Page,
    live_server: str,
    console_errors: list[str],
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    store_name = scalar(expected_db, "select store_name from stores where store_id = 2")
    region = scalar(expected_db, "select region from stores where store_id = 2")
    query = {
        "dates": "2025-01-06,2025-03-30",
        "region": region,
        "store": "2",
        "category": "Dairy",
        "grain": "day",
        "measure": "units",
        "compare": "last_year",
    }
    units = window_sum(
        expected_db,
        "sum(units_sold)",
        dt.date(2025, 1, 6),
        dt.date(2025, 3, 30),
        "store_id = 2 and category = 'Dairy'",
    )
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server}sales?{urlencode(query)}")
    wait_for_sales(page)
    expect(page.locator("#sales-region")).to_have_value(region)
    expect(page.locator("#sales-store")).to_have_value(store_name)
    expect(page.locator("#sales-category")).to_have_value("Dairy")
    expect(page.locator("#sales-dates")).to_have_text("6 Jan 2025 \u2013 30 Mar 2025")
    expect(page.locator("#sales-kpi-units")).to_have_text(f"{units:,}")
    assert trace_lengths(page, "sales-trend")[0] == 84
    expect(page.locator("#sales-kpi-units-detail")).to_contain_text("same period last year")
    assert console_errors == []


@pytest.mark.browser
def test_sales_fits_a_phone_screen(
    page: Page, live_server: str, console_errors: list[str], screenshot_dir: Path
) -> None:
    page.set_viewport_size(NARROW)
    page.goto(f"{live_server}sales?category=Dairy&grain=month")
    wait_for_sales(page)
    page.screenshot(path=screenshot_dir / "sales-390x844.png", full_page=True)
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0
    assert console_errors == []


@pytest.mark.browser
def test_sales_without_data_explains_in_page(
    page: Page, console_errors: list[str], tmp_path: Path
) -> None:
    with serve(Settings(db_path=tmp_path / "absent.duckdb")) as url:
        page.goto(f"{url}sales")
        expect(page.locator("#sales-kpis .data-alert")).to_contain_text(
            MISSING_MESSAGE, timeout=LOAD_TIMEOUT_MS
        )
        expect(page.locator("#sales-trend")).to_contain_text(MISSING_MESSAGE)
        expect(page.locator("#sales-breakdown")).to_contain_text(MISSING_MESSAGE)
        assert "Traceback" not in page.content()
    assert console_errors == []
