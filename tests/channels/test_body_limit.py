"""Request body limits against a real uvicorn server: a body over the limit is refused
while it streams, whether or not it declares its length, and the rest is never read."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from channels.app import create_app
from channels.config import GatewaySettings
from knowledge.config import KnowledgeSettings
from tests.channels.fake_rasa import FakeRasa
from tests.channels.live_app import LiveApp
from tests.commerce_core.helpers import merchant_headers
from tests.conftest import _clean
from tests.e2e.stack import free_port

MiB = 1024 * 1024
CHUNK = 64 * 1024
GIVE_UP_AFTER = 96 * MiB
"""The client stops here if no answer came: far beyond the limit and any socket buffer."""


@dataclass
class Answer:
    status: int | None
    headers: dict[str, str]
    body: bytes
    sent: int
    """Body bytes the client managed to send before it had its answer."""


@pytest.fixture
def engine(sqlite_engine: Engine) -> Iterator[Engine]:
    _clean(sqlite_engine)
    yield sqlite_engine
    _clean(sqlite_engine)


@pytest.fixture
def live(session_factory: sessionmaker[Session], tmp_path: Path,
         fake_rasa: FakeRasa) -> Iterator[LiveApp]:
    settings = GatewaySettings(rasa_url=fake_rasa.url, warm_search_on_start=False)
    app = LiveApp(lambda: create_app(settings, session_factory=session_factory,
                                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path)),
                  free_port()).start()
    yield app
    app.stop()


def _read_answer(sock: socket.socket, deadline: float) -> tuple[int | None, dict[str, str],
                                                                bytes]:
    data = b""
    sock.setblocking(True)
    while b"\r\n\r\n" not in data and time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            piece = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not piece:
            break
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    if not head:
        return None, {}, b""
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip()
               for k, _, v in (line.partition(":") for line in header_lines)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length and time.monotonic() < deadline:
        try:
            piece = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not piece:
            break
        body += piece
    return int(status_line.split()[1]), headers, body


def post_streaming(port: int, path: str, *, headers: dict[str, str], first: bytes,
                   chunked: bool = True, declared: int | None = None) -> Answer:
    """POST a body that never ends (``first``, then filler) and stop sending as soon as
    the server answers, or after ``GIVE_UP_AFTER`` bytes."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHUNK)
    sock.connect(("127.0.0.1", port))
    framing = ("Transfer-Encoding: chunked" if chunked
               else f"Content-Length: {declared}")
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}"
                 f"{framing}\r\n\r\n".encode())
    filler = b"a" * CHUNK
    sent, piece, pending = 0, first, b""
    deadline = time.monotonic() + 120
    sock.setblocking(False)
    try:
        while sent < GIVE_UP_AFTER and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                break  # the server answered (or closed): stop sending
            if not writable:
                continue
            if not pending:
                pending = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
                sent += len(piece)
                piece = filler
            try:
                pending = pending[sock.send(pending):]
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        status, answer_headers, body = _read_answer(sock, time.monotonic() + 10)
    finally:
        sock.close()
    return Answer(status, answer_headers, body, sent)


def test_a_chunked_chat_body_over_the_limit_is_refused_while_it_streams(live: LiveApp
                                                                        ) -> None:
    # given the gateway's limit of 1 MiB on request bodies
    limit = GatewaySettings().max_body_bytes
    # when a client streams a chat message without Content-Length, far over the limit
    answer = post_streaming(live.port, "/api/chat",
                            headers={"Content-Type": "application/json"},
                            first=b'{"conversation_id": "c-big", "message": "')
    # then it hears 413 in the usual error shape, and long before it was done sending
    assert answer.status == 413, answer
    assert json.loads(answer.body)["error"]["code"] == "body_too_large"
    assert answer.headers.get("connection") == "close"
    assert answer.sent < 16 * limit, f"{answer.sent} bytes were taken before the answer"


def test_a_declared_length_over_the_limit_is_refused_before_reading(live: LiveApp) -> None:
    answer = post_streaming(live.port, "/api/chat", chunked=False, declared=10 * 1024 * MiB,
                            headers={"Content-Type": "application/json"}, first=b"{")
    assert answer.status == 413
    assert json.loads(answer.body)["error"]["code"] == "body_too_large"
    assert answer.sent < 16 * GatewaySettings().max_body_bytes


def test_the_catalog_import_has_its_own_larger_limit(live: LiveApp,
                                                     session_factory: sessionmaker[Session]
                                                     ) -> None:
    # given a merchant, and the import's limit (20 MiB) well above the general one (1 MiB)
    auth = merchant_headers(session_factory)
    # when a CSV of a few MiB is streamed to the import without Content-Length, it is not
    # refused for its size; one over 20 MiB is
    answer = post_streaming(live.port, "/api/merchant/catalog/import",
                            headers={**auth, "Content-Type": "text/csv"},
                            first=b"sku,name,description,category,price,currency,stock,"
                                  b"attributes,image_url\n")
    assert answer.status == 413, answer
    assert answer.sent > 20 * MiB - CHUNK
    assert answer.sent < 40 * MiB
    assert json.loads(answer.body)["error"]["code"] == "body_too_large"
