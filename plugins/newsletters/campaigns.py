"""Campaigns: a newsletter written once per office, in its languages, sent to a segment of
its readers and of its resellers' readers, each in their own language.

The life of a campaign: a **draft** is written (name, theme, segment rule, one subject and
body per language), previewed and test-sent; it is **scheduled** or started at once;
:func:`start` then records one :class:`~.models.Delivery` per reader (so the audience is
fixed and counted, and a second start adds nobody twice), commits, and queues sending jobs
of ``batch_size`` deliveries; each :func:`send_batch` claims its rows and mails them over
one SMTP session; the campaign is **sent** once no row is left to send.

Why the checks happen where they do:

- content is checked when it is saved (an unknown placeholder is refused then, not at
  8,000 readers' expense at send time);
- a campaign with readers in a language it has no translation for, and no fallback
  language, does not start: nobody receives a message in a language they did not choose;
- consent is checked twice: when the audience is counted, and again for each reader when
  their message is built, so that somebody who unsubscribes after the start gets nothing;
- the frequency cap is applied when the audience is counted: a reader over it gets a
  ``skipped`` row ("frequency cap"), visible in the results, rather than a message.

A reseller's readers are the reseller's: their consent, their language and their links live
in the reseller's shop, so their rows are read as the reseller (``as_tenant``) and their
message is composed in the reseller's shop context (co-branded, links to the reseller's
storefront), while the delivery is recorded, counted and sent by the office.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError

from comptoir.toolkit import (
    FlatMessage,
    TenantInfo,
    as_tenant,
    db,
    enqueue,
    job,
    mail_connection,
    periodic,
    plugin_settings,
    plugin_translations,
    resellers_of,
    shop_context,
    tenant_by_id,
    tenants_with_plugin,
)
from plugins.newsletters import mailing, segments
from plugins.newsletters.models import (
    BOUNCED,
    CANCELLED,
    COMPLAINED,
    DONE,
    DRAFT,
    FAILED,
    MARKETING,
    QUEUED,
    RUNNING,
    SCHEDULED,
    SENDING,
    SENT,
    SKIPPED,
    SUBSCRIBED,
    Campaign,
    CampaignTranslation,
    Delivery,
    Subscriber,
    Suppression,
)

log = logging.getLogger("comptoir.newsletters")
_ = plugin_translations("plugins.newsletters").gettext
ngettext = plugin_translations("plugins.newsletters").ngettext
PLUGIN = "newsletters"

#: The statuses :func:`progress` counts, in the order the staff's page shows them.
STATUSES = (QUEUED, SENDING, SENT, FAILED, BOUNCED, SKIPPED)
#: What a skipped delivery's ``error`` says.
CAP_REASON = "frequency cap"
LEFT_REASON = "unsubscribed before sending"
CANCELLED_REASON = "campaign cancelled"
NO_TRANSLATION_REASON = "no translation"
#: Readers' consent is read again for every this many messages, just before they go: who
#: leaves while a long (or rate-limited) batch runs is honoured within seconds.
CONSENT_SLICE = 50


class CampaignError(ValueError):
    """A campaign that cannot be saved, scheduled or started as asked; ``field`` names
    the form field at fault (``name``, ``segment``, ``subject``...) and nothing changed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class RetryLater(RuntimeError):  # noqa: N818  (the job's own word for "try again")
    """Raised by :func:`send_batch` after recording its outcomes, so that Huey runs the
    job again for the deliveries that failed for a reason that may pass (server down, 4xx);
    rows already sent are never claimed again."""


@contextmanager
def _keeping(obj: Any) -> Iterator[None]:
    """Give ``obj`` back to the session after a block that visits another shop context
    (which empties the session), so that the caller's object still loads its attributes."""
    try:
        yield
    finally:
        if obj is not None and inspect(obj).detached:
            db.session.add(obj)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite gives back naive datetimes; every moment is stored in UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


# --- writing a campaign ------------------------------------------------------------------


def themes(tenant: TenantInfo) -> list[str]:
    """The themes readers of ``tenant`` may choose (its settings), for the theme select."""
    value = plugin_settings(PLUGIN, tenant).get("themes") or ""
    return [t for t in value.split(",") if t]


