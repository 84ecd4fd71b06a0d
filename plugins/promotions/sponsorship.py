"""Sponsorship: a customer's personal invite link, the friend's welcome offer, the sponsor's
reward.

- **The link.** Each customer has a code (:class:`InviteCode`, made when they first open
  their invite page); ``/invite/<code>`` leaves a first-party cookie signed with the app's
  secret (itsdangerous, salted per shop, timestamped, ``invite_cookie_days``), like the
  affiliates plugin's referral cookie: a forged cookie, another shop's, or an old one is
  ignored.
- **The friend.** A new customer (no order before following the link) gets the welcome
  offer (``friend_offer_kind``/``friend_offer_value``) on their first order and is bound to
  the sponsor once: when their account is made with the cookie (``customer_registered``;
  the storefront's accounts are made right after a guest's first order), or when their
  first order uses the offer. ``friend_email`` is unique per shop, so nobody has two
  sponsors, and the offer is claimed at booking with a guarded ``UPDATE`` (one order gets
  it; a cancelled order gives it back).
- **Self-sponsorship is refused**: the same account, the same e-mail address (any case), or
  the sponsor's own browser — a browser where the sponsor followed their own link or
  opened their invite page carries a second signed cookie naming them, and an invite of
  theirs is then worth nothing there, whatever address is typed at checkout.
- **The reward.** ``sponsor_reward_points`` points, once, when the friend's first paid
  order that is kept is past its withdrawal period (``return_deadline``) with no return
  under way: the periodic job ``promotions.sponsor_rewards`` claims the sponsorship with a
  guarded ``UPDATE ... WHERE status = 'pending'`` and the points entry is unique per
  sponsorship, so running it twice, or on two workers, rewards once. An order sent back in
  full does not count; the friend's next one may.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from flask import current_app, has_request_context, request
from flask_babel import format_percent, get_locale
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from comptoir.toolkit import (
    Discount,
    Order,
    TenantInfo,
    as_tenant,
    db,
    money,
    open_return,
    periodic,
    plugin_settings,
    return_deadline,
    shop_today,
    tenants_with_plugin,
)
from plugins.promotions import loyalty
from plugins.promotions.loyalty_models import (
    PENDING,
    REWARD,
    REWARDED,
    InviteCode,
    Sponsorship,
)

log = logging.getLogger("comptoir.plugins.promotions")
_ = loyalty.translations.gettext

PLUGIN = "promotions"
COOKIE = "comptoir_invite"
#: The sponsor's own browser: the sponsors whose link or invite page was opened in it.
OWN_COOKIE = "comptoir_invite_own"
REF_PREFIX = "promotions:friend:"
#: No 0/O or 1/I: codes are read aloud and typed from paper too.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE = re.compile(r"[A-Z0-9]{4,16}")
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
#: Orders that do not make a customer "not new": one cancelled never happened.
NOT_COUNTED = ("cancelled",)


def settings(tenant: TenantInfo) -> dict[str, Any]:
    """The plugin's settings for ``tenant`` (a reseller's unset ones are its office's)."""
    return plugin_settings(PLUGIN, tenant)


def enabled(tenant: TenantInfo) -> bool:
    """Sponsorship runs with the loyalty programme (the sponsor's reward is points)."""
    return loyalty.enabled(tenant) and bool(settings(tenant).get("sponsorship_enabled", True))


def offer_of(tenant: TenantInfo) -> tuple[str, Decimal]:
    """The friend's welcome offer: ``("percent", 10)`` or ``("amount", 15.00)``."""
    found = settings(tenant)
    kind = "amount" if found.get("friend_offer_kind") == "amount" else "percent"
    value = loyalty._decimal(found.get("friend_offer_value"), "0")
    return kind, min(value, HUNDRED) if kind == "percent" else value


