"""The outbox: an order's news is written with the change, and claimed by one relay at a
time, oldest first within an order."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.models import OutboxMessage
from commerce_core.models.base import utcnow
from commerce_core.order.repository import OrderRepository
from commerce_core.order.service import mark_paid
from commerce_core.outbox.repository import OutboxRepository
from tests.commerce_core.helpers import Shopper, api

KINDS = ("order.paid", "order.shipped")
LEASE = timedelta(seconds=60)


def placed_order(factory: sessionmaker[Session], tmp_path: Path, shopper: str) -> dict[str, Any]:
    with api(factory, tmp_path) as client:
        buyer = Shopper(client, shopper)
        assert buyer.add("CER-MUG-001").status_code == 201
        return buyer.checkout().json()


def outbox(factory: sessionmaker[Session]) -> list[OutboxMessage]:
    with factory() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_committed_change_writes_its_message_in_the_same_transaction(
        demo_catalog: sessionmaker[Session], tmp_path: Path) -> None:
    order = placed_order(demo_catalog, tmp_path, "web-ob1")
    assert outbox(demo_catalog) == []  # placing an order tells nobody
    # when the order is paid and the change commits
    with demo_catalog() as session:
        stored = OrderRepository(session).get(order["id"])
        assert stored is not None
        mark_paid(session=session, order=stored, payment_ref="sandbox:pay_1")
        session.commit()
    # then one message waits, with what the shopper must be told and who they are
    [message] = outbox(demo_catalog)
    assert (message.kind, message.stream) == ("order.paid", f"order:{order['id']}")
    assert message.data.items() >= {
        "order_id": order["id"], "number": order["number"], "total": order["total"],
        "currency": "EUR", "identities": [{"channel": "web", "external_id": "web-ob1"}]}.items()
    assert (message.delivered_at, message.attempts, message.claimed_until,
            message.delivered_to) == (None, 0, None, [])


def test_a_rolled_back_change_writes_no_message(demo_catalog: sessionmaker[Session],
                                                tmp_path: Path) -> None:
    order = placed_order(demo_catalog, tmp_path, "web-ob2")
    with demo_catalog() as session:
        stored = OrderRepository(session).get(order["id"])
        assert stored is not None
        mark_paid(session=session, order=stored, payment_ref="sandbox:test")
        session.rollback()
    assert outbox(demo_catalog) == []
    # nor does a change undone by its savepoint while the rest of the transaction commits
    with demo_catalog() as session:
        stored = OrderRepository(session).get(order["id"])
        assert stored is not None
        savepoint = session.begin_nested()
        mark_paid(session=session, order=stored, payment_ref="sandbox:test")
        savepoint.rollback()
        session.commit()
    assert outbox(demo_catalog) == []


def _add(factory: sessionmaker[Session], *messages: tuple[str, str]) -> list[int]:
    with factory() as session:
        ids = [OutboxRepository(session).add(kind=kind, stream=stream, data={"n": i}).id
               for i, (kind, stream) in enumerate(messages)]
        session.commit()
    return ids


def _claim(factory: sessionmaker[Session], now: Any, *, limit: int = 10,
           max_attempts: int = 3) -> list[tuple[int, int]]:
    with factory() as session:
        won = OutboxRepository(session).claim(kinds=KINDS, now=now, until=now + LEASE,
                                              max_attempts=max_attempts, limit=limit)
        session.commit()
        return [(m.id, m.attempts) for m in won]


def test_a_claimed_message_is_nobody_elses_until_its_lease_runs_out(
        session_factory: sessionmaker[Session]) -> None:
    [first] = _add(session_factory, ("order.paid", "order:1"))
    now = utcnow()
    assert _claim(session_factory, now) == [(first, 1)]
    # another relay claiming while the lease holds gets nothing
    assert _claim(session_factory, now + timedelta(seconds=59)) == []
    # the lease of a relay that died runs out: the message is taken over (a new attempt)
    later = now + timedelta(seconds=61)
    assert _claim(session_factory, later) == [(first, 2)]
    # and the first relay, whose lease was taken over, cannot settle it any more
    with session_factory() as session:
        repo = OutboxRepository(session)
        assert not repo.delivered(first, lease=now + LEASE, now=later, delivered_to=[])
        assert repo.delivered(first, lease=later + LEASE, now=later, delivered_to=["web-1"])
        session.commit()
    assert _claim(session_factory, later + timedelta(hours=1)) == []


def test_an_order_is_delivered_in_order_and_a_given_up_message_unblocks_it(
        session_factory: sessionmaker[Session]) -> None:
    paid, other, shipped = _add(session_factory, ("order.paid", "order:1"),
                                ("order.paid", "order:2"), ("order.shipped", "order:1"))
    now = utcnow()
    # one message per order at a time: order 1's "shipped" waits for its "paid"
    assert _claim(session_factory, now) == [(paid, 1), (other, 1)]
    with session_factory() as session:
        repo = OutboxRepository(session)
        assert repo.delivered(other, lease=now + LEASE, now=now, delivered_to=[])
        assert repo.retry_later(paid, lease=now + LEASE, not_before=now + timedelta(seconds=5),
                                delivered_to=[], error="ConnectionError: down")
        session.commit()
    # while "paid" waits for its retry, "shipped" still waits behind it
    assert _claim(session_factory, now + timedelta(seconds=1)) == []
    assert _claim(session_factory, now + timedelta(seconds=6), max_attempts=2) == [(paid, 2)]
    # once "paid" has had all its attempts it is given up, and "shipped" goes out
    assert _claim(session_factory, now + timedelta(seconds=120), max_attempts=2) == [
        (shipped, 1)]
    [stored] = [m for m in outbox(session_factory) if m.id == paid]
    assert (stored.delivered_at, stored.attempts, stored.last_error) == (
        None, 2, "ConnectionError: down")


def test_delivered_messages_are_pruned_after_a_while(
        session_factory: sessionmaker[Session]) -> None:
    done, waiting = _add(session_factory, ("order.paid", "order:1"), ("order.paid", "order:2"))
    now = utcnow()
    _claim(session_factory, now)
    with session_factory() as session:
        repo = OutboxRepository(session)
        assert repo.delivered(done, lease=now + LEASE, now=now, delivered_to=[])
        assert repo.prune(delivered_before=now) == 0
        assert repo.prune(delivered_before=now + timedelta(seconds=1)) == 1
        session.commit()
    assert [m.id for m in outbox(session_factory)] == [waiting]
