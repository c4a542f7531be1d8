"""Chat shorthand spelled out before a question is matched to the FAQ or a request is read
against the catalog (``knowledge.understanding``).

Shoppers type "pls show the payment options u accept"; the FAQ's entries are written out
("Which payment methods do you accept?"). MiniLM reads "u" and "pls" as rare word pieces,
not as "you" and "please", which lowers the question's similarity to every entry and
leaves those words with nothing to match in any entry (the FAQ's word floor,
``knowledge.faq_tokens``). Only whole words that mean one thing in a shop's chat are
spelled out; the text the shopper typed is kept everywhere else (logs, the agent console).
"""

from __future__ import annotations

import re

SHORTHAND = {
    "u": "you", "yu": "you", "ur": "your", "urs": "yours", "r": "are",
    "pls": "please", "plz": "please", "plse": "please", "pleas": "please",
    "thx": "thanks", "thnx": "thanks", "tks": "thanks", "ty": "thank you",
    "abt": "about", "wat": "what", "wot": "what", "wht": "what", "hw": "how", "cn": "can",
    "cld": "could", "wud": "would", "wld": "would", "shd": "should",
    "dont": "don't", "doesnt": "doesn't", "didnt": "didn't", "cant": "can't",
    "wont": "won't", "isnt": "isn't", "arent": "aren't", "havent": "haven't",
    "im": "i'm", "ive": "i've", "whats": "what's", "wheres": "where's",
    "b4": "before", "2day": "today", "tmrw": "tomorrow", "tmr": "tomorrow",
    "tomoz": "tomorrow", "msg": "message", "pic": "picture", "pics": "pictures",
    "info": "information", "addy": "address", "addr": "address", "pmt": "payment",
    "qty": "quantity", "asap": "as soon as possible", "bc": "because", "cuz": "because",
    "coz": "because", "bcoz": "because", "ppl": "people", "w/": "with", "w/o": "without",
    "approx": "approximately", "intl": "international", "int'l": "international",
    "pkg": "package", "pkge": "package", "acct": "account", "xmas": "christmas",
    "bday": "birthday", "b-day": "birthday", "pressie": "present", "prezzie": "present",
}
"""Shorthand → the words it stands for (lower case; matched as whole words, never right
after "size": a ring in size R or U is a size)."""
_WORD_RE = re.compile(r"(?<![\w'/&.-])(?<!size )(" + "|".join(
    re.escape(word) for word in sorted(SHORTHAND, key=len, reverse=True))
    + r")(?![\w'/&-]|\.\w)", re.IGNORECASE)


def spelled_out(text: str) -> str:
    """``text`` with each chat shorthand replaced by what it stands for."""
    return _WORD_RE.sub(lambda found: SHORTHAND[found.group(1).lower()], text)
