"""Messages sent because of what a customer did: welcome, order and delivery notices,
reminders (cart, browsing, review, birthday, win-back, loyalty points).

Two kinds, two rules:

- **transactional** (order confirmation, delivery status) go to the order's address whatever
  its newsletter choices, and say so in their footer; each is on or off by a setting;
- **marketing** ones need a confirmed subscription with e-mail as a channel, skip suppressed
  addresses, respect the shop's weekly cap and the reader's own frequency
  (:func:`mailing.over_cap`, counted over campaigns and triggers together), and are written
  in the reader's language with the one-click unsubscribe headers.

Every message has a dedupe key (``order:12:placed``, ``cart:4:202611231405``...), unique per
shop in ``newsletters_deliveries``: a job that runs twice, or two workers at once, mail
nobody twice.

Where the work happens: the hooks (:func:`order_event`, :func:`customer_event`) run inside
the customer's request, so they only record or enqueue; mail goes from jobs, and a dead SMTP
server never slows a checkout. Periodic jobs walk every shop that enabled the plugin.

Choices worth knowing:

- **Retries.** There is no ``newsletters.retry_failed`` job: a trigger's content is rebuilt
  from what caused it, not stored. One-off messages (order notices, welcome, loyalty) are
  jobs with Huey retries that raise while their delivery is temporarily ``failed``; the
  periodic triggers retry by themselves, since their next run finds the same item still due
  and re-sends the same failed delivery (same key, same Message-ID), up to
  :data:`MAX_ATTEMPTS` attempts. Either way the delivery is claimed before sending, so a
  message is never sent twice.
- **Welcome** is marketing (it carries the unsubscribe links) and is sent once per
  subscriber even if the week's cap is reached: the person has just asked for it. It then
  counts towards the cap like any other marketing message.
- **Browse abandonment** creates a help-desk callback only for customers who agreed to hear
  from the shop (a confirmed subscription, whatever the channel; their phone if they gave
  one in their preferences); looking at a page is no consent to a phone call. One callback
  per customer per day of browsing (``views:<user>:<day>``), and a mail too if e-mail is one
  of their channels and the cap allows.
- Birthdays are checked every hour (the job is periodic by the hour) against the shop's own
  date, once per subscriber and year; someone born on 29 February is wished a happy
  birthday on the 28th in other years.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import url_for
from flask_babel import format_date
from sqlalchemy import delete, extract, func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from comptoir.toolkit import (
    Order,
    TenantInfo,
    as_tenant,
    db,
    enqueue,
    job,
    money,
    periodic,
    plugin_settings,
    plugin_translations,
    request_callback,
    shop_context,
    shop_today,
    tenant_by_id,
)
from comptoir.toolkit import tenants_with_plugin as toolkit_tenants_with_plugin
from comptoir.toolkit import transactional_mail as toolkit_transactional_mail
from plugins.newsletters import consent, mailing
from plugins.newsletters.models import (
    FAILED,
    MARKETING,
    SENT,
    SUBSCRIBED,
    TRANSACTIONAL,
    Delivery,
    ProductView,
    Subscriber,
)

log = logging.getLogger("comptoir.newsletters")
translations = plugin_translations("plugins.newsletters")
_ = translations.gettext
PLUGIN = "newsletters"

#: Reminders look this far back at most: a cart or a visit older than a week is history.
WINDOW = timedelta(days=7)
#: A trigger's message is tried at most this many times.
MAX_ATTEMPTS = 5
#: At most this many products listed in a reminder (and in a callback task).
MAX_ITEMS = 10
#: How long product views are kept (browse abandonment, "viewed without buying" segments).
VIEWS_KEPT = timedelta(days=90)

#: Order events that send a notice, and the setting that turns each on.
ORDER_EVENTS = {
    "placed": "trigger_order_confirmation",
    "held": "trigger_order_confirmation",
    "shipped": "trigger_delivery_status",
    "delivered": "trigger_delivery_status",
}


# --- shops, readers, sending ---------------------------------------------------------------


def tenants_with_plugin() -> list[TenantInfo]:
    """Every tenant that enabled the plugin (resellers inherit their office's choice)."""
    return toolkit_tenants_with_plugin(PLUGIN)


def _settings(tenant: TenantInfo) -> dict[str, Any]:
    return plugin_settings(PLUGIN, tenant)


def _tenant(tenant_id: int) -> TenantInfo | None:
    """The tenant a job is about, if it still exists and still has the plugin on."""
    tenant = tenant_by_id(tenant_id)
    return tenant if tenant is not None and PLUGIN in tenant.plugins else None


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive values; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _content(subject: str, body: str) -> mailing.Content:
    """A message whose words are final: passed as values, so that a brace in a product's
    or a customer's name is text, not a template placeholder."""
    return mailing.Content(subject="{{ trigger_subject }}", body="{{ trigger_body }}",
                           values={"trigger_subject": subject, "trigger_body": body})


def _hello(reader: mailing.Reader) -> str:
    return _("Hello %(name)s,", name=reader.first_name) if reader.first_name else _("Hello,")


def _link(endpoint: str, **values: Any) -> str:
    """An absolute link to the shop ``shop_context`` is in."""
    return url_for(endpoint, _external=True, **values)


def _existing(dedupe_key: str) -> tuple[int, str, int] | None:
    """``(id, status, attempts)`` of the current tenant's delivery with this key."""
    row = db.session.execute(select(Delivery.id, Delivery.status, Delivery.attempts).where(
        Delivery.dedupe_key == dedupe_key)).first()
    return (row[0], row[1], row[2]) if row is not None else None


def _retryable(found: tuple[int, str, int] | None) -> bool:
    return found is not None and found[1] == FAILED and found[2] < MAX_ATTEMPTS


def deliver(sender: TenantInfo, reader: mailing.Reader, content: mailing.Content, *,
            kind: str, dedupe_key: str, trigger: str) -> Delivery | None:
    """Send a trigger's message once: a new delivery through :func:`mailing.send_now`, or
    another attempt at the same key's temporarily failed one (claimed first, so two
    attempts at once send it once). ``None``: sent (or given up) before, or suppressed."""
    with as_tenant(sender):
        found = _existing(dedupe_key)
        if found is not None and (not _retryable(found)
                                  or mailing.suppressed(reader.email, kind)):
            return None
        if found is not None and not mailing.claim([found[0]]):
            return None  # another worker is at it
        row = db.session.get(Delivery, found[0]) if found is not None else None
        if row is not None:
            db.session.expunge(row)  # building the message enters the shop's scope anew
    if row is None:
        return mailing.send_now(sender, reader, content, kind=kind, dedupe_key=dedupe_key,
                                trigger=trigger)

    def build(delivery: Delivery) -> Any:
        with shop_context(reader.tenant, reader.locale):
            return mailing.compose(sender, reader, content, kind=kind, delivery=delivery)

    with as_tenant(sender):
        mailing.deliver_batch(sender, [row], build)
        done = db.session.get(Delivery, row.id)
        db.session.expunge(done)  # leaving the scope rolls back, which would expire it
    return done


class TemporaryFailure(RuntimeError):
    """Raised by a one-off job whose message failed for now, so that Huey retries it."""


def raise_if_failed(delivery: Delivery | None) -> None:
    if delivery is not None and delivery.status == FAILED:
        raise TemporaryFailure(f"delivery {delivery.id} failed for now: {delivery.error}")


def _marketing(sender: TenantInfo, reader: mailing.Reader, frequency: str, *,
               dedupe_key: str, trigger: str, words: Callable[[], tuple[str, str]],
               capped: bool = True) -> Delivery | None:
    """Send a marketing trigger's message to a reader whose consent was checked, unless it
    went before, the address is suppressed, or it would pass the cap; ``words`` gives the
    subject and body, called in the reader's language inside the shop's context."""
    with as_tenant(sender):
        found = _existing(dedupe_key)
        if found is not None and not _retryable(found):
            return None
        if mailing.suppressed(reader.email):
            return None
        if capped and mailing.over_cap(sender, reader, frequency):
            log.info("%s: %s skipped for %s (frequency cap)", sender.slug, trigger,
                     reader.email)
            return None
    with shop_context(reader.tenant, reader.locale):
        subject, body = words()
    return deliver(sender, reader, _content(subject, body), kind=MARKETING,
                   dedupe_key=dedupe_key, trigger=trigger)


@dataclass(frozen=True)
class _Due:
    """One reader a periodic trigger is about, read while in the shop's scope."""

    reader: mailing.Reader
    frequency: str
    key: str
    items: tuple[Any, ...] = ()
    #: What the words mention besides the items (an order's number).
    label: str = ""


def _reader(tenant: TenantInfo, subscriber: Subscriber | None) -> mailing.Reader | None:
    """The subscriber as a reader of marketing mail, or ``None`` without consent."""
    if subscriber is None or not subscriber.receives_marketing:
        return None
    return consent.reader_for(tenant, subscriber)


def _buyer(user_id: int | None, email: str) -> Subscriber | None:
    """The subscriber behind a customer account or an order's address."""
    if user_id is not None:
        found = db.session.scalars(select(Subscriber).where(
            Subscriber.user_id == user_id)).first()
        if found is not None:
            return found
    return consent.subscriber_for(email)


def _each_tenant(name: str, work: Callable[[TenantInfo, dict[str, Any]], int]) -> int:
    """Run a periodic trigger's ``work`` for every shop with the plugin; one shop's failure
    is logged and does not stop the others."""
    done = 0
    for tenant in tenants_with_plugin():
        try:
            done += work(tenant, _settings(tenant))
        except Exception:
            db.session.rollback()
            log.exception("newsletters.%s failed for %s", name, tenant.slug)
    return done


def _sent(delivery: Delivery | None) -> int:
    return 1 if delivery is not None and delivery.status == SENT else 0


# --- hooks ---------------------------------------------------------------------------------


def order_event(tenant: TenantInfo, order: Any, event: str) -> None:
    """An order moved on: queue its notice, if that notice is on (sent from a job)."""
    setting = ORDER_EVENTS.get(event)
    if setting is None or not _settings(tenant).get(setting):
        return
    enqueue("newsletters.order_mail", tenant_id=tenant.id, order_id=order.id, event=event)


def customer_event(tenant: TenantInfo, user: Any, event: str, details: dict) -> None:
    """Record a product view (cheap, no mail), or queue a loyalty reminder."""
    if event == "product_viewed":
        _record_view(user, details)
    elif event == "loyalty_points_expiring":
        if not _settings(tenant).get("trigger_loyalty_expiring"):
            return
        points, expires_on = details.get("points"), details.get("expires_on")
        if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
            log.warning("%s: loyalty event without a number of points: %r", tenant.slug,
                        details)
            return
        try:
            day = date.fromisoformat(str(expires_on))
        except ValueError:
            log.warning("%s: loyalty event without an ISO expiry date: %r", tenant.slug,
                        details)
            return
        enqueue("newsletters.loyalty_expiring", tenant_id=tenant.id, user_id=user.id,
                points=points, expires_on=day.isoformat())


def _record_view(user: Any, details: dict) -> None:
    """One row per page view of a logged-in customer who subscribed to the newsletter: what
    someone looks at is personal data, kept only for those who agreed to hear from the shop
    (browse reminders, help-desk callbacks and segments use nothing else)."""
    product_id, sku, name = details.get("product_id"), details.get("sku"), details.get("name")
    if not isinstance(product_id, int) or not isinstance(sku, str) or not sku:
        return
    subscriber = consent.subscriber_for_user(user)
    if subscriber is None or subscriber.status != SUBSCRIBED:
        return
    try:
        db.session.add(ProductView(user_id=user.id, product_id=product_id, sku=sku[:64],
                                   name=str(name or sku)[:200]))
        db.session.commit()
    except SQLAlchemyError:
        # The page must still show: the view is only a hint for reminders.
        db.session.rollback()
        log.exception("could not record a product view of %s", sku)


# --- order and delivery notices (transactional) --------------------------------------------


@job("newsletters.order_mail", retries=5, retry_delay=300)
def order_mail(tenant_id: int, order_id: int, event: str) -> None:
    """Mail an order's confirmation or delivery notice to its address, subscriber or not,
    in the subscriber's language if the address is one, else the shop's."""
    tenant = _tenant(tenant_id)
    setting = ORDER_EVENTS.get(event)
    if tenant is None or setting is None or not _settings(tenant).get(setting):
        return
    with as_tenant(tenant):
        order = db.session.scalars(select(Order).where(Order.id == order_id)).first()
        if order is None:
            return
        subscriber = _buyer(order.user_id, order.email)
        name = (order.billing_address or {}).get("name") or (
            order.user.name if order.user is not None else "")
        reader = mailing.Reader(
            email=order.email, locale=subscriber.locale if subscriber else tenant.locale,
            tenant=tenant, name=str(name), user_id=order.user_id,
            subscriber_id=subscriber.id if subscriber else None)
        facts = {"number": order.number, "status": order.status, "currency": order.currency,
                 "total": order.total_gross,
                 "lines": [(line.quantity, line.name, line.sku) for line in order.lines
                           if not line.is_shipping]}
    with shop_context(tenant, reader.locale):
        subject, body = _order_words(reader, event, facts)
    delivery = deliver(tenant, reader, _content(subject, body), kind=TRANSACTIONAL,
                       dedupe_key=f"order:{order_id}:{event}", trigger=f"order_{event}")
    raise_if_failed(delivery)


def _order_words(reader: mailing.Reader, event: str, facts: dict[str, Any]) -> tuple[str, str]:
    number = facts["number"]
    if event == "placed" and facts["status"] == "awaiting_payment":
        subject = _("Your order %(number)s", number=number)
        intro = _("Thank you for your order %(number)s. It is confirmed once your payment "
                  "is received. Here is what you ordered:", number=number)
    elif event == "placed":
        subject = _("Your order %(number)s is confirmed", number=number)
        intro = _("Thank you for your order %(number)s. Here is what you ordered:",
                  number=number)
    elif event == "held":
        subject = _("Your order %(number)s awaits approval", number=number)
        intro = _("Your order %(number)s must be approved in your company before it is "
                  "confirmed. Here is what you ordered:", number=number)
    elif event == "shipped":
        subject = _("Your order %(number)s has shipped", number=number)
        intro = _("Your order %(number)s is on its way. It contains:", number=number)
    else:
        subject = _("Your order %(number)s has been delivered", number=number)
        intro = _("Your order %(number)s has been delivered. It contained:", number=number)
    lines = "\n".join(_("%(quantity)s × %(name)s (%(sku)s)", quantity=q, name=n, sku=s)
                      for q, n, s in facts["lines"])
    total = _("Total including VAT: %(total)s",
              total=money(facts["total"], facts["currency"]))
    link = _("Your order online: %(url)s", url=_link("orders.show", number=number))
    return subject, "\n\n".join((_hello(reader), intro, lines, total, link))


# --- other plugins' transactional messages (comptoir_transactional_mail) -------------------


def transactional_mail(tenant: TenantInfo, to: str, subject: str, body: str, locale: str,
                       dedupe_key: str, reply_to: str | None = None,
                       headers: dict[str, str] | None = None) -> bool:
    """Take a transactional message another plugin (or the core) owes a customer: queued,
    so that the request that caused it never waits for the shop's SMTP server and keeps its
    session as it was; the job sends it once per ``dedupe_key``, in ``locale`` (the language
    its words are written in, so the footer matches them), whatever the address's
    newsletter choices. Always ``True``: the message is this plugin's from now on."""
    enqueue("newsletters.transactional", tenant_id=tenant.id, to=to, subject=subject,
            body=body, locale=locale, dedupe_key=dedupe_key, reply_to=reply_to,
            headers=dict(headers or {}))
    return True


@job("newsletters.transactional", retries=5, retry_delay=300)
def transactional(tenant_id: int, to: str, subject: str, body: str, locale: str,
                  dedupe_key: str, reply_to: str | None = None,
                  headers: dict[str, str] | None = None) -> None:
    """Send a message queued by :func:`transactional_mail` (Huey retries a temporary
    failure with the same delivery, hence the same Message-ID)."""
    from dataclasses import replace
    from email.utils import parseaddr

    tenant = tenant_by_id(tenant_id)
    if tenant is None:
        return
    if PLUGIN not in tenant.plugins:  # turned off since: the core's mail still sends it
        toolkit_transactional_mail(tenant, to=to, subject=subject, body=body, locale=locale,
                                   dedupe_key=dedupe_key, reply_to=reply_to, headers=headers)
        return
    name, address = parseaddr(to)
    with as_tenant(tenant):
        subscriber = consent.subscriber_for(address)
        reader = mailing.Reader(
            email=address, locale=locale, tenant=tenant,
            name=name or (subscriber.name if subscriber is not None else ""),
            user_id=subscriber.user_id if subscriber is not None else None,
            subscriber_id=subscriber.id if subscriber is not None else None)
    content = replace(_content(subject, body), reply_to=reply_to, headers=dict(headers or {}))
    delivery = deliver(tenant, reader, content, kind=TRANSACTIONAL, dedupe_key=dedupe_key,
                       trigger=(dedupe_key.split(":", 1)[0] or "transactional")[:40])
    raise_if_failed(delivery)


# --- welcome and loyalty (one-off jobs) ----------------------------------------------------


@job("newsletters.welcome", retries=5, retry_delay=300)
def welcome(tenant_id: int, subscriber_id: int) -> None:
    """Welcome a subscriber who just confirmed (queued by :func:`consent.confirm`)."""
    tenant = _tenant(tenant_id)
    if tenant is None or not _settings(tenant).get("trigger_welcome"):
        return
    with as_tenant(tenant):
        subscriber = db.session.scalars(select(Subscriber).where(
            Subscriber.id == subscriber_id)).first()
        reader = _reader(tenant, subscriber)
        frequency = subscriber.frequency if subscriber is not None else "any"
    if reader is None:
        return

    def words() -> tuple[str, str]:
        return (_("Welcome to %(shop)s's newsletter", shop=tenant.name),
                "\n\n".join((_hello(reader), _(
                    "Thank you for confirming your subscription. You will hear from us on "
                    "the themes and at the frequency you chose; change them, or leave the "
                    "list, at any time with the links at the bottom of every message."),
                    _("Visit the shop: %(url)s", url=_link("index")))))

    raise_if_failed(_marketing(tenant, reader, frequency, dedupe_key=f"welcome:{subscriber_id}",
                                trigger="welcome", words=words, capped=False))


@job("newsletters.loyalty_expiring", retries=5, retry_delay=300)
def loyalty_expiring(tenant_id: int, user_id: int, points: int, expires_on: str) -> None:
    """Remind a subscribed customer that loyalty points are about to expire."""
    tenant = _tenant(tenant_id)
    if tenant is None or not _settings(tenant).get("trigger_loyalty_expiring"):
        return
    with as_tenant(tenant):
        subscriber = _buyer(user_id, _user_email(user_id))
        reader = _reader(tenant, subscriber)
        frequency = subscriber.frequency if subscriber is not None else "any"
    if reader is None:
        return
    day = date.fromisoformat(expires_on)

    def words() -> tuple[str, str]:
        when = format_date(day, "long")
        return (translations.ngettext("Your %(num)d loyalty point expires on %(date)s",
                                      "Your %(num)d loyalty points expire on %(date)s",
                                      points, date=when),
                "\n\n".join((_hello(reader), translations.ngettext(
                    "You have %(num)d loyalty point that expires on %(date)s. Use it "
                    "before then on your next order.",
                    "You have %(num)d loyalty points that expire on %(date)s. Use them "
                    "before then on your next order.", points, date=when),
                    _("Visit the shop: %(url)s", url=_link("index")))))

    raise_if_failed(_marketing(tenant, reader, frequency,
                                dedupe_key=f"loyalty:{user_id}:{expires_on}",
                                trigger="loyalty_expiring", words=words))


def _user_email(user_id: int) -> str:
    from comptoir.customers.models import User  # a core model the toolkit does not export yet

    return db.session.scalars(select(User.email).where(User.id == user_id)).first() or ""


# --- abandoned carts -----------------------------------------------------------------------


@periodic("newsletters.abandoned_carts", minutes=15)
def abandoned_carts() -> int:
    """Remind subscribed customers of a cart left alone; returns how many were mailed."""
    return _each_tenant("abandoned_carts", _abandoned_carts)


def _abandoned_carts(tenant: TenantInfo, settings: dict[str, Any],
                     now: datetime | None = None) -> int:
    hours = int(settings.get("trigger_abandoned_cart_hours") or 0)
    if not hours:
        return 0
    now = now or datetime.now(UTC)
    with as_tenant(tenant):
        due = _carts_due(tenant, now - timedelta(hours=hours), now - WINDOW)
    sent = 0
    for item in due:
        def words(item: _Due = item) -> tuple[str, str]:
            products = "\n".join(_("%(quantity)s × %(name)s", quantity=q, name=n)
                                 for q, n in item.items)
            return (_("You left something in your cart at %(shop)s", shop=tenant.name),
                    "\n\n".join((_hello(item.reader),
                                 _("Your cart is waiting for you:"), products,
                                 _("Finish your order: %(url)s", url=_link("orders.cart")))))

        sent += _sent(_marketing(tenant, item.reader, item.frequency, dedupe_key=item.key,
                                 trigger="abandoned_cart", words=words))
    return sent


def _carts_due(tenant: TenantInfo, before: datetime, since: datetime) -> list[_Due]:
    from comptoir.customers.models import User  # a core model the toolkit does not export yet
    from comptoir.orders.models import Cart

    carts = db.session.scalars(select(Cart).where(
        Cart.user_id.is_not(None), Cart.updated_at <= before, Cart.updated_at > since)
        .order_by(Cart.id)).all()
    due = []
    for cart in carts:
        if not cart.lines or _ordered_since(cart.user_id, cart.updated_at):
            continue
        user = db.session.get(User, cart.user_id)
        subscriber = consent.subscriber_for_user(user) if user is not None else None
        reader = _reader(tenant, subscriber)
        if reader is None or subscriber is None:
            continue
        items = tuple((line.quantity, _line_name(line)) for line in cart.lines[:MAX_ITEMS])
        due.append(_Due(reader, subscriber.frequency,
                        f"cart:{cart.id}:{_aware(cart.updated_at):%Y%m%d%H%M}", items))
    return due


def _line_name(line: Any) -> str:
    if line.variant is not None:
        return line.variant.product.name
    return line.configuration.name if line.configuration is not None else ""


def _ordered_since(user_id: int, moment: datetime) -> bool:
    return db.session.scalars(select(Order.id).where(
        Order.user_id == user_id, Order.created_at >= moment)).first() is not None


# --- browse abandonment --------------------------------------------------------------------


@periodic("newsletters.browse_abandonment", minutes=15)
def browse_abandonment() -> int:
    """Follow up products viewed and not bought: a callback task for the help desk, and a
    mail to subscribed readers; returns how many callbacks were asked for. Also forgets
    views older than :data:`VIEWS_KEPT`."""
    return _each_tenant("browse_abandonment", _browse_abandonment)


@dataclass(frozen=True)
class _Browsed:
    user_id: int
    day: date
    name: str
    email: str
    phone: str
    reader: mailing.Reader | None
    frequency: str
    products: tuple[tuple[str, str], ...]


def _browse_abandonment(tenant: TenantInfo, settings: dict[str, Any],
                        now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    _forget_old_views(tenant, now)
    hours = int(settings.get("trigger_browse_hours") or 0)
    if not hours:
        return 0
    with as_tenant(tenant):
        due = _browsed(tenant, now - timedelta(hours=hours), now - WINDOW)
    done = 0
    for item in due:
        done += _ask_callback(tenant, item)
        if item.reader is None:
            continue

        def words(item: _Browsed = item) -> tuple[str, str]:
            products = "\n".join(f"{name}: {_link('storefront.product', sku=sku)}"
                                 for sku, name in item.products)
            return (_("Still thinking about it?"),
                    "\n\n".join((_hello(item.reader),
                                 _("You recently looked at these products at %(shop)s:",
                                   shop=tenant.name), products,
                                 _("Questions? Answer this message or call us: we are glad "
                                   "to help you choose."))))

        _marketing(tenant, item.reader, item.frequency,
                   dedupe_key=f"browse:{item.user_id}:{item.day.isoformat()}",
                   trigger="browse_abandonment", words=words)
    return done


def _ask_callback(tenant: TenantInfo, item: _Browsed) -> bool:
    """One callback task per customer and day of browsing; ``True`` if this run made it."""
    with as_tenant(tenant):
        try:
            task = request_callback(
                user_id=item.user_id, name=item.name, email=item.email, phone=item.phone,
                reason="browse_abandonment", created_by="newsletters",
                about=[{"sku": sku, "name": name} for sku, name in item.products],
                dedupe_key=f"views:{item.user_id}:{item.day.isoformat()}")
        except ValueError as refused:  # a name with a line break...: skip this one only
            log.warning("%s: no callback for customer %s: %s", tenant.slug, item.user_id,
                        refused)
            return False
    return task is not None


def _forget_old_views(tenant: TenantInfo, now: datetime) -> None:
    """Product views are kept :data:`VIEWS_KEPT`, then deleted (they are personal data)."""
    with as_tenant(tenant):
        db.session.execute(delete(ProductView).where(ProductView.viewed_at < now - VIEWS_KEPT))
        db.session.commit()


def _browsed(tenant: TenantInfo, before: datetime, since: datetime) -> list[_Browsed]:
    """Customers' views between ``since`` and ``before`` of products they have not ordered
    since, by customer and day of browsing (in the shop's time zone)."""
    from comptoir.customers.models import User  # a core model the toolkit does not export yet
    from comptoir.orders.models import OrderLine

    views = db.session.scalars(select(ProductView).where(
        ProductView.viewed_at <= before, ProductView.viewed_at > since)
        .order_by(ProductView.user_id, ProductView.viewed_at)).all()
    zone = ZoneInfo(tenant.timezone or "UTC")
    grouped: dict[tuple[int, date], dict[str, str]] = {}
    for view in views:
        day = _aware(view.viewed_at).astimezone(zone).date()
        grouped.setdefault((view.user_id, day), {})[view.sku] = view.name
    bought: dict[int, dict[str, datetime]] = {}
    for user_id in {user_id for user_id, _day in grouped}:
        rows = db.session.execute(select(OrderLine.sku, func.max(Order.created_at))
                                  .join(Order, Order.id == OrderLine.order_id)
                                  .where(Order.user_id == user_id, Order.created_at > since)
                                  .group_by(OrderLine.sku)).all()
        bought[user_id] = {sku: _aware(at) for sku, at in rows}
    first_view: dict[tuple[int, str], datetime] = {}
    for view in views:
        first_view.setdefault((view.user_id, view.sku), _aware(view.viewed_at))
    found = []
    for (user_id, day), products in grouped.items():
        left = tuple((sku, name) for sku, name in products.items()
                     if bought[user_id].get(sku, datetime.min.replace(tzinfo=UTC))
                     < first_view[(user_id, sku)])[:MAX_ITEMS]
        user = db.session.get(User, user_id) if left else None
        subscriber = consent.subscriber_for_user(user) if user is not None else None
        if subscriber is None or subscriber.status != SUBSCRIBED:
            continue  # see the module's docstring: no consent, no call
        found.append(_Browsed(user_id, day, subscriber.name or user.name, user.email,
                              subscriber.phone or "", _reader(tenant, subscriber),
                              subscriber.frequency, left))
    return found


# --- review requests -----------------------------------------------------------------------


@periodic("newsletters.review_requests", minutes=60)
def review_requests() -> int:
    """Ask subscribed buyers for a review some days after delivery."""
    return _each_tenant("review_requests", _review_requests)


def _review_requests(tenant: TenantInfo, settings: dict[str, Any],
                     now: datetime | None = None) -> int:
    days = int(settings.get("trigger_review_days") or 0)
    if not days:
        return 0
    now = now or datetime.now(UTC)
    with as_tenant(tenant):
        due = _delivered(tenant, now - timedelta(days=days), now - timedelta(days=days) - WINDOW)
    sent = 0
    for item in due:
        def words(item: _Due = item) -> tuple[str, str]:
            products = "\n".join(f"{name}: {_link('storefront.product', sku=sku)}"
                                 for sku, name in item.items)
            return (_("How do you like your purchase?"),
                    "\n\n".join((_hello(item.reader),
                                 _("Your order %(number)s was delivered a few days ago. "
                                   "Would you tell other customers what you think of it? "
                                   "Leave a review on the product's page:",
                                   number=item.label), products)))

        sent += _sent(_marketing(tenant, item.reader, item.frequency, dedupe_key=item.key,
                                 trigger="review_request", words=words))
    return sent


def _delivered(tenant: TenantInfo, before: datetime, since: datetime) -> list[_Due]:
    """Orders still delivered whose first delivery was between ``since`` and ``before``."""
    from comptoir.catalog.models import Variant  # a core model the toolkit does not export yet
    from comptoir.orders.models import OrderEvent

    first = (select(OrderEvent.order_id, func.min(OrderEvent.at).label("at"))
             .where(OrderEvent.to_status == "delivered").group_by(OrderEvent.order_id)
             .subquery())
    orders = db.session.scalars(select(Order).join(first, first.c.order_id == Order.id).where(
        first.c.at <= before, first.c.at > since, Order.status == "delivered")
        .order_by(Order.id)).all()
    due = []
    for order in orders:
        subscriber = _buyer(order.user_id, order.email)
        reader = _reader(tenant, subscriber)
        if reader is None or subscriber is None:
            continue
        skus = [line.sku for line in order.lines if not line.is_shipping]
        known = set(db.session.scalars(select(Variant.sku).where(Variant.sku.in_(skus))))
        items = tuple(dict.fromkeys((line.sku, line.name) for line in order.lines
                                    if line.sku in known))[:MAX_ITEMS]
        if items:
            due.append(_Due(reader, subscriber.frequency, f"review:{order.id}", items,
                            str(order.number)))
    return due


# --- birthdays -----------------------------------------------------------------------------


@periodic("newsletters.birthdays", minutes=60)
def birthdays() -> int:
    """Wish subscribed readers a happy birthday, on the day in the shop's time zone."""
    return _each_tenant("birthdays", _birthdays)


def _birthdays(tenant: TenantInfo, settings: dict[str, Any], today: date | None = None) -> int:
    if not settings.get("trigger_birthday"):
        return 0
    today = today or shop_today(tenant)
    with as_tenant(tenant):
        days = [(today.month, today.day)]
        if (today.month, today.day) == (2, 28) and not _leap(today.year):
            days.append((2, 29))
        subscribers = db.session.scalars(select(Subscriber).where(
            Subscriber.status == SUBSCRIBED, Subscriber.birthday.is_not(None),
            or_(*[(extract("month", Subscriber.birthday) == m)
                  & (extract("day", Subscriber.birthday) == d) for m, d in days]))
            .order_by(Subscriber.id)).all()
        due = [_Due(reader, s.frequency, f"birthday:{s.id}:{today.year}")
               for s in subscribers if (reader := _reader(tenant, s)) is not None]
    sent = 0
    for item in due:
        def words(item: _Due = item) -> tuple[str, str]:
            return (_("Happy birthday from %(shop)s!", shop=tenant.name),
                    "\n\n".join((_hello(item.reader), _(
                        "The whole team of %(shop)s wishes you a happy birthday.",
                        shop=tenant.name),
                        _("Treat yourself: %(url)s", url=_link("index")))))

        sent += _sent(_marketing(tenant, item.reader, item.frequency, dedupe_key=item.key,
                                 trigger="birthday", words=words))
    return sent


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# --- win-back ------------------------------------------------------------------------------


@periodic("newsletters.winback", minutes=60)
def winback() -> int:
    """"We miss you" to subscribed customers whose last order is some weeks old."""
    return _each_tenant("winback", _winback)


def _winback(tenant: TenantInfo, settings: dict[str, Any], now: datetime | None = None) -> int:
    weeks = int(settings.get("trigger_winback_weeks") or 0)
    if not weeks:
        return 0
    now = now or datetime.now(UTC)
    with as_tenant(tenant):
        due = _inactive(tenant, now - timedelta(weeks=weeks))
    sent = 0
    for item in due:
        def words(item: _Due = item) -> tuple[str, str]:
            return (_("We miss you at %(shop)s", shop=tenant.name),
                    "\n\n".join((_hello(item.reader), _(
                        "It has been a while since your last order. Come and see what is "
                        "new:"), _link("index"))))

        sent += _sent(_marketing(tenant, item.reader, item.frequency, dedupe_key=item.key,
                                 trigger="winback", words=words))
    return sent


def _inactive(tenant: TenantInfo, before: datetime) -> list[_Due]:
    """Subscribed readers who ordered once, but not since ``before``; keyed by their last
    order, so each period of inactivity is mailed once."""
    last_by_user = {user_id: (last_id, _aware(at)) for user_id, last_id, at in
                    db.session.execute(select(Order.user_id, func.max(Order.id),
                                              func.max(Order.created_at))
                                       .where(Order.user_id.is_not(None))
                                       .group_by(Order.user_id))}
    last_by_email = {email: (last_id, _aware(at)) for email, last_id, at in
                     db.session.execute(select(func.lower(Order.email), func.max(Order.id),
                                               func.max(Order.created_at))
                                        .group_by(func.lower(Order.email)))}
    subscribers = db.session.scalars(select(Subscriber).where(Subscriber.status == SUBSCRIBED)
                                     .order_by(Subscriber.id)).all()
    due = []
    for subscriber in subscribers:
        known = [last for last in (last_by_user.get(subscriber.user_id),
                                   last_by_email.get(subscriber.email)) if last is not None]
        reader = _reader(tenant, subscriber)
        if not known or reader is None:
            continue
        last_id, last_at = max(known)
        if last_at > before:
            continue
        who = subscriber.user_id if subscriber.user_id is not None else f"s{subscriber.id}"
        due.append(_Due(reader, subscriber.frequency, f"winback:{who}:{last_id}"))
    return due
