"""Creating and changing tenants, with every value checked before anything is written.

The CLI and (later) the platform admin pages both go through here, so a bad slug or an
unknown currency gets the same clear message wherever it is typed, and a refused change
leaves the database as it was.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import is_currency
from flask import current_app
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.core.plugins import PluginSettingsError, plugin_host
from comptoir.core.themes import themes
from comptoir.tenants.models import KINDS, OFFICE, RESELLER, Tenant, TenantDomain, TenantPlugin
from comptoir.tenants.names import HOSTNAME, RESERVED_SLUGS, SLUG

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_TYPES = {"image/svg+xml", "image/png", "image/jpeg", "image/webp"}
MAX_LOGO_BYTES = 512 * 1024
NAME_MAX = 200


class TenantError(ValueError):
    """A tenant value was refused; ``field`` says which."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


@dataclass
class TenantSpec:
    slug: str
    name: str
    kind: str = OFFICE
    parent: str | None = None
    country: str | None = None
    locale: str | None = None
    currency: str | None = None
    timezone: str | None = None
    theme: str | None = None
    primary_color: str | None = None
    accent_color: str | None = None
    domains: tuple[str, ...] = ()
    logo: bytes | None = None
    logo_type: str | None = None
    public: bool = True


def get_tenant(slug: str) -> Tenant:
    tenant = db.session.scalars(select(Tenant).where(Tenant.slug == slug.strip().lower())).first()
    if tenant is None:
        raise TenantError("tenant", f"no tenant with slug '{slug}'")
    return tenant


def _check_locale(value: str) -> str:
    try:
        return str(Locale.parse(value))
    except (UnknownLocaleError, ValueError) as exc:
        raise TenantError("locale", f"'{value}' is not a locale Babel knows") from exc


# CLDR territory codes that are regions or placeholders, not countries.
NOT_COUNTRIES = frozenset({"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"})


def _check_country(value: str) -> str:
    code = value.upper()
    if (
        not re.fullmatch(r"[A-Z]{2}", code)
        or code in NOT_COUNTRIES
        or code not in Locale("en").territories
    ):
        raise TenantError("country", f"'{value}' is not an ISO 3166 country code")
    return code


def _check_currency(value: str) -> str:
    code = value.upper()
    if not is_currency(code):
        raise TenantError("currency", f"'{value}' is not an ISO 4217 currency code")
    return code


def _check_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise TenantError("timezone", f"'{value}' is not a time zone") from exc
    return value


def _check_domains(domains: Iterable[str], tenant_id: int | None = None) -> list[str]:
    platform = current_app.config["PLATFORM_DOMAIN"].lower()
    cleaned: list[str] = []
    for raw in domains:
        domain = raw.strip().lower().rstrip(".")
        if not HOSTNAME.match(domain):
            raise TenantError("domains", f"'{raw}' is not a host name")
        if platform and (domain == platform or domain.endswith("." + platform)):
            raise TenantError(
                "domains", f"'{domain}' belongs to the platform domain {platform}; "
                "its subdomains are given by slug"
            )
        if domain in cleaned:
            continue
        owner = db.session.scalars(
            select(TenantDomain).where(TenantDomain.domain == domain)
        ).first()
        if owner is not None and owner.tenant_id != tenant_id:
            raise TenantError("domains", f"'{domain}' already serves another tenant")
        cleaned.append(domain)
    return cleaned


def _check_brand(spec: TenantSpec) -> None:
    for field in ("primary_color", "accent_color"):
        value = getattr(spec, field)
        if value is not None and not COLOR.match(value):
            raise TenantError(field, f"'{value}' is not a colour like #1f3a5f")
    if spec.theme is not None and spec.theme not in themes().available():
        known = ", ".join(themes().available())
        raise TenantError("theme", f"no theme named '{spec.theme}' (available: {known})")
    if spec.logo is not None:
        if spec.logo_type not in LOGO_TYPES:
            raise TenantError("logo", f"type must be one of {', '.join(sorted(LOGO_TYPES))}")
        if len(spec.logo) > MAX_LOGO_BYTES:
            raise TenantError("logo", f"larger than {MAX_LOGO_BYTES // 1024} KiB")


