"""Short ids for button payloads: Telegram's callback data holds at most 64 bytes."""

from __future__ import annotations

import base64
import hashlib
from collections import OrderedDict

from channels.messages import Button

CALLBACK_PREFIX = "b:"


class ButtonStore:
    """Maps a short callback id to the button it stands for (title and payload).

    The id is a hash of the button, so re-sending the same button (the greeting's, a
    product's "Tell me more") reuses one entry. Entries live in this process and the
    least recently used are forgotten past ``size``; pressing a forgotten button gets
    "this button has expired". With issue 6 (handoff, several gateway replicas) the
    store moves to Redis, so any replica or worker resolves any button.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("the button store needs room for at least one button")
        self._size = size
        self._buttons: OrderedDict[str, Button] = OrderedDict()

    def put(self, button: Button) -> str:
        digest = hashlib.sha256(f"{button.title}\0{button.payload}".encode()).digest()
        key = CALLBACK_PREFIX + base64.urlsafe_b64encode(digest[:12]).decode()
        self._buttons[key] = button
        self._buttons.move_to_end(key)
        while len(self._buttons) > self._size:
            self._buttons.popitem(last=False)
        return key

    def get(self, key: str) -> Button | None:
        button = self._buttons.get(key)
        if button is not None:
            self._buttons.move_to_end(key)
        return button

    def __len__(self) -> int:
        return len(self._buttons)