def offer_words(tenant: TenantInfo) -> str | None:
    """The offer in words (``10 % off your first order``), or ``None`` without one."""
    kind, value = offer_of(tenant)
    if value <= 0:
        return None
    if kind == "percent":
        return _("%(offer)s off your first order", offer=_percent(value / HUNDRED))
    return _("%(offer)s off your first order", offer=money(value, tenant.currency))


def _percent(ratio: Decimal) -> str:
    """``0.125`` as ``12,5 %`` in French: the locale's own percent pattern, with up to two
    decimals where Babel's default rounds to a whole number."""
    locale = get_locale()
    pattern = locale.percent_formats[None].pattern if locale is not None else "#,##0%"
    return format_percent(ratio, format=pattern.replace("#,##0", "#,##0.##", 1))


# -- codes and cookies ----------------------------------------------------------------------


def code_for(user_id: int) -> InviteCode:
    """The customer's invite code, made on first need (random, unique in the shop)."""
    found = db.session.scalars(select(InviteCode).where(InviteCode.user_id == user_id)).first()
    for _attempt in range(10):
        if found is not None:
            return found
        code = "".join(secrets.choice(ALPHABET) for _i in range(CODE_LENGTH))
        try:
            with db.session.begin_nested():
                db.session.add(InviteCode(user_id=user_id, code=code))
        except IntegrityError:
            pass  # the code was taken, or the customer's was made meanwhile: look again
        found = db.session.scalars(select(InviteCode).where(
            InviteCode.user_id == user_id)).first()
    if found is None:
        raise RuntimeError("could not make an invite code")
    return found


def find(code: str) -> InviteCode | None:
    """The shop's invite with ``code`` (any case); another shop's code is unknown here."""
    code = (code or "").strip().upper()
    if not CODE.fullmatch(code):
        return None
    return db.session.scalars(select(InviteCode).where(InviteCode.code == code)).first()


def _signer(tenant: TenantInfo, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key,
                                  salt=f"promotions-{purpose}-{tenant.id}")


def max_age(tenant: TenantInfo) -> int:
    """How long, in seconds, a followed invite link counts (``invite_cookie_days``)."""
    return int(settings(tenant).get("invite_cookie_days") or 30) * 86400


def cookie_value(tenant: TenantInfo, invite: InviteCode) -> str:
    """The signed invite cookie: the sponsor and their code, so a code changed later (or
    another customer's) makes the cookie worth nothing."""
    return _signer(tenant, "invite").dumps({"s": invite.user_id, "c": invite.code})


def from_cookie(tenant: TenantInfo) -> tuple[InviteCode, datetime] | None:
    """The invite the visitor followed and when, if the cookie is genuine and fresh."""
    if not has_request_context():
        return None
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data, when = _signer(tenant, "invite").loads(raw, max_age=max_age(tenant),
                                                     return_timestamp=True)
    except SignatureExpired:
        log.info("invite cookie older than the shop's window ignored")
        return None
    except BadSignature:
        log.warning("forged or foreign invite cookie ignored")
        return None
    if not isinstance(data, dict):
        return None
    invite = db.session.scalars(select(InviteCode).where(
        InviteCode.user_id == data.get("s"), InviteCode.code == data.get("c"))).first()
    return (invite, when) if invite is not None else None


def own_sponsors(tenant: TenantInfo) -> set[int]:
    """The sponsors whose own browser this is (see :data:`OWN_COOKIE`)."""
    if not has_request_context():
        return set()
    raw = request.cookies.get(OWN_COOKIE)
    if not raw:
        return set()
    try:
        data = _signer(tenant, "own").loads(raw)
    except BadSignature:
        return set()
    return {i for i in data if isinstance(i, int)} if isinstance(data, list) else set()


def own_cookie_value(tenant: TenantInfo, user_id: int) -> str:
    """The signed "sponsor's own browser" cookie, naming ``user_id`` (and up to nine other
    sponsors who used this browser: a family computer)."""
    others = sorted(own_sponsors(tenant) - {user_id})
    return _signer(tenant, "own").dumps([user_id, *others][:10])


