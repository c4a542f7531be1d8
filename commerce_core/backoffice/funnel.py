"""The conversation funnel per day, from what the shop records anyway: conversations and
their transcripts, the carts and orders of the shopper each conversation speaks for.

A conversation counts on the day it began, at each stage it reached within a day of
beginning: **searched** (the bot answered with products, or said it found none),
**shown** (product cards), **added** (a line put in the shopper's cart), **checkout** (an
order placed) and **paid** (that order paid, even if refunded later). Stages are counted
each on its own, so a shopper who ordered from a link without seeing cards still counts at
checkout.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from commerce_core.models import (
    Cart,
    CartLine,
    ChannelIdentity,
    Conversation,
    ConversationMessage,
    Order,
    PaymentStatus,
)

STAGES = ("conversations", "searched", "shown", "added", "checkout", "paid")
WINDOW = timedelta(days=1)
MAX_DAYS = 366


@dataclass
class FunnelDay:
    day: date
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))


@dataclass
class _Visit:
    started: datetime
    customer_id: int | None
    reached: set[str] = field(default_factory=lambda: {"conversations"})


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


class FunnelRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def conversations(self, since: datetime, until: datetime
                      ) -> Sequence[tuple[str, str, str, datetime]]:
        return self.session.execute(
            select(Conversation.id, Conversation.channel, Conversation.external_id,
                   Conversation.created_at)
            .where(Conversation.created_at >= since, Conversation.created_at < until)).all()

    def bot_messages(self, since: datetime, until: datetime
                     ) -> Sequence[tuple[str, str | None, dict]]:
        return self.session.execute(
            select(ConversationMessage.conversation_id, ConversationMessage.text,
                   ConversationMessage.payload)
            .join(Conversation, Conversation.id == ConversationMessage.conversation_id)
            .where(ConversationMessage.role == "bot", Conversation.created_at >= since,
                   Conversation.created_at < until)).all()

    def customers(self, identities: Collection[tuple[str, str]]) -> dict[tuple[str, str], int]:
        found: dict[tuple[str, str], int] = {}
        pairs = list(identities)
        for i in range(0, len(pairs), 500):
            found.update({(c, e): customer for c, e, customer in self.session.execute(
                select(ChannelIdentity.channel, ChannelIdentity.external_id,
                       ChannelIdentity.customer_id)
                .where(tuple_(ChannelIdentity.channel, ChannelIdentity.external_id)
                       .in_(pairs[i:i + 500])))})
        return found

    def cart_additions(self, since: datetime, until: datetime
                       ) -> Sequence[tuple[int, datetime]]:
        return self.session.execute(
            select(Cart.customer_id, CartLine.created_at).join(Cart, Cart.id == CartLine.cart_id)
            .where(CartLine.created_at >= since, CartLine.created_at < until)).all()

    def orders(self, since: datetime, until: datetime) -> Sequence[tuple[int, datetime, bool]]:
        """(customer, placed, paid) of each order placed in the period; an order was paid
        when its payment status left ``unpaid`` (refunded ones were paid first)."""
        return self.session.execute(
            select(Order.customer_id, Order.created_at,
                   Order.payment_status != PaymentStatus.UNPAID)
            .where(Order.created_at >= since, Order.created_at < until)).all()


def funnel(*, session: Session, first: date, last: date,
           no_results: Collection[str] = ()) -> list[FunnelDay]:
    """One row per day from ``first`` to ``last`` (UTC days).

    Args:
        no_results: the bot's replies that say a search found nothing (they carry no
            cards, so they are known by their words).
    """
    if last < first or (last - first).days >= MAX_DAYS:
        raise ValueError(f"a funnel covers 1 to {MAX_DAYS} days")
    since, until = _start(first), _start(last) + timedelta(days=1)
    repo = FunnelRepository(session)
    rows = repo.conversations(since, until)
    customers = repo.customers({(channel, external) for _, channel, external, _ in rows})
    visits = {cid: _Visit(started, customers.get((channel, external)))
              for cid, channel, external, started in rows}
    nothing_found = {text.strip() for text in no_results}
    for cid, text, payload in repo.bot_messages(since, until):
        if (payload or {}).get("cards"):
            visits[cid].reached.update({"searched", "shown"})
        elif text and text.strip() in nothing_found:
            visits[cid].reached.add("searched")
    by_customer: dict[int, list[_Visit]] = defaultdict(list)
    for visit in visits.values():
        if visit.customer_id is not None:
            by_customer[visit.customer_id].append(visit)

    def mark(customer_id: int, at: datetime, stage: str) -> None:
        for visit in by_customer.get(customer_id, ()):
            if visit.started <= at < visit.started + WINDOW:
                visit.reached.add(stage)

    for customer_id, at in repo.cart_additions(since, until + WINDOW):
        mark(customer_id, at, "added")
    for customer_id, at, paid in repo.orders(since, until + WINDOW):
        mark(customer_id, at, "checkout")
        if paid:
            mark(customer_id, at, "paid")
    days = {first + timedelta(days=i): FunnelDay(first + timedelta(days=i))
            for i in range((last - first).days + 1)}
    for visit in visits.values():
        counts = days[visit.started.date()].counts
        for stage in visit.reached:
            counts[stage] += 1
    return list(days.values())
