"""Periodic work of the shipment domain."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from commerce_core.jobs import sweep
from commerce_core.shipment.service import refresh_deliveries

log = logging.getLogger(__name__)


async def follow_parcels(*, factory: sessionmaker[Session]) -> int:
    """Record deliveries as the carrier reports them, so shoppers hear without asking."""
    count = await sweep(factory, refresh_deliveries)
    if count:
        log.info("%d parcels delivered", count)
    return count
