"""What the console shows of a conversation: its state, transcript, the customer's cart and orders.

The cart and orders are read in process through the commerce core's services (the same
code behind ``/api/shoppers/…``), for the shopper the conversation belongs to only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from channels.delivery.transcripts import transcript
from channels.handoff.state import entry
from commerce_core.cart import service as cart_service
from commerce_core.customer.service import find_customer
from commerce_core.errors import InvalidInput, NotFound
from commerce_core.models import Agent, Conversation
from commerce_core.order.service import recent_orders, to_out

RECENT_ORDERS = 5


def _customer(session: Session, channel: str, external_id: str) -> dict[str, Any] | None:
    try:
        customer = find_customer(session=session, channel=channel, external_id=external_id)
    except InvalidInput:  # an identity the shop does not know (e.g. not a shopper channel)
        return None
    if customer is None:
        return None
    view = cart_service.view_for(session=session, customer_id=customer.id, country="FR")
    orders = recent_orders(session=session, customer=customer, limit=RECENT_ORDERS)
    return {"id": customer.id, "email": customer.email, "name": customer.name,
            "cart": view.model_dump(mode="json"),
            "orders": [to_out(order).model_dump(mode="json") for order in orders]}


def conversation_detail(*, session: Session, conversation_id: str) -> dict[str, Any]:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("There is no such conversation.", code="conversation_not_found")
    holder = session.get(Agent, conversation.agent_id) if conversation.agent_id else None
    return {
        **entry(conversation).as_json(),
        "external_id": conversation.external_id,
        "agent_name": holder.name if holder else None,
        "transcript": transcript(session=session, conversation_id=conversation_id),
        "customer": _customer(session, conversation.channel, conversation.external_id),
    }
