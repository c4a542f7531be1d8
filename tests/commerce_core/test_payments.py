"""Payments end to end: payment links, the sandbox's hosted page, signed webhooks
delivered in-process over HTTP (httpx.ASGITransport), refunds and cancellation — on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from channels.app import create_app
from channels.config import GatewaySettings
from commerce_core import clock
from commerce_core.auth import create_api_key
from commerce_core.config import get_settings
from commerce_core.models import (
    Order,
    OrderEvent,
    OrderStatus,
    OutboxMessage,
    Payment,
    PaymentState,
    Variant,
    WebhookEvent,
)
from commerce_core.order.repository import OrderRepository
from commerce_core.order.service import expire_reservations
from commerce_core.payment import signing
from commerce_core.payment.provider import EventType, PaymentRef, build_event
from commerce_core.payment.routes import get_provider
from commerce_core.payment.sandbox import SandboxProvider
from knowledge.config import KnowledgeSettings

SERVICE = {"Authorization": "Bearer change-me"}
SECRET = get_settings().payment_webhook_secret
SKU = "CER-MUG-001"
ADDRESS = {"name": "Ada Lovelace", "line1": "12 rue des Arts", "city": "Lyon",
           "postal_code": "69001", "country": "FR"}
GOOD_CARD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "12/39",
             "cvc": "123"}


@dataclass
class Shop:
    client: TestClient
    provider: SandboxProvider
    db: sessionmaker[Session]

    def place_order(self, shopper: str = "alice", quantity: int = 1) -> dict[str, Any]:
        added = self.client.post(f"/api/shoppers/web/{shopper}/cart/lines", headers=SERVICE,
                                 json={"sku": SKU, "quantity": quantity})
        assert added.status_code == 201, added.text
        order = self.client.post(f"/api/shoppers/web/{shopper}/checkout", headers=SERVICE,
                                 json={"email": f"{shopper}@example.com", "address": ADDRESS})
        assert order.status_code == 201, order.text
        return order.json()

    def payment_link(self, order_id: int, key: str) -> httpx.Response:
        return self.client.post(f"/api/orders/{order_id}/payment",
                                headers={**SERVICE, "Idempotency-Key": key})

    def pay(self, url: str, **card: str) -> httpx.Response:
        return self.client.post(httpx.URL(url).path, data={**GOOD_CARD, **card})

    def deliver(self, event: dict[str, Any], *, secret: str = SECRET,
                timestamp: int | None = None, body: bytes | None = None) -> httpx.Response:
        """POST an event to the webhook the way a provider does: raw JSON, signed."""
        raw = json.dumps(event).encode()
        header = signing.sign(raw, secret=secret,
                              timestamp=timestamp or int(clock.now().timestamp()))
        return self.client.post("/api/payments/webhook", content=body or raw,
                                headers={"Content-Type": "application/json",
                                         signing.SIGNATURE_HEADER: header})

    def order(self, order_id: int) -> Order:
        with self.db() as session:
            order = session.get(Order, order_id)
            assert order is not None
            return order

    def events(self, order_id: int) -> list[str]:
        with self.db() as session:
            return list(session.scalars(select(OrderEvent.type).where(
                OrderEvent.order_id == order_id).order_by(OrderEvent.id)))

    def payments(self, order_id: int) -> list[Payment]:
        with self.db() as session:
            return list(session.scalars(select(Payment).where(Payment.order_id == order_id)
                                        .order_by(Payment.id)))

    def stock(self) -> int:
        with self.db() as session:
            return session.scalar(select(Variant.stock).where(Variant.sku == SKU)) or 0

    def webhook_rows(self) -> int:
        with self.db() as session:
            return session.scalar(select(func.count()).select_from(WebhookEvent)) or 0

    def merchant_key(self) -> str:
        with self.db() as session:
            _, key = create_api_key(session=session, name="test merchant")
            session.commit()
        return key


@pytest.fixture
def shop(demo_catalog: sessionmaker[Session], tmp_path: Path) -> Iterator[Shop]:
    app = create_app(GatewaySettings(warm_search_on_start=False), session_factory=demo_catalog,
                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path))
    provider = SandboxProvider(transport=httpx.ASGITransport(app=app), backoff_seconds=0.01)
    app.dependency_overrides[get_provider] = lambda: provider
    with TestClient(app) as client:
        yield Shop(client=client, provider=provider, db=demo_catalog)


def _ref(payment: Payment) -> PaymentRef:
    return PaymentRef(token=payment.token, order_id=payment.order_id, amount=payment.amount,
                      currency=payment.currency)


# --- signing ---------------------------------------------------------------------------

def test_signature_round_trip_returns_the_signed_timestamp() -> None:
    # given
    body = b'{"id":"evt_1"}'
    header = signing.sign(body, secret="s3cret", timestamp=1_700_000_000)
    # when
    timestamp = signing.verify(body, header, secret="s3cret", now=1_700_000_100)
    # then
    assert timestamp == 1_700_000_000
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64


@pytest.mark.parametrize(("body", "secret", "now", "error"), [
    (b'{"id":"evt_2"}', "s3cret", 1_700_000_000, signing.SignatureMismatch),  # tampered
    (b'{"id":"evt_1"}', "other", 1_700_000_000, signing.SignatureMismatch),  # wrong secret
    (b'{"id":"evt_1"}', "s3cret", 1_700_000_301, signing.StaleSignature),  # too old
    (b'{"id":"evt_1"}', "s3cret", 1_699_999_699, signing.StaleSignature),  # from the future
])
def test_signature_is_refused_when_anything_differs(body: bytes, secret: str, now: int,
                                                     error: type[Exception]) -> None:
    # given
    header = signing.sign(b'{"id":"evt_1"}', secret="s3cret", timestamp=1_700_000_000)
    # when / then
    with pytest.raises(error) as raised:
        signing.verify(body, header, secret=secret, now=now)
    assert raised.value.code == "invalid_signature" and raised.value.http_status == 400


@pytest.mark.parametrize("header", [
    None, "", "garbage", "t=abc,v1=" + "0" * 64, "v1=" + "0" * 64, "t=1700000000",
    "t=1700000000,v1=xyz", "t=1,t=2,v1=" + "0" * 64, "t=1700000000,v1=" + "0" * 2000,
])
def test_malformed_signature_header_is_a_typed_error(header: str | None) -> None:
    with pytest.raises(signing.MalformedSignature):
        signing.verify(b"{}", header, secret="s3cret", now=1_700_000_000)


def test_any_matching_v1_is_enough_while_a_secret_rotates() -> None:
    # given
    good = signing.sign(b"{}", secret="new", timestamp=1_700_000_000).split(",")[1]
    header = f"t=1700000000,v1={'a' * 64},{good}"
    # when / then
    assert signing.verify(b"{}", header, secret="new", now=1_700_000_000) == 1_700_000_000


# --- the full flow ---------------------------------------------------------------------

def test_card_4242_pays_the_order_through_a_signed_webhook(shop: Shop,
                                                           caplog: pytest.LogCaptureFixture
                                                           ) -> None:
    caplog.set_level(logging.DEBUG)
    # given
    order = shop.place_order()
    link = shop.payment_link(order["id"], "pay-1")
    assert link.status_code == 201, link.text
    body = link.json()
    assert body["url"] == f"{get_settings().public_url}/pay/{body['token']}"
    assert (body["amount"], body["currency"], body["state"]) == (order["total"], "EUR",
                                                                 "created")
    page = shop.client.get(httpx.URL(body["url"]).path)
    assert page.status_code == 200
    assert order["number"] in page.text and "Atelier" in page.text
    assert f"€{Decimal(order['total']):,.2f}" in page.text
    for attribute in ('autocomplete="cc-number"', 'autocomplete="cc-exp"',
                      'autocomplete="cc-csc"', 'autocomplete="cc-name"', '<label for="number"'):
        assert attribute in page.text
    # when
    paid = shop.pay(body["url"])
    # then
    assert paid.status_code == 200
    assert "Payment received — you can go back to the chat" in paid.text
    assert shop.order(order["id"]).status is OrderStatus.PAID
    [payment] = shop.payments(order["id"])
    assert payment.state is PaymentState.SUCCEEDED and payment.provider_ref.endswith("_4242")
    assert shop.events(order["id"]).count("paid") == 1
    assert shop.webhook_rows() == 1
    again = shop.client.get(httpx.URL(body["url"]).path)
    assert "This order is paid" in again.text and "<form" not in again.text
    # card data is neither stored nor logged
    with shop.db() as session:
        stored = json.dumps([p.payload for p in session.scalars(select(WebhookEvent))])
    assert "4242424242424242" not in stored + str(payment.provider_ref)
    assert "4242 4242 4242 4242" not in caplog.text and "4242424242424242" not in caplog.text


def test_declined_card_leaves_the_order_payable_and_a_retry_succeeds(shop: Shop) -> None:
    # given
    order = shop.place_order()
    url = shop.payment_link(order["id"], "pay-2").json()["url"]
    # when
    declined = shop.pay(url, number="4000 0000 0000 0002")
    # then
    assert declined.status_code == 402
    assert "Your card was declined" in declined.text and "<form" in declined.text
    [payment] = shop.payments(order["id"])
    assert payment.state is PaymentState.FAILED
    assert shop.order(order["id"]).status is OrderStatus.PENDING_PAYMENT
    assert "Your card was declined" in shop.client.get(httpx.URL(url).path).text
    # when
    retried = shop.pay(url)
    # then
    assert "Payment received" in retried.text
    [payment] = shop.payments(order["id"])
    assert payment.state is PaymentState.SUCCEEDED and payment.failure_reason is None
    assert shop.order(order["id"]).status is OrderStatus.PAID
    assert shop.events(order["id"]).count("paid") == 1


def test_unsupported_test_card_is_declined_as_such(shop: Shop) -> None:
    # given
    order = shop.place_order()
    url = shop.payment_link(order["id"], "pay-3").json()["url"]
    # when
    response = shop.pay(url, number="5555 5555 5555 4444")
    # then
    assert response.status_code == 402 and "unsupported test card" in response.text
    assert shop.payments(order["id"])[0].state is PaymentState.FAILED


@pytest.mark.parametrize(("card", "field", "message"), [
    ({"number": "4242 4242 4242 4241"}, "number", "not valid"),
    ({"number": "4242"}, "number", "12 to 19 digits"),
    ({"expiry": "01/20"}, "expiry", "expired"),
    ({"expiry": "13/39"}, "expiry", "MM/YY"),
    ({"cvc": "12"}, "cvc", "3 or 4 digit"),
    ({"name": ""}, "name", "name shown on the card"),
])
def test_invalid_card_form_is_shown_again_with_the_reason(shop: Shop, card: dict[str, str],
                                                          field: str, message: str) -> None:
    # given
    order = shop.place_order()
    url = shop.payment_link(order["id"], "pay-4").json()["url"]
    # when
    response = shop.pay(url, **card)
    # then
    assert response.status_code == 422
    assert message in response.text and f'aria-describedby="{field}-error"' in response.text
    assert "4242 4242" not in response.text.split("Sandbox test cards")[0]  # not echoed
    assert shop.payments(order["id"])[0].state is PaymentState.CREATED
    assert shop.webhook_rows() == 0


@pytest.mark.parametrize("path", ["/pay/does-not-exist-at-all-0000", "/pay/%3Cscript%3E"])
def test_unknown_payment_link_is_a_404_page(shop: Shop, path: str) -> None:
    response = shop.client.get(path)
    assert response.status_code == 404 and "Payment link not found" in response.text
    assert "<script>" not in response.text


def test_oversized_or_non_form_body_is_refused_without_a_charge(shop: Shop) -> None:
    # given
    order = shop.place_order()
    path = httpx.URL(shop.payment_link(order["id"], "pay-5").json()["url"]).path
    # when
    too_big = shop.client.post(path, content=b"name=" + b"a" * 5000,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    as_json = shop.client.post(path, json=GOOD_CARD)
    # then
    assert (too_big.status_code, as_json.status_code) == (413, 415)
    assert shop.webhook_rows() == 0
    assert shop.order(order["id"]).status is OrderStatus.PENDING_PAYMENT


# --- payment links ---------------------------------------------------------------------

def test_the_same_idempotency_key_gives_back_the_same_payment(shop: Shop) -> None:
    # given
    order = shop.place_order()
    first = shop.payment_link(order["id"], "key-1")
    # when
    second = shop.payment_link(order["id"], "key-1")
    # then
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert len(shop.payments(order["id"])) == 1


def test_payment_link_refusals_are_readable(shop: Shop) -> None:
    # given
    order = shop.place_order("alice")
    other = shop.place_order("bob")
    url = shop.payment_link(order["id"], "key-a").json()["url"]
    shop.pay(url)
    # when
    reused = shop.payment_link(other["id"], "key-a")
    paid = shop.payment_link(order["id"], "key-b")
    missing = shop.client.post(f"/api/orders/{other['id']}/payment", headers=SERVICE)
    bad_key = shop.payment_link(other["id"], "x" * 101)
    unknown = shop.payment_link(2**31 - 1, "key-c")
    huge = shop.payment_link(2**40, "key-d")
    anonymous = shop.client.post(f"/api/orders/{other['id']}/payment",
                                 headers={"Idempotency-Key": "key-e"})
    # then
    assert (reused.status_code, reused.json()["error"]["code"]) == (409, "idempotency_conflict")
    assert paid.status_code == 409 and "already paid" in paid.json()["error"]["message"]
    assert (missing.status_code, bad_key.status_code) == (422, 422)
    assert missing.json()["error"]["code"] == "invalid_idempotency_key"
    assert (unknown.status_code, huge.status_code, anonymous.status_code) == (404, 422, 401)
    assert shop.payments(other["id"]) == []


# --- the webhook -----------------------------------------------------------------------

def test_the_same_event_ten_times_pays_the_order_once(shop: Shop) -> None:
    # given
    order = shop.place_order()
    shop.payment_link(order["id"], "key-10")
    [payment] = shop.payments(order["id"])
    event = build_event(type=EventType.PAYMENT_SUCCEEDED, payment=_ref(payment),
                        created=clock.now().timestamp(), provider_ref="ch_test_4242")
    # when
    statuses = [shop.deliver(event).json()["status"] for _ in range(10)]
    # then
    assert statuses == ["processed"] + ["duplicate"] * 9
    assert shop.payments(order["id"])[0].state is PaymentState.SUCCEEDED
    assert shop.order(order["id"]).status is OrderStatus.PAID
    assert shop.events(order["id"]).count("paid") == 1
    assert shop.webhook_rows() == 1


@pytest.mark.parametrize("age", [5, -5], ids=["older_failure", "newer_failure"])
def test_a_failure_never_overrides_a_success(shop: Shop, age: int) -> None:
    # given
    order = shop.place_order()
    shop.payment_link(order["id"], "key-11")
    [payment] = shop.payments(order["id"])
    now = clock.now().timestamp()
    succeeded = build_event(type=EventType.PAYMENT_SUCCEEDED, payment=_ref(payment),
                            created=now, provider_ref="ch_new_4242")
    failed = build_event(type=EventType.PAYMENT_FAILED, payment=_ref(payment),
                         created=now - age, reason="Your card was declined.")
    assert shop.deliver(succeeded).json() == {"status": "processed"}
    # when
    response = shop.deliver(failed)
    # then
    assert response.status_code == 200 and response.json() == {"status": "ignored"}
    [payment] = shop.payments(order["id"])
    assert (payment.state, payment.failure_reason) == (PaymentState.SUCCEEDED, None)
    assert shop.order(order["id"]).status is OrderStatus.PAID
    assert "payment_failed" not in shop.events(order["id"])


def test_an_older_failure_does_not_replace_the_newer_failure_reason(shop: Shop) -> None:
    # given
    order = shop.place_order()
    shop.payment_link(order["id"], "key-16")
    [payment] = shop.payments(order["id"])
    now = clock.now().timestamp()
    assert shop.deliver(build_event(type=EventType.PAYMENT_FAILED, payment=_ref(payment),
                                    created=now, reason="newest reason")).json() == {
        "status": "processed"}
    # when
    response = shop.deliver(build_event(type=EventType.PAYMENT_FAILED, payment=_ref(payment),
                                        created=now - 1, reason="older reason"))
    # then
    assert response.json() == {"status": "ignored"}
    assert shop.payments(order["id"])[0].failure_reason == "newest reason"
    assert shop.webhook_rows() == 2  # recorded, so a replay of it is a duplicate


def test_concurrent_deliveries_of_one_event_pay_the_order_once(shop: Shop) -> None:
    # given
    order = shop.place_order()
    shop.payment_link(order["id"], "key-17")
    [payment] = shop.payments(order["id"])
    event = build_event(type=EventType.PAYMENT_SUCCEEDED, payment=_ref(payment),
                        created=clock.now().timestamp())
    barrier = threading.Barrier(6)

    def deliver() -> str:
        barrier.wait()
        return str(shop.deliver(event).json()["status"])

    # when
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(lambda _: deliver(), range(6)))
    # then
    assert statuses == ["duplicate"] * 5 + ["processed"]
    assert shop.events(order["id"]).count("paid") == 1
    assert shop.webhook_rows() == 1


def test_a_late_success_after_a_newer_failure_is_never_lost(shop: Shop) -> None:
    # given
    order = shop.place_order()
    shop.payment_link(order["id"], "key-12")
    [payment] = shop.payments(order["id"])
    now = clock.now().timestamp()
    shop.deliver(build_event(type=EventType.PAYMENT_FAILED, payment=_ref(payment),
                             created=now, reason="Your card was declined."))
    # when
    response = shop.deliver(build_event(type=EventType.PAYMENT_SUCCEEDED,
                                        payment=_ref(payment), created=now - 5))
    # then
    assert response.json() == {"status": "processed"}
    assert shop.order(order["id"]).status is OrderStatus.PAID


@pytest.mark.parametrize("variant", ["wrong_secret", "tampered", "stale", "missing"])
def test_an_unverifiable_webhook_is_refused_and_changes_nothing(shop: Shop,
                                                                variant: str) -> None:
    # given
    order = shop.place_order()
    shop.payment_link(order["id"], "key-13")
    [payment] = shop.payments(order["id"])
    event = build_event(type=EventType.PAYMENT_SUCCEEDED, payment=_ref(payment),
                        created=clock.now().timestamp())
    # when
    if variant == "wrong_secret":
        response = shop.deliver(event, secret="not-the-secret")
    elif variant == "tampered":
        forged = {**event, "data": {**event["data"], "amount": "0.01"}}
        response = shop.deliver(event, body=json.dumps(forged).encode())
    elif variant == "stale":
        response = shop.deliver(event, timestamp=int(clock.now().timestamp()) - 301)
    else:
        response = shop.client.post("/api/payments/webhook", json=event)
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert shop.order(order["id"]).status is OrderStatus.PENDING_PAYMENT
    assert shop.payments(order["id"])[0].state is PaymentState.CREATED
    assert shop.webhook_rows() == 0


@pytest.mark.parametrize(("event", "status", "code"), [
    (b"{not json", 400, "invalid_event"),
    (b'{"id": "evt_x", "type": "payment.succeeded"}', 400, "invalid_event"),
    (b'{"id": "evt_x", "type": "payment.succeeded", "created": 1, "data": {'
     b'"payment_token": "nope", "order_id": 1, "amount": "1.00", "currency": "EUR"}}',
     404, "payment_not_found"),
    (b"[]", 400, "invalid_event"),
])
def test_a_signed_but_invalid_event_gets_a_clear_4xx(shop: Shop, event: bytes, status: int,
                                                     code: str) -> None:
    # given
    header = signing.sign(event, secret=SECRET, timestamp=int(clock.now().timestamp()))
    # when
    response = shop.client.post("/api/payments/webhook", content=event,
                                headers={signing.SIGNATURE_HEADER: header})
    # then
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert shop.webhook_rows() == 0


def test_an_event_for_another_amount_is_refused(shop: Shop) -> None:
    # given
    order = shop.place_order()
    shop.payment_link(order["id"], "key-14")
    [payment] = shop.payments(order["id"])
    event = build_event(type=EventType.PAYMENT_SUCCEEDED,
                        payment=PaymentRef(payment.token, payment.order_id, Decimal("0.01"),
                                           "EUR"), created=clock.now().timestamp())
    # when
    response = shop.deliver(event)
    # then
    assert (response.status_code, response.json()["error"]["code"]) == (422, "event_mismatch")
    assert shop.order(order["id"]).status is OrderStatus.PENDING_PAYMENT


def test_delivery_is_retried_with_backoff_after_connection_errors(
        demo_catalog: sessionmaker[Session], tmp_path: Path) -> None:
    # given: the network drops the first two deliveries
    app = create_app(GatewaySettings(warm_search_on_start=False), session_factory=demo_catalog,
                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path))
    attempts: list[str] = []

    class Flaky(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.ASGITransport(app=app)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            attempts.append(request.url.path)
            if len(attempts) <= 2:
                raise httpx.ConnectError("connection refused", request=request)
            return await self.inner.handle_async_request(request)

    provider = SandboxProvider(transport=Flaky(), backoff_seconds=0.01)
    app.dependency_overrides[get_provider] = lambda: provider
    with TestClient(app) as client:
        shop = Shop(client=client, provider=provider, db=demo_catalog)
        order = shop.place_order()
        url = shop.payment_link(order["id"], "key-15").json()["url"]
        # when
        paid = shop.pay(url)
        assert shop.order(order["id"]).status is OrderStatus.PENDING_PAYMENT
        assert provider.webhooks.pending == 1
        client.portal.call(provider.webhooks.drain)
    # then
    assert "Payment received" in paid.text
    assert attempts == ["/api/payments/webhook"] * 3
    assert shop.order(order["id"]).status is OrderStatus.PAID


# --- refunds and cancellation ----------------------------------------------------------

def test_merchant_refund_refunds_the_order_and_restocks(shop: Shop) -> None:
    # given
    initial = shop.stock()
    order = shop.place_order(quantity=2)
    shop.pay(shop.payment_link(order["id"], "key-20").json()["url"])
    assert shop.stock() == initial - 2
    key = shop.merchant_key()
    # when
    response = shop.client.post(f"/api/merchant/orders/{order['id']}/refund",
                                headers={"Authorization": f"Bearer {key}"})
    # then
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["payment_status"]) == ("refunded",
                                                                               "refunded")
    assert shop.payments(order["id"])[0].state is PaymentState.REFUNDED
    assert shop.stock() == initial
    assert shop.events(order["id"])[-2:] == ["refund_requested", "refunded"]
    again = shop.client.post(f"/api/merchant/orders/{order['id']}/refund",
                             headers={"Authorization": f"Bearer {key}"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "order_not_refundable")
    assert shop.client.post(f"/api/merchant/orders/{order['id']}/refund",
                            headers=SERVICE).status_code == 401


def test_shopper_cancels_an_unpaid_order_and_the_stock_comes_back(shop: Shop) -> None:
    # given
    initial = shop.stock()
    order = shop.place_order()
    assert shop.stock() == initial - 1
    # when
    response = shop.client.post(f"/api/shoppers/web/alice/orders/{order['number']}/cancel",
                                headers=SERVICE)
    # then
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert shop.stock() == initial


def test_shopper_cancels_a_paid_order_through_a_refund(shop: Shop) -> None:
    # given
    initial = shop.stock()
    order = shop.place_order()
    shop.pay(shop.payment_link(order["id"], "key-21").json()["url"])
    # when
    response = shop.client.post(f"/api/shoppers/web/alice/orders/{order['number']}/cancel",
                                headers=SERVICE)
    # then
    assert response.json()["status"] == "refunded"
    assert shop.payments(order["id"])[0].state is PaymentState.REFUNDED
    assert shop.stock() == initial


def test_nobody_else_can_cancel_an_order(shop: Shop) -> None:
    # given
    order = shop.place_order("alice")
    # when
    other = shop.client.post(f"/api/shoppers/web/mallory/orders/{order['number']}/cancel",
                             headers=SERVICE)
    wrong = shop.client.post("/api/shoppers/web/alice/orders/AT-ZZZZZZ/cancel",
                             headers=SERVICE)
    # then
    assert other.status_code == wrong.status_code == 404
    assert other.json()["error"]["code"] == wrong.json()["error"]["code"] == "order_not_found"
    assert shop.order(order["id"]).status is OrderStatus.PENDING_PAYMENT


def test_a_shipped_order_cannot_be_cancelled(shop: Shop) -> None:
    # given
    order = shop.place_order()
    shop.pay(shop.payment_link(order["id"], "key-22").json()["url"])
    with shop.db() as session:
        repo = OrderRepository(session)
        paid = repo.get(order["id"])
        assert paid is not None
        repo.transition(paid, to=OrderStatus.SHIPPED, event="shipped")
        session.commit()
    # when
    response = shop.client.post(f"/api/shoppers/web/alice/orders/{order['number']}/cancel",
                                headers=SERVICE)
    # then
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_not_cancellable"
    assert "return" in response.json()["error"]["message"]
    assert shop.payments(order["id"])[0].state is PaymentState.SUCCEEDED


def test_a_payment_after_the_reservation_expired_is_refunded_automatically(shop: Shop
                                                                           ) -> None:
    # given: the order was cancelled when its reservation ran out
    initial = shop.stock()
    order = shop.place_order()
    shop.payment_link(order["id"], "key-23")
    [payment] = shop.payments(order["id"])
    with shop.db() as session:
        later = clock.now() + timedelta(minutes=get_settings().reservation_minutes + 1)
        assert expire_reservations(session=session, now=later) == 1
        session.commit()
    assert shop.stock() == initial
    # when: the provider reports the card charged a moment before
    event = build_event(type=EventType.PAYMENT_SUCCEEDED, payment=_ref(payment),
                        created=clock.now().timestamp(), provider_ref="ch_late_4242")
    delivered = shop.client.portal.call(partial(shop.provider.emit, event))
    # then
    assert delivered
    assert shop.order(order["id"]).status is OrderStatus.CANCELLED
    assert shop.payments(order["id"])[0].state is PaymentState.REFUNDED
    events = shop.events(order["id"])
    assert events[-3:] == ["paid_after_cancel", "refund_requested", "payment_refunded"]
    assert "paid" not in events
    assert shop.stock() == initial
    page = shop.client.get(f"/pay/{payment.token}")
    assert "refunded" in page.text and "<form" not in page.text


def _news(shop: Shop, order_id: int) -> list[tuple[str, dict[str, Any]]]:
    """The order news written to the outbox for the shopper, oldest first."""
    with shop.db() as session:
        return [(m.kind, m.data) for m in session.scalars(
            select(OutboxMessage).where(OutboxMessage.stream == f"order:{order_id}")
            .order_by(OutboxMessage.id))]


def test_a_late_payment_tells_the_shopper_of_its_refund(shop: Shop) -> None:
    # given an order cancelled when its reservation ran out, with a payment link open
    order = shop.place_order()
    shop.payment_link(order["id"], "key-late")
    other = shop.payment_link(order["id"], "key-late-2").json()["url"]
    [payment, _] = shop.payments(order["id"])
    with shop.db() as session:
        later = clock.now() + timedelta(minutes=get_settings().reservation_minutes + 1)
        assert expire_reservations(session=session, now=later) == 1
        session.commit()
    # when the card is charged after all, and the sandbox refunds it
    event = build_event(type=EventType.PAYMENT_SUCCEEDED, payment=_ref(payment),
                        created=clock.now().timestamp(), provider_ref="ch_late_9")
    assert shop.client.portal.call(partial(shop.provider.emit, event))
    # then the order says the money came and went back, and the shopper is to be told
    seen = shop.client.get(f"/api/shoppers/web/alice/orders/{order['number']}",
                           headers=SERVICE).json()
    assert (seen["status"], seen["payment_status"]) == ("cancelled", "refunded")
    news = _news(shop, order["id"])
    assert [kind for kind, _ in news] == ["order.cancelled", "order.payment_refunded"]
    told = news[-1][1]
    assert (told["reason"], told["amount"], told["currency"]) == (
        "paid_after_cancel", order["total"], "EUR")
    assert told["identities"] == [{"channel": "web", "external_id": "alice"}]
    # and the other payment page of the order does not call it paid
    page = shop.client.get(httpx.URL(other).path)
    assert "cancelled" in page.text and "This order is paid" not in page.text


def test_a_second_link_paid_for_a_paid_order_is_refunded(shop: Shop) -> None:
    # given
    order = shop.place_order()
    first = shop.payment_link(order["id"], "key-24").json()["url"]
    second = shop.payment_link(order["id"], "key-25").json()["url"]
    shop.pay(first)
    # when
    page = shop.client.get(httpx.URL(second).path)
    [_, payment_2] = shop.payments(order["id"])
    shop.deliver(build_event(type=EventType.PAYMENT_SUCCEEDED, payment=_ref(payment_2),
                             created=clock.now().timestamp()))
    # then
    assert "This order is paid" in page.text and "<form" not in page.text
    states = [p.state for p in shop.payments(order["id"])]
    assert states == [PaymentState.SUCCEEDED, PaymentState.REFUNDED]
    assert shop.order(order["id"]).status is OrderStatus.PAID
    assert shop.events(order["id"]).count("paid") == 1
    # the order stays paid by the first payment; the shopper hears of the second's refund
    assert shop.order(order["id"]).payment_status.value == "paid"
    [(kind, told)] = [n for n in _news(shop, order["id"]) if n[0] != "order.paid"]
    assert (kind, told["reason"], told["amount"]) == (
        "order.payment_refunded", "duplicate_payment", order["total"])
    assert "duplicate_payment" in shop.events(order["id"])
