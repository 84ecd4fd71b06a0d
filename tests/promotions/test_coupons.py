"""Codes: applying one (and every way it can be refused, with the cart unchanged), shared
codes with limits, batches of unique codes used once each wherever they are typed, the CSV
export, uses given back by a cancelled order, and the affiliate a coupon credits."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from comptoir.core.db import db
from tests.conftest import as_tenant, requires_postgresql, translated
from tests.promotions.conftest import (
    add,
    buy,
    login,
    make_customer,
    make_promotion,
    orders,
    said,
    set_status,
    shown_discounts,
    staff_client,
)


def apply(client, slug: str, code: str) -> str:
    """Apply ``code`` to the cart; the message the cart page shows."""
    page = client.post(f"/s/{slug}/cart/codes", data={"code": code},
                       follow_redirects=True).get_data(as_text=True)
    return " ".join(re.findall(r'class="flash flash-\w+"[^>]*>([^<]*)<', page))


def applied(client, slug: str) -> list[str]:
    page = client.get(f"/s/{slug}/cart").get_data(as_text=True)
    return re.findall(r'<strong class="code">([^<]+)</strong>', page)


def customer(app, tenant, email: str, *items):
    make_customer(app, tenant, email)
    client = app.test_client()
    login(client, tenant.slug, email)
    for item in items:
        add(client, tenant.slug, item)
    return client


def batch_of(app, tenant, promotion_id: int, size: int = 3, **fields):
    from plugins.promotions import coupons
    from plugins.promotions.models import Coupon, Promotion

    with as_tenant(app, tenant):
        batch = coupons.make_batch(db.session.get(Promotion, promotion_id), "Lettre de mars",
                                   size, **fields)
        return list(db.session.scalars(select(Coupon.code).where(
            Coupon.batch_id == batch.id).order_by(Coupon.code))), batch.id


# -- applying a code ------------------------------------------------------------------------


def test_a_code_applies_in_any_case_and_can_be_removed(app, shop):
    fr = shop[0]
    make_promotion(app, fr, code="BIENVENUE", name="Bienvenue", value=Decimal("10"))
    lea = customer(app, fr, "lea@example.com", "SCREEN")
    assert "BIENVENUE" in apply(lea, "fr", "  bienvenue ")
    assert applied(lea, "fr") == ["BIENVENUE"]
    assert shown_discounts(lea, "fr").endswith("=30.00")
    assert "BIENVENUE" in apply(lea, "fr", "BIENVENUE")  # already applied: said so
    assert applied(lea, "fr") == ["BIENVENUE"]
    lea.post("/s/fr/cart/codes/remove", data={"code": "BIENVENUE"})
    assert applied(lea, "fr") == []
    assert shown_discounts(lea, "fr") == ""


UNKNOWN = "The code %(code)s is unknown: check how it is spelt."


def refused(app, code: str, reason: str, **params) -> str:
    """The cart's refusal of ``code`` for ``reason`` (a msgid), as the French shop says it."""
    return said(app, "The code %(code)s cannot be used: %(reason)s.", code=code,
                reason=said(app, reason, html=False, **params))


@pytest.mark.parametrize(("typed", "msgid", "shown"), [
    ("NOPE-NOPE", UNKNOWN, "NOPE-NOPE"), ("", "Type the code you received.", None),
    ("x" * 500, UNKNOWN, "x" * 40), ("<script>", UNKNOWN, "<script>")])
def test_an_unknown_or_malformed_code_changes_nothing(app, shop, typed, msgid, shown):
    fr = shop[0]
    make_promotion(app, fr, code="DIX")
    lea = customer(app, fr, "lea@example.com", "SCREEN")
    apply(lea, "fr", "DIX")
    message = apply(lea, "fr", typed)
    params = {"code": shown} if shown is not None else {}
    assert said(app, msgid, **params) in message
    assert applied(lea, "fr") == ["DIX"]


