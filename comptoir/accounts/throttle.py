"""Login throttling with Flask-Limiter: failures are counted per account and per address.

Why Flask-Limiter: it is the maintained rate limiter for Flask, and its storage (the
``limits`` library) works in memory for one process and on Redis for many, chosen by a URL
(``COMPTOIR_RATELIMIT_STORAGE_URL``). We use its storage and moving-window strategy
directly (``limiter.limiter``) rather than a route decorator, because only *failed*
attempts count, and a throttled attempt must be refused *before* the password is checked:

- per account (tenant + e-mail): ``COMPTOIR_LOGIN_LIMIT_PER_ACCOUNT`` failures, default
  10 per 15 minutes; the setting is refused at start-up if it would allow more than 100
  failures in an hour;
- per IP address, across accounts and shops: ``COMPTOIR_LOGIN_LIMIT_PER_IP``, default 50 per
  hour (password spraying);
- password-reset e-mails: 5 per hour per account, so the form cannot flood a mailbox.

A successful login clears its account's count (not the address's).
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse

EXTENSION = "comptoir.login_limiter"
#: Most failures one account may have in any hour, whatever the setting says (issue #9).
MAX_ACCOUNT_FAILURES_PER_HOUR = 100
RESET_MAIL_LIMIT = "5 per hour"
#: Single sign-on starts per client address: each one asks the company's provider.
SSO_START_LIMIT = "20 per minute"


def _most_per_hour(item: RateLimitItem) -> int:
    expiry = item.get_expiry()
    return item.amount * max(1, math.ceil(3600 / expiry))


def init_app(app: Flask) -> Limiter:
    """Bind a limiter of its own to ``app`` (memory, or Redis when configured) and check the
    configured limits; a bad limit stops the start-up with a message naming the setting."""
    for name in ("LOGIN_LIMIT_PER_ACCOUNT", "LOGIN_LIMIT_PER_IP"):
        try:
            item = parse(str(app.config[name]))
        except ValueError:
            raise ValueError(f"COMPTOIR_{name}: expected a limit like '10 per 15 minutes', "
                             f"got {app.config[name]!r}") from None
        if name == "LOGIN_LIMIT_PER_ACCOUNT" and \
                _most_per_hour(item) > MAX_ACCOUNT_FAILURES_PER_HOUR:
            raise ValueError(f"COMPTOIR_{name}: {app.config[name]!r} allows more than "
                             f"{MAX_ACCOUNT_FAILURES_PER_HOUR} failed logins per hour")
    # In memory, each gunicorn worker counts apart (and forgets at each restart): the
    # documented limits then hold per process only, so Redis is used whenever one is known.
    storage = (app.config.get("RATELIMIT_STORAGE_URL") or app.config.get("REDIS_URL")
               or "memory://")
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage,
                      strategy="moving-window", key_prefix="comptoir", headers_enabled=False)
    app.extensions[EXTENSION] = limiter
    return limiter


def _limiter() -> Limiter:
    return current_app.extensions[EXTENSION]


def _account_key(tenant_id: int, email: str) -> str:
    # Hashed: keys stay short and Redis holds no e-mail address.
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"{tenant_id}:{digest}"


def _checks(tenant_id: int, email: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    config = current_app.config
    return [
        (parse(config["LOGIN_LIMIT_PER_ACCOUNT"]),
         ("login-account", _account_key(tenant_id, email))),
        (parse(config["LOGIN_LIMIT_PER_IP"]), ("login-ip", get_remote_address() or "-")),
    ]


def retry_after(tenant_id: int, email: str) -> int | None:
    """Seconds until the next attempt for ``email`` from this address is allowed, or
    ``None`` when it may be tried now. Counts nothing."""
    strategy = _limiter().limiter
    waits = []
    for item, keys in _checks(tenant_id, email):
        if not strategy.test(item, *keys):
            reset = strategy.get_window_stats(item, *keys).reset_time
            waits.append(max(1, math.ceil(reset - time.time())))
    return max(waits) if waits else None


def record_failure(tenant_id: int, email: str) -> None:
    """Count one failed login for the account and the address."""
    strategy = _limiter().limiter
    for item, keys in _checks(tenant_id, email):
        strategy.hit(item, *keys)


def record_success(tenant_id: int, email: str) -> None:
    """Forget the account's failures once its password was given."""
    item, keys = _checks(tenant_id, email)[0]
    _limiter().limiter.clear(item, *keys)


def reset_mail_allowed(tenant_id: int, email: str) -> bool:
    """Count one reset e-mail for the account; false when it has had its share this hour."""
    return _limiter().limiter.hit(parse(RESET_MAIL_LIMIT), "reset-mail",
                                  _account_key(tenant_id, email))


def verification_mail_allowed(tenant_id: int, email: str) -> bool:
    """Count one verification e-mail asked again; false past its share (same as resets), so
    a logged-in session cannot turn the shop into a mail cannon."""
    return _limiter().limiter.hit(parse(RESET_MAIL_LIMIT), "verify-mail",
                                  _account_key(tenant_id, email))


def sso_start_allowed() -> bool:
    """Count one single sign-on start from this address; false past its share, so nobody
    can make the shop hammer companies' providers or probe which domains use them."""
    return _limiter().limiter.hit(parse(SSO_START_LIMIT), "sso-start",
                                  get_remote_address() or "-")
