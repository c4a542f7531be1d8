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
