"""Failed console sign-ins slow the one who fails down, without locking the agent out.

Failures are counted per (account, client address), per client address (one client
trying many accounts) and per account (many clients trying one). After a number of free
failures each further one makes the next try wait, twice as long each time, up to a cap.
The per-account count starts much later and its wait stays short: if it locked the
account, a stranger who knows an agent's email could keep them out; as it is, the right
password from the agent's own computer signs in at once. A count is forgotten once no
failure came for the window. Sign-in is synchronous (passwords are hashed in a worker
thread), so these calls are too. The counts live in Redis when it is configured (every
gateway replica sees the tries made on the others), else in this process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from redis.exceptions import RedisError

from channels.config import GatewaySettings
from channels.redis_link import connect_sync

log = logging.getLogger(__name__)

MAX_LOCAL_KEYS = 100_000
MAX_DOUBLINGS = 60


@dataclass(frozen=True)
class Policy:
    free: int
    """Failures that cost nothing."""
    base: float
    """The wait after the first failure beyond the free ones; doubled after each further one."""
    cap: float
    """The longest wait."""

    def delay(self, failures: int) -> float:
        if failures <= self.free:
            return 0.0
        return min(self.cap, self.base * 2.0 ** min(failures - self.free - 1, MAX_DOUBLINGS))


class LoginThrottle(Protocol):
    def retry_after(self, *, account: str, client: str) -> float:
        """Seconds until this client may try this account again (0: now)."""
        ...

    def failed(self, *, account: str, client: str) -> float:
        """Count a wrong password; returns how long this client must now wait."""
        ...

    def succeeded(self, *, account: str, client: str) -> None:
        """The client signed in: its own count for the account starts over (the client's
        and the account's counts do not, so a sign-in cannot launder a stranger's tries)."""
        ...


def _keys(account: str, client: str) -> tuple[str, str, str]:
    return f"pair:{account}|{client}", f"client:{client}", f"account:{account}"


class _Policies:
    def __init__(self, *, pair: Policy, client: Policy, account: Policy,
                 window_seconds: float) -> None:
        self.policies = (pair, client, account)
        self.window = window_seconds


class MemoryLoginThrottle(_Policies):
    """In this process: each replica counts only the tries it saw. Sign-ins run in worker
    threads, so each count is read and written under a lock."""

    def __init__(self, *, pair: Policy, client: Policy, account: Policy,
                 window_seconds: float) -> None:
        super().__init__(pair=pair, client=client, account=account,
                         window_seconds=window_seconds)
        self._counts: OrderedDict[str, tuple[int, float, float]] = OrderedDict()
        """key → (failures, when the next try is allowed, when the count is forgotten)"""
        self._lock = threading.Lock()

    def _get(self, key: str, now: float) -> tuple[int, float]:
        failures, until, forget = self._counts.get(key, (0, 0.0, 0.0))
        if forget <= now:
            self._counts.pop(key, None)
            return 0, 0.0
        return failures, until

    def retry_after(self, *, account: str, client: str) -> float:
        with self._lock:
            now = time.monotonic()
            return max(max(0.0, self._get(key, now)[1] - now)
                       for key in _keys(account, client))

    def failed(self, *, account: str, client: str) -> float:
        with self._lock:
            now = time.monotonic()
            wait = 0.0
            for key, policy in zip(_keys(account, client), self.policies, strict=True):
                failures = self._get(key, now)[0] + 1
                delay = policy.delay(failures)
                self._counts.pop(key, None)
                self._counts[key] = (failures, now + delay, now + self.window + delay)
                wait = max(wait, delay)
            while len(self._counts) > MAX_LOCAL_KEYS:  # forget the oldest
                self._counts.popitem(last=False)
            return wait

    def succeeded(self, *, account: str, client: str) -> None:
        with self._lock:
            self._counts.pop(_keys(account, client)[0], None)


# Each key is a hash {failures, until} on Redis's clock (replicas agree), expiring once the
# window has passed after its wait.
_RETRY_AFTER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
for _, key in ipairs(KEYS) do
  local until_ = tonumber(redis.call('HGET', key, 'until') or '0')
  wait = math.max(wait, until_ - now)
end
return tostring(wait)
"""
_FAILED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window, doublings = tonumber(ARGV[1]), tonumber(ARGV[2])
local wait = 0
for i, key in ipairs(KEYS) do
  local free = tonumber(ARGV[3 * i])
  local base, cap = tonumber(ARGV[3 * i + 1]), tonumber(ARGV[3 * i + 2])
  local failures = redis.call('HINCRBY', key, 'failures', 1)
  local delay = 0
  if failures > free then
    delay = math.min(cap, base * 2 ^ math.min(failures - free - 1, doublings))
  end
  redis.call('HSET', key, 'until', tostring(now + delay))
  redis.call('EXPIRE', key, math.ceil(window + delay))
  wait = math.max(wait, delay)
end
return tostring(wait)
"""


class RedisLoginThrottle(_Policies):
    """In Redis (``<prefix>:login:<key>``): the same counts on every replica.

    While Redis does not answer, failures are counted in this process instead (each
    replica on its own): sign-ins stay throttled, and agents can still sign in.
    """

    def __init__(self, *, url: str, prefix: str, pair: Policy, client: Policy,
                 account: Policy, window_seconds: float) -> None:
        super().__init__(pair=pair, client=client, account=account,
                         window_seconds=window_seconds)
        self._redis = connect_sync(url)
        self._prefix = prefix
        self._local = MemoryLoginThrottle(pair=pair, client=client, account=account,
                                          window_seconds=window_seconds)

    def _names(self, account: str, client: str) -> list[str]:
        return [f"{self._prefix}:login:{key}" for key in _keys(account, client)]

    def retry_after(self, *, account: str, client: str) -> float:
        names = self._names(account, client)
        try:
            wait = float(self._redis.eval(_RETRY_AFTER, len(names), *names))
        except RedisError as exc:
            log.warning("sign-in attempts counted in this process: Redis is down (%s)", exc)
            wait = 0.0
        return max(0.0, wait, self._local.retry_after(account=account, client=client))

    def failed(self, *, account: str, client: str) -> float:
        names = self._names(account, client)
        args: list[float] = [self.window, MAX_DOUBLINGS]
        for policy in self.policies:
            args += [policy.free, policy.base, policy.cap]
        try:
            return max(0.0, float(self._redis.eval(_FAILED, len(names), *names, *args)))
        except RedisError:
            return self._local.failed(account=account, client=client)

    def succeeded(self, *, account: str, client: str) -> None:
        self._local.succeeded(account=account, client=client)
        try:
            self._redis.delete(self._names(account, client)[0])
        except RedisError as exc:
            log.warning("sign-in attempts not cleared in Redis (%s)", exc)

    def close(self) -> None:
        self._redis.close()


def make_login_throttle(settings: GatewaySettings) -> LoginThrottle:
    base, cap = settings.agent_login_base_delay_seconds, settings.agent_login_max_delay_seconds
    policies = {
        "pair": Policy(free=settings.agent_login_free_failures, base=base, cap=cap),
        "client": Policy(free=settings.agent_login_client_free_failures, base=base, cap=cap),
        "account": Policy(free=settings.agent_login_account_free_failures, base=base,
                          cap=settings.agent_login_account_max_delay_seconds),
    }
    window = settings.agent_login_window_seconds
    if settings.redis_url:
        return RedisLoginThrottle(url=settings.redis_url, prefix=settings.redis_prefix,
                                  window_seconds=window, **policies)
    return MemoryLoginThrottle(window_seconds=window, **policies)
