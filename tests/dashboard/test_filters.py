"""The reusable filter bar: its state from and to the URL, its dependent option lists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import duckdb
import polars as pl
import pytest
from dash import Dash, html
from dash.development.base_component import Component

from dashboard import filters
from dashboard.filters import FilterIds, FilterState


@pytest.fixture
def in_app(app: Dash) -> Iterator[None]:
    """Callbacks run inside the app's context (they read its database)."""
    with app.server.app_context():
        yield


def find(tree: Component, component_id: str) -> Component:
    found: Component = html.Div(tree)[component_id]
    return found


FULL_QUERY = {
    "dates": "2025-03-01,2025-05-31",
    "region": "Bretagne",
    "store": "2",
    "category": "Dairy",
    "subcategory": "Milk",
    "product": "14",
    "grain": "month",
}


def test_from_query_without_parameters_is_everything_by_week() -> None:
    assert FilterState.from_query({}) == FilterState(
        start=None,
        end=None,
        region=None,
        store_id=None,
        category=None,
        subcategory=None,
        product_id=None,
        grain="week",
    )


def test_from_query_reads_every_key() -> None:
    assert FilterState.from_query(FULL_QUERY) == FilterState(
        start=dt.date(2025, 3, 1),
        end=dt.date(2025, 5, 31),
        region="Bretagne",
        store_id=2,
        category="Dairy",
        subcategory="Milk",
        product_id=14,
        grain="month",
    )


def test_to_query_round_trips_and_leaves_unset_filters_out() -> None:
    state = FilterState.from_query(FULL_QUERY)
    assert state.to_query() == FULL_QUERY
    assert FilterState.from_query(state.to_query()) == state
    assert FilterState(grain="day").to_query() == {"grain": "day"}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("dates", "2025-13-01,2025-05-31"),
        ("dates", "2025-03-01"),
        ("dates", "yesterday,today"),
        ("store", "2; drop table stores"),
        ("store", "-1"),
        ("product", "1e3"),
        ("grain", "year"),
        ("region", " "),
        ("category", "x" * 500),
    ],
)
def test_from_query_falls_back_to_default_on_bad_value(key: str, value: str) -> None:
    state = FilterState.from_query({key: value})
    assert state == FilterState()


def test_from_query_orders_reversed_dates_and_accepts_a_list() -> None:
    assert filters.parse_dates("2025-05-31,2025-03-01") == (
        dt.date(2025, 3, 1),
        dt.date(2025, 5, 31),
    )
    assert filters.parse_dates(["2025-03-01", "2025-05-31T00:00:00"]) == (
        dt.date(2025, 3, 1),
        dt.date(2025, 5, 31),
    )
    assert filters.parse_dates([None, None]) == (None, None)


def test_window_defaults_to_last_six_months_of_data() -> None:
    first, last = dt.date(2024, 1, 1), dt.date(2025, 12, 31)
    assert FilterState().window(first, last) == (dt.date(2025, 7, 1), dt.date(2025, 12, 31))
    chosen = FilterState(start=dt.date(2024, 2, 1), end=dt.date(2024, 2, 29))
    assert chosen.window(first, last) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    short = FilterState().window(dt.date(2025, 10, 1), last)
    assert short == (dt.date(2025, 10, 1), last)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["2025-01-01", None], True),
        ([None, "2025-01-01"], True),
        (["2025-01-01", "2025-01-02"], False),
        ([None, None], False),
        (None, False),
    ],
)
def test_is_partial_range(value: object, expected: bool) -> None:
    assert filters.is_partial_range(value) is expected


def test_ids_are_prefixed_by_page() -> None:
    ids = FilterIds("promo")
    assert [ids.dates, ids.region, ids.store, ids.category, ids.subcategory, ids.product] == [
        "promo-dates",
        "promo-region",
        "promo-store",
        "promo-category",
        "promo-subcategory",
        "promo-product",
    ]
    assert ids.grain == "promo-grain"
    assert set(ids.url_controls()) == set(FULL_QUERY)


def test_build_filter_bar_restores_state() -> None:
    ids = FilterIds("sales")
    bar = filters.build_filter_bar(ids, FilterState.from_query(FULL_QUERY))
    assert find(bar, ids.dates).value == ["2025-03-01", "2025-05-31"]
    assert find(bar, ids.dates_query).data == "2025-03-01,2025-05-31"
    assert [find(bar, i).value for i in (ids.region, ids.store, ids.category)] == [
        "Bretagne",
        "2",
        "Dairy",
    ]
    assert [find(bar, i).value for i in (ids.subcategory, ids.product, ids.grain)] == [
        "Milk",
        "14",
        "month",
    ]


def test_build_filter_bar_without_dates_shows_default_placeholder() -> None:
    ids = FilterIds("sales")
    picker = find(filters.build_filter_bar(ids, FilterState()), ids.dates)
    assert picker.value == [None, None]
    assert picker.placeholder == "Last 6 months of data"


