"""Countries as shoppers name them: in an address, or in a question about shipping."""

from __future__ import annotations

import re

COUNTRIES = {
    "france": "FR", "germany": "DE", "deutschland": "DE", "spain": "ES", "italy": "IT",
    "belgium": "BE", "netherlands": "NL", "the netherlands": "NL", "holland": "NL",
    "portugal": "PT", "austria": "AT", "ireland": "IE", "luxembourg": "LU",
    "switzerland": "CH", "denmark": "DK", "sweden": "SE", "finland": "FI", "norway": "NO",
    "poland": "PL", "czechia": "CZ", "czech republic": "CZ", "greece": "GR",
    "united kingdom": "GB", "uk": "GB", "great britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "united states": "US", "usa": "US", "us": "US",
    "canada": "CA", "australia": "AU", "japan": "JP",
}
_COUNTRY_NAMED = re.compile(
    r"\b(" + "|".join(sorted((re.escape(k) for k in COUNTRIES if k != "us"), key=len,
                              reverse=True)) + r")\b|\b(?:the us|US)\b", re.I)


def country_named(text: str) -> str | None:
    """The two-letter code of a country the text names ("to germany", "the US"), if any;
    "us" in lower case is the pronoun."""
    for match in _COUNTRY_NAMED.finditer(text):
        if match.group(1):
            return COUNTRIES[match.group(1).lower()]
        if match.group(0) != "us":
            return "US"
    return None
