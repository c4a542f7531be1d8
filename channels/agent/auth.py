"""Agent accounts and console sessions.

Passwords are stored as argon2id hashes (channels/agent/passwords.py); an older hash is
replaced at the agent's next sign-in. A sign-in creates an opaque random token; only its
SHA-256 is stored, with an expiry. The console page carries it in an HttpOnly,
SameSite=Strict cookie; API clients send it as ``Authorization: Bearer``. Failed sign-ins
slow the one who fails down (channels/agent/throttle.py).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels.agent.passwords import hash_password, needs_rehash, verify_password
from commerce_core.models import Agent, AgentRole, AgentSession
from commerce_core.models.base import utcnow

COOKIE = "atelier_agent"
TOKEN_PREFIX = "ags_"
MIN_PASSWORD = 10
MAX_PASSWORD = 256
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,24}$")


class AccountError(ValueError):
    pass


# A fixed hash to verify against when the email is unknown, so the answer takes as long
# as for a wrong password and does not tell which emails have accounts.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_agent(*, session: Session, email: str, name: str, password: str,
                 role: AgentRole = AgentRole.AGENT) -> Agent:
    email = normalize_email(email)
    if not EMAIL_RE.match(email):
        raise AccountError(f"{email!r} is not an email address.")
    if not name.strip() or len(name) > 200:
        raise AccountError("The name must be 1-200 characters.")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"The password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters.")
    agent = Agent(email=email, name=name.strip(), password_hash=hash_password(password),
                  active=True, role=role)
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
    """The agent, when the password is theirs; an older hash is replaced by a current one
    (the caller commits)."""
    agent = session.scalar(select(Agent).where(Agent.email == normalize_email(email)))
    if agent is None or not agent.active:
        verify_password(password, _DUMMY_HASH)
        return None
    if not verify_password(password, agent.password_hash):
        return None
    if needs_rehash(agent.password_hash):
        agent.password_hash = hash_password(password)
    return agent


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
