"""Path parameters that identify the shopper a bot request is made for."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from commerce_core.customer.service import check_identity, get_or_create_customer
from commerce_core.db import SessionDep
from commerce_core.models import Customer

Channel = Annotated[str, Path(max_length=20, description="web, telegram or api")]
ExternalId = Annotated[str, Path(max_length=128, description="the shopper's id on that channel")]


def shopper(session: SessionDep, channel: Channel, external_id: ExternalId) -> Customer:
    check_identity(channel, external_id)
    return get_or_create_customer(session=session, channel=channel, external_id=external_id)


ShopperDep = Annotated[Customer, Depends(shopper)]
