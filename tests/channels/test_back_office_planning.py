"""The planning page (SQLite and PostgreSQL): the workshop's weeks ahead drawn against its
capacity, with the making days of the paid orders to make, and what to make or reorder
from the demand forecast of the demo shop's order history."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import update

from commerce_core.demo import orders as demo_orders
from commerce_core.models import Variant
from tests.channels.back_office import (
    BackOffice,
    shop_fixture,  # noqa: F401 - the fixture
)

MADE_TO_ORDER = "CER-MUG-007"
SOLD_OUT_RING = "JWL-RNG-012"


def test_the_plan_counts_paid_orders_and_suggests_what_to_make(shop: BackOffice) -> None:
    # given the demo's sales history, a ring that sells now sold out, and two paid orders
    # of a mug painted to order
    with shop.db() as session:
        demo_orders.load(session=session)
        session.execute(update(Variant).where(Variant.sku == SOLD_OUT_RING).values(stock=0))
        session.commit()
    shop.owner()
    before = shop.client.get("/merchant/planning").text
    shop.paid_order("ada", sku=MADE_TO_ORDER)
    shop.paid_order("bob", sku=MADE_TO_ORDER)
    # when
    page = shop.client.get("/merchant/planning", params={"weeks": 4})
    chart = shop.client.get("/merchant/planning.png", params={"weeks": 4})
    # then
    assert "0.0 making days of paid orders still to make" in before
    assert page.status_code == 200
    assert "Capacity 5 making days a week;" in page.text
    assert "0.0 making days of paid orders" not in page.text
    restock = page.text.split("Make or reorder now", 1)[1]
    assert SOLD_OUT_RING in restock and "Black Onyx Signet Ring" in restock
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(chart.content)).size == (1200, 420)


def test_the_plan_is_for_the_owner_and_a_sensible_horizon(shop: BackOffice) -> None:
    assert shop.client.get("/merchant/planning", follow_redirects=False).status_code == 303
    shop.owner()
    assert shop.client.get("/merchant/planning", params={"weeks": 99}).status_code == 422
