""""Skip" during a form skips the question asked, not the whole form; "just show me" or
"skip the questions" skips every question left of the preferences form.

The NLU reads "skip" as ``stop`` (out of a form it means "leave it"), so the stop rules
of the preferences and customisation forms run ``action_skip_question`` first: when the
message only asks to skip, the asked preference is answered "any" (an optional
personalisation is left unchosen) and ``question_skipped`` tells the rules to go on with
the form; otherwise, or when the question must be answered, the form is left as before.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import CommerceClient
from actions.common import SKIP, in_turn
from actions.customization import skip_option
from actions.preferences import QUESTIONS, shows_now

_SKIP_ONLY = re.compile(
    r"^\s*(?:skip|pass|next)(?:\s+(?:it|this|that|this one|that one|(?:this |that |the )?"
    r"question))?(?:\s*,?\s*please)?\s*[.!]*\s*$", re.I)


def asks_to_skip(text: str) -> bool:
    """Whether a message only asks to skip the question ("skip", "skip this one", "pass")."""
    return bool(_SKIP_ONLY.match(text or ""))


async def skipped(client: CommerceClient, dispatcher: CollectingDispatcher,
                  tracker: Tracker) -> list[EventType]:
    """The slots that skip the question the active form asked (every question left, for
    "just show me" or "skip the questions"), or [] when none can be."""
    loop = (tracker.active_loop or {}).get("name")
    if loop == "preferences_form":
        asked = tracker.get_slot("requested_slot")
        if shows_now(tracker):
            left = tracker.get_slot("preference_questions") or []
            return [SlotSet(q, SKIP) for q in QUESTIONS if q in left and not tracker.get_slot(q)]
        return [SlotSet(asked, SKIP)] if asked in QUESTIONS else []
    if loop == "customization_form":
        state = await skip_option(client, dispatcher,
                                  dict(tracker.get_slot("customization") or {}))
        return [] if state is None else [SlotSet("customization", state)]
    return []


class ActionSkipQuestion(Action):
    def __init__(self, client: CommerceClient | None = None) -> None:
        self.client = client or CommerceClient()

    def name(self) -> str:
        return "action_skip_question"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        preferences = (tracker.active_loop or {}).get("name") == "preferences_form"
        events = (await skipped(self.client, dispatcher, tracker)
                  if asks_to_skip(text) or (preferences and shows_now(tracker)) else [])
        return [*events, SlotSet("question_skipped", bool(events))]
