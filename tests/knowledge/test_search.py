from decimal import Decimal

import numpy as np
import pytest

from knowledge.embedding import Embedder
from knowledge.product_index import ProductIndex
from knowledge.search import SearchFilters, SearchHit, UnknownProduct, search


def test_blue_ceramic_mugs_are_found_first(demo_index: ProductIndex, embedder: Embedder) -> None:
    hits = search(index=demo_index, embedder=embedder, query="show me blue ceramic mugs",
                  limit=5, filters=SearchFilters())
    assert len(hits) == 5
    for hit in hits:
        attrs = hit.variant.attributes
        assert (attrs["type"], attrs["colour"], attrs["material"]) == ("mug", "blue", "ceramic")
        assert {"blue", "ceramic", "mug"} <= set(hit.matched_terms)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_dense_retrieval_understands_words_not_in_the_text(demo_index: ProductIndex,
                                                           embedder: Embedder) -> None:
    hits = search(index=demo_index, embedder=embedder, query="something to drink coffee from",
                  limit=5, filters=SearchFilters())
    assert sum(h.variant.attributes["type"] in {"mug", "cup", "tumbler"} for h in hits) >= 3


@pytest.mark.parametrize("query", ["gift for my sister", "blue", "", "silver ring"])
def test_no_result_is_ever_outside_the_price_filter(demo_index: ProductIndex,
                                                    embedder: Embedder, query: str) -> None:
    filters = SearchFilters(min_price=Decimal("20"), max_price=Decimal("40"))
    hits = search(index=demo_index, embedder=embedder, query=query, limit=100, filters=filters)
    assert hits
    assert all(Decimal("20") <= h.variant.price <= Decimal("40") for h in hits)
    expected = sum(1 for d in demo_index.docs.values()
                   if any(Decimal("20") <= v.price <= Decimal("40") for v in d.variants))
    assert len(hits) == min(100, expected)


def test_filters_are_applied_inside_the_search_not_after_a_top_k(
        demo_index: ProductIndex, embedder: Embedder) -> None:
    # "mug" ranks hundreds of mugs/ceramics before any candle; the filter must still
    # return every candle rather than an empty slice of the unfiltered top-k.
    filters = SearchFilters(category="candles")
    hits = search(index=demo_index, embedder=embedder, query="mug", limit=100, filters=filters)
    candles = [d for d in demo_index.docs.values() if d.category == "candles"]
    assert len(hits) == len(candles) >= 30


def test_attribute_filters_accept_plurals_and_any_of_several_values(
        demo_index: ProductIndex, embedder: Embedder) -> None:
    filters = SearchFilters(attributes={"type": ("mugs",), "colour": ("blue", "teal")},
                            in_stock=True)
    hits = search(index=demo_index, embedder=embedder, query="mug", limit=50, filters=filters)
    assert hits
    assert all(h.variant.attributes["type"] == "mug" for h in hits)
    assert {h.variant.attributes["colour"] for h in hits} <= {"blue", "teal"}
    assert all(h.variant.stock > 0 for h in hits)
    assert hits[0].matched_filters == ["type=mugs", "colour=blue/teal", "in_stock"]


def test_nothing_matching_gives_an_empty_list(demo_index: ProductIndex,
                                              embedder: Embedder) -> None:
    filters = SearchFilters(max_price=Decimal("1"))
    assert search(index=demo_index, embedder=embedder, query="mug", limit=10,
                  filters=filters) == []


def _product_id(index: ProductIndex, sku: str) -> int:
    return next(d.id for d in index.docs.values() if any(v.sku == sku for v in d.variants))


