"""Readiness, metrics and logs of the real processes (trained model, action server, app)."""

from __future__ import annotations

import json
import uuid

import httpx

from tests.channels.web_chat import chat_body
from tests.e2e.stack import Stack


def test_ready_once_every_process_answers(stack: Stack) -> None:
    response = httpx.get(f"{stack.app_url}/ready", timeout=10)
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert checks["database"] == checks["rasa"] == checks["actions"] == "ok"


def test_one_turn_can_be_followed_in_the_json_logs_and_is_counted(stack: Stack) -> None:
    conversation = f"web-ops-{uuid.uuid4().hex[:8]}"
    rid = f"ops-{uuid.uuid4().hex}"
    response = httpx.post(f"{stack.app_url}/api/chat", timeout=60,
                          json=chat_body(conversation, "show me blue ceramic mugs"),
                          headers={"X-Request-ID": rid})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == rid
    app_lines = [json.loads(line) for line in
                 (stack.workdir / "app.log").read_text().splitlines()
                 if line.startswith("{")]
    assert app_lines, "the app logs JSON lines"
    assert all({"time", "level", "logger", "message"} <= set(e) for e in app_lines)
    turn_lines = [e for e in app_lines if e.get("request_id") == rid]
    assert any("POST /api/chat" in e["message"] for e in turn_lines), turn_lines
    # the action the turn ran called the API with the same id (through Rasa's metadata)
    assert any("/api/products/search" in e["message"] for e in turn_lines), turn_lines
    metrics = httpx.get(f"{stack.app_url}/metrics", timeout=10).text
    assert 'atelier_turn_duration_seconds_count{channel="web"}' in metrics
    assert 'atelier_rasa_request_duration_seconds_count{outcome="ok"}' in metrics
    assert 'route="/api/chat"' in metrics
