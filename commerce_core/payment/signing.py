"""Signed webhook bodies: ``Atelier-Signature: t=<unix seconds>,v1=<hex hmac>``.

The HMAC-SHA256 covers ``f"{t}."`` followed by the raw body, so neither the body nor the
timestamp can be changed without the secret, and a captured request stops being accepted
once it is older than the tolerance. Several ``v1=`` values may be present (a provider
rotating its secret signs with both); one match is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from commerce_core.errors import CommerceError

SIGNATURE_HEADER = "Atelier-Signature"
TOLERANCE_SECONDS = 300
MAX_HEADER_CHARS = 1000
_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


class SignatureError(CommerceError):
    """The webhook cannot be trusted; nothing may be changed because of it."""

    code = "invalid_signature"
    http_status = 400


class MalformedSignature(SignatureError):
    """The header is missing or not of the form ``t=…,v1=…``."""


class StaleSignature(SignatureError):
    """The timestamp is outside the tolerance (a replay, or a badly wrong clock)."""


class SignatureMismatch(SignatureError):
    """No ``v1`` value matches the body: tampered body, wrong secret or forged request."""


def compute(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}."`` + ``body`` under ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(body: bytes, *, secret: str, timestamp: int) -> str:
    """The ``Atelier-Signature`` header value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={compute(secret, timestamp, body)}"


def parse_header(header: str | None) -> tuple[int, list[str]]:
    """Split a header value into its timestamp and its ``v1`` signatures.

    Raises:
        MalformedSignature: missing, too long, or without exactly one valid ``t`` and at
            least one 64-hex-digit ``v1``.
    """
    if not header:
        raise MalformedSignature(f"The {SIGNATURE_HEADER} header is missing.")
    if len(header) > MAX_HEADER_CHARS:
        raise MalformedSignature(f"The {SIGNATURE_HEADER} header is too long.")
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise MalformedSignature(f"The {SIGNATURE_HEADER} header must look like "
                                     "t=<unix seconds>,v1=<hex signature>.")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value)
        # other schemes (v0, future versions) are ignored, as providers do
    if len(timestamps) != 1 or not _TIMESTAMP.match(timestamps[0]):
        raise MalformedSignature(f"The {SIGNATURE_HEADER} header needs one t=<unix seconds>.")
    if not signatures or not all(_HEX_DIGEST.match(s) for s in signatures):
        raise MalformedSignature(f"The {SIGNATURE_HEADER} header needs a v1=<64 hex digits> "
                                 "signature.")
    return int(timestamps[0]), signatures


def verify(body: bytes, header: str | None, *, secret: str, now: float,
           tolerance: int = TOLERANCE_SECONDS) -> int:
    """Check that ``body`` was signed with ``secret`` within ``tolerance`` seconds of ``now``.

    Returns:
        The signed timestamp.

    Raises:
        MalformedSignature, StaleSignature, SignatureMismatch: all subclasses of
            SignatureError (HTTP 400, code ``invalid_signature``).
    """
    timestamp, signatures = parse_header(header)
    if abs(now - timestamp) > tolerance:
        raise StaleSignature(f"The signature timestamp is more than {tolerance} seconds away "
                             "from now; the event is refused.")
    expected = compute(secret, timestamp, body).encode()
    # compare every candidate, so the time taken does not tell which one was close
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected, candidate.encode())
    if not matched:
        raise SignatureMismatch("The signature does not match the body.")
    return timestamp