def test_a_used_up_code_and_a_code_used_by_this_customer_are_refused(app, shop):
    fr = shop[0]
    make_promotion(app, fr, code="UNE-FOIS", max_uses_per_customer=1)
    make_promotion(app, fr, code="CENT", max_uses=1)
    lea = customer(app, fr, "lea@example.com", "SCREEN")
    apply(lea, "fr", "UNE-FOIS")
    apply(lea, "fr", "CENT")
    buy(lea, "fr")
    add(lea, "fr", "SCREEN")
    assert refused(app, "UNE-FOIS", "you have already used this offer") in apply(
        lea, "fr", "UNE-FOIS")
    paul = customer(app, fr, "paul@example.com", "SCREEN")
    assert refused(app, "CENT", "this offer has been used as many times as planned"
                   ) in apply(paul, "fr", "CENT")
    assert "UNE-FOIS" in apply(paul, "fr", "UNE-FOIS")  # Paul has not used it
    assert applied(lea, "fr") == [] and applied(paul, "fr") == ["UNE-FOIS"]


def test_a_code_for_products_not_in_the_cart_says_so(app, shop):
    fr = shop[0]
    make_promotion(app, fr, code="ECRAN", scope="product", scope_value="SCREEN")
    lea = customer(app, fr, "lea@example.com", "MOUSE")
    assert refused(app, "ECRAN", "none of the products it applies to is in your cart"
                   ) in apply(lea, "fr", "ECRAN")
    assert applied(lea, "fr") == []


def test_a_cart_takes_a_limited_number_of_codes(app, shop):
    fr = shop[0]
    for code in ("UN", "DEUX", "TROIS", "QUATRE"):
        make_promotion(app, fr, code=f"{code}-1", value=Decimal("1"))
    lea = customer(app, fr, "lea@example.com", "SCREEN")
    for code in ("UN", "DEUX", "TROIS"):
        apply(lea, "fr", f"{code}-1")
    assert said(app, "A cart takes at most %(n)s codes: remove one first.", n=3) in apply(
        lea, "fr", "QUATRE-1")
    assert applied(lea, "fr") == ["UN-1", "DEUX-1", "TROIS-1"]


def test_a_code_the_shop_ended_stops_applying_and_says_so(app, shop):
    fr = shop[0]
    promo = make_promotion(app, fr, code="FLASH")
    lea = customer(app, fr, "lea@example.com", "SCREEN")
    apply(lea, "fr", "FLASH")
    with as_tenant(app, fr):
        from plugins.promotions.models import Promotion

        db.session.get(Promotion, promo).active = False
        db.session.commit()
    page = lea.get("/s/fr/cart").get_data(as_text=True)
    assert said(app, "The code %(code)s does not apply: %(reason)s.", code="FLASH",
                reason=said(app, "this offer has ended", html=False)) in page
    assert shown_discounts(lea, "fr") == ""


# -- batches --------------------------------------------------------------------------------


def test_a_batch_has_unique_random_codes_without_look_alike_characters(app, shop):
    fr = shop[0]
    promo = make_promotion(app, fr, code="LETTRE", value=Decimal("10"))
    codes, _batch = batch_of(app, fr, promo, size=200, prefix="news")
    assert len(set(codes)) == 200
    for code in codes:
        assert re.fullmatch(r"NEWS-[34679ACDEFGHJKMNPQRTWXY]{10}", code), code


def test_bad_batches_are_refused(app, shop):
    from plugins.promotions import coupons
    from plugins.promotions.models import Promotion

    fr = shop[0]
    automatic = make_promotion(app, fr)
    code = make_promotion(app, fr, code="X-CODE")
    with as_tenant(app, fr):
        for promotion_id, size, prefix, message in (
                (code, 0, "", "1 to 10000"), (code, "ten", "", "1 to 10000"),
                (code, 10001, "", "1 to 10000"), (code, 5, "NEWS-LETTER", "prefix"),
                (automatic, 5, "", "without a code")):
            with pytest.raises(coupons.CodeError, match=message):
                coupons.make_batch(db.session.get(Promotion, promotion_id), "Lot", size,
                                   prefix)
            db.session.rollback()
        from plugins.promotions.models import Batch, Coupon

        assert db.session.scalars(select(Batch)).all() == []
        assert db.session.scalars(select(Coupon.code)).all() == ["X-CODE"]


