"""Onboarding a tenant: the shop, its plugins and settings, its first admin, in one go.

The browser form (``/platform/tenants/new``) and ``comptoir tenants create --admin-email``
both call :func:`onboard`. Everything happens in the caller's one transaction: the tenant
through :func:`comptoir.tenants.service.create_tenant` (the same checks as ever), then each
plugin switched on with its settings validated by the plugin's schema
(:mod:`comptoir.shop_settings.plugin_form`, the form the tenant admin uses later), then the
first tenant admin invited (:func:`comptoir.accounts.invitations.invite_user`) inside the new
tenant's scope. A refusal anywhere raises :class:`OnboardingError` naming the field; the
caller rolls back and nothing exists. On commit the tenants generation moves, so the new
storefront answers at ``/s/<slug>/`` and its domains on every worker's next request.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import current_app, g
from flask_babel import force_locale
from sqlalchemy import select, text
from werkzeug.datastructures import MultiDict

from comptoir.core import scoping
from comptoir.core.db import db
from comptoir.core.plugins import PluginError, PluginSettingsError, plugin_host
from comptoir.shop_settings import plugin_form
from comptoir.tenants import service
from comptoir.tenants.directory import TenantInfo, build_info
from comptoir.tenants.models import Tenant
from comptoir.tenants.urls import shop_base_url

ADMIN_ROLE = "tenant_admin"


class OnboardingError(ValueError):
    """Refused input; ``field`` names the form field (``slug``, ``plugin.newsletters``,
    ``admin_email``...) and ``problem`` says why. Nothing was created."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


@dataclass
class Onboarding:
    """What the platform admin asked for."""

    spec: service.TenantSpec
    #: Plugins to switch on, each with its posted settings form (``ps-<setting>`` inputs,
    #: as :func:`comptoir.shop_settings.plugin_form.parse` reads them) or ``None``.
    plugins: Mapping[str, MultiDict | None] = field(default_factory=dict)
    admin_email: str | None = None
    admin_name: str | None = None


def _set_rls(tenant_id: int | None, office_id: int | None) -> None:
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return
    connection.execute(
        text("SELECT set_config(:t, :tv, true), set_config(:o, :ov, true)"),
        {"t": scoping.RLS_SETTING, "tv": "" if tenant_id is None else str(tenant_id),
         "o": scoping.RLS_OFFICE_SETTING, "ov": "" if office_id is None else str(office_id)},
    )


@contextmanager
def inside_new_shop(tenant: Tenant) -> Iterator[TenantInfo]:
    """Work as a request of the tenant just added, *in the current transaction*.

    :func:`comptoir.tenants.urls.shop_context` would open a session of its own, which cannot
    see a tenant not yet committed; here the scope moves inside the transaction (on
    PostgreSQL the transaction-local ``app.tenant_id`` is set again, and set back after), and
    a request context whose base URL is the new shop's gives ``url_for`` its links and
    ``g.tenant`` its name, in its language.
    """
    connection = db.session.connection()
    row = connection.execute(select(Tenant.__table__).where(Tenant.id == tenant.id)).one()
    info = build_info(connection, row)
    outer = scoping.current_tenant_id(), scoping.current_office_id()
    outer_g = {k: g.pop(k) for k in ("tenant", "tenant_token") if k in g}
    token = scoping.activate(info.id, info.office_id)
    _set_rls(info.id, info.office_id)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        with app.test_request_context(base_url=shop_base_url(info)), \
                force_locale(info.locale):
            g.tenant = info
            try:
                yield info
            finally:
                g.pop("tenant", None)
                g.pop("tenant_token", None)
    finally:
        scoping.deactivate(token)
        _set_rls(*outer)
        for key, value in outer_g.items():
            setattr(g, key, value)


def _check_admin(email: str | None, name: str | None) -> tuple[str, str] | None:
    from comptoir.accounts import AccountError
    from comptoir.accounts.invitations import normalise_email

    email, name = (email or "").strip(), (name or "").strip()
    if not email and not name:
        return None
    if not email:
        raise OnboardingError("admin_email", "the first admin's e-mail is missing")
    if not name:
        raise OnboardingError("admin_name", "the first admin's name is missing")
    if len(name) > 200:
        raise OnboardingError("admin_name", "longer than 200 characters")
    try:
        return normalise_email(email), name
    except AccountError as exc:
        raise OnboardingError("admin_email", exc.message) from None


def onboard(request: Onboarding, invited_by: str) -> Tenant:
    """Create the tenant, its plugins and its first admin's invitation; the caller commits.

    :raises OnboardingError: naming the field; the caller must roll back (some rows may
        have been flushed).
    """
    from comptoir.accounts import AccountError
    from comptoir.accounts.invitations import invite_user
    from comptoir.core.mail import MailError

    admin = _check_admin(request.admin_email, request.admin_name)
    host = plugin_host()
    for name in request.plugins:
        if name not in host.optional:
            raise OnboardingError("plugins", f"unknown plugin '{name}' (installed: "
                                  f"{', '.join(host.names()) or 'none'})")
    try:
        tenant = service.create_tenant(request.spec)
        db.session.flush()
    except service.TenantError as exc:
        raise OnboardingError(exc.field, exc.problem) from None

    for name, posted in request.plugins.items():
        try:
            service.set_plugin_enabled(tenant, name, True)
            if posted:
                found = plugin_form.fields(tenant, name)
                values = plugin_form.parse(posted, name, found)
                if any(v is not None for v in values.values()):
                    plugin_form.save(tenant, name, values)
        except PluginSettingsError as exc:
            where = f"plugin.{name}" + (f".{exc.field}" if exc.field else "")
            raise OnboardingError(where, str(exc)) from None
        except PluginError as exc:
            raise OnboardingError("plugins", str(exc)) from None
    db.session.flush()

    if admin is not None:
        with inside_new_shop(tenant):
            try:
                invite_user(email=admin[0], name=admin[1], role=ADMIN_ROLE,
                            invited_by=invited_by)
                db.session.flush()
            except AccountError as exc:
                raise OnboardingError(f"admin_{exc.field}", exc.message) from None
            except MailError as exc:
                raise OnboardingError(
                    "admin_email", f"the invitation could not be sent: {exc}") from None
    return tenant
