"""An action for the action server of tests/bot/test_action_calls.py: it says which forms
the domain it was given holds, so a test sees whether the action had the domain."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher


class ActionDomainEcho(Action):
    def name(self) -> str:
        return "action_domain_echo"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        return [SlotSet("search_text", ",".join(sorted((domain or {}).get("forms") or {})))]
