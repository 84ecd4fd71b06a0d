"""The stable face of the core for plugins: import from here, and only from here.

Like CKAN's ``plugins.toolkit``, this module is a promise: names here keep their meaning
across releases while the core's insides move. A plugin that reaches past it may break on
any upgrade.

Example::

    from comptoir.toolkit import hookimpl, Markup

    @hookimpl
    def comptoir_page_blocks(tenant, slot):
        if slot == "home":
            return Markup("<p>Free delivery this week</p>")
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext, lazy_gettext, ngettext
from markupsafe import Markup

from comptoir.api import kit as api  # the REST API's helpers for plugins' resources
from comptoir.core.db import db
from comptoir.core.i18n import money, plugin_translations
from comptoir.core.jobs import enqueue, job, periodic
from comptoir.core.mail import FlatMessage, Mailer, MailError, MailRefused
from comptoir.core.mail import build_message as build_mail
from comptoir.core.mail import connection as mail_connection
from comptoir.core.mail import flat_message as flat_mail
from comptoir.core.plugins import hookimpl, hooks, plugin_host
from comptoir.core.scoping import OfficeShared, TenantScoped, current_tenant_id, tenant_context
from comptoir.core.themes import render
from comptoir.orders.models import Order
from comptoir.shop_settings.access import login_next
from comptoir.tax.tables import TAX_CLASSES, Rate, VatTable, VatTableError
from comptoir.tenants.directory import TenantInfo


@dataclass(frozen=True)
class Discount:
    """What a ``comptoir_order_discounts`` implementation gives: ``amount`` (a ``Decimal``,
    excluding VAT) off the lines at ``lines`` (indexes into the ``lines`` the hook was given;
    several lines share it in proportion to their net prices), labelled ``label`` on the
    order and the invoice, and named ``ref`` (``"promotions:coupon:12"``, the plugin's name
    first) in ``order.discounts`` so the plugin finds its claims when the order is booked.
    """

    ref: str
    label: str
    amount: Decimal
    lines: tuple[int, ...]


def current_tenant() -> TenantInfo | None:
    """The tenant of the current request, or ``None`` on platform pages."""
    from flask import g

    return g.get("tenant")


@contextmanager
def as_tenant(tenant: TenantInfo) -> Iterator[None]:
    """Work as ``tenant`` outside a request (jobs, CLI commands); see ``tenant_context``."""
    with tenant_context(db.session, tenant.id, tenant.office_id):
        yield


def plugin_settings(plugin: str, tenant: TenantInfo | None = None) -> dict[str, Any]:
    """Effective settings of ``plugin`` for ``tenant``: schema defaults, office, then own.

    A deep copy: changing it changes nothing cached for this or any other tenant.
    """
    tenant = tenant if tenant is not None else current_tenant()
    values = plugin_host().settings_defaults(plugin)
    if tenant is not None:
        values.update(tenant.settings_for(plugin))
    return copy.deepcopy(values)


def vat_table_hook(table: VatTable) -> Any:
    """A ``comptoir_vat_table`` implementation answering with ``table`` for its country.

    Bind it to the hook's name in the plugin module, as every locale plugin does::

        comptoir_vat_table = vat_table_hook(TABLE)
    """

    @hookimpl
    def comptoir_vat_table(tenant: Any, country: str) -> VatTable | None:
        return table if country == table.country else None

    return comptoir_vat_table


def settings_schema_hook(schema: dict[str, Any]) -> Any:
    """A ``comptoir_settings_schema`` implementation answering with ``schema``::

        comptoir_settings_schema = settings_schema_hook(SETTINGS_SCHEMA)
    """

    @hookimpl
    def comptoir_settings_schema() -> dict[str, Any]:
        return schema

    return comptoir_settings_schema


def change_order_status(tenant: TenantInfo, order: Any, to_status: str, actor: str,
                        note: str = "") -> None:
    """Move ``order`` on (``placed``, ``cancelled``...), claimed with one conditional UPDATE
    and committed with whatever the caller added to the session; ``ValueError`` if the step
    is not allowed or the order moved meanwhile. See :func:`comptoir.orders.service.change_status`.
    """
    from comptoir.orders.service import change_status

    change_status(tenant, order, to_status, actor, note)


def settle_payment(tenant: TenantInfo, order: Any, actor: str, note: str = "") -> bool:
    """Mark an order awaiting an online payment as paid, once: ``True`` if this call did it,
    ``False`` if it was paid (or cancelled) already. See :func:`comptoir.orders.service.settle`.
    """
    from comptoir.orders.service import settle

    return settle(tenant, order, actor, note)


def payment_deadline(order: Any) -> Any:
    """Until when an order awaiting an online payment may be paid (an aware ``datetime``),
    or ``None`` if it is not awaiting one. See :func:`comptoir.orders.service.payment_deadline`.
    """
    from comptoir.orders.service import payment_deadline as deadline

    return deadline(order)


def find_order(reference: str) -> Any:
    """The current tenant's order with this reference (the one payment providers are
    given), or ``None``."""
    from sqlalchemy import select

    from comptoir.orders.models import Order

    return db.session.scalars(select(Order).where(Order.reference == reference)).first()


def buyers_order(reference: str) -> Any:
    """The current visitor's own order with this reference (theirs, their company's for its
    admin, or a guest's placed in this browser session); aborts with a 404 otherwise, so that
    another buyer's order looks like no order at all."""
    from flask import abort

    from comptoir.orders.views import buyer_may_see

    order = find_order(reference) if isinstance(reference, str) and len(reference) <= 64 else None
    if order is None or not buyer_may_see(order):
        abort(404)
    return order


