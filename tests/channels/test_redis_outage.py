"""Redis goes away while the gateway serves, and comes back.

A real redis-server of the test's own is killed and started again under a real app
(uvicorn on a local port, the Rasa stand-in behind it). While Redis is down the shopper
gets an apology, never a 500, and no message is lost; once it is back every kept message
reaches the bot once and in order, and nothing is recorded without an answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from channels.agent.auth import create_agent
from channels.app import create_app
from channels.chat import BOT_DOWN_APOLOGY
from channels.config import GatewaySettings
from commerce_core.models import ConversationMessage
from knowledge.config import KnowledgeSettings
from tests.channels.fake_rasa import wait_for
from tests.channels.live_app import LiveApp
from tests.channels.rasa_standin import RasaStandIn
from tests.channels.redis_server import RedisServer
from tests.channels.web_chat import chat_body, hello, owner
from tests.e2e.stack import free_port


@dataclass
class Live:
    http: httpx.Client
    rasa: RasaStandIn
    redis: RedisServer
    factory: sessionmaker[Session]


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def live(demo_catalog: sessionmaker[Session], tmp_path: Path,
         own_redis: RedisServer) -> Iterator[Any]:
    """``with live(**settings) as served``: the app on a local port, on the test's Redis."""
    rasa = RasaStandIn(echo_prefix="You said: ").start()

    class Served:
        def __init__(self, **settings: Any) -> None:
            self.settings = GatewaySettings(**{
                "rasa_url": rasa.url, "redis_url": own_redis.url, "redis_prefix": "atelier",
                "warm_search_on_start": False, "bot_retry_seconds": 0.2, **settings})

        def __enter__(self) -> Live:
            self.app = LiveApp(lambda: create_app(
                self.settings, session_factory=demo_catalog,
                knowledge_settings=KnowledgeSettings(data_dir=tmp_path)), free_port()).start()
            self.http = httpx.Client(base_url=self.app.url, timeout=60)
            return Live(self.http, rasa, own_redis, demo_catalog)

        def __exit__(self, *exc: object) -> None:
            self.http.close()
            self.app.stop()

    yield Served
    rasa.stop()


def post_chat(http: httpx.Client, conversation_id: str, text: str) -> httpx.Response:
    return http.post("/api/chat", json=chat_body(conversation_id, text))