def create_tenant(spec: TenantSpec) -> Tenant:
    """Check ``spec`` whole, then add the tenant to the session (the caller commits)."""
    slug = spec.slug.strip().lower()
    if not SLUG.match(slug):
        raise TenantError(
            "slug", f"'{spec.slug}' must be lower-case letters, digits and inner hyphens"
        )
    if slug in RESERVED_SLUGS:
        raise TenantError("slug", f"'{slug}' is reserved")
    if db.session.scalars(select(Tenant.id).where(Tenant.slug == slug)).first() is not None:
        raise TenantError("slug", f"'{slug}' is already taken")
    if not spec.name.strip():
        raise TenantError("name", "must not be empty")
    if len(spec.name.strip()) > NAME_MAX:
        raise TenantError("name", f"longer than {NAME_MAX} characters")
    if spec.kind not in KINDS:
        raise TenantError("kind", f"must be one of {', '.join(KINDS)}")

    parent = None
    if spec.kind == RESELLER:
        if not spec.parent:
            raise TenantError("parent", "a reseller belongs to a country office")
        parent = get_tenant(spec.parent)
        if parent.kind != OFFICE:
            raise TenantError("parent", f"'{spec.parent}' is not a country office")
    elif spec.parent:
        raise TenantError("parent", "an office has no parent")
    elif not (spec.country and spec.locale and spec.currency):
        raise TenantError("country", "an office needs a country, a locale and a currency")

    checked = {
        "country": _check_country(spec.country) if spec.country else None,
        "locale": _check_locale(spec.locale) if spec.locale else None,
        "currency": _check_currency(spec.currency) if spec.currency else None,
        "timezone": _check_timezone(spec.timezone) if spec.timezone else None,
    }
    _check_brand(spec)
    domains = _check_domains(spec.domains)
    tenant = Tenant(
        slug=slug,
        name=spec.name.strip(),
        kind=spec.kind,
        parent=parent,
        theme=spec.theme,
        primary_color=spec.primary_color,
        accent_color=spec.accent_color,
        logo=spec.logo,
        logo_type=spec.logo_type,
        public=spec.public,
        domains=[TenantDomain(domain=d) for d in domains],
        **checked,
    )
    db.session.add(tenant)
    return tenant


def _plugin_row(tenant: Tenant, plugin: str) -> TenantPlugin:
    for row in tenant.plugins:
        if row.plugin == plugin:
            return row
    row = TenantPlugin(plugin=plugin, enabled=None, settings={})
    tenant.plugins.append(row)
    return row


def set_plugin_enabled(tenant: Tenant, plugin: str, enabled: bool | None) -> None:
    """Turn ``plugin`` on or off for ``tenant`` (``None``: as its office says).

    Effective on the next request of every process, with no restart.
    """
    plugin_host().require(plugin)
    _plugin_row(tenant, plugin).enabled = enabled


def update_plugin_settings(tenant: Tenant, plugin: str, values: Mapping[str, Any]) -> dict:
    """Merge ``values`` into the tenant's own settings for ``plugin``, if the schema agrees.

    Validation covers the whole result, so a change cannot leave the settings invalid; on
    refusal nothing is changed and :class:`PluginSettingsError` names the field.
    """
    host = plugin_host()
    host.require(plugin)
    existing = next((r for r in tenant.plugins if r.plugin == plugin), None)
    current = dict(existing.settings or {}) if existing is not None else {}
    merged = host.validate_settings(plugin, {**current, **values})
    _plugin_row(tenant, plugin).settings = merged
    return merged


__all__ = [
    "PluginSettingsError",
    "TenantError",
    "TenantSpec",
    "create_tenant",
    "get_tenant",
    "set_plugin_enabled",
    "update_plugin_settings",
]


#: Tenant columns the settings page may change, with their checks (an office's only: a
#: reseller takes its office's language, currency and time zone).
SHOP_COLUMNS = {"locale": _check_locale, "currency": _check_currency,
                "timezone": _check_timezone}


def update_shop_settings(tenant: Tenant, values: Mapping[str, Any], actor: str) -> dict:
    """Merge ``values`` into the shop settings of ``tenant`` (a :class:`Tenant` row).

    ``values`` holds keys of :mod:`comptoir.tenants.settings` (``None`` removes the tenant's
    own value, so a reseller inherits its office's again) and, for an office, ``locale``,
    ``currency`` and ``timezone``, checked as when the tenant was created. Everything is
    checked before anything is written: on refusal :class:`~comptoir.tenants.settings.
    SettingsError` names the field and the row is as it was. Returns the tenant's own settings
    as saved; the caller commits, and every worker sees the change on its next request.
    """
    import logging

    from comptoir.tenants.settings import SettingsError, effective, validate

    is_reseller = tenant.parent_id is not None
    columns: dict[str, str] = {}
    for key in SHOP_COLUMNS.keys() & values.keys():
        if is_reseller:
            raise SettingsError(key, "your country office sets this for its resellers")
        raw = values[key]
        if not isinstance(raw, str) or not raw.strip():
            raise SettingsError(key, "must not be empty")
        try:
            columns[key] = SHOP_COLUMNS[key](raw.strip())
        except TenantError as error:
            raise SettingsError(error.field, error.problem) from None

    changes = {k: v for k, v in values.items() if k not in SHOP_COLUMNS}
    own = dict(tenant.settings or {})
    merged = {k: v for k, v in {**own, **changes}.items() if v is not None}
    locale = columns.get("locale") or tenant.locale or tenant.office.locale
    if isinstance(merged.get("languages"), list):
        # The shop's own locale is always offered first; listing it again says nothing.
        merged["languages"] = [code for code in merged["languages"] if code != locale]
    country = tenant.country or tenant.office.country
    if is_reseller:
        office = effective(tenant.office.settings, None, False)
        allowed = set(office.get("reseller_overrides", ()))
        # Values the office no longer lets it set are kept (they count again if the office
        # allows them again) but not held against an unrelated change.
        stale = {k: v for k, v in merged.items() if k not in allowed and k not in changes}
        checked = validate({k: v for k, v in merged.items() if k not in stale},
                           country=country, reseller_of=office)
        checked.update(stale)
    else:
        checked = validate(merged, country=country)

    for key, value in columns.items():
        if getattr(tenant, key) != value:
            setattr(tenant, key, value)
    if checked != (tenant.settings or {}):
        tenant.settings = checked  # a new dict: JSON columns do not see changes in place
    logging.getLogger("comptoir.tenants").info(
        "shop settings of %s changed by %s: %s", tenant.slug, actor,
        ", ".join(sorted({*columns, *changes})) or "nothing")
    return checked


