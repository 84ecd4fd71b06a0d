"""Codes: the ones a buyer applies to a cart, batches of unique codes, and what an order
using them claims when it is booked.

- **Applying a code** (:func:`check_code`) tells the buyer exactly what is wrong (unknown,
  not yet valid, ended, used up, not for them, not for this cart, not combinable with a code
  already applied) and changes nothing then. Another shop's code is "unknown": saying more
  would tell a visitor which codes exist elsewhere.
- **Batches** (:func:`make_batch`): unique single-use codes drawn with :mod:`secrets` from an
  alphabet without look-alikes (no 0/O, 1/I/L, 2/Z... confusion when read from paper), with a
  prefix; exported as CSV with their status (:func:`batch_csv`).
- **Claims at booking** (:func:`claim`): the order's uses are counted with guarded writes in
  the order's own transaction: ``UPDATE promotions_usage SET used = used + 1 WHERE used <
  :limit`` (overall and per customer) and an INSERT into ``promotions_code_claims`` whose
  ``coupon_id`` is unique across tenants for a single-use code. Two checkouts at once
  cannot both take the last use: the second UPDATE matches no row, the second INSERT fails,
  and the order is refused with a sentence, nothing of it kept.
- **Cancelled orders give their uses back** (:func:`release`), once.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from comptoir.toolkit import TenantInfo, db, plugin_settings, plugin_translations
from plugins.promotions import rules
from plugins.promotions.models import (
    BOOKED,
    CANCELLED,
    CODE,
    Batch,
    CodeClaim,
    Coupon,
    Promotion,
    Redemption,
    Usage,
)

translations = plugin_translations("plugins.promotions")
_ = translations.gettext

#: Letters and digits nobody misreads: no 0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V.
ALPHABET = "34679ACDEFGHJKMNPQRTWXY"
#: Random characters per batch code: 23**10 ≈ 4e13 codes, so guessing one of a batch of
#: 10,000 takes billions of tries.
RANDOM_LENGTH = 10
MAX_BATCH = 10000
PREFIX = re.compile(r"[A-Z0-9]{0,12}")


class CodeError(ValueError):
    """A code or a batch was refused; the message says why, for the buyer or the staff."""


@dataclass(frozen=True)
class Refusal:
    """Why a booking is refused (a sentence for the buyer), and the code that caused it, to
    take off the cart: the next summary then shows the right total."""

    message: str
    code: str | None = None


# -- applying a code to a cart ------------------------------------------------------------


def check_code(tenant: TenantInfo, buyer: rules.Buyer, typed: str, applied: list[str],
               lines: list[Any]) -> Coupon:
    """The coupon to add to a cart that already has the codes ``applied``, or a
    :class:`CodeError` saying what is wrong (and nothing is changed)."""
    code = rules.normalise(typed)
    if not (typed or "").strip():
        raise CodeError(_("Type the code you received."))
    if code in applied:
        raise CodeError(_("The code %(code)s is already applied to your cart.", code=code))
    coupon = rules.find_coupon(tenant, code) if code else None
    if coupon is None:
        raise CodeError(_("The code %(code)s is unknown: check how it is spelt.",
                          code=code or typed.strip()[:40]))
    limit = int(plugin_settings("promotions", tenant)["max_codes"])
    if len(applied) >= limit:
        raise CodeError(_("A cart takes at most %(n)s codes: remove one first.", n=limit))
    promotion = db.session.get(Promotion, coupon.promotion_id)
    why = rules.refusal(tenant, promotion, buyer, coupon)
    if why is None:
        _found, why = rules.compute(promotion, lines, coupon)
    if why is not None:
        raise CodeError(_("The code %(code)s cannot be used: %(reason)s.", code=coupon.code,
                          reason=why))
    for other_code in applied:
        other = rules.find_coupon(tenant, other_code)
        if other is None:
            continue
        other_promotion = db.session.get(Promotion, other.promotion_id)
        if other_promotion.id == promotion.id:
            raise CodeError(_("The code %(code)s gives the same offer as %(other)s, already "
                              "applied.", code=coupon.code, other=other.code))
        if not promotion.combinable or not other_promotion.combinable:
            raise CodeError(_("The code %(code)s cannot be combined with %(other)s: remove "
                              "%(other)s first if you prefer it.", code=coupon.code,
                              other=other.code))
    return coupon


# -- batches --------------------------------------------------------------------------------


def random_code(prefix: str = "") -> str:
    body = "".join(secrets.choice(ALPHABET) for _i in range(RANDOM_LENGTH))
    return f"{prefix}-{body}" if prefix else body


def make_batch(promotion: Promotion, name: str, size: Any, prefix: str = "",
               affiliate_code: str = "", actor: str = "") -> Batch:
    """``size`` unique single-use codes for ``promotion`` (one of this shop's, triggered by
    a code), committed; a :class:`CodeError` names a bad field and nothing is made."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise CodeError(_("Name the batch (up to 120 characters), e.g. the newsletter it is "
                          "for."))
    try:
        count = int(str(size).strip())
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_BATCH:
        raise CodeError(_("A batch has 1 to %(max)s codes.", max=MAX_BATCH))
    prefix = (prefix or "").strip().upper()
    if not PREFIX.fullmatch(prefix):
        raise CodeError(_("The prefix is up to 12 letters and digits, e.g. NEWS."))
    affiliate_code = check_affiliate(affiliate_code)
    if promotion.trigger != CODE:
        raise CodeError(_("This promotion is given without a code: make it a code "
                          "promotion first."))
    batch = Batch(promotion_id=promotion.id, name=name, prefix=prefix, size=count,
                  affiliate_code=affiliate_code, created_by=actor)
    db.session.add(batch)
    db.session.flush()
    taken = set(db.session.scalars(select(Coupon.code).where(
        Coupon.tenant_id == promotion.tenant_id, Coupon.code.like(f"{prefix}%"))))
    codes: set[str] = set()
    while len(codes) < count:
        code = random_code(prefix)
        if code not in taken:
            codes.add(code)
    db.session.add_all(Coupon(promotion_id=promotion.id, batch_id=batch.id, code=code,
                              single_use=True, affiliate_code=affiliate_code)
                       for code in sorted(codes))
    db.session.commit()
    return batch


