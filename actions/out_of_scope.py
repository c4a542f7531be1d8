"""The reply to a message outside the shop's scope (``action_out_of_scope``, and a question
the catalog finds nothing of, read as a preference with no search to narrow)."""

from __future__ import annotations

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.clients.knowledge import KnowledgeClient
from actions.faq_routing import covered_by_faq
from actions.language import other_language, say_english_only


async def outside_the_shop(knowledge: KnowledgeClient, dispatcher: CollectingDispatcher,
                           text: str) -> list[EventType]:
    """The reply to a message outside the shop's scope: the FAQ's answer when it
    confidently covers it, else what the bot can do (in English, said so when the message
    is in another language)."""
    if (language := other_language(text)) is not None:
        return say_english_only(dispatcher, language)
    if text and not text.startswith("/"):
        answered = await covered_by_faq(knowledge, dispatcher, text)
        if answered is not None:
            return answered
    dispatcher.utter_message(response="utter_out_of_scope")
    return []
