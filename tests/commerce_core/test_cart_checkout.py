"""Carts, checkout, order ownership and stock, through the API on both databases."""

from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.models import Variant
from tests.commerce_core.helpers import SERVICE, Shopper, api


def stock(factory: sessionmaker[Session], sku: str) -> int:
    with factory() as session:
        return session.scalar(select(Variant.stock).where(Variant.sku == sku))


def test_cart_totals_are_decimal_and_computed_by_the_core(demo_catalog, tmp_path: Path) -> None:
    with api(demo_catalog, tmp_path) as client:
        shopper = Shopper(client, "cart-1")
        # given a mug (32.00) twice and the same mug again: one line, quantity 3
        assert shopper.add("CER-MUG-001", 2).status_code == 201
        cart = shopper.add("CER-MUG-001", 1).json()
        assert [(x["sku"], x["quantity"], x["unit_price"], x["line_total"])
                for x in cart["lines"]] == [("CER-MUG-001", 3, "32.00", "96.00")]
        # then: free domestic shipping from 80, VAT included in the total
        assert (cart["subtotal"], cart["shipping"], cart["total"]) == ("96.00", "0.00", "96.00")
        assert Decimal(cart["tax"]) == Decimal("16.00")
        abroad = shopper.cart(country="DE").json()
        assert abroad["shipping"] == "14.50" and abroad["total"] == "110.50"
        # change and remove
        line_id = cart["lines"][0]["id"]
        cart = client.patch(f"{shopper.base}/cart/lines/{line_id}", headers=SERVICE,
                            json={"quantity": 1}).json()
        assert (cart["subtotal"], cart["shipping"]) == ("32.00", "4.90")  # 400 g
        cart = client.delete(f"{shopper.base}/cart/lines/{line_id}", headers=SERVICE).json()
        assert cart["lines"] == [] and cart["total"] == "0.00"


def test_cart_refuses_bad_lines_and_changes_nothing(demo_catalog, tmp_path: Path) -> None:
    with api(demo_catalog, tmp_path) as client:
        shopper = Shopper(client, "cart-2")
        cases = [
            (shopper.add("NOPE-1"), 404, "variant_not_found"),
            (shopper.add("CER-MUG-001", 0), 422, "invalid_request"),
            (shopper.add("CER-MUG-001", -3), 422, "invalid_request"),
            (shopper.add("CER-MUG-001", 10**9), 422, "invalid_request"),
            (shopper.add("CER-MUG-001", 1, not_an_option="x"), 422, "invalid_customization"),
            (shopper.add("CER-MUG-001", 999), 422, "invalid_request"),
        ]
        for response, status, code in cases:
            assert response.status_code == status, response.text
            assert response.json()["error"]["code"] == code
        sold_out = client.get("/api/products", headers=SERVICE, params={"limit": 200}).json()
        assert shopper.cart().json()["lines"] == []
        assert sold_out["total"] > 0


def test_checkout_reserves_stock_and_freezes_lines(demo_catalog, tmp_path: Path) -> None:
    with api(demo_catalog, tmp_path) as client:
        before = stock(demo_catalog, "CER-MUG-002")
        shopper = Shopper(client, "buyer-1")
        shopper.add("CER-MUG-002", 2)
        response = shopper.checkout()
        assert response.status_code == 201, response.text
        order = response.json()
        assert order["status"] == "pending_payment" and order["payment_status"] == "unpaid"
        assert order["number"].startswith("AT-") and order["reserved_until"]
        assert [(x["sku"], x["quantity"], x["unit_price"]) for x in order["lines"]] == [
            ("CER-MUG-002", 2, "29.00")]
        assert order["shipping_address"]["postal_code"] == "69002"
        assert [e["type"] for e in order["events"]] == ["placed"]
        assert stock(demo_catalog, "CER-MUG-002") == before - 2
        # the cart is now empty, the order belongs to this shopper only
        assert shopper.cart().json()["lines"] == []
        assert shopper.order(order["number"]).status_code == 200
        stranger = Shopper(client, "someone-else").order(order["number"])
        wrong = shopper.order("AT-ZZZZZZ")
        assert stranger.status_code == wrong.status_code == 404
        assert stranger.json()["error"]["code"] == wrong.json()["error"]["code"]
        by_email = client.post("/api/orders/lookup", headers=SERVICE,
                               json={"number": order["number"], "email": "JEANNE@example.com"})
        assert by_email.status_code == 200
        other_email = client.post("/api/orders/lookup", headers=SERVICE,
                                  json={"number": order["number"], "email": "x@example.com"})
        assert other_email.status_code == 404


def test_checkout_validates_address_and_refuses_an_empty_cart(demo_catalog,
                                                               tmp_path: Path) -> None:
    with api(demo_catalog, tmp_path) as client:
        shopper = Shopper(client, "buyer-2")
        assert shopper.checkout().json()["error"]["code"] == "empty_cart"
        shopper.add("CER-MUG-003")
        for bad in ({"email": "not-an-email"}, {"country": "XX"}, {"postal_code": "!!"},
                    {"name": ""}):
            email = bad.pop("email", "jeanne@example.com")
            response = shopper.checkout(email=email, **bad)
            assert response.status_code == 422, (bad, response.text)
        assert shopper.cart().json()["lines"][0]["sku"] == "CER-MUG-003"


def test_out_of_stock_at_checkout_changes_nothing(demo_catalog, tmp_path: Path) -> None:
    with api(demo_catalog, tmp_path) as client:
        with demo_catalog() as session:
            variant = session.scalar(select(Variant).where(Variant.sku == "CER-MUG-004"))
            variant.stock = 1
            session.commit()
        first, second = Shopper(client, "a"), Shopper(client, "b")
        first.add("CER-MUG-004")
        second.add("CER-MUG-004")
        assert first.checkout().status_code == 201
        response = second.checkout()
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "out_of_stock"
        assert stock(demo_catalog, "CER-MUG-004") == 0
        assert second.cart().json()["lines"][0]["sku"] == "CER-MUG-004"


def test_unauthenticated_calls_are_refused(demo_catalog, tmp_path: Path) -> None:
    with api(demo_catalog, tmp_path) as client:
        for method, path in [("get", "/api/products"), ("get", "/api/products/1"),
                             ("get", "/api/products/search?q=mug"),
                             ("get", "/api/shoppers/web/x/cart"),
                             ("post", "/api/merchant/products"),
                             ("get", "/api/merchant/catalog/export")]:
            response = getattr(client, method)(path)
            assert response.status_code == 401, path
            assert response.json()["error"]["code"] == "unauthorized"
            wrong = getattr(client, method)(path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401, path