def check_affiliate(code: str) -> str:
    """An affiliate's referral code as the affiliates plugin spells them, or ``""``."""
    code = (code or "").strip().upper()
    if code and not re.fullmatch(r"[A-Z0-9][A-Z0-9-]{1,31}", code):
        raise CodeError(_("An affiliate code is 2 to 32 letters, digits and hyphens, as in "
                          "its referral link."))
    return code


def add_code(promotion: Promotion, code: str, affiliate_code: str = "") -> Coupon:
    """A shared code (``BIENVENUE``) for ``promotion``, limited by the promotion's limits;
    committed, or a :class:`CodeError`."""
    cleaned = rules.normalise(code)
    if not cleaned:
        raise CodeError(_("A code is 3 to 40 letters, digits and hyphens."))
    affiliate_code = check_affiliate(affiliate_code)
    if promotion.trigger != CODE:
        raise CodeError(_("This promotion is given without a code: make it a code "
                          "promotion first."))
    if db.session.scalars(select(Coupon.id).where(
            Coupon.tenant_id == promotion.tenant_id, Coupon.code == cleaned)).first():
        raise CodeError(_("The code %(code)s exists already.", code=cleaned))
    coupon = Coupon(promotion_id=promotion.id, code=cleaned, affiliate_code=affiliate_code)
    db.session.add(coupon)
    db.session.commit()
    return coupon


def batch_csv(batch: Batch) -> str:
    """The batch's codes, one per row, with whether and by which order each was used, for
    the newsletter tool or the partner that hands them out."""
    coupons = db.session.scalars(select(Coupon).where(Coupon.batch_id == batch.id)
                                 .order_by(Coupon.code)).all()
    claimed = dict(db.session.execute(select(CodeClaim.coupon_id, CodeClaim.order_id).where(
        CodeClaim.coupon_id.in_([c.id for c in coupons]))).all()) if coupons else {}
    numbers = {}
    if claimed:
        from comptoir.toolkit import Order

        numbers = dict(db.session.execute(select(Order.id, Order.number).where(
            Order.id.in_(claimed.values()))).all())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "promotion", "batch", "used", "order"])
    for coupon in coupons:
        order_id = claimed.get(coupon.id)
        writer.writerow([coupon.code, coupon.promotion_id, batch.name,
                         "yes" if order_id else "no",
                         numbers.get(order_id, "") if order_id else ""])
    return out.getvalue()


# -- claims at booking ----------------------------------------------------------------------


