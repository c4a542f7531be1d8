"""The demo shop's generated conversations (SQLite and PostgreSQL) give the back office's
funnel something to show: every demo order of the last months came from a conversation
that showed and carted its product, and visitors who did not buy stop at each stage."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.backoffice.funnel import funnel
from commerce_core.demo import conversations as demo_conversations
from commerce_core.demo import orders as demo_orders
from commerce_core.models import Cart, CartStatus, Conversation, ConversationMessage, Order

NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)


def test_the_demo_conversations_make_a_believable_funnel(
        demo_catalog: sessionmaker[Session]) -> None:
    # given the demo shop with its orders
    with demo_catalog() as session:
        demo_orders.load(session=session)
        # when
        added = demo_conversations.load(session=session)
        again = demo_conversations.load(session=session)
        session.commit()
        days = funnel(session=session, first=date(2026, 11, 1), last=date(2026, 11, 30))
        november_orders = session.scalar(select(func.count(Order.id)).where(
            Order.created_at >= NOVEMBER))
        left_in_cart = session.scalar(select(func.count(Cart.id)).where(
            Cart.status == CartStatus.OPEN, Cart.created_at >= NOVEMBER))
        conversations = session.scalar(select(func.count(Conversation.id)))
        messages = session.scalar(select(func.count(ConversationMessage.id)))
    # then
    assert added == conversations and again == 0
    assert messages >= 2 * conversations
    totals = {stage: sum(d.counts[stage] for d in days) for stage in days[0].counts}
    assert totals["checkout"] == totals["paid"] == november_orders > 0
    assert totals["conversations"] > totals["searched"] == totals["shown"] > totals["added"]
    assert totals["added"] == november_orders + left_in_cart
    assert left_in_cart > 0
    assert all(d.counts["conversations"] >= 3 for d in days)
