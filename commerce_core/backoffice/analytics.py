"""Figures of a period beside the funnel: paid revenue and average order by channel, how
often (and why) conversations were handed to a person, how often the bot did not
understand a message, and its slowest answers."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from commerce_core.models import (
    BotTurn,
    ChannelIdentity,
    Conversation,
    ConversationEvent,
    Order,
    PaymentStatus,
)
from commerce_core.money import quantize_price


@dataclass(frozen=True)
class ChannelRevenue:
    channel: str
    currency: str
    orders: int
    revenue: Decimal

    @property
    def average(self) -> Decimal:
        return quantize_price(self.revenue / self.orders)


@dataclass(frozen=True)
class Handoffs:
    conversations: int
    handed_off: int
    reasons: dict[str, int]

    @property
    def rate(self) -> float:
        return self.handed_off / self.conversations if self.conversations else 0.0


def revenue_by_channel(*, session: Session, since: datetime, until: datetime
                       ) -> list[ChannelRevenue]:
    """Orders placed in the period and paid (refunded ones too: they were paid), by the
    channel their shopper talks to the shop through (the first one, for a shopper on
    several)."""
    first_channel = dict(session.execute(
        select(ChannelIdentity.customer_id, ChannelIdentity.channel)
        .order_by(ChannelIdentity.customer_id.desc(), ChannelIdentity.id.desc())).all())
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for customer_id, currency, total in session.execute(
            select(Order.customer_id, Order.currency, Order.total)
            .where(Order.created_at >= since, Order.created_at < until,
                   Order.payment_status != PaymentStatus.UNPAID)):
        totals[(first_channel.get(customer_id, "other"), currency)].append(total)
    return [ChannelRevenue(channel, currency, len(amounts), sum(amounts, Decimal("0.00")))
            for (channel, currency), amounts in sorted(totals.items())]


def handoffs(*, session: Session, since: datetime, until: datetime) -> Handoffs:
    """Conversations begun in the period, how many went to the agents' queue, and why
    (each conversation once per reason)."""
    begun = (Conversation.created_at >= since, Conversation.created_at < until)
    count = session.scalar(select(func.count(Conversation.id)).where(*begun)) or 0
    rows = session.execute(
        select(ConversationEvent.conversation_id, ConversationEvent.reason)
        .join(Conversation, Conversation.id == ConversationEvent.conversation_id)
        .where(ConversationEvent.to_state == "waiting", *begun).distinct()).all()
    handed = session.scalar(
        select(func.count(distinct(ConversationEvent.conversation_id)))
        .join(Conversation, Conversation.id == ConversationEvent.conversation_id)
        .where(ConversationEvent.to_state == "waiting", *begun)) or 0
    reasons = Counter(reason or "unknown" for _, reason in rows)
    return Handoffs(conversations=count, handed_off=handed, reasons=dict(reasons.most_common()))


@dataclass
class UnderstandingDay:
    """The bot's answered turns of a day (or of the week beginning that day), and how many
    it did not understand."""

    day: date
    turns: int = 0
    misunderstood: int = 0

    @property
    def rate(self) -> float:
        return self.misunderstood / self.turns if self.turns else 0.0


def understanding_by_day(*, session: Session, first: date, last: date
                         ) -> list[UnderstandingDay]:
    """Every day from ``first`` to ``last`` (UTC), with its turns whose understanding the
    bot reported."""
    days = {first + timedelta(days=n): UnderstandingDay(first + timedelta(days=n))
            for n in range((last - first).days + 1)}
    since = datetime.combine(first, time(), tzinfo=UTC)
    until = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
    for at, understood in session.execute(
            select(BotTurn.created_at, BotTurn.understood)
            .where(BotTurn.created_at >= since, BotTurn.created_at < until,
                   BotTurn.understood.is_not(None))):
        day = days[at.astimezone(UTC).date()]
        day.turns += 1
        day.misunderstood += not understood
    return list(days.values())


def slowest_turns(*, session: Session, since: datetime, until: datetime,
                  limit: int = 10) -> Sequence[BotTurn]:
    """The turns of the period the bot took longest to answer, slowest first."""
    return session.scalars(
        select(BotTurn).where(BotTurn.created_at >= since, BotTurn.created_at < until)
        .order_by(BotTurn.duration_ms.desc(), BotTurn.id.desc()).limit(limit)).all()
