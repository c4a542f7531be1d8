"""What a shopper sees of an action's messages.

Actions say their sentences as responses of the domain (``bot/domain``), with variables
given to ``utter_message``; Rasa fills them in. Here a message naming a response is filled
the same way, so the action tests check the final wording. Stricter than Rasa: a response
that is not in the domain, or a variable the action did not give, fails the test (Rasa
would fall back to a slot of that name, or say the placeholder). The filling is checked
against Rasa's own generator in ``tests/bot/test_action_responses.py``.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DOMAIN = Path(__file__).resolve().parents[2] / "bot" / "domain"
PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")
"""A variable of a response, as Rasa 3.6 finds it (``rasa.core.nlg.interpolator``)."""


@cache
def domain_responses() -> dict[str, list[dict[str, Any]]]:
    """Every response of the domain, by name (the domain is split into several files)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(DOMAIN.glob("*.yml")):
        found.update((yaml.safe_load(path.read_text()) or {}).get("responses") or {})
    return found


def variables(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def fill(text: str, values: dict[str, Any]) -> str:
    """``text`` with its variables replaced, as Rasa's ``interpolate_text`` does."""
    missing = variables(text) - values.keys()
    assert not missing, f"no value given for {sorted(missing)} in {text!r}"
    filled = PLACEHOLDER.sub(r"{0[\1]}", text).format(values)
    return text if "0[" in filled else filled  # Rasa, too, gives up on such a value


def shown(message: dict[str, Any]) -> dict[str, Any]:
    """``message`` with the ``text`` and ``buttons`` the shopper gets: those of its
    response (the domain's buttons first, then the action's), else its own."""
    name = message.get("response")
    if not name:
        return message
    variants = domain_responses().get(name)
    assert variants, f"{name} is not a response of the domain"
    assert len(variants) == 1, f"{name} has variations: which one is said is chance"
    response = variants[0]
    titles = [{**b, "title": fill(b["title"], message)} for b in response.get("buttons", [])]
    return {**message, "text": fill(response["text"], message),
            "buttons": [*titles, *(message.get("buttons") or [])]}


def said(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [shown(m) for m in messages]
