"""Who an order is credited to (the referral link, its signed cookie, first or last click,
lifetime bindings, self-referral), the commission rules and their tiers, the partner pages,
isolation between resellers, the CSV export and cancellations after payment."""

from __future__ import annotations

import csv
import io
import logging
import time
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from markupsafe import escape
from sqlalchemy import func, select

from comptoir.core.db import db
from comptoir.orders.models import Order
from comptoir.tenants import service as tenants
from comptoir.tenants.models import Tenant
from plugins.affiliates import ledger, referral, rules
from plugins.affiliates.models import (
    Affiliate,
    Attribution,
    Binding,
    BindingChange,
    Entry,
    Payout,
    Rule,
)
from tests.affiliates.conftest import customer
from tests.conftest import as_tenant
from tests.orders.conftest import ADDRESS, add, log_in, staff_client

LOGGER = "comptoir.plugins.affiliates"
STAFF_EMAIL = "ventes@acme.example"


# -- helpers ------------------------------------------------------------------------------


def message(app, msgid, **params):
    """``msgid`` from the plugin's catalogue as an acme page (French) shows it, escaped."""
    from plugins.affiliates.views import domain

    with app.test_request_context(), force_locale("fr_FR"):
        return str(escape(domain.gettext(msgid, **params)))


def move(staff, number, status):
    assert staff.post(f"/s/acme/staff/orders/{number}/status",
                      data={"status": status}).status_code == 303


def buy(app, tenant, client, sku="LAPTOP-FR", quantity="1", email="lea@example.org",
        more=()):
    """Check out a cart of ``sku`` (and ``more`` (sku, quantity) pairs) by bank transfer;
    returns the new order's (id, number)."""
    add(client, sku, quantity)
    for other_sku, other_quantity in more:
        add(client, other_sku, other_quantity)
    response = client.post("/s/acme/checkout", data={
        **ADDRESS, "payment_method": "bank_transfer", "email": email})
    assert response.status_code == 303, response.get_data(as_text=True)
    with as_tenant(app, tenant):
        order = db.session.scalars(select(Order).order_by(Order.id.desc())).first()
        return order.id, order.number


def partner(app, tenant, code, percent="10", email=""):
    """A partner site with one rule: ``percent`` % on everything; returns its id."""
    with as_tenant(app, tenant):
        made = Affiliate(code=code, name=f"{code.title()} Site", kind="partner_site",
                         email=email)
        db.session.add(made)
        db.session.flush()
        rules.add_rule(made, value=percent)
        db.session.commit()
        return made.id


def affiliate_id(app, tenant, code):
    with as_tenant(app, tenant):
        return db.session.scalars(select(Affiliate.id).where(Affiliate.code == code)).one()


def credited(app, tenant, order_id):
    """(affiliate code, source) of the order's attribution, or None."""
    with as_tenant(app, tenant):
        row = db.session.execute(
            select(Affiliate.code, Attribution.source)
            .join(Affiliate, Affiliate.id == Attribution.affiliate_id)
            .where(Attribution.order_id == order_id)).first()
        return tuple(row) if row is not None else None


def binding_of(app, tenant, user_id):
    with as_tenant(app, tenant):
        row = db.session.execute(
            select(Affiliate.code, Binding.source)
            .join(Affiliate, Affiliate.id == Binding.affiliate_id)
            .where(Binding.user_id == user_id)).first()
        return tuple(row) if row is not None else None


def entries_of(app, tenant, order_id=None):
    with as_tenant(app, tenant):
        query = select(Entry).order_by(Entry.id)
        if order_id is not None:
            query = query.where(Entry.order_id == order_id)
        return [(e.kind, e.amount, e.units, e.base) for e in db.session.scalars(query)]


def set_cookie_for(client, value):
    client.set_cookie(referral.COOKIE, value, path="/s/acme/")


def ref_cookie(client):
    return client.get_cookie(referral.COOKIE, path="/s/acme/")


def set_model(app, tenant, model):
    with app.app_context():
        row = db.session.get(Tenant, tenant.id)
        tenants.update_plugin_settings(row, "affiliates", {"attribution_model": model})
        db.session.commit()


def records(caplog, level=logging.INFO):
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= level]


# -- 1. the referral link -----------------------------------------------------------------


def test_a_referral_link_sets_a_signed_cookie_and_follows_only_a_local_next(
        app, partner_shop):
    _fr, acme, _other = partner_shop
    blog = affiliate_id(app, acme, "BLOGPRO")
    guest = app.test_client()
    followed = guest.get("/s/acme/r/BLOGPRO?next=/s/acme/cart")
    assert followed.status_code == 302
    assert followed.headers["Location"].endswith("/s/acme/cart")
    header = followed.headers["Set-Cookie"]
    assert header.startswith(f"{referral.COOKIE}=")
    assert "HttpOnly" in header and "Path=/s/acme/" in header
    assert f"Max-Age={30 * 86400}" in header
    cookie = ref_cookie(guest)
    assert cookie is not None
    with app.app_context():  # signed with the app's secret for this shop, naming BLOGPRO
        assert referral._signer(acme).loads(cookie.value) == {"a": blog, "c": "BLOGPRO"}

    for target in ("https://evil.example/phish", "//evil.example/phish",
                   "/s/bytes/cart", "javascript:alert(1)"):
        response = app.test_client().get("/s/acme/r/BLOGPRO", query_string={"next": target})
        assert response.status_code == 302
        location = response.headers["Location"]
        assert "evil.example" not in location and "bytes" not in location
        assert "javascript" not in location
        assert location.rstrip("/").endswith("/s/acme")  # the shop's home page instead
        assert f"{referral.COOKIE}=" in response.headers["Set-Cookie"]  # still counts


