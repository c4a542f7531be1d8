"""Only the shopper who began a web conversation may speak in it or read it: the widget's
session secret, bound to the conversation (durably, in SQL) at its first turn, or a signed
customer token of the customer the conversation speaks for."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from starlette.websockets import WebSocketDisconnect

from channels.delivery.transcripts import add_message
from channels.identity import sign_customer_token
from channels.messages import ChatMessage
from tests.channels.conftest import Gateway
from tests.channels.fake_rasa import FakeRasa
from tests.channels.web_chat import chat_socket, recorded

SECRET = "a" * 20 + "1234567890abcdefghijklmnopqrstuv"
OTHER = "b" * 20 + "1234567890abcdefghijklmnopqrstuv"
WIDGET_SECRET = "widget-secret-for-tests"
HEADER = "X-Conversation-Secret"


def post(client: TestClient, conversation_id: str, text: str, **fields: Any) -> Any:
    return client.post("/api/chat", json={"conversation_id": conversation_id,
                                          "message": text, **fields})


def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_history_needs_the_conversations_secret(gateway: Gateway) -> None:
    with gateway() as client:
        # given a conversation begun with a secret
        assert post(client, "c-own", "hello", conversation_secret=SECRET).status_code == 200
        # then its history is refused without it, with another one, or in the URL
        url = "/api/chat/c-own/history"
        assert error_of(client.get(url)) == (403, "conversation_secret_required")
        assert error_of(client.get(url, headers={HEADER: OTHER})) == (
            403, "conversation_not_owned")
        assert client.get(url, params={"conversation_secret": SECRET}).status_code == 403
        assert error_of(client.get(url, headers={HEADER: "short"})) == (
            422, "invalid_conversation_secret")
        # and given with it
        mine = client.get(url, headers={HEADER: SECRET})
        assert mine.status_code == 200
        assert [m["text"] for m in mine.json()][0] == "hello"
        # a conversation that does not exist is refused the same way (no oracle)
        assert error_of(client.get("/api/chat/c-none/history", headers={HEADER: SECRET})) == (
            403, "conversation_not_owned")


def test_a_turn_without_or_with_the_wrong_secret_is_refused_and_not_recorded(
        gateway: Gateway, fake_rasa: FakeRasa) -> None:
    with gateway() as client:
        assert post(client, "c-turn", "my address is 12 rue des Arts",
                    conversation_secret=SECRET).status_code == 200
        before = recorded(client, "c-turn")
        # when somebody who knows the conversation id writes in it
        assert error_of(post(client, "c-turn", "cancel my order")) == (
            403, "conversation_secret_required")
        assert error_of(post(client, "c-turn", "cancel my order",
                             conversation_secret=OTHER)) == (403, "conversation_not_owned")
        # then nothing was recorded nor sent to the bot
        assert recorded(client, "c-turn") == before
        assert fake_rasa.messages("c-turn") == ["my address is 12 rue des Arts"]
        # and the owner goes on
        assert post(client, "c-turn", "thanks", conversation_secret=SECRET).status_code == 200


def test_a_scripted_client_without_a_secret_is_given_one(gateway: Gateway) -> None:
    with gateway() as client:
        first = post(client, "c-script", "hi")
        assert first.status_code == 200
        secret = first.json()["conversation_secret"]
        assert isinstance(secret, str) and len(secret) >= 32
        assert error_of(post(client, "c-script", "again")) == (
            403, "conversation_secret_required")
        again = post(client, "c-script", "again", conversation_secret=secret)
        assert again.status_code == 200
        assert again.json()["conversation_secret"] is None  # given once, at the start
        # a refused first message binds nothing: the id is still free
        assert post(client, "c-empty", "   ").status_code == 422
        assert post(client, "c-empty", "hi", conversation_secret=SECRET).status_code == 200


def test_the_binding_survives_a_restart_and_holds_on_every_replica(
        gateway: Gateway, redis_url: str, redis_prefix: str) -> None:
    redis = {"redis_url": redis_url, "redis_prefix": redis_prefix}
    with gateway(**redis) as a:
        assert post(a, "c-durable", "hello", conversation_secret=SECRET).status_code == 200
    # a new process on the same database, and another replica beside it
    with gateway(**redis) as b, gateway() as c:
        for replica in (b, c):
            assert error_of(post(replica, "c-durable", "hijack",
                                 conversation_secret=OTHER)) == (403, "conversation_not_owned")
        assert post(c, "c-durable", "still me", conversation_secret=SECRET).status_code == 200


def test_a_conversation_begun_before_secrets_existed_cannot_be_claimed(
        gateway: Gateway, demo_catalog: sessionmaker[Session]) -> None:
    with demo_catalog() as session:  # a shopper spoke in it, and no secret was bound
        add_message(session=session, conversation_id="c-old",
                    message=ChatMessage(role="shopper", text="my address is 1 rue X", seq=1))
        session.commit()
    with gateway() as client:
        assert error_of(post(client, "c-old", "hi", conversation_secret=SECRET)) == (
            403, "conversation_not_owned")
        assert error_of(client.get("/api/chat/c-old/history", headers={HEADER: SECRET})) == (
            403, "conversation_not_owned")
        with pytest.raises(WebSocketDisconnect), chat_socket(client, "c-old") as ws:
            assert ws.receive_json()["code"] == "conversation_not_owned"
            ws.receive_json()


def test_a_conversation_the_shop_wrote_in_first_is_claimed_by_its_first_turn(
        gateway: Gateway, demo_catalog: sessionmaker[Session]) -> None:
    # given the shop told a conversation of an order before its shopper wrote in it
    with demo_catalog() as session:
        add_message(session=session, conversation_id="c-told",
                    message=ChatMessage(role="bot", text="Payment received", seq=1))
        session.commit()
    with gateway() as client:
        # nobody may read it yet
        assert error_of(client.get("/api/chat/c-told/history", headers={HEADER: SECRET})) == (
            403, "conversation_not_owned")
        # when its shopper writes, the conversation becomes theirs
        assert post(client, "c-told", "thanks", conversation_secret=SECRET).status_code == 200
        assert error_of(post(client, "c-told", "x", conversation_secret=OTHER)) == (
            403, "conversation_not_owned")
        assert client.get("/api/chat/c-told/history",
                          headers={HEADER: SECRET}).status_code == 200


def test_a_customer_token_of_the_conversations_customer_reads_its_history(
        gateway: Gateway) -> None:
    def token(ref: str) -> str:
        return sign_customer_token(secret=WIDGET_SECRET, customer_ref=ref,
                                   expires_at=int(time.time()) + 600)

    with gateway(widget_secret=WIDGET_SECRET) as client:
        assert post(client, "c-cust", "hi", conversation_secret=SECRET,
                    customer_token=token("c42")).status_code == 200
        url = "/api/chat/c-cust/history"
        assert client.get(url, headers={"X-Customer-Token": token("c42")}).status_code == 200
        assert error_of(client.get(url, headers={"X-Customer-Token": token("c43")})) == (
            403, "conversation_not_owned")
        assert error_of(client.get(url, headers={"X-Customer-Token": "c42.1.00"})) == (
            401, "invalid_customer_token")
        # a customer token does not let anyone write in another's conversation
        assert error_of(post(client, "c-cust", "hi", customer_token=token("c42"))) == (
            403, "conversation_secret_required")


def _refused(client: TestClient, url: str, hello: Any) -> tuple[int, str]:
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(url) as ws:
        if hello is not None:
            ws.send_json(hello)
        frame = ws.receive_json()
        assert frame["type"] == "error", frame
        ws.receive_json()
    return closed.value.code, frame["code"]


def test_the_socket_needs_the_secret_in_its_first_frame(gateway: Gateway,
                                                        fake_rasa: FakeRasa) -> None:
    with gateway() as client:
        assert post(client, "c-sock", "hello", conversation_secret=SECRET).status_code == 200
        url = "/ws/chat?conversation_id=c-sock&after=0"
        # a message first, another secret, or a secret in the URL: refused, nothing replayed
        assert _refused(client, url, {"type": "message", "text": "hi", "client_id": "k"}) == (
            1008, "conversation_secret_required")
        assert _refused(client, url, {"type": "hello", "conversation_secret": OTHER}) == (
            1008, "conversation_not_owned")
        assert _refused(client, f"{url}&conversation_secret={SECRET}", {"type": "hello"}) == (
            1008, "conversation_secret_required")
        assert fake_rasa.messages("c-sock") == ["hello"]
        # the owner's socket replays and carries turns
        with client.websocket_connect(url) as ws:
            ws.send_json({"type": "hello", "conversation_secret": SECRET})
            assert [ws.receive_json()["role"] for _ in range(2)] == ["shopper", "bot"]
            ws.send_json({"type": "message", "text": "more", "client_id": "k2"})
            frames = [ws.receive_json() for _ in range(4)]
            assert [(f["type"], f.get("text")) for f in frames][1] == ("message", "more")
        # a socket to a new conversation binds its secret: a stranger is refused later
        with client.websocket_connect("/ws/chat?conversation_id=c-new") as ws:
            ws.send_json({"type": "hello", "conversation_secret": SECRET})
            ws.send_json({"type": "message", "text": "first", "client_id": "k3"})
            assert ws.receive_json()["type"] == "typing"
        assert error_of(post(client, "c-new", "x", conversation_secret=OTHER)) == (
            403, "conversation_not_owned")
