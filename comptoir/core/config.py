"""Settings: documented defaults, overridden by ``COMPTOIR_*`` environment variables.

Every setting an operator may change is listed in :data:`SETTINGS` with its default and a
sentence on what it does; the README's configuration table is written from the same list, so
the two cannot drift apart silently (``tests/core/test_config.py`` checks it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: type = str


SETTINGS: tuple[Setting, ...] = (
    Setting("SECRET_KEY", None, "Signs sessions and CSRF tokens. A random key is generated per "
            "instance folder when unset (fine for development, set it in production)."),
    Setting("INSTANCE_PATH", "", "Folder for the SQLite file, secret key and local themes. "
            "Default: `instance/` beside the package (Flask's instance folder)."),
    Setting("DATABASE_URL", None, "SQLAlchemy URL. Default: SQLite file `comptoir.sqlite3` in "
            "the instance folder. `postgresql://` URLs use psycopg 3."),
    Setting("PLATFORM_DOMAIN", "", "Domain whose subdomains are storefronts "
            "(`acme.shop.example` -> tenant `acme`). Empty: subdomains are not used."),
    Setting("PUBLIC_URL", "http://127.0.0.1:5000", "Where the platform is reached from outside, "
            "for links in e-mail sent by jobs: a shop without a domain of its own is "
            "`<PUBLIC_URL>/s/<slug>/`."),
    Setting("PLATFORM_NAME", "Comptoir", "Brand name shown beside every reseller's logo."),
    Setting("DEFAULT_LOCALE", "en", "Locale of pages outside any tenant (platform home)."),
    Setting("THEME_PATHS", "", "Extra folders holding themes, separated by `:`; searched "
            "before the built-in `themes/` folder."),
    Setting("PLUGINS", "", "Extra plugin modules to load by import path, comma separated "
            "(for plugin development; installed plugins use the `comptoir.plugins` entry point)."),
    Setting("DISABLE_ENTRY_POINTS", False, "Do not load plugins from entry points.", bool),
    Setting("LOG_FORMAT", "text", "`text` or `json`; every line carries the tenant slug."),
    Setting("LOG_LEVEL", "INFO", "Logging level of the `comptoir` loggers."),
    Setting("CATALOGUE_PAGE_SIZE", 24, "Products per catalogue page.", int),
    Setting("TENANT_CACHE_SIZE", 10000, "How many resolved hosts and slugs the tenant "
            "directory keeps in memory per process.", int),
    Setting("VIES_URL", "https://ec.europa.eu/taxation_customs/vies/rest-api/check-vat-number",
            "The European Commission's VIES REST endpoint, asked about EU VAT numbers by "
            "shops that turned `vies_check` on."),
    Setting("VIES_TIMEOUT", 10, "Seconds to wait for VIES before charging VAT instead of "
            "applying the reverse charge.", int),
    Setting("MAIL_URL", "", "Where e-mail goes: `smtp://[user:password@]host[:port]`, "
            "`smtp+starttls://...` or `smtps://...` (user and password percent-encoded). "
            "Empty: messages are written to the outbox folder instead of being sent."),
    Setting("MAIL_FROM", "Comptoir <no-reply@localhost>", "Sender of the platform's e-mail "
            "(`Name <address>`); its domain also ends every Message-ID."),
    Setting("MAIL_OUTBOX", "", "Folder where e-mail is written as `.eml` files when "
            "`COMPTOIR_MAIL_URL` is empty. Default: `outbox/` in the instance folder."),
    Setting("JOBS_URL", "", "Queue of the background jobs (Huey): `redis://host:6379/0`, "
            "`sqlite:////absolute/path.sqlite3`, or `immediate` (run each job when it is "
            "enqueued, for tests). Empty: SQLite file `jobs.sqlite3` in the instance folder."),
    Setting("REDIS_URL", "", "Redis at scale (`redis://host:6379/0`): the background jobs' "
            "queue when `COMPTOIR_JOBS_URL` is empty."),
    Setting("STRIPE_API_BASE", "", "Where the stripe plugin sends its API calls and loads "
            "Stripe.js from: empty for Stripe itself, or a localstripe server "
            "(`http://127.0.0.1:8420`) for tests and demos."),
    Setting("RATELIMIT_STORAGE_URL", "", "Where login throttling counts failures "
            "(Flask-Limiter storage): `redis://host:6379/1` to share counts between "
            "processes. Empty: `COMPTOIR_REDIS_URL` if set, else the memory of each process "
            "(counts then multiply with gunicorn's workers: set one of the two in production)."),
    Setting("LOGIN_LIMIT_PER_ACCOUNT", "10 per 15 minutes", "Failed logins allowed per "
            "account (shop + e-mail) before it is throttled; at most 100 per hour."),
    Setting("LOGIN_LIMIT_PER_IP", "50 per hour", "Failed logins allowed per client address, "
            "across accounts and shops, before it is throttled."),
    Setting("STAFF_IDLE_MINUTES", 30, "Staff and tenant admins are logged out after this "
            "many minutes without a request.", int),
    Setting("STAFF_SESSION_HOURS", 12, "Staff and tenant admins log in again after this "
            "many hours, active or not.", int),
    Setting("SSO_PRIVATE_PROVIDERS", False, "Let companies' OpenID providers live on private, "
            "loopback or link-local addresses (an intranet provider the shop's servers can "
            "reach). Off: such a provider is refused, so a company admin cannot make the shop "
            "fetch from its internal network.", bool),
    Setting("PROXIES", 0, "How many reverse proxies (nginx, a load balancer) stand in front "
            "of the app and set `X-Forwarded-For/-Proto/-Host/-Port`: their values are then "
            "trusted, so login throttling counts real client addresses and links use the "
            "public scheme and host. 0: no proxy, the headers are ignored.", int),
    Setting("SECURE_COOKIES", "auto", "Send session cookies only over https: `auto` (when "
            "`COMPTOIR_PUBLIC_URL` is https), `true` or `false`."),
)

PREFIX = "COMPTOIR_"


def _coerce(setting: Setting, raw: str) -> Any:
    if setting.kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if setting.kind is int:
        try:
            return int(raw)
        except ValueError as exc:
            raise ValueError(f"{PREFIX}{setting.name} must be a whole number, got {raw!r}") from exc
    return raw


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the settings as Flask config keys, environment first, then defaults."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(PREFIX + setting.name)
        values[setting.name] = setting.default if raw is None else _coerce(setting, raw)
    return values


def normalise_database_url(url: str) -> str:
    """Send plain ``postgresql://`` URLs to psycopg 3, the driver we install."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url
