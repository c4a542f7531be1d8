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

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from channels.errors import GatewayError
from channels.handoff.state import identity_of
from channels.identity import Shopper
from commerce_core.models import Conversation, ConversationMessage
from commerce_core.models import ConversationState as State

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


def _shopper_spoke(session: Session, conversation_id: str) -> bool:
    return bool(session.scalar(select(exists().where(
        ConversationMessage.conversation_id == conversation_id,
        ConversationMessage.role == "shopper"))))


def verify(*, session: Session, conversation_id: str, secret: str | None) -> bool:
    """True when the secret is the conversation's; False when the conversation has had no
    turn yet (its first turn may claim it).

    Raises:
        OwnershipError: no secret, or another one (or a shopper spoke in it unbound).
    """
    stored = session.execute(select(Conversation.secret_hash)
                             .where(Conversation.id == conversation_id)).first()
    if stored is None:
        return False
    if stored.secret_hash is None and not _shopper_spoke(session, conversation_id):
        return False
    if not _matches(stored.secret_hash, secret):
        raise _not_owned()
    return True


def claim(*, session: Session, conversation_id: str, secret: str) -> None:
    """Bind ``secret`` to a conversation that has had no turn yet (creating its row), or
    check it against the one bound first: of two first turns racing, one wins."""
    if verify(session=session, conversation_id=conversation_id, secret=secret):
        return
    bound = session.execute(
        update(Conversation).where(Conversation.id == conversation_id,
                                   Conversation.secret_hash.is_(None))
        .values(secret_hash=hash_secret(secret)).execution_options(synchronize_session=False))
    if bound.rowcount == 1:
        return
    channel, external_id = identity_of(conversation_id)
    try:
        with session.begin_nested():
            session.add(Conversation(id=conversation_id, channel=channel,
                                     external_id=external_id, state=State.BOT,
                                     secret_hash=hash_secret(secret)))
            session.flush()
    except IntegrityError:  # created meanwhile, by another turn or replica
        if not verify(session=session, conversation_id=conversation_id, secret=secret):
            raise _not_owned() from None


def may_read(*, session: Session, conversation_id: str, secret: str | None,
             customer: Shopper | None) -> None:
    """Whether the caller may read the conversation: its secret, or a customer token of
    the customer it speaks for.

    Raises:
        OwnershipError: neither proves it (also when the conversation does not exist).
    """
    row = session.execute(select(Conversation.secret_hash, Conversation.channel,
                                 Conversation.external_id)
                          .where(Conversation.id == conversation_id)).first()
    if customer is not None and row is not None and (row.channel, row.external_id) == (
            customer.channel, customer.external_id):
        return
    if secret is None and customer is not None:
        raise _not_owned()
    if row is None or not _matches(row.secret_hash, secret):
        raise _not_owned()


class ConversationOwners:
    """The checks above for the async routes, each in its own short transaction."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    async def _run(self, work: Callable[..., T], /, **kwargs: Any) -> T:
        def run() -> T:
            with self.session_factory() as session:
                result = work(session=session, **kwargs)
                session.commit()
                return result

        try:
            return await run_in_threadpool(run)
        except SQLAlchemyError as exc:
            raise _unavailable() from exc

    async def verify(self, conversation_id: str, secret: str | None) -> bool:
        """See :func:`verify`; also refuses a malformed secret (422)."""
        return await self._run(verify, conversation_id=conversation_id,
                               secret=_well_formed(secret))

    async def claim(self, conversation_id: str, secret: str) -> None:
        await self._run(claim, conversation_id=conversation_id, secret=_well_formed(secret))

    async def may_read(self, conversation_id: str, *, secret: str | None,
                       customer: Shopper | None) -> None:
        await self._run(may_read, conversation_id=conversation_id,
                        secret=_well_formed(secret), customer=customer)
