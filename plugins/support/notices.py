"""The mail a ticket sends: the customer's acknowledgement and answers, the desk's warnings.

Customers' messages are transactional (``comptoir.toolkit.transactional_mail``: through the
newsletters plugin when the shop runs it, so they leave from the shop's own server with its
legal footer, else through the core's mail service). Each carries the ticket's reply
address as ``Reply-To``, so the customer's answer lands back in the ticket
(:mod:`.inbound`), and a key per event (``support:12:received``) so a retried job sends
nothing twice where the sender keeps keys.

Everything leaves from jobs queued after the change is committed: a slow or dead SMTP server
never slows the desk, and Huey retries a message that could not go.

Warnings to the desk (a promise about to run out) go to the assignee, else to the shop's
staff (``staff`` and ``tenant_admin`` accounts), through the core's mail service: they are
staff mail, not customer mail. Never to the desk's inbound address, whose mail becomes
tickets (:mod:`.inbound`): a warning there would open a ticket, warned about in turn.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import url_for
from flask_babel import format_datetime
from sqlalchemy import select

from comptoir.toolkit import (
    MailError,
    TenantInfo,
    as_tenant,
    db,
    enqueue,
    job,
    periodic,
    plugin_settings,
    plugin_translations,
    send_mail,
    shop_context,
    tenant_by_id,
    tenants_with_plugin,
    transactional_mail,
)
from plugins.support import tickets
from plugins.support.models import OPEN, Ticket, TicketMessage

translations = plugin_translations("plugins.support")
_ = translations.gettext

PLUGIN = "support"


def queue(what: str, tenant: TenantInfo, ticket: Ticket,
          message: TicketMessage | None = None) -> None:
    """Queue the customer's mail for ``what`` happened (``received``, ``answered``)."""
    enqueue("support.notice", tenant_id=tenant.id, ticket_id=ticket.id, what=what,
            message_id=message.id if message is not None else None)


def _tenant(tenant_id: int) -> TenantInfo | None:
    tenant = tenant_by_id(tenant_id)
    return tenant if tenant is not None and PLUGIN in tenant.plugins else None


def _hello(name: str) -> str:
    first = (name or "").split(" ")[0]
    return _("Hello %(name)s,", name=first) if first else _("Hello,")


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return format_datetime(aware, "medium")


def _ticket_link(tenant: TenantInfo, ticket: Ticket) -> str:
    """The ticket's page: in the customer's account, or for a guest (who has none) through
    a signed link that opens it without one."""
    if ticket.user_id is not None:
        return url_for("support.ticket", number=ticket.number, _external=True)
    return url_for("support.shared", token=tickets.access_token(tenant, ticket),
                   _external=True)


def received_words(tenant: TenantInfo, ticket: Ticket) -> tuple[str, str]:
    """Subject and body of the acknowledgement, in the current language."""
    hours = int(plugin_settings(PLUGIN, tenant).get("promise_hours", 48))
    subject = _("[#%(number)s] We have received your question: %(subject)s",
                number=ticket.number, subject=ticket.subject)
    parts = [_hello(ticket.name),
             _("Thank you for writing to %(shop)s. Your request number is %(number)s.",
               shop=tenant.name, number=ticket.number),
             translations.ngettext(
                 "Our help desk answers within %(num)d business hour, by %(due)s at the "
                 "latest.",
                 "Our help desk answers within %(num)d business hours, by %(due)s at the "
                 "latest.", hours, due=_when(ticket.due_at))]
    parts.append(_("Reply to this message to add details, or follow your request online: "
                   "%(url)s", url=_ticket_link(tenant, ticket)))
    return subject, "\n\n".join(parts)