def languages(tenant: TenantInfo) -> list[str]:
    """The languages the shop offers: the ones a campaign may be translated into."""
    return list(tenant.languages or (tenant.locale,))


def _editable(campaign: Campaign) -> None:
    if campaign.status not in (DRAFT, SCHEDULED):
        raise CampaignError("status", _("This campaign is %(status)s: it can no longer be "
                                        "changed.", status=status_label(campaign.status)))


def save(tenant: TenantInfo, campaign: Campaign | None = None, *, name: str, theme: str = "",
         segment: str = "", include_resellers: bool = True,
         fallback_locale: str | None = None, actor: str = "") -> Campaign:
    """Create (``campaign`` ``None``) or change a campaign of the current tenant; commits.

    :raises CampaignError: naming the field: an empty name, a theme the shop does not
        offer, a segment rule that does not parse (with its position), a fallback language
        the shop does not offer, or a campaign already sending.
    """
    name = (name or "").strip()
    if not name:
        raise CampaignError("name", _("Give the campaign a name."))
    if len(name) > 200:
        raise CampaignError("name", _("The name is longer than 200 characters."))
    theme = (theme or "").strip()
    if theme and theme not in themes(tenant):
        raise CampaignError("theme", _("'%(theme)s' is not one of the shop's themes (%(themes)s).",
                                       theme=theme, themes=", ".join(themes(tenant))))
    segment = (segment or "").strip()
    try:
        segments.parse(segment)
    except segments.SegmentError as exc:
        raise CampaignError("segment", _("The segment rule does not parse: %(problem)s",
                                         problem=str(exc))) from None
    fallback = (fallback_locale or "").strip() or None
    if fallback is not None and fallback not in languages(tenant):
        raise CampaignError("fallback_locale", _(
            "'%(locale)s' is not a language of the shop (%(languages)s).",
            locale=fallback, languages=", ".join(languages(tenant))))
    if campaign is None:
        campaign = Campaign(created_by=actor)
        db.session.add(campaign)
    else:
        _editable(campaign)
    campaign.name = name
    campaign.theme = theme
    campaign.segment = segment
    campaign.include_resellers = bool(include_resellers)
    campaign.fallback_locale = fallback
    db.session.commit()
    return campaign


def translations_of(campaign: Campaign) -> dict[str, CampaignTranslation]:
    """The campaign's translations by locale."""
    rows = db.session.scalars(select(CampaignTranslation).where(
        CampaignTranslation.campaign_id == campaign.id)).all()
    return {row.locale: row for row in rows}


def save_translation(tenant: TenantInfo, campaign: Campaign, locale: str, subject: str,
                     body: str) -> CampaignTranslation:
    """Write the campaign's subject and body in ``locale``; commits.

    :raises CampaignError: a language the shop does not offer, an empty or too long
        subject, an empty body, or a placeholder that does not exist (``{{ frist_name }}``)
        or broken syntax, named as the renderer says it.
    """
    _editable(campaign)
    if locale not in languages(tenant):
        raise CampaignError("locale", _("'%(locale)s' is not a language of the shop "
                                        "(%(languages)s).", locale=locale,
                                        languages=", ".join(languages(tenant))))
    subject = (subject or "").strip()
    body = (body or "").replace("\r\n", "\n").strip()
    if not subject:
        raise CampaignError("subject", _("Write a subject."))
    if len(subject) > 200 or "\n" in subject:
        raise CampaignError("subject", _("The subject is one line of at most 200 "
                                         "characters."))
    if not body:
        raise CampaignError("body", _("Write the message."))
    try:
        mailing.check_content(subject, body)
    except mailing.ContentError as exc:
        raise CampaignError("body", str(exc)) from None
    row = translations_of(campaign).get(locale)
    if row is None:
        row = CampaignTranslation(campaign_id=campaign.id, locale=locale, subject=subject,
                                  body=body)
        db.session.add(row)
    else:
        row.subject, row.body = subject, body
    db.session.commit()
    return row


def delete_translation(campaign: Campaign, locale: str) -> bool:
    """Remove the campaign's text in ``locale``; ``False`` if there was none. Commits."""
    _editable(campaign)
    row = translations_of(campaign).get(locale)
    if row is None:
        return False
    db.session.delete(row)
    db.session.commit()
    return True


