"""Agents' password hashes: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane).

Hashes made before (``scrypt$n$r$p$salt$hash``, scrypt with N = 2^14, below current
guidance) still verify, and so do argon2id hashes of weaker parameters; both are replaced
by a current hash when the agent next signs in (:func:`needs_rehash`), the only moment the
password is known.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

ARGON2_TIME_COST, ARGON2_MEMORY_KIB, ARGON2_PARALLELISM = 2, 19 * 1024, 1
_hasher = argon2.PasswordHasher(time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB,
                                parallelism=ARGON2_PARALLELISM, hash_len=32, salt_len=16,
                                type=argon2.Type.ID)
_LEGACY_SCHEME = "scrypt"
_LEGACY_MAX_N = 2**20
"""Refuse to verify a stored scrypt hash asking for more work than this (a tampered row)."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        if not 1 < int(n) <= _LEGACY_MAX_N or not 0 < int(r) <= 32 or not 0 < int(p) <= 16:
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                                r=int(r), p=int(p), dklen=len(expected),
                                maxmem=256 * 1024 * 1024)
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def verify_password(password: str, stored: str) -> bool:
    if stored.startswith(_LEGACY_SCHEME + "$"):
        return _verify_scrypt(password, stored)
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a hash that just verified should be replaced by a current one."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True
