"""Calls to the Bot API that survive flood control (429) and network hiccups."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)
T = TypeVar("T")


def retry_after_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int becomes a timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


@dataclass(frozen=True)
class RetryPolicy:
    """``retries`` further attempts after a 429 or a network error (not after a 4xx).

    A 429 is retried after exactly the wait Telegram asks for, unless that is longer than
    ``max_retry_after`` (then Telegram would rather not see us for a while: give up).
    Network errors and timeouts wait ``backoff``, then twice that, and so on. A timed-out
    send may in fact have arrived, so a retry can, rarely, show a message twice; that is
    preferred to losing it.
    """

    retries: int = 3
    backoff: float = 1.0
    max_retry_after: float = 60.0

    async def call(self, what: str, send: Callable[[], Awaitable[T]], *,
                   conversation_id: str | None = None) -> T:
        attempt = 0
        while True:
            try:
                return await send()
            except RetryAfter as exc:
                wait, reason = retry_after_seconds(exc), str(exc)
                if attempt >= self.retries or wait > self.max_retry_after:
                    raise
            except NetworkError as exc:  # includes TimedOut; BadRequest is the caller's
                if isinstance(exc, BadRequest) or attempt >= self.retries:
                    raise
                wait, reason = self.backoff * 2 ** attempt, str(exc)
            attempt += 1
            log.warning("telegram %s failed (%s); retry %d/%d in %.1f s", what, reason, attempt,
                        self.retries, wait, extra={"conversation_id": conversation_id})
            await asyncio.sleep(wait)
