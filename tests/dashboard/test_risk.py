"""The Stockout risk page: its callbacks called as functions over the scored tiny database
(`scored_db`: `shelfsight train` and `shelfsight predict` at a 95% cycle service level), checked
against SQL over the tables those commands wrote; the unscored `tiny_db` for the empty state.
"""

from __future__ import annotations

import importlib
import io
import itertools
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import dash
import duckdb
import plotly.graph_objects as go
import polars as pl
import pytest
from dash import Dash, html
from dash.development.base_component import Component

from dashboard import components
from dashboard.app import create_app
from dashboard.db import CONNECTION_CONFIG
from dashboard.embeds import EMBEDS
from dashboard.settings import Settings
from tests.dashboard.support import close_database

NOT_SCORED = "No stockout scores yet: run 'shelfsight train' then 'shelfsight predict'."
ALL = (None, None, None, None, None)  # region, store, category, subcategory, product
STORED = (0.95, "cycle")  # what `shelfsight predict` used
LEVELS = (0.5, 0.8, 0.9, 0.95, 0.99, 0.995)


@pytest.fixture(scope="module")
def scored_app(scored_db: Path) -> Iterator[Dash]:
    app = create_app(Settings(db_path=scored_db))
    yield app
    close_database(app)


@pytest.fixture(scope="module")
def risk(scored_app: Dash) -> Iterator[ModuleType]:
    """The page module inside the scored app's context."""
    with scored_app.server.app_context():
        yield importlib.import_module("dashboard.pages.risk")


@pytest.fixture(scope="module")
def con(scored_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(scored_db), read_only=True, config=CONNECTION_CONFIG) as con:
        yield con


def sql(con: duckdb.DuckDBPyConnection, query: str, **params: Any) -> pl.DataFrame:
    frame: pl.DataFrame = con.sql(query, params=params or None).pl()
    return frame


def find(tree: Component | list[Component], component_id: str) -> Component:
    root = html.Div(tree) if isinstance(tree, list) else tree
    found: Component = root[component_id]
    return found


def texts(tree: Any) -> list[str]:
    """Every string in a component tree, depth first."""
    if isinstance(tree, str):
        return [tree]
    if isinstance(tree, list | tuple):
        return [text for item in tree for text in texts(item)]
    children = getattr(tree, "children", None)
    return [] if children is None else texts(children)


def cells(tree: Any) -> list[list[str]]:
    """The body rows of the first table in a component tree, as cell texts."""
    rows: list[list[str]] = []
    for item in tree._traverse():
        if type(item).__name__ == "TableTbody":
            for row in item.children:
                rows.append([" ".join(texts(cell)) for cell in row.children])
            return rows
    return rows


