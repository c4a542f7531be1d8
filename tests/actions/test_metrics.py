"""The action server's own metrics: time per custom action and outcome, served over HTTP."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import in_turn
from actions.metrics import serve
from actions.reviews import ActionAskReviewRating
from tests.actions.shopping_helpers import run, tracker


def count(action: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("atelier_action_duration_seconds_count",
                                     {"action": action, "outcome": outcome}) or 0.0


class Broken(Action):
    def name(self) -> str:
        return "action_broken_for_test"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[Any]:
        raise RuntimeError("boom")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_each_action_run_is_timed_by_action_and_outcome() -> None:
    ok_before = count("action_ask_review_rating", "ok")
    error_before = count("action_broken_for_test", "error")
    run(ActionAskReviewRating(), tracker("x", "inform", slots={"review_target": {
        "order_number": "AT-1", "sku": "CER-MUG-001", "name": "Speckled Mug"}}))
    with pytest.raises(RuntimeError):
        asyncio.run(Broken().run(CollectingDispatcher(), tracker("x", "inform"), {}))
    assert count("action_ask_review_rating", "ok") == ok_before + 1
    assert count("action_broken_for_test", "error") == error_before + 1


def test_the_metrics_are_served_on_their_port_and_a_taken_port_is_not_fatal() -> None:
    port = free_port()
    assert serve(port, "127.0.0.1") is True
    page = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert "atelier_action_duration_seconds_bucket{" in page
    assert serve(port, "127.0.0.1") is False  # taken now
    assert serve(0) is False
