"""Proactive messages: an order paid through the signed sandbox webhook, then shipped, is
told in the shopper's conversation — live, or on the widget's replay when it was offline."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from channels.identity import sign_customer_token
from commerce_core import clock
from commerce_core.auth import create_api_key
from commerce_core.config import get_settings
from commerce_core.order.service import expire_reservations
from commerce_core.payment.provider import EventType, PaymentRef, build_event
from commerce_core.payment.routes import get_provider
from tests.channels.conftest import Gateway
from tests.channels.fake_bot_api import TOKEN, FakeBotApi
from tests.channels.fake_rasa import wait_for
from tests.channels.web_chat import chat_body, chat_socket, gateway_of, recorded

SERVICE = {"Authorization": "Bearer change-me"}
ADDRESS = {"name": "Ada Lovelace", "line1": "12 rue des Arts", "city": "Lyon",
           "postal_code": "69001", "country": "FR"}
CARD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "12/39",
        "cvc": "123"}
SECRET = "widget-secret-for-tests"


def place_order(client: TestClient, shopper: str, channel: str = "web") -> dict[str, Any]:
    base = f"/api/shoppers/{channel}/{shopper}"
    added = client.post(f"{base}/cart/lines", headers=SERVICE,
                        json={"sku": "CER-MUG-001", "quantity": 1})
    assert added.status_code == 201, added.text
    order = client.post(f"{base}/checkout", headers=SERVICE,
                        json={"email": "ada@example.com", "address": ADDRESS})
    assert order.status_code == 201, order.text
    return order.json()


def pay(client: TestClient, order: dict[str, Any]) -> None:
    link = client.post(f"/api/orders/{order['id']}/payment",
                       headers={**SERVICE, "Idempotency-Key": order["number"]})
    assert link.status_code == 201, link.text
    paid = client.post(httpx.URL(link.json()["url"]).path, data=CARD)
    assert paid.status_code == 200 and "Payment received" in paid.text


def ship(client: TestClient, order: dict[str, Any]) -> None:
    with gateway_of(client).session_factory() as session:
        _, key = create_api_key(session=session, name="test merchant")
        session.commit()
    shipped = client.post(f"/api/merchant/orders/{order['id']}/ship",
                          headers={"Authorization": f"Bearer {key}"})
    assert shipped.status_code == 200, shipped.text


def texts(client: TestClient, conversation_id: str) -> list[tuple[str, str]]:
    return [(m["role"], m["text"]) for m in recorded(client, conversation_id)]


def test_payment_and_shipping_are_told_in_the_conversation_that_ordered(gateway: Gateway
                                                                        ) -> None:
    with gateway() as client:
        # given a shopper talking in the widget, with an order placed from there
        client.post("/api/chat", json=chat_body("web-c1", "hi"))
        order = place_order(client, "web-c1")
        paid_text = (f"Payment received for order {order['number']} ({order['total']} EUR). "
                     "Thank you! I'll let you know as soon as it ships.")
        with chat_socket(client, "web-c1", after=0) as ws:
            replay = [ws.receive_json(), ws.receive_json()]
            # when the card is paid (sandbox page → signed webhook → commit)
            pay(client, order)
            # then the open widget hears it live
            live = ws.receive_json()
            assert (live["role"], live["text"]) == ("bot", paid_text)
            assert live["seq"] == replay[-1]["seq"] + 1
            # when the merchant ships it
            ship(client, order)
            shipped = ws.receive_json()
        assert shipped["text"].startswith(
            f"Your order {order['number']} is on its way with simulated: tracking ATS")
        # and the history keeps each message exactly once
        history = texts(client, "web-c1")
        assert history.count(("bot", paid_text)) == 1
        assert history[-1] == ("bot", shipped["text"])


def test_an_offline_widget_gets_the_confirmation_when_it_reconnects(gateway: Gateway) -> None:
    with gateway() as client:
        # given a widget that saw the conversation up to some message, then went away
        client.post("/api/chat", json=chat_body("web-off", "hello"))
        order = place_order(client, "web-off")
        with chat_socket(client, "web-off", after=0) as ws:
            last_seen = [ws.receive_json(), ws.receive_json()][-1]["seq"]
        # when the order is paid while no widget is connected
        pay(client, order)
        wait_for(lambda: any("Payment received" in t for _, t in texts(client, "web-off")),
                 what="the confirmation in the history")
        # then reconnecting with after=<last seen> replays it, once and first
        with chat_socket(client, "web-off", after=last_seen) as ws:
            frame = ws.receive_json()
            assert frame["type"] == "message" and frame["seq"] == last_seen + 1
            assert frame["text"].startswith(f"Payment received for order {order['number']}")


def test_a_signed_in_customer_hears_in_the_conversation_carrying_their_token(
        gateway: Gateway) -> None:
    token = sign_customer_token(secret=SECRET, customer_ref="c42",
                                expires_at=int(time.time()) + 3600)
    with gateway(widget_secret=SECRET) as client:
        # given the shop's customer c42 ordered (as the bot does for a token: web/shop-c42)
        order = place_order(client, "shop-c42")
        # and now talks in a new conversation carrying the token
        with chat_socket(client, "conv-t", after=0, customer_token=token) as ws:
            ws.send_json({"type": "message", "text": "hi", "client_id": "k1"})
            frames = [ws.receive_json() for _ in range(4)]
            assert [f.get("role") for f in frames] == [None, "shopper", "bot", None]
            # when the order is paid
            pay(client, order)
            # then the message arrives in that conversation
            frame = ws.receive_json()
        assert frame["text"].startswith(f"Payment received for order {order['number']}")
        assert not any("Payment received" in t for _, t in texts(client, "shop-c42"))


def test_events_of_a_customer_without_a_conversation_are_dropped_quietly(
        gateway: Gateway) -> None:
    with gateway() as client:
        # an order placed through the API channel has nobody to tell in a chat
        base = "/api/shoppers/api/integration-7"
        assert client.post(f"{base}/cart/lines", headers=SERVICE,
                           json={"sku": "CER-MUG-001", "quantity": 1}).status_code == 201
        order = client.post(f"{base}/checkout", headers=SERVICE,
                            json={"email": "ops@example.com", "address": ADDRESS}).json()
        pay(client, order)
        assert recorded(client, "integration-7") == []


def test_a_delivery_is_told_without_anybody_asking(gateway: Gateway,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with gateway(parcel_check_seconds=0.2) as client:
        # given a paid order that left the workshop
        order = place_order(client, "web-dl")
        pay(client, order)
        ship(client, order)
        assert not any(t.startswith("Delivered") for _, t in texts(client, "web-dl"))
        # when the carrier's timetable says the parcel has arrived (three days later)
        later = clock.now() + timedelta(days=3)
        monkeypatch.setattr(clock, "now", lambda: later)
        # then the parcel follower records the delivery and the shopper hears of it once
        wait_for(lambda: any(t.startswith("Delivered") for _, t in texts(client, "web-dl")),
                 what="the delivery message")
        delivered = [t for _, t in texts(client, "web-dl") if t.startswith("Delivered")]
        assert delivered == [f"Delivered: your order {order['number']} has arrived. Enjoy it!"]
        # and is asked, once, for stars for what arrived, each a button naming the line
        [ask] = wait_for(lambda: [m for m in recorded(client, "web-dl")
                                  if (m["text"] or "").startswith("How do you like the ")],
                         what="the question for stars")
        assert [b["title"] for b in ask["buttons"]] == ["★★★★★", "★★★★", "★★★", "★★", "★"]
        assert json.loads(ask["buttons"][1]["payload"].removeprefix("/rate_product")) == {
            "order_number": order["number"], "sku": "CER-MUG-001", "rating": "4"}
        status = client.get(f"/api/shoppers/web/web-dl/orders/{order['number']}",
                            headers=SERVICE).json()["status"]
        assert status == "delivered"


def test_a_telegram_shopper_hears_from_the_bot_in_telegram(gateway: Gateway) -> None:
    bot_api = FakeBotApi().start()
    try:
        with gateway(telegram_token=TOKEN, telegram_api_url=bot_api.base_url,
                     telegram_file_url=bot_api.file_url) as client:
            # given a Telegram shopper's order (the bot acts for telegram/tg-555)
            order = place_order(client, "tg-555", channel="telegram")
            # when it is paid
            pay(client, order)
            # then the bot says so in the chat, and the conversation's history has it
            [sent] = bot_api.wait_for(lambda: bot_api.sent(555), what="the Telegram message")
            assert sent.params["text"].startswith(
                f"Payment received for order {order['number']} ({order['total']} EUR).")
            # (recorded once Telegram took it: the send comes first, so a retry never
            # shows it twice)
            assert bot_api.wait_for(lambda: texts(client, "tg-555"),
                                    what="the recorded message") == [("bot", sent.params["text"])]
    finally:
        bot_api.stop()


def test_after_a_delivery_a_telegram_shopper_gets_star_buttons_that_fit_telegram(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    bot_api = FakeBotApi().start()
    try:
        with gateway(telegram_token=TOKEN, telegram_api_url=bot_api.base_url,
                     telegram_file_url=bot_api.file_url, parcel_check_seconds=0.2) as client:
            # given a Telegram shopper's paid order, shipped
            order = place_order(client, "tg-556", channel="telegram")
            pay(client, order)
            ship(client, order)
            # when the parcel arrives
            later = clock.now() + timedelta(days=3)
            monkeypatch.setattr(clock, "now", lambda: later)
            # then the chat is told, and asked for stars with buttons Telegram accepts
            [ask] = bot_api.wait_for(
                lambda: [c for c in bot_api.sent(556)
                         if (c.params.get("text") or "").startswith("How do you like the ")],
                what="the question for stars")
            assert [b["text"] for b in ask.buttons] == ["★★★★★", "★★★★", "★★★", "★★", "★"]
            assert all(len(b["callback_data"].encode()) <= 64 for b in ask.buttons)
    finally:
        bot_api.stop()


def test_a_telegram_message_that_telegram_refused_is_sent_again_and_recorded_once(
        gateway: Gateway) -> None:
    bot_api = FakeBotApi().start()
    try:
        with gateway(telegram_token=TOKEN, telegram_api_url=bot_api.base_url,
                     telegram_file_url=bot_api.file_url, telegram_send_retries=0,
                     outbox_retry_backoff_seconds=0.2) as client:
            # given Telegram's servers failing the next two sends
            bot_api.fail_next("sendMessage", times=2, answer=(502, {
                "ok": False, "error_code": 502, "description": "Bad Gateway"}))
            order = place_order(client, "tg-556", channel="telegram")
            # when the order is paid
            pay(client, order)
            # then the relay sends it again until Telegram takes it (the third call)
            def three_sends() -> list[Any] | None:
                calls = bot_api.calls_to("sendMessage", 556)
                return calls if len(calls) >= 3 else None

            calls = bot_api.wait_for(three_sends, what="three sends")
            text = calls[2].params["text"]
            assert text.startswith(f"Payment received for order {order['number']}")
            assert [c.params["text"] for c in calls] == [text] * 3
            # and the transcript holds it once, recorded when Telegram took it
            wait_for(lambda: texts(client, "tg-556"), what="the transcript")
            time.sleep(0.5)  # a fourth attempt, had there been one, would have come by now
            assert len(bot_api.calls_to("sendMessage", 556)) == 3
            assert texts(client, "tg-556") == [("bot", text)]
    finally:
        bot_api.stop()


def test_a_payment_after_the_reservation_ran_out_is_told_with_its_refund(gateway: Gateway
                                                                         ) -> None:
    with gateway() as client:
        # given a widget shopper whose order was cancelled when its time to pay ran out
        client.post("/api/chat", json={"conversation_id": "web-late", "message": "hi"})
        order = place_order(client, "web-late")
        link = client.post(f"/api/orders/{order['id']}/payment",
                           headers={**SERVICE, "Idempotency-Key": order["number"]}).json()
        with gateway_of(client).session_factory() as session:
            later = clock.now() + timedelta(minutes=get_settings().reservation_minutes + 1)
            assert expire_reservations(session=session, now=later) == 1
            session.commit()
        wait_for(lambda: any("was cancelled" in t for _, t in texts(client, "web-late")),
                 what="the cancellation")
        # when the card was charged after all (and the sandbox refunds it)
        provider = client.app.dependency_overrides[get_provider]()  # type: ignore[attr-defined]
        event = build_event(type=EventType.PAYMENT_SUCCEEDED, payment=PaymentRef(
            token=link["token"], order_id=order["id"], amount=Decimal(link["amount"]),
            currency=link["currency"]), created=clock.now().timestamp(), provider_ref="ch_9")
        assert client.portal.call(partial(provider.emit, event))
        # then the shopper hears the truth: charged late, and refunded
        refund_text = (f"Your payment for order {order['number']} arrived after its "
                       "reservation had run out, so the order could not go ahead. We refunded "
                       f"{order['total']} EUR to your card; banks usually show it within "
                       "5-10 days.")
        wait_for(lambda: ("bot", refund_text) in texts(client, "web-late"),
                 what="the refund message")
        said = [t for role, t in texts(client, "web-late") if role == "bot"]
        assert not any("Nothing was charged" in t for t in said), said
        assert said.index(refund_text) == len(said) - 1