# --- who receives it ---------------------------------------------------------------------


def _reader_tenants(campaign: Campaign, tenant: TenantInfo) -> list[TenantInfo]:
    """The shops whose subscribers the campaign reaches: the office first."""
    shops = [tenant]
    if campaign.include_resellers and not tenant.is_reseller:
        shops += [r for r in resellers_of(tenant) if PLUGIN in r.plugins]
    return shops


@dataclass
class _Shop:
    """What one shop's pass over its subscribers found (read as that shop)."""

    tenant: TenantInfo
    readers: list[Subscriber] = field(default_factory=list)
    #: Marketing messages that shop itself sent per address: last 7 and 30 days.
    week: Counter[str] = field(default_factory=Counter)
    month: Counter[str] = field(default_factory=Counter)


def _sent_since(since: datetime) -> Counter[str]:
    rows = db.session.execute(
        select(Delivery.email, func.count(Delivery.id))
        .where(Delivery.kind == MARKETING, Delivery.status.in_(mailing.CAPPED_STATUSES),
               Delivery.created_at >= since)
        .group_by(Delivery.email)).all()
    return Counter({email: count for email, count in rows})


def _suppressed() -> set[str]:
    return set(db.session.scalars(select(Suppression.email)).all())


def _shop_pass(shop: TenantInfo, rule: segments.Rule, theme: str, *, counts: bool,
               now: datetime) -> _Shop:
    """Read the current tenant's (``shop``'s) readers of a campaign: subscribed, e-mail
    accepted, not suppressed, of the theme, in the segment; detached from the session."""
    found = _Shop(shop)
    rows = db.session.scalars(select(Subscriber).where(Subscriber.status == SUBSCRIBED)
                              .order_by(Subscriber.id)).all()
    blocked = _suppressed()
    rows = [s for s in rows
            if "email" in (s.channels or []) and s.email.lower() not in blocked
            and (not theme or not s.themes or theme in s.themes)]
    chosen = segments.matching(rule, rows, now=now)
    found.readers = [s for s in rows if s.id in chosen]
    if counts:
        found.week = _sent_since(now - timedelta(days=7))
        found.month = _sent_since(now - timedelta(days=30))
    for row in found.readers:
        db.session.expunge(row)
    return found


def _passes(campaign: Campaign, tenant: TenantInfo, *, counts: bool,
            now: datetime) -> list[_Shop]:
    """One pass per shop the campaign reaches, each read as that shop.

    Switching tenant needs a closed transaction, so this commits the session first; the
    ``campaign`` object is attached again afterwards.
    """
    rule = segments.parse(campaign.segment)
    theme = campaign.theme
    shops = _reader_tenants(campaign, tenant)
    passes = [_shop_pass(tenant, rule, theme, counts=counts, now=now)]
    office = tenant_by_id(tenant.office_id) if tenant.is_reseller else None
    if counts and office is not None:
        # A reseller's campaign counts its office's messages to the same addresses too:
        # the cap is per person, as in mailing.over_cap.
        db.session.commit()
        with _keeping(campaign), as_tenant(office):
            passes[0].week += _sent_since(now - timedelta(days=7))
            passes[0].month += _sent_since(now - timedelta(days=30))
            db.session.commit()
    if len(shops) == 1:
        return passes
    db.session.commit()
    with _keeping(campaign):
        for reseller in shops[1:]:
            with as_tenant(reseller):
                passes.append(_shop_pass(reseller, rule, theme, counts=counts, now=now))
    return passes


def _audience_of(passes: list[_Shop], sender_blocked: set[str]) -> list[tuple[TenantInfo,
                                                                              Subscriber]]:
    seen: set[str] = set(sender_blocked)
    readers: list[tuple[TenantInfo, Subscriber]] = []
    for shop in passes:
        for subscriber in shop.readers:
            email = subscriber.email.lower()
            if email in seen:  # one message per person, even if subscribed in two shops
                continue
            seen.add(email)
            readers.append((shop.tenant, subscriber))
    return readers


