"""The recommender's methods on small hand-made order histories."""

from decimal import Decimal

import numpy as np
import pytest

from commerce_core.review.repository import RatingStats
from commerce_core.review.service import bayesian_score, prior_mean
from knowledge.product_index import ProductDoc, VariantDoc
from knowledge.recommend.basket import BasketModel, Seed
from knowledge.recommend.content import REDUCE_ABOVE, REDUCED_DIMENSIONS, ContentModel, _reduce
from knowledge.recommend.hybrid import Hybrid, reason
from knowledge.recommend.ratings import customers_like_you, pearson, rating_signal

BASKETS = [[1, 2], [1, 2], [1, 2, 3], [2, 3], [3, 4], [4, 5], [1, 5], [2, 6], [1, 2, 4]]


def _doc(product_id: int, name: str, category: str, price: str, stock: int = 5,
         **attributes: str) -> ProductDoc:
    return ProductDoc(id=product_id, name=name, description="", category=category,
                      currency="EUR", image_url="",
                      variants=(VariantDoc(sku=f"SKU-{product_id}", price=Decimal(price),
                                           stock=stock, attributes=attributes),))


DOCS = [_doc(1, "cobalt mug", "ceramics", "32", colour="blue", type="mug"),
        _doc(2, "milk jug", "ceramics", "30", colour="white", type="jug"),
        _doc(3, "tea towel", "textiles", "12", colour="blue", type="tea towel"),
        _doc(4, "oak board", "woodwork", "45", colour="brown", type="board"),
        _doc(5, "butter knife", "woodwork", "14", colour="brown", type="knife"),
        _doc(6, "teapot", "ceramics", "98", colour="white", type="teapot"),
        _doc(7, "speckled mug", "ceramics", "34", colour="blue", type="mug")]


def _dense_counts(baskets: list[list[int]], ids: list[int]) -> np.ndarray:
    x = np.zeros((len(baskets), len(ids)))
    for row, basket in enumerate(baskets):
        for p in basket:
            x[row, ids.index(p)] = 1
    return x.T @ x


def _hybrid(docs: list[ProductDoc] = DOCS) -> Hybrid:
    """The hybrid over ``BASKETS`` and ``docs``."""
    model = BasketModel()
    model.fit(BASKETS)
    model.refit_ease()
    return Hybrid(basket=model, content=ContentModel.build(docs))


def test_learning_order_by_order_gives_the_counts_of_learning_them_all_at_once() -> None:
    at_once = BasketModel()
    at_once.fit(BASKETS)
    one_by_one = BasketModel()
    for basket in BASKETS:
        one_by_one.add_basket(basket)
    expected = _dense_counts(BASKETS, at_once.product_ids)
    assert np.array_equal(at_once.counts.toarray(), expected)
    assert one_by_one.product_ids == at_once.product_ids
    one_by_one.flush()
    assert np.array_equal(one_by_one.counts.toarray(), expected)
    assert one_by_one.together(1, 2) == 4 and one_by_one.together(5, 6) == 0
    assert list(one_by_one.frequency()) == list(np.diag(expected))


def test_ease_is_the_closed_form_of_steck_2019() -> None:
    model = BasketModel(ease_lambda=2.0)
    model.fit(BASKETS)
    model.refit_ease()
    gram = _dense_counts(BASKETS, model.product_ids) + 2.0 * np.eye(6)
    p = np.linalg.inv(gram)
    b = np.eye(6) - p / np.diag(p)  # B = I - P diagMat(1 / diag(P))
    assert np.allclose(model.ease_weights.weights, b, atol=1e-5)
    assert np.allclose(np.diag(model.ease_weights.weights), 0.0)
    seeds = [Seed(1, 1.0, "cart"), Seed(3, 1.0, "cart")]
    scores = model.ease(seeds)
    positions = [model.position[1], model.position[3]]
    assert np.allclose(scores, b[positions].sum(axis=0), atol=1e-5)
    # the reason names the seed that gave the most, none when no seed gave anything
    columns = np.arange(6)
    given = b[positions]
    expected = np.where(given.max(axis=0) > 1e-6, given.argmax(axis=0), -1)
    assert list(model.strongest_seed("ease", seeds, columns)) == list(expected)
    assert model.strongest_seed("ease", seeds, np.array([-1]))[0] == -1  # never bought