def answered_words(tenant: TenantInfo, ticket: Ticket,
                   message: TicketMessage) -> tuple[str, str]:
    """Subject and body of a staff answer, in the current language."""
    subject = _("[#%(number)s] %(subject)s", number=ticket.number, subject=ticket.subject)
    parts = [_hello(ticket.name), message.body]
    if message.attachments:
        parts.append(translations.ngettext(
            "%(num)d file comes with this answer: see it on your request's page.",
            "%(num)d files come with this answer: see them on your request's page.",
            len(message.attachments)))
    parts.append(_("The help desk of %(shop)s", shop=tenant.name))
    parts.append(_("Reply to this message if you need anything more, or see your request "
                   "online: %(url)s", url=_ticket_link(tenant, ticket)))
    return subject, "\n\n".join(parts)


@job("support.notice", retries=5, retry_delay=300)
def notice(tenant_id: int, ticket_id: int, what: str, message_id: int | None = None) -> None:
    """Mail the customer about their ticket (acknowledgement or answer)."""
    tenant = _tenant(tenant_id)
    if tenant is None:
        return
    with as_tenant(tenant):
        ticket = tickets.by_id(ticket_id)
        message = None
        if message_id is not None:
            message = db.session.scalars(select(TicketMessage).where(
                TicketMessage.id == message_id)).first()
        if ticket is None or (what == "answered" and message is None):
            return
        with shop_context(tenant, ticket.locale):
            if what == "received":
                subject, body = received_words(tenant, ticket)
            else:
                subject, body = answered_words(tenant, ticket, message)
        key = f"support:{ticket.id}:{what}" + (f":{message_id}" if message_id else "")
        to, locale = ticket.email, ticket.locale
        reply_to = tickets.reply_address(tenant, ticket)
    transactional_mail(tenant, to=to, subject=subject, body=body, locale=locale,
                       dedupe_key=key, reply_to=reply_to)


# --- warnings to the desk ------------------------------------------------------------------


@periodic("support.warn_due", minutes=15)
def warn_due() -> int:
    """Warn the desk of every waiting ticket whose promise runs out within ``warn_hours``
    business hours, once per wait; returns how many warnings went."""
    sent = 0
    for tenant in tenants_with_plugin(PLUGIN):
        try:
            sent += _warn(tenant)
        except Exception:  # one shop's trouble must not stop the others' warnings
            from flask import current_app

            current_app.logger.exception("support: warnings of %s failed", tenant.slug)
    return sent


def _warn(tenant: TenantInfo, now: datetime | None = None) -> int:
    settings = plugin_settings(PLUGIN, tenant)
    if not int(settings.get("warn_hours", 8)):
        return 0
    now = now or datetime.now(UTC)
    sent = 0
    with as_tenant(tenant):
        waiting = list(db.session.scalars(select(Ticket).where(
            Ticket.status == OPEN, Ticket.warned_at.is_(None), Ticket.due_at.is_not(None))))
        for ticket in waiting:
            if tickets.due_state(tenant, ticket, now) not in (tickets.WARNING,
                                                               tickets.BREACHED):
                continue
            # Never the desk's inbound address: its mail is piped into `comptoir support
            # inbound`, where a warning would become a new ticket, warned about in turn.
            to = ([ticket.assignee] if ticket.assignee else
                  [email for email, _name in tickets.staff_members()])
            if not to or not tickets.claim_warning(ticket, now):
                continue
            with shop_context(tenant):
                subject, body = _warning_words(tenant, ticket, now)
            try:
                send_mail(to, subject, body, headers={"Auto-Submitted": "auto-generated"})
                sent += 1
            except MailError:
                from flask import current_app

                current_app.logger.exception("support: warning for ticket %s not sent",
                                             ticket.number)
    return sent


def _warning_words(tenant: TenantInfo, ticket: Ticket, now: datetime) -> tuple[str, Any]:
    link = url_for("support_staff.ticket", number=ticket.number, _external=True)
    subject = _("[#%(number)s] Answer due %(due)s: %(subject)s", number=ticket.number,
                due=_when(ticket.due_at), subject=ticket.subject)
    body = "\n\n".join((
        _("Ticket %(number)s from %(customer)s has not been answered yet; the promise to "
          "answer runs out at %(due)s.", number=ticket.number,
          customer=ticket.name or ticket.email, due=_when(ticket.due_at)),
        _("Answer it: %(url)s", url=link)))
    return subject, body
