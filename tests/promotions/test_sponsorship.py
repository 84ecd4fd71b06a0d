"""Sponsorship: a personal invite link, the friend's welcome offer on a first order, the
sponsor rewarded once after the friend's first kept order passes its withdrawal period, and
self-sponsorship refused (same account, same address, the sponsor's own browser). The German
office ``de`` runs it too and sees nothing of the French one."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from comptoir.core.db import db
from comptoir.orders.models import Order, OrderEvent
from comptoir.toolkit import return_deadline, tenant_by_id
from plugins.promotions import loyalty, sponsorship
from plugins.promotions.loyalty_models import REWARD, InviteCode, PointsEntry, Sponsorship
from tests.conftest import as_tenant, translated
from tests.promotions.conftest import (
    add,
    advance,
    buy,
    checkout,
    hidden,
    last_order,
    login,
    make_customer,
    orders,
    plugin_settings,
    return_order,
    shown_discounts,
    staff_client,
)
from tests.promotions.conftest import said as said_in
from tests.promotions.test_loyalty import CHANGED, balance, entries, said, said_n

MARC = "marc@example.fr"
CLAIRE = "claire@example.fr"


def friend_ref(sponsor_id: int) -> str:
    return f"{sponsorship.REF_PREFIX}{sponsor_id}"


@pytest.fixture
def sponsor(app, shop):
    """Marc, a French customer who opened his invite page: ``(client, user id, code)``."""
    fr, _acme, _de = shop
    user_id = make_customer(app, fr, MARC, name="Marc")
    client = app.test_client()
    login(client, "fr", MARC)
    page = client.get("/s/fr/account/loyalty/invite").get_data(as_text=True)
    code = re.search(r"/s/fr/invite/([A-Z0-9]+)", page).group(1)
    return client, user_id, code


def offer_text(app, tenant) -> str:
    """The shop's friend offer as its pages say it ("10 % off your first order")."""
    from flask_babel import force_locale

    with as_tenant(app, tenant), app.test_request_context(), force_locale("fr_FR"):
        return sponsorship.offer_words(tenant_by_id(tenant.id))


def invited(app, code: str, slug: str = "fr"):
    """A new visitor's browser that followed the invite link."""
    client = app.test_client()
    response = client.get(f"/s/{slug}/invite/{code}")
    assert response.status_code == 302
    return client


