"""Customers are known by the channel identity that talks to the bot."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from commerce_core.errors import InvalidInput
from commerce_core.models import ChannelIdentity, Customer

CHANNELS = {"web", "telegram", "api"}
EXTERNAL_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def check_identity(channel: str, external_id: str) -> None:
    if channel not in CHANNELS:
        raise InvalidInput(f"Unknown channel {channel!r}; one of {sorted(CHANNELS)}.",
                           code="invalid_identity")
    if not EXTERNAL_ID_RE.match(external_id):
        raise InvalidInput("The shopper id must be 1-128 letters, digits or . _ : -",
                           code="invalid_identity")


def find_customer(*, session: Session, channel: str, external_id: str) -> Customer | None:
    check_identity(channel, external_id)
    return session.scalar(
        select(Customer).join(ChannelIdentity)
        .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id))


def get_or_create_customer(*, session: Session, channel: str, external_id: str) -> Customer:
    """The customer behind a channel identity, created on first contact."""
    customer = find_customer(session=session, channel=channel, external_id=external_id)
    if customer is not None:
        return customer
    try:
        with session.begin_nested():
            customer = Customer()
            session.add(customer)
            session.flush()
            session.add(ChannelIdentity(channel=channel, external_id=external_id,
                                        customer_id=customer.id))
            session.flush()
    except IntegrityError:  # another request created it first
        customer = find_customer(session=session, channel=channel, external_id=external_id)
        assert customer is not None
    return customer