def _take(promotion_id: int, customer: str, limit: int | None) -> bool:
    """Count one use on the counter ``(promotion, customer)``, if it is under ``limit``."""
    exists = db.session.scalars(select(Usage.id).where(
        Usage.promotion_id == promotion_id, Usage.customer == customer)).first()
    if exists is None:
        try:
            with db.session.begin_nested():
                db.session.add(Usage(promotion_id=promotion_id, customer=customer, used=0))
        except IntegrityError:
            pass  # another checkout made the counter meanwhile: use it
    query = update(Usage).where(Usage.promotion_id == promotion_id,
                                Usage.customer == customer)
    if limit is not None:
        query = query.where(Usage.used < limit)
    claimed = db.session.execute(query.values(used=Usage.used + 1).execution_options(
        synchronize_session=False)).rowcount
    return claimed == 1


def _give_back(promotion_id: int, customer: str) -> None:
    db.session.execute(update(Usage).where(
        Usage.promotion_id == promotion_id, Usage.customer == customer, Usage.used > 0)
        .values(used=Usage.used - 1).execution_options(synchronize_session=False))


def claim(tenant: TenantInfo, order: Any, user: Any) -> Refusal | None:
    """Claim the uses of the promotions ``order`` was given and record them; a
    :class:`Refusal` when one is used up meanwhile (the caller rolls everything back)."""
    given: dict[int, dict[str, Any]] = {}
    for entry in order.discounts or ():
        parsed = rules.parse_ref(entry.get("ref", ""))
        if parsed is None:
            continue
        promotion_id, coupon_id = parsed
        slot = given.setdefault(promotion_id, {"coupon": coupon_id, "amount": Decimal("0")})
        slot["amount"] += Decimal(entry["amount"])
    if not given:
        return None
    buyer = rules.buyer_of(user, None, order.email)
    for promotion_id, slot in given.items():
        promotion = rules.promotion_of(tenant, promotion_id)
        coupon = db.session.get(Coupon, slot["coupon"]) if slot["coupon"] else None
        code = coupon.code if coupon is not None else None
        name = code or (promotion.name if promotion else "")
        if promotion is None or (coupon is not None and coupon.promotion_id != promotion_id):
            return Refusal(_("The offer %(name)s no longer exists: check your cart again.",
                             name=name), code)
        if promotion.first_order_only and rules.has_ordered(buyer, except_order=order.id):
            return Refusal(_("The welcome offer %(name)s is for a first order, and %(email)s "
                             "has ordered before: your cart shows the new total.",
                             name=name, email=order.email), code)
        if not _take(promotion.id, "", promotion.max_uses):
            return Refusal(_("%(name)s has just been used as many times as planned: your "
                             "cart shows the new total.", name=name), code)
        if not _take(promotion.id, buyer.email, rules.customer_limit(promotion)):
            return Refusal(_("You have already used %(name)s as many times as allowed: your "
                             "cart shows the new total.", name=name), code)
        if coupon is not None and coupon.single_use:
            try:
                with db.session.begin_nested():
                    db.session.add(CodeClaim(coupon_id=coupon.id, order_id=order.id))
            except IntegrityError:
                return Refusal(_("The code %(code)s has just been used by another order: "
                                 "it is taken off your cart, which shows the new total.",
                                 code=coupon.code), code)
        db.session.add(Redemption(
            order_id=order.id, promotion_id=promotion.id,
            coupon_id=coupon.id if coupon else None, code=coupon.code if coupon else "",
            email=buyer.email or order.email.lower(), user_id=getattr(user, "id", None),
            amount=slot["amount"],
            affiliate_code=coupon.affiliate_code if coupon else ""))
    db.session.flush()
    return None


def release(order: Any) -> int:
    """A cancelled order gives its uses back (counters, single-use codes); its redemptions
    stay, marked cancelled, for the record. Once: a second call finds nothing booked.
    Returns how many redemptions were released; the caller commits."""
    released = 0
    for redemption in db.session.scalars(select(Redemption).where(
            Redemption.order_id == order.id, Redemption.status == BOOKED)).all():
        claimed = db.session.execute(
            update(Redemption).where(Redemption.id == redemption.id,
                                     Redemption.status == BOOKED)
            .values(status=CANCELLED).execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            continue
        _give_back(redemption.promotion_id, "")
        _give_back(redemption.promotion_id, redemption.email)
        released += 1
    db.session.execute(delete(CodeClaim).where(CodeClaim.order_id == order.id)
                       .execution_options(synchronize_session=False))
    return released


def referral(order: Any) -> str | None:
    """The affiliate code an order's coupon credits, if any."""
    return db.session.scalars(select(Redemption.affiliate_code).where(
        Redemption.order_id == order.id, Redemption.affiliate_code != "")
        .order_by(Redemption.id)).first()
