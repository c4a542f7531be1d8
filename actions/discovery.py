"""Discovery: search the catalog, refine the last search, show products as cards."""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from statistics import median_low
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.budget import Budget, parse_budget
from actions.clients import CommerceClient, SearchHit, SearchQuery
from actions.common import (
    SKIP,
    UNAVAILABLE,
    CommerceAction,
    latest_entities,
    mentioned_product,
    money,
)
from actions.config import get_settings

__all__ = ["UNAVAILABLE", "ActionRefineSearch", "ActionSearchProducts", "ActionShowProduct",
           "CommerceAction", "product_card"]
log = logging.getLogger(__name__)

ATTRIBUTE_SLOTS = {"product_type": "type", "colour": "colour", "material": "material"}
BOOST_SLOTS = ("occasion", "style")
# When nothing matches every filter, drop the most specific ones first.
RELAX_ORDER = ("material", "style", "occasion", "colour", "type")
_CHEAPER = re.compile(r"\b(?:cheaper|less expensive|lower price|more affordable|cheap|"
                      r"too (?:expensive|pricey|dear)|pricey)\b", re.I)
_PRICIER = re.compile(r"\b(?:more expensive|pricier|fancier|higher end|posher)\b", re.I)
_SIMILAR = re.compile(r"\b(?:like|similar|alike)\b", re.I)
_MORE = re.compile(r"\b(?:more|others?|next|else)\b", re.I)


def product_card(hit: SearchHit) -> dict[str, Any]:
    pid = hit.id
    return {
        "id": pid,
        "sku": hit.sku,
        "name": hit.name,
        "price": str(hit.price),
        "currency": hit.currency,
        "image_url": hit.image_url,
        "in_stock": hit.in_stock,
        "url": None,
        "buttons": [
            {"title": "Tell me more", "payload": f'/product_details{{"product_id": "{pid}"}}'},
            {"title": "Personalise", "payload": f'/customize_product{{"product_id": "{pid}"}}'},
            {"title": "Add to cart", "payload": f'/add_to_cart{{"product_id": "{pid}"}}'},
        ],
    }


def _given(tracker: Tracker, name: str) -> str | None:
    value = tracker.get_slot(name)
    return str(value) if value and value != SKIP else None


def query_from_slots(tracker: Tracker) -> SearchQuery:
    """The search the shopper's preferences describe (after the preferences form)."""
    budget = parse_budget(_given(tracker, "budget") or "")
    attributes = {attr: v for slot, attr in ATTRIBUTE_SLOTS.items()
                  if (v := _given(tracker, slot))}
    boosts = {slot: v for slot in BOOST_SLOTS if (v := _given(tracker, slot))}
    text = tracker.get_slot("search_text") or ""
    words = [w for w in (*attributes.values(), *boosts.values(), _given(tracker, "category"))
             if w and w.lower() not in text.lower()]
    recipient = _given(tracker, "recipient")
    if recipient and recipient.lower() not in text.lower():
        words.append(f"gift for {recipient}")
    return SearchQuery(
        text=" ".join([text, *words]).strip()[:500], limit=get_settings().search_page_size,
        category=_given(tracker, "category"), min_price=budget.min_price,
        max_price=budget.max_price, attributes=attributes, boosts=boosts)


async def search_relaxed(client: CommerceClient, query: SearchQuery
                         ) -> tuple[list[SearchHit], list[str], SearchQuery]:
    """Search; when nothing matches, drop filters one by one.

    Returns (hits, dropped values, the query that found them).
    """
    hits = await client.search(query)
    dropped: list[str] = []
    for name in RELAX_ORDER:
        if hits or name not in query.attributes:
            continue
        dropped.append(f"{query.attributes[name]}")
        query = query.model_copy(update={
            "attributes": {k: v for k, v in query.attributes.items() if k != name}})
        hits = await client.search(query)
    return hits, dropped, query


def show_results(dispatcher: CollectingDispatcher, hits: list[SearchHit], dropped: list[str],
                 query: SearchQuery, intro: str) -> list[EventType]:
    if not hits:
        dispatcher.utter_message(response="utter_no_results")
        return [SlotSet("shown_products", [])]
    if dropped:
        intro = (f"I found nothing that is also {' or '.join(dropped)}, so here are the "
                 "closest matches:")
    dispatcher.utter_message(text=intro, json_message={"cards": [product_card(h)
                                                                  for h in hits]})
    remembered = {**query.model_dump(mode="json"), "shown": [str(h.id) for h in hits],
                  "prices": [str(h.price) for h in hits], "currency": hits[0].currency}
    return [SlotSet("shown_products", [str(h.id) for h in hits]),
            SlotSet("last_search", remembered)]


class ActionSearchProducts(CommerceAction):
    def name(self) -> str:
        return "action_search_products"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        query = query_from_slots(tracker)
        if not query.text and not query.attributes and not query.category:
            query = query.model_copy(update={"text": tracker.latest_message.get("text") or ""})
        hits, dropped, used = await search_relaxed(self.client, query)
        intro = "Here is what I found:" if len(hits) > 1 else "I found this one:"
        return show_results(dispatcher, hits, dropped, used, intro)


