"""Messages written in another European language than English, which the bot does not
understand: the shopper is told so, in English, and offered a person, instead of a
greeting or a guess at what was meant ("bonjour, vous avez des bougies ?" reads as a
greeting, "hallo, habt ihr Kerzen?" as out of scope)."""

from __future__ import annotations

import re

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.faq_routing import PERSON_BUTTON


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


COMMON_WORDS = {
    "French": _words(
        "bonjour bonsoir salut merci vous avez est je suis voudrais cherche pour une des les "
        "du au aux mon ma mes votre vos avec dans sur pas oui non commande livraison combien "
        "quand comment pourquoi où cadeau prix bougie bougies tasse bijoux collier bague "
        "est-ce qu'est-ce quoi il elle nous ils sont"),
    "German": _words(
        "hallo guten danke ich habe habt ihr sie wir bin ist sind ein eine einen der die "
        "das und mit für nicht ja nein bitte meine meinen bestellung lieferung wie wann "
        "warum wo geschenk preis kerze kerzen tasse schmuck kette haben gibt es"),
    "Spanish": _words(
        "hola buenos buenas gracias tienen tiene quiero busco para una unos unas los las del "
        "con por pero sí mi mis su pedido envío cuánto cuándo cómo dónde regalo precio vela "
        "velas taza joyas anillo es está son hay"),
    "Italian": _words(
        "ciao buongiorno buonasera grazie avete vorrei cerco per una uno gli della dello con "
        "non sì mio mia ordine spedizione quanto quando come dove regalo prezzo candela "
        "candele tazza gioielli collana anello è sono c'è"),
}
"""Words frequent in each language that English does not use (or hardly: "pour", "die"
and "son" count only next to other words of the same language; "ring", "collar" and
"tag" are left out)."""
WORD_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)?")
MIN_WORDS = 2
MIN_SHARE = 0.5


def other_language(text: str) -> str | None:
    """The language a message is written in when it is one of ``COMMON_WORDS``' and not
    English: at least two of its words, and half of them, are that language's."""
    if text.startswith("/"):
        return None
    words = [w.lower().replace("’", "'") for w in WORD_RE.findall(text)]
    if len(words) < MIN_WORDS:
        return None
    counts = {lang: sum(w in common for w in words) for lang, common in COMMON_WORDS.items()}
    language, hits = max(counts.items(), key=lambda item: item[1])
    return language if hits >= MIN_WORDS and hits >= MIN_SHARE * len(words) else None


def say_english_only(dispatcher: CollectingDispatcher, language: str) -> list[EventType]:
    """That the bot chats in English only, with a person to turn to."""
    dispatcher.utter_message(response="utter_english_only", language=language,
                             buttons=[PERSON_BUTTON])
    return []