def test_each_batch_code_is_used_once(app, shop):
    fr = shop[0]
    promo = make_promotion(app, fr, code="LETTRE", value=Decimal("10"))
    codes, batch_id = batch_of(app, fr, promo, size=2)
    lea = customer(app, fr, "lea@example.com", "SCREEN")
    apply(lea, "fr", codes[0])
    buy(lea, "fr")
    paul = customer(app, fr, "paul@example.com", "SCREEN")
    assert refused(app, codes[0], "this code has already been used") in apply(
        paul, "fr", codes[0])
    assert codes[1] in apply(paul, "fr", codes[1])
    buy(paul, "fr")
    assert [o.discounts[0]["amount"] for o in orders(app, fr)] == ["30.00", "30.00"]
    staff = staff_client(app, fr)
    export = staff.get(f"/s/fr/staff/promotions/{promo}/batches/{batch_id}.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert [(row["code"], row["used"], row["order"]) for row in rows] == [
        (codes[0], "yes", "1"), (codes[1], "yes", "2")]


def test_a_summary_shown_before_the_code_ran_out_is_not_charged(app, shop):
    """Both buyers saw the code's discount; the first to order takes it, the second is
    asked to confirm the new total and nothing of their order is kept meanwhile."""
    fr = shop[0]
    promo = make_promotion(app, fr, code="LETTRE", value=Decimal("10"))
    codes, _batch = batch_of(app, fr, promo, size=1)
    lea = customer(app, fr, "lea@example.com", "SCREEN")
    paul = customer(app, fr, "paul@example.com", "SCREEN")
    apply(lea, "fr", codes[0])
    apply(paul, "fr", codes[0])
    pauls_summary = shown_discounts(paul, "fr")
    assert pauls_summary.endswith("=30.00")
    buy(lea, "fr")
    response = buy(paul, "fr", shown_discounts=pauls_summary, expect=400)
    assert translated(app, "fr_FR", "Your discounts changed (a promotion ended or changed): "
                      "please check the new total and confirm.") in response.get_data(
        as_text=True)
    assert len(orders(app, fr)) == 1
    page = paul.get("/s/fr/cart").get_data(as_text=True)
    assert said(app, "The code %(code)s does not apply: %(reason)s.", code=codes[0],
                reason=said(app, "this code has already been used", html=False)) in page
    assert "SCREEN" in page
    buy(paul, "fr")  # at full price, as the new summary says
    assert orders(app, fr)[-1].discounts == []


#: The booking's refusal of a single-use code another order took a moment before.
JUST_USED = ("The code %(code)s has just been used by another order: it is taken off your "
             "cart, which shows the new total.")


def _claim(app, tenant, number: int, discounts: list[dict[str, str]]) -> str | None:
    """Book ``discounts`` for order ``number`` again, as a checkout priced at the same
    moment as the first would, and roll back."""
    from comptoir.toolkit import Order, tenant_by_id
    from plugins.promotions import coupons

    with app.test_request_context("/"), as_tenant(app, tenant):
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        order.discounts = discounts
        try:
            refused = coupons.claim(tenant_by_id(tenant.id), order, None)
            return refused.message if refused else None
        finally:
            db.session.rollback()


def test_the_guarded_claims_refuse_a_second_use_at_booking(app, shop):
    """What a checkout priced at the same moment as another meets at booking: the single-use
    code's claim and the last use of a limited promotion are taken once."""
    fr = shop[0]
    promo = make_promotion(app, fr, code="LETTRE", value=Decimal("10"))
    codes, _batch = batch_of(app, fr, promo, size=1)
    limited = make_promotion(app, fr, code="DERNIER", max_uses=1)
    lea = customer(app, fr, "lea@example.com", "SCREEN")
    apply(lea, "fr", codes[0])
    apply(lea, "fr", "DERNIER")
    buy(lea, "fr")
    first = orders(app, fr)[0].discounts
    by_ref = {entry["ref"].split(":")[2]: entry for entry in first}
    buy(customer(app, fr, "paul@example.com"), "fr", "MOUSE")
    assert "as many times as planned" in _claim(app, fr, 2, [by_ref[str(limited)]])
    assert f"The code {codes[0]} has just been used" in _claim(app, fr, 2,
                                                                [by_ref[str(promo)]])
    with as_tenant(app, fr):
        from plugins.promotions.models import CodeClaim, Redemption, Usage

        assert len(db.session.scalars(select(CodeClaim)).all()) == 1
        assert len(db.session.scalars(select(Redemption)).all()) == 2  # Léa's two
        assert {(u.promotion_id, u.customer, u.used) for u in db.session.scalars(
            select(Usage))} >= {(limited, "", 1), (promo, "", 1)}