def _refined(tracker: Tracker, last: dict[str, Any]
             ) -> tuple[SearchQuery, str, list[EventType], list[str]]:
    """The last search changed as the latest message asks: (query, intro, slot events)."""
    entities = latest_entities(tracker)
    text = tracker.latest_message.get("text") or ""
    query = SearchQuery.model_validate({k: v for k, v in last.items()
                                        if k in SearchQuery.model_fields})
    attributes = dict(query.attributes)
    changes: list[str] = []
    events: list[EventType] = []
    for slot, attr in ATTRIBUTE_SLOTS.items():
        if entities.get(slot):
            attributes[attr] = entities[slot]
            changes.append(entities[slot])
            events.append(SlotSet(slot, entities[slot]))
    update: dict[str, Any] = {"attributes": attributes, "like": None}
    if entities.get("style"):
        update["boosts"] = {**query.boosts, "style": entities["style"]}
        changes.append(entities["style"])
        events.append(SlotSet("style", entities["style"]))
    budget = parse_budget(entities.get("budget") or text)
    prices = sorted(Decimal(p) for p in last.get("prices", []))
    currency = last.get("currency", "EUR")
    intro = ""
    if budget != Budget():
        update.update(min_price=budget.min_price, max_price=budget.max_price)
        intro = f"Here are pieces {budget.describe(currency)}:"
        events.append(SlotSet("budget", budget.describe()))
    elif _PRICIER.search(text) and prices:
        update.update(min_price=median_low(prices) + Decimal("0.01"), max_price=None)
        intro = f"Here are pieces above {money(update['min_price'], currency)}:"
    elif _CHEAPER.search(text) and prices:
        ceiling = median_low(prices) - Decimal("0.01")
        if query.max_price is not None:
            ceiling = min(ceiling, query.max_price)
        update.update(max_price=max(ceiling, Decimal("0")), min_price=None)
        intro = f"Here are cheaper pieces, up to {money(update['max_price'], currency)}:"
        events.append(SlotSet("budget", f"up to {update['max_price']} {currency}"))
    elif changes:
        intro = f"Here they are in {' and '.join(changes)}:"
    elif _MORE.search(text) and not _SIMILAR.search(text):
        shown = last.get("shown", [])
        update["limit"] = min(len(shown) + get_settings().search_page_size, 100)
        update["exclude"] = shown
        intro = "Here are some more:"
    if not changes and (_SIMILAR.search(text) or entities.get("ordinal")):
        liked = mentioned_product(tracker)
        if liked is not None:
            update["like"] = int(liked)
            update["attributes"] = {k: v for k, v in attributes.items() if k == "type"}
            intro = "Here are more like that one:"
    exclude = update.pop("exclude", [])
    return query.model_copy(update=update), intro, events, exclude


class ActionRefineSearch(CommerceAction):
    """"cheaper", "more like the second one", "in green": change the last search."""

    def name(self) -> str:
        return "action_refine_search"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        last = tracker.get_slot("last_search")
        if not isinstance(last, dict):
            dispatcher.utter_message(response="utter_nothing_to_refine")
            return []
        query, intro, events, exclude = _refined(tracker, last)
        if not intro:
            dispatcher.utter_message(response="utter_how_to_refine")
            return []
        if query.min_price is not None and query.max_price is not None \
                and query.min_price > query.max_price:
            query = query.model_copy(update={"min_price": None})
        hits, dropped, used = await search_relaxed(self.client, query)
        if exclude:
            hits = [h for h in hits if str(h.id) not in exclude][:get_settings().search_page_size]
            used = used.model_copy(update={"limit": get_settings().search_page_size})
        return events + show_results(dispatcher, hits, dropped, used, intro)


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

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        product_id = mentioned_product(tracker)
        if product_id is None:
            shown = tracker.get_slot("shown_products") or []
            product_id = str(shown[0]) if shown else None
        if product_id is None or not product_id.isdigit():
            dispatcher.utter_message(text="Which product would you like to know more about? "
                                          "Tell me what you are looking for and I'll show you.")
            return []
        product = await self.client.product(int(product_id))
        stock = "In stock." if product.in_stock else "Sold out at the moment."
        lines = [f"{product.name} — {product.price} {product.currency}. {stock}",
                 product.description]
        sizes = sorted({v.attributes["size"] for v in product.variants
                        if "size" in v.attributes})
        if sizes:
            lines.append(f"Sizes: {', '.join(sizes)}.")
        buttons = [{"title": "Add to cart",
                    "payload": f'/add_to_cart{{"product_id": "{product.id}"}}'}]
        if product.customization:
            lines.append(f"It can be personalised: {_format_options(product.customization)}.")
            buttons.insert(0, {"title": "Personalise", "payload":
                               f'/customize_product{{"product_id": "{product.id}"}}'})
        dispatcher.utter_message(text="\n".join(lines), buttons=buttons)
        return [SlotSet("product_id", str(product.id))]
