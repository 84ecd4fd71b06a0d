"""What a tenant slug and a host name may look like.

Checked when a tenant is created and again on every request before any look-up, so a
malformed name is a plain 404 and never reaches the database or fills the cache.
"""

from __future__ import annotations

import re

#: A DNS label, so every slug can also be a subdomain of the platform domain.
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
RESERVED_SLUGS = frozenset({"www", "api", "admin", "static", "s", "theme", "healthz"})


def request_host(raw: str) -> str:
    """``Shop.Example:8443`` -> ``shop.example``; ``[::1]:5000`` -> ``::1``."""
    host = raw.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0].rstrip(".") if host.count(":") == 1 else host.rstrip(".")
