"""Discovery: search the catalog and show products as cards."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.budget import parse_budget
from actions.clients import (
    CommerceClient,
    CommerceError,
    CommerceUnavailable,
    ProductNotFound,
    SearchHit,
    SearchQuery,
)
from actions.config import get_settings

log = logging.getLogger(__name__)

ATTRIBUTE_ENTITIES = ("product_type", "colour", "material", "style", "occasion")
ATTRIBUTE_NAMES = {"product_type": "type"}
# When nothing matches every filter, drop the most specific ones first.
RELAX_ORDER = ("material", "style", "occasion", "colour", "type")
UNAVAILABLE = ("Sorry, I can't reach the shop's catalogue right now. Please try again in a "
               "minute; your conversation is kept.")


def latest_entities(tracker: Tracker) -> dict[str, str]:
    out: dict[str, str] = {}
    for entity in tracker.latest_message.get("entities", []):
        name, value = entity.get("entity"), entity.get("value")
        if name and isinstance(value, str) and name not in out:
            out[name] = value.strip().lower()
    return out


def product_card(hit: SearchHit) -> dict[str, Any]:
    return {
        "id": hit.id,
        "sku": hit.sku,
        "name": hit.name,
        "price": str(hit.price),
        "currency": hit.currency,
        "image_url": hit.image_url,
        "in_stock": hit.in_stock,
        "url": None,
        "buttons": [{"title": "Tell me more",
                     "payload": f'/product_details{{"product_id": "{hit.id}"}}'}],
    }


def build_query(tracker: Tracker) -> SearchQuery:
    entities = latest_entities(tracker)
    budget = parse_budget(tracker.latest_message.get("text") or "")
    attributes = {ATTRIBUTE_NAMES.get(k, k): v for k, v in entities.items()
                  if k in ATTRIBUTE_ENTITIES}
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/"):  # a button payload: search by what it names
        text = " ".join(entities.values())
    return SearchQuery(
        text=text, limit=get_settings().search_page_size, category=entities.get("category"),
        min_price=budget.min_price, max_price=budget.max_price, attributes=attributes,
    )


async def search_relaxed(client: CommerceClient, query: SearchQuery
                         ) -> tuple[list[SearchHit], list[str]]:
    """Search; when nothing matches, drop filters one by one. Returns (hits, dropped)."""
    hits = await client.search(query)
    dropped: list[str] = []
    for name in RELAX_ORDER:
        if hits or name not in query.attributes:
            continue
        dropped.append(f"{query.attributes[name]}")
        query = query.model_copy(update={
            "attributes": {k: v for k, v in query.attributes.items() if k != name}})
        hits = await client.search(query)
    return hits, dropped


class CommerceAction(Action, ABC):
    """An action that talks to the commerce API (one client per action instance)."""

    def __init__(self, client: CommerceClient | None = None) -> None:
        self.client = client or CommerceClient()

    @abstractmethod
    def name(self) -> str: ...


class ActionSearchProducts(CommerceAction):
    def name(self) -> str:
        return "action_search_products"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        query = build_query(tracker)
        try:
            hits, dropped = await search_relaxed(self.client, query)
        except CommerceUnavailable:
            log.warning("search failed: commerce API unavailable",
                        extra={"conversation_id": tracker.sender_id})
            dispatcher.utter_message(text=UNAVAILABLE)
            return []
        except CommerceError as exc:
            dispatcher.utter_message(text=f"Sorry, I couldn't search for that: {exc.message}")
            return []
        if not hits:
            dispatcher.utter_message(
                text="I couldn't find anything like that in the shop. Could you describe it "
                     "differently, or try a wider budget?")
            return [SlotSet("shown_products", [])]
        if dropped:
            intro = (f"I found nothing that is also {' or '.join(dropped)}, so here are the "
                     "closest matches:")
        else:
            intro = "Here is what I found:" if len(hits) > 1 else "I found this one:"
        dispatcher.utter_message(text=intro, json_message={"cards": [product_card(h)
                                                                      for h in hits]})
        return [SlotSet("shown_products", [str(h.id) for h in hits])]


def _format_options(options: list[dict[str, Any]]) -> str:
    parts = []
    for option in options:
        label = option.get("label") or option["name"].replace("_", " ")
        if option.get("kind") == "choice":
            parts.append(f"{label} ({', '.join(map(str, option.get('values', [])))})")
        else:
            parts.append(str(label))
    return "; ".join(parts)


class ActionShowProduct(CommerceAction):
    def name(self) -> str:
        return "action_show_product"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        product_id = next(tracker.get_latest_entity_values("product_id"), None)
        if product_id is None:
            shown = tracker.get_slot("shown_products") or []
            product_id = shown[0] if shown else None
        if product_id is None or not str(product_id).isdigit():
            dispatcher.utter_message(text="Which product would you like to know more about? "
                                          "Tell me what you are looking for and I'll show you.")
            return []
        try:
            product = await self.client.product(int(product_id))
        except ProductNotFound:
            dispatcher.utter_message(text="That product is no longer in the shop, sorry.")
            return []
        except CommerceUnavailable:
            dispatcher.utter_message(text=UNAVAILABLE)
            return []
        stock = "In stock." if product.in_stock else "Sold out at the moment."
        lines = [f"{product.name} — {product.price} {product.currency}. {stock}",
                 product.description]
        sizes = sorted({v.attributes["size"] for v in product.variants
                        if "size" in v.attributes})
        if sizes:
            lines.append(f"Sizes: {', '.join(sizes)}.")
        if product.customization:
            lines.append(f"It can be personalised: {_format_options(product.customization)}.")
        dispatcher.utter_message(text="\n".join(lines))
        return []
