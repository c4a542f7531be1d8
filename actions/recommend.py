"""Recommendations in the conversation: on request ("what do you suggest", "what's
popular", "something to go with the mug for my sister"), after a piece is added to the
cart, and in a returning shopper's greeting.

The pieces and their one-line reasons come from the shop's recommender
(``GET /api/recommendations``); it never offers a piece in the cart or sold out. They are
shown as the search's product cards, each with its reason.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import Cart, CommerceClient, CommerceError, ProductNotFound, SearchQuery
from actions.clients.models import Recommended
from actions.common import CommerceAction, latest_entities, mentioned_product, pick
from actions.discovery import product_card
from actions.language import other_language, say_english_only
from actions.search_replies import plural
from actions.shopper import Shopper, shopper_of

log = logging.getLogger(__name__)

MAX_CARDS = 3
POPULAR_POOL = 50
"""The best sellers looked through for those of a kind ("what's popular in mugs")."""
MAX_LOOKED_AT = 6
"""Products of the conversation looked at for "the mug" (the one discussed, those shown)."""
_POPULAR = re.compile(
    r"\b(?:popular|best[\s-]?sell\w*|top[\s-]?sell\w*|trending|hot|favou?rites?|"
    r"most (?:bought|ordered|sold|loved)|(?:everyone|people)(?: is| are)? buying)\b", re.I)
_GOES_WITH = re.compile(
    r"\b(?:go(?:es)?|going|pairs?)\b(?:\s+\w+)?\s+with\b|\bmatch(?:es)?\b|"
    r"\b(?:buy|get)\s+with\b|\bcomplete the set\b", re.I)


@dataclass(frozen=True)
class Anchor:
    """The piece the recommendations should go with."""

    id: int
    name: str


def shopper_key(shopper: Shopper) -> str:
    """``<channel>:<id>``, as the recommender names a shopper."""
    return f"{shopper.channel}:{shopper.external_id}"


def cards(items: list[Recommended]) -> dict[str, Any]:
    """The custom payload of the cards: at most :data:`MAX_CARDS`."""
    return {"cards": [product_card(item) for item in items[:MAX_CARDS]]}


def shown(items: list[Recommended]) -> list[EventType]:
    """The cards become the products "the second one" speaks of."""
    return [SlotSet("shown_products", [str(item.id) for item in items[:MAX_CARDS]])]


async def suggest_with(client: CommerceClient, dispatcher: CollectingDispatcher, *,
                       shopper: Shopper, product: int, cart: Cart,
                       conversation_id: str) -> None:
    """After ``product`` went into the cart: "goes well with it", up to three cards.

    The piece is in the cart already, so a refusal or an outage of the recommender is only
    logged: the shopper hears that the piece was added, and no suggestion.
    """
    try:
        found = await client.recommendations(
            shopper=shopper_key(shopper), product=product,
            cart=[line.product_id for line in cart.lines], limit=MAX_CARDS)
    except CommerceError as exc:
        log.info("no recommendations after an add to cart: %s %s", exc.code, exc.message,
                 extra={"conversation_id": conversation_id})
        return
    if found.results:
        dispatcher.utter_message(response="utter_goes_well_with",
                                 json_message=cards(found.results))


class ActionRecommend(CommerceAction):
    """"What do you suggest", "what's popular", "something to go with the mug for my
    sister": pieces from the recommender, with the shopper's cart and past orders."""

    def name(self) -> str:
        return "action_recommend"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        shopper = shopper_of(tracker)
        cart = [line.product_id for line in (await self.client.cart(shopper.path)).lines]
        text = tracker.latest_message.get("text") or ""
        anchor = await self._anchor(tracker, text, cart)
        popular = anchor is None and bool(_POPULAR.search(text))
        if popular:
            items = await self._popular(latest_entities(tracker).get("product_type"), cart)
        else:
            viewed = anchor.id if anchor else _discussed(tracker)
            items = (await self.client.recommendations(
                shopper=shopper_key(shopper), cart=cart, product=viewed,
                limit=MAX_CARDS)).results
        if not items:
            dispatcher.utter_message(response="utter_no_recommendations")
            return []
        recipient = latest_entities(tracker).get("recipient")
        payload = cards(items)
        if anchor is not None and recipient:
            dispatcher.utter_message(response="utter_recommend_gift", recipient=recipient,
                                     name=anchor.name, json_message=payload)
        elif anchor is not None:
            dispatcher.utter_message(response="utter_recommend_with", name=anchor.name,
                                     json_message=payload)
        else:
            dispatcher.utter_message(response="utter_recommend_popular" if popular
                                     else "utter_recommend_for_you", json_message=payload)
        return shown(items)

    async def _popular(self, kind: str | None, cart: list[int]) -> list[Recommended]:
        """What the shop sells most, whoever asks (the cart left out); of ``kind`` when
        the shopper names one ("popular mugs") and the best sellers hold some."""
        found = await self.client.recommendations(
            exclude=cart, limit=POPULAR_POOL if kind else MAX_CARDS)
        words = {kind.lower(), plural(kind.lower())} if kind else set()
        of_kind = [r for r in found.results if any(w in r.name.lower() for w in words)]
        return (of_kind or found.results)[:MAX_CARDS]

    async def _anchor(self, tracker: Tracker, text: str, cart: list[int]) -> Anchor | None:
        """The piece to go with: a button's or "the second one", a product the message
        names, one of the kind it names ("the mug") among those of the conversation (else
        the shop's first of that kind), or — "what goes with it" — the one discussed."""
        entities = latest_entities(tracker)
        chosen = entities.get("product_id") or pick(
            [str(p) for p in tracker.get_slot("shown_products") or []], entities.get("ordinal"))
        if chosen and chosen.isdigit():
            return await self._named(int(chosen))
        if text.startswith("/"):
            return None
        reading = await self.client.interpret(text)
        if reading.product is not None:
            return Anchor(reading.product.id, reading.product.name)
        if not _GOES_WITH.search(text):  # "popular mugs" asks for no piece to go with
            return None
        kinds = reading.attributes.get("type") or (
            [entities["product_type"]] if entities.get("product_type") else [])
        if kinds:
            return await self._of_kind(tracker, kinds[0], cart)
        discussed = mentioned_product(tracker)
        return await self._named(int(discussed)) if discussed else None

    async def _named(self, product_id: int) -> Anchor:
        product = await self.client.product(product_id)
        return Anchor(product.id, product.name)

    async def _of_kind(self, tracker: Tracker, kind: str, cart: list[int]) -> Anchor | None:
        """The product of ``kind`` the conversation is about: the one discussed, then those
        shown, then those in the cart; else the shop's first of that kind in stock."""
        ids = list(dict.fromkeys([*filter(None, [_discussed(tracker)]),
                                  *(int(p) for p in tracker.get_slot("shown_products") or []
                                    if str(p).isdigit()), *cart]))[:MAX_LOOKED_AT]
        found = await asyncio.gather(*(self.client.product(i) for i in ids),
                                     return_exceptions=True)
        words = {kind.lower(), plural(kind.lower())}
        for product in found:
            if isinstance(product, ProductNotFound):  # taken out of the shop since
                continue
            if isinstance(product, BaseException):
                raise product
            if (product.attributes.get("type", "").lower() in words
                    or any(w in product.name.lower() for w in words)):
                return Anchor(product.id, product.name)
        hits = await self.client.search(SearchQuery(text=kind, limit=1, in_stock=True))
        return Anchor(hits[0].id, hits[0].name) if hits else None