def test_boosts_raise_matching_products_without_dropping_the_others(
        demo_index: ProductIndex, embedder: Embedder) -> None:
    plain = search(index=demo_index, embedder=embedder, query="mug", limit=40,
                   filters=SearchFilters())
    boosted = search(index=demo_index, embedder=embedder, query="mug", limit=40,
                     filters=SearchFilters(), boosts={"colour": ("green",)})
    # the two green mugs come first, the everyday mug shown in its sage green variant
    assert [h.variant.attributes["colour"] for h in boosted[:2]] == ["green", "green"]
    assert {h.variant.sku for h in boosted[:2]} == {"CER-MUG-012", "CER-MUG-018"}
    assert all(h.boosts == ["colour=green"] for h in boosted[:2])
    assert [h.variant.sku for h in plain[:2]] != [h.variant.sku for h in boosted[:2]]
    # and nothing else was excluded: the other mugs are still there
    others = [h for h in boosted if h.variant.attributes.get("type") == "mug" and not h.boosts]
    assert len(others) >= 15 and all(h.boosts == [] for h in others)
    assert {h.doc.id for h in plain[:20]} <= {h.doc.id for h in boosted}


def test_more_like_a_product_leans_toward_it_and_leaves_it_out(
        demo_index: ProductIndex, embedder: Embedder) -> None:
    glass = _product_id(demo_index, "GLS-VAS-001")  # a blown glass bud vase
    liked_vector = demo_index.vectors.vectors(np.array([glass]))[0]

    def closeness(hits: list[SearchHit]) -> float:
        vectors = demo_index.vectors.vectors(np.array([h.doc.id for h in hits]))
        return float(np.mean(vectors @ liked_vector))

    plain = search(index=demo_index, embedder=embedder, query="vase", limit=7,
                   filters=SearchFilters())
    liked = search(index=demo_index, embedder=embedder, query="vase", limit=6,
                   filters=SearchFilters(), like=glass)
    assert glass in {h.doc.id for h in plain}
    assert glass not in {h.doc.id for h in liked} and all(h.like == glass for h in liked)
    assert closeness(liked) > closeness([h for h in plain if h.doc.id != glass][:6]) + 0.01
    assert all(h.variant.attributes["type"] == "vase" for h in liked[:4])
    itself = search(index=demo_index, embedder=embedder, query="", limit=3,
                    filters=SearchFilters(), like=glass, include_liked=True)
    assert itself[0].doc.id == glass


def test_cheaper_like_this_keeps_the_price_filter(demo_index: ProductIndex,
                                                  embedder: Embedder) -> None:
    wallet = _product_id(demo_index, "LTH-WAL-001")  # 65.00
    hits = search(index=demo_index, embedder=embedder, query="", limit=10,
                  filters=SearchFilters(max_price=Decimal("40")), like=wallet)
    assert len(hits) == 10 and all(h.variant.price <= Decimal("40") for h in hits)
    assert sum(h.doc.category == "leather" for h in hits[:5]) >= 4
    with pytest.raises(UnknownProduct):
        search(index=demo_index, embedder=embedder, query="mug", limit=3,
               filters=SearchFilters(), like=10**9)


def test_mistyped_words_still_match_the_catalog_words(demo_index: ProductIndex,
                                                      embedder: Embedder) -> None:
    hits = search(index=demo_index, embedder=embedder, query="cermic mugs", limit=5,
                  filters=SearchFilters(), mode="lexical")
    assert len(hits) == 5 and all("ceramic" in h.matched_terms for h in hits)
    assert all(h.variant.attributes["type"] == "mug" for h in hits)


@pytest.mark.parametrize(("query", "meant"), [("ceramc mug", "ceramic"),
                                              ("neckalce", "necklace"),
                                              ("stationary", "stationery")])
def test_a_typo_is_read_as_the_catalog_word_it_is_near(demo_index: ProductIndex, query: str,
                                                       meant: str) -> None:
    assert meant in demo_index.lexical.score_arrays(query)[2]


@pytest.mark.parametrize(("query", "near"), [("something for the home", "come"),
                                             ("home decor", "deco"), ("golf lover", "gold"),
                                             ("fish", "dish"), ("for a nurse", "purse")])
def test_a_word_of_the_language_the_catalog_lacks_is_not_taken_for_a_typo(
        demo_index: ProductIndex, embedder: Embedder, query: str, near: str) -> None:
    """"home decor" is not art deco: the word is left to the embedding."""
    assert near not in demo_index.lexical.score_arrays(query)[2]
    hits = search(index=demo_index, embedder=embedder, query=query, limit=6,
                  filters=SearchFilters())
    assert not any(near in hit.matched_terms for hit in hits)
