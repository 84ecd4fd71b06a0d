"""Consent: double opt-in, withdrawal, preferences, and the proof of all of it.

Why a service of its own: the shop must be able to show, for each address, what the person
agreed to (the exact wording and its version), when, from which form and address, and each
later change; the storefront pages, the checkout and the staff all go through here so that
nothing changes a subscription without writing the ledger (:class:`ConsentEvent`).

Rules kept here:

- nobody is subscribed without confirming from their mailbox (double opt-in): a request
  leaves the address ``pending`` and mails a signed confirmation link;
- a form is no mail cannon: one address gets at most one confirmation (or "you are already
  subscribed" notice) every :data:`RESEND_AFTER`, however often the form is posted;
- withdrawal takes effect at once and is idempotent; confirming twice does nothing twice;
- every choice is validated, and a bad one raises :class:`ValueError` naming the field,
  with nothing changed.

Functions take the :class:`TenantInfo` they act for and run in that tenant's scope (a
storefront request, or ``as_tenant``/``shop_context`` in a job).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import has_request_context, url_for
from flask_babel import force_locale
from sqlalchemy import func, select

from comptoir.toolkit import (
    N_,
    TenantInfo,
    as_tenant,
    current_tenant,
    db,
    enqueue,
    job,
    plugin_settings,
    plugin_translations,
    shop_context,
    shop_today,
    tenant_by_id,
)
from plugins.newsletters import mailing, tokens
from plugins.newsletters.models import (
    CHANNELS,
    CONFIRMED,
    FREQUENCIES,
    PENDING,
    PREFERENCES,
    REQUESTED,
    SENDING,
    SENT,
    SUBSCRIBED,
    TRANSACTIONAL,
    UNSUBSCRIBED,
    WITHDRAWN,
    ConsentEvent,
    Delivery,
    ProductView,
    Subscriber,
)

translations = plugin_translations("plugins.newsletters")
_ = translations.gettext
PLUGIN = "newsletters"


#: The standard wording readers agree to (the shop's ``consent_text`` setting replaces it).
CONSENT_WORDING = N_("I agree that %(shop)s may send me its newsletter by e-mail, on the "
                   "themes and at the frequency I choose. I can withdraw this consent at any "
                   "time with the link in every message.")
#: One confirmation (or notice) per address at most this often: a form is no mail cannon.
RESEND_AFTER = timedelta(minutes=10)
#: Triggers of the messages this module sends (``Delivery.trigger``).
CONFIRM_TRIGGER, NOTICE_TRIGGER, MANAGE_TRIGGER = "confirm", "already_subscribed", "manage_link"

_PHONE = re.compile(r"[0-9 +\-.()]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- wording and small checks --------------------------------------------------------------


def wording(tenant: TenantInfo, locale: str) -> tuple[str, str]:
    """``(text, version)`` of what a reader of ``locale`` agrees to in ``tenant``'s shop.

    The version is a short hash of the exact text, so the ledger proves which wording each
    person saw even after the shop rewords it.
    """
    text = (plugin_settings(PLUGIN, tenant).get("consent_text") or "").strip()
    if not text:
        with force_locale(locale or tenant.locale):
            text = _(CONSENT_WORDING, shop=tenant.name)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def offered_locale(tenant: TenantInfo, wanted: str | None) -> str | None:
    """The shop's language code for ``wanted`` (``fr`` finds ``fr_FR``), or ``None``."""
    if not wanted:
        return None
    for code in tenant.languages or (tenant.locale,):
        if wanted == code or wanted == code.split("_")[0]:
            return code
    return None


def _locale(tenant: TenantInfo, wanted: str | None) -> str:
    if not wanted:
        return tenant.locale
    code = offered_locale(tenant, wanted)
    if code is None:
        raise ValueError(_("Language: this shop does not offer %(locale)s.",
                           locale=str(wanted)[:20]))
    return code