@pytest.mark.usefixtures("in_app")
def test_update_store_options_narrows_stores_to_region(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    stores = expected_db.sql("select store_id, store_name, region from stores").fetchall()
    region = stores[0][2]
    regions, store_options, store = filters.update_store_options(region, None)
    assert regions == [{"value": r, "label": r} for r in sorted({s[2] for s in stores})]
    assert store_options == [
        {"value": str(s[0]), "label": s[1]}
        for s in sorted(stores, key=lambda s: (s[1], s[0]))
        if s[2] == region
    ]
    assert store is None


@pytest.mark.usefixtures("in_app")
def test_update_store_options_keeps_store_only_within_region(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    store_id, region, other_region = expected_db.sql(
        """
        select stores.store_id, stores.region, other.region
        from stores cross join stores as other where other.region <> stores.region limit 1
        """
    ).fetchall()[0]
    assert filters.update_store_options(region, f"0{store_id}")[2] == str(store_id)
    assert filters.update_store_options(other_region, str(store_id))[2] is None


@pytest.mark.usefixtures("in_app")
def test_update_product_options_narrows_by_category(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    categories = expected_db.sql(
        "select distinct category from products order by category"
    ).fetchall()
    subcategories = expected_db.sql(
        "select subcategory from products where category = 'Dairy' group by all order by all"
    ).fetchall()
    products = expected_db.sql(
        "select product_id, product_name from products where category = 'Dairy' "
        "order by product_name, product_id"
    ).fetchall()
    result = filters.update_product_options("Dairy", None, None)
    assert result[0] == [{"value": c, "label": c} for (c,) in categories]
    assert result[1] == [{"value": s, "label": s} for (s,) in subcategories]
    assert result[2] is None
    assert result[3] == [{"value": str(i), "label": n} for i, n in products]
    assert result[4] is None


@pytest.mark.usefixtures("in_app")
def test_update_product_options_narrows_by_subcategory_and_keeps_its_product(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    product_id, category, subcategory = expected_db.sql(
        "select product_id, category, subcategory from products order by product_id limit 1"
    ).fetchall()[0]
    result = filters.update_product_options(category, subcategory, str(product_id))
    assert result[2] == subcategory
    assert [option["value"] for option in result[3]] == [
        str(i)
        for (i,) in expected_db.sql(
            "select product_id from products where subcategory = $s "
            "order by product_name, product_id",
            params={"s": subcategory},
        ).fetchall()
    ]
    assert result[4] == str(product_id)


@pytest.mark.usefixtures("in_app")
def test_update_product_options_clears_values_outside_the_category(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    product_id, subcategory = expected_db.sql(
        "select product_id, subcategory from products where category <> 'Dairy' limit 1"
    ).fetchall()[0]
    result = filters.update_product_options("Dairy", subcategory, str(product_id))
    assert result[2] is None
    assert result[4] is None


@pytest.mark.usefixtures("in_app")
def test_update_date_bounds_gives_data_bounds_and_presets(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    first, last = expected_db.sql("select min(date), max(date) from daily_sales").fetchall()[0]
    min_date, max_date, presets = filters.update_date_bounds(None)
    assert (min_date, max_date) == (first.isoformat(), last.isoformat())
    by_label = {preset["label"]: preset["value"] for preset in presets}
    assert by_label["Last 6 months"] == ["2025-07-01", "2025-12-31"]
    assert by_label["Last 4 weeks"] == ["2025-12-04", "2025-12-31"]
    assert by_label["All data"] == [first.isoformat(), last.isoformat()]


def test_keep_value_normalises_integer_ids() -> None:
    df = pl.DataFrame({"store_id": [3, 4]})
    assert [filters.keep_value(v, df, "store_id") for v in ("03", "4", "5", "x", None)] == [
        "3",
        "4",
        None,
        None,
        None,
    ]


@pytest.mark.usefixtures("in_app")
def test_unknown_ids_are_kept_so_the_page_can_say_so(
    expected_db: duckdb.DuckDBPyConnection,
) -> None:
    """A store or product that exists nowhere stays selected (the page then says "There is no
    store 999"); one that exists but lies outside the narrowing is cleared."""
    region, other_store = expected_db.sql(
        """
        select a.region, min(b.store_id)
        from stores a join stores b on a.region <> b.region
        group by a.region order by a.region limit 1
        """
    ).fetchall()[0]
    _, options, kept = filters.update_store_options(None, "0999")
    assert kept == "999"
    assert options[-1] == {"value": "999", "label": "Unknown store 999"}
    assert filters.update_store_options(None, None)[1] == options[:-1]
    assert filters.update_store_options(region, "999")[2] == "999"
    assert filters.update_store_options(region, str(other_store))[2] is None
    assert filters.update_product_options(None, None, "99999")[4] == "99999"
    assert filters.update_product_options("Dairy", None, "99999")[4] == "99999"
    outside = expected_db.sql(
        "select min(product_id) from products where category <> 'Dairy'"
    ).fetchall()[0][0]
    assert filters.update_product_options("Dairy", None, str(outside))[4] is None
    assert filters.keep_unknown("x", pl.DataFrame({"store_id": [1]}), "store_id") is None
