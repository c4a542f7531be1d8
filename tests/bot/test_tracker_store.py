"""The compose deployment's tracker store (bot/atelier_tracker_store.py) under the real
``rasa run --enable-api`` and a real Redis.

A conversation whose events are replaced with none through the HTTP API, as the gateway
does when a customer's data is deleted, keeps none of them; Rasa's own Redis store would
merge the old events back in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
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


@pytest.fixture
def rasa_on_redis(tmp_path: Path, redis_url: str) -> Iterator[tuple[str, redis.Redis, str]]:
    """``rasa run`` with the store of endpoints.compose.yml on the test Redis; yields its
    URL, a Redis client and the store's key prefix (Rasa wants letters and digits only)."""
    rasa, model = os.environ.get("ATELIER_TEST_RASA_BIN"), os.environ.get(
        "ATELIER_TEST_RASA_MODEL")
    if not rasa or not model:
        pytest.fail("ATELIER_TEST_RASA_BIN / ATELIER_TEST_RASA_MODEL are not set: run the "
                    "suite with 'make test'.", pytrace=False)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    where = client.connection_pool.connection_kwargs
    compose = yaml.safe_load((REPO / "bot" / "endpoints.compose.yml").read_text())
    prefix = f"ateliertest{uuid.uuid4().hex[:12]}"
    store = {**compose["tracker_store"], "url": where.get("host", "127.0.0.1"),
             "port": where.get("port", 6379), "db": where.get("db", 0), "key_prefix": prefix}
    (tmp_path / "endpoints.yml").write_text(yaml.safe_dump({"tracker_store": store}))
    port = free_port()
    log = (tmp_path / "rasa.log").open("w")
    server = subprocess.Popen(
        [rasa, "run", "--enable-api", "-i", "127.0.0.1", "--port", str(port), "-m", model,
         "--endpoints", "endpoints.yml"], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false",
             "PYTHONPATH": str(REPO / "bot")},  # the bot directory, as in the image
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
                            + (tmp_path / "rasa.log").read_text()[-3000:])
            time.sleep(0.5)
        yield url, client, prefix
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
        log.close()
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


def test_replacing_a_conversations_events_with_none_wipes_it_from_redis(
        rasa_on_redis: tuple[str, redis.Redis, str]) -> None:
    url, client, prefix = rasa_on_redis
    events = f"{url}/conversations/c-wipe/tracker/events"

    def stored() -> str:
        tracker = httpx.get(f"{url}/conversations/c-wipe/tracker",
                            params={"include_events": "ALL"}, timeout=30).json()
        return str(tracker["events"]) + (client.get(f"{prefix}:tracker:c-wipe") or "")

    # given: a conversation in which the shopper gave their address
    assert httpx.post(events, json=said(ADDRESS), timeout=30).status_code == 200
    assert ADDRESS in stored()
    # when: its events are replaced with none
    assert httpx.put(events, json=[], timeout=30).status_code == 200
    # then: neither Rasa nor its Redis key holds the address
    assert ADDRESS not in stored()
    # and the conversation goes on, its new events merged as usual
    for text in ("hello again", "still there?"):
        assert httpx.post(events, json=said(text), timeout=30).status_code == 200
    after = stored()
    assert "hello again" in after and "still there?" in after and ADDRESS not in after
