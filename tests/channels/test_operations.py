"""``/ready``, ``/metrics``, request ids and JSON logs of the app."""

from __future__ import annotations

import json
import logging
import re
import sys
from dataclasses import replace
from pathlib import Path

from prometheus_client import REGISTRY
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from channels.deps import get_gateway
from channels.handoff.repository import ConversationRepository
from channels.handoff.state import State
from commerce_core.observability.logs import JsonFormatter, RequestIdFilter, request_id
from commerce_core.observability.queues import QueueCollector
from tests.channels.conftest import Gateway
from tests.channels.fake_rasa import FakeRasa
from tests.channels.web_chat import chat_body, chat_socket, gateway_of
from tests.commerce_core.helpers import SERVICE
from tests.e2e.stack import free_port


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_ready_when_the_database_rasa_and_the_actions_answer(gateway: Gateway,
                                                            fake_rasa: FakeRasa) -> None:
    with gateway(action_server_url=fake_rasa.url) as client:
        response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {
        "database": "ok", "redis": "not_configured", "rasa": "ok", "actions": "ok"}}


def test_not_ready_while_rasa_is_down(gateway: Gateway, fake_rasa: FakeRasa) -> None:
    with gateway(action_server_url=fake_rasa.url) as client:
        fake_rasa.up = False
        down = client.get("/ready")
        fake_rasa.up = True
        back = client.get("/ready")
        assert client.get("/health").status_code == 200  # alive all along
    assert down.status_code == 503
    assert down.json()["status"] == "not_ready"
    assert down.json()["checks"]["rasa"].startswith("down")
    assert down.json()["checks"]["database"] == "ok"
    assert back.status_code == 200


def test_not_ready_when_nothing_listens_for_rasa_or_the_actions(gateway: Gateway) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    with gateway(rasa_url=nowhere, action_server_url=nowhere) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["rasa"].startswith("down") and checks["actions"].startswith("down")


def test_not_ready_when_redis_does_not_answer(gateway: Gateway, fake_rasa: FakeRasa) -> None:
    with gateway(action_server_url=fake_rasa.url) as client:
        # readiness asks the configured Redis afresh each time
        gateway = gateway_of(client)
        down = replace(gateway, settings=gateway.settings.model_copy(
            update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"}))
        client.app.dependency_overrides[get_gateway] = lambda: down
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("down")


def test_a_turn_is_timed_per_channel_and_carries_its_request_id_to_rasa(
        gateway: Gateway, fake_rasa: FakeRasa) -> None:
    turns = sample("atelier_turn_duration_seconds_count", channel="web")
    rasa_ok = sample("atelier_rasa_request_duration_seconds_count", outcome="ok")
    posts = sample("atelier_http_request_duration_seconds_count", method="POST",
                   route="/api/chat", status="200")
    with gateway() as client:
        response = client.post("/api/chat", json=chat_body("web-metrics-1", "hello"),
                               headers={"X-Request-ID": "turn-0123456789"})
        metrics = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "turn-0123456789"
    assert fake_rasa.received[-1]["request_id"] == "turn-0123456789"
    assert fake_rasa.raw[-1]["metadata"]["request_id"] == "turn-0123456789"
    assert sample("atelier_turn_duration_seconds_count", channel="web") == turns + 1
    assert sample("atelier_rasa_request_duration_seconds_count", outcome="ok") == rasa_ok + 1
    assert sample("atelier_http_request_duration_seconds_count", method="POST",
                  route="/api/chat", status="200") == posts + 1
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'atelier_turn_duration_seconds_bucket{channel="web",le="0.15"}' in metrics.text


def test_a_malformed_request_id_is_replaced(gateway: Gateway) -> None:
    with gateway() as client:
        response = client.get("/health", headers={"X-Request-ID": "a b\"c"})
        fresh = client.get("/health")
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
    assert fresh.headers["X-Request-ID"] != response.headers["X-Request-ID"]


def test_errors_are_counted_by_kind_and_routes_by_template(gateway: Gateway) -> None:
    before = sample("atelier_errors_total", code="product_not_found")
    with gateway() as client:
        for product_id in (987654, 987655):
            assert client.get(f"/api/products/{product_id}",
                              headers=SERVICE).status_code == 404
    assert sample("atelier_errors_total", code="product_not_found") == before + 2
    assert sample("atelier_http_request_duration_seconds_count", method="GET",
                  route="/api/products/{product_id}", status="404") >= 2
    assert sample("atelier_http_request_duration_seconds_count", method="GET",
                  route="/api/products/987654", status="404") == 0


def test_the_handoff_queue_and_outbox_are_read_from_the_database(
        gateway: Gateway, demo_catalog: sessionmaker[Session]) -> None:
    with gateway() as client:
        with demo_catalog() as session:
            ConversationRepository(session).ensure(conversation_id="web-queue-1")
            session.commit()
            ConversationRepository(session).move(
                conversation_id="web-queue-1", target=State.WAITING, from_states=(State.BOT,),
                reason="frustrated")
            session.commit()
        text = client.get("/metrics").text
    assert re.search(r"^atelier_handoff_queue_length 1\.0$", text, re.M)
    assert re.search(r"^atelier_handoff_oldest_wait_seconds \d", text, re.M)
    assert re.search(r"^atelier_outbox_backlog \d", text, re.M)
    assert sample("atelier_handoffs_total", reason="frustrated") >= 1


def test_metrics_want_the_token_when_one_is_set(gateway: Gateway) -> None:
    with gateway(metrics_token="m" * 32) as client:
        refused = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 32})
        allowed = client.get("/metrics", headers={"Authorization": "Bearer " + "m" * 32})
    assert refused.status_code == 401 and wrong.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    assert allowed.status_code == 200 and "atelier_turn_duration_seconds" in allowed.text


def test_log_lines_are_json_with_the_request_id_and_extra_fields() -> None:
    record = logging.makeLogRecord({"name": "channels.chat", "levelname": "WARNING",
                                    "levelno": logging.WARNING, "msg": "bot unavailable: %s",
                                    "args": ("timeout",), "conversation_id": "web-1"})
    token = request_id.set("turn-0123456789")
    try:
        assert RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["message"] == "bot unavailable: timeout"
    assert entry["level"] == "WARNING" and entry["logger"] == "channels.chat"
    assert entry["request_id"] == "turn-0123456789"
    assert entry["conversation_id"] == "web-1"
    assert "ValueError: boom" in entry["exception"]


def test_each_turn_of_a_socket_has_a_request_id_of_its_own(gateway: Gateway,
                                                            fake_rasa: FakeRasa) -> None:
    with gateway() as client, chat_socket(client, "web-socket-ids") as ws:
        for text in ("hello", "again"):
            ws.send_json({"type": "message", "text": text})
            while ws.receive_json().get("role") != "bot":
                pass
    ids = [r["request_id"] for r in fake_rasa.received if r["sender"] == "web-socket-ids"]
    assert len(ids) == 2 and all(ids) and ids[0] != ids[1]


def test_metrics_are_served_while_the_database_is_away(tmp_path: Path) -> None:
    gone = sessionmaker(create_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}"))
    assert list(QueueCollector(gone).collect()) == []
