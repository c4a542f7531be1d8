"""Request body limits, enforced while the body streams in.

A declared ``Content-Length`` over the limit is refused before a byte of the body is read.
A body without one (``Transfer-Encoding: chunked``) is counted as it arrives and refused
as soon as it passes the limit: the rest is never read, nor kept in memory. The refusal
is the usual JSON error (``413 body_too_large``) with ``Connection: close``, so the server
stops reading the connection instead of draining what the client still sends.
WebSocket frames are limited by their own handlers.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from commerce_core.errors import error_body


class _Refused(Exception):
    """The body passed the limit and the 413 has been sent: the app's work is abandoned."""


class BodyLimit:
    """Refuse HTTP request bodies over ``default`` bytes, or over ``paths[path]`` bytes for
    the paths that take larger ones (the catalog import)."""

    def __init__(self, app: ASGIApp, *, default: int, paths: Mapping[str, int] | None = None
                 ) -> None:
        self.app = app
        self.default = default
        self.paths = dict(paths or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.paths.get(scope["path"], self.default)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, limit)
            return
        received = 0
        refused = started = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not started and not refused:
                        refused = True
                        await _refuse(send, limit)
                    raise _Refused
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # whatever the app makes of the aborted read, the 413 was the answer
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _Refused:
            if not refused:
                raise


async def _refuse(send: Send, limit: int) -> None:
    response = JSONResponse(
        error_body("body_too_large", f"Request bodies are limited to {limit} bytes."),
        status_code=413, headers={"Connection": "close"})
    await send({"type": "http.response.start", "status": response.status_code,
                "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})
