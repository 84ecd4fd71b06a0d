"""Client secrets encrypted at rest with Fernet, keyed from the app's SECRET_KEY.

Why: a database dump (a backup, a support copy) must not hand out every company's IdP
credentials. The key is derived with HKDF so the raw SECRET_KEY is never used for two
purposes. Rotating SECRET_KEY makes stored secrets unreadable: the company admin then
enters the secret again (the configuration page says so).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


class SecretUnreadable(ValueError):
    """The stored secret was encrypted with another SECRET_KEY."""


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"comptoir.sso.client_secret").derive(
        str(current_app.config["SECRET_KEY"]).encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret: str) -> str:
    """The value to store for ``secret``."""
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(stored: str) -> str:
    """The secret behind ``stored``; :class:`SecretUnreadable` if SECRET_KEY changed."""
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(stored[:8]) from exc
