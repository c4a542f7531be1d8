"""``GET /api/recommendations`` through the real app, on the demo shop with its demo
order history, paying through the sandbox provider's signed webhook."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from channels.app import create_app
from channels.config import GatewaySettings
from commerce_core.auth import create_api_key
from commerce_core.catalog.importer import import_catalog, read_catalog_file
from commerce_core.customization.loader import load_rule_files
from commerce_core.demo import orders as demo_orders
from commerce_core.models import ChannelIdentity, Order, OrderLine, Variant
from commerce_core.models.order import OrderStatus
from commerce_core.payment.routes import get_provider
from commerce_core.payment.sandbox import SandboxProvider
from knowledge.config import KnowledgeSettings
from knowledge.product_index import ProductIndex
from knowledge.recommend.service import SNAPSHOT_FILE
from tests.commerce_core.helpers import SERVICE, Shopper
from tests.conftest import DEMO_CATALOG, DEMO_RULES, _migrated

URL = "/api/recommendations"
CARD = {"name": "Jeanne Martin", "number": "4242 4242 4242 4242", "expiry": "12/39",
        "cvc": "123"}


@dataclass
class Shop:
    client: TestClient
    db: sessionmaker[Session]
    tmp: Path

    def get(self, **params: Any) -> httpx.Response:
        return self.client.get(URL, headers=SERVICE, params=params)

    def id_of(self, sku: str) -> int:
        with self.db() as session:
            return session.scalar(select(Variant.product_id).where(Variant.sku == sku))

    def buy(self, shopper: str, *skus: str) -> None:
        """Cart → checkout → payment link → the sandbox page paid with a good card."""
        buyer = Shopper(self.client, shopper)
        for sku in skus:
            added = buyer.add(sku)
            assert added.status_code == 201, added.text
        order = buyer.checkout(email=f"{shopper}@example.com")
        assert order.status_code == 201, order.text
        link = self.client.post(f"/api/orders/{order.json()['id']}/payment",
                                headers={**SERVICE, "Idempotency-Key": f"pay-{shopper}"})
        assert link.status_code == 201, link.text
        paid = self.client.post(httpx.URL(link.json()["url"]).path, data=CARD)
        assert paid.status_code == 200, paid.text


@pytest.fixture(scope="module")
def demo_shop_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    """The demo shop with its year of demo orders, as ``load-demo`` leaves it."""
    engine = _migrated(f"sqlite:///{tmp_path_factory.mktemp('recs') / 'shop.db'}")
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        import_catalog(session=session, text=read_catalog_file(DEMO_CATALOG))
        load_rule_files(session=session, directory=DEMO_RULES)
        session.commit()
        assert demo_orders.load(session=session) == demo_orders.ORDERS
        session.commit()
    yield factory
    engine.dispose()


@pytest.fixture
def shop(demo_shop_db: sessionmaker[Session], demo_index: ProductIndex,
         tmp_path: Path) -> Iterator[Shop]:
    demo_index.save(tmp_path / "index")  # same catalog, same ids: loaded, not re-embedded
    app = create_app(GatewaySettings(warm_search_on_start=False), session_factory=demo_shop_db,
                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path))
    provider = SandboxProvider(transport=httpx.ASGITransport(app=app), backoff_seconds=0.01)
    app.dependency_overrides[get_provider] = lambda: provider
    with TestClient(app) as client:
        yield Shop(client=client, db=demo_shop_db, tmp=tmp_path)


def test_the_demo_history_is_loaded_once(demo_shop_db: sessionmaker[Session]) -> None:
    with demo_shop_db() as session:
        assert demo_orders.load(session=session) == 0
        numbers = session.scalars(select(Order.number).where(
            Order.number.startswith(demo_orders.NUMBER_PREFIX))).all()
    assert len(numbers) == demo_orders.ORDERS


def test_the_demo_history_file_is_what_its_seed_generates(tmp_path: Path) -> None:
    again = tmp_path / "orders.tsv"
    demo_orders.generate(again)
    assert again.read_text() == demo_orders.ORDERS_FILE.read_text()


def test_products_viewed_get_what_was_bought_with_them_and_why(shop: Shop) -> None:
    mug = shop.id_of("CER-MUG-001")
    response = shop.get(product="CER-MUG-001", limit=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["product"] == mug and body["cart"] == [] and len(body["results"]) == 10
    results = body["results"]
    assert mug not in [r["id"] for r in results]
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert all(r["reason"] for r in results)
    assert any(r["reason"].startswith("bought together with the Hand-Thrown Ceramic Mug")
               for r in results)
    assert response.json() == shop.get(product=str(mug), limit=10).json() | {
        "product": mug}  # an id or a SKU name the same product


def test_the_cart_and_out_of_stock_products_are_never_offered(shop: Shop) -> None:
    cart = ["CER-MUG-001", "CER-JUG-001"]
    first = shop.get(cart=",".join(cart), limit=20).json()["results"]
    cart_ids = {shop.id_of(s) for s in cart}
    assert not cart_ids & {r["id"] for r in first}
    top = first[0]
    with shop.db() as session:
        stock = dict(session.execute(select(Variant.id, Variant.stock)
                                     .where(Variant.product_id == top["id"])).all())
        # when the best one sells out
        session.execute(update(Variant).where(Variant.product_id == top["id"])
                        .values(stock=0))
        session.commit()
    try:
        shop.client.app.state.knowledge.refresh()
        then = shop.get(cart=",".join(cart), limit=20).json()["results"]
        assert len(then) == 20 and top["id"] not in [r["id"] for r in then]
    finally:
        with shop.db() as session:
            for variant_id, count in stock.items():
                session.execute(update(Variant).where(Variant.id == variant_id)
                                .values(stock=count))
            session.commit()
        shop.client.app.state.knowledge.refresh()


def test_a_paid_order_changes_the_next_answer_without_a_restart(shop: Shop) -> None:
    # given: the dog collar was never bought with the cobalt mug
    collar = shop.id_of("LTH-DOG-001")
    before = shop.get(product="CER-MUG-001", limit=50).json()["results"]
    assert not any(r["id"] == collar and r["reason"].startswith("bought together")
                   for r in before)
    assert shop.get(shopper="web:rec-buyer-1").json()["bought"] == []  # a new shopper
    # when a shopper buys both and pays
    shop.buy("rec-buyer-1", "CER-MUG-001", "LTH-DOG-001")
    # then the next answer knows it
    after = shop.get(product="CER-MUG-001", limit=50).json()["results"]
    [found] = [r for r in after if r["id"] == collar]
    assert found["reason"] == "bought together with the Hand-Thrown Ceramic Mug — Cobalt Blue once"
    # and the buyer's own recommendations start from what they bought
    mine = shop.get(shopper="web:rec-buyer-1", limit=10).json()
    assert set(mine["bought"]) == {shop.id_of("CER-MUG-001"), collar}
    mine = mine["results"]
    assert any("Tan Leather Dog Collar" in r["reason"] or "Cobalt Blue" in r["reason"]
               for r in mine), mine
    assert (shop.tmp / "index" / SNAPSHOT_FILE).exists()


def test_a_returning_shopper_gets_picks_from_their_past_orders(shop: Shop) -> None:
    shopper = "web:demo-shopper-07"
    mine = shop.get(shopper=shopper, limit=5).json()
    new = shop.get(shopper="web:never-seen-before", limit=5).json()
    personal, stranger = mine["results"], new["results"]
    assert personal != stranger
    # the answer says whether the shopper's history spoke (a greeting offers "for you")
    assert mine["bought"] and new["bought"] == []
    assert not {r["id"] for r in personal} & set(mine["bought"])  # nothing bought again
    assert all(r["reason"].startswith("popular in the shop") for r in stranger)
    assert any(not r["reason"].startswith("popular in the shop") for r in personal)


def _delivered_lines(shop: Shop) -> dict[int, tuple[str, str, str]]:
    """Product id → (shopper's web id, order number, SKU) of a delivered demo order line."""
    with shop.db() as session:
        rows = session.execute(
            select(OrderLine.variant_id, Variant.product_id, OrderLine.sku, Order.number,
                   ChannelIdentity.external_id)
            .join(Order, Order.id == OrderLine.order_id)
            .join(Variant, Variant.id == OrderLine.variant_id)
            .join(ChannelIdentity, ChannelIdentity.customer_id == Order.customer_id)
            .where(Order.status == OrderStatus.DELIVERED, ChannelIdentity.channel == "web")
            .order_by(Order.id, OrderLine.id)).all()
    return {product: (shopper, number, sku) for _, product, sku, number, shopper in rows}


def test_reviews_raise_a_well_rated_product_and_sink_a_poorly_rated_one(shop: Shop) -> None:
    # given the pieces offered to a new shopper (popularity alone) and two of them that
    # a demo shopper received
    plain = [r["id"] for r in shop.get(limit=50).json()["results"]]
    lines = _delivered_lines(shop)
    good = next(p for p in plain[5:] if p in lines)
    poor = next(p for p in plain[:40] if p in lines and p != good)
    # when one gets five stars and the other one
    written = []
    for product, stars in ((good, 5), (poor, 1)):
        shopper, number, sku = lines[product]
        review = shop.client.put(f"/api/shoppers/web/{shopper}/orders/{number}/review",
                                 headers=SERVICE, json={"sku": sku, "rating": stars})
        assert review.status_code == 201, review.text
        written.append(review.json()["id"])
    rated = [r["id"] for r in shop.get(limit=50).json()["results"]]
    # then the well-rated one rises, the poorly rated one sinks, the others keep their order
    assert rated.index(good) < plain.index(good)
    assert poor not in rated or rated.index(poor) > plain.index(poor)
    others = [p for p in plain if p not in (good, poor)]
    assert [p for p in rated if p in others] == others[:len([p for p in rated
                                                              if p in others])]
    # and once the merchant hides both reviews, the answer is the one without reviews
    with shop.db() as session:
        _, key = create_api_key(session=session, name="recommendations test")
        session.commit()
    for review_id in written:
        hidden = shop.client.post(f"/api/merchant/reviews/{review_id}/hide",
                                  headers={"Authorization": f"Bearer {key}"},
                                  json={"reason": "test over"})
        assert hidden.status_code == 200, hidden.text
    assert [r["id"] for r in shop.get(limit=50).json()["results"]] == plain


def test_a_merchant_key_gets_an_answer_that_reads_the_database_again(shop: Shop) -> None:
    # given a merchant's script (the key is checked in the request's own session) and a
    # review written since the last answer, so the answer reads the reviews and the
    # shopper's orders with sessions of its own (SQLite: one writer at a time)
    lines = _delivered_lines(shop)
    product, (shopper, number, sku) = next(iter(lines.items()))
    review = shop.client.put(f"/api/shoppers/web/{shopper}/orders/{number}/review",
                             headers=SERVICE, json={"sku": sku, "rating": 4})
    assert review.status_code == 201, review.text
    with shop.db() as session:
        _, key = create_api_key(session=session, name="a merchant's script")
        session.commit()
    # when it asks for a shopper's picks
    response = shop.client.get(URL, headers={"Authorization": f"Bearer {key}"},
                               params={"shopper": f"web:{shopper}", "limit": 5})
    # then it is answered, with the shopper's history
    assert response.status_code == 200, response.text
    assert product in response.json()["bought"]


@pytest.mark.parametrize(("params", "status", "code"), [
    ({"shopper": "nochannel"}, 422, "invalid_identity"),
    ({"shopper": "fax:123"}, 422, "invalid_identity"),
    ({"cart": "CER-MUG-001,<script>"}, 422, "invalid_products"),
    ({"cart": ",".join(f"S{i}" for i in range(51))}, 422, "invalid_products"),
    ({"product": "NO-SUCH-SKU"}, 404, "product_not_found"),
    ({"product": "999999"}, 404, "product_not_found"),
    ({"cart": "CER-MUG-001,NOPE-1"}, 404, "product_not_found"),
    ({"limit": "0"}, 422, "invalid_request"),
    ({"limit": "51"}, 422, "invalid_request"),
    ({"product": "CER-MUG-001,CER-MUG-002"}, 422, "invalid_products"),
])
def test_bad_input_gets_a_clear_error(shop: Shop, params: dict[str, str], status: int,
                                      code: str) -> None:
    response = shop.get(**params)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_the_route_needs_the_service_token_and_is_documented(shop: Shop) -> None:
    assert shop.client.get(URL).status_code == 401
    spec = shop.client.get("/openapi.json").json()["paths"][URL]["get"]
    assert {"200", "401", "404", "422"} <= set(spec["responses"])
    assert {p["name"] for p in spec["parameters"]} >= {"shopper", "cart", "product", "limit"}
