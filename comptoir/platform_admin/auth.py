"""Platform admins' log-in: their own session key, timeouts, and a failure throttle.

Why not Flask-Login: its user loader belongs to the shops (a user id is "<tenant>:<user>"),
and a platform admin belongs to no shop. The platform admin's identity lives under its own
session key, :data:`SESSION_KEY`, on the platform host only (the pages are 404 on a shop's
host or ``/s/<slug>/``), with the time of the log-in and of the last request, so the session
ends after :data:`IDLE_TIMEOUT` without a request and :data:`LIFETIME` after the log-in
whatever happens. The session is cleared at log-in (no fixation: a pre-login cookie carries
nothing over) and at log-out.

Throttle: :data:`MAX_FAILURES` wrong passwords for one account within :data:`FAILURE_WINDOW`
lock that account's log-in until the window ends, counted in its own row so every worker
sees the same count without Redis. When the app has the accounts' Flask-Limiter throttle
(:mod:`comptoir.accounts.throttle`), its per-account and per-address limits apply too (the
address limit stops password spraying across accounts). An unknown address costs the same
hash as a known one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import session
from sqlalchemy import func, select

from comptoir.core.db import db
from comptoir.platform_admin.models import PlatformAdmin

SESSION_KEY = "platform_admin"
IDLE_TIMEOUT = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)
MAX_FAILURES = 10
FAILURE_WINDOW = timedelta(minutes=15)


def now() -> datetime:
    """The clock of this module; tests replace it to move time without sleeping."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class AdminIdentity:
    """The logged-in platform admin, detached from any session (views switch tenants)."""

    id: int
    email: str
    name: str


class LoginRefused(Exception):
    """A log-in that did not succeed; ``throttled`` when the account is locked for now."""

    def __init__(self, throttled: bool = False, retry_after: int = 0) -> None:
        super().__init__("throttled" if throttled else "wrong e-mail or password")
        self.throttled, self.retry_after = throttled, retry_after


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    from comptoir.accounts.passwords import hash_password

    return hash_password("not the password of anyone")


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite gives naive datetimes back
        return value.replace(tzinfo=UTC)
    return value


#: The "tenant" the shared login limiter counts platform admins under (tenant ids start at 1).
PLATFORM_KEY = 0


def _login_limiter() -> Any:
    """The accounts' Flask-Limiter throttle (per account and per client address) when the
    app has it; the per-row counter works with or without it."""
    from flask import current_app

    from comptoir.accounts import throttle

    return throttle if throttle.EXTENSION in current_app.extensions else None


def authenticate(email: str, password: str) -> PlatformAdmin:
    """The active admin with this e-mail and password, else :class:`LoginRefused`.

    Counts the failure (and commits it, so a refused log-in still leaves the count);
    the caller commits the success.
    """
    from comptoir.accounts.passwords import verify_password

    address = normalise_email(email)
    limiter = _login_limiter()
    if limiter is not None:
        wait = limiter.retry_after(PLATFORM_KEY, address)
        if wait is not None:
            raise LoginRefused(throttled=True, retry_after=wait)
    admin = db.session.scalars(
        select(PlatformAdmin).where(func.lower(PlatformAdmin.email) == address)
    ).first()
    moment = now()
    if admin is not None:
        since = _aware(admin.failures_since)
        if since is not None and moment - since >= FAILURE_WINDOW:
            admin.failed_logins, admin.failures_since = 0, None
            since = None
        if admin.failed_logins >= MAX_FAILURES and since is not None:
            retry = int((since + FAILURE_WINDOW - moment).total_seconds()) + 1
            raise LoginRefused(throttled=True, retry_after=max(retry, 1))
    ok, new_hash = verify_password(admin.password_hash if admin is not None else _dummy_hash(),
                                   password or "")
    if admin is None or not ok or not admin.active:
        if limiter is not None:
            limiter.record_failure(PLATFORM_KEY, address)
        if admin is not None and not ok:
            admin.failed_logins += 1
            admin.failures_since = admin.failures_since or moment
            db.session.commit()
        raise LoginRefused()
    if limiter is not None:
        limiter.record_success(PLATFORM_KEY, address)
    if new_hash:
        admin.password_hash = new_hash
    admin.failed_logins, admin.failures_since = 0, None
    admin.last_login_at = moment
    return admin


def log_in(admin: PlatformAdmin) -> None:
    """Start a fresh session for ``admin``: everything the old cookie held is dropped."""
    session.clear()
    stamp = now().timestamp()
    session[SESSION_KEY] = {"id": admin.id, "since": stamp, "seen": stamp}
    session.permanent = False


def log_out() -> None:
    session.clear()


def current_admin() -> AdminIdentity | None:
    """The admin of this session if it is still valid (and refresh its idle clock).

    ``None`` when nobody logged in, the session sat idle past :data:`IDLE_TIMEOUT`, is older
    than :data:`LIFETIME`, or the account was deactivated or removed meanwhile.
    """
    entry = session.get(SESSION_KEY)
    if not isinstance(entry, dict):
        return None
    moment = now().timestamp()
    try:
        since, seen, admin_id = float(entry["since"]), float(entry["seen"]), int(entry["id"])
    except (KeyError, TypeError, ValueError):
        session.pop(SESSION_KEY, None)
        return None
    if moment - seen > IDLE_TIMEOUT.total_seconds() or moment - since > LIFETIME.total_seconds():
        session.pop(SESSION_KEY, None)
        return None
    admin = db.session.get(PlatformAdmin, admin_id)
    if admin is None or not admin.active:
        session.pop(SESSION_KEY, None)
        return None
    session[SESSION_KEY] = {**entry, "seen": moment}
    return AdminIdentity(admin.id, admin.email, admin.name)


def create_admin(email: str, name: str, password: str) -> PlatformAdmin:
    """Add a platform admin (the caller commits); the password policy applies.

    Raises :class:`ValueError` naming the field for a bad e-mail, an empty name or an
    address already registered, and :class:`comptoir.accounts.passwords.PasswordRefused`
    for a password the policy refuses.
    """
    from comptoir.accounts.passwords import PasswordRefused, hash_password, password_problems

    address = normalise_email(email)
    if "@" not in address or address.startswith("@") or address.endswith("@") \
            or any(c.isspace() for c in address) or len(address) > 254:
        raise ValueError(f"email: '{email}' is not an e-mail address")
    cleaned = (name or "").strip()
    if not cleaned:
        raise ValueError("name: must not be empty")
    if len(cleaned) > 200:
        raise ValueError("name: longer than 200 characters")
    taken = db.session.scalars(
        select(PlatformAdmin.id).where(func.lower(PlatformAdmin.email) == address)).first()
    if taken is not None:
        raise ValueError(f"email: '{address}' is already a platform admin")
    problems = password_problems(password, user_inputs=(address, cleaned))
    if problems:
        raise PasswordRefused(problems)
    admin = PlatformAdmin(email=address, name=cleaned, password_hash=hash_password(password),
                          active=True, failed_logins=0)
    db.session.add(admin)
    return admin
