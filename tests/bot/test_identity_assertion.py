"""The gateway's signer and the two checkers of a shopper assertion agree.

The gateway signs (channels/assertion.py); Rasa's channel (bot/atelier_identity.py, in
Rasa's Python 3.10 environment) and the action server (actions/shopper.py) each check it
with their own copy of the rules. Every case is put to both checkers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from actions.shopper import Shopper, UnverifiedShopper, verified_shopper
from bot.atelier_identity import AssertionRefused, verify_shopper
from channels.assertion import sign_shopper

SECRET = "s" * 32
NOW = 1_800_000_000.0


def signed(conversation_id: str = "conv-1", *, now: float = NOW, secret: str = SECRET,
           channel: str = "web", external_id: str = "shop-c42") -> dict[str, Any]:
    return {"shopper": sign_shopper(secret=secret, conversation_id=conversation_id,
                                    shopper={"channel": channel, "external_id": external_id},
                                    now=now)}


def altered(**changes: Any) -> dict[str, Any]:
    metadata = signed()
    metadata["shopper"].update(changes)
    return metadata


def by_rasa(metadata: Any) -> tuple[str, str] | str:
    try:
        return verify_shopper(metadata, conversation_id="conv-1", secret=SECRET, now=NOW)
    except AssertionRefused as exc:
        return exc.code


def by_actions(metadata: Any) -> tuple[str, str] | str:
    try:
        shopper = verified_shopper(metadata, conversation_id="conv-1", secret=SECRET, now=NOW)
    except UnverifiedShopper as exc:
        return exc.code
    return shopper.channel, shopper.external_id


CASES: dict[str, tuple[Callable[[], Any], tuple[str, str] | str]] = {
    "signed for this conversation": (signed, ("web", "shop-c42")),
    "a telegram chat": (lambda: signed(channel="telegram", external_id="tg-9"),
                        ("telegram", "tg-9")),
    "a minute old": (lambda: signed(now=NOW - 60), ("web", "shop-c42")),
    "no metadata": (lambda: None, "missing_shopper_assertion"),
    "a bare claim": (lambda: {"shopper": {"channel": "web", "external_id": "shop-c42"}},
                     "missing_shopper_assertion"),
    "for another conversation": (lambda: signed("conv-2"), "invalid_shopper_assertion"),
    "with another secret": (lambda: signed(secret="t" * 32), "invalid_shopper_assertion"),
    "another shopper under the signature": (lambda: altered(external_id="shop-c43"),
                                            "invalid_shopper_assertion"),
    "another issue time under the signature": (lambda: altered(issued_at=int(NOW) + 1),
                                               "invalid_shopper_assertion"),
    "a channel nobody signs": (lambda: signed(channel="email"), "invalid_shopper_assertion"),
    "an issue time as text": (lambda: altered(issued_at=str(int(NOW))),
                              "invalid_shopper_assertion"),
    "a signature that is no hex digest": (lambda: altered(signature="z" * 64),
                                          "invalid_shopper_assertion"),
    "three minutes old": (lambda: signed(now=NOW - 180), "shopper_assertion_expired"),
    "from the future": (lambda: signed(now=NOW + 120), "shopper_assertion_expired"),
}


@pytest.mark.parametrize("case", CASES)
def test_rasa_and_the_actions_read_an_assertion_alike(case: str) -> None:
    make, expected = CASES[case]
    assert by_rasa(make()) == expected
    assert by_actions(make()) == expected


def test_the_gateway_signs_now_what_it_is_given() -> None:
    metadata = signed(now=time.time())["shopper"]
    assert set(metadata) == {"channel", "external_id", "issued_at", "signature"}
    assert abs(metadata["issued_at"] - time.time()) < 5
    assert verified_shopper({"shopper": metadata}, conversation_id="conv-1", secret=SECRET,
                            now=time.time()) == Shopper("web", "shop-c42")
