"""Sizes come from the product's variants: the shopper picks one of the sizes in stock
and the variant of that size goes in the cart (a ring in size N is the size N ring, not
the first ring in stock resized for a fee)."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import Product
from actions.clients.models import Variant
from actions.common import latest_entities

_SIZE_IN_TEXT = re.compile(r"\bsize\s+([a-z0-9]{1,6}(?: ?(?:cm|ml|mm))?)\b", re.I)
_SIZE_ANSWER = re.compile(r"^\s*(?:(?:in |a |the )?size\s+)?([a-z0-9]{1,6}(?: ?(?:cm|ml|mm))?)"
                          r"(?:,?\s*please)?\s*[.!]?\s*$", re.I)


def label(size: str) -> str:
    """How a size is shown: letter sizes in capitals ("N"), others as written ("350 ml")."""
    return size.upper() if len(size) <= 2 else size


def _size(product: Product, variant: Variant) -> str | None:
    """The variant's size; a piece made in one variant may give its size as the product's."""
    size = variant.attributes.get("size")
    if not size and len(product.variants) == 1:
        size = product.attributes.get("size")
    return size or None


def sizes_of(product: Product, *, in_stock: bool = False) -> list[str]:
    """The distinct sizes of the product's variants, in the catalog's order."""
    sizes: list[str] = []
    for variant in product.variants:
        size = _size(product, variant)
        if size and size not in sizes and (variant.stock > 0 or not in_stock):
            sizes.append(size)
    return sizes


def has_sizes(product: Product) -> bool:
    """Whether the shopper must choose a size: its variants come in more than one."""
    return len(sizes_of(product)) > 1


def variant_of(product: Product, size: str) -> Variant | None:
    """The variant of ``size`` in stock, or None."""
    return next((v for v in product.variants if v.stock > 0
                 and (_size(product, v) or "").casefold() == size.strip().casefold()),
                None)


def wanted_size(tracker: Tracker) -> str | None:
    """The size the latest message names: a size button's entity, or "size N" in the text."""
    entity = latest_entities(tracker).get("size")
    if entity:
        return entity
    found = _SIZE_IN_TEXT.search(str(tracker.latest_message.get("text") or ""))
    return found.group(1).lower() if found else None


def size_answer(tracker: Tracker) -> str | None:
    """The size an answer to "which size?" gives: a button, "size N", or just "N"."""
    named = wanted_size(tracker)
    if named:
        return named
    text = str(tracker.latest_message.get("text") or "")
    found = None if text.startswith("/") else _SIZE_ANSWER.match(text)
    return found.group(1).lower() if found else None


def size_buttons(sizes: list[str], intent: str, **entities: str) -> list[dict[str, Any]]:
    """One button per size, sending ``intent`` with the size (and ``entities``)."""
    def payload(size: str) -> str:
        fields = ", ".join(f'"{k}": "{v}"' for k, v in {**entities, "size": size}.items())
        return f"/{intent}{{{fields}}}"
    return [{"title": f"Size {label(s)}", "payload": payload(s)} for s in sizes]


def sizes_on_offer(product: Product, **entities: str
                   ) -> tuple[list[str], str, list[dict[str, Any]]]:
    """The sizes in stock, as said ("J, L, N"), and a button each that adds that size to
    the cart (with ``entities``)."""
    sizes = sizes_of(product, in_stock=True)
    shown = ", ".join(label(s) for s in sizes) or "none at the moment"
    return sizes, shown, size_buttons(sizes, "add_to_cart", product_id=str(product.id),
                                      **entities)


def say_sizes(dispatcher: CollectingDispatcher, product: Product, named: str | None) -> None:
    """Whether the size named is in stock, or which sizes are, with a button that adds
    each to the cart."""
    sizes, shown, buttons = sizes_on_offer(product)
    if named is None:
        dispatcher.utter_message(response="utter_sizes_in_stock", name=product.name,
                                 sizes=shown, buttons=buttons)
    elif variant_of(product, named) is None:
        dispatcher.utter_message(response="utter_size_not_in_stock", size=label(named),
                                 name=product.name, sizes=shown, buttons=buttons)
    else:
        size = next(s for s in sizes if s.casefold() == named.casefold())
        [button] = size_buttons([size], "add_to_cart", product_id=str(product.id))
        dispatcher.utter_message(
            response="utter_size_in_stock", size=label(size), name=product.name,
            buttons=[{**button, "title": f"Add size {label(size)} to cart"}])