def _discussed(tracker: Tracker) -> int | None:
    """The product the conversation is about (shown in detail, personalised or added)."""
    current = tracker.get_slot("product_id")
    return int(current) if current and str(current).isdigit() else None


class ActionGreet(CommerceAction):
    """Hello; a returning shopper (past orders under this identity) also gets "picked for
    you". The greeting never fails: without a known shopper or the recommender, it is the
    plain one."""

    def name(self) -> str:
        return "action_greet"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        language = other_language(str(tracker.latest_message.get("text") or ""))
        if language is not None:  # "bonjour, vous avez des bougies ?"
            return say_english_only(dispatcher, language)
        try:
            shopper = shopper_of(tracker)
            cart = await self.client.cart(shopper.path)
            found = await self.client.recommendations(
                shopper=shopper_key(shopper), cart=[line.product_id for line in cart.lines],
                limit=MAX_CARDS)
        except CommerceError as exc:
            log.info("greeting without recommendations: %s %s", exc.code, exc.message,
                     extra={"conversation_id": tracker.sender_id})
            found = None
        if found is None or not found.bought or not found.results:
            dispatcher.utter_message(response="utter_greet")
            return []
        dispatcher.utter_message(response="utter_greet_returning",
                                 json_message=cards(found.results))
        return shown(found.results)