def normalise_email(email: str) -> str:
    """``email`` checked and lower-cased, as it is stored.

    :raises ValueError: not an address that mail can be delivered to.
    """
    if not isinstance(email, str) or not email.strip():
        raise ValueError(_("E-mail address: please enter your e-mail address."))
    try:
        checked = validate_email(email.strip(), check_deliverability=False,
                                 allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValueError(_("E-mail address: %(email)s is not a valid address (%(reason)s).",
                           email=email.strip()[:254], reason=str(exc))) from None
    address = (checked.ascii_email or checked.normalized).lower()
    if len(address) > 254:
        raise ValueError(_("E-mail address: it is too long."))
    return address


def theme_choices(tenant: TenantInfo) -> list[str]:
    """The themes the shop lets readers choose (its ``themes`` setting)."""
    raw = plugin_settings(PLUGIN, tenant).get("themes") or ""
    return [t for t in (part.strip() for part in raw.split(",")) if t]


def tracking_offered(tenant: TenantInfo) -> bool:
    return bool(plugin_settings(PLUGIN, tenant).get("tracking"))


def _themes(tenant: TenantInfo, themes: Any) -> list[str]:
    chosen = list(dict.fromkeys(themes or []))
    allowed = theme_choices(tenant)
    unknown = [t for t in chosen if t not in allowed]
    if unknown:
        raise ValueError(_("Themes: %(themes)s is not a theme of this shop.",
                           themes=", ".join(str(t)[:40] for t in unknown)))
    return chosen


def _name(name: Any) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if len(name) > 200 or _CONTROL.search(name):
        raise ValueError(_("Name: at most 200 characters, on one line."))
    return name


def _text(value: str, size: int) -> str:
    return (value or "")[:size]


# --- finding subscribers -------------------------------------------------------------------


def subscriber_for(email: str) -> Subscriber | None:
    """The current tenant's subscriber with this address, or ``None``."""
    return db.session.scalars(select(Subscriber).where(
        Subscriber.email == (email or "").strip().lower())).first()


def subscriber_for_user(user: Any) -> Subscriber | None:
    """The current tenant's subscriber for a customer account: linked, else same address."""
    found = db.session.scalars(select(Subscriber).where(Subscriber.user_id == user.id)).first()
    return found if found is not None else subscriber_for(user.email)


def _by_id(subscriber_id: int) -> Subscriber | None:
    return db.session.scalars(select(Subscriber).where(Subscriber.id == subscriber_id)).first()


def find_by_token(tenant: TenantInfo, token: str) -> Subscriber:
    """The subscriber a management link (preferences, unsubscribe) is for.

    :raises tokens.TokenError: forged, expired, another shop's, or for an address that is
        no longer the subscriber's (a link outlives nothing it was made for).
    """
    claim = tokens.read(tokens.MANAGE, token, tenant_id=tenant.id)
    subscriber = _by_id(claim.target_id)
    if subscriber is None or tokens.address_tag(subscriber.email) != claim.extra:
        raise tokens.TokenError("This link is not valid.")
    return subscriber


def manage_token(tenant: TenantInfo, subscriber: Subscriber) -> str:
    return tokens.make(tokens.MANAGE, tenant.id, subscriber.id,
                       tokens.address_tag(subscriber.email))


def reader_for(tenant: TenantInfo, subscriber: Subscriber) -> mailing.Reader:
    """The subscriber as a message's reader, in their shop and language."""
    return mailing.Reader(email=subscriber.email, locale=subscriber.locale, tenant=tenant,
                          name=subscriber.name or "", subscriber_id=subscriber.id,
                          user_id=subscriber.user_id, tracking=bool(subscriber.tracking))


def _record(subscriber: Subscriber, action: str, *, source: str, ip: str = "",
            user_agent: str = "", text: str = "", version: str = "",
            details: dict[str, Any] | None = None) -> ConsentEvent:
    event = ConsentEvent(subscriber_id=subscriber.id, action=action, wording=text,
                         wording_version=version, source=_text(source, 40), ip=_text(ip, 45),
                         user_agent=_text(user_agent, 300), details=details or {})
    db.session.add(event)
    return event


def ledger(subscriber: Subscriber) -> list[ConsentEvent]:
    """The subscriber's consent history, oldest first."""
    return list(db.session.scalars(select(ConsentEvent).where(
        ConsentEvent.subscriber_id == subscriber.id).order_by(ConsentEvent.at,
                                                              ConsentEvent.id)))


# --- mail ----------------------------------------------------------------------------------


def _link(tenant: TenantInfo, endpoint: str, **values: Any) -> str:
    """An absolute link to ``tenant``'s storefront: this request's host when serving that
    shop, else where the shop is reached from outside (a job, the CLI)."""
    if has_request_context():
        serving = current_tenant()
        if serving is not None and serving.id == tenant.id:
            return url_for(endpoint, _external=True, **values)
    with shop_context(tenant):
        return url_for(endpoint, _external=True, **values)


def _recently_mailed(email: str, trigger: str) -> bool:
    since = datetime.now(UTC) - RESEND_AFTER
    # Only what went (or is going): a failed attempt must not hold back the retry, nor the
    # visitor's own second request.
    return (db.session.scalar(select(func.count(Delivery.id)).where(
        Delivery.email == email, Delivery.trigger == trigger,
        Delivery.status.in_((SENT, SENDING)), Delivery.created_at >= since)) or 0) > 0


@job("newsletters.consent_mail", retries=2, retry_delay=120)
def consent_mail(tenant_id: int, subscriber_id: int, trigger: str, dedupe_key: str) -> None:
    """Mail a subscriber a message about their subscription (the confirmation link, the
    "already subscribed" notice, the link to leave), in their language.

    A job, not the request: the visitor does not wait for the SMTP server, and the message
    is built as a job builds every message (``shop_context``). Skipped if the same kind of
    message went to the address less than :data:`RESEND_AFTER` ago.
    """
    tenant = tenant_by_id(tenant_id)
    if tenant is None:
        return
    with as_tenant(tenant):
        subscriber = _by_id(subscriber_id)
        if subscriber is None or _recently_mailed(subscriber.email, trigger):
            return
        reader = reader_for(tenant, subscriber)
        status = subscriber.status
    if trigger == CONFIRM_TRIGGER and status != PENDING:
        return  # confirmed or left meanwhile
    manage = tokens.make(tokens.MANAGE, tenant.id, subscriber_id,
                         tokens.address_tag(reader.email))
    subject, body, values = {
        CONFIRM_TRIGGER: lambda: (_CONFIRM_SUBJECT, _CONFIRM_BODY, {
            "confirm_url": _link(tenant, "newsletters.confirm", token=tokens.make(
                tokens.CONFIRM, tenant.id, subscriber_id, tokens.address_tag(reader.email)))}),
        NOTICE_TRIGGER: lambda: (_NOTICE_SUBJECT, _NOTICE_BODY, {
            "preferences_url": _link(tenant, "newsletters.preferences", token=manage)}),
        MANAGE_TRIGGER: lambda: (_MANAGE_SUBJECT, _MANAGE_BODY, {
            "unsubscribe_url": _link(tenant, "newsletters.unsubscribe", token=manage),
            "preferences_url": _link(tenant, "newsletters.preferences", token=manage)}),
    }[trigger]()
    with force_locale(reader.locale):
        # The shop's name goes in as a placeholder too: a brace in it is no template.
        content = mailing.Content(subject=_(subject, shop="{{ shop_name }}"),
                                  body=_(body, shop="{{ shop_name }}"), values=values)
    from plugins.newsletters import triggers  # (it imports this module)

    # Once per key; a temporary failure raises, so that Huey tries the same delivery again.
    triggers.raise_if_failed(triggers.deliver(tenant, reader, content, kind=TRANSACTIONAL,
                                              dedupe_key=dedupe_key, trigger=trigger))


def _mail(tenant: TenantInfo, subscriber_id: int, trigger: str, dedupe_key: str) -> None:
    """Queue :func:`consent_mail` (after the caller's commit)."""
    enqueue("newsletters.consent_mail", tenant_id=tenant.id, subscriber_id=subscriber_id,
            trigger=trigger, dedupe_key=dedupe_key)


# The bodies are sandboxed Jinja templates: links come in as values, never pasted in.
_CONFIRM_SUBJECT = N_("Please confirm your subscription to %(shop)s's newsletter")
_CONFIRM_BODY = N_("Hello,\n\nSomeone, probably you, asked to receive %(shop)s's newsletter at "
                 "this address. To confirm, open this link and press the button:\n\n"
                 "{{ confirm_url }}\n\nIf it was not you, ignore this message: without "
                 "confirmation you will receive nothing.")
_NOTICE_SUBJECT = N_("You already receive %(shop)s's newsletter")
_NOTICE_BODY = N_("Hello,\n\nSomeone, probably you, asked to subscribe this address to "
                "%(shop)s's newsletter: it is already subscribed. Choose your themes and "
                "frequency, or leave the list, here:\n\n{{ preferences_url }}")
_MANAGE_SUBJECT = N_("Your subscription to %(shop)s's newsletter")
_MANAGE_BODY = N_("Hello,\n\nSomeone, probably you, asked how to leave %(shop)s's newsletter. "
                "To unsubscribe this address, open this link and press the button:\n\n"
                "{{ unsubscribe_url }}\n\nTo change your themes or frequency instead:\n\n"
                "{{ preferences_url }}\n\nIf it was not you, ignore this message: nothing "
                "changes.")


# --- double opt-in -------------------------------------------------------------------------


def subscribe(tenant: TenantInfo, email: str, *, locale: str | None, source: str,
              ip: str = "", user_agent: str = "", name: str = "", user_id: int | None = None,
              themes: list[str] | None = None) -> Subscriber:
    """Ask for ``email``'s subscription: ``pending`` until confirmed from the mailbox.

    An address already subscribed is left as it is (a "you already receive it" notice goes
    instead of a confirmation); at most one message per address per :data:`RESEND_AFTER`.

    :raises ValueError: an invalid address, a language or theme the shop does not offer;
        nothing is stored then.
    """
    address = normalise_email(email)
    code = _locale(tenant, locale)
    chosen = _themes(tenant, themes) if themes is not None else None
    name = _name(name)
    subscriber = subscriber_for(address)
    if subscriber is not None and subscriber.status == SUBSCRIBED:
        if user_id is not None and subscriber.user_id is None:
            subscriber.user_id = user_id
        db.session.commit()
        _mail(tenant, subscriber.id, NOTICE_TRIGGER, f"notice:{subscriber.id}:{_stamp()}")
        return _by_id(subscriber.id)  # type: ignore[return-value]
    if subscriber is None:
        subscriber = Subscriber(email=address, locale=code, status=PENDING, name=name,
                                user_id=user_id, channels=["email"], themes=chosen or [])
        db.session.add(subscriber)
        db.session.flush()
    else:
        subscriber.status, subscriber.locale = PENDING, code
        subscriber.name = name or subscriber.name
        subscriber.user_id = subscriber.user_id or user_id
        if chosen is not None:
            subscriber.themes = chosen
    text, version = wording(tenant, code)
    event = _record(subscriber, REQUESTED, source=source, ip=ip, user_agent=user_agent,
                    text=text, version=version, details={"locale": code})
    db.session.commit()
    sid = subscriber.id
    _mail(tenant, sid, CONFIRM_TRIGGER, f"confirm:{sid}:{event.id}")
    return _by_id(sid)  # type: ignore[return-value]


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")


def confirmation_for(tenant: TenantInfo, token: str) -> Subscriber:
    """The subscriber a confirmation link is for, without confirming anything (the page a
    GET shows: mail scanners follow links, so only the button's POST confirms).

    :raises tokens.TokenError: forged, expired, another shop's, or for an address the
        subscriber no longer has, or a subscription left since the link was sent.
    """
    claim = tokens.read(tokens.CONFIRM, token, tenant_id=tenant.id)
    subscriber = _by_id(claim.target_id)
    if subscriber is None or tokens.address_tag(subscriber.email) != claim.extra \
            or subscriber.status == UNSUBSCRIBED:
        raise tokens.TokenError("This link is not valid.")
    return subscriber


def confirm(tenant: TenantInfo, token: str, *, ip: str, user_agent: str) -> Subscriber:
    """Confirm a subscription from the link mailed by :func:`subscribe`.

    Confirming again changes nothing (no second event, no second welcome message).

    :raises tokens.TokenError: see :func:`confirmation_for`.
    """
    subscriber = confirmation_for(tenant, token)
    if subscriber.status == SUBSCRIBED:
        return subscriber
    requested = db.session.scalars(select(ConsentEvent).where(
        ConsentEvent.subscriber_id == subscriber.id, ConsentEvent.action == REQUESTED)
        .order_by(ConsentEvent.at.desc(), ConsentEvent.id.desc())).first()
    subscriber.status, subscriber.confirmed_at = SUBSCRIBED, datetime.now(UTC)
    subscriber.unsubscribed_at = None
    _record(subscriber, CONFIRMED, source="email_link", ip=ip, user_agent=user_agent,
            text=requested.wording if requested else "",
            version=requested.wording_version if requested else "",
            details={"requested_event": requested.id if requested else None})
    db.session.commit()
    sid = subscriber.id
    enqueue("newsletters.welcome", tenant_id=tenant.id, subscriber_id=sid)
    return _by_id(sid)  # type: ignore[return-value]


def withdraw(tenant: TenantInfo, subscriber: Subscriber, *, source: str, ip: str = "",
             user_agent: str = "") -> bool:
    """Unsubscribe at once; ``False`` (and nothing written) if already unsubscribed."""
    if subscriber.status == UNSUBSCRIBED:
        return False
    subscriber.status, subscriber.unsubscribed_at = UNSUBSCRIBED, datetime.now(UTC)
    _record(subscriber, WITHDRAWN, source=source, ip=ip, user_agent=user_agent)
    db.session.commit()
    return True


def send_manage_link(tenant: TenantInfo, email: str) -> None:
    """"Unsubscribe by address": mail a subscribed (or pending) address its own link to
    leave. Typing an address unsubscribes nobody, and the caller tells every visitor the
    same thing, known address or not; at most one such message per :data:`RESEND_AFTER`.
    """
    try:
        address = normalise_email(email)
    except ValueError:
        return
    subscriber = subscriber_for(address)
    if subscriber is None or subscriber.status == UNSUBSCRIBED:
        return
    _mail(tenant, subscriber.id, MANAGE_TRIGGER, f"manage:{subscriber.id}:{_stamp()}")


# --- preferences ---------------------------------------------------------------------------


def update_preferences(tenant: TenantInfo, subscriber: Subscriber, *, channels: list[str],
                       frequency: str, themes: list[str], locale: str, tracking: bool,
                       name: str, birthday: date | None, phone: str, ip: str = "",
                       user_agent: str = "") -> None:
    """Store the reader's choices and log them in the ledger.

    :raises ValueError: naming the first field that is not acceptable; nothing changes.
    """
    chosen_channels = list(dict.fromkeys(channels or []))
    unknown = [c for c in chosen_channels if c not in CHANNELS]
    if unknown:
        raise ValueError(_("Channels: %(channels)s is not a channel.",
                           channels=", ".join(str(c)[:20] for c in unknown)))
    if frequency not in FREQUENCIES:
        raise ValueError(_("Frequency: choose one of the proposed frequencies."))
    chosen_themes = _themes(tenant, themes)
    code = _locale(tenant, locale)
    clean_name = _name(name)
    if birthday is not None and (not isinstance(birthday, date)
                                 or birthday > shop_today(tenant)
                                 or birthday.year < 1900):
        raise ValueError(_("Birthday: enter a date in the past."))
    phone = (phone or "").strip()
    if len(phone) > 40 or not _PHONE.fullmatch(phone):
        raise ValueError(_("Phone: at most 40 digits, spaces and + - . ( )."))
    subscriber.channels = chosen_channels
    subscriber.frequency = frequency
    subscriber.themes = chosen_themes
    subscriber.locale = code
    subscriber.tracking = bool(tracking) and tracking_offered(tenant)
    subscriber.name, subscriber.birthday, subscriber.phone = clean_name, birthday, phone
    _record(subscriber, PREFERENCES, source="preferences", ip=ip, user_agent=user_agent,
            details={"channels": chosen_channels, "frequency": frequency,
                     "themes": chosen_themes, "locale": code,
                     "tracking": subscriber.tracking})
    db.session.commit()


# --- the person's data ---------------------------------------------------------------------


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def export(subscriber: Subscriber) -> dict[str, Any]:
    """Everything the shop holds about the subscriber, with the whole consent ledger, as
    plain JSON values: what the person receives when they ask for their data."""
    fields = ("email", "name", "locale", "status", "channels", "frequency", "themes",
              "tracking", "phone", "birthday", "country", "created_at", "confirmed_at",
              "unsubscribed_at")
    return {
        "subscriber": {f: _iso(getattr(subscriber, f)) for f in fields},
        "consent_ledger": [
            {"at": _iso(e.at), "action": e.action, "wording_version": e.wording_version,
             "wording": e.wording, "source": e.source, "ip": e.ip,
             "user_agent": e.user_agent, "details": e.details or {}}
            for e in ledger(subscriber)],
        # The messages this shop sent them (with what tracking saw, if they allowed it),
        # and the products they looked at (kept for reminders, 90 days at most).
        "messages": [
            {"sent_at": _iso(d.sent_at), "kind": d.kind, "trigger": d.trigger,
             "campaign_id": d.campaign_id, "status": d.status,
             "opened_at": _iso(d.opened_at), "clicked_at": _iso(d.clicked_at)}
            for d in db.session.scalars(select(Delivery).where(
                Delivery.email == subscriber.email).order_by(Delivery.id))],
        "product_views": [
            {"viewed_at": _iso(v.viewed_at), "sku": v.sku, "name": v.name}
            for v in (db.session.scalars(select(ProductView).where(
                ProductView.user_id == subscriber.user_id).order_by(ProductView.id))
                if subscriber.user_id is not None else [])],
        "exported_at": datetime.now(UTC).isoformat(),
    }


def customer_registered(tenant: TenantInfo, user: Any) -> None:
    """Link a new customer account to the subscriber with the same address, if any.

    Registering subscribes nobody: consent is only ever given through :func:`subscribe`.
    """
    subscriber = subscriber_for(user.email or "")
    if subscriber is not None and subscriber.user_id is None:
        subscriber.user_id = user.id
        db.session.commit()