def test_a_referral_code_is_case_insensitive(app, partner_shop):
    _fr, acme, _other = partner_shop
    guest = app.test_client()
    assert guest.get("/s/acme/r/bLoGpRo").status_code == 302
    with app.app_context():
        data = referral._signer(acme).loads(ref_cookie(guest).value)
    assert data["c"] == "BLOGPRO"
    order_id, _number = buy(app, acme, guest)
    assert credited(app, acme, order_id) == ("BLOGPRO", "link")


def test_an_unknown_code_sets_no_cookie_and_says_so(app, partner_shop):
    guest = app.test_client()
    response = guest.get("/s/acme/r/NOSUCHCODE?next=/s/acme/cart")
    assert response.status_code == 302 and response.headers["Location"].endswith("/s/acme/cart")
    assert referral.COOKIE not in response.headers.get("Set-Cookie", "")
    assert ref_cookie(guest) is None
    shown = guest.get("/s/acme/cart").get_data(as_text=True)
    assert message(app, "This referral link is not valid; you can shop all the same.") in shown
    # A code that is not even well-formed is refused the same way.
    odd = app.test_client()
    assert odd.get("/s/acme/r/%3Dx").status_code == 302
    assert ref_cookie(odd) is None


# -- 2. forged and expired cookies --------------------------------------------------------


def _forged(app, acme, other):
    with app.app_context():
        genuine = referral._signer(acme).dumps({"a": 1, "c": "BLOGPRO"})
        foreign = referral._signer(other).dumps({"a": 1, "c": "BLOGPRO"})  # bytes' salt
        stranger = URLSafeTimedSerializer("not-our-secret", salt=f"affiliates-ref-{acme.id}")
        unknown_key = stranger.dumps({"a": 1, "c": "BLOGPRO"})
    payload, stamp, signature = genuine.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    return {"tampered signature": f"{payload}.{stamp}.{flipped}",
            "another shop's cookie": foreign,
            "another secret": unknown_key,
            "garbage": "not-a-cookie"}


@pytest.mark.parametrize("case", ["tampered signature", "another shop's cookie",
                                  "another secret", "garbage"])
def test_a_forged_cookie_is_ignored_and_logged(app, staff, partner_shop, caplog, case):
    _fr, acme, other = partner_shop
    value = _forged(app, acme, other)[case]
    caplog.set_level(logging.INFO, logger=LOGGER)
    guest = app.test_client()
    set_cookie_for(guest, value)
    order_id, number = buy(app, acme, guest)
    assert credited(app, acme, order_id) == ("ACME", "storefront")  # the house, not BLOGPRO
    assert any("forged or foreign referral cookie ignored" in m
               for m in records(caplog, logging.WARNING))
    move(staff, number, "paid")
    with as_tenant(app, acme):
        earners = db.session.scalars(select(Affiliate.code).join(
            Entry, Entry.affiliate_id == Affiliate.id)).all()
    assert set(earners) == {"ACME"}


def test_a_cookie_with_its_payload_changed_is_ignored(app, partner_shop, caplog):
    """Swapping the affiliate inside a genuine cookie breaks its signature."""
    _fr, acme, _other = partner_shop
    other_id = partner(app, acme, "TECHMAG")
    with app.app_context():
        genuine = referral._signer(acme).dumps(
            {"a": affiliate_id(app, acme, "BLOGPRO"), "c": "BLOGPRO"})
        swapped = referral._signer(acme).dumps({"a": other_id, "c": "TECHMAG"})
    forged = ".".join([swapped.split(".")[0], *genuine.split(".")[1:]])
    caplog.set_level(logging.INFO, logger=LOGGER)
    guest = app.test_client()
    set_cookie_for(guest, forged)
    order_id, _number = buy(app, acme, guest)
    assert credited(app, acme, order_id) == ("ACME", "storefront")
    assert any("forged" in m for m in records(caplog, logging.WARNING))


