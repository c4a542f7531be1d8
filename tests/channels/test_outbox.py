"""Durable proactive messages: order news written to the outbox with the change reach the
shopper when no gateway ran at the time, when the change was made by another process,
after a failed delivery, and exactly once when several gateways share the database."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from channels.config import GatewaySettings
from channels.delivery.history import History, MemoryHistory, RedisHistory
from channels.delivery.notify import ConversationRoutes, Notifier, message_for
from channels.delivery.outbox import OutboxRelay
from channels.delivery.outlet import Outlet
from channels.messages import ChatMessage
from commerce_core import clock
from commerce_core.events import DomainEvent
from commerce_core.models import OutboxMessage
from commerce_core.order.repository import OrderRepository
from commerce_core.order.service import mark_paid
from commerce_core.outbox.repository import OutboxRepository
from commerce_core.shipment.service import ship
from tests.channels.conftest import Gateway
from tests.channels.fake_rasa import wait_for
from tests.channels.test_notify import pay, place_order, texts
from tests.conftest import REPO
from tests.e2e.stack import free_port

PAY_ELSEWHERE = """
import sys
from sqlalchemy.orm import sessionmaker
from commerce_core.db import make_engine
from commerce_core.order.repository import OrderRepository
from commerce_core.order.service import mark_paid

engine = make_engine(sys.argv[1])
with sessionmaker(engine)() as session:
    order = OrderRepository(session).get(int(sys.argv[2]))
    mark_paid(session=session, order=order, payment_ref="sandbox:elsewhere")
    session.commit()
engine.dispose()
"""


def outbox(factory: sessionmaker[Session]) -> list[OutboxMessage]:
    with factory() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def pay_without_gateway(factory: sessionmaker[Session], order_id: int) -> None:
    """What the payment webhook does, in a process where no gateway runs."""
    with factory() as session:
        order = OrderRepository(session).get(order_id)
        assert order is not None
        mark_paid(session=session, order=order, payment_ref="sandbox:offline")
        session.commit()


def ship_without_gateway(factory: sessionmaker[Session], order_id: int) -> None:
    with factory() as session:
        order = OrderRepository(session).get(order_id)
        assert order is not None
        ship(session=session, order=order, now=clock.now())
        session.commit()


def paid_texts(client: Any, conversation_id: str) -> list[str]:
    return [t for role, t in texts(client, conversation_id)
            if role == "bot" and t.startswith("Payment received")]


def test_an_order_paid_while_no_gateway_ran_is_told_when_one_starts(
        gateway: Gateway, demo_catalog: sessionmaker[Session]) -> None:
    # given an order placed from the widget, after which the gateway went away
    with gateway() as client:
        order = place_order(client, "web-ob-a")
    # when the payment is recorded while no gateway runs
    pay_without_gateway(demo_catalog, order["id"])
    [waiting] = outbox(demo_catalog)
    assert (waiting.kind, waiting.delivered_at) == ("order.paid", None)
    # then the next gateway tells the shopper as it starts, once
    with gateway() as client:
        wait_for(lambda: paid_texts(client, "web-ob-a"), what="the payment message")
        wait_for(lambda: outbox(demo_catalog)[0].delivered_at, what="the message settled")
        assert paid_texts(client, "web-ob-a") == [
            f"Payment received for order {order['number']} ({order['total']} EUR). Thank "
            "you! I'll let you know as soon as it ships."]
    [delivered] = outbox(demo_catalog)
    assert (delivered.attempts, delivered.delivered_to, delivered.last_error) == (
        1, ["web-ob-a"], None)


def test_an_order_paid_by_another_process_is_told_by_the_running_gateway(
        gateway: Gateway, demo_catalog: sessionmaker[Session]) -> None:
    url = demo_catalog.kw["bind"].url.render_as_string(hide_password=False)
    with gateway(outbox_poll_seconds=0.2) as client:
        order = place_order(client, "web-ob-p")
        # when the commerce API of another process records the payment
        subprocess.run([sys.executable, "-c", PAY_ELSEWHERE, url, str(order["id"])],
                       check=True, cwd=REPO, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
        # then the gateway finds it in the outbox and tells the shopper
        wait_for(lambda: paid_texts(client, "web-ob-p"), what="the payment message")


def test_a_change_in_this_process_wakes_the_relay_without_waiting_for_the_poll(
        gateway: Gateway) -> None:
    # a poll far longer than the wait: only the after-commit wake-up can deliver in time
    with gateway(outbox_poll_seconds=3600) as client:
        order = place_order(client, "web-ob-w")
        pay(client, order)
        wait_for(lambda: paid_texts(client, "web-ob-w"), what="the payment message")


@dataclass
class SpareRedis:
    """A Redis server of this test's own, on a port where nothing listens until started."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def spare_redis() -> Iterator[SpareRedis]:
    server = SpareRedis()
    yield server
    server.stop()


