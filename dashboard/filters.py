"""A reusable filter bar: dates, region, store, category, subcategory, product and grain.

A page builds it with its own id prefix and registers its callbacks once, at module level:

    IDS = filters.FilterIds("sales")
    def layout(**query):
        state = filters.FilterState.from_query(query)
        ... filters.build_filter_bar(IDS, state) ...
    filters.register_filter_callbacks(IDS)

The drop-downs depend on each other: a region narrows the stores, a category the subcategories
and products, a subcategory the products; a value that falls outside its narrowed list is
cleared. Every control is mirrored into the URL (urlstate.sync_to_url) under the keys of
`FilterState.to_query`, and `FilterState.from_query` reads them back (bad values mean "all").
No dates in the URL means the last six months of data, whatever the data's last date is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, get_args

import dash_mantine_components as dmc
import polars as pl
from dash import Input, Output, State, callback, clientside_callback, dcc
from dash.development.base_component import Component

from dashboard import queries, urlstate
from dashboard.db import current_database
from dashboard.queries import sales as sales_queries
from dashboard.queries.sales import Grain

GRAINS: Final[tuple[Grain, ...]] = get_args(Grain)
DEFAULT_GRAIN: Final[Grain] = "week"
GRAIN_LABELS: Final[dict[Grain, str]] = {"day": "Day", "week": "Week", "month": "Month"}
DATE_FORMAT: Final = "D MMM YYYY"
DEFAULT_DATES_LABEL: Final = "Last 6 months of data"
Option = dict[str, str]
# The picker's value as the URL keeps it: "start,end" once both dates are picked, else null
# (a half-picked range leaves the URL as it was).
_DATES_QUERY_JS: Final = """
function (value) {
    if (!Array.isArray(value) || value.length !== 2) { return null; }
    if (!value[0] && !value[1]) { return null; }
    if (!value[0] || !value[1]) { return window.dash_clientside.no_update; }
    return String(value[0]).slice(0, 10) + "," + String(value[1]).slice(0, 10);
}
"""


@dataclass(frozen=True)
class FilterIds:
    """The component ids of one page's filter bar: "<prefix>-dates", "<prefix>-region", ..."""

    prefix: str

    @property
    def dates(self) -> str:
        return f"{self.prefix}-dates"

    @property
    def dates_query(self) -> str:
        """A store holding the dates as the URL shows them ("start,end") or null."""
        return f"{self.prefix}-dates-query"

    @property
    def grain(self) -> str:
        return f"{self.prefix}-grain"

    @property
    def region(self) -> str:
        return f"{self.prefix}-region"

    @property
    def store(self) -> str:
        return f"{self.prefix}-store"

    @property
    def category(self) -> str:
        return f"{self.prefix}-category"

    @property
    def subcategory(self) -> str:
        return f"{self.prefix}-subcategory"

    @property
    def product(self) -> str:
        return f"{self.prefix}-product"

    def url_controls(
        self, *, has_grain: bool = True, has_dates: bool = True
    ) -> dict[str, tuple[str, str]]:
        """{URL key: (component id, property)} for urlstate.sync_to_url (without the grain or
        the dates for a bar built without them)."""
        controls = {
            "dates": (self.dates_query, "data"),
            "region": (self.region, "value"),
            "store": (self.store, "value"),
            "category": (self.category, "value"),
            "subcategory": (self.subcategory, "value"),
            "product": (self.product, "value"),
            "grain": (self.grain, "value"),
        }
        if not has_grain:
            del controls["grain"]
        if not has_dates:
            del controls["dates"]
        return controls


