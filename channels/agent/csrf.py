"""Where a request to the console comes from: its own page, or a page of another site.

The console's session cookie is SameSite=Strict, but that is the browser's promise only;
the gateway checks itself that a request changing anything with the cookie was sent by
the console's own page. Browsers say where a request comes from in ``Origin``; when it is
withheld (``null``, or an older browser) ``Sec-Fetch-Site`` tells, and ``Referer`` is the
last resort. A request saying nothing (no browser) must use a bearer token, which a page
of another site cannot make a browser send.
"""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import urlsplit

from starlette.datastructures import Headers

from commerce_core.errors import CommerceError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Site(StrEnum):
    SAME = "same"
    CROSS = "cross"
    UNKNOWN = "unknown"


class CrossSiteRequest(CommerceError):
    code = "cross_site_request"
    http_status = 403


def _origin_of(url: str) -> tuple[str, str]:
    """(scheme, host[:port]) of a URL, default port left out; empty when it is no URL."""
    try:
        parts = urlsplit(url.strip().lower())
    except ValueError:  # e.g. "http://[": nothing is its own origin
        return "", ""
    netloc = parts.netloc
    default_port = {"http": ":80", "https": ":443"}.get(parts.scheme)
    if default_port and netloc.endswith(default_port):
        netloc = netloc[: -len(default_port)]
    return parts.scheme, netloc


def _is_own(url: str, *, host: str | None, public_url: str) -> bool:
    """The gateway's own origin: the host the browser asked, or the configured public URL
    (behind a proxy that changes the Host header)."""
    _, netloc = _origin_of(url)
    if not netloc:
        return False
    return netloc == (host or "").lower() or _origin_of(url) == _origin_of(public_url)


def request_site(headers: Headers, *, public_url: str) -> Site:
    host = headers.get("host")
    origin = headers.get("origin")
    if origin and origin != "null":
        return Site.SAME if _is_own(origin, host=host, public_url=public_url) else Site.CROSS
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site:
        return Site.SAME if fetch_site in ("same-origin", "none") else Site.CROSS
    if origin == "null":  # an opaque origin (a sandboxed frame, a data: page)
        return Site.CROSS
    referer = headers.get("referer")
    if referer:
        return Site.SAME if _is_own(referer, host=host, public_url=public_url) else Site.CROSS
    return Site.UNKNOWN


def check_cookie_request(method: str, headers: Headers, *, public_url: str) -> None:
    """A request authenticated by the session cookie may change something only when it
    comes from the console's own page.

    Raises:
        CrossSiteRequest: it comes from another site, or does not say where from.
    """
    if method in SAFE_METHODS:
        return
    if request_site(headers, public_url=public_url) is not Site.SAME:
        raise CrossSiteRequest("This request did not come from the agent console's own page. "
                               "Reload the console (API clients: use the bearer token).")


def check_sign_in(headers: Headers, *, public_url: str) -> None:
    """A page of another site may not sign a browser in (to an account of its choosing).

    Raises:
        CrossSiteRequest: a browser says the request comes from another site.
    """
    if request_site(headers, public_url=public_url) is Site.CROSS:
        raise CrossSiteRequest("Sign in on the agent console's own page.")
