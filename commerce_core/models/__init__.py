"""ORM models, gathered in one metadata so Alembic sees every table."""

from commerce_core.models.audit import AuditEntry
from commerce_core.models.auth import MerchantApiKey
from commerce_core.models.base import Base
from commerce_core.models.cart import Cart, CartLine, CartStatus
from commerce_core.models.catalog import CustomizationRuleSet, Product, Variant
from commerce_core.models.conversation import (
    Agent,
    AgentRole,
    AgentSession,
    BotTurn,
    Conversation,
    ConversationEvent,
    ConversationMessage,
    ConversationState,
)
from commerce_core.models.customer import ChannelIdentity, Customer
from commerce_core.models.import_job import ImportJob, ImportJobStatus
from commerce_core.models.insight import SearchSynonym, UnansweredQuestion
from commerce_core.models.order import (
    CheckoutKey,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PaymentStatus,
)
from commerce_core.models.outbox import OutboxMessage
from commerce_core.models.payment import Payment, PaymentState, WebhookEvent
from commerce_core.models.review import Review
from commerce_core.models.shipment import Shipment

__all__ = [
    "Agent", "AgentRole", "AgentSession", "AuditEntry", "Base", "BotTurn", "Cart", "CartLine",
    "CartStatus", "ChannelIdentity", "CheckoutKey",
    "Conversation", "ConversationEvent", "ConversationMessage", "ConversationState", "Customer",
    "CustomizationRuleSet", "ImportJob", "ImportJobStatus", "MerchantApiKey", "Order",
    "OrderEvent", "OrderLine", "OrderStatus", "OutboxMessage", "Payment", "PaymentState",
    "PaymentStatus", "Product", "Review", "SearchSynonym", "Shipment", "UnansweredQuestion",
    "Variant", "WebhookEvent",
]
