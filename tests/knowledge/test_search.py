from decimal import Decimal

import pytest

from knowledge.embedding import Embedder
from knowledge.product_index import ProductIndex
from knowledge.search import SearchFilters, search


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
