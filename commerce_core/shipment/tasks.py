"""Periodic work of the shipment domain."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from commerce_core import clock
from commerce_core.shipment.service import refresh_deliveries

log = logging.getLogger(__name__)


async def follow_parcels(*, factory: sessionmaker[Session]) -> int:
    """Record deliveries as the carrier reports them, so shoppers hear without asking."""
    def run_once() -> int:
        with factory() as session:
            count = refresh_deliveries(session=session, now=clock.now())
            session.commit()
            return count

    count = await run_in_threadpool(run_once)
    if count:
        log.info("%d parcels delivered", count)
    return count
