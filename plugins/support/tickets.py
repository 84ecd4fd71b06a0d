"""Tickets: one set of rules for every way a request comes in and every way it moves on.

The storefront form, the customer's account, an e-mail, a staff member on the phone and a low
survey score all call :func:`open_ticket`; answers, notes, assignment and status changes go
through the functions below. That is what makes the desk's promises hold whatever the door:

- **nothing is lost**: bad input raises :class:`TicketError` before anything is stored, and
  what is stored is committed with its history entry in one transaction; an e-mail that is
  delivered twice (same Message-ID) lands once;
- **nothing is answered twice or forgotten**: a ticket waits for staff (``open``, with a
  ``due_at``) from the customer's first unanswered message until staff answer; a later
  message while it waits does not move the deadline, a message after an answer starts a new
  wait;
- **the promise is measured**: a staff answer that ends a wait records the deadline it
  answered and whether it was met, so the report counts answers, not tickets;
- **another tenant's ticket does not exist**: every query runs in the current tenant (the
  session's scoping), and numbers are per shop.

Every function works in the current tenant context (a request, or ``as_tenant``) and commits.
Mail to the customer leaves from jobs (:mod:`.notices`), after the commit: a slow SMTP
server never slows the desk, and a rolled-back change mails nobody.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from comptoir.toolkit import (
    Order,
    TenantInfo,
    db,
    plugin_settings,
    plugin_translations,
)
from plugins.support import hours
from plugins.support.errors import TicketError
from plugins.support.files import MAX_FILES, FileRefused, Upload, check
from plugins.support.models import (
    CLOSED,
    CUSTOMER,
    NOTE,
    OPEN,
    PENDING,
    SOURCES,
    STAFF,
    STATUSES,
    SYSTEM,
    Attachment,
    Ticket,
    TicketMessage,
)

__all__ = [
    "TicketError", "FileRefused", "Upload", "Report", "open_ticket", "customer_reply",
    "staff_reply", "add_note", "assign", "set_status", "mark_reviewed", "get",
    "for_customer", "for_account", "check_order", "check_product", "queue", "flag_for_review",
    "due_state", "report", "reply_address", "read_reply_address", "schedule", "staff_members",
    "by_id", "time_left", "status_label", "access_token", "read_access_token",
]

translations = plugin_translations("plugins.support")
_ = translations.gettext

PLUGIN = "support"
#: The longest message kept, in characters (a long log belongs in an attached file).
MAX_BODY = 20000
STAFF_ROLES = ("staff", "tenant_admin")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored one is UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# --- input ---------------------------------------------------------------------------------


def _line(value: Any, size: int, field: str, *, required: bool = False) -> str:
    text = value.strip() if isinstance(value, str) else "" if value is None else None
    if text is None or len(text) > size or _LINE_CONTROL.search(text):
        raise TicketError(_("%(field)s: at most %(size)s characters, on one line.",
                            field=field, size=size))
    if required and not text:
        raise TicketError(_("%(field)s: this field is required.", field=field))
    return text


def _body(value: Any) -> str:
    # Line breaks first: a browser counts one against a textarea's maxlength, sends "\r\n".
    text = value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""
    if not text:
        raise TicketError(_("Message: write what you would like to ask or say."))
    if len(text) > MAX_BODY:
        raise TicketError(_("Message: at most %(size)s characters; attach long texts as a "
                            "file.", size=MAX_BODY))
    return _CONTROL.sub("", text)


def _email(value: Any) -> str:
    text = _line(value, 254, _("E-mail address"), required=True).lower()
    if not _EMAIL.fullmatch(text):
        raise TicketError(_("E-mail address: %(email)s is not an address.", email=text))
    return text


def _files(tenant: TenantInfo, uploads: Iterable[Upload]) -> list[Upload]:
    found = list(uploads)
    if len(found) > MAX_FILES:
        raise TicketError(_("Attachments: at most %(n)s files per message.", n=MAX_FILES))
    limit = int(plugin_settings(PLUGIN, tenant).get("max_attachment_mb", 10)) * 1_000_000
    return [check(upload, limit) for upload in found]


def _attach(message: TicketMessage, ticket: Ticket, files: Sequence[Upload]) -> None:
    for upload in files:
        message.attachments.append(Attachment(
            ticket_id=ticket.id, filename=upload.filename, content_type=upload.content_type,
            size=len(upload.data), sha256=hashlib.sha256(upload.data).hexdigest(),
            data=upload.data))


# --- the clock -----------------------------------------------------------------------------


def schedule(tenant: TenantInfo) -> hours.Schedule:
    """The desk's business hours; every hour of every day if the settings are unusable
    (a promise kept early is better than none: staff pages show the settings' problem)."""
    try:
        return hours.Schedule.of(tenant)
    except hours.ScheduleError:
        current_app.logger.warning("support: business hours of %s unusable", tenant.slug)
        return hours.Schedule.always()


def _start_wait(tenant: TenantInfo, ticket: Ticket, now: datetime) -> None:
    promise = int(plugin_settings(PLUGIN, tenant).get("promise_hours", 48))
    ticket.status = OPEN
    ticket.waiting_since = now
    ticket.due_at = schedule(tenant).add(now, promise)
    ticket.warned_at = None
    ticket.closed_at = None


def _end_wait(ticket: Ticket) -> None:
    ticket.due_at = None
    ticket.waiting_since = None
    ticket.warned_at = None


# --- opening -------------------------------------------------------------------------------


def check_order(number: Any, user_id: int | None, email: str) -> int:
    """The order's number if it is the customer's own, else :class:`TicketError`."""
    try:
        value = int(number)
    except (TypeError, ValueError):
        value = None
    order = None
    if value is not None and 0 < value < 2**31:
        order = db.session.scalars(select(Order).where(Order.number == value)).first()
    if order is None or not _owns(order, user_id, email):
        raise TicketError(_("Order %(number)s is not one of yours: check its number on your "
                            "order confirmation.", number=number))
    return value


def _owns(order: Order, user_id: int | None, email: str) -> bool:
    if user_id is not None:
        if order.user_id == user_id:
            return True
        from comptoir.customers.models import User  # a core model the toolkit does not export

        user = db.session.get(User, user_id)
        return bool(user is not None and user.role == "company_admin"
                    and user.company_id is not None and order.company_id == user.company_id)
    # A guest's question about a guest order: the order's own address is the proof.
    return order.user_id is None and order.email.lower() == email


def check_product(sku: Any) -> tuple[str, str]:
    """The product's SKU and name, if the shop sells it, else :class:`TicketError`."""
    from comptoir.catalog.models import Product  # a core model the toolkit does not export

    text = _line(sku, 64, "SKU")
    product = db.session.scalars(select(Product).where(Product.sku == text)).first()
    if product is None:
        raise TicketError(_("Product %(sku)s is not in this shop's catalogue.", sku=text))
    return product.sku, product.name


def open_ticket(tenant: TenantInfo, *, email: str, name: str, subject: str, body: str,
                source: str, locale: str, user_id: int | None = None, phone: str = "",
                product_sku: str | None = None, order_number: int | str | None = None,
                uploads: Iterable[Upload] = (), via: str = "web",
                email_message_id: str | None = None, needs_review: bool = False,
                author: str | None = None, acknowledge: bool = True) -> Ticket:
    """Open a ticket in the current tenant with the customer's first message, start the
    promise's clock, commit, and queue the acknowledgement to the customer.

    :param source: where it came from (:data:`models.SOURCES`).
    :param author: who wrote the first message, if not the customer (staff on the phone).
    :param acknowledge: mail the customer the ticket's number and deadline; off for mail
        a program sent (an out-of-office reply must not be answered by another robot).
    :raises TicketError: a field missing or malformed, an order that is not the customer's,
        a product the shop does not sell, a file refused; nothing is stored.
    """
    if source not in SOURCES:
        raise TicketError(f"source: one of {', '.join(SOURCES)}")
    address = _email(email)
    values = {
        "email": address,
        "name": _line(name, 200, _("Name")),
        "phone": _line(phone, 40, _("Phone")),
        "subject": _line(subject, 200, _("Subject"), required=True),
        "locale": _line(locale, 10, "locale", required=True),
    }
    text = _body(body)
    if product_sku:
        values["product_sku"], values["product_name"] = check_product(product_sku)
    if order_number not in (None, ""):
        values["order_number"] = check_order(order_number, user_id, address)
    files = _files(tenant, uploads)
    now = _now()
    for attempt in range(5):
        ticket = Ticket(user_id=user_id, source=source, needs_review=needs_review,
                        created_at=now, updated_at=now, **values)
        _start_wait(tenant, ticket, now)
        try:
            with db.session.begin_nested():
                ticket.number = _next_number()
                db.session.add(ticket)
                db.session.flush()
        except IntegrityError:
            if attempt == 4:
                raise
            continue  # two tickets took the same number at once: take the next one
        break
    message = TicketMessage(ticket_id=ticket.id, kind=CUSTOMER, author=author or address,
                            body=text, via=via, email_message_id=email_message_id,
                            created_at=now)
    _attach(message, ticket, files)
    ticket.messages.append(message)
    db.session.commit()
    if acknowledge:
        _notify("received", tenant, ticket)
    return ticket


def _next_number() -> int:
    return (db.session.scalar(select(func.max(Ticket.number))) or 0) + 1


# --- the conversation ----------------------------------------------------------------------


def _landed(email_message_id: str | None) -> bool:
    return email_message_id is not None and db.session.scalar(
        select(func.count()).select_from(TicketMessage)
        .where(TicketMessage.email_message_id == email_message_id)) > 0


def customer_reply(tenant: TenantInfo, ticket: Ticket, body: str, *, author: str,
                   uploads: Iterable[Upload] = (), via: str = "web",
                   email_message_id: str | None = None) -> TicketMessage | None:
    """Add the customer's message; a ticket that was answered or closed waits for staff
    again, with a new deadline. ``None`` if this e-mail (its Message-ID) landed before.

    :raises TicketError: an empty or oversized message, a file refused.
    """
    text = _body(body)
    files = _files(tenant, uploads)
    if _landed(email_message_id):
        return None
    now = _now()
    message = TicketMessage(ticket_id=ticket.id, kind=CUSTOMER, author=author[:254],
                            body=text, via=via, email_message_id=email_message_id,
                            created_at=now)
    _attach(message, ticket, files)
    try:
        with db.session.begin_nested():
            ticket.messages.append(message)
            db.session.flush()
    except IntegrityError:
        return None  # the same e-mail, delivered twice at once
    if ticket.status != OPEN or ticket.due_at is None:
        _start_wait(tenant, ticket, now)
    ticket.updated_at = now
    db.session.commit()
    return message


def staff_reply(tenant: TenantInfo, ticket: Ticket, body: str, *, actor: str,
                uploads: Iterable[Upload] = (), close: bool = False) -> TicketMessage:
    """Answer the customer (mailed to them, with the ticket's reply address); an answer that
    ends a wait records whether the promise was kept. The ticket then waits for the
    customer (``pending``), or is closed.

    :raises TicketError: an empty or oversized answer, a file refused.
    """
    text = _body(body)
    files = _files(tenant, uploads)
    now = _now()
    message = TicketMessage(ticket_id=ticket.id, kind=STAFF, author=actor[:254], body=text,
                            via="staff", created_at=now)
    due = _aware(ticket.due_at)
    if due is not None:
        message.answered_due_at = due
        message.in_time = now <= due
    _attach(message, ticket, files)
    ticket.messages.append(message)
    _end_wait(ticket)
    ticket.first_answer_at = ticket.first_answer_at or now
    ticket.status = CLOSED if close else PENDING
    ticket.closed_at = now if close else None
    ticket.updated_at = now
    db.session.commit()
    _notify("answered", tenant, ticket, message)
    return message


def add_note(tenant: TenantInfo, ticket: Ticket, body: str, *, actor: str,
             uploads: Iterable[Upload] = ()) -> TicketMessage:
    """An internal note: for the desk only, never shown or mailed to the customer; it does
    not stop the clock (a note is not an answer).

    :raises TicketError: an empty or oversized note, a file refused.
    """
    text = _body(body)
    files = _files(tenant, uploads)
    message = TicketMessage(ticket_id=ticket.id, kind=NOTE, author=actor[:254], body=text,
                            via="staff", created_at=_now())
    _attach(message, ticket, files)
    ticket.messages.append(message)
    ticket.updated_at = message.created_at
    db.session.commit()
    return message


def _system(ticket: Ticket, actor: str, text: str) -> None:
    ticket.messages.append(TicketMessage(ticket_id=ticket.id, kind=SYSTEM, author=actor[:254],
                                         body=text, via="staff", created_at=_now()))
    ticket.updated_at = _now()


def staff_members() -> list[tuple[str, str]]:
    """``(email, name)`` of the current shop's staff, who tickets may be assigned to."""
    from comptoir.customers.models import User  # a core model the toolkit does not export

    rows = db.session.execute(select(User.email, User.name).where(
        User.role.in_(STAFF_ROLES)).order_by(User.name, User.email)).all()
    return [(row.email, row.name) for row in rows]


def assign(tenant: TenantInfo, ticket: Ticket, assignee: str, *, actor: str) -> None:
    """Put a staff member of this shop in charge (``""``: nobody), with a history entry.

    :raises TicketError: ``assignee`` is not staff of this shop.
    """
    who = (assignee or "").strip().lower()
    if who and who not in {email.lower() for email, _name in staff_members()}:
        raise TicketError(_("Assignee: %(email)s is not on this shop's staff.", email=who))
    if who == ticket.assignee:
        return
    ticket.assignee = who
    _system(ticket, actor, _("Assigned to %(who)s.", who=who) if who else _("Unassigned."))
    db.session.commit()


def set_status(tenant: TenantInfo, ticket: Ticket, status: str, *, actor: str) -> None:
    """Close, reopen, or mark as waiting for the customer, with a history entry. Reopening
    starts a new wait for staff; closing or waiting ends one *without* counting an answer.

    :raises TicketError: an unknown status.
    """
    if status not in STATUSES:
        raise TicketError(_("Status: one of %(names)s.", names=", ".join(STATUSES)))
    if status == ticket.status:
        return
    now = _now()
    if status == OPEN:
        _start_wait(tenant, ticket, now)
    else:
        _end_wait(ticket)
        ticket.status = status
        ticket.closed_at = now if status == CLOSED else None
    _system(ticket, actor, _("Status: %(status)s.", status=status_label(status)))
    db.session.commit()


def status_label(status: str) -> str:
    """The status in words, in the current language."""
    return {OPEN: _("waiting for the help desk"), PENDING: _("waiting for the customer"),
            CLOSED: _("closed")}.get(status, status)


def mark_reviewed(tenant: TenantInfo, ticket: Ticket, *, actor: str) -> None:
    """Clear the "to review" flag (an unmatched e-mail, a refused file seen to)."""
    if not ticket.needs_review:
        return
    ticket.needs_review = False
    _system(ticket, actor, _("Reviewed."))
    db.session.commit()


def flag_for_review(ticket: Ticket, reason: str, *, actor: str = "system") -> None:
    """Ask a person to look (a refused file, a reply from another address), with why."""
    ticket.needs_review = True
    _system(ticket, actor, reason)
    db.session.commit()


# --- finding -------------------------------------------------------------------------------


def get(number: Any) -> Ticket | None:
    """The current shop's ticket ``number`` (another shop's is ``None``, as if absent)."""
    try:
        value = int(number)
    except (TypeError, ValueError):
        return None
    if not 0 < value < 2**31:
        return None
    return db.session.scalars(select(Ticket).where(Ticket.number == value)).first()


def for_account(user_id: int) -> list[Ticket]:
    """The tickets of a customer's account, newest first: what their account pages show.

    Only the account's, not every ticket from its address: shop addresses are not verified
    (anyone may check out as a guest with any address, then open an account from the
    order), so matching by address could show one person another's conversation.
    """
    return list(db.session.scalars(select(Ticket).where(Ticket.user_id == user_id)
                                   .order_by(Ticket.created_at.desc(), Ticket.id.desc())))


def for_customer(user_id: int | None, email: str) -> list[Ticket]:
    """Everything the desk has from one customer, newest first: their account's tickets and
    those sent from their address (a guest's, an e-mail's). For staff, who know who they
    are talking to; customers see :func:`for_account`."""
    conditions = [Ticket.email == (email or "").strip().lower()]
    if user_id is not None:
        conditions.append(Ticket.user_id == user_id)
    return list(db.session.scalars(select(Ticket).where(or_(*conditions))
                                   .order_by(Ticket.created_at.desc(), Ticket.id.desc())))


def queue(*, status: str | None = "waiting", assignee: str | None = None,
          q: str = "") -> list[Ticket]:
    """Tickets for the desk. ``"waiting"``: those waiting for staff, soonest due first,
    tickets to review before all; a status name: those; ``None``: all, newest first.

    :param assignee: an e-mail, ``""`` for unassigned tickets, ``None`` for anyone's.
    """
    query = select(Ticket)
    if status == "waiting":
        query = query.where(or_(Ticket.status == OPEN, Ticket.needs_review.is_(True))).order_by(
            Ticket.needs_review.desc(), Ticket.due_at.is_(None), Ticket.due_at, Ticket.id)
    else:
        if status is not None:
            query = query.where(Ticket.status == status)
        query = query.order_by(Ticket.updated_at.desc(), Ticket.id.desc())
    if assignee is not None:
        query = query.where(Ticket.assignee == assignee.strip().lower())
    text = (q or "").strip()
    if text:
        like = f"%{text.lower()}%"
        found = [func.lower(Ticket.subject).like(like), Ticket.email.like(like),
                 func.lower(Ticket.name).like(like), Ticket.product_sku == text]
        if text.lstrip("#").isdigit() and len(text) < 10:
            found += [Ticket.number == int(text.lstrip("#")),
                      Ticket.order_number == int(text.lstrip("#"))]
        query = query.where(or_(*found))
    return list(db.session.scalars(query.limit(500)))


BREACHED, WARNING, ON_TIME = "breached", "warning", "ok"


def due_state(tenant: TenantInfo, ticket: Ticket, now: datetime | None = None) -> str | None:
    """Where a waiting ticket stands against the promise: ``breached``, ``warning`` (within
    ``warn_hours`` business hours of its deadline) or ``ok``; ``None`` if it waits for
    nobody on the desk."""
    due = _aware(ticket.due_at)
    if due is None:
        return None
    now = now or _now()
    if now >= due:
        return BREACHED
    warn = int(plugin_settings(PLUGIN, tenant).get("warn_hours", 8))
    left = schedule(tenant).remaining(now, due)
    return WARNING if warn and left.total_seconds() <= warn * 3600 else ON_TIME


def time_left(tenant: TenantInfo, ticket: Ticket, now: datetime | None = None) -> Any:
    """Business time left before the deadline (a ``timedelta``, negative once late)."""
    due = _aware(ticket.due_at)
    return None if due is None else schedule(tenant).remaining(now or _now(), due)


# --- the report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """How the promise was kept over a period."""

    answered: int  # waits ended by a staff answer
    in_time: int  # of which before the deadline
    open: int  # tickets waiting for staff now
    breached_open: int  # of which already late

    @property
    def share(self) -> Decimal | None:
        """The share answered in time (0 to 1), ``None`` with nothing answered."""
        if not self.answered:
            return None
        return (Decimal(self.in_time) / Decimal(self.answered)).quantize(Decimal("0.001"))


def report(tenant: TenantInfo, since: datetime, until: datetime,
           now: datetime | None = None) -> Report:
    """Answers given between ``since`` and ``until`` against their deadlines, and the tickets
    waiting now."""
    answered = select(func.count(), func.sum(
        case((TicketMessage.in_time.is_(True), 1), else_=0))).where(
        TicketMessage.kind == STAFF, TicketMessage.answered_due_at.is_not(None),
        TicketMessage.created_at >= since, TicketMessage.created_at < until)
    count, in_time = db.session.execute(answered).one()
    now = now or _now()
    open_count = db.session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.status == OPEN)) or 0
    late = db.session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.status == OPEN, Ticket.due_at <= now)) or 0
    return Report(answered=count or 0, in_time=int(in_time or 0), open=open_count,
                  breached_open=late)