def test_an_expired_cookie_is_ignored_and_logged(app, partner_shop, caplog, monkeypatch):
    _fr, acme, _other = partner_shop
    blog = affiliate_id(app, acme, "BLOGPRO")
    old = int(time.time()) - 31 * 86400  # the default window is 30 days
    with app.app_context(), monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: old)
        stale = referral._signer(acme).dumps({"a": blog, "c": "BLOGPRO"})
    with app.app_context():  # genuine: only its age is wrong
        assert referral._signer(acme).loads(stale) == {"a": blog, "c": "BLOGPRO"}
    caplog.set_level(logging.INFO, logger=LOGGER)
    guest = app.test_client()
    set_cookie_for(guest, stale)
    order_id, _number = buy(app, acme, guest)
    assert credited(app, acme, order_id) == ("ACME", "storefront")
    assert any("older than 30 days" in m for m in records(caplog))

    # A cookie 29 days old still counts.
    fresh_enough = int(time.time()) - 29 * 86400
    with app.app_context(), monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: fresh_enough)
        recent = referral._signer(acme).dumps({"a": blog, "c": "BLOGPRO"})
    second = app.test_client()
    set_cookie_for(second, recent)
    order_id, _number = buy(app, acme, second)
    assert credited(app, acme, order_id) == ("BLOGPRO", "link")


# -- 3. first click, last click -----------------------------------------------------------


@pytest.mark.parametrize(("model", "winner"), [(None, "TECHMAG"), ("last_click", "TECHMAG"),
                                              ("first_click", "BLOGPRO")])
def test_first_or_last_click_decides_between_two_links(app, partner_shop, model, winner):
    _fr, acme, _other = partner_shop
    partner(app, acme, "TECHMAG")
    if model is not None:  # None: the default
        set_model(app, acme, model)
    guest = app.test_client()
    first = guest.get("/s/acme/r/BLOGPRO")
    assert f"{referral.COOKIE}=" in first.headers["Set-Cookie"]
    second = guest.get("/s/acme/r/TECHMAG")
    assert second.status_code == 302
    replaced = f"{referral.COOKIE}=" in second.headers.get("Set-Cookie", "")
    assert replaced == (winner == "TECHMAG")
    order_id, _number = buy(app, acme, guest)
    assert credited(app, acme, order_id) == (winner, "link")


def test_first_click_lets_a_new_link_replace_a_dead_cookie(app, partner_shop, monkeypatch):
    _fr, acme, _other = partner_shop
    partner(app, acme, "TECHMAG")
    set_model(app, acme, "first_click")
    old = int(time.time()) - 40 * 86400
    with app.app_context(), monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: old)
        stale = referral._signer(acme).dumps(
            {"a": affiliate_id(app, acme, "BLOGPRO"), "c": "BLOGPRO"})
    guest = app.test_client()
    set_cookie_for(guest, stale)
    assert f"{referral.COOKIE}=" in guest.get("/s/acme/r/TECHMAG").headers["Set-Cookie"]
    order_id, _number = buy(app, acme, guest)
    assert credited(app, acme, order_id) == ("TECHMAG", "link")


# -- 4. lifetime binding, staff moves -----------------------------------------------------


def test_a_customer_stays_with_whoever_brought_them_until_staff_move_them(
        app, staff, partner_shop):
    _fr, acme, _other = partner_shop
    partner(app, acme, "TECHMAG")
    user_id = customer(app, acme, "lea@example.org")
    buyer = app.test_client()
    log_in(buyer, email="lea@example.org")
    buyer.get("/s/acme/r/BLOGPRO")
    first, _n = buy(app, acme, buyer)
    assert credited(app, acme, first) == ("BLOGPRO", "link")
    assert binding_of(app, acme, user_id) == ("BLOGPRO", "link")

    buyer.get("/s/acme/r/TECHMAG")  # another partner's link, later
    second, _n = buy(app, acme, buyer)
    assert credited(app, acme, second) == ("BLOGPRO", "customer")
    assert binding_of(app, acme, user_id) == ("BLOGPRO", "link")

    url = f"/s/acme/affiliates/customers/{user_id}/binding"
    with as_tenant(app, acme):
        assert db.session.scalar(select(func.count(BindingChange.id))) == 0
    # Without a reason: refused, nothing changes.
    for reason in ("", "   "):
        refused = staff.post(url, data={"code": "TECHMAG", "reason": reason})
        assert refused.status_code == 303
        assert binding_of(app, acme, user_id) == ("BLOGPRO", "link")
    # An unknown code: refused, said, nothing changes.
    unknown = staff.post(url, data={"code": "NOPE", "reason": "salon"},
                         follow_redirects=True)
    assert message(app, "No affiliate has the code %(code)s.", code="NOPE") in (
        unknown.get_data(as_text=True))
    assert binding_of(app, acme, user_id) == ("BLOGPRO", "link")
    with as_tenant(app, acme):
        assert db.session.scalar(select(func.count(BindingChange.id))) == 0

    moved = staff.post(url, data={"code": "techmag", "reason": "Rencontrée au salon IT"})
    assert moved.status_code == 303
    assert binding_of(app, acme, user_id) == ("TECHMAG", "staff")
    with as_tenant(app, acme):
        change = db.session.scalars(select(BindingChange)).one()
        assert (change.user_id, change.actor, change.reason) == (
            user_id, STAFF_EMAIL, "Rencontrée au salon IT")
        assert change.from_affiliate_id == affiliate_id(app, acme, "BLOGPRO")
        assert change.to_affiliate_id == affiliate_id(app, acme, "TECHMAG")

    third, _n = buy(app, acme, buyer)  # from now on, TECHMAG's
    assert credited(app, acme, third) == ("TECHMAG", "customer")

    history = staff.get(f"/s/acme/affiliates/customers/{user_id}/history")
    assert history.status_code == 200
    page = history.get_data(as_text=True)
    assert "BLOGPRO" in page and "TECHMAG" in page
    assert STAFF_EMAIL in page and str(escape("Rencontrée au salon IT")) in page