def audience(campaign: Campaign, tenant: TenantInfo) -> list[tuple[TenantInfo, Subscriber]]:
    """Who the campaign of ``tenant`` (the current tenant) would reach now, with the shop
    each reader belongs to: the office's subscribers, then (if ``include_resellers``) its
    resellers' that turned the plugin on. Only subscribed readers who accept e-mail, are
    not suppressed (by their shop or the sender), chose the campaign's theme (or every
    theme) and match its segment; one entry per address.

    Commits the session when resellers are read (see :func:`_passes`).
    """
    passes = _passes(campaign, tenant, counts=False, now=datetime.now(UTC))
    return _audience_of(passes, _suppressed())


def _language(locale: str) -> str:
    return (locale or "").replace("-", "_").split("_")[0].lower()


def translation_for(locale: str, available: dict[str, Any],
                    fallback: str | None) -> Any:
    """The translation a reader of ``locale`` gets: their locale, else one of their
    language (``fr`` for ``fr_FR``), else the fallback's, else ``None``."""
    if locale in available:
        return available[locale]
    for code, value in available.items():
        if _language(code) == _language(locale):
            return value
    if fallback:
        return translation_for(fallback, available, None)
    return None


def missing_among(readers: list[tuple[TenantInfo, Subscriber]], available: dict[str, Any],
                  fallback: str | None) -> dict[str, int]:
    """``{locale: readers}`` of ``readers`` whose language has no text in ``available``
    (nor the ``fallback``)."""
    missing: Counter[str] = Counter()
    for _shop, subscriber in readers:
        if translation_for(subscriber.locale, available, fallback) is None:
            missing[subscriber.locale] += 1
    return dict(sorted(missing.items()))


def missing_translations(campaign: Campaign, tenant: TenantInfo) -> dict[str, int]:
    """Readers' languages the campaign cannot be sent in (no translation, no fallback):
    ``{locale: readers}``; empty when it can start."""
    available = translations_of(campaign)
    fallback = campaign.fallback_locale
    return missing_among(audience(campaign, tenant), available, fallback)


def _missing_message(missing: dict[str, int]) -> str:
    listed = ", ".join(ngettext("%(locale)s (%(num)d reader)", "%(locale)s (%(num)d readers)",
                                count, locale=locale)
                       for locale, count in missing.items())
    return _("The campaign has no translation for %(languages)s: write them, or choose a "
             "fallback language, before sending.", languages=listed)


# --- preview and test send ---------------------------------------------------------------


def _sample_reader(tenant: TenantInfo, locale: str, email: str = "reader@example.org",
                   name: str = "") -> mailing.Reader:
    # subscriber_id 0 belongs to nobody: the preview shows the unsubscribe and preference
    # links as readers will see them, and following them changes nobody's subscription.
    return mailing.Reader(email=email, locale=locale, tenant=tenant,
                          name=name or _("Ada Lovelace"), subscriber_id=0)


def _content(campaign: Campaign, locale: str) -> mailing.Content:
    found = translation_for(locale, translations_of(campaign), campaign.fallback_locale)
    if found is None:
        raise CampaignError("locale", _("The campaign has no text in %(locale)s yet.",
                                        locale=locale))
    return mailing.Content(found.subject, found.body)


def preview(campaign: Campaign, locale: str, tenant: TenantInfo) -> EmailMessage:
    """The message a reader of ``locale`` in ``tenant`` would get (a sample reader), as
    built for sending; the translation the reader would get (the fallback's if none)."""
    content = _content(campaign, locale)
    db.session.commit()
    with _keeping(campaign), shop_context(tenant, locale):
        return mailing.compose(tenant, _sample_reader(tenant, locale), content,
                               kind=MARKETING)


def test_send(campaign: Campaign, tenant: TenantInfo, address: str, locale: str,
              name: str = "") -> str:
    """Mail the campaign in ``locale`` to ``address`` now, its subject marked "[TEST]";
    nothing is recorded, so it counts in no result. Returns the Message-ID.

    :raises CampaignError: no text in that language, an address that is not one, or the
        mail server refused or could not be reached (said in the message).
    """
    content = _content(campaign, locale)
    db.session.commit()
    try:
        with _keeping(campaign), shop_context(tenant, locale):
            msg = mailing.compose(tenant, _sample_reader(tenant, locale, address.strip(), name),
                                  content, kind=MARKETING, test=True)
    except mailing.ContentError as exc:
        raise CampaignError("body", str(exc)) from None
    except ValueError as exc:
        raise CampaignError("address", _("'%(address)s' is not an e-mail address: "
                                         "%(reason)s", address=address, reason=str(exc))) \
            from None
    try:
        with mail_connection(mailing.smtp_url(tenant)) as mailer:
            mailer.send(msg)
    except mailing.MailError as exc:
        raise CampaignError("address", _("The test could not be sent: %(reason)s",
                                         reason=str(exc))) from None
    return str(msg["Message-ID"])


