"""Which web pages may talk to the gateway: the widget's shop domains (``ATELIER_WIDGET_ORIGINS``).

Browsers name the page in the ``Origin`` header of the widget's WebSocket and of
cross-site ``fetch`` calls. The gateway's own origin (its demo page) and ``public_url``
are always allowed; a request without ``Origin`` does not come from a web page (a script,
a server) and is not a cross-site risk. A page that is not allowed gets a clear refusal
(HTTP 403 ``origin_not_allowed`` / a WebSocket error frame), and ``POST /api/chat``
carries CORS headers only for allowed origins.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from channels.config import GatewaySettings, origin_list
from commerce_core.errors import error_body

CHAT_PATH = "/api/chat"
NOT_ALLOWED = "This chat is not enabled for the site {origin}."
ALLOWED_HEADERS = "content-type, x-conversation-secret, x-customer-token"
"""What a shop's page may send: the proofs that a conversation's history is the shopper's."""


class Origins:
    def __init__(self, settings: GatewaySettings) -> None:
        configured = origin_list(settings)
        self.any = "*" in configured
        self.allowed = {_normal(o) for o in configured if o != "*"}
        self.allowed.add(_normal(settings.public_url))

    def allows(self, origin: str | None, host: str | None) -> bool:
        if origin is None:
            return True
        if self.any:
            return True
        normal = _normal(origin)
        if not normal:
            return False
        same_site = host is not None and urlsplit(normal).netloc == host.lower()
        return same_site or normal in self.allowed


def _normal(origin: str) -> str:
    try:
        parts = urlsplit(origin.strip().lower())
    except ValueError:  # e.g. "http://[": no site is allowed under that name
        return ""
    netloc = parts.netloc
    default_port = {"http": ":80", "https": ":443"}.get(parts.scheme)
    if default_port and netloc.endswith(default_port):
        netloc = netloc[: -len(default_port)]
    return f"{parts.scheme}://{netloc}"


class ChatCors:
    """CORS and the Origin check for ``/api/chat…`` (other routes are left alone)."""

    def __init__(self, app: ASGIApp, *, origins: Origins) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(CHAT_PATH):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        origin = request.headers.get("origin")
        if not self.origins.allows(origin, request.headers.get("host")):
            response: Response = JSONResponse(
                error_body("origin_not_allowed", NOT_ALLOWED.format(origin=origin)),
                status_code=403)
            await response(scope, receive, send)
            return
        if origin is None:
            await self.app(scope, receive, send)
            return
        cors = {"access-control-allow-origin": origin, "vary": "Origin"}
        if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
            await Response(status_code=204, headers={
                **cors, "access-control-allow-methods": "GET, POST",
                "access-control-allow-headers": ALLOWED_HEADERS,
                "access-control-max-age": "600"})(scope, receive, send)
            return

        async def send_with_cors(message: dict) -> None:  # type: ignore[type-arg]
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.encode(), v.encode()) for k, v in cors.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)
