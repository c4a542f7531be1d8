"""Who may call the API: merchants (API keys) and the action server (a service token)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Header
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from commerce_core.config import get_settings
from commerce_core.db import SessionDep, begin_read
from commerce_core.errors import CommerceError
from commerce_core.models import MerchantApiKey
from commerce_core.models.base import utcnow

KEY_PREFIX = "atk_"


class Unauthorized(CommerceError):
    code = "unauthorized"
    http_status = 401


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(*, session: Session, name: str) -> tuple[MerchantApiKey, str]:
    """Create a merchant key; the plain key is returned once and never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = MerchantApiKey(name=name, prefix=key[:12], key_hash=hash_key(key))
    session.add(row)
    session.flush()
    return row, key


def revoke_api_key(*, session: Session, prefix: str) -> bool:
    row = session.scalar(select(MerchantApiKey).where(MerchantApiKey.prefix == prefix,
                                                      MerchantApiKey.revoked_at.is_(None)))
    if row is None:
        return False
    row.revoked_at = utcnow()
    return True


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _merchant_key(session: Session, token: str | None) -> MerchantApiKey | None:
    """The key of ``token``, not revoked.

    Checked in a read transaction of its own that ends here (unless the request's session
    was already in one), so the request holds no lock while it works: on SQLite a writing
    transaction takes the write lock, and work done in the thread pool with sessions of
    its own would wait for it. The key is handed out detached, with what was read of it.
    """
    if not token or not token.startswith(KEY_PREFIX) or len(token) > 200:
        return None
    own = not session.in_transaction()
    if own:
        begin_read(session)
    key = session.scalar(select(MerchantApiKey).where(
        MerchantApiKey.key_hash == hash_key(token), MerchantApiKey.revoked_at.is_(None)))
    if own:
        if key is not None:
            session.expunge(key)
        session.rollback()
    return key


def _is_service(token: str | None) -> bool:
    expected = get_settings().service_token
    return bool(token) and hmac.compare_digest(token.encode(), expected.encode())


AuthHeader = Annotated[str | None, Header(alias="Authorization", include_in_schema=False)]


def require_merchant(session: SessionDep, authorization: AuthHeader = None) -> MerchantApiKey:
    key = _merchant_key(session, _bearer(authorization))
    if key is None:
        raise Unauthorized("A valid merchant API key is required "
                           "(Authorization: Bearer atk_…).")
    return key


async def require_service(session: SessionDep, authorization: AuthHeader = None) -> str:
    """The action server (service token) or a merchant may call shopper-facing endpoints.

    The service token, on every call of the action server, is checked on the event loop
    (FastAPI would hand a plain function to a worker thread); a merchant key in a worker
    thread, as it reads the database."""
    token = _bearer(authorization)
    if _is_service(token):
        return "service"
    if await run_in_threadpool(_merchant_key, session, token) is not None:
        return "merchant"
    raise Unauthorized("This endpoint needs the service token or a merchant API key.")


MerchantDep = Annotated[MerchantApiKey, Depends(require_merchant)]
ServiceDep = Annotated[str, Depends(require_service)]
