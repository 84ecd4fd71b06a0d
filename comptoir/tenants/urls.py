"""Links to a shop from outside any request: e-mail sent by jobs and CLI commands.

``url_for(..., _external=True)`` needs a request; a job that mails a shop's customers works
in ``app.test_request_context(base_url=...)`` whose base is where that shop is reached: its
first custom domain, else its subdomain of ``COMPTOIR_PLATFORM_DOMAIN`` (both https), else
``/s/<slug>/`` under ``COMPTOIR_PUBLIC_URL``, exactly the three ways a request finds its
tenant.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g
from flask_babel import force_locale

from comptoir.core.db import db
from comptoir.core.scoping import tenant_context
from comptoir.tenants.directory import TenantInfo


def shop_base_url(tenant: TenantInfo, fallback: str | None = None) -> str:
    """Where ``tenant``'s pages are reached; ``fallback`` replaces ``COMPTOIR_PUBLIC_URL``."""
    if tenant.domains:
        return f"https://{tenant.domains[0]}/"
    platform = current_app.config.get("PLATFORM_DOMAIN", "")
    if platform:
        return f"https://{tenant.slug}.{platform}/"
    base = fallback if fallback is not None else current_app.config["PUBLIC_URL"]
    return f"{base.rstrip('/')}/s/{tenant.slug}/"


@contextmanager
def shop_context(tenant: TenantInfo, locale: str | None = None) -> Iterator[None]:
    """Work as a request of ``tenant`` would: its rows, ``g.tenant``, its links, its (or the
    reader's) language. For jobs that render and mail pages' worth of content, and for a
    page that mails another shop's reader (an office's test send to a reseller's customer).

    It runs in an application context of its own, hence its own ``g`` and its own database
    session: a request around it keeps its tenant and its session untouched. Pass values
    in, and commit inside what you write inside.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    base = shop_base_url(tenant)
    with app.app_context(), app.test_request_context(base_url=base), \
            tenant_context(db.session, tenant.id, tenant.office_id):
        g.tenant = tenant
        with force_locale(locale or tenant.locale):
            yield
