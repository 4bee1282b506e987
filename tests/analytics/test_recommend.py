"""Recommendations, their metrics and the stock-aware re-ranking (analytics.recommend)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.recommend import (
    BuyAgainRecommender,
    HybridRecommender,
    ItemKNNRecommender,
    PopularRecommender,
    UserKNNRecommender,
    build_interactions,
    compare_recommenders,
    coverage,
    later_purchases,
    map_at_k,
    precision_at_k,
    recall_at_k,
    rerank_by_stock,
)

END = dt.date(2025, 6, 1)
PRODUCTS = pl.DataFrame(
    {
        "product_id": [1, 2, 3, 4, 5],
        "product_name": ["Milk", "Bread", "Jam", "Beer", "Crisps"],
        "subcategory": ["Milk", "Bread", "Spreads", "Beer", "Snacks"],
        "category": ["Dairy", "Bakery", "Grocery", "Drinks", "Grocery"],
    }
)


def _interactions(pairs: dict[int, list[int]]) -> pl.DataFrame:
    rows = [(c, p) for c, products in pairs.items() for p in products]
    return pl.DataFrame(
        {"customer_id": [r[0] for r in rows], "product_id": [r[1] for r in rows]}
    ).with_columns(pl.lit(1.0).alias("purchases"))


def test_metrics_at_k_on_a_hand_made_list() -> None:
    recs = pl.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2, 2],
            "rank": [1, 2, 3] * 2,
            "product_id": [10, 11, 12, 10, 13, 14],
        }
    )
    # customer 3 bought something but got no recommendation: it counts as all misses
    actual = pl.DataFrame({"customer_id": [1, 1, 1, 2, 3], "product_id": [11, 12, 15, 10, 10]})
    assert precision_at_k(recs, actual, k=3) == pytest.approx((2 / 3 + 1 / 3 + 0) / 3)
    assert recall_at_k(recs, actual, k=3) == pytest.approx((2 / 3 + 1 + 0) / 3)
    # AP: customer 1 hits at ranks 2 and 3, (1/2 + 2/3) / 3; customer 2 at rank 1, 1 / 1
    assert map_at_k(recs, actual, k=3) == pytest.approx(((1 / 2 + 2 / 3) / 3 + 1 + 0) / 3)
    assert coverage(recs, 10, k=3) == 0.5
    assert precision_at_k(recs, actual, k=1) == pytest.approx(1 / 3)


def test_build_interactions_count_baskets_before_the_end_with_decay() -> None:
    baskets = pl.DataFrame(
        {
            "customer_id": [1, 1, 1, 2],
            "basket_id": [1, 2, 3, 4],
            "product_id": [5, 5, 5, 6],
            "purchase_date": [END - dt.timedelta(days=2), END - dt.timedelta(days=4), END, END],
        }
    )
    plain = build_interactions(baskets, end=END)
    assert plain.rows() == [(1, 5, 2.0)]
    decayed = build_interactions(baskets, end=END, half_life_days=2)
    assert decayed.rows() == [(1, 5, 0.75)]  # 0.5 ** (2 / 2) + 0.5 ** (4 / 2)


def test_item_knn_recommends_cosine_neighbours_with_a_reason() -> None:
    # product vectors over customers 1, 2, 3: Milk (1, 1, 0), Bread (1, 1, 1), Jam (0, 0, 1)
    model = ItemKNNRecommender(n_neighbors=2).fit(
        _interactions({1: [1, 2], 2: [1, 2], 3: [2, 3]}), PRODUCTS
    )
    assert model.similarity_.toarray()[0, 1] == pytest.approx(2 / math.sqrt(6))
    assert model.similarity_.toarray()[0, 2] == 0.0
    recs = model.recommend([3], k=1, exclude="bought")
    assert recs.select("customer_id", "rank", "product_id", "reason").rows() == [
        (3, 1, 1, "customers who buy Bread also buy Milk")
    ]
    # its score: Bread's similarity to Milk, plus a millionth of Milk's popularity (2 of 3
    # customers, over the most popular, Bread: 3 of 3)
    assert recs.get_column("score").item() == pytest.approx(2 / math.sqrt(6) + 2e-6 / 3, abs=1e-9)


def test_user_knn_recommends_what_the_nearest_customers_buy() -> None:
    interactions = _interactions({1: [1, 2], 2: [1, 2, 3], 3: [4], 4: [4, 5]})
    model = UserKNNRecommender(n_neighbors=1).fit(interactions, PRODUCTS)
    recs = model.recommend([1], k=1, exclude="bought")
    assert recs.select("product_id", "reason").rows() == [
        (3, "customers with baskets like yours buy Jam")
    ]
    assert recs.get_column("score").item() == pytest.approx(2 / math.sqrt(6), abs=1e-5)


def test_buy_again_ranks_the_customers_own_products() -> None:
    interactions = pl.DataFrame(
        {"customer_id": [1, 1, 2], "product_id": [1, 2, 3], "purchases": [1.0, 4.0, 1.0]}
    )
    recs = BuyAgainRecommender().fit(interactions, PRODUCTS).recommend([1], k=3)
    assert recs.select("rank", "product_id", "reason").rows() == [
        (1, 2, "you often buy Bread"),
        (2, 1, "you bought Milk before"),
        (3, 3, "popular in Grocery"),
    ]


def test_recommend_falls_back_to_popular_and_applies_exclusions() -> None:
    model = PopularRecommender().fit(_interactions({1: [1, 2], 2: [1], 3: [1, 3]}), PRODUCTS)
    unknown = model.recommend([99], k=1)  # Milk has 3 buyers, Bread and Jam one each
    assert unknown.select("customer_id", "product_id", "reason").rows() == [
        (99, 1, "popular in Dairy")
    ]
    excluded = model.recommend(
        [1, 2], k=5, exclude=pl.DataFrame({"customer_id": [1], "product_id": [1]})
    )
    assert 1 not in excluded.filter(pl.col("customer_id") == 1).get_column("product_id").to_list()
    assert excluded.filter(pl.col("customer_id") == 2).get_column("rank").to_list() == [
        1,
        2,
        3,
        4,
        5,
    ]
    bought = model.recommend([1], k=5, exclude="bought")
    assert sorted(bought.get_column("product_id").to_list()) == [3, 4, 5]


def test_hybrid_mixes_buy_again_and_neighbours() -> None:
    model = HybridRecommender(n_neighbors=2, weight=0.5)
    model.fit(_interactions({1: [1, 2], 2: [1, 2], 3: [2, 3]}), PRODUCTS)
    recs = model.recommend([1], k=3)
    # bought: 1 + 0.5 x (neighbour score / customer's max), Milk and Bread tie at 1.5 (Bread,
    # more popular, first); Jam only through Bread: 0.5 x (1 / sqrt 3) / (2 / sqrt 6)
    assert recs.get_column("product_id").to_list() == [2, 1, 3]
    assert recs.get_column("reason").to_list() == [
        "you bought Bread before",
        "you bought Milk before",
        "customers who buy Bread also buy Jam",
    ]
    assert recs.get_column("score").to_list()[0] == pytest.approx(1.5, abs=1e-5)
    assert recs.get_column("score").to_list()[2] == pytest.approx(
        0.5 * (1 / math.sqrt(3)) / (2 / math.sqrt(6)), abs=1e-5
    )


def test_rerank_by_stock_demotes_risky_products_and_offers_substitutes() -> None:
    recs = pl.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2],
            "rank": [1, 2, 3, 1, 2],
            "product_id": [1, 2, 3, 1, 4],
            "score": [0.9, 0.8, 0.7, 0.9, 0.5],
            "reason": ["a", "b", "c", "d", "e"],
        },
        schema_overrides={"rank": pl.Int32},
    )
    products = pl.DataFrame(
        {
            "product_id": [1, 2, 3, 4, 5, 6],
            "product_name": ["Milk", "Milk 2", "Jam", "Beer", "Milk 3", "Cider"],
            "subcategory": ["milk", "milk", "jam", "beer", "milk", "cider"],
            "category": ["dairy", "dairy", "grocery", "drinks", "dairy", "drinks"],
        }
    )
    risk = pl.DataFrame(
        {
            "store_id": [1, 1, 1, 1, 1, 1, 2, 2, 2],
            "product_id": [1, 2, 3, 4, 5, 6, 1, 4, 6],
            "stockout_probability": [0.9, 0.1, 0.2, 0.6, 0.3, 0.1, 0.1, 0.7, 0.2],
        }
    )
    stores = pl.DataFrame({"customer_id": [1, 2], "store_id": [1, 2]})
    result = rerank_by_stock(recs, risk, stores, products, threshold=0.5)
    # customer 1: Milk is at risk in store 1; Milk 2 is listed already, so Milk 3 replaces it.
    # customer 2: Beer is at risk in store 2 and has no other beer: Cider, the same category.
    expected = pl.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 2, 2, 2],
            "rank": [1, 2, 3, 4, 1, 2, 3],
            "product_id": [5, 2, 3, 1, 1, 6, 4],
            "score": [None, 0.8, 0.7, 0.9, 0.9, None, 0.5],
            "reason": [
                "in stock instead of Milk",
                "b",
                "c",
                "a (may be out of stock at your store)",
                "d",
                "in stock instead of Beer",
                "e (may be out of stock at your store)",
            ],
            "stockout_probability": [0.3, 0.1, 0.2, 0.9, 0.1, 0.2, 0.7],
            "is_in_stock": [True, True, True, False, True, True, False],
            "substitute_for": [1, None, None, None, None, 4, None],
        },
        schema_overrides={"rank": pl.Int32},
    )
    assert_frame_equal(result.recommendations, expected)
    assert result.in_stock_share_before == pytest.approx(3 / 5)
    assert result.in_stock_share_after == 1.0


@pytest.fixture(scope="module")
def tiny_baskets(tiny_db: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(tiny_db), read_only=True)
    try:
        return {
            "baskets": con.sql(
                "select customer_id, basket_id, purchase_date, product_id from baskets"
            ).pl(),
            "products": con.sql("select * from products").pl(),
        }
    finally:
        con.close()


def test_later_purchases_keep_known_customers_and_new_products(
    tiny_baskets: dict[str, pl.DataFrame],
) -> None:
    cutoff = dt.date(2025, 12, 1)
    every = later_purchases(tiny_baskets["baskets"], cutoff=cutoff, horizon_days=30)
    new = later_purchases(tiny_baskets["baskets"], cutoff=cutoff, horizon_days=30, new_only=True)
    before = tiny_baskets["baskets"].filter(pl.col("purchase_date") < cutoff)
    assert every.join(before, on="customer_id", how="anti").height == 0
    assert new.join(before, on=["customer_id", "product_id"], how="semi").height == 0
    assert 0 < new.height < every.height


def test_hybrid_beats_popular_and_ties_buy_again_on_the_test_month(
    tiny_baskets: dict[str, pl.DataFrame],
) -> None:
    models = {
        "popular": PopularRecommender(),
        "buy_again": BuyAgainRecommender(),
        "item_knn": ItemKNNRecommender(),
        "hybrid": HybridRecommender(),
    }
    table = compare_recommenders(**tiny_baskets, models=models, cutoff=dt.date(2025, 12, 1))
    got = {row["model"]: row for row in table.iter_rows(named=True)}
    # measured on tiny, December 2025, 304 customers, k = 10 of 36 products (MAP / precision):
    # popular 0.256 / 0.238, buy-again 0.4316 / 0.3102, item-kNN 0.19 / 0.21,
    # hybrid 0.4306 / 0.3105. Re-buying is nearly all the signal in these baskets: the hybrid
    # does not beat buy-again (it ties it, -0.001 MAP) but beats the popular list widely.
    hybrid, again, popular = got["hybrid"], got["buy_again"], got["popular"]
    assert hybrid["map_at_k"] >= again["map_at_k"] - 0.003
    assert hybrid["precision_at_k"] >= again["precision_at_k"] - 0.002
    assert hybrid["map_at_k"] >= popular["map_at_k"] + 0.15
    assert hybrid["precision_at_k"] >= popular["precision_at_k"] + 0.05
    assert hybrid["coverage"] >= 3 * popular["coverage"]
