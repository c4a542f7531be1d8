"""A question about one product answered from its listing: "is it dishwasher safe?", "what
is it made of?", "how big is it?", "is it scented?".

The question's own words (less the words of asking, the product's name and kind, and
ordinals) are looked for in what the shop wrote about the piece: its attributes, sizes,
stock, price, personalisation options and the sentences of its description. What is
found is quoted as written; nothing is made up. "tell me about the second one" asks
nothing in particular and is answered with the product's card.
"""

from __future__ import annotations

import re

from actions.clients import Product
from actions.sizes import label, sizes_of

_WORD = re.compile(r"[a-zà-ÿ]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_ASKING = frozenset({
    "a", "about", "actually", "also", "an", "and", "another", "any", "anything", "are",
    "as", "at", "be", "been", "bit", "but", "by", "can", "could", "detail", "details",
    "did", "do", "does", "exactly", "fifth", "first", "for", "former", "fourth", "from",
    "get", "give", "got", "has", "have", "hey", "hi", "how", "i", "if", "in", "info",
    "information", "is", "it", "it's", "item", "items", "its", "just", "know", "last",
    "latter", "let", "like", "look", "maybe", "me", "more", "my", "need", "of", "ok",
    "okay", "on", "one", "ones", "or", "other", "piece", "please", "possible", "product",
    "quite", "really", "second", "show", "sixth", "so", "some", "something", "tell",
    "thank", "thanks", "that", "the", "them", "there", "these", "they", "thing", "third",
    "this", "those", "to", "u", "us", "very", "want", "was", "we", "what", "what's",
    "whats", "when", "where", "which", "who", "will", "with", "would", "you", "your",
    "yours",
})
"""Words of asking and of pointing at a piece, which say nothing of what is asked."""
_ABOUT = {
    "material": {"material", "materials", "fabric", "metal", "wood"},
    "colour": {"colour", "color", "colours", "colors", "shade"},
    "size": {"size", "sizes", "big", "large", "small", "tall", "wide", "high",
             "dimensions", "measure", "measurements", "height", "width", "length", "cm",
             "taller", "tallest", "bigger", "biggest", "larger", "largest", "smaller",
             "smallest", "wider", "widest"},
    "pieces": {"many", "pieces", "set"},
    "style": {"style"},
}
"""Attribute → words that ask about it ("how big", "what material")."""
_ASKS_MATERIAL = re.compile(r"\bmade (?:out )?(?:of|from)\b|\b(?:real|genuine|solid)\b")
"""Asks for the material ("what is it made of", "is it real silver?"); "is it made by
hand" does not."""
_STOCK = {"stock", "available", "availability", "sold", "left"}
_PRICE = {"price", "cost", "costs", "much", "expensive", "cheap"}
_PERSONALISE = ("personalis", "personaliz", "engrav", "custom", "inscri", "monogram",
                "initial", "emboss", "embroider", "paint", "glaze")
_SUFFIXES = ("ing", "able", "ed", "es", "s", "ly")
_ENDINGS = r"(?:e|s|es|ed|er|ers|ing|able|ly|ness)?"
"""What may follow a stem in the listing's word ("engrav" → "engraved"; "time" is not
"timeless")."""


def _stem(word: str) -> str:
    word = word.removesuffix("'s")
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[:-len(suffix)]
    return word


def asked_words(text: str, product: Product) -> list[str]:
    """The words of a question that say what is asked about ``product``; empty when it
    asks nothing in particular ("tell me more about the second one")."""
    kind = set(_WORD.findall(f"{product.category} {product.attributes.get('type', '')}"
                             .lower()))
    named = set(_WORD.findall(product.name.lower())) - kind
    valued = set(_WORD.findall(" ".join(
        value for name, value in product.attributes.items() if name != "type").lower()))
    words = _WORD.findall(_ASKS_MATERIAL.sub(" material ", text.lower()))
    used = named & set(words)
    # a word of the name that is one of the piece's attribute values asks about it ("is it
    # real silver?" of the Silver Wave Ring) unless the question names the piece ("is the
    # blue willow mug dishwasher safe?")
    names_the_piece = len(used) > 1 or bool(used - valued)
    known = kind | (named if names_the_piece else named - valued)
    known |= {_stem(w) for w in known}
    return [w for w in words if w not in _ASKING and w not in known and _stem(w) not in known]


def from_listing(product: Product, words: list[str]) -> tuple[list[str], list[str]]:
    """What the listing says about ``words`` (attribute lines, stock, price, options and
    the description's sentences that mention them, in the shop's words), and the words
    it says nothing about."""
    asked = set(words)
    explained: set[str] = set()
    found: list[str] = []

    def mentions(text: str) -> set[str]:
        return {w for w in words if len(_stem(w)) >= 3
                and re.search(rf"\b{re.escape(_stem(w))}{_ENDINGS}\b", text.lower())}

    sizes = [label(s) for s in sizes_of(product)]
    for name, value in product.attributes.items():
        if name == "type" or (name == "size" and sizes):  # the sizes' own line says it
            continue
        said = (asked & _ABOUT.get(name, set())) | mentions(value)
        if said:
            found.append(f"{name.replace('_', ' ').capitalize()}: {value}.")
            explained |= said
    said_sizes = f"Size{'s' if len(sizes) > 1 else ''}: {', '.join(sizes)}." if sizes else ""
    for words_of, line in ((_ABOUT["size"], said_sizes),
                           (_STOCK, "In stock." if product.in_stock
                            else "Sold out at the moment."),
                           (_PRICE, f"Price: {product.price} {product.currency}.")):
        if line and asked & words_of:
            found.append(line)
            explained |= asked & words_of
    personalising = {w for w in words if w.startswith(_PERSONALISE)}
    if product.customization and personalising:
        labels = "; ".join(str(o.get("label") or o.get("name")) for o in product.customization)
        found.append(f"It can be personalised: {labels}.")
        explained |= personalising
    for sentence in _SENTENCE_END.split(" ".join(product.description.split())):
        said = mentions(sentence)
        if sentence and said:
            found.append(sentence)
            explained |= said
    return found, [w for w in words if w not in explained]
