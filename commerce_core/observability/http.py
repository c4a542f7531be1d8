"""The HTTP side of observability: a request id per request and the request metrics."""

from __future__ import annotations

import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from commerce_core.observability.logs import REQUEST_ID_HEADER, accept_request_id, request_id
from commerce_core.observability.metrics import ERRORS, HTTP_DURATION

_HEADER = REQUEST_ID_HEADER.lower().encode()


class RequestContext:
    """Outermost middleware: gives each request (and WebSocket) a request id — the
    caller's ``X-Request-ID`` when well formed, else a new one — for the logs of
    everything it causes, returns it in the response, and times the request by route
    template (``/api/products/{product_id}``, not one series per product)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(_HEADER)
        rid = accept_request_id(given.decode("latin-1") if given else None)
        token = request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (_HEADER, rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            ERRORS.labels("internal").inc()
            raise
        finally:
            request_id.reset(token)
            if scope["type"] == "http":
                HTTP_DURATION.labels(scope["method"], route_template(scope), str(status)
                                     ).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The matched route's path with its parameters as names and its router's prefix
    (``/api/products/{product_id}``); ``unmatched`` for a 404 of no route."""
    route = scope.get("route")
    suffix = getattr(route, "path_format", None) or getattr(route, "path", None)
    pattern = getattr(route, "path_regex", None)
    if suffix is None or pattern is None:
        return "unmatched"
    # The route knows its path below the prefix it was included with; what the request
    # path has before the part the route matched is that prefix.
    found = re.search(pattern.pattern.removeprefix("^"), scope["path"])
    return (scope["path"][:found.start()] if found else "") + suffix