def test_moving_a_customer_to_their_own_affiliate_is_refused(app, staff, partner_shop):
    _fr, acme, _other = partner_shop
    user_id = customer(app, acme, "lea@example.org")
    buyer = app.test_client()
    log_in(buyer, email="lea@example.org")
    buyer.get("/s/acme/r/BLOGPRO")
    buy(app, acme, buyer)
    staff.post(f"/s/acme/affiliates/customers/{user_id}/binding",
               data={"code": "BLOGPRO", "reason": "sans raison"})
    assert binding_of(app, acme, user_id) == ("BLOGPRO", "link")
    with as_tenant(app, acme):
        assert db.session.scalars(select(BindingChange)).all() == []


# -- 5. self-referral ---------------------------------------------------------------------


def test_a_partner_buying_through_its_own_link_earns_nothing(app, staff, partner_shop, caplog):
    _fr, acme, _other = partner_shop
    caplog.set_level(logging.INFO, logger=LOGGER)
    guest = app.test_client()
    guest.get("/s/acme/r/BLOGPRO")
    # BLOGPRO's e-mail is redaction@blog.example; case does not matter.
    order_id, number = buy(app, acme, guest, email="Redaction@Blog.Example")
    assert credited(app, acme, order_id) is None
    assert any("referred itself" in m and "BLOGPRO" in m
               for m in records(caplog, logging.WARNING))
    move(staff, number, "paid")
    assert entries_of(app, acme) == []


def test_a_partner_user_buying_through_its_own_link_earns_nothing(
        app, staff, partner_shop, caplog):
    _fr, acme, _other = partner_shop
    user_id = customer(app, acme, "paul@autre.example")
    with as_tenant(app, acme):
        blog = db.session.scalars(select(Affiliate).where(Affiliate.code == "BLOGPRO")).one()
        blog.user_id = user_id
        db.session.commit()
    caplog.set_level(logging.INFO, logger=LOGGER)
    buyer = app.test_client()
    log_in(buyer, email="paul@autre.example")
    buyer.get("/s/acme/r/BLOGPRO")
    order_id, number = buy(app, acme, buyer)
    assert credited(app, acme, order_id) is None
    assert binding_of(app, acme, user_id) is None
    assert any("referred itself" in m for m in records(caplog, logging.WARNING))
    move(staff, number, "paid")
    assert entries_of(app, acme) == []


# -- 6. rules -----------------------------------------------------------------------------

BAD_RULES = [
    pytest.param({"value": "100.01"}, "value", id="percent over 100"),
    pytest.param({"value": "-1"}, "value", id="negative"),
    pytest.param({"kind": "flat", "value": "-0.01"}, "value", id="negative flat"),
    pytest.param({"value": "abc"}, "value", id="not a number"),
    pytest.param({"value": "1.005"}, "value", id="three decimals"),
    pytest.param({"value": "NaN"}, "value", id="nan"),
    pytest.param({"value": ""}, "value", id="empty"),
    pytest.param({"value": "5"}, "category", id="duplicate every-category tier 0"),
    pytest.param({"category": "ECRANS", "kind": "flat", "value": "3",
                  "min_monthly_volume": "0.00"}, "category", id="duplicate category"),
    pytest.param({"category": "bad cat!", "value": "5"}, "category", id="bad category"),
    pytest.param({"category": "-ecrans", "value": "5"}, "category", id="category dash"),
    pytest.param({"kind": "bonus", "value": "5"}, "kind", id="unknown kind"),
    pytest.param({"value": "5", "min_monthly_volume": "-10"}, "min_monthly_volume",
                 id="negative tier"),
    pytest.param({"value": "5", "min_monthly_volume": "beaucoup"}, "min_monthly_volume",
                 id="tier not a number"),
]


def _rule_count(app, tenant, affiliate):
    with as_tenant(app, tenant):
        return db.session.scalar(select(func.count(Rule.id)).where(
            Rule.affiliate_id == affiliate))


@pytest.mark.parametrize(("form", "field"), BAD_RULES)
def test_a_bad_rule_is_refused_naming_the_field(app, staff, partner_shop, form, field):
    _fr, acme, _other = partner_shop
    blog = affiliate_id(app, acme, "BLOGPRO")
    assert _rule_count(app, acme, blog) == 2
    with app.test_request_context(), as_tenant(app, acme), force_locale("fr_FR"):
        affiliate = db.session.get(Affiliate, blog)
        with pytest.raises(rules.RuleError) as refused:
            rules.add_rule(affiliate, **form)
        assert refused.value.field == field
        assert str(refused.value).startswith(f"{field}: ")
        problem = str(escape(refused.value.problem))
        db.session.rollback()
    assert _rule_count(app, acme, blog) == 2

    response = staff.post(f"/s/acme/affiliates/partners/{blog}", data=form)
    assert response.status_code == 400
    assert problem in response.get_data(as_text=True)
    assert _rule_count(app, acme, blog) == 2


