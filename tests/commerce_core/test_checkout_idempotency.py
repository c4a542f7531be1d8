"""A checkout sent again with its Idempotency-Key gets the order it placed, never a second
one (a chat turn replayed after the action server died), on SQLite and PostgreSQL."""

import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.cart.schemas import LineIn
from commerce_core.cart.service import add_line
from commerce_core.customer.service import get_or_create_customer
from commerce_core.db import make_engine
from commerce_core.errors import CommerceError
from commerce_core.models import CheckoutKey, Order, Variant
from commerce_core.order.schemas import CheckoutIn
from commerce_core.order.service import checkout_once
from tests.commerce_core.helpers import ADDRESS, SERVICE, Shopper, api

SKU = "CER-MUG-002"


def stock(factory: sessionmaker[Session], sku: str = SKU) -> int:
    with factory() as session:
        return session.scalar(select(Variant.stock).where(Variant.sku == sku))


def orders(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count(Order.id)))


def checkout(shopper: Shopper, key: str | None) -> object:
    headers = {**SERVICE, **({"Idempotency-Key": key} if key is not None else {})}
    return shopper.client.post(f"{shopper.base}/checkout", headers=headers,
                               json={"email": "jeanne@example.com", "address": ADDRESS})


def test_the_same_key_gives_back_the_order_it_placed(demo_catalog, tmp_path: Path) -> None:
    with api(demo_catalog, tmp_path) as client:
        before = stock(demo_catalog)
        shopper = Shopper(client, "replayed-1")
        shopper.add(SKU, 2)
        # when: the checkout is sent, then sent again with the same key
        first = checkout(shopper, "turn-5d1c0f2a")
        again = checkout(shopper, "turn-5d1c0f2a")
        # then: one order, reserved once; the retry is told which one
        assert first.status_code == 201, first.text
        assert again.status_code == 200, again.text
        assert again.json()["number"] == first.json()["number"]
        assert again.json()["total"] == first.json()["total"]
        assert orders(demo_catalog) == 1
        assert stock(demo_catalog) == before - 2
        # a new turn with a new key and an empty cart places nothing
        other = checkout(shopper, "turn-77aa0b31")
        assert other.status_code == 409 and other.json()["error"]["code"] == "empty_cart"
        assert orders(demo_catalog) == 1


def test_a_key_belongs_to_one_customer(demo_catalog, tmp_path: Path) -> None:
    with api(demo_catalog, tmp_path) as client:
        alice, bob = Shopper(client, "key-alice"), Shopper(client, "key-bob")
        alice.add(SKU, 1)
        bob.add("CER-MUG-001", 1)
        mine = checkout(alice, "turn-shared")
        theirs = checkout(bob, "turn-shared")
        assert mine.status_code == theirs.status_code == 201
        assert mine.json()["number"] != theirs.json()["number"]
        assert [x["sku"] for x in theirs.json()["lines"]] == ["CER-MUG-001"]
        assert orders(demo_catalog) == 2


def test_without_a_key_a_second_checkout_finds_the_cart_empty(demo_catalog,
                                                                tmp_path: Path) -> None:
    with api(demo_catalog, tmp_path) as client:
        shopper = Shopper(client, "no-key")
        shopper.add(SKU, 1)
        assert checkout(shopper, None).status_code == 201
        again = checkout(shopper, None)
        assert again.status_code == 409 and again.json()["error"]["code"] == "empty_cart"
        assert orders(demo_catalog) == 1


def test_a_malformed_key_is_refused_and_places_nothing(demo_catalog, tmp_path: Path) -> None:
    with api(demo_catalog, tmp_path) as client:
        shopper = Shopper(client, "bad-key")
        shopper.add(SKU, 1)
        for key in ("k" * 101, "tab\there"):
            response = checkout(shopper, key)
            assert response.status_code == 422, response.text
            assert response.json()["error"]["code"] == "invalid_request"
        assert orders(demo_catalog) == 0
        assert shopper.cart().json()["lines"] != []


def test_concurrent_checkouts_with_one_key_place_one_order(demo_catalog) -> None:
    engine = make_engine(demo_catalog.kw["bind"].url.render_as_string(hide_password=False),
                         pool_size=12, max_overflow=0)
    factory = sessionmaker(engine, expire_on_commit=False)
    details = CheckoutIn.model_validate({"email": "jeanne@example.com", "address": ADDRESS})
    with factory() as session:
        customer = get_or_create_customer(session=session, channel="web", external_id="twice")
        add_line(session=session, customer=customer, line=LineIn(sku=SKU, quantity=1),
                 today=datetime.now(UTC).date())
        session.commit()
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def place() -> None:
        barrier.wait(timeout=60)
        with factory() as session:
            buyer = get_or_create_customer(session=session, channel="web", external_id="twice")
            try:
                order, _ = checkout_once(session=session, customer=buyer, details=details,
                                         key="turn-same", now=datetime.now(UTC))
                session.commit()
                result = order.number
            except CommerceError as exc:
                session.rollback()
                result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=place) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    with factory() as session:
        numbers = session.scalars(select(Order.number)).all()
        keys = session.scalar(select(func.count(CheckoutKey.id)))
    engine.dispose()
    assert len(numbers) == 1 and keys == 1
    assert len(outcomes) == 8 and set(outcomes) <= {numbers[0], "idempotency_conflict"}
    assert numbers[0] in outcomes