def csrf_exempt(view: Any) -> Any:
    """Let ``view`` take POSTs without the CSRF token: only for callers that prove who they
    are otherwise (a payment provider's signed webhook)."""
    from comptoir.app import csrf

    return csrf.exempt(view)


def find_tenant(slug: str) -> TenantInfo | None:
    """A tenant's snapshot by slug, for CLI commands."""
    from comptoir.tenants.resolution import directory

    return directory().by_slug(slug)


def tenant_by_id(tenant_id: int) -> TenantInfo | None:
    """A tenant's snapshot by id, for jobs, which are given ids, not objects."""
    from comptoir.tenants.resolution import directory

    return directory().by_id(tenant_id)


def tenants_with_plugin(plugin: str) -> list[TenantInfo]:
    """Every tenant that enabled ``plugin`` (resellers inherit their office's choice), for
    periodic jobs and CLI commands that walk the shops. Ends the current transaction, so
    that the caller may switch to each tenant in turn."""
    from sqlalchemy import select

    from comptoir.tenants.models import Tenant

    ids = list(db.session.scalars(select(Tenant.id).order_by(Tenant.id)))
    db.session.commit()
    found = [tenant_by_id(tenant_id) for tenant_id in ids]
    return [info for info in found if info is not None and plugin in info.plugins]


def resellers_of(office: TenantInfo) -> list[TenantInfo]:
    """The resellers attached to ``office`` (none for a reseller): an office's campaign or
    report that reaches its resellers' shops works through them one by one."""
    if office.is_reseller:
        return []
    from sqlalchemy import select

    from comptoir.tenants.models import Tenant

    ids = db.session.scalars(select(Tenant.id).where(Tenant.parent_id == office.id)
                             .order_by(Tenant.id)).all()
    return [info for info in (tenant_by_id(i) for i in ids) if info is not None]


def category_of(sku: str) -> str:
    """The category slug of the product sold under ``sku`` (a variant's SKU), or ``""``
    for a configuration, a service without category, or a SKU no longer in the catalogue."""
    from sqlalchemy import select

    from comptoir.catalog.models import Category, Product, Variant

    found = db.session.scalars(
        select(Category.slug).join(Product, Product.category_id == Category.id)
        .join(Variant, Variant.product_id == Product.id).where(Variant.sku == sku)).first()
    return found or ""