def test_a_huge_amount_is_refused_as_a_rule_error(app, staff, partner_shop):
    """An amount too large for two decimals must be a RuleError (400), not a crash."""
    _fr, acme, _other = partner_shop
    blog = affiliate_id(app, acme, "BLOGPRO")
    with app.test_request_context(), as_tenant(app, acme):
        affiliate = db.session.get(Affiliate, blog)
        with pytest.raises(rules.RuleError) as refused:
            rules.add_rule(affiliate, kind="flat", value="1e30")
        assert refused.value.field == "value"
        db.session.rollback()
    response = staff.post(f"/s/acme/affiliates/partners/{blog}",
                          data={"kind": "flat", "value": "1e30"})
    assert response.status_code == 400
    assert _rule_count(app, acme, blog) == 2


def test_a_good_rule_is_added_through_the_partner_page(app, staff, partner_shop):
    _fr, acme, _other = partner_shop
    blog = affiliate_id(app, acme, "BLOGPRO")
    response = staff.post(f"/s/acme/affiliates/partners/{blog}", data={
        "category": "Ecrans", "kind": "percent", "value": "12,5",
        "min_monthly_volume": "1500"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/s/acme/affiliates/partners/{blog}")
    with as_tenant(app, acme):
        added = db.session.scalars(select(Rule).where(
            Rule.affiliate_id == blog, Rule.min_monthly_volume == Decimal("1500"))).one()
        assert (added.category, added.kind, added.value) == ("ecrans", "percent",
                                                             Decimal("12.50"))
    assert _rule_count(app, acme, blog) == 3


def test_choose_prefers_the_category_rule_then_the_highest_tier_reached(app, partner_shop):
    def rule(category, value, tier):
        return Rule(category=category, kind="percent", value=Decimal(value),
                    min_monthly_volume=Decimal(tier))

    general, general_high = rule("", "10", "0"), rule("", "20", "1500")
    screens, screens_high = rule("ecrans", "5", "0"), rule("ecrans", "8", "3000")
    late_books = rule("livres", "30", "1000")
    every = [screens_high, general_high, late_books, general, screens]
    choose = rules.choose
    assert choose(every, "ecrans", Decimal("0")) is screens
    assert choose(every, "ecrans", Decimal("2999.99")) is screens
    assert choose(every, "ecrans", Decimal("3000")) is screens_high
    assert choose(every, "", Decimal("1499.99")) is general
    assert choose(every, "", Decimal("1500")) is general_high
    assert choose(every, "souris", Decimal("10000")) is general_high
    # A category rule not reached yet: the general rules apply.
    assert choose(every, "livres", Decimal("999")) is general
    assert choose(every, "livres", Decimal("1000")) is late_books
    assert choose([general_high], "", Decimal("10")) is None
    assert choose([], "ecrans", Decimal("10")) is None
    assert rules.commission(general, Decimal("1000.00"), 1) == Decimal("100.00")
    assert rules.commission(None, Decimal("1000.00"), 1) == Decimal("0.00")


def test_a_tier_applies_once_the_month_has_reached_it(app, staff, partner_shop):
    _fr, acme, _other = partner_shop
    with as_tenant(app, acme):
        tiers = Affiliate(code="TIERS", name="Tiers", kind="affiliate")
        db.session.add(tiers)
        db.session.flush()
        rules.add_rule(tiers, value="10")
        rules.add_rule(tiers, value="20", min_monthly_volume="1500")
        db.session.commit()
        tiers_id = tiers.id
    guest = app.test_client()
    guest.get("/s/acme/r/TIERS")
    first, number = buy(app, acme, guest)  # one laptop: 1,000 net
    move(staff, number, "paid")
    assert entries_of(app, acme, first) == [("commission", Decimal("100.00"), 1,
                                            Decimal("1000.00"))]
    second, number = buy(app, acme, guest, sku="SCREEN", quantity="2")  # 600: month at 1,000
    move(staff, number, "paid")
    assert entries_of(app, acme, second) == [("commission", Decimal("60.00"), 2,
                                             Decimal("600.00"))]
    third, number = buy(app, acme, guest)  # the month is at 1,600 now
    move(staff, number, "paid")
    assert entries_of(app, acme, third) == [("commission", Decimal("200.00"), 1,
                                            Decimal("1000.00"))]
    with as_tenant(app, acme):
        assert ledger.month_volume(tiers_id, db.session.scalars(
            select(Entry.at).order_by(Entry.id.desc())).first()) == Decimal("2600.00")


# -- 7. creating partners -----------------------------------------------------------------

BAD_PARTNERS = [
    pytest.param({"code": "a"}, "Code: 2 to 32 capital letters, digits or hyphens.", {},
                 id="one letter"),
    pytest.param({"code": "has space"}, "Code: 2 to 32 capital letters, digits or hyphens.",
                 {}, id="space"),
    pytest.param({"code": "A" * 40}, "Code: 2 to 32 capital letters, digits or hyphens.", {},
                 id="40 characters"),
    pytest.param({"code": "-AB"}, "Code: 2 to 32 capital letters, digits or hyphens.", {},
                 id="leading hyphen"),
    pytest.param({"code": "blogpro"}, "Code: %(code)s is taken already.", {"code": "BLOGPRO"},
                 id="taken"),
    pytest.param({"code": "NEWSITE", "kind": "house"}, "Kind: choose one of the list.", {},
                 id="house"),
    pytest.param({"code": "NEWSITE", "kind": "robot"}, "Kind: choose one of the list.", {},
                 id="unknown kind"),
    pytest.param({"code": "NEWSITE", "name": "  "}, "Name: required.", {}, id="no name"),
]


def _partner_count(app, tenant):
    with as_tenant(app, tenant):
        return db.session.scalar(select(func.count(Affiliate.id)))


@pytest.mark.parametrize(("form", "msgid", "params"), BAD_PARTNERS)
def test_a_bad_partner_is_refused(app, staff, partner_shop, form, msgid, params):
    _fr, acme, _other = partner_shop
    before = _partner_count(app, acme)
    response = staff.post("/s/acme/affiliates/partners", data={
        "name": "Nouveau Site", "kind": "publisher", **form})
    assert response.status_code == 400
    assert message(app, msgid, **params) in response.get_data(as_text=True)
    assert _partner_count(app, acme) == before
    with as_tenant(app, acme):
        assert db.session.scalars(select(Affiliate).where(Affiliate.kind == "house")).all() == []


def test_a_new_partner_gets_its_page_and_its_link(app, staff, partner_shop):
    _fr, acme, _other = partner_shop
    before = _partner_count(app, acme)
    response = staff.post("/s/acme/affiliates/partners", data={
        "code": "new-site", "name": "Nouveau Site", "kind": "publisher",
        "email": "Contact@New.Example", "payout_account": "FR76 3000 6000"})
    assert response.status_code == 303
    assert _partner_count(app, acme) == before + 1
    with as_tenant(app, acme):
        made = db.session.scalars(select(Affiliate).where(Affiliate.code == "NEW-SITE")).one()
        assert (made.name, made.kind, made.email, made.payout_account, made.active) == (
            "Nouveau Site", "publisher", "contact@new.example", "FR76 3000 6000", True)
        made_id = made.id
    assert response.headers["Location"].endswith(f"/s/acme/affiliates/partners/{made_id}")
    shown = staff.get(f"/s/acme/affiliates/partners/{made_id}")
    assert shown.status_code == 200
    page = shown.get_data(as_text=True)
    assert "/s/acme/r/NEW-SITE" in page and "Nouveau Site" in page
    assert message(app, "No rule: this affiliate earns nothing yet.") in page
    # Its link works at once.
    guest = app.test_client()
    guest.get("/s/acme/r/new-site")
    order_id, _number = buy(app, acme, guest)
    assert credited(app, acme, order_id) == ("NEW-SITE", "link")


def test_a_partner_with_the_shops_own_code_does_not_break_the_house(app, staff, partner_shop):
    """The house account takes the shop's slug as its code (``ACME``). A partner given that
    code first must not make every later storefront order fail."""
    _fr, acme, _other = partner_shop
    before = _partner_count(app, acme)
    response = staff.post("/s/acme/affiliates/partners", data={
        "code": "ACME", "name": "Acme Fan Club", "kind": "affiliate"})
    assert response.status_code == 400  # the form keeps the house's code for it
    assert _partner_count(app, acme) == before
    with as_tenant(app, acme):  # one made before the form knew (an import, an old row)
        db.session.add(Affiliate(code="ACME", name="Acme Fan Club", kind="affiliate"))
        db.session.commit()
    guest = app.test_client()
    order_id, _number = buy(app, acme, guest)  # no link: the house's order
    with as_tenant(app, acme):
        row = db.session.execute(select(Affiliate.kind, Affiliate.code, Attribution.source)
                                 .join(Affiliate, Affiliate.id == Attribution.affiliate_id)
                                 .where(Attribution.order_id == order_id)).one()
    assert tuple(row) == ("house", "ACME-2", "storefront")


# -- 8. isolation and access --------------------------------------------------------------


def test_another_reseller_sees_nothing_of_acme(app, staff, partner_shop):
    _fr, acme, other = partner_shop
    blog = affiliate_id(app, acme, "BLOGPRO")
    user_id = customer(app, acme, "lea@example.org", name="Léa Secrète")
    assert staff.post(f"/s/acme/affiliates/customers/{user_id}/binding", data={
        "code": "BLOGPRO", "reason": "raison-confidentielle-acme"}).status_code == 303
    with as_tenant(app, acme):
        assert db.session.scalars(select(BindingChange.reason)).one() == (
            "raison-confidentielle-acme")
        payout = Payout(affiliate_id=blog, reference="PAY-BLOGPRO-20260101-EUR",
                        period_end=date(2026, 1, 1),
                        amount=Decimal("42.00"), currency="EUR", created_by=STAFF_EMAIL)
        db.session.add(payout)
        db.session.commit()
        payout_id = payout.id

    bytes_staff = staff_client(app, other, "ventes@bytes.example", slug="bytes")
    assert bytes_staff.get("/s/bytes/affiliates/").status_code == 200
    assert bytes_staff.get(f"/s/bytes/affiliates/partners/{blog}").status_code == 404
    assert bytes_staff.post(f"/s/bytes/affiliates/partners/{blog}",
                            data={"value": "99"}).status_code == 404
    assert _rule_count(app, acme, blog) == 2
    assert bytes_staff.get(f"/s/bytes/affiliates/payouts/{payout_id}").status_code == 404
    assert bytes_staff.post(f"/s/bytes/affiliates/payouts/{payout_id}",
                            data={"reference": "VIR-PIRATE"}).status_code == 404
    with as_tenant(app, acme):
        assert db.session.get(Payout, payout_id).status == "open"

    history = bytes_staff.get(f"/s/bytes/affiliates/customers/{user_id}/history")
    assert history.status_code in (200, 404)
    page = history.get_data(as_text=True)
    for secret in ("raison-confidentielle-acme", STAFF_EMAIL, "BLOGPRO"):
        assert secret not in page
    moved = bytes_staff.post(f"/s/bytes/affiliates/customers/{user_id}/binding",
                             data={"code": "BLOGPRO", "reason": "vol"})
    assert moved.status_code in (303, 404)
    assert binding_of(app, acme, user_id) == ("BLOGPRO", "staff")
    with as_tenant(app, acme):
        assert db.session.scalar(select(func.count(BindingChange.id))) == 1

    csv_text = bytes_staff.get("/s/bytes/affiliates/ledger.csv").get_data(as_text=True)
    assert "BLOGPRO" not in csv_text
    partners_page = bytes_staff.get("/s/bytes/affiliates/partners").get_data(as_text=True)
    assert "BLOGPRO" not in partners_page and "Blog Info Pro" not in partners_page

    # acme's code means nothing on bytes' storefront.
    visitor = app.test_client()
    followed = visitor.get("/s/bytes/r/BLOGPRO")
    assert followed.status_code == 302
    assert referral.COOKIE not in followed.headers.get("Set-Cookie", "")
    assert visitor.get_cookie(referral.COOKIE, path="/s/bytes/") is None
    shown = visitor.get(followed.headers["Location"]).get_data(as_text=True)
    assert message(app, "This referral link is not valid; you can shop all the same.") in shown
    # ...and acme's cookie, scoped to acme's path, is not sent to bytes.
    visitor.get("/s/acme/r/BLOGPRO")
    assert visitor.get_cookie(referral.COOKIE, path="/s/acme/") is not None
    assert visitor.get_cookie(referral.COOKIE, path="/s/bytes/") is None


def test_customers_partners_and_strangers_get_only_their_share(app, staff, partner_shop):
    _fr, acme, _other = partner_shop
    # A guest order through BLOGPRO, paid.
    guest = app.test_client()
    guest.get("/s/acme/r/BLOGPRO")
    _order_id, number = buy(app, acme, guest, email="claire.durand@client.example")
    move(staff, number, "paid")

    # Anonymous: to the login page.
    for path in ("/s/acme/affiliates/", "/s/acme/affiliates/me",
                 "/s/acme/affiliates/ledger.csv", "/s/acme/affiliates/partners"):
        response = app.test_client().get(path)
        assert response.status_code == 302 and "/s/acme/login" in response.headers["Location"]

    # A plain customer: forbidden on staff pages, nothing of their own.
    customer(app, acme, "simple@client.example", name="Simple Client")
    plain = app.test_client()
    log_in(plain, email="simple@client.example")
    assert plain.get("/s/acme/affiliates/").status_code == 403
    assert plain.get("/s/acme/affiliates/ledger.csv").status_code == 403
    assert plain.get("/s/acme/affiliates/partners").status_code == 403
    assert plain.get("/s/acme/affiliates/me").status_code == 404

    # BLOGPRO's own login: its statement, no customer.
    partner_user = customer(app, acme, "paul@blog.example", name="Paul Partenaire")
    with as_tenant(app, acme):
        blog = db.session.scalars(select(Affiliate).where(Affiliate.code == "BLOGPRO")).one()
        blog.user_id = partner_user
        db.session.commit()
        blog_id = blog.id
    own = app.test_client()
    log_in(own, email="paul@blog.example")
    assert own.get("/s/acme/affiliates/").status_code == 403
    assert own.get("/s/acme/affiliates/ledger.csv").status_code == 403
    assert own.get(f"/s/acme/affiliates/partners/{blog_id}").status_code == 403
    mine = own.get("/s/acme/affiliates/me")
    assert mine.status_code == 200
    page = mine.get_data(as_text=True)
    assert "100,00" in page  # 10 % of the laptop's 1,000
    assert "/s/acme/r/BLOGPRO" in page
    for private in ("Claire", "Durand", "claire.durand@client.example", "client.example",
                    "Rue de la République", "rue de la République", "Lyon", "69002"):
        assert private not in page


# -- 9. the CSV export --------------------------------------------------------------------

HEADER = ["date", "affiliate", "order", "kind", "category", "units", "base", "amount",
          "currency", "status"]


def _csv_rows(response):
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_ledger_exports_one_row_per_entry(app, staff, partner_shop):
    _fr, acme, _other = partner_shop
    guest = app.test_client()
    guest.get("/s/acme/r/BLOGPRO")
    order_id, number = buy(app, acme, guest, quantity="2", more=[("MONITOR", "1")])
    move(staff, number, "paid")
    with as_tenant(app, acme):
        day = db.session.scalars(select(Entry.at)).first().date().isoformat()
    rows = _csv_rows(staff.get("/s/acme/affiliates/ledger.csv"))
    assert rows[0] == HEADER
    assert rows[1:] == [
        [day, "BLOGPRO", str(number), "commission", "", "2", "2000.00", "200.00", "EUR",
         "pending"],
        [day, "BLOGPRO", str(number), "commission", "ecrans", "1", "200.00", "15.00", "EUR",
         "pending"],
    ]


def test_a_formula_in_the_ledger_is_kept_as_text(app, staff, partner_shop):
    """No field a user can fill reaches the CSV starting with ``=`` (codes and category
    slugs start with a letter or digit), so the entry is written directly, as a row with
    odd data from elsewhere would be."""
    _fr, acme, _other = partner_shop
    guest = app.test_client()
    guest.get("/s/acme/r/BLOGPRO")
    order_id, number = buy(app, acme, guest)
    move(staff, number, "paid")
    with as_tenant(app, acme):
        line = db.session.scalars(select(Entry)).one()
        for category in ("=HYPERLINK(\"http://evil.example\")", "+1", "@SUM(A1)", "-2"):
            db.session.add(Entry(affiliate_id=line.affiliate_id, order_id=order_id,
                                 order_line_id=line.order_line_id, kind="commission",
                                 amount=Decimal("-1.00"), currency="EUR",
                                 base=Decimal("0.00"), units=0, category=category))
        db.session.commit()
    rows = _csv_rows(staff.get("/s/acme/affiliates/ledger.csv"))
    assert [r[4] for r in rows[2:]] == ["'=HYPERLINK(\"http://evil.example\")", "'+1",
                                        "'@SUM(A1)", "'-2"]
    assert all(r[7] == "-1.00" for r in rows[2:])  # numbers stay numbers


# -- 10. cancelled after payment ----------------------------------------------------------


def test_an_order_cancelled_after_payment_nets_to_zero(app, staff, partner_shop):
    _fr, acme, _other = partner_shop
    guest = app.test_client()
    guest.get("/s/acme/r/BLOGPRO")
    order_id, number = buy(app, acme, guest, quantity="2", more=[("MONITOR", "1")])
    assert entries_of(app, acme, order_id) == []  # a transfer not yet received earns nothing
    move(staff, number, "paid")
    assert [e[:3] for e in entries_of(app, acme, order_id)] == [
        ("commission", Decimal("200.00"), 2), ("commission", Decimal("15.00"), 1)]
    move(staff, number, "cancelled")
    with as_tenant(app, acme):
        assert db.session.get(Order, order_id).status == "cancelled"
        rows = db.session.scalars(select(Entry).where(Entry.order_id == order_id)
                                  .order_by(Entry.id)).all()
        reversals = [(e.order_line_id, e.amount, e.units, e.base, e.note)
                     for e in rows if e.kind == "reversal"]
        commissions = {e.order_line_id: e for e in rows if e.kind == "commission"}
        assert sorted(reversals) == sorted(
            (line_id, -c.amount, -c.units, -c.base, "order cancelled")
            for line_id, c in commissions.items())
        per_line = {}
        for e in rows:
            per_line.setdefault(e.order_line_id, Decimal("0"))
            per_line[e.order_line_id] += e.amount
        assert set(per_line.values()) == {Decimal("0.00")}
        assert sum(e.amount for e in rows) == Decimal("0.00")
        assert sum(e.units for e in rows) == 0
    with app.test_request_context(), as_tenant(app, acme):
        order = db.session.get(Order, order_id)
        blog = db.session.scalars(select(Affiliate).where(Affiliate.code == "BLOGPRO")).one()
        from comptoir.tenants.resolution import directory

        tenant = directory().by_id(acme.id)
        assert ledger.account(tenant, blog.id).earned["EUR"] == Decimal("0.00")
        # Reversing again (an event delivered twice) changes nothing.
        assert ledger.reverse(tenant, order, {line.id: line.quantity
                                              for line in order.lines}) == []
    assert len(entries_of(app, acme, order_id)) == 4
    rows = _csv_rows(staff.get("/s/acme/affiliates/ledger.csv"))
    assert sorted(r[7] for r in rows[1:]) == sorted(["200.00", "15.00", "-200.00", "-15.00"])