def test_the_per_customer_limit_is_claimed_at_booking_too(app, shop):
    fr = shop[0]
    promo = make_promotion(app, fr, code="UNE-FOIS", max_uses_per_customer=1)
    lea = customer(app, fr, "lea@example.com", "SCREEN")
    apply(lea, "fr", "UNE-FOIS")
    buy(lea, "fr")
    entry = orders(app, fr)[0].discounts
    buy(lea, "fr", "MOUSE")
    assert "already used UNE-FOIS" in _claim(app, fr, 2, entry)
    assert promo


def test_an_offices_batch_code_is_used_once_across_its_resellers(app, shop):
    """The reseller's shop cannot see the office's claims: the database's unique claim
    refuses the second use anyway."""
    fr, acme, _de = shop
    promo = make_promotion(app, fr, code="LETTRE", value=Decimal("10"))
    codes, _batch = batch_of(app, fr, promo, size=1)
    buyer = app.test_client()
    login(buyer, "acme", "buyer@durand.example")
    add(buyer, "acme", "SCREEN")
    apply(buyer, "acme", codes[0])
    buy(buyer, "acme")
    assert orders(app, acme)[0].discounts[0]["amount"] == "30.00"
    lea = customer(app, fr, "lea@example.com", "SCREEN")
    apply(lea, "fr", codes[0])  # nothing here knows of the reseller's order
    response = buy(lea, "fr", expect=400)
    assert said(app, JUST_USED, code=codes[0]) in response.get_data(as_text=True)
    assert orders(app, fr) == []


def test_a_cancelled_order_gives_its_code_back(app, shop):
    fr = shop[0]
    promo = make_promotion(app, fr, code="LETTRE", value=Decimal("10"), max_uses=1)
    codes, _batch = batch_of(app, fr, promo, size=1)
    lea = customer(app, fr, "lea@example.com", "SCREEN")
    apply(lea, "fr", codes[0])
    buy(lea, "fr")
    staff = staff_client(app, fr)
    set_status(staff, "fr", 1, "cancelled")
    paul = customer(app, fr, "paul@example.com", "SCREEN")
    assert codes[0] in apply(paul, "fr", codes[0])
    buy(paul, "fr")
    with as_tenant(app, fr):
        from plugins.promotions.models import Redemption

        assert [r.status for r in db.session.scalars(select(Redemption).order_by(
            Redemption.id))] == ["cancelled", "booked"]


def test_another_office_knows_none_of_the_codes(app, shop):
    """The German office's buyer typing a French batch code is told it is unknown, in the
    very words of a code that never existed, and using it there takes nothing from France."""
    fr, _acme, de = shop
    promo = make_promotion(app, fr, code="LETTRE", value=Decimal("10"))
    codes, _batch = batch_of(app, fr, promo, size=1)
    max_ = customer(app, de, "max@example.de", "DE-PC")
    for code in (codes[0], "LETTRE"):
        assert said(app, UNKNOWN, code=code, locale="de_DE") in apply(max_, "de", code)
    assert applied(max_, "de") == []
    buy(max_, "de", billing_country="DE")
    assert orders(app, de)[0].discounts == []
    lea = customer(app, fr, "lea@example.com", "SCREEN")
    apply(lea, "fr", codes[0])
    buy(lea, "fr")
    assert orders(app, fr)[0].discounts[0]["amount"] == "30.00"


