"""Reply templates: the answers the help desk writes once and reuses, with the ticket's values
put in (seed 003: "a contact centre with reply templates").

A template is plain text with placeholders in Jinja syntax, ``{{ customer.name }}``. They are
filled in a sandbox (a template is typed by staff, never trusted to reach Python objects) from
plain strings only, and a template is checked when it is saved: a misspelt placeholder
(``{{ custmer.name }}``) is refused there, naming it, instead of reaching a customer as an
empty gap or an error. Values that a ticket does not have (no order, no product) are empty.

The same approach as the newsletters' texts (a sandbox with ``StrictUndefined``), written
again here: a plugin does not import another.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from flask_babel import force_locale
from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select

from comptoir.toolkit import Order, TenantInfo, current_tenant, db, plugin_translations
from plugins.support.errors import TicketError
from plugins.support.models import ReplyTemplate, Ticket

translations = plugin_translations("plugins.support")
_ = translations.gettext
_l = translations.lazy_gettext

#: Every placeholder a template may use, as staff type it between ``{{ }}``.
PLACEHOLDERS: tuple[str, ...] = (
    "customer.name", "customer.email", "order.number", "order.status", "product.name",
    "product.sku", "ticket.number", "ticket.subject", "shop.name", "agent.name",
)
MAX_BODY = 10000
MAX_NAME = 100

#: Order statuses as a customer reads them, in the ticket's language.
_STATUS = {
    "pending_approval": _l("waiting for approval"), "awaiting_payment": _l("awaiting payment"),
    "placed": _l("placed"), "paid": _l("paid"), "shipped": _l("shipped"),
    "delivered": _l("delivered"), "cancelled": _l("cancelled"), "returned": _l("returned"),
}

_sandbox = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class TemplateRefused(TicketError):
    """A template that cannot be saved or filled; ``field`` is the form field at fault and
    ``placeholder`` the unknown placeholder, if that is the reason."""

    def __init__(self, message: str, field: str = "body", placeholder: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.placeholder = placeholder


def _referenced(tree: nodes.Template) -> Iterable[str]:
    """The placeholders ``tree`` reads: ``customer.name`` for ``{{ customer.name }}`` or
    ``{{ customer["name"] }}``, ``customer`` alone for a bare name."""
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    consumed: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if not isinstance(node.node, nodes.Name) or node.node.name in assigned:
            continue
        if isinstance(node, nodes.Getattr):
            key = node.attr
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            key = node.arg.value
        else:
            continue
        consumed.add(id(node.node))
        yield f"{node.node.name}.{key}"
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and id(node) not in consumed and node.name not in assigned:
            yield node.name


def check(body: str) -> None:
    """Refuse ``body`` if it is broken Jinja or reads a placeholder that does not exist.

    :raises TemplateRefused: naming the line of a syntax error, or the unknown placeholder
        and the ones that exist.
    """
    try:
        tree = _sandbox.parse(body)
    except TemplateSyntaxError as exc:
        raise TemplateRefused(_("The template cannot be read (line %(line)s): %(reason)s",
                                line=exc.lineno, reason=exc.message or "")) from None
    for name in _referenced(tree):
        if name not in PLACEHOLDERS:
            raise TemplateRefused(
                _("Unknown placeholder {{ %(name)s }}; use one of: %(known)s.", name=name,
                  known=", ".join(PLACEHOLDERS)), placeholder=name)
    # A filter that does not exist, a sandbox refusal ({{ "".__class__ }}...) shows here.
    _fill(body, _sample())


def _sample() -> dict[str, dict[str, str]]:
    return {"customer": {"name": "Ada Lovelace", "email": "ada@example.org"},
            "order": {"number": "1001", "status": "shipped"},
            "product": {"name": "Printer", "sku": "PRINTER"},
            "ticket": {"number": "1", "subject": "Question"},
            "shop": {"name": "Shop"}, "agent": {"name": "Agent"}}


def _fill(body: str, values: dict[str, dict[str, str]]) -> str:
    try:
        return _sandbox.from_string(body).render(**values)
    except TemplateRefused:
        raise
    except Exception as exc:  # a template error, {{ 1/0 }}, a sandbox refusal...
        raise TemplateRefused(_("The template cannot be filled in: %(reason)s",
                                reason=str(exc))) from None


def order_status_label(status: str) -> str:
    """An order status in words (in the current language); an unknown one as it is."""
    return str(_STATUS[status]) if status in _STATUS else status


def values(ticket: Ticket, agent: Any, tenant: TenantInfo | None = None) -> dict[str, Any]:
    """What the placeholders stand for on ``ticket``, as plain strings: the order is looked
    up in the current tenant by its number (gone or none: empty), the product is the one the
    ticket was opened about."""
    tenant = tenant if tenant is not None else current_tenant()
    order = None
    if ticket.order_number is not None:
        order = db.session.scalars(select(Order).where(
            Order.number == ticket.order_number)).first()
    with force_locale(ticket.locale or (tenant.locale if tenant else "en")):
        status = order_status_label(order.status) if order is not None else ""
    return {
        "customer": {"name": ticket.name or "", "email": ticket.email or ""},
        "order": {"number": str(order.number) if order is not None else "",
                  "status": status},
        "product": {"name": ticket.product_name or "", "sku": ticket.product_sku or ""},
        "ticket": {"number": str(ticket.number), "subject": ticket.subject or ""},
        "shop": {"name": tenant.name if tenant is not None else ""},
        "agent": {"name": str(getattr(agent, "name", "") or "")},
    }


def render(template_body: str, ticket: Ticket, agent: Any,
           tenant: TenantInfo | None = None) -> str:
    """``template_body`` with the ticket's values in, ready to go into the reply box.

    :raises TemplateRefused: the template is broken or uses an unknown placeholder (a
        template saved before a placeholder was withdrawn).
    """
    check(template_body)
    return _fill(template_body, values(ticket, agent, tenant))


# --- the templates themselves ------------------------------------------------------------


def _matches(locale: str, wanted: str) -> bool:
    return locale == wanted or locale.split("_")[0] == wanted.split("_")[0]


def templates_for(locale: str | None = None) -> list[ReplyTemplate]:
    """The templates this shop may use (its own and, for a reseller, its office's), those in
    ``locale`` first (``fr`` matches ``fr_FR``), then by name."""
    rows = db.session.scalars(select(ReplyTemplate).order_by(ReplyTemplate.name,
                                                            ReplyTemplate.locale,
                                                            ReplyTemplate.id)).all()
    if locale:
        rows = sorted(rows, key=lambda row: not _matches(row.locale, locale))
    return list(rows)


def get(template_id: int) -> ReplyTemplate | None:
    """A template this shop may read (its own or its office's), or ``None``."""
    return db.session.scalars(select(ReplyTemplate).where(
        ReplyTemplate.id == template_id)).first()


def is_own(template: Any, tenant: TenantInfo) -> bool:
    """Whether ``tenant`` wrote ``template`` (and so may change it); an office's templates
    are read-only to its resellers."""
    return template.tenant_id == tenant.id


def save(tenant: TenantInfo, template: ReplyTemplate | None, *, name: str, locale: str,
         body: str, actor: str) -> ReplyTemplate:
    """Create (``template`` is ``None``) or change one of ``tenant``'s templates, and commit.

    :raises TemplateRefused: a missing name or body, a language the shop does not offer, a
        name already used in that language, an unknown placeholder; nothing is saved.
    """
    # A browser counts a line break once against the textarea's maxlength, sends "\r\n".
    name, body = (name or "").strip(), (body or "").replace("\r\n", "\n").strip()
    if template is not None and not is_own(template, tenant):
        raise TemplateRefused(_("This template belongs to %(office)s: it cannot be changed "
                                "here.", office=tenant.office_name), field="name")
    if not name:
        raise TemplateRefused(_("Give the template a name."), field="name")
    if len(name) > MAX_NAME:
        raise TemplateRefused(_("The name is too long (%(max)s characters at most).",
                                max=MAX_NAME), field="name")
    if locale not in tenant.languages:
        raise TemplateRefused(_("Choose one of the shop's languages."), field="locale")
    if not body:
        raise TemplateRefused(_("Write the template's text."))
    if len(body) > MAX_BODY:
        raise TemplateRefused(_("The text is too long (%(max)s characters at most).",
                                max=MAX_BODY))
    check(body)
    taken = db.session.scalars(select(ReplyTemplate.id).where(
        ReplyTemplate.tenant_id == tenant.id, ReplyTemplate.name == name,
        ReplyTemplate.locale == locale)).first()
    if taken is not None and (template is None or taken != template.id):
        raise TemplateRefused(_("A template named “%(name)s” exists already in this "
                                "language.", name=name), field="name")
    if template is None:
        template = ReplyTemplate(name=name, locale=locale, body=body, created_by=actor)
        db.session.add(template)
    else:
        template.name, template.locale, template.body = name, locale, body
    template.updated_at = datetime.now(UTC)
    db.session.commit()
    return template


def delete(tenant: TenantInfo, template: ReplyTemplate) -> None:
    """Remove one of ``tenant``'s own templates, and commit.

    :raises TemplateRefused: the template is the office's.
    """
    if not is_own(template, tenant):
        raise TemplateRefused(_("This template belongs to %(office)s: it cannot be changed "
                                "here.", office=tenant.office_name), field="name")
    db.session.delete(template)
    db.session.commit()
