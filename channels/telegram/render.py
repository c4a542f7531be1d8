"""Gateway messages rendered for Telegram: text parts, captions and inline keyboards."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from urllib.parse import urljoin

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from channels.messages import Button, Card, Link
from channels.telegram.buttons import ButtonStore
from commerce_core.money import quantize_price

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTON_TITLE = 64
CURRENCY_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


def telegram_length(text: str) -> int:
    """Telegram measures lengths in UTF-16 code units (an emoji can count two)."""
    return len(text.encode("utf-16-le")) // 2


def _fitting_prefix(text: str, limit: int) -> int:
    """The number of characters of ``text`` whose Telegram length is at most ``limit``."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split a text into parts of at most ``limit`` (Telegram length).

    Cuts at the last paragraph break that fits, else the last line break, else the last
    space, and only as a last resort inside a word. No part is empty.
    """
    parts: list[str] = []
    rest = text.strip()
    while telegram_length(rest) > limit:
        window = rest[:_fitting_prefix(rest, limit)]
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > 0:
                break
        else:
            cut = max(len(window), 1)
        part = rest[:cut].rstrip()
        if part:
            parts.append(part)
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def format_price(price: str, currency: str) -> str:
    """``"32"``, ``"EUR"`` → ``"€32.00"``; an unknown currency is written after the amount."""
    try:
        amount = quantize_price(Decimal(price))
    except InvalidOperation:
        return f"{price} {currency}".strip()
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    return f"{symbol}{amount:,}" if symbol else f"{amount:,} {currency.upper()}"


def card_caption(card: Card) -> str:
    """Name, price and stock; a recommended product's reason on a line of its own."""
    stock = "In stock" if card.in_stock else "Out of stock right now"
    caption = f"{card.name}\n{format_price(card.price, card.currency)} · {stock}"
    return f"{caption}\n{card.reason}" if card.reason else caption


def absolute_url(url: str, public_url: str) -> str:
    """Card images and links may be relative to the shop (``/static/img/…``)."""
    return urljoin(public_url.rstrip("/") + "/", url)


def keyboard(buttons: Sequence[Button], store: ButtonStore, *, links: Sequence[Link] = (),
             public_url: str) -> InlineKeyboardMarkup | None:
    """One button per row: payload buttons by short id, links as URL buttons."""
    rows = [[InlineKeyboardButton(b.title[:MAX_BUTTON_TITLE] or "…",
                                  callback_data=store.put(b))] for b in buttons]
    rows += [[InlineKeyboardButton(link.title[:MAX_BUTTON_TITLE] or "Open",
                                   url=absolute_url(link.url, public_url))] for link in links]
    return InlineKeyboardMarkup(rows) if rows else None
