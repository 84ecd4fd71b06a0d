"""Password hashing (argon2id through argon2-cffi) and the password policy.

Why argon2id: it is the memory-hard hash RFC 9106 and OWASP recommend for passwords, and
argon2-cffi is the maintained binding of its reference implementation. Hashes made by the
earlier werkzeug ``generate_password_hash`` (pbkdf2 or scrypt, as the demo data and old
accounts hold) still verify, and :func:`verify_password` hands back an argon2id hash to store
instead, so every account moves to argon2id at its next successful log-in.

The policy (:func:`password_problems`) follows NIST SP 800-63B: a length window (8 to 128
characters, so a passphrase fits), no password from a list of common ones (the 30,000 most
frequent passwords bundled with zxcvbn, a maintained list rather than a hand-typed one),
and none that is or contains the account's own e-mail or name. No composition rules.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from typing import Any

from argon2 import PasswordHasher, Type, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context
from flask_babel import gettext as _
from werkzeug.security import check_password_hash

#: Shortest and longest password accepted. The upper bound keeps a hash request cheap (a
#: megabyte "password" costs nothing to refuse) while leaving room for long passphrases.
MIN_LENGTH = 8
MAX_LENGTH = 128

#: Stored instead of a hash for an account that has no password yet (an invitation not
#: yet accepted, an SSO-only account): no password verifies against it.
UNUSABLE = "!unusable"

#: The production parameters: RFC 9106's second recommended option ("low memory",
#: argon2id, t=3, m=64 MiB, p=4). Tests may set ``PASSWORD_HASH_PARAMETERS`` in the app
#: config to a dict of cheaper ``argon2.Parameters`` fields.
DEFAULT_PARAMETERS = profiles.RFC_9106_LOW_MEMORY


class PasswordRefused(ValueError):  # noqa: N818 - the contract's name
    """A password that breaks the policy; ``problems`` lists the translated reasons."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = list(problems)


@functools.lru_cache(maxsize=8)
def _hasher_for(options: tuple[tuple[str, Any], ...]) -> PasswordHasher:
    base = DEFAULT_PARAMETERS
    params = {name: getattr(base, name) for name in (
        "time_cost", "memory_cost", "parallelism", "hash_len", "salt_len")}
    params.update(options)
    return PasswordHasher(**params, type=Type.ID)


def hasher() -> PasswordHasher:
    """The argon2id hasher for the current app (its ``PASSWORD_HASH_PARAMETERS``, else the
    RFC 9106 low-memory profile)."""
    options: dict[str, Any] = {}
    if has_app_context():
        options = dict(current_app.config.get("PASSWORD_HASH_PARAMETERS") or {})
    return _hasher_for(tuple(sorted(options.items())))


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted, with the parameters in its own text)."""
    return hasher().hash(password)


def verify_password(stored: str, password: str) -> tuple[bool, str | None]:
    """Whether ``password`` matches ``stored``, and a new hash to store if ``stored`` is of
    an older kind (werkzeug pbkdf2/scrypt) or older argon2 parameters; else ``None``.

    An unusable or unreadable stored value never matches. The caller stores the new hash
    and commits; this function changes nothing.
    """
    if not stored or not password:
        return False, None
    ph = hasher()
    if stored.startswith("$argon2"):
        try:
            ph.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False, None
        return True, (ph.hash(password) if ph.check_needs_rehash(stored) else None)
    if stored.startswith(("pbkdf2:", "scrypt:")):
        try:
            ok = check_password_hash(stored, password)
        except (ValueError, TypeError):
            return False, None
        return ok, (ph.hash(password) if ok else None)
    # An unusable value (an invited or single-sign-on account) costs what a real check
    # costs, so the time a login takes does not tell such accounts apart.
    with contextlib.suppress(VerifyMismatchError, VerificationError, InvalidHashError):
        ph.verify(_decoy(ph), password)
    return False, None


_decoys: dict[int, str] = {}


def _decoy(ph: PasswordHasher) -> str:
    """A hash with ``ph``'s parameters that no password given at login matches."""
    key = id(ph)
    if key not in _decoys:
        _decoys[key] = ph.hash("no account has this password")
    return _decoys[key]


@functools.lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common(password: str) -> bool:
    """Whether ``password`` (case-insensitively) is among zxcvbn's 30,000 most common."""
    return password.lower() in _common_passwords()


def password_problems(password: str, *, user_inputs: Sequence[str] = ()) -> list[str]:
    """The reasons ``password`` is refused, translated; ``[]`` when it is acceptable.

    :param user_inputs: the account's own e-mail, name...: a password equal to one of
        them, containing it, or containing the e-mail's local part is refused.
    """
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(_("The password must have at least %(min)d characters.", min=MIN_LENGTH))
    elif len(password) > MAX_LENGTH:
        problems.append(_("The password must have at most %(max)d characters.", max=MAX_LENGTH))
    if password and is_common(password):
        problems.append(_("This password is among the most common ones; choose another."))
    lowered = password.lower()
    for value in user_inputs:
        value = (value or "").strip().lower()
        candidates = {value}
        if "@" in value:
            candidates.add(value.partition("@")[0])
        if any(len(c) >= 4 and c in lowered for c in candidates) or (value and value == lowered):
            problems.append(_("The password must not contain your e-mail address or name."))
            break
    return problems


def check_policy(password: str, *, user_inputs: Sequence[str] = ()) -> None:
    """Raise :class:`PasswordRefused` when :func:`password_problems` finds any."""
    problems = password_problems(password, user_inputs=user_inputs)
    if problems:
        raise PasswordRefused(problems)


def fingerprint(stored_hash: str) -> str:
    """A short digest of a stored hash: it changes whenever the password does, so a reset
    link and the sessions opened before a password change stop working. Not reversible to
    the hash."""
    import hashlib

    return hashlib.sha256(("comptoir-password:" + (stored_hash or "")).encode()).hexdigest()[:16]