@dataclass(frozen=True)
class FilterState:
    """The filters as values; None means "all" (or, for the dates, the last six months)."""

    start: dt.date | None = None
    end: dt.date | None = None
    region: str | None = None
    store_id: int | None = None
    category: str | None = None
    subcategory: str | None = None
    product_id: int | None = None
    grain: Grain = DEFAULT_GRAIN

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> FilterState:
        """From URL query parameters (or the controls' values under the same keys)."""
        start, end = parse_dates(query.get("dates"))
        return cls(
            start=start,
            end=end,
            region=urlstate.parse_text(query.get("region")),
            store_id=urlstate.parse_int(query.get("store")),
            category=urlstate.parse_text(query.get("category")),
            subcategory=urlstate.parse_text(query.get("subcategory")),
            product_id=urlstate.parse_int(query.get("product")),
            grain=urlstate.parse_choice(query.get("grain"), GRAINS, DEFAULT_GRAIN),
        )

    def to_query(self) -> dict[str, str]:
        """The URL query parameters that restore this state (unset filters left out)."""
        values = {
            "dates": self.dates_value,
            "region": self.region,
            "store": _text(self.store_id),
            "category": self.category,
            "subcategory": self.subcategory,
            "product": _text(self.product_id),
            "grain": self.grain,
        }
        return {key: value for key, value in values.items() if value is not None}

    @property
    def dates_value(self) -> str | None:
        """The dates as the URL holds them: "2025-07-01,2025-12-31"."""
        if self.start is None or self.end is None:
            return None
        return f"{self.start.isoformat()},{self.end.isoformat()}"

    def window(self, first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
        """The chosen dates, or the last six months of data between `first` and `last`."""
        if self.start is not None and self.end is not None:
            return self.start, self.end
        return sales_queries.default_window(first, last)


def parse_dates(value: Any) -> tuple[dt.date | None, dt.date | None]:
    """ "2025-07-01,2025-12-31" or ["2025-07-01", "2025-12-31"] as (start, end), in order;
    (None, None) unless both dates parse."""
    parts: Sequence[Any]
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, list | tuple):
        parts = value
    else:
        return None, None
    if len(parts) != 2:
        return None, None
    start, end = (urlstate.parse_date(part) for part in parts)
    if start is None or end is None:
        return None, None
    return min(start, end), max(start, end)


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def is_partial_range(value: Any) -> bool:
    """True while a range is half picked: one date chosen, the other not yet."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        return False
    return (value[0] is None) != (value[1] is None)


def build_filter_bar(
    ids: FilterIds, state: FilterState, *, has_grain: bool = True, has_dates: bool = True
) -> Component:
    """The controls, set from `state`; option lists and date bounds come from callbacks. A page
    whose data has no grain to choose (daily only) leaves the grain control out, one of a
    single day (scores of the last day) the dates."""
    wide = {"base": "100%", "xs": 220}
    dates = [
        dmc.Box(  # the picker ignores a responsive `w`; its box takes it
            dmc.DatePickerInput(
                id=ids.dates,
                type="range",
                label="Dates",
                placeholder=DEFAULT_DATES_LABEL,
                value=[_iso(state.start), _iso(state.end)],
                valueFormat=DATE_FORMAT,
                clearable=True,
                allowSingleDateInRange=True,
                firstDayOfWeek=1,
                w="100%",
            ),
            w={"base": "100%", "xs": 260},
        ),
        dcc.Store(id=ids.dates_query, data=state.dates_value),
    ]
    selects = [
        *(dates if has_dates else []),
        _select(ids.region, "Region", "All regions", state.region, wide),
        _select(ids.store, "Store", "All stores", _text(state.store_id), wide, searchable=True),
        _select(ids.category, "Category", "All categories", state.category, wide),
        _select(ids.subcategory, "Subcategory", "All subcategories", state.subcategory, wide),
        _select(
            ids.product,
            "Product",
            "All products",
            _text(state.product_id),
            {"base": "100%", "xs": 260},
            searchable=True,
        ),
    ]
    if has_grain:
        selects.append(
            build_labelled(
                "Grain",
                dmc.SegmentedControl(
                    id=ids.grain,
                    value=state.grain,
                    data=[{"value": grain, "label": GRAIN_LABELS[grain]} for grain in GRAINS],
                ),
            )
        )
    bar: Component = dmc.Group(
        selects,
        gap="sm",
        align="flex-end",
        className="filter-bar",
    )
    return bar


def build_labelled(label: str, control: Component) -> Component:
    """A control under a label styled like the drop-downs' labels (a SegmentedControl has none)."""
    stack: Component = dmc.Stack([dmc.Text(label, size="sm", fw=500, lh=1.55), control], gap=1)
    return stack


def _select(
    component_id: str,
    label: str,
    placeholder: str,
    value: str | None,
    width: Mapping[str, Any],
    *,
    searchable: bool = False,
) -> Component:
    select: Component = dmc.Select(
        id=component_id,
        label=label,
        placeholder=placeholder,
        value=value,
        data=[],
        clearable=True,
        searchable=searchable,
        nothingFoundMessage="Nothing matches",
        w=dict(width),
    )
    return select


def register_filter_callbacks(
    ids: FilterIds, *, has_grain: bool = True, has_dates: bool = True
) -> None:
    """The option lists, the date bounds and the URL mirror of one filter bar (`has_grain` and
    `has_dates` as the bar was built)."""
    if has_dates:
        callback(
            Output(ids.dates, "minDate"),
            Output(ids.dates, "maxDate"),
            Output(ids.dates, "presets"),
            Input(ids.dates, "id"),
        )(update_date_bounds)
        clientside_callback(
            _DATES_QUERY_JS, Output(ids.dates_query, "data"), Input(ids.dates, "value")
        )
    callback(
        Output(ids.region, "data"),
        Output(ids.store, "data"),
        Output(ids.store, "value"),
        Input(ids.region, "value"),
        State(ids.store, "value"),
    )(update_store_options)
    callback(
        Output(ids.category, "data"),
        Output(ids.subcategory, "data"),
        Output(ids.subcategory, "value"),
        Output(ids.product, "data"),
        Output(ids.product, "value"),
        Input(ids.category, "value"),
        Input(ids.subcategory, "value"),
        State(ids.product, "value"),
    )(update_product_options)
    urlstate.sync_to_url(ids.url_controls(has_grain=has_grain, has_dates=has_dates))


