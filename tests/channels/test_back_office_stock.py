"""Products and stock in the back office (SQLite and PostgreSQL): prices are Decimal, a
stock level is saved only over the one the owner saw, low stock is flagged, and each
change is audited."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from commerce_core.models import Variant
from tests.channels.back_office import (
    MUG,
    BackOffice,
    shop_fixture,  # noqa: F401 - the fixture
)


def variant(shop: BackOffice, sku: str = MUG) -> Variant:
    with shop.db() as session:
        found = session.scalar(select(Variant).where(Variant.sku == sku))
        assert found is not None
        return found


def save(shop: BackOffice, price: str, stock: str, seen: str | None = None) -> object:
    mug = variant(shop)
    return shop.post(f"/merchant/variants/{mug.id}", price=price, stock=stock,
                     seen_stock=seen if seen is not None else str(mug.stock))


def test_the_owner_sets_a_price_and_a_stock_level(shop: BackOffice) -> None:
    owner = shop.owner()
    listing = shop.client.get("/merchant/products").text
    assert MUG in listing and "32.00 EUR" in listing and 'value="14"' in listing
    saved = save(shop, "29.90", "2")
    assert saved.status_code == 303
    page = shop.client.get(saved.headers["location"]).text
    assert f"{MUG} saved." in page
    assert f'data-low="{MUG}">2 — low' in page
    mug = variant(shop)
    assert (mug.price, mug.stock) == (Decimal("29.90"), 2)
    assert shop.audit() == [(owner, "variant.update", MUG, {"price": "32.00", "stock": 14},
                             {"price": "29.90", "stock": 2})]
    only_low = shop.client.get("/merchant/products", params={"low": "1"}).text
    assert MUG in only_low and "CER-MUG-002" not in only_low
    assert "CER-MUG-002" in shop.client.get("/merchant/products").text


@pytest.mark.parametrize(("price", "stock", "message"), [
    ("12,50", "3", "write it like 34.50"), ("-1", "3", "cannot be negative"),
    ("1.999", "3", "more than two decimal places"), ("NaN", "3", "is not an amount"),
    ("10", "-2", "whole number from 0 to 1000000"), ("10", "2.5", "whole number"),
    ("10", "99999999", "whole number")])
def test_a_bad_price_or_stock_is_refused_and_nothing_changes(
        shop: BackOffice, price: str, stock: str, message: str) -> None:
    shop.owner()
    refused = save(shop, price, stock)
    assert refused.status_code == 422 and message in refused.text
    assert (variant(shop).price, variant(shop).stock) == (Decimal("32.00"), 14)
    assert shop.audit() == []


def test_a_stock_level_that_moved_meanwhile_is_not_overwritten(shop: BackOffice) -> None:
    # given the owner opened the page at 14 pieces, then a shopper bought one
    shop.owner()
    shop.place_order("ada")
    assert variant(shop).stock == 13
    # when the owner saves what they typed over the 14 they saw
    stale = save(shop, "32.00", "20", seen="14")
    # then
    assert stale.status_code == 409
    assert f"The stock of {MUG} changed to 13 while you were editing it" in stale.text
    assert variant(shop).stock == 13
    assert shop.audit() == []


def test_the_saved_notice_names_only_a_sku(shop: BackOffice) -> None:
    shop.owner()
    page = shop.client.get("/merchant/products", params={"saved": "Your account is closed. Call"})
    assert 'id="notice"' not in page.text
    assert 'id="notice"' in shop.client.get("/merchant/products", params={"saved": MUG}).text