def row_ids(rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return [(row["store_id"], row["product_id"]) for row in rows]


def grid(risk: ModuleType, *values: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = risk.update_risk(*values)[2]
    return rows


# The grid -------------------------------------------------------------------------------------


def test_update_risk_rows_follow_the_stored_ranking(
    risk: ModuleType, con: duckdb.DuckDBPyConnection
) -> None:
    rows = grid(risk, *ALL, *STORED)
    expected = sql(con, "select store_id, product_id, risk_rank from stockout_risk order by 3")
    assert row_ids(rows) == list(expected.select("store_id", "product_id").iter_rows())
    assert [row["risk_rank"] for row in rows] == expected["risk_rank"].to_list()
    assert [row["id"] for row in rows[:1]] == [f"{rows[0]['store_id']}-{rows[0]['product_id']}"]


def test_update_risk_filters_rows_in_sql(risk: ModuleType, con: duckdb.DuckDBPyConnection) -> None:
    expected = sql(
        con,
        """select risk.store_id, risk.product_id from stockout_risk as risk
        inner join stores using (store_id) inner join products using (product_id)
        where stores.region = 'Bretagne' and products.category = 'Dairy'
        order by risk.risk_rank""",
    )
    rows = grid(risk, "Bretagne", None, "Dairy", None, None, *STORED)
    assert row_ids(rows) == list(expected.iter_rows())
    assert 0 < len(rows) < 36


def test_update_risk_at_the_stored_level_reproduces_the_stored_orders(
    risk: ModuleType, con: duckdb.DuckDBPyConnection
) -> None:
    stored = sql(con, "select store_id, product_id, suggested_order from reorder_suggestions")
    rows = grid(risk, *ALL, *STORED)
    assert {ids: row["suggested_order"] for ids, row in zip(row_ids(rows), rows, strict=True)} == {
        (s, p): order for s, p, order in stored.iter_rows()
    }
    assert stored["suggested_order"].sum() > 0


@pytest.mark.parametrize("kind", ["cycle", "fill_rate"])
def test_a_higher_service_level_never_lowers_a_suggestion(risk: ModuleType, kind: str) -> None:
    orders = [
        {ids: row["suggested_order"] for ids, row in zip(row_ids(rows), rows, strict=True)}
        for rows in (grid(risk, *ALL, level, kind) for level in LEVELS)
    ]
    for lower, higher in itertools.pairwise(orders):
        assert all(higher[ids] >= lower[ids] for ids in lower)
    assert sum(orders[-1].values()) > sum(orders[0].values())


def test_update_risk_cuts_the_grid_to_the_highest_risks(
    risk: ModuleType, con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(risk, "MAX_ROWS", 10)
    _, _, rows, note, _ = risk.update_risk(*ALL, *STORED)
    expected = sql(con, "select store_id, product_id from stockout_risk order by risk_rank")
    total = expected.height
    assert row_ids(rows) == list(expected.head(10).iter_rows())
    assert note == f"10 highest of {total:,}; filter to narrow."


# KPIs, replay, CSV ----------------------------------------------------------------------------


@pytest.mark.parametrize(("region", "level"), [(None, 0.95), ("Grand Est", 0.99)])
def test_kpis_equal_sql_sums(
    risk: ModuleType, con: duckdb.DuckDBPyConnection, region: str | None, level: float
) -> None:
    kpis = risk.update_risk(region, None, None, None, None, level, "cycle")[1]
    where = "($region is null or stores.region = $region)"
    expected = sql(
        con,
        f"""select count(*) filter (where risk.stockout_probability >= 0.5) as at_risk,
            sum(orders.expected_lost_revenue) as lost_revenue
        from reorder_suggestions as orders inner join stores using (store_id)
        left join stockout_risk as risk using (store_id, product_id) where {where}""",
        region=region,
    ).row(0, named=True)
    positions = sql(
        con,
        f"select orders.* from reorder_suggestions as orders inner join stores using (store_id) "
        f"where {where}",
        region=region,
    )
    from analytics.replenishment import suggest_orders

    orders = suggest_orders(positions, service_level=level, kind="cycle")["suggested_order"]
    values = {
        key: " ".join(texts(find(kpis, f"risk-kpi-{key}")))
        for key in ("at-risk", "lost-revenue", "to-order", "units")
    }
    assert values == {
        "at-risk": f"{expected['at_risk']:,}",
        "lost-revenue": components.format_eur(expected["lost_revenue"]),
        "to-order": f"{(orders > 0).sum():,}",
        "units": f"{orders.sum():,}",
    }


def test_replay_panel_totals_equal_sql(risk: ModuleType, con: duckdb.DuckDBPyConnection) -> None:
    replay = risk.update_risk(None, "2", None, None, None, 0.8, "fill_rate")[4]
    totals = sql(
        con,
        """select sum(demand_units) as demand, sum(policy_lost_units) as policy_lost,
            sum(actual_lost_units) as actual_lost, sum(policy_stockout_days) as policy_days,
            sum(actual_stockout_days) as actual_days, sum(policy_lost_revenue) as policy_eur,
            sum(actual_lost_revenue) as actual_eur
        from policy_replay where store_id = 2""",
    ).row(0, named=True)
    assert [row[:5] for row in cells(replay)] == [
        [
            label,
            f"{1 - totals[f'{side}_lost'] / totals['demand']:.1%}",
            f"{totals[f'{side}_days']:,}",
            f"{totals[f'{side}_lost']:,.0f}",
            f"{totals[f'{side}_eur']:,.0f}",
        ]
        for side, label in (("policy", "Suggested policy"), ("actual", "What happened"))
    ]
    assert "at the 95% cycle service level 'shelfsight predict' used" in " ".join(texts(replay))


@pytest.mark.parametrize("category", [None, "Dairy"])
def test_download_orders_lists_every_series_to_order(
    risk: ModuleType, con: duckdb.DuckDBPyConnection, category: str | None
) -> None:
    download, message = risk.download_orders(1, None, None, category, None, None, *STORED)
    written = pl.read_csv(io.StringIO(download["content"]))
    expected = sql(
        con,
        """select orders.store_id, stores.store_name, orders.product_id, products.product_name,
            orders.suggested_order
        from reorder_suggestions as orders inner join stores using (store_id)
        inner join products using (product_id)
        where orders.suggested_order > 0 and ($category is null or products.category = $category)
        order by orders.store_id, orders.product_id""",
        category=category,
    )
    assert message == ""
    assert download["filename"] == "orders-2025-12-31-cycle-95.csv"
    assert written.select(expected.columns).rows() == expected.rows()


# Bad input and no scores ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ((*ALL, 1.5, "cycle"), "Choose a service level between 50% and 99.5%."),
        ((*ALL, -0.2, "cycle"), "Choose a service level between 50% and 99.5%."),
        ((*ALL, "high", "cycle"), "Choose a service level between 50% and 99.5%."),
        ((*ALL, True, "cycle"), "Choose a service level between 50% and 99.5%."),
        ((*ALL, 0.95, "weekly"), "Choose a cycle service level or a fill rate."),
        ((None, "999", None, None, None, *STORED), "There is no store '999'."),
        ((None, None, None, None, "7x", *STORED), "These filters cannot be read; clear them "
         "and choose again."),
        ((["Bretagne"], None, None, None, None, *STORED), "These filters cannot be read; "
         "clear them and choose again."),
        ((None, None, "Toys", None, None, *STORED), "There is no category 'Toys'."),
    ],
)  # fmt: skip
def test_bad_controls_say_so_and_change_nothing(
    risk: ModuleType, values: tuple[Any, ...], message: str
) -> None:
    assert risk.update_risk(*values) == (message, *(dash.no_update,) * 4)
    assert risk.download_orders(1, *values) == (dash.no_update, message)


@pytest.fixture
def unscored(tiny_db: Path) -> Iterator[ModuleType]:
    app = create_app(Settings(db_path=tiny_db))
    with app.server.app_context():
        yield importlib.import_module("dashboard.pages.risk")
    close_database(app)


def test_unscored_page_says_how_to_score(unscored: ModuleType) -> None:
    page = unscored.layout()
    assert texts(find(page, "risk-empty")) == [NOT_SCORED]
    assert "risk-grid" not in [getattr(item, "id", None) for item in page._traverse()]
    assert unscored.update_risk(*ALL, *STORED) == (NOT_SCORED, *(dash.no_update,) * 4)
    assert unscored.update_detail("1-1", 0.95, "cycle") == (dash.no_update, NOT_SCORED)
    assert texts(unscored.update_models(None)[0]) == [NOT_SCORED]


# The clicked series ---------------------------------------------------------------------------


def test_select_series_takes_the_clicked_row_only(risk: ModuleType) -> None:
    assert risk.select_series({"rowId": "3-34", "colId": "store_name"}) == "3-34"
    for garbage in (None, [], {"rowId": "3-34; drop"}, {"rowId": 5}, "3-34"):
        assert risk.select_series(garbage) is dash.no_update


def test_update_detail_draws_the_series_with_its_order_levels(
    risk: ModuleType, con: duckdb.DuckDBPyConnection
) -> None:
    card, message = risk.update_detail("4-25", 0.99, "fill_rate")
    figure = go.Figure(find(card, "risk-series-chart").figure)  # validation on
    days = sql(
        con,
        """select date, units_sold from daily_sales where store_id = 4 and product_id = 25
        and date > (select max(date) from daily_sales) - 120 order by date""",
    )
    position = sql(con, "select * from reorder_suggestions where store_id = 4 and product_id = 25")
    from analytics.replenishment import suggest_orders

    levels = suggest_orders(position, service_level=0.99, kind="fill_rate").row(0, named=True)
    traces = {trace.name: trace for trace in figure.data}
    assert message == ""
    assert list(traces["Sold"].y) == days["units_sold"].to_list()
    assert len(traces["Forecast"].x) == 28
    assert str(traces["Forecast"].x[0])[:10] == "2026-01-01"
    lines = [shape.y0 for shape in figure.layout.shapes if shape.type == "line"]
    assert lines == pytest.approx([levels["reorder_point"], levels["order_up_to"]], rel=1e-12)
    assert traces["Stock on hand"].yaxis == "y2"


@pytest.mark.parametrize(
    ("series", "message"),
    [
        ("4;25", "That series cannot be read; click a row of the table."),
        (["4", "25"], "That series cannot be read; click a row of the table."),
        ("999-25", "There is no scored series for store 999 and product 25."),
    ],
)
def test_update_detail_bad_series_changes_nothing(
    risk: ModuleType, series: Any, message: str
) -> None:
    assert risk.update_detail(series, 0.95, "cycle") == (dash.no_update, message)
    assert risk.update_detail("4-25", 2, "cycle")[0] is dash.no_update


# Models, layout, embed ------------------------------------------------------------------------


def test_update_models_shows_the_latest_run(
    risk: ModuleType, con: duckdb.DuckDBPyConnection
) -> None:
    table, calibration, importance = risk.update_models(None)
    runs = sql(
        con,
        """select model, is_calibrated, is_chosen, pr_auc from model_runs
        where run_id = (select run_id from model_runs order by trained_at desc limit 1)
        order by is_chosen desc, pr_auc desc""",
    )
    rows = cells(table)
    assert [row[2] for row in rows] == [f"{value:.3f}" for value in runs["pr_auc"]]
    assert rows[0][0].endswith("(chosen)")
    assert sum(row[0].endswith("(chosen)") for row in rows) == 1
    variants = sql(con, "select distinct model, is_calibrated from model_calibration")
    assert len(calibration.data) == 1 + variants.height
    features = sql(con, "select feature from model_importance order by pr_auc_drop")
    assert list(importance.data[0].y) == features["feature"].to_list()


def test_layout_restores_the_controls_from_the_url(risk: ModuleType) -> None:
    page = risk.layout(level="0.99", kind="fill_rate", series="4-25", region="Bretagne")
    assert find(page, "risk-level").value == 0.99
    assert find(page, "risk-kind").value == "fill_rate"
    assert find(page, "risk-series").data == "4-25"
    assert find(page, "risk-grid").selectedRows == {"ids": ["4-25"]}
    assert find(page, "risk-region").value == "Bretagne"
    fallback = risk.layout(level="7", kind="weekly", series="x")
    assert (find(fallback, "risk-level").value, find(fallback, "risk-kind").value) == STORED
    assert find(fallback, "risk-series").data is None


def test_embed_shows_the_highest_risks(risk: ModuleType, con: duckdb.DuckDBPyConnection) -> None:
    with risk.current_database().cursor() as cur:
        figure = EMBEDS["risk"].build(cur, {"store": "1"})
    expected = sql(
        con, "select stockout_probability from stockout_risk where store_id = 1 order by 1 desc"
    )
    assert list(figure.data[0].x) == expected["stockout_probability"].head(20).reverse().to_list()