def make_relay(factory: sessionmaker[Session], history: History,
               **settings: Any) -> OutboxRelay:
    outlet = Outlet(history=history)
    return OutboxRelay(factory=factory,
                       notifier=Notifier(outlet=outlet, routes=ConversationRoutes()),
                       settings=GatewaySettings(**{"outbox_poll_seconds": 0.05, **settings}))


async def until(check: Callable[[], Any], what: str) -> Any:
    """``wait_for`` in a worker thread, so the relays on this loop go on meanwhile."""
    return await run_in_threadpool(wait_for, check, 20.0, what)


async def running(relays: list[OutboxRelay], body: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``body`` while the relays run; then stop them and close what they used."""
    for relay in relays:
        relay.start()
    try:
        return await body()
    finally:
        for relay in relays:
            await relay.stop()
            await relay.notifier.outlet.history.aclose()


def test_a_failed_delivery_is_retried_until_it_succeeds_and_the_order_stays_in_order(
        gateway: Gateway, demo_catalog: sessionmaker[Session], spare_redis: SpareRedis) -> None:
    with gateway() as client:
        order = place_order(client, "web-ob-r")
    pay_without_gateway(demo_catalog, order["id"])
    history = RedisHistory(spare_redis.url, "atelier-test", 100)
    relay = make_relay(demo_catalog, history, outbox_retry_backoff_seconds=0.1,
                       outbox_max_backoff_seconds=0.4)

    async def scenario() -> list[ChatMessage]:
        # given the history's Redis is down: the attempts fail and are recorded (the
        # third one is over: its message waits for the next, not for the lease)
        def failed_thrice() -> list[OutboxMessage]:
            soon = clock.now() + timedelta(seconds=60)
            return [m for m in outbox(demo_catalog) if m.attempts >= 3
                    and m.claimed_until is not None and m.claimed_until < soon]

        [paid] = await until(failed_thrice, what="three failed attempts")
        assert paid.delivered_at is None and "ConnectionError" in (paid.last_error or "")
        # and the order ships meanwhile: its news must not overtake the payment's
        await run_in_threadpool(ship_without_gateway, demo_catalog, order["id"])
        # when Redis is back
        await run_in_threadpool(spare_redis.start)
        # then both are delivered, in order
        await until(lambda: all(m.delivered_at for m in outbox(demo_catalog)),
                    what="both messages delivered")
        return await history.since("web-ob-r", 0)

    told = asyncio.run(running([relay], scenario))
    assert [m.text for m in told][:1] == [
        f"Payment received for order {order['number']} ({order['total']} EUR). Thank you! "
        "I'll let you know as soon as it ships."]
    assert len(told) == 2 and (told[1].text or "").startswith(
        f"Your order {order['number']} is on its way with simulated: tracking ATS")
    paid, shipped = outbox(demo_catalog)
    assert paid.attempts >= 4 and paid.delivered_to == ["web-ob-r"]
    assert shipped.delivered_to == ["web-ob-r"]


def test_a_delivery_that_keeps_failing_is_given_up_and_logged(
        gateway: Gateway, demo_catalog: sessionmaker[Session], spare_redis: SpareRedis,
        caplog: pytest.LogCaptureFixture) -> None:
    with gateway() as client:
        order = place_order(client, "web-ob-g")
    pay_without_gateway(demo_catalog, order["id"])
    history = RedisHistory(spare_redis.url, "atelier-test", 100)  # never started
    relay = make_relay(demo_catalog, history, outbox_max_attempts=3,
                       outbox_retry_backoff_seconds=0.05)

    async def scenario() -> None:
        await until(lambda: any("given up" in r.getMessage() for r in caplog.records),
                    what="the relay giving up")
        await asyncio.sleep(0.5)  # many polls: it is not tried again

    with caplog.at_level(logging.INFO, logger="channels.delivery.outbox"):
        asyncio.run(running([relay], scenario))
    [message] = outbox(demo_catalog)
    assert (message.delivered_at, message.attempts) == (None, 3)
    [given_up] = [r for r in caplog.records if "given up" in r.getMessage()]
    assert given_up.levelno == logging.ERROR
    assert f"order.paid for order {order['number']} given up after 3 attempts" in (
        given_up.getMessage())


@dataclass
class FlakyChannel:
    """An outbound channel (as Telegram is one) that is down for its first sends."""

    failures: int
    sent: list[tuple[str, str | None]] = field(default_factory=list)

    async def __call__(self, conversation_id: str, messages: list[ChatMessage]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the channel is down")
        self.sent += [(conversation_id, m.text) for m in messages]


def _paid_data(number: str, *conversations: str) -> dict[str, Any]:
    return {"number": number, "total": "42.00", "currency": "EUR",
            "identities": [{"channel": "web", "external_id": c} for c in conversations]}


def test_a_retry_tells_only_the_conversations_that_missed_the_message(
        session_factory: sessionmaker[Session]) -> None:
    data = _paid_data("AT-PART01", "web-ob-ok", "fx-ob-down")
    with session_factory() as session:
        OutboxRepository(session).add(kind="order.paid", stream="order:1", data=data)
        session.commit()
    history = MemoryHistory(100)
    relay = make_relay(session_factory, history, outbox_retry_backoff_seconds=0.05)
    channel = FlakyChannel(failures=2)
    relay.notifier.outlet.add_outbound("fx-", channel)

    async def scenario() -> list[ChatMessage]:
        await until(lambda: outbox(session_factory)[0].delivered_at, what="the delivery")
        return await history.since("web-ob-ok", 0)

    told = asyncio.run(running([relay], scenario))
    text = message_for(DomainEvent("order.paid", data))
    assert [m.text for m in told] == [text]
    assert channel.sent == [("fx-ob-down", text)]
    [message] = outbox(session_factory)
    assert (message.attempts, message.delivered_to) == (3, ["web-ob-ok", "fx-ob-down"])


def test_two_relays_over_one_database_deliver_each_message_once_and_in_order(
        session_factory: sessionmaker[Session]) -> None:
    # given the news of many orders, each paid then shipped, waiting in the outbox
    orders = [f"AT-TWO{i:03d}" for i in range(12)]
    events: list[DomainEvent] = []
    with session_factory() as session:
        repo = OutboxRepository(session)
        for i, number in enumerate(orders):
            data = _paid_data(number, f"web-two-{i}")
            shipped = {**data, "carrier": "simulated", "tracking_number": f"ATS{i:06d}",
                       "tracking_url": None}
            for kind, body in (("order.paid", data), ("order.shipped", shipped)):
                repo.add(kind=kind, stream=f"order:{i}", data=body)
                events.append(DomainEvent(kind, body))
        session.commit()
    # when two gateway replicas relay them at once, into the history they share
    history = MemoryHistory(100)
    relays = [make_relay(session_factory, history, outbox_batch_size=4,
                         outbox_poll_seconds=0.01) for _ in range(2)]

    async def scenario() -> dict[str, list[str | None]]:
        await until(lambda: all(m.delivered_at for m in outbox(session_factory)),
                    what="every message delivered")
        return {f"web-two-{i}": [m.text for m in await history.since(f"web-two-{i}", 0)]
                for i in range(len(orders))}

    told = asyncio.run(running(relays, scenario))
    # then each conversation heard its order's payment, then its shipping, once each
    assert told == {f"web-two-{i}": [message_for(events[2 * i]), message_for(events[2 * i + 1])]
                    for i in range(len(orders))}
    assert {m.attempts for m in outbox(session_factory)} == {1}
