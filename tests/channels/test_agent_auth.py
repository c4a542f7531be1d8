"""The agent console's sign-in and session: pages of other sites cannot act with an agent's
cookie, a stranger's wrong passwords cannot lock the agent out, and passwords are argon2id
(older scrypt hashes are re-hashed at the next sign-in) — on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import argon2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.websockets import WebSocketDisconnect

from channels.agent.auth import COOKIE, create_agent
from channels.agent.throttle import MemoryLoginThrottle, Policy, RedisLoginThrottle
from commerce_core.models import Agent
from tests.channels.fake_bot_api import FakeBotApi
from tests.channels.rasa_standin import RasaStandIn
from tests.channels.test_agent_api import PASSWORD, Console, console_app

OWN = "http://testserver"
EVIL = "https://evil.example"
LOGIN = "/agent/api/login"
ids = itertools.count(1)


@pytest.fixture(scope="module")
def standin() -> Iterator[RasaStandIn]:
    server = RasaStandIn().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def telegram_api() -> Iterator[FakeBotApi]:
    server = FakeBotApi().start()
    yield server
    server.stop()


@pytest.fixture
def console(demo_catalog: sessionmaker[Session], tmp_path: Path, standin: RasaStandIn,
            telegram_api: FakeBotApi) -> Iterator[Console]:
    with console_app(demo_catalog, tmp_path, standin, telegram_api) as console:
        yield console


def new_agent(console: Console, name: str = "Ana", password_hash: str | None = None) -> str:
    email = f"{name.lower()}-auth{next(ids)}@shop.example"
    with console.factory() as session:
        agent = create_agent(session=session, email=email, name=name, password=PASSWORD)
        if password_hash is not None:
            agent.password_hash = password_hash
        session.commit()
    return email


def stored_hash(console: Console, email: str) -> str:
    with console.factory() as session:
        return session.scalar(select(Agent.password_hash).where(Agent.email == email))


def error_code(response: Any) -> str:
    return response.json()["error"]["code"]


# --- requests of other sites ----------------------------------------------------------


def test_a_page_of_another_site_cannot_act_with_the_agents_cookie(console: Console) -> None:
    ben = console.agent("Ben")  # signs in with a bearer token (and drops the cookie)
    # given Ana signed in on the console page: her browser holds the session cookie
    email = new_agent(console)
    signed_in = console.client.post(LOGIN, json={"email": email, "password": PASSWORD},
                                    headers={"origin": OWN})
    assert signed_in.status_code == 200 and console.client.cookies.get(COOKIE)
    conversation_id = f"web-auth-{next(ids)}"
    console.say(conversation_id, "a person please", payload="/request_human")
    claim = f"/agent/api/conversations/{conversation_id}/claim"
    handback = f"/agent/api/conversations/{conversation_id}/handback"
    # when pages of other sites (or requests that do not say where they come from) post
    for headers in ({"origin": EVIL}, {"sec-fetch-site": "cross-site"},
                    {"origin": "null", "sec-fetch-site": "cross-site"},
                    {"sec-fetch-site": "same-site"}, {"referer": f"{EVIL}/cats"}, {}):
        refused = console.client.post(claim, headers=headers)
        # then they are refused, and nothing moved
        assert refused.status_code == 403, headers
        assert error_code(refused) == "cross_site_request"
    detail = console.client.get(f"/agent/api/conversations/{conversation_id}")
    assert detail.status_code == 200 and detail.json()["state"] == "waiting"
    # the console's own page may (Origin, or Sec-Fetch-Site when Origin is withheld)
    assert console.client.post(claim, headers={"origin": OWN}).status_code == 200
    assert console.client.post(handback, headers={"origin": EVIL}).status_code == 403
    assert console.client.post("/agent/api/logout", headers={"origin": EVIL}).status_code == 403
    assert console.client.get("/agent/api/me").status_code == 200  # still signed in
    assert console.client.post(handback, headers={"origin": "null",
                                                  "sec-fetch-site": "same-origin"}
                               ).status_code == 200
    # a bearer token is no ambient credential: it works from anywhere
    assert console.client.post(claim, headers={**ben, "origin": EVIL}).status_code == 200
    # and a page of another site cannot sign anybody in either
    foreign = console.client.post(LOGIN, json={"email": email, "password": PASSWORD},
                                  headers={"origin": EVIL})
    assert foreign.status_code == 403 and error_code(foreign) == "cross_site_request"


def test_a_malformed_origin_is_refused_clearly(console: Console) -> None:
    email = new_agent(console)
    for origin in ("http://[", "http://[::1", "not a url"):
        refused = console.client.post(LOGIN, json={"email": email, "password": PASSWORD},
                                      headers={"origin": origin})
        assert refused.status_code == 403, origin
        assert error_code(refused) == "cross_site_request"
        chat = console.client.post("/api/chat", headers={"origin": origin},
                                   json={"conversation_id": "c-x", "message": "hi"})
        assert chat.status_code == 403 and error_code(chat) == "origin_not_allowed"


def test_the_console_socket_with_the_cookie_needs_the_consoles_origin(
        console: Console) -> None:
    email = new_agent(console)
    assert console.client.post(LOGIN, json={"email": email, "password": PASSWORD},
                               headers={"origin": OWN}).status_code == 200
    for headers in ({}, {"origin": EVIL}):
        with pytest.raises(WebSocketDisconnect) as refused, \
                console.client.websocket_connect("/agent/ws", headers=headers) as ws:
            ws.receive_json()
        assert refused.value.code == 4401, headers
    with console.client.websocket_connect("/agent/ws", headers={"origin": OWN}) as ws:
        assert ws.receive_json()["type"] == "queue"


# --- wrong passwords --------------------------------------------------------------------


def test_a_strangers_wrong_passwords_do_not_lock_the_agent_out(console: Console) -> None:
    email = new_agent(console)
    app = console.client.app
    stranger = TestClient(app, client=("203.0.113.9", 40000))
    agents_pc = TestClient(app, client=("198.51.100.7", 50000))
    # when a stranger tries many wrong passwords for the agent's account
    codes = []
    for _ in range(8):
        attempt = stranger.post(LOGIN, json={"email": email, "password": "guess guess"})
        codes.append(attempt.status_code)
        if attempt.status_code == 429:
            # every refusal says how long to wait, in the header and in the body
            retry_after = int(attempt.headers["Retry-After"])
            assert retry_after >= 1
            assert attempt.json()["error"]["details"]["retry_after"] == retry_after
            assert error_code(attempt) == "too_many_attempts"
    # then the stranger is slowed down …
    assert codes[:3] == [401] * 3 and 429 in codes
    assert stranger.post(LOGIN, json={"email": email, "password": PASSWORD}
                         ).status_code == 429
    # … and the agent, from their own computer, signs in with the right password
    signed_in = agents_pc.post(LOGIN, json={"email": email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text


def _throttles(redis_url: str, redis_prefix: str) -> list[Any]:
    policies = {"pair": Policy(free=3, base=1.0, cap=600.0),
                "client": Policy(free=10, base=1.0, cap=600.0),
                "account": Policy(free=8, base=1.0, cap=4.0)}
    return [MemoryLoginThrottle(window_seconds=60, **policies),
            RedisLoginThrottle(url=redis_url, prefix=redis_prefix, window_seconds=60,
                               **policies)]


@pytest.mark.parametrize("where", ["memory", "redis"])
def test_waits_grow_per_client_and_the_account_backs_off_only_briefly(
        where: str, redis_url: str, redis_prefix: str) -> None:
    memory, in_redis = _throttles(redis_url, redis_prefix)
    throttle = memory if where == "memory" else in_redis
    try:
        # one client: free tries, then waits that double
        waits = [throttle.failed(account="ana", client="x") for _ in range(7)]
        assert [round(w) for w in waits] == [0, 0, 0, 1, 2, 4, 8]
        assert 7 < throttle.retry_after(account="ana", client="x") <= 8
        # another client is not slowed down by that
        assert throttle.retry_after(account="ana", client="y") == 0
        # many clients together: the account backs off, never longer than its cap
        for client in ("c1", "c2", "c3"):
            throttle.failed(account="bob", client=client)
        assert throttle.retry_after(account="bob", client="fresh") == 0
        for client in ("c4", "c5", "c6", "c7", "c8", "c9", "c10"):
            throttle.failed(account="bob", client=client)
        assert 0 < throttle.retry_after(account="bob", client="fresh") <= 4
        # a sign-in clears that client's count for the account
        throttle.succeeded(account="ana", client="x")
        assert throttle.retry_after(account="ana", client="x") == 0
    finally:
        in_redis.close()


# --- password hashes --------------------------------------------------------------------


def _scrypt(password: str) -> str:
    """A hash as stored before: scrypt with N = 2^14."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    b64 = base64.b64encode
    return f"scrypt$16384$8$1${b64(salt).decode()}${b64(digest).decode()}"


def test_new_passwords_are_argon2id_with_owasps_parameters(console: Console) -> None:
    email = new_agent(console)
    stored = stored_hash(console, email)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert console.client.post(LOGIN, json={"email": email, "password": PASSWORD}
                               ).status_code == 200


@pytest.mark.parametrize("old", ["scrypt", "weak argon2id"])
def test_an_older_hash_is_rehashed_when_the_agent_signs_in(console: Console, old: str) -> None:
    # given an agent whose password was stored the old way
    legacy = (_scrypt(PASSWORD) if old == "scrypt" else argon2.PasswordHasher(
        time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD))
    email = new_agent(console, password_hash=legacy)
    # a wrong password neither signs in nor touches the hash
    wrong = console.client.post(LOGIN, json={"email": email, "password": "not it at all"})
    assert wrong.status_code == 401 and stored_hash(console, email) == legacy
    # when they sign in with the right one
    assert console.client.post(LOGIN, json={"email": email, "password": PASSWORD}
                               ).status_code == 200
    # then it is stored as argon2id now, and goes on working
    assert stored_hash(console, email).startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert console.client.post(LOGIN, json={"email": email, "password": PASSWORD}
                               ).status_code == 200
