"""Logging in, and keeping a logged-in session honest.

:func:`log_in` is the one way every login method (password, invitation link, SSO) opens a
session: it rotates the session first, so anything an attacker planted before the login
(a fixated cookie, a CSRF token they know) is gone, then records what later requests check
(:func:`session_problem`):

- the password's fingerprint: changing or resetting the password ends every other session;
- for staff and tenant admins, the login time and the last request's time: their sessions
  end after ``STAFF_IDLE_MINUTES`` without a request and ``STAFF_SESSION_HOURS`` in all;
- the user's ``active`` flag is read on every request: a deactivated user is out at once.

Session cookies are HttpOnly and SameSite=Lax, and Secure when the platform is served over
https (:func:`init_app`).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, flash, g, session
from flask_babel import gettext as _
from flask_login import login_user

from comptoir.accounts import AccountError, clock
from comptoir.accounts.passwords import fingerprint

#: Roles whose sessions time out (they can see other people's orders and data).
TIMED_ROLES = ("staff", "tenant_admin")

AUTH_AT = "_acct_auth_at"
SEEN_AT = "_acct_seen_at"
PASSWORD_FP = "_acct_pw"
METHOD = "_acct_method"
ACCOUNT_KEYS = (AUTH_AT, SEEN_AT, PASSWORD_FP, METHOD)
#: Flask-Login's own session keys, dropped when a session ends.
LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember", "_remember_seconds")
#: Update the "last seen" time at most this often (seconds): every request would otherwise
#: rewrite the cookie.
SEEN_RESOLUTION = 30


def _kept_keys() -> tuple[str, ...]:
    """Session entries that survive the rotation: the visitor's own choices and cart, which
    an attacker gains nothing by planting (the cart joins the account's, as promised)."""
    from comptoir.core.language import SESSION_KEY as LANGUAGE
    from comptoir.orders.service import CART_KEY
    from comptoir.tax.display import SESSION_KEY as PRICE_DISPLAY

    return (CART_KEY, LANGUAGE, PRICE_DISPLAY)


def rotate_session() -> None:
    """Start a new session: clear it (keeping cart and language), and drop the request's
    cached CSRF token so the next form gets a fresh one."""
    kept = {key: session[key] for key in _kept_keys() if key in session}
    session.clear()
    session.update(kept)
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    g.pop(field, None)


def log_in(user: Any, *, method: str = "password") -> None:
    """Log ``user`` in on a fresh session, and join the visitor's cart to theirs.

    :param method: how they proved who they are ("password", "invite", "reset", "sso"...),
        kept in the session for the record.
    :raises AccountError: the user is deactivated (callers check first and say so).

    The caller commits (the cart merge and a re-hashed password are pending changes).
    """
    if not user.active:
        raise AccountError("active", _("This account is disabled."))
    rotate_session()
    login_user(user, force=True)
    stamp = int(clock.now().timestamp())
    session[AUTH_AT] = stamp
    session[SEEN_AT] = stamp
    session[PASSWORD_FP] = fingerprint(user.password_hash)
    session[METHOD] = method
    from flask_wtf.csrf import generate_csrf

    generate_csrf()  # a new token now, bound to the new session
    from comptoir.orders.service import merge_at_login

    merge_at_login(user)


def session_problem(user: Any) -> str | None:
    """Why the session naming ``user`` must end ("inactive", "password", "idle",
    "lifetime"), or ``None`` when it may go on (and its "last seen" time is moved on)."""
    if not user.active:
        return "inactive"
    stored = session.get(PASSWORD_FP)
    if stored is not None and stored != fingerprint(user.password_hash):
        return "password"
    if user.role in TIMED_ROLES:
        now = int(clock.now().timestamp())
        auth_at = session.get(AUTH_AT)
        seen_at = session.get(SEEN_AT, auth_at)
        if auth_at is None:
            return "lifetime"  # a staff session from before these checks: log in again
        config = current_app.config
        if now - auth_at > int(config["STAFF_SESSION_HOURS"]) * 3600:
            return "lifetime"
        if now - int(seen_at) > int(config["STAFF_IDLE_MINUTES"]) * 60:
            return "idle"
        if now - int(seen_at) >= SEEN_RESOLUTION:
            session[SEEN_AT] = now
    return None


def end_session(reason: str) -> None:
    """Drop the login from the session (called from the user loader, where Flask-Login's
    ``logout_user`` would recurse) and tell the visitor why on the next page."""
    for key in (*LOGIN_KEYS, *ACCOUNT_KEYS):
        session.pop(key, None)
    messages = {
        "idle": _("Your session expired after a period of inactivity. Please log in again."),
        "lifetime": _("Your session reached its maximum duration. Please log in again."),
        "password": _("Your password was changed. Please log in again."),
        "inactive": _("This account is disabled."),
    }
    flash(messages.get(reason, messages["lifetime"]), "warning")
    g.session_ended = reason


def checked_user(user: Any) -> Any:
    """What the user loader returns: ``user`` if their session may go on, else ``None``
    (and the session is ended)."""
    if user is None:
        return None
    reason = session_problem(user)
    if reason is not None:
        end_session(reason)
        return None
    return user


def init_app(app: Flask) -> None:
    """Cookie flags and session settings: HttpOnly, SameSite=Lax, Secure over https."""
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    secure = app.config.get("SECURE_COOKIES")
    if secure in (None, "", "auto"):
        secure = str(app.config.get("PUBLIC_URL", "")).startswith("https://")
    elif isinstance(secure, str):
        secure = secure.strip().lower() in {"1", "true", "yes", "on"}
    app.config["SESSION_COOKIE_SECURE"] = bool(secure)
    app.config["REMEMBER_COOKIE_SECURE"] = bool(secure)
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