def said(response: httpx.Response) -> list[tuple[str, str]]:
    """The answers of a turn, after checking it was answered with JSON, not an error."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return [(m["role"], m["text"]) for m in response.json()["messages"]]


def history(http: httpx.Client, conversation_id: str) -> list[tuple[str, str]]:
    response = http.get(f"/api/chat/{conversation_id}/history", headers=owner(conversation_id))
    assert response.status_code == 200, response.text
    return [(m["role"], m["text"]) for m in response.json()]


def transcript(factory: sessionmaker[Session], conversation_id: str) -> list[tuple[str, str]]:
    with factory() as session:
        rows = session.scalars(select(ConversationMessage).where(
            ConversationMessage.conversation_id == conversation_id)
            .order_by(ConversationMessage.id))
        return [(r.role, r.text or "") for r in rows]


def test_the_shopper_gets_an_apology_while_redis_is_down_and_answers_once_it_is_back(
        live: Any) -> None:
    with live() as served:
        http, rasa = served.http, served.rasa
        assert said(post_chat(http, "c-out", "before")) == [("bot", "You said: before")]
        # given Redis goes away
        served.redis.kill()
        # then each message is answered with an apology, in JSON, never a 500
        for text in ("during one", "during two"):
            assert said(post_chat(http, "c-out", text)) == [("system", BOT_DOWN_APOLOGY)]
        # and kept: in the SQL transcript at once, not yet asked of the bot
        assert transcript(served.factory, "c-out")[-4:] == [
            ("shopper", "during one"), ("system", BOT_DOWN_APOLOGY),
            ("shopper", "during two"), ("system", BOT_DOWN_APOLOGY)]
        assert rasa.messages_of("c-out") == ["before"]
        # when Redis comes back
        served.redis.start()
        # then, without another shopper message, the bot answers the kept ones in order, once
        wait_for(lambda: len(rasa.messages_of("c-out")) >= 3, what="the kept messages")
        wait_for(lambda: len(history(http, "c-out")) == 6, what="their answers")
        assert history(http, "c-out") == [
            ("shopper", "before"), ("bot", "You said: before"),
            ("shopper", "during one"), ("shopper", "during two"),
            ("bot", "You said: during one"), ("bot", "You said: during two")]
        # and the chat goes on as before
        assert said(post_chat(http, "c-out", "after")) == [("bot", "You said: after")]
        assert rasa.messages_of("c-out") == ["before", "during one", "during two", "after"]
        # the transcript has each message once (the kept ones numbered now)
        assert transcript(served.factory, "c-out") == [
            ("shopper", "before"), ("bot", "You said: before"),
            ("shopper", "during one"), ("system", BOT_DOWN_APOLOGY),
            ("shopper", "during two"), ("system", BOT_DOWN_APOLOGY),
            ("bot", "You said: during one"), ("bot", "You said: during two"),
            ("shopper", "after"), ("bot", "You said: after")]


def test_the_first_turn_after_redis_is_back_answers_the_kept_messages_first(
        live: Any) -> None:
    with live(bot_retry_seconds=3600) as served:  # no background retry in this test
        http, rasa = served.http, served.rasa
        said(post_chat(http, "c-next", "hello"))
        served.redis.kill()
        assert said(post_chat(http, "c-next", "kept")) == [("system", BOT_DOWN_APOLOGY)]
        served.redis.start()
        # the pooled connections are stale: the next requests must still succeed
        assert said(post_chat(http, "c-next", "next")) == [("bot", "You said: next")]
        assert rasa.messages_of("c-next") == ["hello", "kept", "next"]
        assert history(http, "c-next") == [
            ("shopper", "hello"), ("bot", "You said: hello"), ("shopper", "kept"),
            ("shopper", "next"), ("bot", "You said: kept"), ("bot", "You said: next")]


def test_history_is_a_clear_503_while_redis_is_down_and_works_again_at_once_after(
        live: Any) -> None:
    with live() as served:
        http = served.http
        said(post_chat(http, "c-hist", "hello"))
        served.redis.kill()
        response = http.get("/api/chat/c-hist/history", headers=owner("c-hist"))
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "history_unavailable"
        assert int(response.headers["Retry-After"]) > 0
        served.redis.start()
        assert history(http, "c-hist") == [("shopper", "hello"), ("bot", "You said: hello")]


def test_an_answer_the_bot_gave_as_redis_went_away_is_kept_and_the_bot_asked_once(
        live: Any) -> None:
    with live() as served:
        http, rasa = served.http, served.rasa
        said(post_chat(http, "c-mid", "hello"))
        # given the bot takes its time over a message
        rasa.delay = 1.5
        answered: list[httpx.Response] = []
        turn = threading.Thread(target=lambda: answered.append(
            post_chat(http, "c-mid", "slow one")))
        turn.start()
        wait_for(lambda: "slow one" in rasa.messages_of("c-mid"), what="the bot asked")
        # when Redis goes away before its answer is recorded
        served.redis.kill()
        turn.join(timeout=60)
        rasa.delay = 0
        # then the shopper still gets the bot's answer
        assert said(answered[0]) == [("bot", "You said: slow one")]
        # and once Redis is back it is in the history, once, and the bot was asked once
        served.redis.start()
        wait_for(lambda: len(history(http, "c-mid")) == 4, what="the kept answer")
        assert said(post_chat(http, "c-mid", "next")) == [("bot", "You said: next")]
        assert history(http, "c-mid") == [
            ("shopper", "hello"), ("bot", "You said: hello"),
            ("shopper", "slow one"), ("bot", "You said: slow one"),
            ("shopper", "next"), ("bot", "You said: next")]
        assert rasa.messages_of("c-mid") == ["hello", "slow one", "next"]


def test_a_waiting_message_the_bot_answered_as_redis_went_away_is_not_asked_again(
        live: Any) -> None:
    with live() as served:
        http, rasa = served.http, served.rasa
        # given a message that waits for the bot
        rasa.up = False
        assert said(post_chat(http, "c-wait", "hello")) == [("system", BOT_DOWN_APOLOGY)]
        # when the bot is back and slow, and Redis goes away while it answers the message
        rasa.delay, rasa.up = 1.5, True
        wait_for(lambda: rasa.messages_of("c-wait") == ["hello"], what="the retry")
        served.redis.kill()
        time.sleep(2.5)
        rasa.delay = 0
        served.redis.start()
        # then its answer is recorded once Redis is back, and the bot is not asked again
        wait_for(lambda: ("bot", "You said: hello") in history(http, "c-wait"),
                 what="the answer")
        time.sleep(1.5)  # the retry loop runs several times meanwhile
        assert said(post_chat(http, "c-wait", "next")) == [("bot", "You said: next")]
        assert rasa.messages_of("c-wait") == ["hello", "next"]
        assert history(http, "c-wait") == [
            ("shopper", "hello"), ("system", BOT_DOWN_APOLOGY), ("bot", "You said: hello"),
            ("shopper", "next"), ("bot", "You said: next")]


def test_rate_limits_are_counted_in_this_process_while_redis_is_down(live: Any) -> None:
    # Failing open to this process's own buckets: a shopper is not turned away because
    # Redis is down, and a flood is still refused (per replica) until it is back.
    with live(rate_conversation_burst=2, rate_conversation_per_minute=1) as served:
        http = served.http
        served.redis.kill()
        assert said(post_chat(http, "c-rate", "one")) == [("system", BOT_DOWN_APOLOGY)]
        assert said(post_chat(http, "c-rate", "two")) == [("system", BOT_DOWN_APOLOGY)]
        refused = post_chat(http, "c-rate", "three")
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) > 0


def test_agents_sign_in_while_redis_is_down_and_failures_are_still_counted(
        live: Any) -> None:
    with live(agent_login_free_failures=2, agent_login_base_delay_seconds=60) as served:
        with served.factory() as session:
            create_agent(session=session, email="ada@shop.example", name="Ada",
                         password="correct horse battery")
            session.commit()
        served.redis.kill()

        def sign_in(password: str) -> httpx.Response:
            return served.http.post("/agent/api/login", json={
                "email": "ada@shop.example", "password": password})

        # an agent signs in, counted in this process while Redis is down
        assert sign_in("correct horse battery").status_code == 200
        assert [sign_in("wrong").status_code for _ in range(3)] == [401, 401, 401]
        refused = sign_in("correct horse battery")
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_attempts"
        assert int(refused.headers["Retry-After"]) > 0


def socket_url(http: httpx.Client, conversation_id: str) -> str:
    return str(http.base_url.copy_with(scheme="ws", path="/ws/chat",
                                       query=f"conversation_id={conversation_id}".encode()))


def message_frames_until(ws: Any, predicate: Any) -> list[dict[str, Any]]:
    got = []
    while True:
        frame = json.loads(ws.recv(timeout=30))
        if frame["type"] == "message":
            got.append(frame)
            if predicate(frame):
                return got


def test_a_socket_open_when_redis_goes_gets_the_apology_and_later_the_answer(
        live: Any) -> None:

    with live() as served:
        http = served.http
        with connect(socket_url(http, "c-ws")) as ws:
            ws.send(json.dumps(hello("c-ws")))
            ws.send('{"type": "message", "text": "hi", "client_id": "m0"}')
            message_frames_until(ws, lambda f: f["role"] == "bot")
            served.redis.kill()
            ws.send('{"type": "message", "text": "hello", "client_id": "m1"}')
            got = message_frames_until(ws, lambda f: f["role"] == "system")
            assert [(f["role"], f["text"], f["client_id"]) for f in got] == [
                ("shopper", "hello", "m1"), ("system", BOT_DOWN_APOLOGY, None)]
            served.redis.start()
            got = message_frames_until(ws, lambda f: f["role"] == "bot")
            assert [(f["role"], f["text"]) for f in got][-1] == ("bot", "You said: hello")
            assert all(isinstance(f["seq"], int) for f in got)


def test_a_socket_that_connects_while_redis_is_down_is_told_to_come_back(live: Any) -> None:
    with live() as served:
        served.redis.kill()
        with connect(socket_url(served.http, "c-ws2")) as ws:
            ws.send(json.dumps(hello("c-ws2")))
            frame = json.loads(ws.recv(timeout=30))
            assert (frame["type"], frame["code"]) == ("error", "unavailable")
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=30)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
