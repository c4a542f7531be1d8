"""Rate limits of shopper messages: a token bucket per conversation and per client address.

A bucket holds up to ``burst`` messages and refills at ``per_minute``; a message that finds
it empty is refused with ``rate_limited`` and how long to wait. Buckets live in Redis when
configured (one limit across all gateway replicas, Redis's clock), else in this process;
while Redis is down, in this process (:class:`RedisBuckets` says why).

The widget gets the refusal as an error (429, an error frame). A channel that answers with
a message of its own (Telegram) tells the shopper once per burst
(:meth:`RateLimiter.first_refusal`), not once per dropped message.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from redis.exceptions import RedisError

from channels.config import GatewaySettings
from channels.errors import GatewayError
from channels.redis_link import connect
from commerce_core.observability.metrics import RATE_LIMITED

log = logging.getLogger(__name__)
MAX_LOCAL_BUCKETS = 100_000
LOCAL_FOR_SECONDS = 1.0
"""After Redis failed, how long this process's buckets count before Redis is asked again."""


class RateLimited(GatewayError):
    """Over a rate limit (429, ``Retry-After``)."""

    retry_after: int

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__("rate_limited",
                         f"You're sending messages too quickly. Please wait "
                         f"{seconds} s and try again.", http_status=429, retry_after=seconds)


@dataclass(frozen=True)
class Rate:
    per_minute: float
    burst: int


class Buckets(Protocol):
    async def take(self, key: str, rate: Rate) -> float:
        """Take one token; 0 if there was one, else the seconds until there is."""
        ...

    async def claim_notice(self, key: str, seconds: float) -> bool:
        """True for the first claim of ``key`` in ``seconds``, False for the others."""
        ...

    async def aclose(self) -> None: ...


class MemoryBuckets:
    def __init__(self) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._notices: OrderedDict[str, float] = OrderedDict()

    async def take(self, key: str, rate: Rate) -> float:
        now = time.monotonic()
        tokens, updated = self._buckets.pop(key, (float(rate.burst), now))
        tokens = min(float(rate.burst), tokens + (now - updated) * rate.per_minute / 60)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) * 60 / rate.per_minute
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > MAX_LOCAL_BUCKETS:  # forget the longest idle
            self._buckets.popitem(last=False)
        return wait

    async def claim_notice(self, key: str, seconds: float) -> bool:
        now = time.monotonic()
        if self._notices.get(key, now) > now:
            return False
        self._notices.pop(key, None)
        self._notices[key] = now + seconds
        if len(self._notices) > MAX_LOCAL_BUCKETS:
            self._notices.popitem(last=False)
        return True

    async def aclose(self) -> None:
        return None


_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local burst, per_second = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]) or burst, tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * per_second)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / per_second end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / per_second) + 60)
return tostring(wait)
"""


class RedisBuckets:
    """One set of buckets for every replica.

    While Redis does not answer, this process's own buckets count instead: a shopper is
    not turned away because Redis is down (failing closed would refuse every message),
    and a flood is still refused, by each replica on its own, until Redis is back
    (failing wide open would let it through).
    """

    def __init__(self, url: str, prefix: str) -> None:
        self._redis = connect(url)
        self._prefix = prefix
        self._local = MemoryBuckets()
        self._down_until = 0.0

    def _redis_failed(self, exc: RedisError) -> None:
        if time.monotonic() >= self._down_until:
            log.warning("rate limits counted in this process: Redis is down (%s)", exc)
        self._down_until = time.monotonic() + LOCAL_FOR_SECONDS

    async def take(self, key: str, rate: Rate) -> float:
        if time.monotonic() >= self._down_until:
            try:
                wait = await self._redis.eval(_TAKE, 1, f"{self._prefix}:rate:{key}",
                                              rate.burst, rate.per_minute / 60)
                return float(wait)
            except RedisError as exc:
                self._redis_failed(exc)
        return await self._local.take(key, rate)

    async def claim_notice(self, key: str, seconds: float) -> bool:
        if time.monotonic() >= self._down_until:
            try:
                return bool(await self._redis.set(
                    f"{self._prefix}:rate-notice:{key}", "1", nx=True,
                    px=max(1, math.ceil(seconds * 1000))))
            except RedisError as exc:
                self._redis_failed(exc)
        return await self._local.claim_notice(key, seconds)

    async def aclose(self) -> None:
        await self._redis.aclose()


class RateLimiter:
    def __init__(self, *, buckets: Buckets, conversation: Rate, ip: Rate) -> None:
        self.buckets = buckets
        self.conversation = conversation
        self.ip = ip

    async def check(self, *, conversation_id: str, ip: str | None) -> None:
        """Count one shopper message.

        Raises:
            RateLimited: the conversation or the address is over its limit.
        """
        wait = await self.buckets.take(f"conv:{conversation_id}", self.conversation)
        scope = "conversation"
        if ip:
            by_ip = await self.buckets.take(f"ip:{ip}", self.ip)
            if by_ip > wait:
                wait, scope = by_ip, "ip"
        if wait > 0:
            RATE_LIMITED.labels(scope).inc()
            raise RateLimited(wait)

    async def first_refusal(self, conversation_id: str, refused: RateLimited) -> bool:
        """Whether the shopper should be told of ``refused``: the first refusal of a burst.

        A burst lasts until the conversation's bucket could have filled up again (30 s
        with the defaults) and at least until the next message is allowed, so a shopper who
        keeps sending hears the notice once in that time, on whichever replica.
        """
        refill = self.conversation.burst * 60 / self.conversation.per_minute
        return await self.buckets.claim_notice(f"conv:{conversation_id}",
                                               max(refill, refused.retry_after))

    async def aclose(self) -> None:
        await self.buckets.aclose()


def make_limiter(settings: GatewaySettings, *, in_process: bool = False) -> RateLimiter:
    """The limits of ``settings``, counted in Redis when it is configured (unless
    ``in_process``), else in this process."""
    url = None if in_process else settings.redis_url
    return RateLimiter(
        buckets=RedisBuckets(url, settings.redis_prefix) if url else MemoryBuckets(),
        conversation=Rate(settings.rate_conversation_per_minute,
                          settings.rate_conversation_burst),
        ip=Rate(settings.rate_ip_per_minute, settings.rate_ip_burst))
