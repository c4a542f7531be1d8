"""Who may write in and read a web conversation: whoever holds its session secret.

A conversation id is no secret (it travels in URLs, logs, support tickets), so the widget
makes a random session secret with it (256 bits, kept beside the id in the browser's
storage) and proves with it that the conversation is its own. The first turn of a
conversation binds the secret: its SHA-256 is stored on the conversation's SQL row, so a
restart or a Redis outage cannot unbind it and every gateway replica sees it. (The row may
exist before the first turn, when the shop told the conversation of an order.) Every later
call of the conversation must bring the same secret, compared in constant time. A valid
customer token of the customer the conversation speaks for also proves it, for reading.

A conversation in which a shopper spoke with no secret bound (begun before secrets
existed) can no longer be proven by anyone: its shopper starts a new one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from channels.errors import GatewayError
from channels.identity import Shopper
from channels.web.repository import OwnershipRepository
from commerce_core.db import begin_read

SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
SECRET_HEADER = "X-Conversation-Secret"
CUSTOMER_TOKEN_HEADER = "X-Customer-Token"
T = TypeVar("T")


class OwnershipError(GatewayError):
    """The caller did not prove that the conversation is theirs; ``code`` says how."""

    def __init__(self, code: str, message: str, http_status: int) -> None:
        super().__init__(code, message, http_status=http_status)


def _required() -> OwnershipError:
    return OwnershipError("conversation_secret_required",
                          "This conversation needs its conversation secret.", 403)


def _not_owned() -> OwnershipError:
    return OwnershipError("conversation_not_owned",
                          "This conversation is not yours (or does not exist); please start "
                          "a new one.", 403)


def _unavailable() -> OwnershipError:
    return OwnershipError("chat_unavailable",
                          "The chat cannot check this conversation right now; please try "
                          "again in a moment.", 503)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _well_formed(secret: str | None) -> str | None:
    if secret is not None and not SECRET_RE.match(secret):
        raise OwnershipError("invalid_conversation_secret",
                             "A conversation secret is 32-128 letters, digits, _ or -.", 422)
    return secret


def _matches(stored: str | None, secret: str | None) -> bool:
    """Raises OwnershipError when there is no secret to compare."""
    if secret is None:
        raise _required()
    return stored is not None and hmac.compare_digest(stored, hash_secret(secret))


def verify(*, session: Session, conversation_id: str, secret: str | None) -> bool:
    """True when the secret is the conversation's; False when the conversation has had no
    turn yet (its first turn may claim it).

    Raises:
        OwnershipError: no secret, or another one (or a shopper spoke in it unbound).
    """
    repo = OwnershipRepository(session)
    owner = repo.owner(conversation_id)
    if owner is None:
        return False
    if owner.secret_hash is None and not repo.shopper_spoke(conversation_id):
        return False
    if not _matches(owner.secret_hash, secret):
        raise _not_owned()
    return True


def claim(*, session: Session, conversation_id: str, secret: str) -> None:
    """Bind ``secret`` to a conversation that has had no turn yet (creating its row), or
    check it against the one bound first: of two first turns racing, one wins."""
    if verify(session=session, conversation_id=conversation_id, secret=secret):
        return
    repo = OwnershipRepository(session)
    if repo.bind(conversation_id, hash_secret(secret)):
        return
    if not repo.create(conversation_id, hash_secret(secret)) and not verify(
            session=session, conversation_id=conversation_id, secret=secret):
        raise _not_owned()


def may_read(*, session: Session, conversation_id: str, secret: str | None,
             customer: Shopper | None) -> None:
    """Whether the caller may read the conversation: its secret, or a customer token of
    the customer it speaks for.

    Raises:
        OwnershipError: neither proves it (also when the conversation does not exist).
    """
    owner = OwnershipRepository(session).owner(conversation_id)
    if customer is not None and owner is not None and (owner.channel, owner.external_id) == (
            customer.channel, customer.external_id):
        return
    if secret is None and customer is not None:
        raise _not_owned()
    if owner is None or not _matches(owner.secret_hash, secret):
        raise _not_owned()


class ConversationOwners:
    """The checks above for the async routes, each in its own short transaction."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    async def _run(self, work: Callable[..., T], /, *, read: bool = False,
                   **kwargs: Any) -> T:
        def run() -> T:
            with self.session_factory() as session:
                if read:
                    begin_read(session)
                result = work(session=session, **kwargs)
                session.commit()
                return result

        try:
            return await run_in_threadpool(run)
        except SQLAlchemyError as exc:
            raise _unavailable() from exc

    async def verify(self, conversation_id: str, secret: str | None) -> bool:
        """See :func:`verify`; also refuses a malformed secret (422)."""
        return await self._run(verify, read=True, conversation_id=conversation_id,
                               secret=_well_formed(secret))

    async def claim(self, conversation_id: str, secret: str) -> None:
        await self._run(claim, conversation_id=conversation_id, secret=_well_formed(secret))

    async def may_read(self, conversation_id: str, *, secret: str | None,
                       customer: Shopper | None) -> None:
        await self._run(may_read, read=True, conversation_id=conversation_id,
                        secret=_well_formed(secret), customer=customer)
