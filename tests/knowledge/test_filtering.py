"""The vectorised filter columns choose exactly what a product-by-product walk chooses."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from knowledge.filtering import FilterColumns
from knowledge.product_index import ProductDoc, VariantDoc
from knowledge.search import Preferences, SearchFilters, _met, value_matches

COLOURS = ["blue", "green", "red", "Navy"]
MATERIALS = ["stoneware", "linen", "oak", "glass"]
TYPES = ["mug", "mugs", "scarf", "board", "boxes"]


def reference_variant(doc: ProductDoc, filters: SearchFilters,
                      boosts: Preferences) -> VariantDoc | None:
    """The rule, one product at a time: pass every filter; meet the most preferences,
    then be the cheapest, then come first."""
    if filters.category and doc.category != filters.category:
        return None
    best: VariantDoc | None = None
    best_key: tuple[int, Decimal] | None = None
    for variant in doc.variants:
        if filters.min_price is not None and variant.price < filters.min_price:
            continue
        if filters.max_price is not None and variant.price > filters.max_price:
            continue
        if filters.in_stock and variant.stock <= 0:
            continue
        if any(not value_matches(variant.attributes.get(k), v)
               for k, v in filters.attributes.items()):
            continue
        key = (-len(_met(variant, boosts)), variant.price)
        if best_key is None or key < best_key:
            best, best_key = variant, key
    return best


def random_catalog(rng: random.Random, n: int) -> list[ProductDoc]:
    docs = []
    for i in range(1, n + 1):
        variants = []
        for v in range(rng.randint(1, 3)):
            attributes = {"colour": rng.choice(COLOURS), "type": rng.choice(TYPES)}
            if rng.random() < 0.7:
                attributes["material"] = rng.choice(MATERIALS)
            variants.append(VariantDoc(sku=f"P{i}-{v}", price=Decimal(rng.randrange(100, 9000))
                                       / 100, stock=rng.randrange(0, 3), attributes=attributes))
        docs.append(ProductDoc(id=i * 3, name=f"p{i}", description="", currency="EUR",
                               category=rng.choice(["ceramics", "textiles"]), image_url="",
                               variants=tuple(variants)))
    return docs


def columns_of(docs: list[ProductDoc]) -> FilterColumns:
    return FilterColumns(doc_ids=[d.id for d in docs], categories=[d.category for d in docs],
                         variants=[[(v.price, v.stock, v.attributes) for v in d.variants]
                                   for d in docs])


def random_filters(rng: random.Random) -> tuple[SearchFilters, Preferences]:
    low = Decimal(rng.randrange(0, 5000)) / 100 if rng.random() < 0.4 else None
    high = Decimal(rng.randrange(2000, 9000)) / 100 if rng.random() < 0.5 else None
    attributes = {}
    if rng.random() < 0.5:
        attributes["colour"] = tuple(rng.sample(COLOURS + ["navy", "pink"], rng.randint(1, 2)))
    if rng.random() < 0.3:
        attributes["type"] = (rng.choice(["mug", "box", "scarves", "board"]),)
    boosts = {}
    if rng.random() < 0.5:
        boosts["material"] = (rng.choice(MATERIALS),)
    if rng.random() < 0.3:
        boosts["colour"] = (rng.choice(COLOURS),)
    filters = SearchFilters(min_price=low, max_price=high, attributes=attributes,
                            category=rng.choice([None, "ceramics", "textiles", "glass"]),
                            in_stock=rng.random() < 0.3)
    return filters, boosts


@pytest.mark.parametrize("seed", range(8))
def test_selection_matches_the_product_by_product_rule(seed: int) -> None:
    # given a random catalog and random filters and preferences
    rng = random.Random(seed)
    docs = random_catalog(rng, 300)
    columns = columns_of(docs)
    rows = [v for d in docs for v in d.variants]
    for _ in range(40):
        filters, boosts = random_filters(rng)
        # when the columns select
        selection = columns.select(
            min_price=filters.min_price, max_price=filters.max_price,
            category=filters.category, attributes=filters.attributes,
            in_stock=filters.in_stock, boosts=boosts)
        chosen = {i: rows[r] for i, r in zip(selection.ids.tolist(), selection.rows.tolist(),
                                              strict=True)}
        # then they keep the same products with the same variants
        expected = {d.id: v for d in docs
                    if (v := reference_variant(d, filters, boosts)) is not None}
        assert chosen == expected
        met = dict(zip(selection.ids.tolist(), selection.met.tolist(), strict=True))
        assert met == {i: len(_met(v, boosts)) for i, v in expected.items()}


def test_a_price_with_fractions_of_a_cent_is_refused() -> None:
    with pytest.raises(ValueError, match="more than two decimals"):
        FilterColumns(doc_ids=[1], categories=["ceramics"],
                      variants=[[(Decimal("9.995"), 1, {})]])


def test_membership_of_selected_products() -> None:
    docs = random_catalog(random.Random(1), 50)
    selection = columns_of(docs).select(min_price=None, max_price=Decimal("40"), category=None,
                                        attributes={}, in_stock=False, boosts={})
    probe = [d.id for d in docs] + [10_000, -1]
    mask = selection.contains(__import__("numpy").asarray(probe))
    assert [p for p, m in zip(probe, mask.tolist(), strict=True) if m] == selection.ids.tolist()
    assert 0 < len(selection) < len(docs)