# -- affiliates -----------------------------------------------------------------------------


def test_a_coupon_bound_to_an_affiliate_credits_it_over_the_cookie(app, shop):
    from comptoir.tenants import service as tenants
    from comptoir.tenants.models import Tenant

    fr, acme, _de = shop
    with app.app_context():
        tenants.set_plugin_enabled(db.session.get(Tenant, acme.id), "affiliates", True)
        db.session.commit()
    from plugins.affiliates.models import Affiliate, Attribution

    with as_tenant(app, acme):
        db.session.add_all([Affiliate(code="BLOGPRO", name="Blog Pro", kind="partner_site"),
                            Affiliate(code="COMPARO", name="Comparateur",
                                      kind="partner_site")])
        db.session.commit()
    promo = make_promotion(app, acme, code="BLOG10", value=Decimal("10"))
    with as_tenant(app, acme):
        from plugins.promotions.models import Coupon

        db.session.scalars(select(Coupon)).one().affiliate_code = "BLOGPRO"
        db.session.commit()
    buyer = app.test_client()
    buyer.get("/s/acme/r/COMPARO")  # the comparison site's cookie
    make_customer(app, acme, "lea@example.com")
    login(buyer, "acme", "lea@example.com")
    add(buyer, "acme", "SCREEN")
    apply(buyer, "acme", "BLOG10")
    buy(buyer, "acme")
    with as_tenant(app, acme):
        attribution = db.session.scalars(select(Attribution)).one()
        affiliate = db.session.get(Affiliate, attribution.affiliate_id)
        assert (affiliate.code, attribution.source) == ("BLOGPRO", "coupon")
    assert promo


# -- concurrent checkouts (PostgreSQL) -----------------------------------------------------

RACERS = 12
USES = 3


@requires_postgresql
def test_concurrent_checkouts_never_use_a_code_more_than_its_limits(app_factory, shop):
    """Twelve buyers who all saw their discount check out at the same moment: six hold a
    shared code good for three uses, six the same single-use code. Exactly three and one of
    them are placed; the others are refused (whether their booking met the claim already
    taken or priced the cart after it), and nothing is counted twice."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    fr = shop[0]
    racing = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 30, "max_overflow": 30})
    limited = make_promotion(racing, fr, code="TROIS", max_uses=USES)
    single = make_promotion(racing, fr, code="LETTRE", value=Decimal("5"))
    codes, _batch = batch_of(racing, fr, single, size=1)
    start = threading.Barrier(RACERS)

    def race(n: int) -> tuple[str, int]:
        code = "TROIS" if n % 2 else codes[0]
        client = racing.test_client()
        add(client, "fr", "SCREEN")
        assert code in apply(client, "fr", code)
        shown = shown_discounts(client, "fr")
        assert shown.count("=") == 1
        start.wait(30)  # everyone checks out at the same moment, with the discount shown
        return code, buy(client, "fr", email=f"buyer{n}@example.com", shown_discounts=shown,
                         expect=None).status_code

    with ThreadPoolExecutor(RACERS) as pool:
        answers = list(pool.map(race, range(RACERS)))

    assert sorted(status for code, status in answers if code == "TROIS") == (
        [303] * USES + [400] * (RACERS // 2 - USES))
    assert sorted(status for code, status in answers if code != "TROIS") == (
        [303] + [400] * (RACERS // 2 - 1))
    placed = orders(racing, fr)
    prefixes = [entry["ref"].rsplit(":", 1)[0] for order in placed
                for entry in order.discounts]
    assert sorted(prefixes) == sorted([f"promotions:promo:{limited}"] * USES
                                      + [f"promotions:promo:{single}"])
    from plugins.promotions.models import CodeClaim, Redemption, Usage

    with as_tenant(racing, fr):
        assert len(db.session.scalars(select(CodeClaim)).all()) == 1
        assert db.session.scalars(select(Usage.used).where(
            Usage.promotion_id == limited, Usage.customer == "")).one() == USES
        assert len(db.session.scalars(select(Redemption)).all()) == USES + 1
