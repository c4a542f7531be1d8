"""Signed customer tokens: who the gateway vouches for to the bot, and what that shopper may
see — a customer's orders from any conversation carrying their token, nobody else's."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from starlette.websockets import WebSocketDisconnect

from actions.clients.aftersale import AfterSaleClient
from actions.config import ActionSettings
from actions.orders import ActionOrderStatus
from channels.identity import (
    IdentityError,
    Shopper,
    default_shopper,
    sign_customer_token,
    verify_customer_token,
)
from tests.actions.responses import said
from tests.channels.conftest import Gateway
from tests.channels.fake_rasa import FakeRasa
from tests.channels.test_notify import place_order
from tests.channels.web_chat import chat_body, chat_socket, recorded, telegram_turn

SECRET = "widget-secret-for-tests"
NOW = 1_800_000_000


def token(ref: str = "c42", *, expires_at: int = NOW + 3600, secret: str = SECRET) -> str:
    return sign_customer_token(secret=secret, customer_ref=ref, expires_at=expires_at)


def test_a_valid_token_names_the_shop_customer() -> None:
    assert verify_customer_token(token(), secret=SECRET, now=NOW) == Shopper("web", "shop-c42")


def _tampered() -> list[tuple[str, str]]:
    good = token()
    ref, expiry, signature = good.split(".")
    return [
        (f"c43.{expiry}.{signature}", "invalid_customer_token"),  # another customer
        (f"{ref}.{int(expiry) + 86400}.{signature}", "invalid_customer_token"),  # longer life
        (f"{ref}.{expiry}.{'0' * 64}", "invalid_customer_token"),  # forged signature
        (token(secret="another shop's secret"), "invalid_customer_token"),
        ("c42.notanumber.abc", "invalid_customer_token"),
        ("garbage", "invalid_customer_token"),
        ("x" * 500, "invalid_customer_token"),
        (token(expires_at=NOW - 1), "customer_token_expired"),
    ]


@pytest.mark.parametrize(("value", "code"), _tampered())
def test_tampered_malformed_or_expired_tokens_are_refused(value: str, code: str) -> None:
    with pytest.raises(IdentityError) as refused:
        verify_customer_token(value, secret=SECRET, now=NOW)
    assert refused.value.code == code


def test_tokens_are_refused_when_the_shop_has_no_secret() -> None:
    with pytest.raises(IdentityError) as refused:
        verify_customer_token(token(), secret=None, now=NOW)
    assert refused.value.code == "customer_tokens_disabled"


def test_default_identities_and_the_reserved_prefix() -> None:
    assert default_shopper("tg-42") == Shopper("telegram", "tg-42")
    assert default_shopper("3f1c-uuid") == Shopper("web", "3f1c-uuid")
    with pytest.raises(IdentityError):
        default_shopper("shop-c42")  # would claim customer c42's orders without a token


@pytest.mark.parametrize("conversation_id", ["tg-77", "TG-77", "shop-c42", "Shop-c42"])
def test_a_web_conversation_id_cannot_enter_another_channels_identity_space(
        gateway: Gateway, fake_rasa: FakeRasa, conversation_id: str) -> None:
    # Telegram chat ids are not secret: a web id "tg-<chat id>" would speak for that shopper
    with gateway(widget_secret=SECRET) as client:
        refused = client.post("/api/chat", json={"conversation_id": conversation_id,
                                                 "message": "cancel my order"})
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "reserved_conversation_id"
        history = client.get(f"/api/chat/{conversation_id}/history")
        assert history.status_code == 422
        assert history.json()["error"]["code"] == "reserved_conversation_id"
        with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(
                f"/ws/chat?conversation_id={conversation_id}") as ws:
            frame = ws.receive_json()
            assert (frame["type"], frame["code"]) == ("error", "reserved_conversation_id")
            ws.receive_json()
        assert closed.value.code == 1008
    assert fake_rasa.received == []


def test_every_forwarded_turn_carries_the_shopper_metadata(gateway: Gateway,
                                                           fake_rasa: FakeRasa) -> None:
    valid = token(expires_at=int(time.time()) + 600)
    with gateway(widget_secret=SECRET) as client:
        client.post("/api/chat", json=chat_body("anon-1", "hi"))
        telegram_turn(client, "tg-77", "hi")
        client.post("/api/chat", json=chat_body("conv-a", "hi", customer_token=valid))
        with chat_socket(client, "conv-b", customer_token=valid) as ws:
            ws.send_json({"type": "message", "text": "hi", "client_id": "k"})
            assert [ws.receive_json()["type"] for _ in range(4)][-1] == "typing"
        # the reserved namespace cannot be used as a conversation's own id
        reserved = client.post("/api/chat", json={"conversation_id": "shop-c42",
                                                  "message": "my orders"})
        assert reserved.status_code == 422
        assert reserved.json()["error"]["code"] == "reserved_conversation_id"
    assert [(r["sender"], r["metadata"]) for r in fake_rasa.received] == [
        ("anon-1", {"shopper": {"channel": "web", "external_id": "anon-1"}}),
        ("tg-77", {"shopper": {"channel": "telegram", "external_id": "tg-77"}}),
        ("conv-a", {"shopper": {"channel": "web", "external_id": "shop-c42"}}),
        ("conv-b", {"shopper": {"channel": "web", "external_id": "shop-c42"}}),
    ]


def test_a_bad_token_is_refused_clearly_and_nothing_is_forwarded(gateway: Gateway,
                                                                 fake_rasa: FakeRasa) -> None:
    forged = token(expires_at=int(time.time()) + 600)[:-4] + "0000"
    expired = token(expires_at=int(time.time()) - 5)
    with gateway(widget_secret=SECRET) as client:
        response = client.post("/api/chat", json=chat_body("c-bad", "hi",
                                                            customer_token=forged))
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_customer_token"
        with pytest.raises(WebSocketDisconnect) as closed, chat_socket(
                client, "c-bad", customer_token=expired) as ws:
            frame = ws.receive_json()
            assert (frame["type"], frame["code"]) == ("error", "customer_token_expired")
            assert "expired" in frame["message"]
            ws.receive_json()
        assert closed.value.code == 1008
        assert recorded(client, "c-bad") == []
    assert fake_rasa.received == []


def _order_status(app: Any, sender: str, metadata: dict[str, Any], text: str) -> str:
    """The real order-status action, on the tracker Rasa would build for this message."""
    latest = {"text": text, "intent": {"name": "order_status", "confidence": 0.9},
              "entities": [], "metadata": metadata}
    tracker = Tracker(sender_id=sender, slots={}, latest_message=latest,
                      events=[{"event": "user", "text": text, "parse_data": latest}],
                      paused=False, followup_action=None, active_loop={},
                      latest_action_name="action_listen")
    client = AfterSaleClient(ActionSettings(api_url="http://shop/api"),
                             transport=httpx.ASGITransport(app=app))
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionOrderStatus(client).run(dispatcher, tracker, {}))
    return " ".join(m["text"] for m in said(dispatcher.messages))


def test_order_lookup_works_from_any_conversation_of_the_same_customer(
        gateway: Gateway, fake_rasa: FakeRasa) -> None:
    valid = token("c42", expires_at=int(time.time()) + 600)
    with gateway(widget_secret=SECRET) as client:
        # given customer c42 ordered from conversation A (the bot acts for web/shop-c42)
        client.post("/api/chat", json=chat_body("conv-a", "checkout", customer_token=valid))
        shopper = fake_rasa.received[-1]["metadata"]["shopper"]
        order = place_order(client, shopper["external_id"])
        # when they ask about it from conversation B (another device) with their token,
        # and somebody else asks from conversation C without one
        for conversation_id, extra in (("conv-b", {"customer_token": valid}), ("conv-c", {})):
            client.post("/api/chat", json=chat_body(conversation_id,
                                                    f"where is {order['number']}", **extra))
        by_sender = {r["sender"]: r["metadata"] for r in fake_rasa.raw}  # as signed
        mine = _order_status(client.app, "conv-b", by_sender["conv-b"],
                             f"where is {order['number']}")
        theirs = _order_status(client.app, "conv-c", by_sender["conv-c"],
                               f"where is {order['number']}")
    # then B sees the order without being asked for an email; C is told nothing about it
    assert mine.startswith(f"Order {order['number']} is waiting for payment.")
    assert theirs.startswith(f"I can't find an order {order['number']} for you.")
    assert "email" in theirs and "waiting for payment" not in theirs