# -- who is a new customer, who is the sponsor ----------------------------------------------


def _user(user_id: int) -> Any:
    # a core model the toolkit does not export yet
    from comptoir.customers.models import User

    return db.session.get(User, user_id)


def _has_orders(user_id: int | None, email: str, *, besides: int | None = None,
                before: datetime | None = None) -> bool:
    """Whether this account or address has an order (not cancelled) other than ``besides``,
    or placed before ``before``."""
    conditions = [func.lower(Order.email) == email.strip().lower()]
    if user_id is not None:
        conditions.append(Order.user_id == user_id)
    query = select(Order.id, Order.created_at).where(or_(*conditions),
                                                     Order.status.not_in(NOT_COUNTED))
    if besides is not None:
        query = query.where(Order.id != besides)
    rows = db.session.execute(query).all()
    if before is None:
        return bool(rows)
    moment = before if before.tzinfo else before.replace(tzinfo=UTC)
    return any((at if at.tzinfo else at.replace(tzinfo=UTC)) < moment for _id, at in rows)


def _has_account(email: str) -> bool:
    # a core model the toolkit does not export yet
    from comptoir.customers.models import User

    return db.session.scalars(select(User.id).where(
        func.lower(User.email) == email.strip().lower())).first() is not None


def is_self(tenant: TenantInfo, sponsor_id: int, user: Any, email: str) -> bool:
    """Whether the would-be friend is the sponsor: the same account, the same address, or
    the sponsor's own browser."""
    sponsor = _user(sponsor_id)
    if sponsor is None:
        return True  # no sponsor any more: nobody to sponsor anyone
    if user is not None and user.id == sponsor_id:
        return True
    if email and email.strip().lower() == sponsor.email.strip().lower():
        return True
    return sponsor_id in own_sponsors(tenant)


def sponsorship_of(user: Any = None, email: str = "") -> Sponsorship | None:
    """The sponsorship of this friend, by account or by address (any case)."""
    conditions = []
    if email:
        conditions.append(Sponsorship.friend_email == email.strip().lower())
    if user is not None:
        conditions.append(Sponsorship.friend_id == user.id)
    if not conditions:
        return None
    return db.session.scalars(select(Sponsorship).where(or_(*conditions))).first()


def may_be_sponsored(tenant: TenantInfo, user: Any) -> bool:
    """Whether a logged-in customer is still new: no sponsor yet and no order."""
    return sponsorship_of(user, user.email) is None and not _has_orders(user.id, user.email)


def _checkout_email() -> str:
    """The address a guest typed at checkout (the booking's POST), if any: the offer is then
    judged against it, so the summary that comes back shows the total really charged."""
    if not has_request_context() or request.method != "POST":
        return ""
    value = request.form.get("email", "")
    return value.strip().lower()[:254] if isinstance(value, str) else ""


def _offer_sponsor(tenant: TenantInfo, user: Any) -> int | None:
    """The sponsor whose friend's welcome offer this buyer gets now, or ``None``."""
    email = user.email.strip().lower() if user is not None else _checkout_email()
    bound = sponsorship_of(user, email)
    if bound is not None:
        if bound.status != PENDING or bound.offer_order_id is not None or _has_orders(
                user.id if user is not None else None, email):
            return None
        return None if is_self(tenant, bound.sponsor_id, user, email) else bound.sponsor_id
    followed = from_cookie(tenant)
    if followed is None:
        return None
    invite, _when = followed
    if is_self(tenant, invite.user_id, user, email):
        return None
    if user is not None and _has_orders(user.id, email):
        return None
    if user is None and email and (_has_orders(None, email) or _has_account(email)):
        return None
    return invite.user_id


# -- the friend's welcome offer -------------------------------------------------------------


