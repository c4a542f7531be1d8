"""The merchant's customisation rules through the real API, on SQLite and PostgreSQL: no
rule — even one written to the database behind the API's back — can make a quote, a cart
line, an order or a payment free, negative or absurdly large.

One small shop per backend serves the whole module; each test first puts the baseline
rules back and uses its own shopper, so the tests do not see each other's changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.models import ChannelIdentity, CustomizationRuleSet, Order, Payment
from tests.commerce_core.helpers import SERVICE, Shopper, api, merchant_headers
from tests.conftest import _clean

CATEGORY = "pottery"
RULES = f"/api/merchant/rules/category/{CATEGORY}"
BOWL, CUP = "POT-BOWL-1", "POT-CUP-1"  # 32.00 and 12.00 (the cheapest in the category)
VASE, URN = "POT-VASE-1", "POT-URN-1"  # 60 000.00 and 45 000.00, in their own category
BASELINE: dict[str, Any] = {
    "base_days": 2,
    "options": [
        {"name": "glaze", "label": "Glaze", "kind": "choice", "values": ["blue", "green"],
         "price_delta_by_value": {"green": "2.00"}},
        {"name": "engraving", "label": "Engraving", "kind": "text", "max_length": 20,
         "pattern": "^[A-Za-z ]*$", "charset": "letters and spaces", "price_delta": "5.00",
         "extra_days": 2, "only_when": [{"attribute": "size", "in": ["small"]}],
         "reason": "Only small pieces can be engraved."},
        {"name": "gift_box", "label": "Gift box", "kind": "boolean", "price_delta": "3.00"},
    ],
}
CHOSEN = {"glaze": "green", "engraving": "Ada", "gift_box": True}
CHOSEN_PRICE = "42.00"  # 32.00 + 2.00 + 5.00 + 3.00


@dataclass
class Shop:
    client: TestClient
    merchant: dict[str, str]
    db: sessionmaker[Session]
    bowl: int
    """The bowl's product id."""

    def put(self, spec: dict[str, Any], path: str = RULES) -> httpx.Response:
        """PUT as JSON; Python's encoder writes an infinite float as ``Infinity``, which
        JSON parsers such as the app's accept."""
        return self.client.put(path, content=json.dumps(spec),
                               headers={**self.merchant, "Content-Type": "application/json"})

    def rules(self, path: str = RULES) -> httpx.Response:
        return self.client.get(path, headers=self.merchant)

    def quote(self, options: dict[str, Any], product: int | None = None) -> httpx.Response:
        return self.client.post(f"/api/products/{product or self.bowl}/quote", headers=SERVICE,
                                json={"options": options})

    def shopper(self, name: str) -> Shopper:
        return Shopper(self.client, name)

    def set_spec(self, spec: dict[str, Any], *, kind: str = "category",
                 value: str = CATEGORY) -> None:
        """Write a rule set straight into the database, the way rules written before
        validation existed (or by hand) may sit there."""
        with self.db() as session:
            row = session.scalar(select(CustomizationRuleSet).where(
                CustomizationRuleSet.scope_kind == kind,
                CustomizationRuleSet.scope_value == value))
            if row is None:
                session.add(CustomizationRuleSet(scope_kind=kind, scope_value=value,
                                                 spec=spec, source="database"))
            else:
                row.spec = spec
            session.commit()

    def count(self, model: type[Order] | type[Payment], shopper: str) -> int:
        """How many orders or payments the web shopper ``shopper`` has."""
        with self.db() as session:
            query = select(func.count(model.id))
            if model is Payment:
                query = query.join(Order, Order.id == Payment.order_id)
            query = query.join(ChannelIdentity,
                               ChannelIdentity.customer_id == Order.customer_id)
            return session.scalar(query.where(ChannelIdentity.channel == "web",
                                              ChannelIdentity.external_id == shopper)) or 0


def _product(client: TestClient, merchant: dict[str, str], name: str, category: str,
             variants: list[tuple[str, str, str]]) -> int:
    created = client.post("/api/merchant/products", headers=merchant, json={
        "name": name, "category": category, "attributes": {"type": "bowl"},
        "variants": [{"sku": sku, "price": price, "stock": 500, "attributes": {"size": size}}
                     for sku, price, size in variants]})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


@pytest.fixture(scope="module", params=["sqlite_engine", "postgres_engine"],
                ids=["sqlite", "postgresql"])