def test_ease_covers_only_the_most_bought_products_when_told_to() -> None:
    model = BasketModel(ease_max_items=3)
    model.fit(BASKETS)
    model.refit_ease()
    covered = sorted(model.product_ids[i] for i in model.ease_weights.items)
    assert covered == [1, 2, 3]  # bought in 5, 6 and 3 orders; 4 is in 3 too, but later
    scores = model.ease([Seed(1, 1.0, "cart")])
    assert scores[model.position[5]] == 0.0 and scores[model.position[2]] > 0


def test_cosine_divides_the_orders_together_by_both_popularities() -> None:
    model = BasketModel()
    model.fit(BASKETS)
    seeds = [Seed(1, 1.0, "viewed"), Seed(4, 1.0, "cart")]
    scores = model.cosine(seeds)
    frequency = {p: model.frequency()[model.position[p]] for p in model.product_ids}
    assert scores[model.position[2]] == pytest.approx(
        4 / np.sqrt(frequency[1] * frequency[2]) + 1 / np.sqrt(frequency[4] * frequency[2]))
    assert scores[model.position[6]] == 0.0
    strongest = model.strongest_seed("cosine", seeds, np.array(
        [model.position[p] for p in (2, 5, 6)]))
    assert list(strongest) == [0, 1, -1]  # 5 was bought once with 1 (in 5 orders), once
    # with 4 (in 3 orders)


def test_content_finds_the_like_product_nobody_bought_yet() -> None:
    content = ContentModel.build(DOCS)
    seeds = [Seed(4, 1.0, "cart"), Seed(1, 1.0, "viewed")]
    scores = content.similarity(seeds[1:])
    ranked = [int(content.product_ids[i]) for i in np.argsort(-scores, kind="stable")]
    assert ranked[:2] == [1, 7]  # itself, then the other blue ceramic mug of that price
    assert list(content.closest_seed(seeds, np.array([content.position[7],
                                                      content.position[5]]))) == [1, 0]
    both = content.similarity(seeds)
    assert np.allclose(both, (scores + content.similarity(seeds[:1])) / 2)


def test_the_hybrid_never_offers_the_cart_the_excluded_or_what_is_not_allowed() -> None:
    hybrid = _hybrid()
    seeds = [Seed(1, 1.0, "cart")]
    first = hybrid.rank(seeds, limit=3, exclude=[1])
    assert first[0].product_id == 2 and 1 not in [s.product_id for s in first]
    allowed = np.ones(len(DOCS), dtype=bool)
    allowed[hybrid.content.position[2]] = False  # out of stock
    second = hybrid.rank(seeds, limit=10, exclude=[1, 4], allowed=allowed)
    assert {s.product_id for s in second} == {3, 5, 6, 7}
    assert [s.score for s in second] == sorted((s.score for s in second), reverse=True)


def test_reasons_say_what_the_shopper_can_check() -> None:
    hybrid = _hybrid()
    names = {d.id: d.name for d in DOCS}
    by_id = {s.product_id: s for s in hybrid.rank([Seed(1, 1.0, "viewed")], limit=6,
                                                   exclude=[1])}
    assert reason(by_id[2], names) == "bought together with the cobalt mug 4 times"
    assert reason(by_id[7], names) == "like the cobalt mug you viewed"  # never bought
    [popular] = hybrid.rank([], limit=1)
    assert popular.product_id == 2
    assert reason(popular, names) == "popular in the shop: ordered 6 times"


def test_a_product_added_after_training_is_recommendable_from_its_content() -> None:
    new = _doc(8, "cobalt espresso cup", "ceramics", "30", colour="blue", type="mug")
    hybrid = _hybrid([*DOCS, new])
    ranked = [s.product_id for s in hybrid.rank([Seed(7, 1.0, "viewed")], limit=3,
                                                exclude=[7])]
    assert 8 in ranked


