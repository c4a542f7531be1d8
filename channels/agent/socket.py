"""``/agent/ws``: the console's live queue and the live transcript of the open conversation.

Server → console: ``{"type": "queue", "waiting": [...], "mine": [...]}`` whenever it
changes (moves made by this process at once; those of other replicas within
``POLL_SECONDS``), and ``{"type": "message", "conversation_id", ...}`` for each message
recorded in the watched conversation. Console → server: ``{"type": "watch",
"conversation_id": "..."}`` (or ``null`` to stop).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from channels.agent.auth import COOKIE, agent_for_token
from channels.agent.csrf import Site, request_site
from channels.agent.routes import bearer_token
from channels.chat import CONVERSATION_ID_RE
from channels.delivery.outlet import Outlet
from channels.deps import DeskDep, OutletDep, SessionFactoryDep, SettingsDep
from channels.handoff.desk import HandoffDesk
from channels.handoff.repository import ConversationRepository
from channels.messages import ChatMessage

log = logging.getLogger(__name__)
router = APIRouter()
POLL_SECONDS = 3.0
MAX_FRAME_BYTES = 4096
UNAUTHORIZED = 4401


def _from_console(ws: WebSocket, *, by_cookie: bool, public_url: str | None) -> bool:
    """A browser names the page's origin: a page of another site must not use the session.
    A connection naming none is not a browser's and must bring the bearer token."""
    if ws.headers.get("origin") is None:
        return not by_cookie
    site = request_site(ws.headers, public_url=public_url)
    return site is Site.SAME


@dataclass(eq=False)
class ConsoleSocket:
    """One agent's console connection: what it watches and what it was last shown."""

    ws: WebSocket
    factory: sessionmaker[Session]
    outlet: Outlet
    desk: HandoffDesk
    token: str
    agent_id: int
    outbox: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    watched: tuple[str, asyncio.Queue[Any]] | None = None
    last_queue: dict[str, Any] | None = None

    def _snapshot(self) -> dict[str, Any] | None:
        with self.factory() as session:
            if agent_for_token(session=session, token=self.token) is None:
                return None  # signed out or expired meanwhile
            lists = ConversationRepository(session).queue(agent_id=self.agent_id)
        return {"type": "queue",
                **{name: [e.as_json() for e in entries] for name, entries in lists.items()}}

    async def send_queue(self, *, force: bool = False) -> bool:
        snapshot = await run_in_threadpool(self._snapshot)
        if snapshot is None:
            return False
        if force or snapshot != self.last_queue:
            self.last_queue = snapshot
            await self.ws.send_json(snapshot)
        return True

    async def pump(self) -> None:
        """The socket's only writer: queue snapshots and transcript messages, in order."""
        changes = self.desk.listen()
        try:
            if not await self.send_queue(force=True):
                return
            while True:
                get_change = asyncio.ensure_future(changes.get())
                get_out = asyncio.ensure_future(self.outbox.get())
                done, pending = await asyncio.wait({get_change, get_out}, timeout=POLL_SECONDS,
                                                   return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    task.cancel()
                if get_out in done:
                    await self.ws.send_json(get_out.result())
                refresh = get_change in done or not done
                if refresh and not await self.send_queue():
                    await self.ws.close(code=UNAUTHORIZED)
                    return
        finally:
            self.desk.unlisten(changes)

    def watch(self, conversation_id: str | None) -> None:
        if self.watched is not None:
            self.outlet.unsubscribe(*self.watched)
            self.watched[1].put_nowait(None)
            self.watched = None
        if conversation_id is None:
            return
        source = self.outlet.subscribe(conversation_id)
        self.watched = (conversation_id, source)
        asyncio.create_task(self._relay(conversation_id, source))

    async def _relay(self, conversation_id: str, source: asyncio.Queue[Any]) -> None:
        while True:
            item = await source.get()
            if item is None:
                return
            if isinstance(item, ChatMessage):
                self.outbox.put_nowait({"type": "message", "conversation_id": conversation_id,
                                        **item.model_dump(mode="json")})

    def handle(self, raw: str) -> None:
        frame: Any = None
        if len(raw) <= MAX_FRAME_BYTES:
            with contextlib.suppress(ValueError):
                frame = json.loads(raw)
        target = frame.get("conversation_id") if isinstance(frame, dict) else ""
        if (not isinstance(frame, dict) or frame.get("type") != "watch"
                or not (target is None or (isinstance(target, str)
                                           and CONVERSATION_ID_RE.match(target)))):
            self.outbox.put_nowait({"type": "error", "code": "invalid_frame",
                                    "message": "Send {\"type\": \"watch\", "
                                               "\"conversation_id\": \"...\"}."})
            return
        self.watch(target)


@router.websocket("/agent/ws")
async def console_socket(ws: WebSocket, factory: SessionFactoryDep, outlet: OutletDep,
                         desk: DeskDep, settings: SettingsDep) -> None:
    bearer = bearer_token(ws.headers.get("authorization"))
    token = bearer or ws.cookies.get(COOKIE)

    def who() -> int | None:
        with factory() as session:
            agent = agent_for_token(session=session, token=token)
            return agent.id if agent else None

    allowed = _from_console(ws, by_cookie=bearer is None, public_url=settings.public_url)
    agent_id = await run_in_threadpool(who) if allowed else None
    if agent_id is None or token is None:
        await ws.close(code=UNAUTHORIZED)  # before accept: the handshake is refused (403)
        return
    await ws.accept()
    console = ConsoleSocket(ws, factory=factory, outlet=outlet, desk=desk, token=token,
                            agent_id=agent_id)
    pump = asyncio.create_task(console.pump())
    try:
        while True:
            receive = asyncio.ensure_future(ws.receive_text())
            done, _ = await asyncio.wait({receive, pump}, return_when=asyncio.FIRST_COMPLETED)
            if pump in done:
                receive.cancel()
                return
            console.handle(receive.result())
    except WebSocketDisconnect:
        pass
    finally:
        console.watch(None)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
