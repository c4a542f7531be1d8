"""Reviews in the conversation: a shopper rates what they received, then may add words.

The gateway asks after a delivery (a message per product with star buttons, whose payload
names the order, the product and the stars); a shopper may also say "I want to review my
mug". ``action_start_review`` finds which product of which delivered order is meant and
starts ``review_form``, which asks for the stars (unless the button gave them) and then for
a comment. The rating is stored as soon as it is given, so a shopper who stops before the
comment keeps it; the comment changes the same review.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients.aftersale import AfterSaleClient, ReviewableLine
from actions.clients.commerce import CommerceError
from actions.common import explain, in_turn, latest_entities
from actions.shopper import shopper_of

log = logging.getLogger(__name__)
MAX_CHOICES = 5
_WORD_RATINGS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_DIGIT_RATING = re.compile(r"(?<![\d.,])([1-5])(?:\s*(?:/|out of)\s*5|\s*stars?)?(?![\d.,])")
_WORD_RATING = re.compile(r"\b(one|two|three|four|five)\b(?:\s*stars?)?", re.IGNORECASE)
_NO_COMMENT = re.compile(r"^\s*(no+|nope|nah|skip|none|nothing( else)?|no comments?|"
                         r"no,? thanks?( you)?|that'?s (all|it)|all good|n/?a)\W*$",
                         re.IGNORECASE)
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!?][^>]*>|&#?\w+;|javascript:", re.IGNORECASE)
_STOP_WORDS = {"the", "my", "a", "an", "i", "want", "to", "review", "rate", "of", "for",
               "leave", "write", "give", "it", "stars", "star", "please", "would", "like",
               "order", "and", "on", "about", "some", "feedback", "can"}


def star_line(rating: int) -> str:
    return "★" * rating + "☆" * (5 - rating)


def parse_rating(text: str, entity: str | None = None) -> int | None:
    """The stars in a message: "4", "4/5", "four stars", "★★★★"; None when unclear."""
    for candidate in (entity, text):
        if not candidate:
            continue
        stars = candidate.count("★")
        if 1 <= stars <= 5:
            return stars
        found = {int(m.group(1)) for m in _DIGIT_RATING.finditer(candidate)}
        found |= {_WORD_RATINGS[m.group(1).lower()] for m in _WORD_RATING.finditer(candidate)}
        if len(found) == 1:
            return found.pop()
    return None


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-zà-ÿ]+", text.lower())} - _STOP_WORDS


def choose_line(lines: list[ReviewableLine], *, number: str | None, sku: str | None,
                text: str) -> ReviewableLine | None:
    """The line the shopper means: named by a button, or by words of its product's name;
    the only product when there is one."""
    if sku:
        named = [x for x in lines if x.sku.lower() == sku.lower()
                 and (number is None or x.order_number.lower() == number.lower())]
        if named:
            return named[0]
    said = _words(text)
    scored = sorted(((len(said & _words(x.name)), i) for i, x in enumerate(lines)),
                    reverse=True)
    if scored and scored[0][0] > 0 and (len(scored) == 1 or scored[1][0] < scored[0][0]):
        return lines[scored[0][1]]
    if len({x.sku for x in lines}) == 1:
        return lines[0]
    return None


def target_of(tracker: Tracker) -> dict[str, str] | None:
    target = tracker.get_slot("review_target")
    return target if isinstance(target, dict) and {"order_number", "sku"} <= set(target) \
        else None


class ActionStartReview(Action):
    """Which product the shopper wants to review; starts the form when it is known."""

    def __init__(self, client: AfterSaleClient | None = None) -> None:
        self.client = client or AfterSaleClient()

    def name(self) -> str:
        return "action_start_review"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        entities = latest_entities(tracker)
        text = str(tracker.latest_message.get("text") or "")
        try:
            lines = await self.client.reviewable(shopper_of(tracker))
        except CommerceError as exc:
            explain(dispatcher, exc)
            return [SlotSet("can_review", False)]
        if not lines:
            dispatcher.utter_message(response="utter_nothing_to_review")
            return [SlotSet("can_review", False)]
        line = choose_line(lines, number=entities.get("order_number"), sku=entities.get("sku"),
                           text="" if text.startswith("/") else text)
        if line is None:
            pending = sorted(lines, key=lambda x: x.review is not None)[:MAX_CHOICES]
            dispatcher.utter_message(response="utter_which_product_to_review", buttons=[
                {"title": f"{x.name} ({x.order_number})",
                 "payload": f'/rate_product{{"order_number": "{x.order_number}", '
                            f'"sku": "{x.sku}"}}'} for x in pending])
            return [SlotSet("can_review", False)]
        rating = parse_rating("" if text.startswith("/") else text, entities.get("rating"))
        comment = line.review.comment if line.review else ""
        return [SlotSet("review_target", {"order_number": line.order_number, "sku": line.sku,
                                          "name": line.name, "comment": comment}),
                SlotSet("review_rating", rating), SlotSet("review_comment", None),
                SlotSet("can_review", True)]


class ValidateReviewForm(FormValidationAction):
    """Stores the stars as soon as they are given; then the comment, if any."""

    run = in_turn(FormValidationAction.run)

    def __init__(self, client: AfterSaleClient | None = None) -> None:
        self.client = client or AfterSaleClient()

    def name(self) -> str:
        return "validate_review_form"

    async def _save(self, dispatcher: CollectingDispatcher, tracker: Tracker, *,
                    rating: int, comment: str) -> bool:
        target = target_of(tracker)
        if target is None:
            dispatcher.utter_message(response="utter_nothing_to_review")
            return False
        try:
            await self.client.write_review(shopper_of(tracker), target["order_number"],
                                           sku=target["sku"], rating=rating, comment=comment)
        except CommerceError as exc:
            log.info("review refused: %s %s", exc.code, exc.message,
                     extra={"conversation_id": tracker.sender_id})
            explain(dispatcher, exc)
            return False
        return True

    async def validate_review_rating(self, value: Any, dispatcher: CollectingDispatcher,
                                     tracker: Tracker, domain: dict[str, Any]
                                     ) -> dict[str, Any]:
        rating = value if isinstance(value, int) and 1 <= value <= 5 else parse_rating(
            str(value or ""), latest_entities(tracker).get("rating"))
        if rating is None:
            dispatcher.utter_message(response="utter_rating_not_understood")
            return {"review_rating": None}
        target = target_of(tracker) or {}
        if not await self._save(dispatcher, tracker, rating=rating,
                                comment=str(target.get("comment") or "")):
            return {"review_rating": None}  # said why; asked again, or "stop" keeps nothing
        return {"review_rating": rating}

    async def validate_review_comment(self, value: Any, dispatcher: CollectingDispatcher,
                                      tracker: Tracker, domain: dict[str, Any]
                                      ) -> dict[str, Any]:
        text = " ".join(str(value or "").split())
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if not text or text.startswith("/") or _NO_COMMENT.match(text) or intent in {
                "deny", "stop"}:
            return {"review_comment": ""}
        if _MARKUP.search(text):
            dispatcher.utter_message(response="utter_review_plain_text")
            return {"review_comment": None}
        rating = tracker.get_slot("review_rating")
        if not isinstance(rating, int | float) or not await self._save(
                dispatcher, tracker, rating=int(rating), comment=text[:1000]):
            return {"review_comment": None}  # said why; the stars given stay stored
        return {"review_comment": text[:1000]}


class ActionAskReviewRating(Action):
    """The form's question for the stars, naming the product."""

    def name(self) -> str:
        return "action_ask_review_rating"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        target = target_of(tracker) or {}
        dispatcher.utter_message(response="utter_review_stars",
                                 product=str(target.get("name") or "piece"))
        return []


class ActionReviewThanks(Action):
    """The end of the form: thanks, with what was kept; the review slots are cleared."""

    def name(self) -> str:
        return "action_review_thanks"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        target, rating = target_of(tracker), tracker.get_slot("review_rating")
        if target is not None and isinstance(rating, int | float):
            dispatcher.utter_message(response="utter_review_thanks", name=target["name"],
                                     stars=star_line(int(rating)))
        return [SlotSet("review_target", None), SlotSet("review_rating", None),
                SlotSet("review_comment", None)]
