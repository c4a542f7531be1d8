"""The gateway in process, with the bot unreachable: nothing is lost, the shopper hears why."""

import socket
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from channels.app import create_app
from channels.chat import BOT_DOWN_APOLOGY
from channels.config import GatewaySettings
from knowledge.config import KnowledgeSettings
from tests.channels.web_chat import chat_body, chat_socket, owner, recorded, secret_of


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def client(demo_catalog: sessionmaker[Session], tmp_path) -> Iterator[TestClient]:
    settings = GatewaySettings(rasa_url=f"http://127.0.0.1:{_closed_port()}",
                               warm_search_on_start=False, max_message_chars=50)
    app = create_app(settings, session_factory=demo_catalog,
                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path))
    with TestClient(app) as client:
        yield client


def test_bot_down_gives_an_apology_and_keeps_the_message(client: TestClient) -> None:
    response = client.post("/api/chat", json=chat_body("c-1", "hello"))
    assert response.status_code == 200
    messages = response.json()["messages"]
    assert [(m["role"], m["text"]) for m in messages] == [("system", BOT_DOWN_APOLOGY)]
    history = client.get("/api/chat/c-1/history", headers=owner("c-1")).json()
    assert [(m["role"], m["text"]) for m in history] == [("shopper", "hello"),
                                                         ("system", BOT_DOWN_APOLOGY)]


@pytest.mark.parametrize(("body", "code"), [
    ({"conversation_id": "c-1", "message": "x" * 51}, "message_too_long"),
    ({"conversation_id": "c-1", "message": "   "}, "empty_message"),
    ({"conversation_id": "bad id!", "message": "hi"}, "invalid_conversation_id"),
    ({"conversation_id": "c-1"}, "empty_message"),
    ({"conversation_id": "c-1", "message": "blue\x00mug"}, "invalid_message"),
    ({"conversation_id": "c-1", "payload": "/affirm\x00"}, "invalid_payload"),
])
def test_bad_messages_are_refused_clearly_and_not_recorded(client: TestClient, body: dict,
                                                          code: str) -> None:
    response = client.post("/api/chat", json={**body, "conversation_secret": secret_of("c-1")})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert recorded(client, "c-1") == []


def test_malformed_and_oversized_bodies(client: TestClient) -> None:
    response = client.post("/api/chat", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    response = client.post("/api/chat", content=b"x" * (1024 * 1024 + 1),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_websocket_replays_history_and_reports_bad_frames(client: TestClient) -> None:
    client.post("/api/chat", json=chat_body("c-ws", "first"))
    with chat_socket(client, "c-ws", after=0) as ws:
        replay = [ws.receive_json(), ws.receive_json()]
        assert [(m["role"], m["text"]) for m in replay] == [("shopper", "first"),
                                                            ("system", BOT_DOWN_APOLOGY)]
        ws.send_text("not json")
        assert ws.receive_json()["code"] == "invalid_frame"
        ws.send_json({"type": "message", "text": "y" * 51, "client_id": "k1"})
        frames = [ws.receive_json() for _ in range(3)]
        assert [f["type"] for f in frames] == ["typing", "error", "typing"]
        assert frames[1]["code"] == "message_too_long"
        ws.send_json({"type": "message", "text": "second", "client_id": "k2"})
        frames = [ws.receive_json() for _ in range(4)]
        kinds = [(f["type"], f.get("role")) for f in frames]
        assert kinds == [("typing", None), ("message", "shopper"), ("message", "system"),
                         ("typing", None)]
        assert frames[1]["client_id"] == "k2"
        assert frames[2]["seq"] == frames[1]["seq"] + 1 > replay[1]["seq"]
    with chat_socket(client, "c-ws", after=frames[1]["seq"]) as ws:
        assert ws.receive_json()["seq"] == frames[2]["seq"]
