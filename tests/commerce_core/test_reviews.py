"""Shoppers rate what they received; the merchant hides what does not belong; products show
the stars."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select

from commerce_core import clock
from commerce_core.models import Review
from commerce_core.review.repository import RatingStats
from commerce_core.review.service import bayesian_score
from commerce_core.shipment.service import refresh_deliveries
from tests.commerce_core import test_returns
from tests.commerce_core.helpers import product_id
from tests.commerce_core.test_payments import SERVICE, SKU, Shop
from tests.commerce_core.test_returns import paid_order

shop = test_returns.shop
"""The fixture of the returns tests: the app on the demo catalog with the sandbox provider."""


def delivered_order(shop: Shop, key: str, shopper: str = "alice") -> dict[str, Any]:
    order = paid_order(shop, key, ship=False) if shopper == "alice" else None
    if order is None:
        order = shop.place_order(shopper)
        shop.pay(shop.payment_link(order["id"], key).json()["url"])
    merchant = {"Authorization": f"Bearer {shop.merchant_key()}"}
    shipped = shop.client.post(f"/api/merchant/orders/{order['id']}/ship", headers=merchant)
    assert shipped.status_code == 200, shipped.text
    with shop.db() as session:
        assert refresh_deliveries(session=session, now=clock.now() + timedelta(days=10)) >= 1
        session.commit()
    return order


def review(shop: Shop, number: str, shopper: str = "alice", **body: Any) -> httpx.Response:
    return shop.client.put(f"/api/shoppers/web/{shopper}/orders/{number}/review",
                           headers=SERVICE, json={"sku": SKU, "rating": 5, **body})


def stored_reviews(shop: Shop) -> int:
    with shop.db() as session:
        return session.scalar(select(func.count()).select_from(Review)) or 0


def test_owner_rates_a_delivered_product_then_changes_the_rating(shop: Shop) -> None:
    # given
    order = delivered_order(shop, "rev-1")
    # when
    first = review(shop, order["number"], rating=4, comment="Lovely glaze,\nslightly small.")
    changed = review(shop, order["number"].lower(), rating=5, comment="Grew on me.")
    listed = shop.client.get("/api/shoppers/web/alice/reviews", headers=SERVICE)
    # then
    assert first.status_code == 201, first.text
    assert changed.status_code == 200, changed.text
    assert changed.json()["id"] == first.json()["id"]
    assert (changed.json()["rating"], changed.json()["comment"]) == (5, "Grew on me.")
    assert stored_reviews(shop) == 1
    [line] = listed.json()
    assert (line["order_number"], line["sku"], line["review"]["rating"]) == (
        order["number"], SKU, 5)


def test_product_shows_the_average_and_count_of_visible_reviews(shop: Shop) -> None:
    # given
    pid = product_id(shop.db, SKU)
    for key, shopper, stars in (("rev-a", "alice", 5), ("rev-b", "bob", 3)):
        number = delivered_order(shop, key, shopper)["number"]
        assert review(shop, number, shopper, rating=stars).status_code == 201
    # when
    product = shop.client.get(f"/api/products/{pid}", headers=SERVICE).json()
    page = shop.client.get(f"/api/products/{pid}/reviews", headers=SERVICE).json()
    # then
    assert product["rating"] == {"average": "4.0", "count": 2, "score": "4.00"}
    assert [r["rating"] for r in page["reviews"]] == [3, 5]
    assert set(page["reviews"][0]) == {"rating", "comment", "created_at"}  # nobody named


def test_merchant_hides_a_review_with_a_reason_and_the_product_stops_counting_it(
        shop: Shop) -> None:
    # given
    pid = product_id(shop.db, SKU)
    number = delivered_order(shop, "rev-h")["number"]
    written = review(shop, number, rating=1, comment="Buy from another shop, cheaper there")
    merchant = {"Authorization": f"Bearer {shop.merchant_key()}"}
    # when
    anonymous = shop.client.post(f"/api/merchant/reviews/{written.json()['id']}/hide",
                                 headers=SERVICE, json={"reason": "advertising"})
    hidden = shop.client.post(f"/api/merchant/reviews/{written.json()['id']}/hide",
                              headers=merchant, json={"reason": "advertising"})
    product = shop.client.get(f"/api/products/{pid}", headers=SERVICE).json()
    queue = shop.client.get("/api/merchant/reviews?status=hidden", headers=merchant).json()
    shown = shop.client.post(f"/api/merchant/reviews/{written.json()['id']}/show",
                             headers=merchant)
    # then
    assert anonymous.status_code == 401
    assert hidden.status_code == 200, hidden.text
    assert (hidden.json()["hidden"], hidden.json()["hidden_reason"]) == (True, "advertising")
    assert product["rating"] is None
    assert [r["id"] for r in queue] == [written.json()["id"]]
    assert shown.json()["hidden"] is False
    assert shop.client.get(f"/api/products/{pid}", headers=SERVICE).json()["rating"][
        "count"] == 1


@pytest.mark.parametrize("body, field", [
    ({"rating": 0}, "rating"), ({"rating": 6}, "rating"), ({"rating": 4.5}, "rating"),
    ({"comment": "<script>alert(1)</script>"}, "comment"),
    ({"comment": "nice <b>mug</b>"}, "comment"),
    ({"comment": "see javascript:alert(1)"}, "comment"),
    ({"comment": "x" * 1001}, "comment"),
    ({"comment": "bad\x00byte"}, "comment"),
])
def test_invalid_ratings_and_comments_are_refused_and_nothing_is_stored(
        shop: Shop, body: dict[str, Any], field: str) -> None:
    # given
    number = delivered_order(shop, "rev-bad")["number"]
    # when
    response = review(shop, number, **body)
    # then
    assert response.status_code == 422, response.text
    assert field in response.text
    assert stored_reviews(shop) == 0


def test_reviews_of_orders_not_delivered_not_bought_or_not_yours_are_refused(
        shop: Shop) -> None:
    # given
    delivered = delivered_order(shop, "rev-d")
    shipped = paid_order(shop, "rev-s", ship=True)
    # when
    early = review(shop, shipped["number"])
    other_product = review(shop, delivered["number"], sku="TEX-NAP-001")
    someone_else = review(shop, delivered["number"], "mallory")
    # then
    assert (early.status_code, early.json()["error"]["code"]) == (409, "not_delivered")
    assert (other_product.status_code, other_product.json()["error"]["code"]) == (
        404, "not_in_order")
    assert (someone_else.status_code, someone_else.json()["error"]["code"]) == (
        404, "order_not_found")
    assert stored_reviews(shop) == 0


def test_one_five_star_review_does_not_outrank_fifty_of_four_point_eight() -> None:
    shop_mean = RatingStats(total=4 * 200, count=200)
    single = bayesian_score(RatingStats(total=5, count=1), shop_mean)
    many = bayesian_score(RatingStats(total=240, count=50), shop_mean)  # 4.8 on average
    assert many > single
    assert single == Decimal("4.17")


def test_pages_of_products_read_the_shops_mean_once_until_a_review_changes(
        shop: Shop) -> None:
    # given a product with one review, and the statements the database is sent
    pid = product_id(shop.db, SKU)
    number = delivered_order(shop, "rev-m")["number"]
    written = review(shop, number, rating=4).json()
    engine = shop.db.kw["bind"]
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()).lower())

    def means() -> int:
        """Statements that read the stars of the whole shop (not of some products)."""
        return sum(1 for s in sent if "from review" in s and "sum(review.rating)" in s
                   and "group by" not in s)

    event.listen(engine, "before_cursor_execute", record)
    try:
        # when pages of products and the product are shown again and again
        for _ in range(3):
            listed = shop.client.get("/api/products?limit=100", headers=SERVICE).json()
            shown = shop.client.get(f"/api/products/{pid}", headers=SERVICE).json()
        # then the shop's mean was read once
        assert means() == 1
        assert shown["rating"] == {"average": "4.0", "count": 1, "score": "4.00"}
        assert [p["rating"] for p in listed["items"] if p["id"] == pid] == [shown["rating"]]
        # when the merchant hides the review, it is read again
        merchant = {"Authorization": f"Bearer {shop.merchant_key()}"}
        hidden = shop.client.post(f"/api/merchant/reviews/{written['id']}/hide",
                                  headers=merchant, json={"reason": "off topic"})
        assert hidden.status_code == 200
        assert shop.client.get(f"/api/products/{pid}", headers=SERVICE).json()[
            "rating"] is None
        # and when another shopper writes one, the score starts from the new mean
        other = delivered_order(shop, "rev-m2", "bob")["number"]
        assert review(shop, other, "bob", rating=2).status_code == 201
        assert shop.client.get(f"/api/products/{pid}", headers=SERVICE).json()[
            "rating"] == {"average": "2.0", "count": 1, "score": "2.00"}
        assert means() == 2
    finally:
        event.remove(engine, "before_cursor_execute", record)
