"""The demo shop's recent conversations, so the back office's funnel starts from something
believable. Generated when the demo is loaded, after its orders, with a fixed seed:

- each demo order of the last 90 days of the history (2026-09-01 to 2026-11-30) came from
  a conversation of its shopper that began 20 minutes before it was placed: the shopper
  asked for the first product's kind, the bot showed it with two more of its category, the
  shopper put the order's lines in the cart (a cart now checked out);
- besides, 3 to 8 visitors a day who did not buy: a third only said hello, half were
  shown products, the rest also put one in a cart they left open.

The transcripts are the shop's own words; the cards are built as the bot builds them.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from commerce_core.customer.service import get_or_create_customer
from commerce_core.demo.orders import NUMBER_PREFIX
from commerce_core.models import (
    Cart,
    CartLine,
    CartStatus,
    ChannelIdentity,
    Conversation,
    ConversationMessage,
    Order,
    Product,
)

SEED = 15
FIRST_DAY, LAST_DAY = date(2026, 9, 1), date(2026, 11, 30)
ID_PREFIX = "demo-"
VISITORS_PER_DAY = (3, 8)
HELLO = "Hello! I can help you find a gift, answer questions about the shop, or check an order."


def _card(product: Product) -> dict[str, Any]:
    variant = product.variants[0]
    return {"id": product.id, "sku": variant.sku, "name": product.name,
            "price": str(variant.price), "currency": variant.currency,
            "image_url": product.image_url, "in_stock": variant.stock > 0, "url": None,
            "buttons": [{"title": "Add to cart",
                         "payload": f'/add_to_cart{{"product_id": "{product.id}"}}'}]}


class _Writer:
    def __init__(self, session: Session, rng: random.Random,
                 products: list[Product]) -> None:
        self.session, self.rng = session, rng
        self.by_sku = {v.sku: p for p in products for v in p.variants}
        self.by_category: dict[str, list[Product]] = defaultdict(list)
        for product in products:
            if product.variants:
                self.by_category[product.category].append(product)

    def conversation(self, cid: str, external_id: str, started: datetime,
                     turns: list[tuple[str, str, list[Product]]]) -> None:
        self.session.add(Conversation(id=cid, channel="web", external_id=external_id,
                                      created_at=started, updated_at=started))
        for i, (role, text, shown) in enumerate(turns):
            payload = {"cards": [_card(p) for p in shown]} if shown else {}
            self.session.add(ConversationMessage(
                conversation_id=cid, seq=i + 1, role=role, text=text, payload=payload,
                ts=started + timedelta(seconds=40 * i)))

    def shown_with(self, first: Product) -> list[Product]:
        others = [p for p in self.by_category[first.category] if p.id != first.id]
        return [first, *self.rng.sample(others, min(2, len(others)))]

    def cart(self, customer_id: int, status: CartStatus, at: datetime,
             lines: list[tuple[int, int]]) -> None:
        self.session.add(Cart(customer_id=customer_id, status=status, currency="EUR",
                              created_at=at, updated_at=at,
                              lines=[CartLine(variant_id=variant_id, quantity=quantity,
                                              options={}, created_at=at, updated_at=at)
                                     for variant_id, quantity in lines]))

    def buyer(self, order: Order, external_id: str) -> None:
        placed = order.created_at
        first = self.by_sku[order.lines[0].sku]
        kind = first.attributes.get("type", first.category)
        self.conversation(f"{ID_PREFIX}{order.number.lower()}", external_id,
                          placed - timedelta(minutes=20), [
                              ("shopper", f"I'm looking for a {kind}", []),
                              ("bot", "Here are a few you might like.", self.shown_with(first)),
                              ("shopper", "I'll take the first one", []),
                              ("bot", "I've added it to your cart.", [])])
        self.cart(order.customer_id, CartStatus.CHECKED_OUT, placed - timedelta(minutes=15),
                  [(line.variant_id, line.quantity) for line in order.lines
                   if line.variant_id is not None])

    def visitor(self, number: int, day: date) -> None:
        started = datetime.combine(day, time(self.rng.randint(8, 21),
                                             self.rng.randint(0, 59)), tzinfo=UTC)
        external_id = f"demo-visitor-{number:05d}"
        cid = f"{ID_PREFIX}{external_id}"
        roll = self.rng.random()
        if roll < 0.33:
            self.conversation(cid, external_id, started,
                              [("shopper", "hi", []), ("bot", HELLO, [])])
            return
        category = self.rng.choice(sorted(self.by_category))
        first = self.rng.choice(self.by_category[category])
        turns = [("shopper", f"show me {category}", []),
                 ("bot", "Here are a few you might like.", self.shown_with(first))]
        if roll < 0.8:
            self.conversation(cid, external_id, started, turns)
            return
        self.conversation(cid, external_id, started, [
            *turns, ("shopper", "add the first one", []),
            ("bot", "I've added it to your cart.", [])])
        customer = get_or_create_customer(session=self.session, channel="web",
                                          external_id=external_id)
        self.cart(customer.id, CartStatus.OPEN, started + timedelta(minutes=2),
                  [(first.variants[0].id, 1)])


def load(*, session: Session, seed: int = SEED) -> int:
    """Add the demo conversations; returns how many (0 when they are there already). The
    caller commits."""
    if session.scalar(select(Conversation.id).where(Conversation.id.startswith(ID_PREFIX))
                      .limit(1)) is not None:
        return 0
    rng = random.Random(seed)
    products = list(session.scalars(select(Product).order_by(Product.id)
                                    .options(selectinload(Product.variants))))
    writer = _Writer(session, rng, products)
    since = datetime.combine(FIRST_DAY, time(), tzinfo=UTC)
    until = datetime.combine(LAST_DAY + timedelta(days=1), time(), tzinfo=UTC)
    orders = session.scalars(
        select(Order).where(Order.number.startswith(NUMBER_PREFIX), Order.created_at >= since,
                            Order.created_at < until)
        .order_by(Order.created_at, Order.id).options(selectinload(Order.lines))).all()
    identities = dict(session.execute(select(ChannelIdentity.customer_id,
                                             ChannelIdentity.external_id)
                                      .where(ChannelIdentity.channel == "web")).all())
    count = 0
    for order in orders:
        writer.buyer(order, identities[order.customer_id])
        count += 1
    visitor = 0
    day = FIRST_DAY
    while day <= LAST_DAY:
        for _ in range(rng.randint(*VISITORS_PER_DAY)):
            visitor += 1
            writer.visitor(visitor, day)
        day += timedelta(days=1)
    session.flush()
    return count + visitor