def discount(tenant: TenantInfo, user: Any, lines: Sequence[Any],
             before: Sequence[Discount] = ()) -> Discount | None:
    """The friend's welcome offer on a first order, on what is left of the goods after
    ``before``; ``None`` when the buyer is not a new friend of a sponsor."""
    if not enabled(tenant):
        return None
    kind, value = offer_of(tenant)
    if value <= 0:
        return None
    sponsor_id = _offer_sponsor(tenant, user)
    if sponsor_id is None:
        return None
    goods, left = loyalty._goods_left(lines, before)
    if kind == "percent":
        amount = (left * value / HUNDRED).quantize(CENT, rounding=ROUND_FLOOR)
    else:
        amount = min(value.quantize(CENT, rounding=ROUND_FLOOR), left)
    if amount <= 0 or not goods:
        return None
    return Discount(f"{REF_PREFIX}{sponsor_id}", _("Welcome offer (invited by a friend)"),
                    amount, goods)


def _sponsor_given(order: Order) -> int | None:
    for given in order.discounts or []:
        ref = str(given.get("ref", ""))
        if ref.startswith(REF_PREFIX) and ref[len(REF_PREFIX):].isdigit():
            return int(ref[len(REF_PREFIX):])
    return None


def claim(tenant: TenantInfo, order: Order, user: Any) -> str | None:
    """Claim the friend's welcome offer for ``order`` (the booking hook), binding the friend
    if they were not yet; a sentence refusing the order if it may not have it."""
    sponsor_id = _sponsor_given(order)
    if sponsor_id is None:
        return None
    email = (order.email or "").strip().lower()
    again = _("Nothing was charged; please check the new total and confirm.")
    if is_self(tenant, sponsor_id, user, email):
        log.warning("order %s: self-sponsorship refused", order.number)
        return " ".join((_("The friend's welcome offer is for the friends you invite, not "
                           "for yourself."), again))
    if _has_orders(user.id if user is not None else None, email, besides=order.id):
        return " ".join((_("The friend's welcome offer is for a first order only."), again))
    used = " ".join((_("The friend's welcome offer has been used already."), again))
    bound = sponsorship_of(user, email)
    if bound is None:
        try:
            with db.session.begin_nested():
                db.session.add(Sponsorship(
                    sponsor_id=sponsor_id, friend_id=user.id if user is not None else None,
                    friend_email=email, offer_order_id=order.id, status=PENDING))
        except IntegrityError:
            return used  # another checkout with this address bound it a moment ago
        return None
    if bound.sponsor_id != sponsor_id:
        return used
    claimed = db.session.execute(
        update(Sponsorship).where(Sponsorship.id == bound.id,
                                  Sponsorship.offer_order_id.is_(None),
                                  Sponsorship.status == PENDING)
        .values(offer_order_id=order.id,
                friend_id=bound.friend_id if bound.friend_id is not None else (
                    user.id if user is not None else None))
        .execution_options(synchronize_session=False)).rowcount
    return None if claimed == 1 else used


# -- binding at registration, order events --------------------------------------------------


def customer_registered(tenant: TenantInfo, user: Any) -> Sponsorship | None:
    """A new account: bind it to the sponsorship its first order made, else to the invite
    the browser followed, if the customer is new (no order before following it) and not
    the sponsor. Commits."""
    if not enabled(tenant):
        return None
    email = user.email.strip().lower()
    bound = sponsorship_of(None, email)
    if bound is not None:
        if bound.friend_id is None:
            db.session.execute(update(Sponsorship).where(
                Sponsorship.id == bound.id, Sponsorship.friend_id.is_(None))
                .values(friend_id=user.id).execution_options(synchronize_session=False))
            db.session.commit()
        return bound
    followed = from_cookie(tenant)
    if followed is None:
        return None
    invite, when = followed
    if is_self(tenant, invite.user_id, user, email):
        log.warning("self-sponsorship refused for a new account")
        return None
    if _has_orders(user.id, email, before=when):
        return None  # a customer before the link: not a friend brought by it
    made = Sponsorship(sponsor_id=invite.user_id, friend_id=user.id, friend_email=email,
                       status=PENDING)
    try:
        with db.session.begin_nested():
            db.session.add(made)
    except IntegrityError:
        return None
    db.session.commit()
    return made