def module_shop(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    engine = request.getfixturevalue(request.param)
    _clean(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    with api(factory, tmp_path_factory.mktemp("knowledge")) as client:
        merchant = merchant_headers(factory)
        bowl = _product(client, merchant, "Speckled Bowl", CATEGORY,
                        [(BOWL, "32.00", "small"), ("POT-BOWL-2", "36.00", "large")])
        _product(client, merchant, "Tiny Cup", CATEGORY, [(CUP, "12.00", "small")])
        _product(client, merchant, "Floor Vase", "monuments", [(VASE, "60000.00", "large")])
        _product(client, merchant, "Garden Urn", "monuments", [(URN, "45000.00", "large")])
        yield Shop(client, merchant, factory, bowl)
    _clean(engine)


@pytest.fixture
def shop(module_shop: Shop) -> Shop:
    """The module's shop with only the baseline rules."""
    for scope in (f"sku/{BOWL}", f"sku/{CUP}", "category/monuments"):
        module_shop.client.delete(f"/api/merchant/rules/{scope}", headers=module_shop.merchant)
    saved = module_shop.put(BASELINE)
    assert saved.status_code == 200, saved.text
    return module_shop


def test_a_non_positive_price_from_rules_behind_the_api_never_reaches_an_order(
        shop: Shop) -> None:
    # given a cart line priced with the baseline rules
    shopper = shop.shopper("negative-total")
    assert shopper.add(BOWL, **CHOSEN).status_code == 201
    # when the rules in the database are changed past the API to a 100 EUR discount
    spec = shop.rules().json()
    next(o for o in spec["options"] if o["name"] == "gift_box")["price_delta"] = "-100"
    shop.set_spec(spec)
    # then quoting, adding and checking out are refused with a clear error
    quoted = shop.quote(CHOSEN)
    assert quoted.status_code == 422, quoted.text
    assert quoted.json()["error"]["code"] == "amount_not_positive"
    assert "Speckled Bowl" in quoted.json()["error"]["message"]
    assert shop.shopper("negative-total-2").add(BOWL, **CHOSEN).status_code == 422
    checkout = shopper.checkout()
    assert checkout.status_code == 422, checkout.text
    assert checkout.json()["error"]["code"] == "amount_not_positive"
    # and no order or payment exists for the shopper
    assert shop.count(Order, "negative-total") == 0
    assert shop.count(Payment, "negative-total") == 0


def test_a_payment_is_never_opened_for_a_total_out_of_range(shop: Shop) -> None:
    # given a placed order whose total is then changed in the database
    shopper = shop.shopper("payment-range")
    assert shopper.add(BOWL).status_code == 201
    order = shopper.checkout().json()
    for total, code in [(Decimal("0.00"), "amount_not_positive"),
                        (Decimal("-172.10"), "amount_not_positive"),
                        (Decimal("250000.00"), "amount_too_large")]:
        with shop.db() as session:
            session.execute(update(Order).where(Order.id == order["id"]).values(total=total))
            session.commit()
        # when
        link = shop.client.post(f"/api/orders/{order['id']}/payment",
                                headers={**SERVICE, "Idempotency-Key": f"pay-{total}"})
        # then
        assert link.status_code == 422, link.text
        assert link.json()["error"]["code"] == code
    assert shop.count(Payment, "payment-range") == 0


def test_lines_and_orders_above_the_maximum_total_are_refused(shop: Shop) -> None:
    shopper = shop.shopper("big-spender")
    # a line of 2 x 60 000 is above the 100 000 maximum
    too_many = shopper.add(VASE, quantity=2)
    assert too_many.status_code == 422, too_many.text
    assert too_many.json()["error"]["code"] == "amount_too_large"
    added = shopper.add(VASE)
    assert added.status_code == 201
    assert shopper.add(VASE).status_code == 422  # the same line grown to 2
    line = added.json()["lines"][0]["id"]
    grown = shop.client.patch(f"{shopper.base}/cart/lines/{line}", headers=SERVICE,
                              json={"quantity": 2})
    assert grown.status_code == 422, grown.text
    assert grown.json()["error"]["code"] == "amount_too_large"
    # two lines each below it, the order above it
    assert shopper.add(URN).status_code == 201
    checkout = shopper.checkout()
    assert checkout.status_code == 422, checkout.text
    assert checkout.json()["error"]["code"] == "amount_too_large"
    assert shop.count(Order, "big-spender") == 0
    # and rules that would price one unit above it
    saved = shop.put({"options": [{"name": "gilding", "kind": "boolean",
                                   "price_delta_percent": 100}]},
                     "/api/merchant/rules/category/monuments")
    assert saved.status_code == 200, saved.text
    vase = shop.client.get("/api/products", headers=SERVICE,
                           params={"category": "monuments"}).json()["items"][0]["id"]
    quoted = shop.quote({"gilding": True}, product=vase)
    assert quoted.status_code == 422, quoted.text
    assert quoted.json()["error"]["code"] == "amount_too_large"


def test_valid_rules_pass_every_guard_from_quote_to_payment_link(shop: Shop) -> None:
    """The happy path through every guard: quote, line, order and payment link."""
    shopper = shop.shopper("happy")
    assert shopper.add(BOWL, **CHOSEN).status_code == 201
    order = shopper.checkout()
    assert order.status_code == 201, order.text
    assert order.json()["total"] == "46.90"  # 42.00 + 4.90 shipping
    link = shop.client.post(f"/api/orders/{order.json()['id']}/payment",
                            headers={**SERVICE, "Idempotency-Key": "happy-1"})
    assert link.status_code == 201, link.text
    assert link.json()["amount"] == "46.90"
