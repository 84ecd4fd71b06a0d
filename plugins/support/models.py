"""What the help desk keeps: every request and complaint with its whole conversation, so none
is forgotten or answered twice (seed 003), the answers staff reuse, the FAQ, and the
satisfaction surveys that follow a delivery.

- :class:`Ticket` is one request of one customer, with where it came from (a product page,
  an order, the account, an e-mail, a low survey score) and the 48-hour promise's clock:
  ``due_at`` is set while the ticket waits for staff, cleared when staff answer.
- :class:`TicketMessage` is one entry of its history: the customer's words, staff's answers,
  internal notes (never shown to the customer) and system entries (status, assignment). A
  staff answer that ended a wait records the deadline it met or missed, which is what the
  "answered in time" report counts.
- :class:`Attachment` holds a file of a message, in the database like the rest of the
  ticket: it is the tenant's, under the same row-level security, and a backup holds it.
- :class:`ReplyTemplate` and :class:`FaqEntry` are :class:`OfficeShared`: an office writes
  them once, its resellers use them and add their own.
- :class:`Survey` is the satisfaction questionnaire of one delivered order.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comptoir.toolkit import OfficeShared, TenantScoped, db

# Ticket statuses: waiting for staff, waiting for the customer, done.
OPEN, PENDING, CLOSED = "open", "pending", "closed"
STATUSES = (OPEN, PENDING, CLOSED)
# Where a ticket came from.
SOURCES = ("web", "product", "order", "account", "email", "staff", "survey")
# Kinds of history entries.
CUSTOMER, STAFF, NOTE, SYSTEM = "customer", "staff", "note", "system"


def _now() -> datetime:
    return datetime.now(UTC)


class Ticket(TenantScoped, db.Model):
    """One customer request, numbered per shop (``#12``) as customers quote it."""

    __tablename__ = "support_tickets"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "id"),
        Index("ix_support_tickets_queue", "tenant_id", "status", "due_at"),
        Index("ix_support_tickets_customer", "tenant_id", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer)
    #: The customer's account, if they have one in this shop.
    user_id: Mapped[int | None] = mapped_column(index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=OPEN)
    source: Mapped[str] = mapped_column(String(20))
    #: The customer's language: answers and notices are written in it.
    locale: Mapped[str] = mapped_column(String(10))
    product_sku: Mapped[str | None] = mapped_column(String(64))
    product_name: Mapped[str] = mapped_column(String(200), default="")
    order_number: Mapped[int | None] = mapped_column(Integer)
    #: The staff member in charge (their e-mail), or empty.
    assignee: Mapped[str] = mapped_column(String(254), default="")
    #: Set when something needs a person's eye before anything else: an e-mail that matched
    #: no ticket, an attachment refused.
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    #: While the ticket waits for staff: when the promise runs out (business hours counted).
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: When the current wait for staff began (the customer's message that started it).
    waiting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    warned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    first_answer_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    messages: Mapped[list[TicketMessage]] = relationship(
        back_populates="ticket", order_by="TicketMessage.id",
        primaryjoin="Ticket.id == TicketMessage.ticket_id",
        foreign_keys="TicketMessage.ticket_id", cascade="all, delete-orphan")


class TicketMessage(TenantScoped, db.Model):
    """One entry of a ticket's history; rows are added, never edited."""

    __tablename__ = "support_messages"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "ticket_id"],
                             ["support_tickets.tenant_id", "support_tickets.id"],
                             ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "id"),
        # An e-mail delivered twice (the MTA retried) lands once.
        UniqueConstraint("tenant_id", "email_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: Who wrote it: the customer's or the staff member's e-mail, or "system".
    author: Mapped[str] = mapped_column(String(254))
    body: Mapped[str] = mapped_column(Text, default="")
    #: web, email or staff.
    via: Mapped[str] = mapped_column(String(20), default="web")
    #: The Message-ID of the e-mail it came from, if any.
    email_message_id: Mapped[str | None] = mapped_column(String(250))
    #: For a staff answer that ended a wait: the deadline then, and whether it was met.
    answered_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    in_time: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    ticket: Mapped[Ticket] = relationship(
        back_populates="messages", primaryjoin="Ticket.id == TicketMessage.ticket_id",
        foreign_keys="TicketMessage.ticket_id")
    attachments: Mapped[list[Attachment]] = relationship(
        primaryjoin="TicketMessage.id == Attachment.message_id",
        foreign_keys="Attachment.message_id", order_by="Attachment.id",
        cascade="all, delete-orphan", lazy="selectin")


class Attachment(TenantScoped, db.Model):
    """A file a customer or staff member joined to a message."""

    __tablename__ = "support_attachments"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "message_id"],
                             ["support_messages.tenant_id", "support_messages.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(index=True)
    ticket_id: Mapped[int] = mapped_column(index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ReplyTemplate(OfficeShared, db.Model):
    """An answer staff reuse, in one language, with placeholders filled from the ticket."""

    __tablename__ = "support_reply_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "name", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class FaqEntry(OfficeShared, db.Model):
    """One question and its answer, in one language, shown and searched on the storefront."""

    __tablename__ = "support_faq"
    __table_args__ = (Index("ix_support_faq_locale", "tenant_id", "locale", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    locale: Mapped[str] = mapped_column(String(10))
    question: Mapped[str] = mapped_column(String(300))
    answer: Mapped[str] = mapped_column(Text)
    #: Extra words that should find it ("toner, cartouche").
    keywords: Mapped[str] = mapped_column(String(300), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Survey(TenantScoped, db.Model):
    """The satisfaction questionnaire of one delivered order: one per order, answered once."""

    __tablename__ = "support_surveys"
    __table_args__ = (UniqueConstraint("tenant_id", "order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer)
    order_number: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(Integer)
    email: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: 1 (very unhappy) to 5 (very happy); None until answered.
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The follow-up ticket a low score opened.
    ticket_id: Mapped[int | None] = mapped_column(Integer)