# --- scheduling and starting -------------------------------------------------------------


def schedule(campaign: Campaign, at: datetime, now: datetime | None = None) -> None:
    """Start ``campaign`` at ``at`` (an aware moment in the future); commits.

    :raises CampaignError: a naive or past moment, or a campaign already sending or sent.
    """
    _editable(campaign)
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise CampaignError("scheduled_at", _("Give the moment with its time zone."))
    if at <= (now or datetime.now(UTC)):
        raise CampaignError("scheduled_at", _("This moment is past: choose one in the "
                                              "future."))
    campaign.scheduled_at = at.astimezone(UTC)
    campaign.status = SCHEDULED
    db.session.commit()


def cancel(campaign: Campaign) -> int:
    """Stop ``campaign``: a draft or scheduled one is not sent; a sending one sends no more
    (its messages still queued are skipped). Returns how many messages were stopped;
    commits. A sent or cancelled campaign is left as it is (0)."""
    if campaign.status in (DONE, CANCELLED):
        return 0
    stopped = db.session.execute(
        update(Delivery).where(Delivery.campaign_id == campaign.id,
                               Delivery.status.in_((QUEUED, FAILED)))
        .values(status=SKIPPED, error=CANCELLED_REASON)).rowcount or 0
    campaign.status = CANCELLED
    campaign.finished_at = datetime.now(UTC)
    db.session.commit()
    return stopped


def _capped(shop_of: dict[int, _Shop], sender: _Shop, reader_shop: TenantInfo,
            subscriber: Subscriber, cap: int) -> bool:
    """:func:`mailing.over_cap` for many readers at once: the counts were read in bulk
    (the sender's and the reader's shop), with the same rules."""
    email = subscriber.email.lower()
    own = shop_of[reader_shop.id] if reader_shop.id != sender.tenant.id else None
    week = sender.week[email] + (own.week[email] if own else 0)
    month = sender.month[email] + (own.month[email] if own else 0)
    in_window = month if mailing.frequency_window(subscriber.frequency) == 30 else week
    return mailing.capped(week, in_window, subscriber.frequency, cap)


def _insert(rows: list[dict[str, Any]]) -> None:
    """Insert delivery rows in one statement, ignoring a key another start recorded
    meanwhile (the unique ``dedupe_key``: nobody twice)."""
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        db.session.execute(dialect_insert(Delivery).on_conflict_do_nothing(
            index_elements=["tenant_id", "dedupe_key"]), rows)
        return
    for row in rows:  # another database: one by one, each in a savepoint
        try:
            with db.session.begin_nested():
                db.session.execute(insert(Delivery), [row])
        except IntegrityError:
            continue


def dedupe_key(campaign_id: int, reader_tenant_id: int, subscriber_id: int) -> str:
    return f"c{campaign_id}:{reader_tenant_id}:{subscriber_id}"


def start(campaign: Campaign, tenant: TenantInfo, now: datetime | None = None) -> int:
    """Send ``campaign`` of ``tenant`` (the current tenant) to its audience now.

    Records one delivery per reader (``skipped`` for readers over the frequency cap), sets
    the campaign ``sending`` with its total, commits, then queues the sending jobs. Running
    it again (a doubled periodic job, a second click) adds only readers who were not there
    yet, and queues again only rows still waiting. Returns how many deliveries it added.

    :raises CampaignError: the campaign was sent or cancelled already, or readers' languages
        have no translation (the message names them and their number); nothing is sent.
    """
    now = now or datetime.now(UTC)
    if campaign.status in (DONE, CANCELLED):
        raise CampaignError("status", _("This campaign is %(status)s: it cannot be sent "
                                        "again.", status=status_label(campaign.status)))
    campaign_id = campaign.id
    available = translations_of(campaign)
    if not available:
        raise CampaignError("translations", _("Write the campaign in at least one language "
                                               "before sending it."))
    passes = _passes(campaign, tenant, counts=True, now=now)
    readers = _audience_of(passes, _suppressed())
    missing = missing_among(readers, available, campaign.fallback_locale)
    if missing:
        raise CampaignError("translations", _missing_message(missing))
    added = _record(campaign_id, tenant, passes, readers, now)
    campaign = db.session.get(Campaign, campaign_id)
    assert campaign is not None
    campaign.status = RUNNING
    campaign.started_at = campaign.started_at or now
    campaign.total = db.session.scalar(select(func.count(Delivery.id)).where(
        Delivery.campaign_id == campaign_id)) or 0
    db.session.commit()
    log.info("%s: campaign %s started, %s new deliveries", tenant.slug, campaign_id, added)
    _queue(tenant, campaign_id)
    return added