def flashes(client, slug: str = "fr") -> str:
    page = client.get(f"/s/{slug}/cart").get_data(as_text=True)
    return " ".join(re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', page))


def register(client, slug: str, number: int, name: str = "Claire") -> None:
    response = client.post(f"/s/{slug}/orders/{number}/account",
                           data={"name": name, "password": "password-1"})
    assert response.status_code == 303


def deliver_days_ago(app, tenant, number: int, days: int) -> None:
    """Pay, ship and deliver order ``number``, the delivery dated ``days`` ago."""
    advance(app, tenant, number, "paid", "shipped", "delivered")
    with as_tenant(app, tenant):
        order_id = db.session.scalar(select(Order.id).where(Order.number == number))
        event = db.session.scalars(select(OrderEvent).where(
            OrderEvent.order_id == order_id, OrderEvent.to_status == "delivered")).one()
        event.at = datetime.now(UTC) - timedelta(days=days)
        db.session.commit()


def run_in(app, tenant, work, *args: Any) -> Any:
    with as_tenant(app, tenant):
        return work(tenant_by_id(tenant.id), *args)


def sponsorships(app, tenant) -> list[tuple[int, int | None, str, str, int | None]]:
    with as_tenant(app, tenant):
        return [(s.sponsor_id, s.friend_id, s.friend_email, s.status, s.offer_order_id)
                for s in db.session.scalars(select(Sponsorship).order_by(Sponsorship.id))]


# -- the link -------------------------------------------------------------------------------


def test_the_invite_page_gives_a_personal_link_that_stays_the_same(app, shop, sponsor):
    client, user_id, code = sponsor
    page = client.get("/s/fr/account/loyalty/invite").get_data(as_text=True)
    assert f"http://localhost/s/fr/invite/{code}" in page
    offer = offer_text(app, shop[0])  # the shop's default: 10 % (French spacing)
    assert offer == said(app, "%(offer)s off your first order", html=False,
                         offer="10\xa0%")
    assert str(escape(offer)) in page
    assert 'id="invite-empty"' in page
    with as_tenant(app, shop[0]):
        assert db.session.scalar(select(func.count()).select_from(InviteCode)) == 1


def test_an_unknown_code_or_another_shops_says_so_and_leaves_no_cookie(app, shop, sponsor):
    _client, _user_id, code = sponsor
    for slug, wrong in (("fr", "NOPE2345"), ("fr", "../../etc"), ("de", code)):
        client = app.test_client()
        response = client.get(f"/s/{slug}/invite/{wrong}")
        assert response.status_code in (302, 404)
        if response.status_code == 302:  # each shop says it in its own language
            assert said_in(app, "This invite link is not valid; you can shop all the same.",
                           locale="de_DE" if slug == "de" else "fr_FR") in flashes(client, slug)
        assert client.get_cookie(sponsorship.COOKIE, path=f"/s/{slug}/") is None


def test_a_shop_without_sponsorship_has_no_link_and_no_page(app, shop, sponsor):
    fr, _acme, _de = shop
    client, _user_id, code = sponsor
    plugin_settings(app, fr, sponsorship_enabled=False)
    assert app.test_client().get(f"/s/fr/invite/{code}").status_code == 404
    assert client.get("/s/fr/account/loyalty/invite").status_code == 404


# -- the friend and the reward --------------------------------------------------------------


def test_a_friend_gets_the_offer_and_the_sponsor_is_rewarded_once_after_the_period(
        app, shop, sponsor):
    fr, _acme, _de = shop
    marc, sponsor_id, code = sponsor
    friend = invited(app, code)
    assert said(app, "Welcome! A friend invited you: %(offer)s.",
                offer=offer_text(app, fr)) in flashes(friend)
    buy(friend, "fr", "SCREEN", email=CLAIRE)
    order = last_order(app, fr)
    assert order.discounts == [{"ref": friend_ref(sponsor_id),
                                "label": said(app, "Welcome offer (invited by a friend)",
                                              html=False),
                                "amount": "30.00"}]
    assert sponsorships(app, fr) == [(sponsor_id, None, CLAIRE, "pending", order.id)]
    register(friend, "fr", order.number)
    [(_s, friend_id, _e, _st, _o)] = sponsorships(app, fr)
    assert friend_id is not None
    advance(app, fr, order.number, "paid", "shipped", "delivered")
    with as_tenant(app, fr):
        deadline = return_deadline(tenant_by_id(fr.id), db.session.get(Order, order.id))
    assert run_in(app, fr, sponsorship.reward_due, deadline) == 0  # still returnable
    assert balance(app, fr, sponsor_id) == 0
    assert run_in(app, fr, sponsorship.reward_due, deadline + timedelta(days=1)) == 1
    assert balance(app, fr, sponsor_id) == 500
    assert run_in(app, fr, sponsorship.reward_due, deadline + timedelta(days=2)) == 0
    assert [e for e in entries(app, fr, sponsor_id)] == [(REWARD, 500, 0)]
    page = marc.get("/s/fr/account/loyalty/invite").get_data(as_text=True)
    from babel.dates import format_date

    rewarded_on = format_date(datetime.now(UTC).date(), "medium", locale="fr_FR")
    assert "c***@example.fr" in page
    assert said_n(app, "rewarded on %(date)s: %(points)s point", "rewarded on %(date)s: "
                  "%(points)s points", 500, date=rewarded_on, points="500") in page
    statement = marc.get("/s/fr/account/loyalty/").get_data(as_text=True)
    assert said(app, "Reward: a friend you invited ordered") in statement


def test_the_hourly_job_rewards_once_however_often_it_runs(app, shop, sponsor):
    fr, _acme, _de = shop
    _marc, sponsor_id, code = sponsor
    friend = invited(app, code)
    buy(friend, "fr", "SCREEN", email=CLAIRE)
    order = last_order(app, fr)
    deliver_days_ago(app, fr, order.number, 20)
    with app.app_context():
        assert sponsorship.reward_sponsors_everywhere() == 1
        assert sponsorship.reward_sponsors_everywhere() == 0
    assert balance(app, fr, sponsor_id) == 500
    with as_tenant(app, fr):
        assert db.session.scalar(select(func.count()).select_from(PointsEntry).where(
            PointsEntry.kind == REWARD)) == 1


def test_a_friend_bound_at_registration_gets_the_offer_on_the_next_first_order(
        app, shop, sponsor):
    """A friend whose first order was placed before the offer could apply (the offer set to
    0 then) is still bound when the account is made, and a cancelled order gives the offer
    back: the friend's next order gets it."""
    fr, _acme, _de = shop
    _marc, sponsor_id, code = sponsor
    plugin_settings(app, fr, friend_offer_value="0")
    friend = invited(app, code)
    buy(friend, "fr", "MOUSE", email=CLAIRE)
    first = last_order(app, fr)
    assert first.discounts == []
    register(friend, "fr", first.number)
    staff = staff_client(app, fr)
    response = staff.post(f"/s/fr/staff/orders/{first.number}/status",
                          data={"status": "cancelled"})
    assert response.status_code == 303
    plugin_settings(app, fr, friend_offer_kind="amount", friend_offer_value="15")
    buy(friend, "fr", "SCREEN")
    second = last_order(app, fr)
    assert second.discounts[0]["ref"] == friend_ref(sponsor_id)
    assert second.discounts[0]["amount"] == "15.00"
    staff.post(f"/s/fr/staff/orders/{second.number}/status", data={"status": "cancelled"})
    assert sponsorships(app, fr)[0][4] is None  # the offer is the friend's again
    buy(friend, "fr", "SCREEN")
    assert last_order(app, fr).discounts[0]["ref"] == friend_ref(sponsor_id)


def test_an_order_sent_back_in_full_does_not_reward_the_next_kept_one_does(app, shop,
                                                                            sponsor):
    fr, _acme, _de = shop
    _marc, sponsor_id, code = sponsor
    friend = invited(app, code)
    buy(friend, "fr", "SCREEN", email=CLAIRE)
    first = last_order(app, fr)
    register(friend, "fr", first.number)
    deliver_days_ago(app, fr, first.number, 5)
    staff = staff_client(app, fr)
    return_order(app, friend, staff, "fr", first.number, fr)
    with as_tenant(app, fr):
        assert db.session.get(Order, first.id).status == "returned"
    later = run_in(app, fr, lambda tenant: loyalty.shop_today(tenant)) + timedelta(days=30)
    assert run_in(app, fr, sponsorship.reward_due, later) == 0
    buy(friend, "fr", "MOUSE")  # no offer any more: it was used on the first order
    second = last_order(app, fr)
    assert second.discounts == []
    deliver_days_ago(app, fr, second.number, 20)
    assert run_in(app, fr, sponsorship.reward_due) == 1
    assert balance(app, fr, sponsor_id) == 500


# -- who is not a new friend ----------------------------------------------------------------


def test_the_sponsor_following_their_own_link_is_told_and_gets_no_cookie(app, shop,
                                                                         sponsor):
    marc, _sponsor_id, code = sponsor
    response = marc.get(f"/s/fr/invite/{code}")
    assert response.status_code == 302
    assert said(app, "This is your own invite link: share it with your friends, the offer "
                "is for them.") in flashes(marc)
    assert marc.get_cookie(sponsorship.COOKIE, path="/s/fr/") is None


def test_the_sponsors_own_account_gets_no_offer_even_with_the_cookie(app, shop, sponsor):
    _marc, _sponsor_id, code = sponsor
    browser = invited(app, code)  # a fresh browser: no trace of Marc yet
    login(browser, "fr", MARC)
    add(browser, "fr", "SCREEN")
    assert shown_discounts(browser, "fr") == ""


def test_the_sponsors_own_browser_gets_no_offer_whatever_address_is_typed(app, shop,
                                                                          sponsor):
    fr, _acme, _de = shop
    marc, _sponsor_id, code = sponsor
    marc.post("/s/fr/logout")
    marc.get(f"/s/fr/invite/{code}")  # as a visitor now, in the browser he used before
    assert said(app, "This is your own invite link: share it with your friends, the offer "
                "is for them.") in flashes(marc)
    assert marc.get_cookie(sponsorship.COOKIE, path="/s/fr/") is None
    fresh = invited(app, code)  # a cookie from elsewhere does not help either
    marc.set_cookie(sponsorship.COOKIE, fresh.get_cookie(sponsorship.COOKIE,
                                                         path="/s/fr/").value, path="/s/fr/")
    add(marc, "fr", "SCREEN")
    assert shown_discounts(marc, "fr") == ""
    buy(marc, "fr", email="marc.alias@example.net")
    assert last_order(app, fr).discounts == []
    assert sponsorships(app, fr) == []


def test_the_sponsors_address_typed_by_a_guest_drops_the_offer_before_anything_is_charged(
        app, shop, sponsor):
    fr, _acme, _de = shop
    _marc, sponsor_id, code = sponsor
    guest = invited(app, code)
    add(guest, "fr", "SCREEN")
    assert shown_discounts(guest, "fr") == f"{friend_ref(sponsor_id)}=30.00"
    refused = checkout(guest, "fr", email="MARC@example.fr")
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert translated(app, "fr_FR", CHANGED) in page
    assert hidden(page, "shown_discounts") == ""  # the new summary: no offer
    assert orders(app, fr) == []
    placed = checkout(guest, "fr", email="MARC@example.fr", confirm=False,
                      shown_discounts="")
    assert placed.status_code == 303
    assert last_order(app, fr).discounts == []
    assert sponsorships(app, fr) == []


def test_a_customer_who_ordered_before_is_not_a_new_friend(app, shop, sponsor):
    fr, _acme, _de = shop
    _marc, _sponsor_id, code = sponsor
    make_customer(app, fr, "old@example.fr", name="Ancien")
    old = app.test_client()
    login(old, "fr", "old@example.fr")
    buy(old, "fr", "MOUSE")
    old.get(f"/s/fr/invite/{code}")
    assert said(app, "Invite links are for new customers; your account keeps its own "
                "offers.") in flashes(old)
    assert old.get_cookie(sponsorship.COOKIE, path="/s/fr/") is None
    buy(app.test_client(), "fr", "MOUSE", email=CLAIRE)  # a guest's order, no invite yet
    guest = invited(app, code)  # the same person, invited later
    add(guest, "fr", "SCREEN")
    refused = checkout(guest, "fr", email=CLAIRE)
    assert translated(app, "fr_FR", CHANGED) in refused.get_data(as_text=True)
    assert [o.discounts for o in orders(app, fr)] == [[], []]


def test_the_offer_is_claimed_once_whatever_the_summaries_said(app, shop, sponsor):
    """The booking's claim is the guard: of two orders booked with the offer for one
    address (two summaries shown before either was booked), the second is refused with a
    sentence, and the sponsorship names the first."""
    from types import SimpleNamespace

    fr, _acme, _de = shop
    _marc, sponsor_id, _code = sponsor
    given = [{"ref": friend_ref(sponsor_id), "label": "offer", "amount": "30.00"}]
    first = SimpleNamespace(id=101, number=1, email=CLAIRE, discounts=given)
    second = SimpleNamespace(id=102, number=2, email=CLAIRE.upper(), discounts=given)
    with app.test_request_context("/"), as_tenant(app, fr):
        tenant = tenant_by_id(fr.id)
        assert sponsorship.claim(tenant, first, None) is None
        refusal = sponsorship.claim(tenant, second, None)
        db.session.commit()
    assert refusal.startswith("The friend's welcome offer has been used already.")
    assert "Nothing was charged" in refusal
    assert sponsorships(app, fr) == [(sponsor_id, None, CLAIRE, "pending", 101)]


# -- another shop ---------------------------------------------------------------------------


def test_another_shop_sees_none_of_the_invites(app, shop, sponsor):
    fr, _acme, de = shop
    _marc, _sponsor_id, code = sponsor
    friend = invited(app, code)
    buy(friend, "fr", "SCREEN", email=CLAIRE)
    make_customer(app, de, MARC, name="Marc in Köln")  # the same address, another shop
    german = app.test_client()
    login(german, "de", MARC)
    page = german.get("/s/de/account/loyalty/invite").get_data(as_text=True)
    assert 'id="invite-empty"' in page and code not in page
    with as_tenant(app, de):
        assert db.session.scalar(select(func.count()).select_from(Sponsorship)) == 0
        assert db.session.scalars(select(InviteCode.code)).all() != [code]
    assert len(sponsorships(app, fr)) == 1