# --- e-mail replies ------------------------------------------------------------------------


def _signature(tenant: TenantInfo, ticket_id: int) -> str:
    key = hashlib.sha256(b"support-reply-address:"
                         + str(current_app.config["SECRET_KEY"]).encode()).digest()
    digest = hmac.new(key, f"{tenant.id}:{ticket_id}".encode(), hashlib.sha256).hexdigest()
    return digest[:12]


#: How long a guest's link to their request works: long enough for any after-sales story.
ACCESS_DAYS = 400
_ACCESS_SALT = "support-ticket-access"


def access_token(tenant: TenantInfo, ticket: Ticket) -> str:
    """A signed token that opens ``ticket``'s page without an account: what a guest is sent
    to follow their request, read the desk's answers and download their files. Bound to the
    shop and the ticket, valid :data:`ACCESS_DAYS` days."""
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"],
                                  salt=_ACCESS_SALT).dumps([tenant.id, ticket.id])


def read_access_token(tenant: TenantInfo, token: str) -> int | None:
    """The ticket id a token of :func:`access_token` opens in ``tenant``, if it is genuine,
    not expired, and this shop's (another shop's token opens nothing)."""
    from itsdangerous import BadData, URLSafeTimedSerializer

    try:
        shop, ticket_id = URLSafeTimedSerializer(
            current_app.config["SECRET_KEY"], salt=_ACCESS_SALT).loads(
            token, max_age=ACCESS_DAYS * 86400)
    except (BadData, TypeError, ValueError):
        return None
    if shop != tenant.id or not isinstance(ticket_id, int):
        return None
    return ticket_id


