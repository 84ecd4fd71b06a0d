"""The signed links of every message: confirm a subscription, manage it, follow a link.

A reader reaches their preferences and leaves the list from any e-mail without logging in,
so the link itself must prove who they are: it carries the shop, the subscriber and their
address (as a keyed hash: :func:`address_tag`), signed with the app's secret
(itsdangerous) under a salt per purpose, so a
confirmation link cannot be replayed as an unsubscribe link or the reverse, and a link made
for one shop is refused by another. The address is checked against the subscriber on use:
a link outlives nothing it was made for.

Lifetimes: a confirmation link a week (the request is stale after that: subscribe again);
a management link two years (an old newsletter must still let its reader leave); tracking
links a year.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

CONFIRM, MANAGE, CLICK, OPEN, BOUNCE = "confirm", "manage", "click", "open", "bounce"
MAX_AGE = {
    CONFIRM: 7 * 24 * 3600,
    MANAGE: 2 * 365 * 24 * 3600,
    CLICK: 365 * 24 * 3600,
    OPEN: 365 * 24 * 3600,
    BOUNCE: 365 * 24 * 3600,
}


class TokenError(ValueError):
    """A link that cannot be used; ``expired`` tells an old link from a forged one."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class Claim:
    """What a valid token says."""

    tenant_id: int
    target_id: int
    extra: Any = None


def keyed_digest(text: str, length: int) -> str:
    """The first ``length`` hex digits of an HMAC of ``text`` with the app's secret: a
    short tag nobody can make without the secret (bounce addresses, Message-IDs, links)."""
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:length]


def address_tag(email: str) -> str:
    """What a link carries instead of the address: itsdangerous signs, it does not
    encrypt, and a link forwarded or logged by a proxy must not show who it is for. A keyed
    hash still ties the link to the address it was made for."""
    return keyed_digest("newsletters.address." + email.lower(), 20)


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"],
                                  salt=f"comptoir.newsletters.{purpose}")


def make(purpose: str, tenant_id: int, target_id: int, extra: Any = None) -> str:
    """A token for ``purpose`` about row ``target_id`` of tenant ``tenant_id``."""
    if purpose not in MAX_AGE:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return _serializer(purpose).dumps([tenant_id, target_id, extra])


def read(purpose: str, token: str, tenant_id: int | None = None) -> Claim:
    """Check ``token``; with ``tenant_id``, it must have been made for that tenant.

    :raises TokenError: forged, altered, made for another purpose or shop, or too old.
    """
    if not isinstance(token, str) or not token or len(token) > 2000:
        raise TokenError("This link is not valid.")
    try:
        data = _serializer(purpose).loads(token, max_age=MAX_AGE[purpose])
    except SignatureExpired:
        raise TokenError("This link has expired.", expired=True) from None
    except BadSignature:
        raise TokenError("This link is not valid.") from None
    if (not isinstance(data, list) or len(data) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in data[:2])):
        raise TokenError("This link is not valid.")
    claim = Claim(data[0], data[1], data[2])
    if tenant_id is not None and claim.tenant_id != tenant_id:
        raise TokenError("This link is not valid.")
    return claim
