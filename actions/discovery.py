"""Discovery: search the catalog, refine the last search, show products as cards."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from decimal import Decimal
from statistics import median_low
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import read_ahead
from actions.budget import Budget, parse_budget
from actions.clients import (
    CommerceClient,
    CommerceError,
    Interpretation,
    Product,
    SearchHit,
    SearchPage,
    SearchQuery,
)
from actions.clients.knowledge import KnowledgeClient
from actions.clients.models import Recommended
from actions.common import (
    SKIP,
    CommerceAction,
    chosen_card,
    latest_entities,
    mentioned_product,
    money,
    named_product,
)
from actions.config import get_settings
from actions.faq_routing import PERSON_BUTTON, FaqCheckingAction, looks_like_question
from actions.orders import email_given, mentioned_email
from actions.out_of_scope import outside_the_shop
from actions.product_questions import asked_words, from_listing
from actions.search_replies import Said, closest, described, intro, price_words
from actions.sizes import has_sizes, label, say_sizes, sizes_of, wanted_size

__all__ = ["ActionRefineSearch", "ActionSearchProducts", "ActionShowProduct",
           "CommerceAction", "product_card"]
log = logging.getLogger(__name__)

SLOT_OF = {"type": "product_type", "colour": "colour", "material": "material",
           "style": "style", "occasion": "occasion", "category": "category"}
"""Slot kept for what the shop read, by attribute name."""
PREFERENCE_WORDS = ("product_type", "colour", "material", "style", "occasion", "category")
# When nothing matches the filters given, drop the most specific ones first.
RELAX_ORDER = ("material", "style", "occasion", "colour", "type")
_CHEAPER = re.compile(r"\b(?:cheaper|less expensive|lower price|more affordable|cheap|"
                      r"too (?:expensive|pricey|dear)|pricey)\b", re.I)
_PRICIER = re.compile(r"\b(?:more expensive|pricier|fancier|higher end|posher)\b", re.I)
_SIMILAR = re.compile(r"\b(?:like|similar|alike)\b", re.I)
_MORE = re.compile(r"\b(?:more|others?|next|else)\b", re.I)


def product_card(hit: SearchHit | Recommended) -> dict[str, Any]:
    """A product as a card; a recommended one also says why (``reason``)."""
    pid = hit.id
    card = {
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
    if isinstance(hit, Recommended):
        card["reason"] = hit.reason
    return card


def _given(slot: Callable[[str], Any], name: str) -> str | None:
    value = slot(name)
    return str(value) if value and value != SKIP else None


def query_from_slots(tracker: Tracker) -> SearchQuery:
    """The search the shopper's words and preferences describe (after the preferences
    form): the shop reads them against its live catalog (``interpret``); only the budget
    the form settled is sent as a filter."""
    return query_of(tracker.get_slot)


def query_of(slot: Callable[[str], Any]) -> SearchQuery:
    """:func:`query_from_slots` of the slot values ``slot`` gives by name."""
    budget = parse_budget(_given(slot, "budget") or "")
    text = slot("search_text") or ""
    words = [w for w in (*(_given(slot, s) for s in PREFERENCE_WORDS),)
             if w and w.lower() not in text.lower()]
    recipient = _given(slot, "recipient")
    if recipient and recipient.lower() not in text.lower():
        words.append(f"gift for {recipient}")
    return SearchQuery(
        text=" ".join([text, *words]).strip()[:500], limit=get_settings().search_page_size,
        min_price=budget.min_price, max_price=budget.max_price, interpret=True)


async def search_relaxed(client: CommerceClient, query: SearchQuery
                         ) -> tuple[SearchPage, list[str], SearchQuery]:
    """Search; when nothing matches, drop the attribute filters given explicitly one by
    one (those the shop read from the words it relaxes itself, and says so per result).

    Returns (page, dropped values, the query that found them).
    """
    page = await client.search_page(query)
    dropped: list[str] = []
    for name in (*(n for n in query.attributes if n not in RELAX_ORDER), *RELAX_ORDER):
        if page.results or name not in query.attributes:
            continue
        dropped.append(f"{query.attributes[name]}")
        query = query.model_copy(update={
            "attributes": {k: v for k, v in query.attributes.items() if k != name}})
        page = await client.search_page(query)
    return page, dropped, query


def applied(query: SearchQuery, page: SearchPage) -> dict[str, Any]:
    """The filters a page was searched with: given, and read from the words."""
    reading = page.interpretation or Interpretation(text=query.text)
    return {"category": query.category or reading.category,
            "attributes": {**{k: ",".join(v) for k, v in reading.attributes.items()},
                           **query.attributes},
            "preferences": {**{k: ",".join(v) for k, v in reading.preferences.items()},
                            **query.boosts},
            "min_price": _bound(query.min_price, reading.min_price),
            "max_price": _bound(query.max_price, reading.max_price),
            "text": reading.text}


def settled(last: dict[str, Any]) -> SearchQuery:
    """The last search with what the shop read made explicit: a refinement changes those
    filters ("in green" replaces the colour) and shows exactly what matches."""
    fields = {k: v for k, v in last.items() if k in SearchQuery.model_fields}
    filters = last.get("applied")
    if isinstance(filters, dict):
        fields.update(
            interpret=False, text=filters.get("text") or fields.get("text", ""),
            category=filters.get("category"), attributes=filters.get("attributes") or {},
            boosts=filters.get("preferences") or {}, min_price=filters.get("min_price"),
            max_price=filters.get("max_price"))
    return SearchQuery.model_validate(fields)  # the slot holds JSON: prices as strings


def _bound(given: Decimal | None, read: Decimal | None) -> str | None:
    value = given if given is not None else read
    return None if value is None else str(value)


def _price_range(filters: dict[str, Any]) -> tuple[Decimal | None, Decimal | None]:
    low, high = filters["min_price"], filters["max_price"]
    return (None if low is None else Decimal(low)), (None if high is None else Decimal(high))


def show_results(dispatcher: CollectingDispatcher, page: SearchPage, query: SearchQuery,
                 said: Said, *, shown_before: list[str] | None = None) -> list[EventType]:
    """The cards of ``page``, introduced by ``said``; or that nothing was found."""
    hits = page.results
    if not hits:
        dispatcher.utter_message(response="utter_no_results")
        return [SlotSet("shown_products", [])]
    response, values = said
    dispatcher.utter_message(response=response, **values,
                             json_message={"cards": [product_card(h) for h in hits]})
    filters = applied(query, page)
    low, high = _price_range(filters)
    remembered = {**query.model_dump(mode="json"), "applied": filters,
                  "described": described(page.interpretation, many=True, low=low, high=high,
                                         given=query.attributes),
                  "shown": [*(shown_before or []), *(str(h.id) for h in hits)],
                  "prices": [str(h.price) for h in hits], "currency": hits[0].currency,
                  "close": [str(h.id) for h in hits if h.matched.unmet]}
    # new cards: "it" is the piece asked for by name, else one of them, not a piece
    # looked at before ("add it to my cart" after a search for vases is not the ring)
    named = str(hits[0].id) if hits[0].matched.named else None
    return [SlotSet("shown_products", [str(h.id) for h in hits]),
            SlotSet("last_search", remembered), SlotSet("product_id", named)]


class ActionSearchProducts(CommerceAction):
    def name(self) -> str:
        return "action_search_products"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        query = query_from_slots(tracker)
        if not query.text:
            query = query.model_copy(update={"text": tracker.latest_message.get("text") or ""})
        return await show_search(self.client, dispatcher, query,
                                 page=read_ahead.PAGES.take(tracker.sender_id, query))


async def show_search(client: CommerceClient, dispatcher: CollectingDispatcher,
                      query: SearchQuery, *, page: SearchPage | None = None
                      ) -> list[EventType]:
    """Search and show the cards, introduced with what the shop read from the words;
    ``page``: the page of ``query`` already searched in this turn."""
    if page is None:
        page = await client.search_page(query)
    if not page.results:
        return show_results(dispatcher, page, query, ("utter_no_results", {}))
    low, high = _price_range(applied(query, page))
    return show_results(dispatcher, page, query,
                        intro(page.results, page.interpretation, low=low, high=high))


async def search_words(client: CommerceClient, dispatcher: CollectingDispatcher,
                       text: str) -> list[EventType] | None:
    """Show the search of the shopper's words, read against the live catalog; None
    (nothing said) when it could not be made."""
    query = SearchQuery(text=text[:300], limit=get_settings().search_page_size,
                        interpret=True)
    try:
        return await show_search(client, dispatcher, query)
    except CommerceError:
        return None


async def _refined(client: CommerceClient, tracker: Tracker, last: dict[str, Any]
                   ) -> tuple[SearchQuery, Said | None, list[EventType]]:
    """The last search changed as the latest message asks: (query, intro, slot events).

    The message is read against the live catalog: "in green", "in walnut", "under 30"
    change the filters of the last search whatever words the NLU model knows; words only
    product names carry ("hoops") are put first in what the search ranks by.
    """
    text = tracker.latest_message.get("text") or ""
    entities = latest_entities(tracker)
    query = settled(last)
    reading = await client.interpret(text) if text and not text.startswith("/") else None
    attributes, boosts = dict(query.attributes), dict(query.boosts)
    changes: list[str] = []
    events: list[EventType] = []
    update: dict[str, Any] = {"like": None, "offset": 0}
    for said in reading.understood if reading else []:
        if said.name == "price":
            continue
        if said.name == "category":
            update["category"] = said.value
        else:
            (boosts if said.soft else attributes)[said.name] = ",".join(said.values)
        changes.append(said.value)
        slot = SLOT_OF.get(said.name)
        if slot:
            events.append(SlotSet(slot, said.value))
    update.update(attributes=attributes, boosts=boosts)
    likes = bool(_SIMILAR.search(text))  # "more like the 2nd one"; "the 2nd one" picks it
    subject = " ".join(reading.subject) if reading and not likes else ""
    if subject:  # "silver hoops": hoops are no value to filter on, the ranking puts them first
        update["text"] = f"{subject} {query.text}".strip()
    prices = sorted(Decimal(p) for p in last.get("prices", []))
    currency = last.get("currency", "EUR")
    said: Said | None = None
    budget = Budget(reading.min_price, reading.max_price) if reading else Budget()
    if budget != Budget() and any(c.isdigit() for c in text):
        update.update(min_price=budget.min_price, max_price=budget.max_price)
        said = "utter_found_in_price_range", {
            "price": price_words(budget.min_price, budget.max_price, currency)}
        events.append(SlotSet("budget", budget.describe(currency)))
    elif _PRICIER.search(text) and prices:
        update.update(min_price=median_low(prices) + Decimal("0.01"), max_price=None)
        said = "utter_found_pricier", {"price": money(update["min_price"], currency)}
    elif _CHEAPER.search(text) and prices:
        ceiling = median_low(prices) - Decimal("0.01")
        if query.max_price is not None:
            ceiling = min(ceiling, query.max_price)
        update.update(max_price=max(ceiling, Decimal("0")), min_price=None)
        said = "utter_found_cheaper", {"price": money(update["max_price"], currency)}
        events.append(SlotSet("budget", f"up to {update['max_price']} {currency}"))
    elif changes and subject:
        said = "utter_found_in_closest_to", {"changes": " and ".join(changes),
                                             "subject": subject}
    elif changes:
        said = "utter_found_in", {"changes": " and ".join(changes)}
    elif subject:
        said = "utter_found_closest_to", {"subject": subject}
    named = reading.product if reading and not entities.get("ordinal") else None
    if not changes and likes:
        liked = str(named.id) if named else mentioned_product(tracker)
        if liked is not None:  # like a product named here: of its kind, not the last one's
            kind = None if named else attributes.get("type")
            update.update(like=int(liked), attributes={"type": kind} if kind else {})
            if named:
                update.update(text="", category=None)
            said = "utter_found_similar", {}
    return query.model_copy(update=update), said, events


_SIZES = re.compile(r"\bsizes?\b", re.I)


def _wants_more(text: str) -> bool:
    return bool(_MORE.search(text)) and not _SIMILAR.search(text)


class ActionRefineSearch(CommerceAction):
    """"cheaper", "more like the second one", "in green", "show me more": change the last
    search, or show its next page; "the second one" or "the cheapest one" shows that
    card's product. With no search to change, a question that names nothing of the
    catalog ("whats your instagram") is answered as one outside the shop's scope, and a
    message that says whom a piece is for or the occasion starts a search. An email
    address is not a preference: it is kept for an order lookup (``orders.email_given``)."""

    def __init__(self, client: CommerceClient | None = None,
                 knowledge: KnowledgeClient | None = None) -> None:
        super().__init__(client)
        self.knowledge = knowledge or KnowledgeClient()

    def name(self) -> str:
        return "action_refine_search"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if (email := mentioned_email(tracker)) is not None:
            return email_given(dispatcher, tracker, email)
        last = tracker.get_slot("last_search")
        if not isinstance(last, dict):
            text = str(tracker.latest_message.get("text") or "").strip()
            if await self._names_nothing(tracker, text):
                return await outside_the_shop(self.knowledge, dispatcher, text)
            # "my best friend just had a baby girl": whom it is for starts the search
            says_whom = {"recipient", "occasion"} & latest_entities(tracker).keys()
            if says_whom and not text.startswith("/"):
                shown = await search_words(self.client, dispatcher, text)
                if shown is not None:
                    return shown
            dispatcher.utter_message(response="utter_nothing_to_refine")
            return []
        query, said, events = await _refined(self.client, tracker, last)
        if said is None and _wants_more(tracker.latest_message.get("text") or ""):
            return await self._next_page(dispatcher, last)
        picked = chosen_card(tracker) if said is None else None
        if picked is not None:  # "the second one", "the cheapest one": that card
            return await show_product(self.client, dispatcher, int(picked))
        if said is None and (sized := await self._sizes(dispatcher, tracker, last)) is not None:
            return sized
        if said is None:
            dispatcher.utter_message(response="utter_how_to_refine")
            return []
        if query.min_price is not None and query.max_price is not None \
                and query.min_price > query.max_price:
            query = query.model_copy(update={"min_price": None})
        page, dropped, used = await search_relaxed(self.client, query)
        if dropped and page.results:
            said = closest(dropped)
        return events + show_results(dispatcher, page, used, said)

    async def _sizes(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     last: dict[str, Any]) -> list[EventType] | None:
        """"size N" or "what sizes do they come in?": the sizes in stock of the piece
        being looked at (one of the search's cards), else of the cards on screen; None
        when the message asks no size or none of them comes in sizes."""
        named = wanted_size(tracker)
        if named is None and not _SIZES.search(tracker.latest_message.get("text") or ""):
            return None
        focus = str(tracker.get_slot("product_id") or "")
        if focus.isdigit() and focus in {str(p) for p in last.get("shown") or []}:
            product = await self.client.product(int(focus))
            if has_sizes(product):
                say_sizes(dispatcher, product, named)
                return []
        if named is not None:
            return None
        on_screen = [await self.client.product(int(p))
                     for p in tracker.get_slot("shown_products") or [] if str(p).isdigit()]
        sized = [p for p in on_screen if has_sizes(p)]
        if not sized:
            return None
        dispatcher.utter_message(response="utter_sizes_on_screen", sizes="\n".join(
            f"{p.name}: {', '.join(label(s) for s in sizes_of(p, in_stock=True)) or 'none'}"
            for p in sized))
        return []

    async def _names_nothing(self, tracker: Tracker, text: str) -> bool:
        """Whether ``text`` is a question in which neither the NLU nor the live catalog
        finds a product, a kind of piece, an attribute or a price."""
        if text.startswith("/") or not looks_like_question(text) or latest_entities(tracker):
            return False
        reading = await self.client.interpret(text)
        return not (reading.understood or reading.subject or reading.product
                    or reading.min_price is not None or reading.max_price is not None)

    async def _next_page(self, dispatcher: CollectingDispatcher,
                         last: dict[str, Any]) -> list[EventType]:
        """The next page of the same search: never a product already shown; say so when
        there is nothing more."""
        query = SearchQuery.model_validate({k: v for k, v in last.items()
                                            if k in SearchQuery.model_fields})
        shown = [str(p) for p in last.get("shown", [])]
        query = query.model_copy(update={"offset": query.offset + query.limit})
        page = await self.client.search_page(query)
        fresh = [h for h in page.results if str(h.id) not in shown]
        if not fresh:
            what = last.get("described")
            if what:
                dispatcher.utter_message(response="utter_nothing_more", what=what)
            else:
                dispatcher.utter_message(response="utter_nothing_more_for_search")
            return []
        page = page.model_copy(update={"results": fresh})
        events = show_results(dispatcher, page, query, ("utter_found_more", {}),
                              shown_before=shown)
        for event in events:  # the next page keeps what the search was about
            if event.get("name") == "last_search":
                event["value"]["described"] = last.get("described", "")
                event["value"]["applied"] = last.get("applied", {})
        return events


def _format_options(options: list[dict[str, Any]]) -> str:
    parts = []
    for option in options:
        label = option.get("label") or option["name"].replace("_", " ")
        if option.get("kind") == "choice":
            parts.append(f"{label} ({', '.join(map(str, option.get('values', [])))})")
        else:
            parts.append(str(label))
    return "; ".join(parts)


class ActionShowProduct(FaqCheckingAction):
    """A product's details: the one named, meant or shown. A question about it is answered
    from its listing (``actions.product_questions``); one about the cards on screen, none
    of them meant, from their listings side by side; one about no product in particular
    ("is it all made by hand?") from the FAQ when it covers it."""

    def name(self) -> str:
        return "action_show_product"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        product_id = await named_product(self.client, tracker) or mentioned_product(tracker)
        text = str(tracker.latest_message.get("text") or "")
        shown = [str(p) for p in tracker.get_slot("shown_products") or [] if str(p).isdigit()]
        if product_id is None and len(shown) > 1 and looks_like_question(text):
            compared = await self._compare(dispatcher, tracker, shown, text)
            if compared is not None:  # "which is the tallest?": each card's listing
                return compared
        if product_id is None:
            product_id = shown[0] if shown else None
        if product_id is None or not product_id.isdigit():
            answered = await self.answered_by_faq(dispatcher, tracker)
            if answered is None:
                dispatcher.utter_message(response="utter_which_product_to_show")
            return answered or []
        product = await self.client.product(int(product_id))
        words = [] if text.startswith("/") or not looks_like_question(text) else \
            asked_words(text, product)
        if words:  # "is it dishwasher safe?": what its listing says
            return await self._answer(dispatcher, tracker, product, words)
        return describe_product(dispatcher, product)

    async def _compare(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                       shown: list[str], text: str) -> list[EventType] | None:
        """A question about the cards on screen with none of them meant ("which one is
        the tallest?"): what each card's listing says about it, side by side; None when
        the question asks nothing in particular."""
        products = [await self.client.product(int(p)) for p in shown]
        said = [(p, from_listing(p, words)[0]) for p in products
                if (words := asked_words(text, p))]
        if not said:
            return None
        lines = [f"{p.name}: {' '.join(found)}" for p, found in said if found]
        if lines:
            dispatcher.utter_message(response="utter_listings_say", said="\n".join(lines))
            return []
        answered = await self.answered_by_faq(dispatcher, tracker)
        if answered is None:
            dispatcher.utter_message(response="utter_listings_silent", buttons=[PERSON_BUTTON])
        return answered or []

    async def _answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                      product: Product, words: list[str]) -> list[EventType]:
        """A question about the product: what its listing says; what it does not say is
        answered from the FAQ when it covers it ("is it all made by hand?"), else a person
        is offered."""
        events: list[EventType] = [SlotSet("product_id", str(product.id))]
        found, unsaid = from_listing(product, words)
        if unsaid or not found:
            answered = await self.answered_by_faq(dispatcher, tracker)
            if answered is not None:
                return [*answered, *events]
        if found:
            dispatcher.utter_message(response="utter_product_listing_says", name=product.name,
                                     said="\n".join(found), buttons=product_buttons(product))
        else:
            dispatcher.utter_message(response="utter_product_listing_silent",
                                     name=product.name,
                                     buttons=[PERSON_BUTTON, *product_buttons(product)])
        return events


async def show_product(client: CommerceClient, dispatcher: CollectingDispatcher,
                       product_id: int) -> list[EventType]:
    """A product's price, stock, description, rating, sizes and options, with its
    buttons; it becomes the product the conversation is about."""
    return describe_product(dispatcher, await client.product(product_id))


def product_buttons(product: Product) -> list[dict[str, str]]:
    """"Personalise" (when it can be) and "Add to cart"."""
    buttons = [{"title": "Add to cart",
                "payload": f'/add_to_cart{{"product_id": "{product.id}"}}'}]
    if product.customization:
        buttons.insert(0, {"title": "Personalise", "payload":
                           f'/customize_product{{"product_id": "{product.id}"}}'})
    return buttons


def describe_product(dispatcher: CollectingDispatcher, product: Product) -> list[EventType]:
    """``show_product`` for a product already fetched."""
    lines = [product.description]
    if product.rating is not None:
        reviews = "review" if product.rating.count == 1 else "reviews"
        lines.append(f"Rated {product.rating.average} out of 5 "
                     f"({product.rating.count} {reviews}).")
    sizes, in_stock = sizes_of(product), sizes_of(product, in_stock=True)
    if sizes:
        sold_out = [label(s) for s in sizes if s not in in_stock]
        lines.append(f"Sizes: {', '.join(label(s) for s in sizes)}"
                     + (f" ({', '.join(sold_out)} sold out)." if sold_out else "."))
    if product.customization:
        lines.append(f"It can be personalised: {_format_options(product.customization)}.")
    dispatcher.utter_message(
        response="utter_product_in_stock" if product.in_stock else "utter_product_sold_out",
        name=product.name, price=str(product.price), currency=product.currency,
        details="\n".join(lines), buttons=product_buttons(product))
    return [SlotSet("product_id", str(product.id))]
