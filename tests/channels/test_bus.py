"""Two gateway replicas on the real Redis: a message recorded on one reaches the sockets held
by the other exactly once and in order — also through a whole handoff to an agent."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from channels.agent.auth import create_agent
from channels.app import create_app
from channels.config import GatewaySettings
from channels.delivery.bus import RedisBus
from channels.delivery.history import RedisHistory
from channels.handoff.desk import WAITING
from channels.messages import ChatMessage
from knowledge.config import KnowledgeSettings
from tests.channels.conftest import Gateway
from tests.channels.fake_rasa import FakeRasa, wait_for
from tests.channels.rasa_standin import HANDOFF_TEXT, RasaStandIn
from tests.channels.web_chat import chat_body, chat_socket, gateway_of, owner
from tests.conftest import _clean

PASSWORD = "correct horse battery"
ids = itertools.count(1)


@pytest.fixture
def engine(postgres_engine: Engine) -> Iterator[Engine]:
    """Replicas share one PostgreSQL database, as deployed (SQLite is the one-process run)."""
    _clean(postgres_engine)
    yield postgres_engine
    _clean(postgres_engine)


def frames_until(ws: Any, seq: int) -> list[dict[str, Any]]:
    """Message frames up to and including ``seq`` (typing frames skipped)."""
    frames = []
    while True:
        frame = ws.receive_json()
        if frame["type"] != "message":
            continue
        frames.append(frame)
        if frame["seq"] >= seq:
            return frames


def test_a_message_recorded_on_one_replica_reaches_a_socket_on_the_other_once(
        gateway: Gateway, redis_url: str, redis_prefix: str) -> None:
    redis = {"redis_url": redis_url, "redis_prefix": redis_prefix}
    with ExitStack() as stack:
        a, b = stack.enter_context(gateway(**redis)), stack.enter_context(gateway(**redis))
        on_b = stack.enter_context(chat_socket(b, "c-bus"))
        on_a = stack.enter_context(chat_socket(a, "c-bus"))
        # when the shopper's turn is handled by replica A (POST) …
        answers = a.post("/api/chat", json=chat_body("c-bus", "hello")).json()["messages"]
        # … and a message is pushed on B (as an agent's reply or a notice would be)
        [pushed] = b.portal.call(gateway_of(b).outlet.push, "c-bus",  # type: ignore[union-attr]
                                 [ChatMessage(role="agent", text="from B")])
        # then both sockets get all three, in order, once
        last = pushed.seq
        for ws in (on_a, on_b):
            got = frames_until(ws, last)
            assert [(f["role"], f["text"]) for f in got] == [
                ("shopper", "hello"), ("bot", "You said: hello"), ("agent", "from B")]
            assert [f["seq"] for f in got] == [answers[0]["seq"] - 1, answers[0]["seq"],
                                               last]
        # and nothing was delivered twice: the next frame is the next message
        a.post("/api/chat", json=chat_body("c-bus", "again"))
        for ws in (on_a, on_b):
            assert frames_until(ws, last + 1)[0]["seq"] == last + 1


async def _gap_fill(url: str, prefix: str) -> list[int | None]:
    history = RedisHistory(url, prefix, 100)
    bus = RedisBus(history=history, url=url, prefix=prefix)
    await bus.start()
    try:
        queue = bus.subscribe("c-gap")
        first = await bus.record("c-gap", ChatMessage(role="bot", text="one"))
        assert (await queue.get()).seq == first.seq
        # a replica numbered and stored a message but its publication was lost
        await history.append("c-gap", ChatMessage(role="bot", text="lost in transit"))
        await bus.record("c-gap", ChatMessage(role="bot", text="three"))
        return [(await queue.get()).seq for _ in range(2)]
    finally:
        await bus.aclose()
        await history.aclose()


def test_a_gap_in_the_numbers_is_filled_from_the_history(redis_url: str,
                                                         redis_prefix: str) -> None:
    assert asyncio.run(_gap_fill(redis_url, redis_prefix)) == [2, 3]


@pytest.fixture
def standin() -> Iterator[RasaStandIn]:
    server = RasaStandIn().start()
    yield server
    server.stop()


def test_a_handoff_conversation_across_two_replicas(
        demo_catalog: sessionmaker[Session], tmp_path: Path, redis_url: str,
        redis_prefix: str, standin: RasaStandIn) -> None:
    settings = GatewaySettings(rasa_url=standin.url, warm_search_on_start=False,
                               redis_url=redis_url, redis_prefix=redis_prefix,
                               handoff_check_seconds=0.1)
    email = f"ana{next(ids)}@shop.example"
    with demo_catalog() as session:
        create_agent(session=session, email=email, name="Ana", password=PASSWORD)
        session.commit()
    with ExitStack() as stack:
        shopper_side, agent_side = (stack.enter_context(TestClient(create_app(
            settings, session_factory=demo_catalog,
            knowledge_settings=KnowledgeSettings(data_dir=tmp_path / name))))
            for name in ("a", "b"))
        token = agent_side.post("/agent/api/login",
                                json={"email": email, "password": PASSWORD}).json()["token"]
        ana = {"Authorization": f"Bearer {token}"}
        conversation_id = f"web-ho-{next(ids)}"
        with chat_socket(shopper_side, conversation_id, after=0) as widget:
            # the shopper (replica A) asks for a person; the bot hands off
            widget.send_json({"type": "message", "text": "Talk to a person",
                              "payload": "/request_human", "client_id": "k1"})
            got = frames_until(widget, 3)
            assert [(f["role"], f["text"]) for f in got] == [
                ("shopper", "Talk to a person"), ("bot", HANDOFF_TEXT), ("system", WAITING)]
            # the agent (replica B) claims and replies: the widget on A hears both, once
            claim = f"/agent/api/conversations/{conversation_id}/claim"
            assert agent_side.post(claim, headers=ana).status_code == 200
            reply = f"/agent/api/conversations/{conversation_id}/reply"
            sent = agent_side.post(reply, headers=ana, json={"text": "Hi, I'm Ana"}).json()
            got = frames_until(widget, sent["seq"])
            assert [(f["role"], f["text"]) for f in got] == [
                ("system", "Ana from the shop has joined the conversation."),
                ("agent", "Hi, I'm Ana")]
            # the shopper answers on A: the bot is not asked, the agent's history has it
            asked = len(standin.messages_of(conversation_id))
            widget.send_json({"type": "message", "text": "thanks", "client_id": "k2"})
            [mine] = frames_until(widget, sent["seq"] + 1)
            assert (mine["role"], mine["text"], mine["client_id"]) == ("shopper", "thanks", "k2")
            assert len(standin.messages_of(conversation_id)) == asked
            seen_on_b = agent_side.get(f"/api/chat/{conversation_id}/history",
                                       headers=owner(conversation_id)).json()
            assert [m["seq"] for m in seen_on_b] == list(range(1, mine["seq"] + 1))


def test_two_replicas_answer_a_message_that_waited_for_the_bot_once(
        gateway: Gateway, fake_rasa: FakeRasa, redis_url: str, redis_prefix: str) -> None:
    settings = {"redis_url": redis_url, "redis_prefix": redis_prefix,
                "bot_retry_seconds": 0.05}
    with gateway(**settings) as a, gateway(**settings):
        # given the bot was down when the shopper wrote (on replica A)
        fake_rasa.up = False
        a.post("/api/chat", json=chat_body("c-two", "hello"))
        # when it is back, while both replicas look for waiting messages
        fake_rasa.delay = 0.2
        fake_rasa.up = True
        wait_for(lambda: fake_rasa.messages("c-two"), what="the bot being asked")
        time.sleep(1.0)  # both replicas polled many times meanwhile
        # then the bot was asked once, and the answer recorded once
        assert fake_rasa.messages("c-two") == ["hello"]
        answers = [m for m in a.get("/api/chat/c-two/history", headers=owner("c-two")).json()
                   if m["role"] == "bot"]
        assert [m["text"] for m in answers] == ["You said: hello"]