def _record(campaign_id: int, tenant: TenantInfo, passes: list[_Shop],
            readers: list[tuple[TenantInfo, Subscriber]], now: datetime) -> int:
    known = set(db.session.scalars(select(Delivery.dedupe_key).where(
        Delivery.campaign_id == campaign_id)).all())
    cap = int(plugin_settings(PLUGIN, tenant).get("frequency_cap_per_week") or 3)
    shop_of = {shop.tenant.id: shop for shop in passes}
    sender = shop_of[tenant.id]
    rows: list[dict[str, Any]] = []
    for shop, subscriber in readers:
        key = dedupe_key(campaign_id, shop.id, subscriber.id)
        if key in known:
            continue
        capped = _capped(shop_of, sender, shop, subscriber, cap)
        rows.append({
            "tenant_id": tenant.id, "dedupe_key": key, "campaign_id": campaign_id,
            "trigger": None, "kind": MARKETING, "subscriber_tenant_id": shop.id,
            "subscriber_id": subscriber.id, "user_id": subscriber.user_id,
            "email": subscriber.email.lower(), "locale": subscriber.locale,
            "status": SKIPPED if capped else QUEUED, "attempts": 0,
            "error": CAP_REASON if capped else "", "message_id": "", "created_at": now})
    _insert(rows)
    return len(rows)


def _queue(tenant: TenantInfo, campaign_id: int) -> None:
    """Queue the sending jobs for the campaign's rows still waiting (after the commit), or
    close the campaign if there are none."""
    size = int(plugin_settings(PLUGIN, tenant).get("batch_size") or 200)
    waiting = list(db.session.scalars(select(Delivery.id).where(
        Delivery.campaign_id == campaign_id, Delivery.status == QUEUED)
        .order_by(Delivery.id)).all())
    db.session.commit()
    for first in range(0, len(waiting), size):
        enqueue("newsletters.send_batch", tenant_id=tenant.id, campaign_id=campaign_id,
                delivery_ids=waiting[first:first + size])
    _finish_if_done(campaign_id)


def _finish_if_done(campaign_id: int) -> bool:
    """Mark the campaign sent once no delivery of it waits or is being sent."""
    left = db.session.scalar(select(func.count(Delivery.id)).where(
        Delivery.campaign_id == campaign_id, Delivery.status.in_((QUEUED, SENDING)))) or 0
    if left:
        db.session.commit()
        return False
    done = db.session.execute(
        update(Campaign).where(Campaign.id == campaign_id, Campaign.status == RUNNING)
        .values(status=DONE, finished_at=datetime.now(UTC))).rowcount
    db.session.commit()
    return bool(done)


@periodic("newsletters.start_due", minutes=1)
def start_due(now: str | None = None) -> dict[str, int]:
    """Start the scheduled campaigns whose time has come, in every shop with the plugin.

    A campaign that cannot start (a reader's language without translation) goes back to
    draft, with the reason in the log, rather than failing again every minute.

    :param now: an ISO 8601 moment to judge by instead of the clock (tests, catching up).
    :return: ``{tenant slug: campaigns started}`` for the shops that started any.
    """
    moment = _aware(datetime.fromisoformat(now)) if now else datetime.now(UTC)
    assert moment is not None
    started: dict[str, int] = {}
    for tenant in tenants_with_plugin(PLUGIN):
        try:
            with as_tenant(tenant):
                count = _start_due_in(tenant, moment)
        except Exception:  # one shop's trouble must not hold back the others' campaigns
            log.exception("scheduled campaigns of %s not started", tenant.slug)
            db.session.rollback()
            continue
        if count:
            started[tenant.slug] = count
    return started


