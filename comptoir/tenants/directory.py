"""Which tenant a request is for, resolved once and cached per process.

A request names its tenant by custom domain, by subdomain of the platform domain, or by the
``/s/<slug>/`` path prefix. Looking that up is an indexed read, but it also needs the office
row and both tenants' plugin rows, so the result is cached as an immutable
:class:`TenantInfo` keyed by host or slug. Each request reads one integer, the
``tenants_generation`` counter, which every change to a tenant, its domains or its plugins
bumps in the same transaction; when it moved, the cache is dropped. The cost per request is
therefore one primary-key read whatever the number of tenants, and a plugin enabled in one
gunicorn worker is seen by every worker on their next request, with no restart.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.engine import Connection, Engine

from comptoir.core.scoping import TenantSession
from comptoir.tenants.models import (
    ACTIVE,
    RESELLER,
    SUSPENDED,
    PlatformState,
    Tenant,
    TenantDomain,
    TenantPlugin,
)
from comptoir.tenants.settings import effective as effective_settings

DEFAULT_THEME = "default"


@dataclass(frozen=True)
class TenantInfo:
    """What a request needs to know about its tenant, with the office's values inherited.

    Frozen and detached from any session, so it can be shared by threads and cached.
    """

    id: int
    slug: str
    name: str
    kind: str
    office_id: int
    office_slug: str
    office_name: str
    country: str
    locale: str
    currency: str
    timezone: str
    theme_chain: tuple[str, ...]
    primary_color: str
    accent_color: str
    has_logo: bool
    plugins: frozenset[str]
    plugin_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    domains: tuple[str, ...] = ()
    #: The shop's own settings with its office's and the defaults filled in
    #: (:mod:`comptoir.tenants.settings`).
    settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    #: Locales offered, the shop's own first; more than one shows a language switcher.
    languages: tuple[str, ...] = ()
    #: ``active`` or ``suspended`` (its own, never its office's): carried here so that
    #: resolution stays one cached look-up and a suspended shop answers 503 at once.
    status: str = ACTIVE

    @property
    def is_suspended(self) -> bool:
        return self.status == SUSPENDED

    @property
    def is_reseller(self) -> bool:
        return self.kind == RESELLER

    def settings_for(self, plugin: str) -> Mapping[str, Any]:
        """Effective settings of ``plugin`` for this tenant (office values filled in)."""
        return self.plugin_settings.get(plugin, MappingProxyType({}))


FALLBACK_LOCALE = "en"
FALLBACK_CURRENCY = "EUR"
FALLBACK_TIMEZONE = "UTC"
FALLBACK_PRIMARY = "#1f3a5f"
FALLBACK_ACCENT = "#e07a1f"


def _first(*values: Any) -> Any:
    return next((v for v in values if v not in (None, "")), None)


def build_info(conn: Connection, row: Any) -> TenantInfo:
    """Assemble a :class:`TenantInfo` from a tenant row, inheriting from its office."""
    office = row
    if row.parent_id is not None:
        office = conn.execute(select(Tenant.__table__).where(Tenant.id == row.parent_id)).one()
    ids = {row.id, office.id}
    plugin_rows = conn.execute(
        select(TenantPlugin.__table__).where(TenantPlugin.tenant_id.in_(ids))
    ).all()
    office_plugins = {p.plugin: p for p in plugin_rows if p.tenant_id == office.id}
    own_plugins = {p.plugin: p for p in plugin_rows if p.tenant_id == row.id}

    enabled: set[str] = set()
    settings: dict[str, Mapping[str, Any]] = {}
    for name in set(office_plugins) | set(own_plugins):
        own, inherited = own_plugins.get(name), office_plugins.get(name)
        decided = [r.enabled for r in (own, inherited) if r is not None and r.enabled is not None]
        if decided and decided[0]:
            enabled.add(name)
        merged: dict[str, Any] = {}
        if inherited is not None and office.id != row.id:
            merged.update(inherited.settings or {})
        if own is not None:
            merged.update(own.settings or {})
        settings[name] = MappingProxyType(merged)

    domains = conn.execute(
        select(TenantDomain.domain).where(TenantDomain.tenant_id == row.id)
    ).scalars().all()
    chain = tuple(dict.fromkeys(t for t in (row.theme, office.theme, DEFAULT_THEME) if t))
    shop_settings = effective_settings(office.settings, row.settings, row.id != office.id)
    locale = _first(row.locale, office.locale) or FALLBACK_LOCALE
    return TenantInfo(
        id=row.id,
        slug=row.slug,
        name=row.name,
        kind=row.kind,
        office_id=office.id,
        office_slug=office.slug,
        office_name=office.name,
        country=_first(row.country, office.country) or "",
        locale=locale,
        currency=_first(row.currency, office.currency) or FALLBACK_CURRENCY,
        timezone=_first(row.timezone, office.timezone) or FALLBACK_TIMEZONE,
        theme_chain=chain,
        primary_color=_first(row.primary_color, office.primary_color) or FALLBACK_PRIMARY,
        accent_color=_first(row.accent_color, office.accent_color) or FALLBACK_ACCENT,
        has_logo=row.logo is not None,
        plugins=frozenset(enabled),
        plugin_settings=MappingProxyType(settings),
        domains=tuple(sorted(domains)),
        settings=shop_settings,
        languages=tuple(dict.fromkeys((locale, *shop_settings.get("languages", ())))),
        status=getattr(row, "status", None) or ACTIVE,
    )


class TenantDirectory:
    """Per-process cache of resolved tenants; see the module docstring for the protocol."""

    def __init__(self, engine: Engine, max_entries: int = 10_000) -> None:
        self._engine = engine
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], TenantInfo | None] = OrderedDict()
        self._generation: int | None = None
        self._listeners: list[Callable[[], None]] = []
        self.misses = 0

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever the cache is dropped because tenants changed."""
        self._listeners.append(listener)

    @contextmanager
    def lookups(self) -> Iterator[_Lookups]:
        """One connection, one generation check, then any number of cached look-ups."""
        with self._engine.connect() as conn:
            generation = conn.execute(
                select(PlatformState.tenants_generation).where(PlatformState.id == 1)
            ).scalar()
            if generation is None:
                raise RuntimeError("platform_state has no row 1: run `comptoir db upgrade`")
            with self._lock:
                changed = generation != self._generation
                if changed:
                    self._entries.clear()
                    self._generation = generation
            if changed:
                for listener in self._listeners:
                    listener()
            yield _Lookups(self, conn, generation)

    def by_slug(self, slug: str) -> TenantInfo | None:
        with self.lookups() as found:
            return found.by_slug(slug)

    def by_domain(self, host: str) -> TenantInfo | None:
        with self.lookups() as found:
            return found.by_domain(host)

    def by_id(self, tenant_id: int) -> TenantInfo | None:
        with self.lookups() as found:
            return found.by_id(tenant_id)

    def forget(self) -> None:
        """Drop everything cached (the next look-up re-reads the generation too)."""
        with self._lock:
            self._entries.clear()
            self._generation = None
        for listener in self._listeners:
            listener()

    def _cached(
        self, key: tuple[str, str], conn: Connection, query: Any, generation: int
    ) -> TenantInfo | None:
        with self._lock:
            if key in self._entries and self._generation == generation:
                self._entries.move_to_end(key)
                return self._entries[key]
        self.misses += 1
        row = conn.execute(query).first()
        info = build_info(conn, row) if row is not None else None
        with self._lock:
            # Read under an older generation? Then it may already be stale: use it for this
            # request, but do not keep it for the next ones.
            if self._generation == generation:
                self._entries[key] = info
                if len(self._entries) > self._max:
                    self._entries.popitem(last=False)
        return info