def reply_address(tenant: TenantInfo, ticket: Ticket) -> str | None:
    """``support+<ticket>.<signature>@domain``: where the customer's e-mail replies go, so
    they land in this ticket; ``None`` if the shop has no inbound address set.

    The signature binds the ticket to the shop: a guessed or altered tag matches nothing
    (and the e-mail becomes a new ticket for review, not a message in someone's ticket).
    """
    inbound = plugin_settings(PLUGIN, tenant).get("inbound_address") or ""
    local, at, domain = inbound.partition("@")
    if not at:
        return None
    return f"{local}+{ticket.id}.{_signature(tenant, ticket.id)}@{domain}"


def read_reply_address(tenant: TenantInfo, address: str) -> int | None:
    """The ticket id a reply address of ``tenant`` names, if its signature holds."""
    inbound = (plugin_settings(PLUGIN, tenant).get("inbound_address") or "").lower()
    local, at, domain = inbound.partition("@")
    found = re.fullmatch(rf"{re.escape(local)}\+(\d{{1,10}})\.([0-9a-f]{{12}})@"
                         rf"{re.escape(domain)}", (address or "").strip().lower())
    if not at or found is None:
        return None
    ticket_id = int(found.group(1))
    if not hmac.compare_digest(found.group(2), _signature(tenant, ticket_id)):
        return None
    return ticket_id


def by_id(ticket_id: int) -> Ticket | None:
    """The current shop's ticket with this internal id (an e-mail's reply address)."""
    return db.session.scalars(select(Ticket).where(Ticket.id == ticket_id)).first()


def _notify(what: str, tenant: TenantInfo, ticket: Ticket,
            message: TicketMessage | None = None) -> None:
    from plugins.support import notices

    notices.queue(what, tenant, ticket, message)


def claim_warning(ticket: Ticket, now: datetime) -> bool:
    """Mark ``ticket`` warned, once: ``False`` if another run warned it already."""
    done = db.session.execute(
        update(Ticket).where(Ticket.id == ticket.id, Ticket.warned_at.is_(None),
                             Ticket.status == OPEN)
        .values(warned_at=now).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return done == 1
