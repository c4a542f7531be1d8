"""The tracker stores of both deployments (bot/atelier_tracker_store.py) under the real
``rasa run --enable-api``: SQLite in the data directory (endpoints.yml, the default run) and
a real Redis (endpoints.compose.yml).

A conversation whose events are replaced with none through the HTTP API, as the gateway
does when a customer's data is deleted, keeps none of them; Rasa's own stores would keep
the old events (Redis merges them back, SQL only ever appends).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
import yaml

from tests.bot.rasa_venv import in_rasa
from tests.e2e.stack import free_port

REPO = Path(__file__).resolve().parents[2]
ADDRESS = "I live at 12 rue des Potiers"


def said(text: str) -> dict[str, object]:
    """A shopper's message as Rasa records it (``user`` event with its parse)."""
    return {"event": "user", "text": text, "parse_data": {
        "text": text, "intent": {"name": "inform", "confidence": 1.0}, "entities": []}}


@dataclass
class RasaOnStore:
    url: str
    held: Callable[[str], str]
    """What the store itself holds of a conversation, as text."""


@contextmanager
def rasa_run(workdir: Path, endpoints: Path, env: dict[str, str]) -> Iterator[str]:
    """``rasa run`` with ``endpoints`` (the bot directory on its path, as in the image and
    in make run); yields its URL."""
    rasa, model = os.environ.get("ATELIER_TEST_RASA_BIN"), os.environ.get(
        "ATELIER_TEST_RASA_MODEL")
    if not rasa or not model:
        pytest.fail("ATELIER_TEST_RASA_BIN / ATELIER_TEST_RASA_MODEL are not set: run the "
                    "suite with 'make test'.", pytrace=False)
    port = free_port()
    log = (workdir / "rasa.log").open("w")
    server = subprocess.Popen(
        [rasa, "run", "--enable-api", "-i", "127.0.0.1", "--port", str(port), "-m", model,
         "--endpoints", str(endpoints)], cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false",
             "PYTHONPATH": str(REPO / "bot"), **env},
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                if httpx.get(f"{url}/status", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("rasa run did not start: "
                            + (workdir / "rasa.log").read_text()[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
        log.close()


@pytest.fixture
def rasa_on_sqlite(tmp_path: Path) -> Iterator[RasaOnStore]:
    """The default run's endpoints.yml as it is, its data directory in ``tmp_path``."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()

    def held(conversation_id: str) -> str:
        with sqlite3.connect(data_dir / "rasa-trackers.db") as db:
            rows = db.execute("SELECT data FROM events WHERE sender_id = ?",
                              (conversation_id,)).fetchall()
        return " ".join(row[0] for row in rows)

    with rasa_run(tmp_path, REPO / "bot" / "endpoints.yml", {
            "ATELIER_DATA_DIR": str(data_dir),
            "ATELIER_ACTION_ENDPOINT_URL": "http://127.0.0.1:9/webhook"}) as url:
        yield RasaOnStore(url, held)


@pytest.fixture
def rasa_on_redis(tmp_path: Path, redis_url: str) -> Iterator[RasaOnStore]:
    """The store of endpoints.compose.yml on the test Redis, under its own key prefix
    (Rasa wants letters and digits only)."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    where = client.connection_pool.connection_kwargs
    compose = yaml.safe_load((REPO / "bot" / "endpoints.compose.yml").read_text())
    prefix = f"ateliertest{uuid.uuid4().hex[:12]}"
    store = {**compose["tracker_store"], "url": where.get("host", "127.0.0.1"),
             "port": where.get("port", 6379), "db": where.get("db", 0), "key_prefix": prefix}
    (tmp_path / "endpoints.yml").write_text(yaml.safe_dump({"tracker_store": store}))
    try:
        with rasa_run(tmp_path, tmp_path / "endpoints.yml", {}) as url:
            yield RasaOnStore(url, lambda conversation_id: client.get(
                f"{prefix}:tracker:{conversation_id}") or "")
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.mark.parametrize("store", ["rasa_on_sqlite", "rasa_on_redis"])
def test_replacing_a_conversations_events_with_none_wipes_it_from_the_store(
        store: str, request: pytest.FixtureRequest) -> None:
    rasa: RasaOnStore = request.getfixturevalue(store)
    events = f"{rasa.url}/conversations/c-wipe/tracker/events"

    def stored() -> str:
        tracker = httpx.get(f"{rasa.url}/conversations/c-wipe/tracker",
                            params={"include_events": "ALL"}, timeout=30).json()
        return str(tracker["events"]) + rasa.held("c-wipe")

    # given: a conversation in which the shopper gave their address
    assert httpx.post(events, json=said(ADDRESS), timeout=30).status_code == 200
    assert ADDRESS in stored()
    # when: its events are replaced with none
    assert httpx.put(events, json=[], timeout=30).status_code == 200
    # then: neither Rasa nor its store holds the address
    assert ADDRESS not in stored()
    # and the conversation goes on, its new events kept as usual
    for text in ("hello again", "still there?"):
        assert httpx.post(events, json=said(text), timeout=30).status_code == 200
    after = stored()
    assert "hello again" in after and "still there?" in after and ADDRESS not in after


SIDE_BY_SIDE = """
import asyncio, json, sys
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (ActionExecuted, BotUttered, SessionStarted, SlotSet,
                                     UserUttered)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from atelier_tracker_store import ErasableSQLTrackerStore

domain = Domain.load("domain")
stores = {"rasa": SQLTrackerStore(domain, dialect="sqlite", db=sys.argv[1] + "/rasa.db"),
          "atelier": ErasableSQLTrackerStore(domain, dialect="sqlite",
                                             db=sys.argv[1] + "/atelier.db")}
inserts = {name: [] for name in stores}
for name, store in stores.items():
    sa.event.listen(store.engine, "before_cursor_execute",
                    lambda *args, name=name: inserts[name].append(args[2])
                    if args[2].lstrip().upper().startswith("INSERT") else None)

def turn(text, intent, t):
    return [UserUttered(text, {"name": intent, "confidence": 0.9},
                        [{"entity": "colour", "value": "blue", "start": 0, "end": 4}],
                        timestamp=t),
            ActionExecuted("action_search_products", policy="RulePolicy", confidence=1.0,
                           timestamp=t + 0.1),
            SlotSet("shown_products", ["3", "7"], timestamp=t + 0.2),
            BotUttered("Here are blue mugs", {"buttons": []}, timestamp=t + 0.3),
            ActionExecuted("action_listen", timestamp=t + 0.4)]

session = [ActionExecuted("action_session_start", timestamp=1.0),
           SessionStarted(timestamp=1.1), ActionExecuted("action_listen", timestamp=1.2)]
turns = [session + turn("blue mugs", "search_product", 2.0), turn("cheaper", "refine_search", 3.0),
         [ActionExecuted("action_session_start", timestamp=9.0), SessionStarted(timestamp=9.1),
          ActionExecuted("action_listen", timestamp=9.2)] + turn("hi again", "greet", 10.0)]

async def main():
    found = {name: {"inserts_per_save": []} for name in stores}
    for name, store in stores.items():
        events = []
        for more in turns:  # a turn at a time, the tracker read back before each
            tracker = await store.retrieve("c") or DialogueStateTracker("c", domain.slots)
            for event in more:
                tracker.update(event)
            inserts[name].clear()
            await store.save(tracker)
            found[name]["inserts_per_save"].append(len(inserts[name]))
        latest, full = await store.retrieve("c"), await store.retrieve_full_tracker("c")
        found[name]["latest"] = latest.current_state(EventVerbosity.ALL)
        found[name]["full"] = full.current_state(EventVerbosity.ALL)
        with store.engine.connect() as db:
            found[name]["rows"] = [list(row) for row in db.execute(sa.text(
                "SELECT sender_id, type_name, timestamp, intent_name, action_name, data "
                "FROM events ORDER BY id"))]
        found[name]["nothing"] = await store.retrieve("nobody") is None
    print(json.dumps(found))

asyncio.run(main())
"""


def test_the_sql_store_keeps_and_reads_what_rasas_does_in_one_insert_per_turn(
        tmp_path: Path) -> None:
    # given: three turns (the third in a new conversation session) saved a turn at a time
    # into Rasa's own SQL store and into ours, each read back before the next turn
    found = in_rasa(SIDE_BY_SIDE, str(tmp_path))
    rasa, atelier = found["rasa"], found["atelier"]
    # then: the same rows, the same latest session (from its session_started on) and the
    # whole conversation read back
    assert atelier["rows"] == rasa["rows"] and len(rasa["rows"]) == 21
    assert atelier["latest"] == rasa["latest"] and atelier["full"] == rasa["full"]
    assert len(atelier["latest"]["events"]) == 7 and len(atelier["full"]["events"]) == 21
    assert atelier["nothing"] and rasa["nothing"]
    # and each turn's new events are written in one statement, not one per event
    assert rasa["inserts_per_save"] == [8, 5, 8]
    assert atelier["inserts_per_save"] == [1, 1, 1]


SYNCHRONOUS = """
import asyncio, json, sys
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from atelier_tracker_store import ErasableSQLTrackerStore

domain = Domain.load("domain")
store = ErasableSQLTrackerStore(domain, dialect="sqlite", db=sys.argv[1] + "/trackers.db")
seen = []
sa.event.listen(store.engine, "commit", lambda conn: seen.append(
    conn.exec_driver_sql("PRAGMA synchronous").scalar()))

async def main():
    tracker = DialogueStateTracker("c", domain.slots)
    for event in (SessionStarted(timestamp=1.0), UserUttered("hello", timestamp=2.0)):
        tracker.update(event)
    await store.save(tracker)
    await store.retrieve("c")
    with store.engine.connect() as one, store.engine.connect() as two:
        pooled = [conn.exec_driver_sql(pragma).scalar() for conn in (one, two)
                  for pragma in ("PRAGMA journal_mode", "PRAGMA synchronous")]
    print(json.dumps({"commits": seen, "pooled": pooled}))

asyncio.run(main())
"""


def test_the_sql_store_commits_without_waiting_for_the_disk(tmp_path: Path) -> None:
    # given the SQL store on a SQLite file, as in the default run
    # when a turn is saved and read back, and two connections are taken from its pool
    found = in_rasa(SYNCHRONOUS, str(tmp_path))
    # then each commit and each connection is in WAL mode with synchronous NORMAL (1): the
    # store holds conversations only, so a save does not wait for an fsync
    assert found["commits"] and set(found["commits"]) == {1}
    assert found["pooled"] == ["wal", 1, "wal", 1]