def order_event(tenant: TenantInfo, order: Order, event: str) -> None:
    """A cancelled order gives the friend's welcome offer back for their next order."""
    if event != "cancelled":
        return
    db.session.execute(update(Sponsorship).where(
        Sponsorship.offer_order_id == order.id, Sponsorship.status == PENDING)
        .values(offer_order_id=None).execution_options(synchronize_session=False))
    db.session.commit()


# -- the sponsor's reward (periodic) --------------------------------------------------------


def qualifying_order(tenant: TenantInfo, sponsorship: Sponsorship, today: date
                     ) -> Order | None:
    """The friend's first paid order that is kept past its withdrawal period, if any."""
    conditions = [func.lower(Order.email) == sponsorship.friend_email]
    if sponsorship.friend_id is not None:
        conditions.append(Order.user_id == sponsorship.friend_id)
    orders = db.session.scalars(select(Order).where(
        or_(*conditions), Order.paid_at.is_not(None), Order.status == "delivered")
        .order_by(Order.created_at, Order.id)).all()
    for order in orders:
        deadline = return_deadline(tenant, order)
        if deadline is not None and today > deadline and open_return(order) is None:
            return order
    return None


def reward_due(tenant: TenantInfo, today: date | None = None) -> int:
    """Reward the sponsors whose friend's first kept order is past its withdrawal period;
    returns how many were rewarded. Commits each one."""
    today = today or shop_today(tenant)
    points = int(settings(tenant).get("sponsor_reward_points") or 0)
    waiting = db.session.scalars(select(Sponsorship).where(
        Sponsorship.status == PENDING).order_by(Sponsorship.id)).all()
    rewarded = 0
    for sponsorship in waiting:
        order = qualifying_order(tenant, sponsorship, today)
        if order is None:
            continue
        claimed = db.session.execute(
            update(Sponsorship).where(Sponsorship.id == sponsorship.id,
                                      Sponsorship.status == PENDING)
            .values(status=REWARDED, rewarded_order_id=order.id, reward_points=points,
                    rewarded_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            db.session.rollback()
            continue
        if points > 0:
            loyalty.credit(tenant, sponsorship.sponsor_id, points, REWARD,
                           ref=f"reward:sponsorship:{sponsorship.id}",
                           note=f"sponsorship {sponsorship.id}")
        db.session.commit()
        rewarded += 1
        log.info("sponsorship %s: sponsor rewarded with %s points", sponsorship.id, points)
    return rewarded


@periodic("promotions.sponsor_rewards", minutes=60)
def reward_sponsors_everywhere() -> int:
    """Hourly, in every shop with sponsorship on: reward the sponsors due. One shop's
    failure is logged and does not stop the others."""
    done = 0
    for tenant in tenants_with_plugin(PLUGIN):
        try:
            if not enabled(tenant):
                continue
            with as_tenant(tenant):
                done += reward_due(tenant)
        except Exception:
            db.session.rollback()
            log.exception("promotions.sponsor_rewards failed for %s", tenant.slug)
    return done


def friends_of(sponsor_id: int) -> list[Sponsorship]:
    """The sponsor's friends, newest first (for the invite page)."""
    return list(db.session.scalars(select(Sponsorship).where(
        Sponsorship.sponsor_id == sponsor_id).order_by(Sponsorship.id.desc())))


def masked(email: str) -> str:
    """``c***@example.fr``: the sponsor recognises a friend without the page spelling out
    an address the friend gave the shop, not the sponsor."""
    name, _sep, domain = email.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"