def _start_due_in(tenant: TenantInfo, moment: datetime) -> int:
    due = db.session.scalars(select(Campaign.id).where(
        Campaign.status == SCHEDULED, Campaign.scheduled_at <= moment)
        .order_by(Campaign.scheduled_at, Campaign.id)).all()
    db.session.commit()
    count = 0
    for campaign_id in due:
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is None or campaign.status != SCHEDULED:
            continue
        try:
            start(campaign, tenant, now=moment)
            count += 1
        except CampaignError as exc:
            db.session.rollback()
            log.warning("%s: scheduled campaign %s not started, back to draft: %s",
                        tenant.slug, campaign_id, exc)
            db.session.execute(update(Campaign).where(
                Campaign.id == campaign_id, Campaign.status == SCHEDULED).values(status=DRAFT))
            db.session.commit()
    return count


# --- sending -----------------------------------------------------------------------------


def _detached_rows(ids: list[int]) -> list[Delivery]:
    """The rows to send, loaded then detached: building each message switches to the
    reader's shop, which needs the session free of any transaction and empties it."""
    if not ids:
        return []
    rows = list(db.session.scalars(select(Delivery).where(Delivery.id.in_(ids))
                                   .order_by(Delivery.id)).all())
    for row in rows:
        db.session.expunge(row)
    db.session.commit()
    return rows


class _Builder:
    """Renders a batch's messages, reader shop by reader shop and language by language.

    One ``shop_context`` per (shop, language) and one query for the group's subscribers
    (and one for its suppressions) instead of one of each per message: the message is then
    rendered from each reader's consent as it is *now* (someone who left since the start
    is skipped, someone who changed language gets theirs). It is a generator: each message
    goes out as soon as it is rendered, inside its reader's shop.
    """

    def __init__(self, sender: TenantInfo, available: dict[str, mailing.Content],
                 fallback: str | None) -> None:
        self.sender = sender
        self.available = available
        self.fallback = fallback

    def messages(self, rows: list[Delivery]
                 ) -> Iterator[tuple[Delivery, FlatMessage | mailing.Skip]]:
        groups: dict[tuple[int, str], list[Delivery]] = {}
        for row in rows:
            shop_id = row.subscriber_tenant_id or self.sender.id
            groups.setdefault((shop_id, row.locale or ""), []).append(row)
        moved: list[tuple[TenantInfo, mailing.Reader, Delivery]] = []
        for (shop_id, locale), group in groups.items():
            shop = self.sender if shop_id == self.sender.id else tenant_by_id(shop_id)
            if shop is None or PLUGIN not in shop.plugins:
                yield from ((row, mailing.Skip(LEFT_REASON)) for row in group)
                continue
            locale = locale or shop.locale
            # In the reader's shop: their consent as it is now, their links, their words.
            with shop_context(shop, locale):
                for start in range(0, len(group), CONSENT_SLICE):
                    chunk = group[start:start + CONSENT_SLICE]
                    readers = self._readers(shop, chunk)
                    for row in chunk:
                        reader = readers.get(row.id)
                        if reader is None:
                            yield row, mailing.Skip(LEFT_REASON)
                        elif reader.locale != locale:
                            moved.append((shop, reader, row))  # they changed language
                        else:
                            yield row, self._compose(reader, row)
        for shop, reader, row in moved:
            with shop_context(shop, reader.locale):
                yield row, self._compose(reader, row)

    def _compose(self, reader: mailing.Reader,
                 delivery: Delivery) -> FlatMessage | mailing.Skip:
        content = translation_for(reader.locale, self.available, self.fallback)
        if content is None:
            return mailing.Skip(NO_TRANSLATION_REASON)
        try:
            return mailing.compose_flat(self.sender, reader, content, kind=MARKETING,
                                        delivery=delivery)
        except Exception as exc:  # one message that cannot be built must not stop the batch
            log.exception("campaign delivery %s not built", delivery.id)
            return mailing.Skip(str(exc) or type(exc).__name__, FAILED)

    def _readers(self, shop: TenantInfo, rows: list[Delivery]) -> dict[int, mailing.Reader]:
        """The group's readers as they are now, by delivery id; absent: they left, turned
        e-mail off, changed address, or their address was suppressed since the start."""
        ids = [row.subscriber_id for row in rows if row.subscriber_id is not None]
        subscribers = {s.id: s for s in db.session.scalars(
            select(Subscriber).where(Subscriber.id.in_(ids)))} if ids else {}
        emails = [row.email for row in rows]
        blocked = set(db.session.scalars(select(Suppression.email).where(
            Suppression.email.in_(emails)))) if emails else set()
        readers: dict[int, mailing.Reader] = {}
        for row in rows:
            subscriber = subscribers.get(row.subscriber_id) if row.subscriber_id else None
            if (subscriber is None or not subscriber.receives_marketing
                    or subscriber.email.lower() != row.email or row.email in blocked):
                continue
            readers[row.id] = mailing.Reader(
                email=subscriber.email, locale=subscriber.locale or shop.locale, tenant=shop,
                name=subscriber.name, subscriber_id=subscriber.id,
                user_id=subscriber.user_id, tracking=subscriber.tracking)
        return readers


