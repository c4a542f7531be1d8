"""The Rasa stand-in answering the way a bot with the handoff action does (contract 3):
``/request_human`` gets a text plus a separate ``{"custom": {"handoff": ...}}`` output,
``/handback`` gets "I'm back", anything else an echo. Every call is recorded, so a test
can check that the bot was not asked while an agent held the conversation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.channels.fake_rasa import FakeRasa

HANDOFF_TEXT = "I'll ask a person from the shop to join."
BACK_TEXT = "I'm back. What can I do for you?"


def _handoff_answers() -> dict[str, list[dict[str, Any]]]:
    return {
        "/request_human": [{"text": HANDOFF_TEXT},
                           {"custom": {"handoff": {"reason": "shopper_request",
                                                   "summary": "Asked for a person"}}}],
        "/handback": [{"text": BACK_TEXT}],
    }


@dataclass
class RasaStandIn(FakeRasa):
    echo_prefix: str = "echo: "
    answers: dict[str, list[dict[str, Any]]] = field(default_factory=_handoff_answers)

    @property
    def calls(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.received)

    def messages_of(self, sender: str) -> list[str]:
        return self.messages(sender)

    def start(self) -> RasaStandIn:
        super().start()
        return self
