"""Agent accounts and console sessions.

Passwords are stored as scrypt hashes (``scrypt$n$r$p$salt$hash``, standard library only).
A sign-in creates an opaque random token; only its SHA-256 is stored, with an expiry.
The console page carries it in an HttpOnly, SameSite=Strict cookie; API clients send it
as ``Authorization: Bearer``. Failed sign-ins are counted per email and per client address
(:func:`make_login_limiter`): in Redis when it is configured, so that every gateway replica
sees the attempts made on the others, else in this process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
import uuid
from collections import defaultdict, deque
from datetime import timedelta
from typing import Protocol

from redis.exceptions import RedisError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels.config import GatewaySettings
from channels.redis_link import connect_sync
from commerce_core.models import Agent, AgentSession
from commerce_core.models.base import utcnow

log = logging.getLogger(__name__)
COOKIE = "atelier_agent"
TOKEN_PREFIX = "ags_"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 10
MAX_PASSWORD = 256
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,24}$")


class AccountError(ValueError):
    pass


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            dklen=32)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                                r=int(r), p=int(p), dklen=len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


# A fixed hash to verify against when the email is unknown, so the answer takes as long
# as for a wrong password and does not tell which emails have accounts.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_agent(*, session: Session, email: str, name: str, password: str) -> Agent:
    email = normalize_email(email)
    if not EMAIL_RE.match(email):
        raise AccountError(f"{email!r} is not an email address.")
    if not name.strip() or len(name) > 200:
        raise AccountError("The name must be 1-200 characters.")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"The password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters.")
    agent = Agent(email=email, name=name.strip(), password_hash=hash_password(password),
                  active=True)
    try:
        with session.begin_nested():
            session.add(agent)
            session.flush()
    except IntegrityError:
        raise AccountError(f"An agent with the email {email} already exists.") from None
    return agent


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(*, session: Session, email: str, password: str) -> Agent | None:
    agent = session.scalar(select(Agent).where(Agent.email == normalize_email(email)))
    if agent is None or not agent.active:
        verify_password(password, _DUMMY_HASH)
        return None
    return agent if verify_password(password, agent.password_hash) else None


def open_session(*, session: Session, agent: Agent, lifetime: timedelta) -> str:
    """A new console session; the token is returned once and only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(AgentSession).where(AgentSession.expires_at < now))
    session.add(AgentSession(agent_id=agent.id, token_hash=hash_token(token), created_at=now,
                             expires_at=now + lifetime))
    session.flush()
    return token


def agent_for_token(*, session: Session, token: str | None) -> Agent | None:
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return session.scalar(
        select(Agent).join(AgentSession, AgentSession.agent_id == Agent.id)
        .where(AgentSession.token_hash == hash_token(token),
               AgentSession.expires_at > utcnow(), Agent.active.is_(True)))


def close_session(*, session: Session, token: str) -> None:
    session.execute(delete(AgentSession).where(AgentSession.token_hash == hash_token(token)))


class LoginLimiter(Protocol):
    """Failed sign-ins per key (email, client address) in a sliding window.

    The console's login route is synchronous (it hashes passwords in a worker thread), so
    these calls are too.
    """

    def retry_after(self, *keys: str) -> float:
        """Seconds until another attempt is allowed (0 when allowed now)."""
        ...

    def failed(self, *keys: str) -> None: ...

    def succeeded(self, *keys: str) -> None: ...


class MemoryLoginLimiter:
    """In this process: each replica counts only the attempts it saw."""

    def __init__(self, *, max_failures: int, window_seconds: float) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = defaultdict(
            lambda: deque(maxlen=max_failures))

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures[key]
        cutoff = time.monotonic() - self.window
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures

    def retry_after(self, *keys: str) -> float:
        wait = 0.0
        for key in keys:
            failures = self._recent(key)
            if len(failures) >= self.max_failures:
                wait = max(wait, failures[0] + self.window - time.monotonic())
        return wait

    def failed(self, *keys: str) -> None:
        for key in keys:
            self._recent(key).append(time.monotonic())

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)


# Each key is a sorted set of failure times (Redis's clock, so replicas agree), trimmed to
# the window and to the newest ``max_failures``: the oldest kept one says when to retry.
_RETRY_AFTER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local max_failures, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local wait = 0
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= max_failures then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now)
  end
end
return tostring(wait)
"""
_FAILED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local max_failures, window = tonumber(ARGV[1]), tonumber(ARGV[2])
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  redis.call('ZREMRANGEBYRANK', key, 0, -(max_failures + 1))
  redis.call('EXPIRE', key, math.ceil(window))
end
"""


class RedisLoginLimiter:
    """In Redis (``<prefix>:login:<key>``): the count is the same on every replica.

    While Redis does not answer, failures are counted in this process instead (each
    replica on its own): sign-ins stay throttled, and agents can still sign in.
    """

    def __init__(self, *, url: str, prefix: str, max_failures: int,
                 window_seconds: float) -> None:
        self._redis = connect_sync(url)
        self._prefix = prefix
        self.max_failures = max_failures
        self.window = window_seconds
        self._local = MemoryLoginLimiter(max_failures=max_failures,
                                         window_seconds=window_seconds)

    def _keys(self, keys: tuple[str, ...]) -> list[str]:
        return [f"{self._prefix}:login:{key}" for key in keys]

    def retry_after(self, *keys: str) -> float:
        if not keys:
            return 0.0
        try:
            wait = float(self._redis.eval(_RETRY_AFTER, len(keys), *self._keys(keys),
                                          self.max_failures, self.window))
        except RedisError as exc:
            log.warning("sign-in attempts counted in this process: Redis is down (%s)", exc)
            wait = 0.0
        return max(0.0, wait, self._local.retry_after(*keys))

    def failed(self, *keys: str) -> None:
        if not keys:
            return
        try:
            self._redis.eval(_FAILED, len(keys), *self._keys(keys), self.max_failures,
                             self.window, uuid.uuid4().hex)
        except RedisError:
            self._local.failed(*keys)

    def succeeded(self, *keys: str) -> None:
        self._local.succeeded(*keys)
        if keys:
            try:
                self._redis.delete(*self._keys(keys))
            except RedisError as exc:
                log.warning("sign-in attempts not cleared in Redis (%s)", exc)


def make_login_limiter(settings: GatewaySettings) -> LoginLimiter:
    if settings.redis_url:
        return RedisLoginLimiter(url=settings.redis_url, prefix=settings.redis_prefix,
                                 max_failures=settings.agent_login_max_failures,
                                 window_seconds=settings.agent_login_window_seconds)
    return MemoryLoginLimiter(max_failures=settings.agent_login_max_failures,
                              window_seconds=settings.agent_login_window_seconds)