def return_deadline(tenant: TenantInfo, order: Any) -> Any:
    """The last day the customer may send ``order`` back (a ``date``), or ``None`` while it
    is not delivered. See :func:`comptoir.orders.service.return_deadline`."""
    from comptoir.orders.service import return_deadline as deadline

    return deadline(tenant, order)


def returned_quantities(order: Any) -> dict[int, int]:
    """Units back per order line id (received returns): what a commission plugin reverses.
    See :func:`comptoir.orders.service.returned_quantities`."""
    from comptoir.orders.service import returned_quantities as returned

    return returned(order)


def quotes_summary() -> dict[str, int]:
    """How many of the shop's quotes are in each status (``sent``, ``requested``...), for
    dashboards that link to the staff's quotes page (``staff_quotes.index_staff``)."""
    from sqlalchemy import func, select

    from comptoir.quotes.models import Quote

    return dict(db.session.execute(
        select(Quote.status, func.count(Quote.id)).group_by(Quote.status)).all())


def open_return(order: Any) -> Any:
    """The order's return still under way (requested or accepted), or ``None``."""
    from comptoir.orders.service import open_return as under_way

    return under_way(order)


def orders_with_open_return(order_ids: Any) -> set[int]:
    """The ids, among ``order_ids``, of orders with a return still under way: what
    :func:`open_return` says of each, in one query for a whole page of orders."""
    from sqlalchemy import select

    from comptoir.orders.models import ReturnRequest

    ids = set(order_ids)
    if not ids:
        return set()
    return set(db.session.scalars(select(ReturnRequest.order_id).where(
        ReturnRequest.order_id.in_(ids), ReturnRequest.status.in_(("requested", "accepted")))))


def N_(message: str) -> str:  # noqa: N802  (Babel's default marker keyword)
    """Mark ``message`` for the catalogue where no language is known yet (a module-level
    label, a scope's description); it is translated where it is shown."""
    return message


def shop_today(tenant: TenantInfo) -> Any:
    """Today's date in the shop's time zone."""
    from comptoir.tax.basis import today

    return today(tenant)


def send_mail(to: str | list[str], subject: str, text: str, html: str | None = None,
              **options: Any) -> str:
    """Send an e-mail through the core's mail service (SMTP, or the outbox folder in
    development); returns its Message-ID. See :mod:`comptoir.core.mail`."""
    from comptoir.core.mail import send

    return send(to, subject, text, html, **options)