def update_date_bounds(_: Any) -> tuple[str | None, str | None, list[dict[str, Any]]]:
    """The first and last dates of data, and presets counted back from the last."""
    with current_database().cursor() as cur:
        bounds = sales_queries.load_date_bounds(cur).row(0, named=True)
    first, last = bounds["first_date"], bounds["last_date"]
    if first is None or last is None:
        return None, None, []
    return first.isoformat(), last.isoformat(), build_date_presets(first, last)


def build_date_presets(first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """Ranges ending at the last date of data (each starting no earlier than the first)."""

    def back(days: int = 0, months: int = 0) -> str:
        start = sales_queries.add_months(last, -months) - dt.timedelta(days=days)
        return max(start + dt.timedelta(days=1), first).isoformat()

    ranges = [
        ("Last 4 weeks", back(days=28)),
        ("Last 13 weeks", back(days=91)),
        ("Last 6 months", back(months=6)),
        ("Last 12 months", back(months=12)),
        ("All data", first.isoformat()),
    ]
    return [{"value": [start, last.isoformat()], "label": label} for label, start in ranges]


def update_store_options(
    region: str | None, store: str | None
) -> tuple[list[Option], list[Option], str | None]:
    """Regions, the stores of the chosen region, and the store kept only if it is one of them
    or no store at all (see `keep_unknown`)."""
    with current_database().cursor() as cur:
        regions = queries.load_regions(cur)
        stores = queries.load_stores(cur, region=region)
        everywhere = stores if region is None else queries.load_stores(cur, region=None)
    kept = keep_value(store, stores, "store_id")
    unknown = None if kept else keep_unknown(store, everywhere, "store_id")
    return (
        build_options(regions, "region", "region"),
        build_options(stores, "store_id", "store_name") + unknown_option(unknown, "store"),
        kept or unknown,
    )


def update_product_options(
    category: str | None, subcategory: str | None, product: str | None
) -> tuple[list[Option], list[Option], str | None, list[Option], str | None]:
    """Categories, the chosen category's subcategories, their products; a subcategory or a
    product outside the narrowed lists is cleared."""
    with current_database().cursor() as cur:
        pairs = sales_queries.load_categories(cur)
        narrowed = pairs if category is None else pairs.filter(pl.col("category") == category)
        subcategories = narrowed.unique("subcategory", keep="first", maintain_order=True)
        subcategory = keep_value(subcategory, subcategories, "subcategory")
        products = sales_queries.load_products(cur, category=category, subcategory=subcategory)
        narrowed_products = category is not None or subcategory is not None
        every_product = (
            sales_queries.load_products(cur, category=None, subcategory=None)
            if narrowed_products
            else products
        )
    categories = pairs.unique("category", keep="first", maintain_order=True)
    kept = keep_value(product, products, "product_id")
    unknown = None if kept else keep_unknown(product, every_product, "product_id")
    return (
        build_options(categories, "category", "category"),
        build_options(subcategories, "subcategory", "subcategory"),
        subcategory,
        build_options(products, "product_id", "product_name") + unknown_option(unknown, "product"),
        kept or unknown,
    )


def build_options(df: pl.DataFrame, value: str, label: str) -> list[Option]:
    """Select options from two columns of `df`, in its order (values as text)."""
    values, labels = df.get_column(value).to_list(), df.get_column(label).to_list()
    return [
        {"value": str(row_value), "label": str(row_label)}
        for row_value, row_label in zip(values, labels, strict=True)
    ]


def keep_unknown(value: str | None, known: pl.DataFrame, column: str) -> str | None:
    """An integer id that is none of `known[column]` (normalised), else None. A URL naming a
    store or product that does not exist keeps it, so that the page says so ("There is no
    store 999") instead of silently showing everything; one outside a narrowing is cleared."""
    number = urlstate.parse_int(value) if value is not None else None
    if number is None or number in set(known.get_column(column).to_list()):
        return None
    return str(number)


def unknown_option(value: str | None, noun: str) -> list[Option]:
    """The option that lets a drop-down hold an unknown id (the component would clear a value
    it has no option for), labelled as unknown."""
    return [] if value is None else [{"value": value, "label": f"Unknown {noun} {value}"}]


def keep_value(value: str | None, df: pl.DataFrame, column: str) -> str | None:
    """`value` (normalised: "03" -> "3") if it is one of `df[column]`, else None."""
    if value is None:
        return None
    allowed = {str(item): str(item) for item in df.get_column(column).to_list()}
    if df.schema[column].is_integer():
        number = urlstate.parse_int(value)
        return allowed.get(str(number)) if number is not None else None
    return allowed.get(value)
