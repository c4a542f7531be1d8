"""One way to connect to Redis for every part of the gateway, and what a request gets while
Redis is down.

A Redis that restarts leaves each client's pooled connections dead. The clients made here
ping a connection that sat idle before using it (``health_check_interval``) and retry a
command that met a broken or timed-out connection on a fresh one, with a short jittered
back-off: the first requests after Redis is back succeed instead of failing on stale
connections. The retries are few and short, so while Redis is really down a caller learns
it within a fraction of a second and can fall back (see :mod:`channels.backlog`).
"""

from __future__ import annotations

import logging

import redis
import redis.asyncio as aioredis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from commerce_core.errors import error_body

log = logging.getLogger(__name__)
RETRIES = 2
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 0.5
HEALTH_CHECK_SECONDS = 5
CONNECT_TIMEOUT_SECONDS = 1.0
COMMAND_TIMEOUT_SECONDS = 5.0
RETRY_AFTER_SECONDS = 5
"""What a request that needs Redis is told while it is down (``Retry-After``)."""
_ERRORS = (RedisConnectionError, RedisTimeoutError)


def _options() -> dict[str, object]:
    return {"decode_responses": True, "health_check_interval": HEALTH_CHECK_SECONDS,
            "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "socket_timeout": COMMAND_TIMEOUT_SECONDS, "socket_keepalive": True,
            "retry_on_error": list(_ERRORS)}


def connect(url: str) -> aioredis.Redis:
    """An asyncio client that survives a Redis restart (see the module's docstring)."""
    backoff = ExponentialWithJitterBackoff(base=BACKOFF_BASE_SECONDS, cap=BACKOFF_CAP_SECONDS)
    return aioredis.Redis.from_url(url, retry=AsyncRetry(backoff, RETRIES, _ERRORS),
                                   **_options())


def connect_sync(url: str) -> redis.Redis:
    """The same for synchronous callers (the agent console's sign-in)."""
    backoff = ExponentialWithJitterBackoff(base=BACKOFF_BASE_SECONDS, cap=BACKOFF_CAP_SECONDS)
    return redis.Redis.from_url(url, retry=Retry(backoff, RETRIES, _ERRORS), **_options())


def install_outage_handler(app: FastAPI) -> None:
    """A request that cannot do without Redis (e.g. a deletion that must note the bot
    trackers still to wipe) gets a clear JSON 503 to retry, not a plain-text 500.

    The shopper's chat does not end here: it degrades with an apology and keeps the
    message (:class:`channels.chat.ChatService`).
    """

    @app.exception_handler(RedisError)
    async def redis_unavailable(request: Request, exc: RedisError) -> JSONResponse:
        log.warning("Redis unavailable for %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            error_body("service_unavailable",
                       "This is not available for a moment; please try again shortly."),
            status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