def test_pearson_is_computed_over_co_rated_products_only() -> None:
    alice = {1: 5.0, 2: 3.0, 3: 4.0, 9: 1.0}
    bob = {1: 4.0, 2: 2.0, 3: 3.0, 7: 5.0}
    carol = {1: 1.0, 2: 5.0, 3: 2.0}
    assert pearson(alice, bob) == pytest.approx(1.0)
    assert pearson(alice, carol) == pytest.approx(-4 / np.sqrt(2 * 78 / 9))  # by hand
    assert pearson(alice, {1: 5.0}) is None  # one product in common says nothing
    assert pearson({1: 3.0, 2: 3.0}, bob) is None  # no variance
    predicted = customers_like_you({1: alice, 2: bob, 3: carol}, 1)
    assert set(predicted) == {7}  # carol disagrees with alice and is left out
    assert predicted[7] == pytest.approx(13 / 4 + (5.0 - 14 / 4))


def test_a_well_rated_product_rises_and_a_poorly_rated_one_sinks() -> None:
    hybrid = _hybrid()
    seeds = [Seed(1, 1.0, "viewed")]
    plain = hybrid.rank(seeds, limit=6, exclude=[1])
    assert [s.product_id for s in plain] == [2, 5, 3, 4, 7, 6]
    # given the shop's reviews (mean 4.2 over 150): the oak board has 4.8 stars over 20,
    # the butter knife 2 over 10
    shop = RatingStats(total=630, count=150)
    scores = {4: bayesian_score(RatingStats(total=96, count=20), shop),
              5: bayesian_score(RatingStats(total=20, count=10), shop)}
    rating = rating_signal(scores, prior_mean(shop), hybrid.content.product_ids)
    # when
    rated = hybrid.rank(seeds, limit=6, exclude=[1], rating=rating)
    # then the board passes the tea towel, the knife falls behind both
    assert [s.product_id for s in rated] == [2, 4, 3, 5, 7, 6]
    before = {s.product_id: s for s in plain}
    for item in rated:
        if item.product_id not in scores:  # nobody reviewed it: not moved
            assert item.score == before[item.product_id].score
        assert (item.signal, item.seed) == (before[item.product_id].signal,
                                            before[item.product_id].seed)
    # and without reviews nothing moves
    assert rating_signal({}, prior_mean(RatingStats(0, 0)), hybrid.content.product_ids) is None
    assert rating_signal({99: Decimal("5.00")}, Decimal("4.2"),
                         hybrid.content.product_ids) is None  # not in this catalog
    assert hybrid.rank(seeds, limit=6, exclude=[1], rating=None) == plain


def test_a_large_catalogs_vectors_keep_their_dot_products_on_the_top_directions() -> None:
    rng = np.random.default_rng(3)
    n = REDUCE_ABOVE + 100
    # a catalog whose vectors span 16 directions: nothing is lost
    narrow = (rng.standard_normal((n, 16)) @ rng.standard_normal((16, 384))).astype(np.float32)
    narrow /= np.linalg.norm(narrow, axis=1, keepdims=True)
    reduced = _reduce(narrow)
    assert reduced.shape == (n, REDUCED_DIMENSIONS) and reduced.dtype == np.float32
    assert np.allclose(reduced[:50] @ reduced[:50].T, narrow[:50] @ narrow[:50].T, atol=1e-4)
    # one spanning all 384: the dot products of the projection on the top singular vectors
    wide = (rng.standard_normal((n, 384)) * 0.98 ** np.arange(384)).astype(np.float32)
    _, _, vt = np.linalg.svd(wide.astype(np.float64), full_matrices=False)
    projected = wide @ vt[:REDUCED_DIMENSIONS].T
    reduced = _reduce(wide)
    assert np.allclose(reduced[:50] @ reduced[:50].T, projected[:50] @ projected[:50].T,
                       atol=1e-3)
