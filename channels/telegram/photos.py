"""What a product card's photo becomes for Telegram.

Telegram shows JPEG, PNG and WebP photos (up to 10 MB), fetched by its servers from a
URL on the Internet or uploaded with the message. A shop whose public address Telegram
cannot reach (``http://localhost:8000`` while developing, an intranet name) uploads the
pictures it serves itself instead; a picture Telegram cannot show (an SVG) is not sent
as a photo at all, and the card goes as text.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from channels.telegram.render import absolute_url

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
STATIC_PREFIX = "/static/"
RASTER = {".jpg", ".jpeg", ".png", ".webp"}
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


def reachable_by_telegram(url: str) -> bool:
    """Whether Telegram's servers could fetch ``url``: http(s) to a public host."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host and host != "localhost" and not host.endswith(PRIVATE_SUFFIXES)
    return address.is_global


def photo_source(image_url: str, *, public_url: str,
                 static_dir: Path = STATIC_DIR) -> str | bytes | None:
    """The URL Telegram fetches, the picture's bytes to upload, or None: not a photo."""
    url = absolute_url(image_url, public_url)
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    if reachable_by_telegram(url):
        return url if suffix in RASTER or not suffix else None  # no suffix: Telegram decides
    own = urlsplit(url).path
    if suffix not in RASTER or not own.startswith(STATIC_PREFIX):
        return None
    base = static_dir.resolve()
    file = (base / unquote(own.removeprefix(STATIC_PREFIX))).resolve()
    if not file.is_relative_to(base) or not file.is_file():
        return None
    if file.stat().st_size > MAX_UPLOAD_BYTES:
        return None
    return file.read_bytes()
