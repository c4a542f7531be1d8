"""Prometheus metrics of the app process, served at ``/metrics``.

Counters and histograms are observed where the work happens; the state of the queues
is read from the database at each scrape (:mod:`.queues`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from prometheus_client import Counter, Histogram

P = ParamSpec("P")
T = TypeVar("T")

TURN = (0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_DURATION = Histogram("atelier_http_request_duration_seconds",
                          "Time to answer an HTTP request, by route template and status "
                          "(search: /api/products/search, FAQ: /api/faq/answer)",
                          ["method", "route", "status"], buckets=TURN)
TURN_DURATION = Histogram("atelier_turn_duration_seconds",
                          "Time from a shopper's message to the recorded answers, by channel",
                          ["channel"], buckets=TURN)
RASA_DURATION = Histogram("atelier_rasa_request_duration_seconds",
                          "Round trip of one message to Rasa, with the custom actions it "
                          "ran, by outcome (ok, actions_unavailable, unavailable)",
                          ["outcome"], buckets=TURN)
FAQ_ANSWERS = Counter("atelier_faq_answers_total",
                      "FAQ questions by outcome: answered, declined (not confident), or "
                      "not_covered (a message the bot only checked against the FAQ)",
                      ["outcome"])
RATE_LIMITED = Counter("atelier_rate_limited_total",
                       "Requests turned away by a rate limit, by what was limited",
                       ["scope"])
ERRORS = Counter("atelier_errors_total",
                 "Error answers by kind (the code of the error body; internal for a crash)",
                 ["code"])
HANDOFFS = Counter("atelier_handoffs_total",
                   "Conversations handed to the queue of people, by reason", ["reason"])


def timed_turn(channel_of: Callable[[str], str],
               ) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Observe :data:`TURN_DURATION` around a ``handle_turn(self, conversation_id, …)``,
    labelled with the channel ``channel_of`` names for the conversation (the channels
    own their identity prefixes)."""
    def decorate(handle: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(handle)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            started = time.perf_counter()
            try:
                return await handle(*args, **kwargs)
            finally:
                conversation_id = args[1] if len(args) > 1 else kwargs["conversation_id"]
                TURN_DURATION.labels(channel_of(str(conversation_id))).observe(
                    time.perf_counter() - started)
        return wrapper
    return decorate