class _Lookups:
    def __init__(self, directory: TenantDirectory, conn: Connection, generation: int) -> None:
        self._directory, self._conn, self._generation = directory, conn, generation

    def by_slug(self, slug: str) -> TenantInfo | None:
        slug = slug.lower()
        query = select(Tenant.__table__).where(Tenant.slug == slug)
        return self._directory._cached(("slug", slug), self._conn, query, self._generation)

    def by_domain(self, host: str) -> TenantInfo | None:
        query = (
            select(Tenant.__table__)
            .join(TenantDomain.__table__, TenantDomain.tenant_id == Tenant.id)
            .where(TenantDomain.domain == host)
        )
        return self._directory._cached(("domain", host), self._conn, query, self._generation)

    def by_id(self, tenant_id: int) -> TenantInfo | None:
        query = select(Tenant.__table__).where(Tenant.id == tenant_id)
        return self._directory._cached(("id", str(tenant_id)), self._conn, query, self._generation)


_TENANT_TABLES = (Tenant, TenantDomain, TenantPlugin)


@event.listens_for(TenantSession, "after_flush")
def _bump_generation(session: TenantSession, flush_context: Any) -> None:
    """Any flush that touched tenant configuration moves the generation in its transaction."""
    touched = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, _TENANT_TABLES) for obj in touched):
        session.connection().execute(
            update(PlatformState.__table__)
            .where(PlatformState.id == 1)
            .values(tenants_generation=PlatformState.tenants_generation + 1)
        )
