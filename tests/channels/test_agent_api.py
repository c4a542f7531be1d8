"""The agent console's API and socket on the real app (SQLite and PostgreSQL), with a local
HTTP server standing in for Rasa (tests/channels/rasa_standin.py) and the fake Bot API."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from starlette.websockets import WebSocketDisconnect

from channels.agent.auth import COOKIE, create_agent
from channels.agent.routes import router as agent_api
from channels.app import create_app
from channels.chat import BOT_DOWN_APOLOGY, ChatService
from channels.config import GatewaySettings
from channels.delivery.history import MemoryHistory
from channels.delivery.outlet import Outlet
from channels.delivery.transcripts import TranscriptHistory, transcript
from channels.handoff.desk import BOT_BACK, CLOSED, STILL_WAITING, WAITING, make_desk
from channels.rasa_client import RasaClient
from channels.telegram.channel import HUMAN_REQUEST
from channels.telegram.runtime import TelegramBot
from commerce_core.models import Conversation
from knowledge.config import KnowledgeSettings
from tests.channels.fake_bot_api import TOKEN, FakeBotApi, LoopThread, text_update
from tests.channels.fake_rasa import wait_for
from tests.channels.rasa_standin import BACK_TEXT, HANDOFF_TEXT, RasaStandIn
from tests.channels.web_chat import (
    chat_body,
    chat_socket,
    owner,
    recorded,
    telegram_turn,
)
from tests.commerce_core.helpers import Shopper

PASSWORD = "correct horse battery"
ids = itertools.count(1)


@pytest.fixture(scope="module")
def rasa() -> Iterator[RasaStandIn]:
    server = RasaStandIn().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bot_api() -> Iterator[FakeBotApi]:
    server = FakeBotApi().start()
    yield server
    server.stop()


@dataclass
class Console:
    client: TestClient
    factory: sessionmaker[Session]

    def agent(self, name: str) -> dict[str, str]:
        email = f"{name.lower()}{next(ids)}@shop.example"
        with self.factory() as session:
            create_agent(session=session, email=email, name=name, password=PASSWORD)
            session.commit()
        response = self.client.post("/agent/api/login", json={"email": email,
                                                               "password": PASSWORD})
        assert response.status_code == 200, response.text
        self.client.cookies.clear()  # each agent below authenticates with its own bearer
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def say(self, conversation_id: str, text: str = "", payload: str | None = None) -> list:
        response = self.client.post("/api/chat", json=chat_body(conversation_id, text,
                                                                payload=payload))
        assert response.status_code == 200, response.text
        return [(m["role"], m["text"]) for m in response.json()["messages"]]

    def history(self, conversation_id: str) -> list[tuple[str, str]]:
        return [(m["role"], m["text"]) for m in
                self.client.get(f"/api/chat/{conversation_id}/history",
                                headers=owner(conversation_id)).json()]


@contextmanager
def console_app(factory: sessionmaker[Session], tmp_path: Path, rasa: RasaStandIn,
                bot_api: FakeBotApi, **overrides: Any) -> Iterator[Console]:
    settings = GatewaySettings(**({
        "rasa_url": rasa.url, "warm_search_on_start": False, "telegram_token": TOKEN,
        "telegram_api_url": bot_api.base_url, "telegram_file_url": bot_api.file_url,
        "handoff_check_seconds": 0.1} | overrides))
    app = create_app(settings, session_factory=factory,
                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path))
    with TestClient(app) as client:
        yield Console(client, factory)


@pytest.fixture
def console(demo_catalog: sessionmaker[Session], tmp_path: Path, rasa: RasaStandIn,
            bot_api: FakeBotApi) -> Iterator[Console]:
    with console_app(demo_catalog, tmp_path, rasa, bot_api) as console:
        yield console


def agent_routes() -> list[tuple[str, str]]:
    routes = []
    for route in agent_api.routes:
        path = getattr(route, "path", "")
        if path != "/agent/api/login":
            for method in sorted(getattr(route, "methods", ())):
                concrete = (path.replace("{conversation_id}", "c-1")
                            .replace("{channel}", "web").replace("{external_id}", "c-1"))
                routes.append((method, concrete))
    return routes


def test_every_agent_route_refuses_the_unauthenticated(console: Console) -> None:
    routes = agent_routes()
    assert len(routes) >= 10
    for headers in ({}, {"Authorization": "Bearer ags_forged"}, {"Authorization": "Basic x"}):
        for method, path in routes:
            response = console.client.request(method, path, headers=headers,
                                              json={"text": "hi"})
            assert response.status_code == 401, (method, path, headers)
            assert response.json()["error"]["code"] == "unauthorized"
    with pytest.raises(WebSocketDisconnect) as refused, \
            console.client.websocket_connect("/agent/ws"):
        pass
    assert refused.value.code == 4401
    page = console.client.get("/agent")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_sign_in_cookie_bearer_logout_and_rate_limit(console: Console) -> None:
    headers = console.agent("Ana")
    me = console.client.get("/agent/api/me", headers=headers)
    assert me.status_code == 200 and me.json()["name"] == "Ana"
    email = me.json()["email"]
    # the cookie for the page: HttpOnly, SameSite=Strict
    login = console.client.post("/agent/api/login", json={"email": email.upper(),
                                                           "password": PASSWORD})
    cookie = login.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert console.client.get("/agent/api/me").status_code == 200  # by cookie
    assert console.client.post("/agent/api/logout",  # from the console's page
                               headers={"origin": "http://testserver"}).status_code == 200
    console.client.cookies.clear()
    assert console.client.get("/agent/api/me", cookies={COOKIE: login.json()["token"]}
                              ).status_code == 401
    # wrong passwords: refused, then this client must wait, even with the right one
    codes = [console.client.post("/agent/api/login", json={
        "email": email, "password": "wrong password"}).status_code for _ in range(5)]
    assert codes == [401] * 4 + [429]
    limited = console.client.post("/agent/api/login", json={"email": email,
                                                            "password": PASSWORD})
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "too_many_attempts"
    assert int(limited.headers["Retry-After"]) >= 1
    assert console.client.get("/agent/api/me", headers=headers).status_code == 200


def test_failed_sign_ins_on_one_replica_count_on_the_other(
        demo_catalog: sessionmaker[Session], tmp_path: Path, rasa: RasaStandIn,
        bot_api: FakeBotApi, redis_url: str, redis_prefix: str) -> None:
    # given: two gateway replicas on one database and one Redis, two free failures
    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix,
              "agent_login_free_failures": 2, "agent_login_client_free_failures": 2,
              "agent_login_base_delay_seconds": 2}
    with console_app(demo_catalog, tmp_path, rasa, bot_api, **shared) as a, \
            console_app(demo_catalog, tmp_path, rasa, bot_api, **shared) as b:
        email = a.client.get("/agent/api/me", headers=a.agent("Ana")).json()["email"]

        def login(console: Console, password: str, who: str = email) -> Any:
            return console.client.post("/agent/api/login",
                                       json={"email": who, "password": password})

        # when: wrong passwords alternate between the replicas
        assert [login(c, "wrong password").status_code for c in (a, b, a)] == [401] * 3
        # then: each replica makes this client wait, even with the right password
        for console in (b, a):
            limited = login(console, PASSWORD)
            assert limited.status_code == 429
            assert 1 <= limited.json()["error"]["details"]["retry_after"] <= 2
        # the client's address waits on both too, whatever the email
        assert login(b, "anything", who="someone@shop.example").status_code == 429
        # and once the wait has passed the agent signs in on either
        time.sleep(2.1)
        assert login(b, PASSWORD).status_code == 200


def test_handoff_claim_reply_handback_on_the_web(console: Console, rasa: RasaStandIn) -> None:
    conversation_id = f"web-{next(ids)}"
    ana, ben = console.agent("Ana"), console.agent("Ben")
    Shopper(console.client, conversation_id).add("CER-MUG-001")
    # the shopper asks for a person: the bot hands off, the shopper hears they wait
    assert console.say(conversation_id, "hi") == [("bot", "echo: hi")]
    answers = console.say(conversation_id, "Talk to a person", payload="/request_human")
    assert answers == [("bot", HANDOFF_TEXT), ("system", WAITING)]
    waiting = console.client.get("/agent/api/queue", headers=ana).json()["waiting"]
    [entry] = [e for e in waiting if e["id"] == conversation_id]
    assert (entry["channel"], entry["reason"], entry["summary"]) == (
        "web", "shopper_request", "Asked for a person")
    assert entry["waiting_since"]
    # while waiting the bot is not asked; the queue reminder comes once
    asked = len(rasa.messages_of(conversation_id))
    assert console.say(conversation_id, "hello?") == [("system", STILL_WAITING)]
    assert console.say(conversation_id, "anyone?") == []
    assert len(rasa.messages_of(conversation_id)) == asked
    # two agents claim: one wins
    with chat_socket(console.client, conversation_id, after=0) as shopper_ws:
        replayed = [shopper_ws.receive_json() for _ in console.history(conversation_id)]
        assert replayed[-1]["text"] == "anyone?"
        claim = f"/agent/api/conversations/{conversation_id}/claim"
        assert console.client.post(claim, headers=ana).status_code == 200
        second = console.client.post(claim, headers=ben)
        assert second.status_code == 409
        assert second.json()["error"]["code"] == "conversation_changed"
        joined = shopper_ws.receive_json()
        assert (joined["role"], joined["text"]) == (
            "system", "Ana from the shop has joined the conversation.")
        # the agent's reply reaches the widget's socket; Ben may not reply
        reply = f"/agent/api/conversations/{conversation_id}/reply"
        sent = console.client.post(reply, headers=ana, json={"text": "<b>Hi</b>, I'm Ana"})
        assert sent.status_code == 200 and sent.json()["role"] == "agent"
        frame = shopper_ws.receive_json()
        assert (frame["role"], frame["text"]) == ("agent", "<b>Hi</b>, I'm Ana")
        assert console.client.post(reply, headers=ben, json={"text": "me too"}
                                   ).status_code == 409
        too_long = console.client.post(reply, headers=ana, json={"text": "x" * 2001})
        assert too_long.json()["error"]["code"] == "message_too_long"
        # with the agent the bot stays silent
        assert console.say(conversation_id, "thanks Ana") == []
        assert len(rasa.messages_of(conversation_id)) == asked
        # the console shows the whole transcript and the customer's cart
        detail = console.client.get(f"/agent/api/conversations/{conversation_id}",
                                    headers=ana).json()
        assert detail["state"] == "agent" and detail["agent_name"] == "Ana"
        texts = [(m["role"], m["text"]) for m in detail["transcript"]]
        assert ("bot", HANDOFF_TEXT) in texts and ("shopper", "thanks Ana") in texts
        assert ("agent", "<b>Hi</b>, I'm Ana") in texts
        assert [line["sku"] for line in detail["customer"]["cart"]["lines"]] == ["CER-MUG-001"]
        assert detail["customer"]["orders"] == []
        # hand back: only the holder; the shopper hears the bot is back, the bot resumes
        handback = f"/agent/api/conversations/{conversation_id}/handback"
        assert console.client.post(handback, headers=ben).status_code == 409
        assert console.client.post(handback, headers=ana).status_code == 200
        back = [shopper_ws.receive_json() for _ in range(3)]
        assert [(f["role"], f["text"]) for f in back[1:]] == [("system", BOT_BACK),
                                                               ("bot", BACK_TEXT)]
    assert rasa.messages_of(conversation_id)[-1] == "/handback"
    assert [c["metadata"] for c in rasa.calls if c["sender"] == conversation_id][-1] == {
        "shopper": {"channel": "web", "external_id": conversation_id}}
    assert console.say(conversation_id, "more mugs") == [("bot", "echo: more mugs")]


def test_telegram_conversation_gets_agent_messages_in_telegram(
        console: Console, bot_api: FakeBotApi) -> None:
    chat_id = 900_000 + next(ids)
    conversation_id = f"tg-{chat_id}"
    ana = console.agent("Ana")
    telegram_turn(console.client, conversation_id, "I'd like to talk to a person",
                  payload="/request_human")
    assert console.client.post(f"/agent/api/conversations/{conversation_id}/claim",
                               headers=ana).status_code == 200
    console.client.post(f"/agent/api/conversations/{conversation_id}/reply", headers=ana,
                        json={"text": "Hello from the workshop"})
    sent = bot_api.wait_for(lambda: [c.params["text"] for c in bot_api.sent(chat_id)]
                            if len(bot_api.sent(chat_id)) >= 2 else None,
                            timeout=10, what="agent messages in telegram")
    assert sent == ["Ana from the shop has joined the conversation.", "Hello from the workshop"]


def test_email_while_waiting_close_and_reopen(console: Console, rasa: RasaStandIn) -> None:
    conversation_id = f"web-{next(ids)}"
    ana = console.agent("Ana")
    console.say(conversation_id, "a person please", payload="/request_human")
    answers = console.say(conversation_id, "write to me: jo.doe+shop@example.org please")
    assert answers == [("system", "Thank you — the team will write to you at "
                                  "jo.doe+shop@example.org.")]
    waiting = console.client.get("/agent/api/queue", headers=ana).json()["waiting"]
    assert [e["contact_email"] for e in waiting if e["id"] == conversation_id] == [
        "jo.doe+shop@example.org"]
    close = console.client.post(f"/agent/api/conversations/{conversation_id}/close",
                                headers=ana)
    assert close.status_code == 200
    assert console.history(conversation_id)[-1] == ("system", CLOSED)
    again = console.client.post(f"/agent/api/conversations/{conversation_id}/close",
                                headers=ana)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conversation_changed"
    assert "already closed" in again.json()["error"]["message"]
    assert console.say(conversation_id, "back again") == [("bot", "echo: back again")]
    missing = console.client.post("/agent/api/conversations/nope/claim", headers=ana)
    assert missing.status_code == 404


def test_nobody_picks_up_the_shopper_hears_the_staffed_hours_once(
        demo_catalog: sessionmaker[Session], tmp_path: Path, rasa: RasaStandIn,
        bot_api: FakeBotApi) -> None:
    with console_app(demo_catalog, tmp_path, rasa, bot_api, handoff_timeout_seconds=0.3,
                     staffed_hours="Mon-Fri 09:00-18:00 Europe/Paris") as console:
        conversation_id = f"web-{next(ids)}"
        console.say(conversation_id, "a person", payload="/request_human")
        with chat_socket(console.client, conversation_id, after=0) as ws:
            for _ in console.history(conversation_id):
                ws.receive_json()
            notice = ws.receive_json()  # the periodic check sends it
        assert "Mon-Fri 09:00-18:00 (Europe/Paris time)" in notice["text"]
        assert "email" in notice["text"]
        notices = [t for r, t in console.history(conversation_id) if "Europe/Paris" in t]
        assert len(notices) == 1


def test_search_and_delete_customer_data(console: Console, rasa: RasaStandIn) -> None:
    conversation_id = f"web-{next(ids)}"
    ana = console.agent("Ana")
    console.say(conversation_id, "my parcel never came, Jeanne Martin here")
    found = console.client.get("/agent/api/search", headers=ana,
                               params={"q": "JEANNE"}).json()["results"]
    assert [(r["conversation_id"], r["role"]) for r in found] == [
        (conversation_id, "bot"), (conversation_id, "shopper")]  # the stand-in echoes
    bad = console.client.get("/agent/api/search", headers=ana, params={"q": ""})
    assert bad.status_code == 422
    deleted = console.client.delete(f"/agent/api/customers/web/{conversation_id}", headers=ana)
    assert deleted.status_code == 200
    assert deleted.json()["conversations"] == [conversation_id]
    assert console.client.get("/agent/api/search", headers=ana,
                              params={"q": "jeanne"}).json()["results"] == []
    assert recorded(console.client, conversation_id) == []
    # the bot's tracker of the conversation is emptied too
    assert deleted.json()["bot_memory"] == {"wiped": [conversation_id], "waiting": []}
    assert rasa.wiped().count(conversation_id) == 1


def test_a_deletion_while_the_bot_is_down_wipes_its_tracker_once_it_is_back(
        demo_catalog: sessionmaker[Session], tmp_path: Path, bot_api: FakeBotApi,
        redis_url: str, redis_prefix: str) -> None:
    # given: a shopper who wrote their address while the bot was down
    rasa = RasaStandIn().start()
    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix, "bot_retry_seconds": 0.1}
    conversation_id = f"web-{next(ids)}"
    waiting = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        with console_app(demo_catalog, tmp_path, rasa, bot_api, **shared) as first:
            ana = first.agent("Ana")
            assert first.say(conversation_id, "hi") == [("bot", "echo: hi")]
            rasa.up = False
            assert first.say(conversation_id, "I live at 12 rue des Potiers") == [
                ("system", BOT_DOWN_APOLOGY)]
            # when: an agent deletes the shopper's data
            deleted = first.client.delete(f"/agent/api/customers/web/{conversation_id}",
                                          headers=ana)
            # then: the agent is told the bot's memory of it is not wiped yet
            assert deleted.status_code == 200, deleted.text
            assert deleted.json()["bot_memory"] == {"wiped": [], "waiting": [conversation_id]}
            time.sleep(0.3)  # the replica keeps trying while the bot is down
        assert rasa.wiped() == []
        # the replica has stopped; another one wipes the tracker once the bot is back
        rasa.up = True
        with console_app(demo_catalog, tmp_path, rasa, bot_api, **shared):
            wait_for(lambda: conversation_id in rasa.wiped(), what="the tracker wiped")
            wait_for(lambda: not waiting.smembers(f"{redis_prefix}:tracker-wipes"),
                     what="the wipe crossed off")
            time.sleep(0.3)  # messages waiting for the bot would have been sent by now
        # the message that waited for the bot was dropped with the data, never sent
        assert rasa.messages_of(conversation_id) == ["hi"]
    finally:
        waiting.close()
        rasa.stop()


def test_console_socket_sends_the_queue_and_the_watched_transcript(console: Console) -> None:
    conversation_id = f"web-{next(ids)}"
    ana = console.agent("Ana")
    with console.client.websocket_connect("/agent/ws", headers=ana) as ws:
        first = ws.receive_json()
        assert first["type"] == "queue"
        console.say(conversation_id, "a person", payload="/request_human")
        frame = ws.receive_json()
        while frame["type"] != "queue" or not any(e["id"] == conversation_id
                                                  for e in frame["waiting"]):
            frame = ws.receive_json()
        ws.send_json({"type": "watch", "conversation_id": conversation_id})
        console.say(conversation_id, "are you there?")
        frame = ws.receive_json()
        while frame["type"] != "message":
            frame = ws.receive_json()
        assert (frame["conversation_id"], frame["role"], frame["text"]) == (
            conversation_id, "shopper", "are you there?")
        ws.send_text("nonsense")
        frame = ws.receive_json()
        while frame["type"] != "error":
            frame = ws.receive_json()
        assert frame["code"] == "invalid_frame"
    with pytest.raises(WebSocketDisconnect) as refused, console.client.websocket_connect(
            "/agent/ws", headers={**ana, "origin": "https://evil.example"}) as ws:
        ws.receive_json()
    assert refused.value.code == 4401


def test_telegram_human_command_asks_the_bot_and_queues_the_conversation(
        session_factory: sessionmaker[Session], rasa: RasaStandIn,
        bot_api: FakeBotApi) -> None:
    settings = GatewaySettings(telegram_token=TOKEN, telegram_api_url=bot_api.base_url,
                               telegram_file_url=bot_api.file_url, rasa_url=rasa.url,
                               warm_search_on_start=False)
    thread = LoopThread()

    async def start() -> TelegramBot:
        rasa_client = RasaClient(settings.rasa_url, 5)
        outlet = Outlet(history=TranscriptHistory(MemoryHistory(50), session_factory))
        desk = make_desk(settings, session_factory, outlet=outlet, rasa=rasa_client)
        chat = ChatService(rasa=rasa_client, outlet=outlet, max_message_chars=2000,
                           handoff=desk)
        bot = TelegramBot(settings, chat, mode="polling")
        await bot.start(poll_timeout=1)
        return bot

    bot = thread.run(start())
    try:
        chat_id = 800_000 + next(ids)
        bot_api.push(text_update(chat_id, "/human"))
        bot_api.wait_for(lambda: len(bot_api.sent(chat_id)) >= 2, what="handoff answers")
        assert [c.params["text"] for c in bot_api.sent(chat_id)] == [HANDOFF_TEXT, WAITING]
        assert rasa.messages_of(f"tg-{chat_id}") == ["/request_human"]
        with session_factory() as session:
            conversation = session.get(Conversation, f"tg-{chat_id}")
            assert conversation is not None
            assert (conversation.state.value, conversation.channel) == ("waiting", "telegram")
            assert transcript(session=session, conversation_id=f"tg-{chat_id}")[0][
                "text"] == HUMAN_REQUEST
    finally:
        thread.run(bot.stop())
        thread.run(bot.channel.chat.rasa.aclose())
        thread.close()
