"""Signed, expiring links for setting a password (reset, invitation) and verifying e-mail.

Why itsdangerous: Flask already signs its sessions with it, and ``URLSafeTimedSerializer``
gives a URL-safe, HMAC-signed payload with its creation time, so a link needs no table.
Each token names its tenant, user and purpose (also used as the salt, so a verification
link is no reset link) and a fingerprint of what it may change:

- reset and invite links carry a fingerprint of the current password hash, so they work
  once: setting the password changes the hash and every earlier link dies with it;
- verification links carry the e-mail address they verify.

Time comes from :func:`comptoir.accounts.clock.now` so tests can move it.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

from comptoir.accounts import clock
from comptoir.accounts.passwords import fingerprint

#: How long each kind of link works, in seconds.
MAX_AGE = {"reset": 3600, "invite": 7 * 24 * 3600, "verify": 7 * 24 * 3600}
PURPOSES = tuple(MAX_AGE)


class TokenError(ValueError):
    """The link cannot be used; ``reason`` is "expired", "used" or "invalid"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _ClockSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if purpose not in MAX_AGE:
        raise ValueError(f"purpose: expected one of {', '.join(PURPOSES)}, got {purpose!r}")
    return URLSafeTimedSerializer(current_app.secret_key, salt=f"comptoir.accounts.{purpose}",
                                  signer=_ClockSigner)


def _binding(user: Any, purpose: str) -> str:
    if purpose == "verify":
        return fingerprint("email:" + user.email)
    return fingerprint(user.password_hash)


def make_token(user: Any, purpose: str) -> str:
    """A signed token letting its bearer do ``purpose`` for ``user`` (of ``user``'s tenant)."""
    return _serializer(purpose).dumps(
        {"t": user.tenant_id, "u": user.id, "p": purpose, "f": _binding(user, purpose)})


def read_token(token: str, purpose: str, *, tenant_id: int) -> int:
    """The user id a valid ``token`` names; raises :class:`TokenError` otherwise.

    The caller checks the fingerprint with :func:`still_fresh` once it has loaded the user
    (a token of another tenant is refused here, before any lookup).
    """
    try:
        data = _serializer(purpose).loads(token, max_age=MAX_AGE[purpose])
    except SignatureExpired:
        raise TokenError("expired") from None
    except BadSignature:
        raise TokenError("invalid") from None
    if (not isinstance(data, dict) or data.get("p") != purpose or data.get("t") != tenant_id
            or not isinstance(data.get("u"), int)):
        raise TokenError("invalid")
    return data["u"]


def still_fresh(token: str, user: Any, purpose: str) -> bool:
    """Whether ``token`` was made for ``user`` as they are now (same password, same
    e-mail): false once the link was used."""
    try:
        data = _serializer(purpose).loads(token)
    except BadSignature:
        return False
    return isinstance(data, dict) and data.get("f") == _binding(user, purpose)