@job("newsletters.send_batch", retries=3, retry_delay=120)
def send_batch(tenant_id: int, campaign_id: int, delivery_ids: list[int]) -> dict[str, int]:
    """Send one batch of a campaign's deliveries over one SMTP session.

    Only rows this run claims (``queued``, or ``failed`` by a temporary error) are sent, so
    a retried or doubled job never mails anyone twice. Temporary failures are recorded,
    then :class:`RetryLater` is raised so that Huey runs the job again for them.
    """
    sender = tenant_by_id(tenant_id)
    if sender is None or PLUGIN not in sender.plugins:
        return {}
    with as_tenant(sender):
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is None or campaign.status == CANCELLED:
            db.session.commit()
            return {}
        fallback = campaign.fallback_locale
        available = {locale: mailing.Content(row.subject, row.body)
                     for locale, row in translations_of(campaign).items()}
        db.session.commit()
        claimed = mailing.claim([i for i in delivery_ids if isinstance(i, int)])
        rows = _detached_rows(claimed)
        rate = int(plugin_settings(PLUGIN, sender).get("rate_per_minute") or 0)
        outcome = mailing.deliver(sender, _Builder(sender, available, fallback).messages(rows),
                                  rate, claimed=claimed)
        _finish_if_done(campaign_id)
    if outcome.retry:
        raise RetryLater(f"campaign {campaign_id}: {len(outcome.retry)} messages will be "
                         "tried again")
    return {"sent": outcome.sent, "failed": outcome.failed, "bounced": outcome.bounced}


# --- results -----------------------------------------------------------------------------


def progress(campaign: Campaign) -> dict[str, Any]:
    """Where the campaign's sending stands: ``{queued, sending, sent, failed, bounced,
    skipped, opened, clicked, total, percent, status}`` (a complaint counts as bounced:
    both are addresses the shop may no longer write to)."""
    counts = dict.fromkeys(STATUSES, 0)
    rows = db.session.execute(select(Delivery.status, func.count(Delivery.id))
                              .where(Delivery.campaign_id == campaign.id)
                              .group_by(Delivery.status)).all()
    for status, count in rows:
        key = BOUNCED if status == COMPLAINED else status
        if key in counts:
            counts[key] += count
    opened, clicked = db.session.execute(
        select(func.count(Delivery.opened_at), func.count(Delivery.clicked_at))
        .where(Delivery.campaign_id == campaign.id)).one()
    total = sum(counts.values())
    done = total - counts[QUEUED] - counts[SENDING]
    # A campaign that reached nobody is complete once it is sent.
    percent = int(100 * done / total) if total else (100 if campaign.status == DONE else 0)
    return {**counts, "opened": opened or 0, "clicked": clicked or 0, "total": total,
            "percent": percent, "status": campaign.status}


def status_label(status: str) -> str:
    """The campaign's status as the staff read it."""
    return {DRAFT: _("draft"), SCHEDULED: _("scheduled"), RUNNING: _("sending"),
            DONE: _("sent"), CANCELLED: _("cancelled")}.get(status, status)