__all__ += ["update_shop_settings"]


#: Longest suspension reason kept (an internal note, not a document).
REASON_MAX = 1000
_UNSET: Any = object()


def update_tenant(tenant: Tenant, *, name: str | None = None,
                  domains: Iterable[str] | None = None, theme: Any = _UNSET,
                  primary_color: Any = _UNSET, accent_color: Any = _UNSET,
                  logo: bytes | None = None, logo_type: str | None = None,
                  remove_logo: bool = False) -> None:
    """Change what the platform admin may change of an existing tenant, all checked first.

    The same checks as :func:`create_tenant` (through :func:`_check_brand` and
    :func:`_check_domains`), so a colour, theme or domain refused at creation is refused
    here too. Arguments left out keep their value; ``theme``, ``primary_color`` and
    ``accent_color`` given as ``None`` fall back to the office's. On refusal
    :class:`TenantError` names the field and nothing is changed; the caller commits.
    """
    new_name = tenant.name if name is None else name.strip()
    if not new_name:
        raise TenantError("name", "must not be empty")
    if len(new_name) > NAME_MAX:
        raise TenantError("name", f"longer than {NAME_MAX} characters")
    spec = TenantSpec(
        slug=tenant.slug, name=new_name,
        theme=tenant.theme if theme is _UNSET else (theme or None),
        primary_color=tenant.primary_color if primary_color is _UNSET else (primary_color or None),
        accent_color=tenant.accent_color if accent_color is _UNSET else (accent_color or None),
        logo=logo, logo_type=logo_type,
    )
    _check_brand(spec)
    checked_domains = None if domains is None else _check_domains(domains, tenant.id)

    tenant.name = new_name
    tenant.theme, tenant.primary_color = spec.theme, spec.primary_color
    tenant.accent_color = spec.accent_color
    if logo is not None:
        tenant.logo, tenant.logo_type = logo, logo_type
    elif remove_logo:
        tenant.logo, tenant.logo_type = None, None
    if checked_domains is not None:
        kept = {d.domain: d for d in tenant.domains}
        tenant.domains = [kept.get(d) or TenantDomain(domain=d) for d in checked_domains]


def suspend_tenant(tenant: Tenant, reason: str, actor: str) -> None:
    """Take ``tenant``'s storefront and API offline (503 everywhere); nothing is deleted.

    ``reason`` is required and stays internal (the platform's pages show it, visitors see a
    generic message). A suspended office's resellers stay up: they are shops of their own,
    with their own customers and contracts. Every worker sees the change on its next request.
    """
    import logging
    from datetime import UTC, datetime

    from comptoir.tenants.models import SUSPENDED

    cleaned = (reason or "").strip()
    if not cleaned:
        raise TenantError("reason", "say why the shop is suspended")
    if len(cleaned) > REASON_MAX:
        raise TenantError("reason", f"longer than {REASON_MAX} characters")
    if tenant.status == SUSPENDED:
        raise TenantError("status", f"'{tenant.slug}' is already suspended")
    tenant.status = SUSPENDED
    tenant.suspended_at = datetime.now(UTC)
    tenant.suspension_reason = cleaned
    logging.getLogger("comptoir.tenants").warning(
        "tenant %s suspended by %s: %s", tenant.slug, actor, cleaned)


def resume_tenant(tenant: Tenant, actor: str) -> None:
    """Bring a suspended tenant back exactly as it was."""
    import logging

    from comptoir.tenants.models import ACTIVE

    if tenant.status == ACTIVE:
        raise TenantError("status", f"'{tenant.slug}' is not suspended")
    tenant.status = ACTIVE
    tenant.suspended_at = None
    tenant.suspension_reason = None
    logging.getLogger("comptoir.tenants").warning("tenant %s resumed by %s", tenant.slug, actor)


__all__ += ["resume_tenant", "suspend_tenant", "update_tenant"]
