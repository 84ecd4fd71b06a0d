"""What the newsletters plugin keeps: who agreed to hear from the shop and how, the proof of
it, campaigns with their translations, every message sent, and what customers looked at.

- :class:`Subscriber` is one address in one shop, with its current choices (status,
  channels, frequency, themes, language, tracking). It changes; the proof does not:
- :class:`ConsentEvent` is the append-only ledger: each request, confirmation, withdrawal and
  change of choices, with the wording the person saw, when, from which form and address.
  Nothing updates or deletes a row of it; it is what the shop shows a regulator.
- :class:`Suppression` lists addresses the shop must not write to any more (a hard bounce,
  a spam complaint), whatever their consent says.
- :class:`Campaign` and :class:`CampaignTranslation`: a message written once, in several
  languages, sent to a segment.
- :class:`Delivery` is one message to one address (a campaign's, or a trigger's). Its
  ``dedupe_key`` is unique per tenant, so a retried job or a second run of a trigger never
  mails anyone twice.
- :class:`ProductView`: what logged-in customers looked at, for browse abandonment and the
  "viewed without buying" segment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from comptoir.toolkit import TenantScoped, db

# Subscriber statuses.
PENDING, SUBSCRIBED, UNSUBSCRIBED = "pending", "subscribed", "unsubscribed"
# Consent ledger actions.
REQUESTED, CONFIRMED, WITHDRAWN, PREFERENCES, SUPPRESSED = (
    "requested", "confirmed", "withdrawn", "preferences", "suppressed")
# What a message is: marketing needs consent; transactional is sent regardless.
MARKETING, TRANSACTIONAL = "marketing", "transactional"
# Delivery statuses.
QUEUED, SENDING, SENT, FAILED, BOUNCED, COMPLAINED, SKIPPED = (
    "queued", "sending", "sent", "failed", "bounced", "complained", "skipped")
# Campaign statuses.
DRAFT, SCHEDULED, RUNNING, DONE, CANCELLED = "draft", "scheduled", "sending", "sent", "cancelled"

CHANNELS = ("email", "sms", "push")
FREQUENCIES = ("any", "weekly", "monthly")


def _now() -> datetime:
    return datetime.now(UTC)


class Subscriber(TenantScoped, db.Model):
    """One address that asked (or was asked) to receive the shop's newsletters."""

    __tablename__ = "newsletters_subscribers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        UniqueConstraint("tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased, as the mail service validated it.
    email: Mapped[str] = mapped_column(String(254))
    #: The customer account with this address in this shop, when there is one.
    user_id: Mapped[int | None] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    #: The language the person reads (``fr``, ``de``, ``en``...), one of the shop's.
    locale: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    #: Channels the person accepts; only ``email`` is sent today.
    channels: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["email"])
    #: ``any`` (each campaign), ``weekly`` or ``monthly`` at most.
    frequency: Mapped[str] = mapped_column(String(10), default="any")
    #: Themes the person wants (``promotions``, ``new_products``...); empty means all.
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Whether the person allows open and click tracking (off unless they say so).
    tracking: Mapped[bool] = mapped_column(default=False)
    phone: Mapped[str] = mapped_column(String(40), default="")
    birthday: Mapped[date | None] = mapped_column(Date)
    country: Mapped[str] = mapped_column(String(2), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def receives_marketing(self) -> bool:
        return self.status == SUBSCRIBED and "email" in (self.channels or [])


class ConsentEvent(TenantScoped, db.Model):
    """One line of a subscriber's consent history; never updated, never deleted."""

    __tablename__ = "newsletters_consent_events"
    __table_args__ = (
        Index("ix_newsletters_consent_subscriber", "tenant_id", "subscriber_id"),
        # Erasing a person (their right under the GDPR) erases their history with them.
        ForeignKeyConstraint(["tenant_id", "subscriber_id"],
                             ["newsletters_subscribers.tenant_id", "newsletters_subscribers.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column()
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    action: Mapped[str] = mapped_column(String(20))
    #: A short hash of the wording the person agreed to, and the wording itself.
    wording_version: Mapped[str] = mapped_column(String(16), default="")
    wording: Mapped[str] = mapped_column(Text, default="")
    #: Which form or channel: ``footer_form``, ``checkout``, ``email_link``, ``one_click``...
    source: Mapped[str] = mapped_column(String(40))
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    #: The choices after a ``preferences`` change, the bounce's diagnostic...
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Suppression(TenantScoped, db.Model):
    """An address the shop must not write to: hard bounce or complaint."""

    __tablename__ = "newsletters_suppressions"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(String(20))  # hard_bounce, complaint
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Campaign(TenantScoped, db.Model):
    """A newsletter written once, in the shop's languages, for a segment of its readers."""

    __tablename__ = "newsletters_campaigns"
    __table_args__ = (UniqueConstraint("tenant_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The theme readers choose in their preferences; empty: for every reader.
    theme: Mapped[str] = mapped_column(String(40), default="")
    #: A segment rule (see :mod:`plugins.newsletters.segments`); empty: every subscriber.
    segment: Mapped[str] = mapped_column(Text, default="")
    #: For an office: also the subscribers of its resellers (co-branded for them).
    include_resellers: Mapped[bool] = mapped_column(default=True)
    #: The language sent to readers of a language the campaign has no translation for;
    #: ``None``: the campaign cannot start until every reader's language is translated.
    fallback_locale: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: How many messages the audience counted when the campaign started.
    total: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class CampaignTranslation(TenantScoped, db.Model):
    """A campaign's subject and body in one language.

    The body is plain text with blank lines between paragraphs and Jinja placeholders
    (``{{ first_name }}``, ``{{ shop_name }}``), rendered in a sandbox; the HTML part is made
    from it, links included.
    """

    __tablename__ = "newsletters_campaign_translations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "campaign_id", "locale"),
        ForeignKeyConstraint(["tenant_id", "campaign_id"],
                             ["newsletters_campaigns.tenant_id", "newsletters_campaigns.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(index=True)
    locale: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)


class Delivery(TenantScoped, db.Model):
    """One message to one address, by the tenant that sends it (the campaign's owner).

    For an office's campaign reaching a reseller's subscriber, ``subscriber_tenant_id`` is
    the reseller: that is where the person's consent lives and where they unsubscribe.
    """

    __tablename__ = "newsletters_deliveries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "dedupe_key"),
        UniqueConstraint("tenant_id", "id"),
        Index("ix_newsletters_deliveries_campaign", "tenant_id", "campaign_id", "status"),
        Index("ix_newsletters_deliveries_email", "tenant_id", "email", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``c<campaign>:<tenant>:<subscriber>``, ``welcome:<subscriber>``, ``order:<id>:placed``
    #: ...: one message per key, ever.
    dedupe_key: Mapped[str] = mapped_column(String(160))
    campaign_id: Mapped[int | None] = mapped_column()
    #: The trigger that sent it (``welcome``, ``order_confirmation``...), or ``None``.
    trigger: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20), default=MARKETING)
    subscriber_tenant_id: Mapped[int | None] = mapped_column()
    subscriber_id: Mapped[int | None] = mapped_column()
    user_id: Mapped[int | None] = mapped_column()
    email: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(10), default="")
    status: Mapped[str] = mapped_column(String(20), default=QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(250), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    clicked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    bounced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProductView(TenantScoped, db.Model):
    """A logged-in customer opened a product page (kept 90 days)."""

    __tablename__ = "newsletters_product_views"
    __table_args__ = (Index("ix_newsletters_views_user", "tenant_id", "user_id", "viewed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column()
    product_id: Mapped[int] = mapped_column()
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    viewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