def transactional_mail(tenant: TenantInfo, *, to: str, subject: str, body: str, locale: str,
                       dedupe_key: str, reply_to: str | None = None,
                       headers: dict[str, str] | None = None) -> None:
    """Send a customer the message the shop owes them (an acknowledgement, a survey, an
    answer): through the plugin that owns ``tenant``'s mail (``comptoir_transactional_mail``:
    the newsletters plugin sends from the shop's own server, with its legal footer, once per
    ``dedupe_key``), else through the core's mail service from ``COMPTOIR_MAIL_FROM``.

    Every argument is checked first, whoever sends: a bad address or a subject with a line
    break raises ``ValueError`` naming it, and nothing is sent. The core's fallback keeps no
    record of keys, but gives every message of one key the same Message-ID (so a mail
    client shows a repeat once); callers still call once per event. It sends at once and
    raises :class:`MailError` if the outbox or the SMTP server failed: the caller decides
    whether that undoes anything (usually not: log it).

    :param to: the customer's address (``addr`` or ``Name <addr>``).
    :param subject: the subject, already translated into ``locale``.
    :param body: the plain-text body, already translated.
    :param locale: the language of ``subject`` and ``body``.
    :param dedupe_key: unique per tenant for this message, the sender's name first
        (``support:ticket:12:ack``).
    :param reply_to: where answers should go (a ticket's reply address), or ``None``.
    :param headers: extra headers; those the mail service sets itself are refused.
    """
    import hashlib
    from email.utils import parseaddr

    from flask import current_app

    if not isinstance(dedupe_key, str) or not dedupe_key.strip() or len(dedupe_key) > 160:
        raise ValueError("dedupe_key: expected a key of 1 to 160 characters, e.g. "
                         "'support:ticket:12:ack'")
    if not isinstance(locale, str) or not locale.strip():
        raise ValueError("locale: expected the language of the message, e.g. 'fr_FR'")
    sender = current_app.config["MAIL_FROM"]
    extra = dict(headers or {})
    if not any(isinstance(name, str) and name.lower() == "auto-submitted" for name in extra):
        extra["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office loops
    # The same Message-ID for every message of one key: <tm.<digest>@<sender's domain>>.
    digest = hashlib.sha256(f"{tenant.id}:{dedupe_key}".encode()).hexdigest()[:32]
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    msg = build_mail(to, subject, body, sender=sender, reply_to=reply_to, headers=extra,
                     message_id=f"<tm.{digest}@{domain}>")  # checks every argument
    answered = hooks(tenant).comptoir_transactional_mail(
        tenant=tenant, to=to, subject=subject, body=body, locale=locale,
        dedupe_key=dedupe_key, reply_to=reply_to, headers=dict(headers or {}))
    if answered is not None:
        return
    with mail_connection() as mailer:
        mailer.send(msg)


def customer_event(tenant: TenantInfo, user: Any, event: str, **details: Any) -> None:
    """Tell the tenant's plugins that ``event`` happened to ``user`` (``loyalty_points_expiring``
    with ``points=120, expires_on="2026-12-31"``...): see the ``comptoir_customer_event``
    hook. ``details`` must be plain values."""
    hooks(tenant).comptoir_customer_event(tenant=tenant, user=user, event=event,
                                         details=dict(details))


def shop_base_url(tenant: TenantInfo, fallback: str | None = None) -> str:
    """Where ``tenant``'s pages are reached from outside (its domain, its subdomain, or
    ``/s/<slug>/`` under ``COMPTOIR_PUBLIC_URL``). See :mod:`comptoir.tenants.urls`."""
    from comptoir.tenants.urls import shop_base_url as base

    return base(tenant, fallback)


@contextmanager
def shop_context(tenant: TenantInfo, locale: str | None = None) -> Iterator[None]:
    """In a job: work as a request of ``tenant`` (its rows, ``g.tenant``, ``url_for`` links
    to its storefront, its language or ``locale``). See :mod:`comptoir.tenants.urls`."""
    from comptoir.tenants.urls import shop_context as context

    with context(tenant, locale):
        yield


def render_translated(translations: Any, template: str, **context: Any) -> str:
    """Render a plugin's template with the plugin's own catalogue as ``_``, ``gettext`` and
    ``ngettext``: the core's would not know its strings. ``translations`` is what
    :func:`plugin_translations` returned."""
    return render(template, _=translations.gettext, gettext=translations.gettext,
                  ngettext=translations.ngettext, **context)


def is_business(order: Any) -> bool:
    """Whether ``order`` was placed by a company (B2B rules apply) rather than a consumer."""
    return getattr(order, "company_id", None) is not None


def mail_footer(tenant: TenantInfo, locale: str) -> list[str]:
    """The legal footer of a marketing e-mail to a reader of ``locale``, from the locale
    plugins (``comptoir_mail_footer``), translated into that language."""
    from comptoir.legal.texts import mail_footer as footer

    return footer(tenant, locale)


def request_callback(*, user_id: int | None, name: str, email: str, phone: str, reason: str,
                     about: list[dict[str, str]] | None, note: str = "",
                     created_by: str = "system", dedupe_key: str | None = None) -> Any:
    """Ask the current tenant's help desk to call a customer back (``/staff/callbacks``),
    and commit; ``None`` if a task with ``dedupe_key`` exists already (nothing created).
    ``about`` lists what the customer looked at, ``[{"sku": ..., "name": ...}]``. A
    ``ValueError`` names a bad field. See :func:`comptoir.callbacks.service.request_callback`.
    """
    from comptoir.callbacks.service import request_callback as request

    return request(user_id=user_id, name=name, email=email, phone=phone, reason=reason,
                   about=about, note=note, created_by=created_by, dedupe_key=dedupe_key)


def _customer_match(model: Any, email: str, user_id: int | None) -> Any:
    from sqlalchemy import func, or_

    wanted = (email or "").strip().lower()
    conditions = [func.lower(model.email) == wanted] if wanted else []
    if user_id is not None:
        conditions.append(model.user_id == user_id)
    return or_(*conditions) if conditions else None


def customer_account(email: str) -> Any:
    """The current tenant's account with this e-mail address (any case), or ``None``: a
    help desk page about one customer starts from the address they wrote from."""
    from sqlalchemy import func, select

    from comptoir.customers.models import User

    wanted = (email or "").strip().lower()
    if not wanted:
        return None
    return db.session.scalars(select(User).where(func.lower(User.email) == wanted)).first()


def customer_returns(email: str, user_id: int | None = None) -> list[Any]:
    """The current tenant's return requests (``ReturnRequest``, with ``.order``) of orders
    placed with this address or by this account, newest first: what a help desk page about
    one customer shows (a reseller's staff see their own customers' returns)."""
    from sqlalchemy import select

    from comptoir.orders.models import ReturnRequest

    match = _customer_match(Order, email, user_id)
    if match is None:
        return []
    return list(db.session.scalars(
        select(ReturnRequest).join(Order, Order.id == ReturnRequest.order_id).where(match)
        .order_by(ReturnRequest.created_at.desc(), ReturnRequest.id.desc())))


def customer_callbacks(email: str, user_id: int | None = None) -> list[Any]:
    """The current tenant's callback tasks (``/staff/callbacks``) for this address or
    account, newest first, with their status and outcome (what the customer said)."""
    from sqlalchemy import select

    from comptoir.callbacks.models import CallbackTask

    match = _customer_match(CallbackTask, email, user_id)
    if match is None:
        return []
    return list(db.session.scalars(select(CallbackTask).where(match).order_by(
        CallbackTask.created_at.desc(), CallbackTask.id.desc())))


__all__ = [
    "N_",
    "api",
    "Discount",
    "Order",
    "Rate",
    "change_order_status",
    "buyers_order",
    "find_order",
    "category_of",
    "return_deadline",
    "open_return",
    "orders_with_open_return",
    "login_next",
    "quotes_summary",
    "request_callback",
    "customer_account",
    "customer_callbacks",
    "customer_returns",
    "returned_quantities",
    "payment_deadline",
    "tenant_by_id",
    "tenants_with_plugin",
    "resellers_of",
    "find_tenant",
    "enqueue",
    "job",
    "periodic",
    "csrf_exempt",
    "settle_payment",
    "send_mail",
    "transactional_mail",
    "build_mail",
    "flat_mail",
    "FlatMessage",
    "mail_connection",
    "Mailer",
    "MailError",
    "MailRefused",
    "shop_base_url",
    "shop_context",
    "customer_event",
    "shop_today",
    "TAX_CLASSES",
    "VatTable",
    "VatTableError",
    "is_business",
    "settings_schema_hook",
    "vat_table_hook",
    "mail_footer",
    "plugin_translations",
    "render_translated",
    "Markup",
    "OfficeShared",
    "as_tenant",
    "TenantInfo",
    "TenantScoped",
    "current_tenant",
    "current_tenant_id",
    "db",
    "gettext",
    "hookimpl",
    "hooks",
    "lazy_gettext",
    "money",
    "ngettext",
    "plugin_settings",
    "render",
]
