"""Reviews moderation in the back office (SQLite and PostgreSQL): the owner sees what
shoppers wrote, hides one with a reason (the shop stops counting it) and shows it again,
each audited."""

from __future__ import annotations

from tests.channels.back_office import (
    MUG,
    SERVICE,
    BackOffice,
    shop_fixture,  # noqa: F401 - the fixture
)
from tests.commerce_core.helpers import product_id


def rate(shop: BackOffice, shopper: str, number: str, stars: int, comment: str) -> int:
    written = shop.client.put(f"/api/shoppers/web/{shopper}/orders/{number}/review",
                              headers=SERVICE,
                              json={"sku": MUG, "rating": stars, "comment": comment})
    assert written.status_code == 201, written.text
    return int(written.json()["id"])


def mug_rating(shop: BackOffice) -> dict | None:
    return shop.client.get(f"/api/products/{product_id(shop.db, MUG)}",
                           headers=SERVICE).json()["rating"]


def test_the_owner_hides_a_review_saying_why_then_shows_it_again(shop: BackOffice) -> None:
    # given two shoppers' reviews of what they received
    owner = shop.owner()
    rate(shop, "ada", shop.delivered_order("ada")["number"], 5, "Lovely speckles")
    spam = rate(shop, "bob", shop.delivered_order("bob")["number"], 1,
                "Cheaper at example.com")
    page = shop.client.get("/merchant/reviews").text
    assert "Lovely speckles" in page and "★★★★★" in page
    assert "Cheaper at example.com" in page and "★☆☆☆☆" in page
    # when the owner hides the advert, first without a reason
    no_reason = shop.post(f"/merchant/reviews/{spam}/hide", reason=" ")
    hidden = shop.post(f"/merchant/reviews/{spam}/hide", reason="advertising")
    # then
    assert no_reason.status_code == 422 and "Say why" in no_reason.text
    assert hidden.status_code == 303
    assert "The review is hidden from the shop." in shop.client.get(
        hidden.headers["location"]).text
    in_shop = shop.client.get("/merchant/reviews", params={"show": "visible"}).text
    assert "Lovely speckles" in in_shop and "Cheaper at example.com" not in in_shop
    assert "Hidden: advertising" in shop.client.get("/merchant/reviews?show=hidden").text
    assert mug_rating(shop)["count"] == 1
    # when shown again
    shown = shop.post(f"/merchant/reviews/{spam}/show")
    assert shown.status_code == 303
    assert mug_rating(shop)["count"] == 2
    assert [(a[0], a[1], a[2], a[4]) for a in shop.audit() if a[1].startswith("review.")] == [
        (owner, "review.hide", str(spam), {"hidden": True, "reason": "advertising"}),
        (owner, "review.show", str(spam), {"hidden": False})]


def test_hiding_a_review_that_does_not_exist_is_a_404_page(shop: BackOffice) -> None:
    shop.owner()
    missing = shop.post("/merchant/reviews/999999/hide", reason="advertising")
    assert missing.status_code == 404 and "There is no review with id 999999." in missing.text
    assert shop.audit() == []
