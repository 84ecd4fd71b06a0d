"""One message for one reader, and its delivery without duplicates.

Every message the plugin sends goes through :func:`compose` then :func:`deliver_batch`:

- **who it is for** is a :class:`Reader`: an address, a name, a language, and the shop
  where their consent lives (an office's campaign reaches its resellers' subscribers, whose
  links lead to the reseller's storefront, co-branded);
- **what it is**: ``marketing`` messages carry the RFC 8058 one-click unsubscribe headers
  and a footer with the preference and unsubscribe links and the office's legal mentions;
  ``transactional`` ones (order confirmation, delivery status) are sent whatever the
  reader's newsletter choices, and their footer says so;
- **the body** is written as plain text (blank lines between paragraphs); personal values
  are put in by a sandboxed Jinja (a campaign's author cannot reach Python), and the HTML
  alternative is made from the text: escaped, paragraphs, links, and (only for a reader who
  turned tracking on, in a shop that offers it) signed click links and an open pixel.

Delivery (:func:`claim` then :func:`deliver`) takes a batch of :class:`Delivery` rows in one
UPDATE (``queued``, or ``failed`` for a reason that may pass -> ``sending``), renders and
sends the messages over one SMTP session, and records the outcomes in one statement. A row
is sent only from ``sending`` and only by the job that claimed it, so a retried or doubled
job never mails anyone twice. A row that never reached
the server (the batch stopped: a bad server URL, a rendering error) goes back to ``failed``
for another try; only a worker killed in the middle of a batch leaves rows ``sending``,
which are never sent again (a duplicate newsletter is worse than a missing one). Each
message's Message-ID is derived from its delivery and signed, and its envelope sender is a
signed VERP address naming it, so a bounce finds its delivery (:mod:`.bounces`).
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from functools import lru_cache
from typing import Any

from flask import current_app, g, url_for
from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape
from sqlalchemy import and_, bindparam, func, or_, select, update

from comptoir.toolkit import (
    FlatMessage,
    Mailer,
    MailError,
    MailRefused,
    TenantInfo,
    as_tenant,
    build_mail,
    db,
    flat_mail,
    mail_connection,
    mail_footer,
    plugin_settings,
    plugin_translations,
    render_translated,
    tenant_by_id,
)
from plugins.newsletters import tokens
from plugins.newsletters.models import (
    BOUNCED,
    FAILED,
    MARKETING,
    QUEUED,
    SENDING,
    SENT,
    SKIPPED,
    Delivery,
    Suppression,
)

log = logging.getLogger("comptoir.newsletters")
translations = plugin_translations("plugins.newsletters")
_ = translations.gettext
PLUGIN = "newsletters"

#: How the error of a delivery the server refused for good begins: never claimed again.
PERMANENT = "permanent: "
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_sandbox = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class ContentError(ValueError):
    """A subject or body that cannot be rendered (a placeholder that does not exist...)."""


@dataclass(frozen=True)
class Reader:
    """Who a message goes to, and where their consent and links live."""

    email: str
    locale: str
    tenant: TenantInfo
    name: str = ""
    subscriber_id: int | None = None
    user_id: int | None = None
    tracking: bool = False

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else ""


@dataclass
class Content:
    """A message's words before the reader's values are put in."""

    subject: str
    body: str
    #: Extra values for the placeholders (``order_number``, ``product``...).
    values: dict[str, Any] = field(default_factory=dict)
    #: Where answers go (another plugin's transactional message: a ticket's reply address).
    reply_to: str | None = None
    #: Extra headers the sender asked for; the ones :func:`compose` sets itself win.
    headers: dict[str, str] = field(default_factory=dict)


def placeholders(reader: Reader, sender: TenantInfo) -> dict[str, Any]:
    """The values every message may use: ``{{ first_name }}``, ``{{ shop_name }}``..."""
    return {"first_name": reader.first_name, "name": reader.name, "email": reader.email,
            "shop_name": reader.tenant.name, "office_name": sender.office_name}


@lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    # A campaign renders the same subject and body for every reader: compiling them once
    # per process instead of once per message was a third of the time spent per message.
    return _sandbox.from_string(source)


def render_text(source: str, values: dict[str, Any]) -> str:
    """Put ``values`` into ``source`` (Jinja syntax, sandboxed, unknown names refused)."""
    try:
        return _compiled(source).render(**values)
    except Exception as exc:  # a template error, {{ 1/0 }}, a sandbox refusal...
        raise ContentError(_("The text cannot be filled in: %(reason)s", reason=str(exc))) \
            from None


def check_content(subject: str, body: str) -> None:
    """Raise :class:`ContentError` if ``subject`` or ``body`` uses an unknown placeholder
    or broken syntax; what a campaign editor is told before anything is sent."""
    sample = {"first_name": "Ada", "name": "Ada Lovelace", "email": "ada@example.org",
              "shop_name": "Shop", "office_name": "Office"}
    render_text(subject, sample)
    render_text(body, sample)


def _per_context(key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    """``make()``, kept for the rest of the app context (a job's batch, a request): the
    sender's settings and footer do not change between two messages of one batch."""
    cache = g.setdefault("_newsletters_cache", {})
    if key not in cache:
        cache[key] = make()
    return cache[key]


def sender_address(tenant: TenantInfo) -> str:
    """``Name <address>`` the shop's newsletters come from."""
    return _per_context(("sender", tenant.id), lambda: _sender_address(tenant))


def _sender_address(tenant: TenantInfo) -> str:
    settings = plugin_settings(PLUGIN, tenant)
    default_name, default_address = parseaddr(current_app.config["MAIL_FROM"])
    name = settings.get("sender_name") or tenant.name or default_name
    address = settings.get("sender_email") or default_address
    return f"{_quote(name)} <{address}>"


def _quote(name: str) -> str:
    # A display name with specials (a comma, a dot...) must be quoted (RFC 5322).
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def smtp_url(tenant: TenantInfo) -> str | None:
    """The shop's own SMTP server (its settings), or ``None`` for the platform's."""
    settings = plugin_settings(PLUGIN, tenant)
    url = (settings.get("smtp_url") or "").strip().rstrip("/")
    if not url:
        return None
    user = settings.get("smtp_username") or ""
    if user:
        from urllib.parse import quote

        scheme, rest = url.split("://", 1)
        secret = quote(settings.get("smtp_password") or "", safe="")
        url = f"{scheme}://{quote(user, safe='')}:{secret}@{rest}"
    return url


@lru_cache(maxsize=256)
def _domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"


def message_id(sender: TenantInfo, delivery: Delivery) -> str:
    """The same Message-ID for every attempt at one delivery, signed like the bounce
    address, so that a report quoting it can be trusted to name this delivery."""
    signature = _verp_signature(sender.id, delivery.id)
    return f"<nl.{sender.id}.{delivery.id}.{signature}@{_domain(sender_address(sender))}>"


def read_message_id(value: str) -> tuple[int, int] | None:
    """``(tenant id, delivery id)`` from a Message-ID :func:`message_id` made."""
    return _signed_ids(re.fullmatch(
        r"<nl\.(\d{1,12})\.(\d{1,12})\.([0-9a-f]{10})@[^<>\s]+>", value.strip()))


def _verp_signature(tenant_id: int, delivery_id: int) -> str:
    return tokens.keyed_digest(f"bounce.{tenant_id}.{delivery_id}", 10)


def _signed_ids(found: re.Match[str] | None) -> tuple[int, int] | None:
    """``(tenant id, delivery id)`` from a match of (tenant, delivery, signature), if the
    signature is the one :func:`_verp_signature` gives them."""
    if found is None:
        return None
    tenant_id, delivery_id = int(found.group(1)), int(found.group(2))
    if not hmac.compare_digest(found.group(3), _verp_signature(tenant_id, delivery_id)):
        return None
    return tenant_id, delivery_id


def bounce_address(sender: TenantInfo, delivery: Delivery) -> str:
    """The envelope sender (``MAIL FROM``) of a delivery: bounces come back to it and name
    the delivery, signed so that a forged bounce cannot suppress somebody else's address."""
    local = f"bounces+{sender.id}.{delivery.id}.{_verp_signature(sender.id, delivery.id)}"
    return f"{local}@{_domain(sender_address(sender))}"


def read_bounce_address(address: str) -> tuple[int, int] | None:
    """``(tenant id, delivery id)`` from a VERP address :func:`bounce_address` made."""
    return _signed_ids(re.fullmatch(r"bounces\+(\d+)\.(\d+)\.([0-9a-f]{10})@.*",
                                    address.strip("<> ")))


def manage_token(reader: Reader) -> str:
    """The reader's key to their preferences and to leaving the list (see :mod:`.tokens`)."""
    assert reader.subscriber_id is not None
    return tokens.make(tokens.MANAGE, reader.tenant.id, reader.subscriber_id,
                       tokens.address_tag(reader.email))


def _html_paragraphs(text: str, link: Callable[[str], str], authored: set[str]) -> Markup:
    """The body as HTML paragraphs. Only the URLs the author wrote become links (tracked
    or not): a URL that came in through a placeholder (a reader who named themselves
    ``https://evil.example``) stays text, so the shop's signed click links never lead to a
    place its staff did not choose."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        pieces: list[str] = []
        last = 0
        for found in _URL.finditer(block):
            pieces.append(str(escape(block[last:found.start()])))
            url = found.group(0)
            if url in authored:
                pieces.append(f'<a href="{escape(link(url))}">{escape(url)}</a>')
            else:
                pieces.append(str(escape(url)))
            last = found.end()
        pieces.append(str(escape(block[last:])))
        paragraphs.append("<p>" + "".join(pieces).replace("\n", "<br>\n") + "</p>")
    return Markup("\n".join(paragraphs))


def compose(sender: TenantInfo, reader: Reader, content: Content, *, kind: str,
            delivery: Delivery | None = None, test: bool = False) -> EmailMessage:
    """The message for ``reader``; call it inside ``shop_context(reader.tenant, locale)`` so
    that links lead to the reader's shop and the words are in their language.

    :raises ContentError: a placeholder the content uses is not known.
    """
    return build_mail(**_parts(sender, reader, content, kind=kind, delivery=delivery,
                               test=test))


def compose_flat(sender: TenantInfo, reader: Reader, content: Content, *, kind: str,
                 delivery: Delivery | None = None) -> FlatMessage:
    """:func:`compose`'s message as the bytes that go to the SMTP server: what deliveries
    send. The same message byte for byte (``tests/newsletters/test_flat_message.py``),
    built in a fraction of the time: building an ``EmailMessage`` with the modern policy,
    then flattening it again at sending time, was most of a campaign's time per message.

    :raises ContentError: a placeholder the content uses is not known.
    """
    return flat_mail(**_parts(sender, reader, content, kind=kind, delivery=delivery))


def _parts(sender: TenantInfo, reader: Reader, content: Content, *, kind: str,
           delivery: Delivery | None, test: bool = False) -> dict[str, Any]:
    """The arguments of :func:`comptoir.core.mail.build_message` for ``reader``."""
    values = {**placeholders(reader, sender), **content.values}
    subject = render_text(content.subject, values).strip()
    body = render_text(content.body, values).strip()
    if test:
        subject = _("[TEST] %(subject)s", subject=subject)
    marketing = kind == MARKETING
    tracked = (marketing and reader.tracking and delivery is not None and not test
               and _per_context(("tracking", sender.id), lambda: bool(
                   plugin_settings(PLUGIN, sender).get("tracking"))))
    headers: dict[str, str] = {}
    links: dict[str, str] = {}
    if marketing and reader.subscriber_id is not None:
        token = manage_token(reader)
        links["unsubscribe"] = url_for("newsletters.unsubscribe", token=token, _external=True)
        links["preferences"] = url_for("newsletters.preferences", token=token, _external=True)
        headers["List-Unsubscribe"] = f"<{links['unsubscribe']}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if delivery is not None and delivery.campaign_id is not None:
        headers["List-ID"] = f"<campaign-{delivery.campaign_id}.{sender.slug}.newsletter>"
    if marketing:
        headers["Precedence"] = "bulk"
    else:
        headers["Auto-Submitted"] = "auto-generated"
    own = {name.lower() for name in headers}
    headers.update({name: value for name, value in content.headers.items()
                    if name.lower() not in own})

    def link(url: str) -> str:
        if not tracked:
            return url
        assert delivery is not None
        return url_for("newsletters.click", _external=True, token=tokens.make(
            tokens.CLICK, sender.id, delivery.id, url))

    footer = _per_context(("footer", sender.id, reader.locale),
                          lambda: mail_footer(sender, reader.locale))
    cobranded = reader.tenant.id != sender.id
    pixel = (url_for("newsletters.opened", _external=True,
                     token=tokens.make(tokens.OPEN, sender.id, delivery.id))
             if tracked and delivery is not None else None)
    context = {"reader": reader, "sender": sender, "subject": subject, "body": body,
               "links": links, "footer": footer, "marketing": marketing,
               "cobranded": cobranded, "shop_url": url_for("index", _external=True)}
    text = render_translated(translations, "newsletters/email.txt", **context)
    authored = set(_URL.findall(content.body))
    html = render_translated(translations, "newsletters/email.html",
                             body_html=_html_paragraphs(body, link, authored), pixel=pixel,
                             **context)
    return {"to": reader.email, "subject": subject, "text": text, "html": html,
            "sender": sender_address(sender), "headers": headers,
            "reply_to": content.reply_to,
            "message_id": message_id(sender, delivery) if delivery is not None else None}


# --- suppressions and the frequency cap ----------------------------------------------------


def suppressed(email: str, kind: str = MARKETING) -> bool:
    """Whether the current tenant must not send ``email`` a message of ``kind``: no
    marketing after a hard bounce or a complaint; no transactional mail after a hard
    bounce only (a complaint is about newsletters, and order mail is owed regardless)."""
    query = select(Suppression.id).where(Suppression.email == email.lower())
    if kind != MARKETING:
        query = query.where(Suppression.reason == "hard_bounce")
    return db.session.scalars(query).first() is not None


#: Deliveries that count towards the cap: sent, being sent, or queued by a running campaign.
CAPPED_STATUSES = (QUEUED, SENT, SENDING)


def marketing_sent_since(email: str, since: datetime) -> int:
    """Marketing messages the current tenant sent (or is about to send) to ``email`` since
    ``since``."""
    return db.session.scalar(select(func.count(Delivery.id)).where(
        Delivery.email == email.lower(), Delivery.kind == MARKETING,
        Delivery.status.in_(CAPPED_STATUSES), Delivery.created_at >= since)) or 0


def frequency_window(frequency: str) -> int:
    """Days over which a reader's own frequency allows one message (7 for ``weekly`` and
    for the shop's weekly cap, 30 for ``monthly``)."""
    return {"weekly": 7, "monthly": 30}.get(frequency, 7)


def capped(week: int, in_window: int, frequency: str, cap: int) -> bool:
    """The cap's rule, given the messages of the last 7 days and of the reader's window:
    over the shop's weekly ``cap``, or past the one message a ``weekly``/``monthly``
    reader accepts. :func:`over_cap` counts one reader; campaigns count in bulk."""
    if week >= cap:
        return True
    return frequency in ("weekly", "monthly") and in_window >= 1


def over_cap(sender: TenantInfo, reader: Reader, frequency: str = "any",
             now: datetime | None = None) -> bool:
    """Whether one more marketing message would pass the shop's weekly cap, or the reader's
    own frequency (``weekly``: one a week, ``monthly``: one in thirty days).

    The cap is per person (per address), whoever writes to them: the sending shop's
    messages, the reader's own shop's, and, for a reseller's reader, their office's.
    Reading another shop ends the current transaction (a tenant is switched only between
    transactions).
    """
    now = now or datetime.now(UTC)
    cap = int(plugin_settings(PLUGIN, sender).get("frequency_cap_per_week") or 3)
    since_week = now - timedelta(days=7)
    since_window = now - timedelta(days=frequency_window(frequency))

    def counts() -> tuple[int, int]:
        return (marketing_sent_since(reader.email, since_week),
                marketing_sent_since(reader.email, since_window))

    week, in_window = counts()
    others: list[TenantInfo] = []
    if reader.tenant.id != sender.id:
        others.append(reader.tenant)
    office = tenant_by_id(reader.tenant.office_id) if reader.tenant.is_reseller else None
    if office is not None and office.id != sender.id:
        # Every message of the office to this address: to this subscription, or to the
        # same person subscribed at the office itself.
        others.append(office)
    for shop in others:
        db.session.commit()
        with as_tenant(shop):
            more_week, more_window = counts()
            db.session.commit()
        week, in_window = week + more_week, in_window + more_window
    return capped(week, in_window, frequency, cap)


# --- delivery ------------------------------------------------------------------------------


def claim(delivery_ids: Iterable[int]) -> list[int]:
    """Take ``delivery_ids`` for sending (``queued`` or temporarily ``failed`` ones only) and
    commit; returns the ids this call claimed. Two jobs given the same ids claim each row
    once between them."""
    ids = list(delivery_ids)
    if not ids:
        return []
    claimed = db.session.scalars(
        update(Delivery).where(Delivery.id.in_(ids), or_(
            Delivery.status == QUEUED,
            and_(Delivery.status == FAILED, ~Delivery.error.startswith(PERMANENT))))
        .values(status=SENDING, attempts=Delivery.attempts + 1)
        .returning(Delivery.id)).all()
    db.session.commit()
    return sorted(claimed)


@dataclass
class Outcome:
    sent: int = 0
    failed: int = 0
    bounced: int = 0
    skipped: int = 0
    #: Temporary failures worth another try later (server down, 4xx).
    retry: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Skip:
    """What a message builder answers instead of a message: not sent, and why."""

    reason: str
    status: str = SKIPPED


def deliver(sender: TenantInfo,
            messages: Iterable[tuple[Delivery, EmailMessage | FlatMessage | Skip]],
            rate_per_minute: int = 0, claimed: Iterable[int] = ()) -> Outcome:
    """Send claimed deliveries (status ``sending``) over one connection, as ``sender``.

    ``messages`` yields each delivery with its message, or a :class:`Skip`; it may be a
    generator that renders in the readers' shops (``shop_context``). Outcomes are written in
    one statement once the batch is over; a hard bounce then suppresses the address. With
    ``rate_per_minute``, sending is paced.

    ``claimed`` names every row the caller claimed: if anything goes wrong before a row
    reached the SMTP server (a bad server URL, a rendering error, a database error), the
    row goes back to ``failed`` for the next attempt instead of staying ``sending``, which
    would mean "maybe sent" and never be retried.

    Rendering and sending take turns in this thread: a sender thread overlapping them was
    measured slower (0.30 against 0.36 of the raw floor), both halves needing the GIL.
    """
    outcome = Outcome()
    skips: list[tuple[int, dict[str, Any]]] = []
    results: list[tuple[Delivery, dict[str, Any], MailRefused | None]] = []
    pause = 60.0 / rate_per_minute if rate_per_minute else 0.0
    try:
        with mail_connection(smtp_url(sender)) as mailer:
            try:
                for delivery, item in messages:
                    if isinstance(item, Skip):
                        skips.append((delivery.id, {"status": item.status,
                                                    "error": item.reason[:500]}))
                        if item.status == FAILED:
                            outcome.failed += 1
                        else:
                            outcome.skipped += 1
                        continue
                    started = time.monotonic()
                    values, refusal = _send_one(mailer, item,
                                                bounce_address(sender, delivery))
                    results.append((delivery, values, refusal))
                    if pause:
                        time.sleep(max(0.0, pause - (time.monotonic() - started)))
            finally:
                close = getattr(messages, "close", None)
                if close is not None:
                    close()  # leaves any reader's shop the generator was in
    finally:
        done = {delivery_id for delivery_id, _ in skips} | {d.id for d, _, _ in results}
        stranded = [(i, {"status": FAILED, "error": "interrupted before sending"})
                    for i in claimed if i not in done]
        outcome.retry += [i for i, _ in stranded]
        _record(sender, skips + stranded, results, outcome)
    return outcome


def _record(sender: TenantInfo, skips: list[tuple[int, dict[str, Any]]],
            results: list[tuple[Delivery, dict[str, Any], MailRefused | None]],
            outcome: Outcome) -> None:
    rows = list(skips)
    hard: list[tuple[Delivery, MailRefused]] = []
    for delivery, values, refusal in results:
        rows.append((delivery.id, values))
        status = values["status"]
        if status == SENT:
            outcome.sent += 1
        elif status == BOUNCED and refusal is not None:
            outcome.bounced += 1
            hard.append((delivery, refusal))
        else:
            outcome.failed += 1
            if refusal is None or not refusal.permanent:
                outcome.retry.append(delivery.id)  # worth another try later
    if rows:
        # One UPDATE per status shape, each an executemany: a batch's outcome is one
        # round trip per shape instead of one per message.
        # Core statements, scoped by hand to the sender (the ORM's bulk mode takes no
        # extra WHERE); PostgreSQL's row-level security still applies.
        table = Delivery.__table__
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for delivery_id, values in rows:
            shapes.setdefault(tuple(sorted(values)), []).append(
                {"row_id": delivery_id, **{f"new_{k}": v for k, v in values.items()}})
        connection = db.session.connection()
        for keys, params in shapes.items():
            connection.execute(
                update(table).where(table.c.tenant_id == sender.id,
                                    table.c.id == bindparam("row_id"),
                                    table.c.status == SENDING)
                .values({key: bindparam(f"new_{key}") for key in keys}), params)
        db.session.commit()
    for delivery, refusal in hard:
        from plugins.newsletters import bounces

        bounces.suppress(delivery, "hard_bounce", str(refusal))


def deliver_batch(sender: TenantInfo, deliveries: list[Delivery],
                  build: Callable[[Delivery], EmailMessage | FlatMessage | None],
                  rate_per_minute: int = 0) -> Outcome:
    """:func:`deliver` for callers that build one message at a time: ``build`` returns a
    delivery's message, or ``None`` to leave it out (it then marks the row itself)."""

    def items() -> Iterator[tuple[Delivery, EmailMessage | FlatMessage | Skip]]:
        for delivery in deliveries:
            try:
                msg = build(delivery)
            except Exception as exc:  # one bad message must not stop the batch
                log.exception("newsletter delivery %s not built", delivery.id)
                yield delivery, Skip(str(exc) or type(exc).__name__, FAILED)
                continue
            if msg is not None:
                yield delivery, msg

    return deliver(sender, items(), rate_per_minute, claimed=[d.id for d in deliveries])


def _send_one(mailer: Mailer, msg: EmailMessage | FlatMessage,
              envelope_from: str) -> tuple[dict[str, Any], MailRefused | None]:
    try:
        mailer.send(msg, envelope_from=envelope_from)
    except MailRefused as exc:
        if exc.hard_bounce:
            return {"status": BOUNCED, "bounced_at": datetime.now(UTC),
                    "error": str(exc)[:500]}, exc
        # Temporary (4xx), or the server refused the sender or the content (5.7.x...):
        # the reader is not at fault; the message fails and staff see why. A permanent
        # refusal is marked so, and never offered to the server again.
        prefix = PERMANENT if exc.permanent else ""
        return {"status": FAILED, "error": (prefix + str(exc))[:500]}, exc
    except MailError as exc:
        return {"status": FAILED, "error": str(exc)[:500]}, None
    return {"status": SENT, "sent_at": datetime.now(UTC),
            "message_id": (msg.message_id if isinstance(msg, FlatMessage)
                           else str(msg["Message-ID"])), "error": ""}, None


def send_now(sender: TenantInfo, reader: Reader, content: Content, *, kind: str,
             dedupe_key: str, trigger: str | None = None,
             campaign_id: int | None = None) -> Delivery | None:
    """Record and send one message at once (a trigger's, a confirmation's), in the current
    app context, as ``sender``; returns the delivery, or ``None`` if ``dedupe_key`` was
    used before (that message went already: never twice), or the address is suppressed.

    A temporary failure leaves the delivery ``failed`` with the reason; the trigger
    retries it (see :mod:`.triggers`). The caller's transaction is not affected.
    """
    from sqlalchemy.exc import IntegrityError

    from comptoir.toolkit import shop_context

    with as_tenant(sender):
        if suppressed(reader.email, kind):
            return None
        delivery = Delivery(
            dedupe_key=dedupe_key[:160], trigger=trigger, kind=kind, campaign_id=campaign_id,
            subscriber_tenant_id=reader.tenant.id, subscriber_id=reader.subscriber_id,
            user_id=reader.user_id, email=reader.email.lower(), locale=reader.locale,
            status=QUEUED)
        db.session.add(delivery)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return None
        claim([delivery.id])
        db.session.refresh(delivery)
        db.session.expunge(delivery)  # keep its values: leaving as_tenant ends the transaction

    def build(row: Delivery) -> FlatMessage:
        with shop_context(reader.tenant, reader.locale):
            return compose_flat(sender, reader, content, kind=kind, delivery=row)

    with as_tenant(sender):
        deliver_batch(sender, [delivery], build)
        delivery = db.session.scalars(select(Delivery).where(Delivery.id == delivery.id)).one()
        db.session.expunge(delivery)
    return delivery
