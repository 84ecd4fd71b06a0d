"""Promotion rules: what is given on which lines, to whom, when, and how offers combine;
an office's promotions in its resellers' shops; another shop sees none of them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from comptoir.core.db import db
from tests.conftest import as_tenant, translated
from tests.promotions.conftest import (
    add,
    buy,
    company_id,
    login,
    make_customer,
    make_promotion,
    plugin_settings,
    said,
    shown_discounts,
    staff_client,
)

LEA = "lea@example.com"


def given(client, slug: str) -> dict[str, Decimal]:
    """The discounts the checkout summary shows: ``{ref: amount}``."""
    shown = shown_discounts(client, slug) or ""
    return {ref: Decimal(amount) for ref, amount in
            (part.split("=") for part in shown.split(";") if part)}


def applied(client, slug: str) -> list[str]:
    """The codes the cart page lists as applied."""
    import re

    return re.findall(r'<strong class="code">([^<]+)</strong>', cart_page(client, slug))


def cart_page(client, slug: str) -> str:
    return client.get(f"/s/{slug}/cart").get_data(as_text=True)


@pytest.fixture
def lea(app, shop):
    """A logged-in private customer of the office's own shop, with an empty cart."""
    fr = shop[0]
    make_customer(app, fr, LEA)
    client = app.test_client()
    login(client, "fr", LEA)
    return client


def ref(promotion_id: int, line: int | None = None) -> str:
    return f"promotions:promo:{promotion_id}" + (f":l{line}" if line is not None else "")


# -- what is given on which lines ----------------------------------------------------------


def test_a_percentage_on_a_category_covers_its_sub_categories_and_nothing_else(
        app, shop, lea):
    fr = shop[0]
    from comptoir.catalog import service as catalog

    with as_tenant(app, fr):
        catalog.create_category("ecrans-4k", "Écrans 4K", "ecrans")
        catalog.create_product("SCREEN4K", "Écran 4K", "500.00", category="ecrans-4k",
                               stocked=False)
        db.session.commit()
    promo = make_promotion(app, fr, name="Écrans -10 %", value=Decimal("10"),
                           scope="category", scope_value="ecrans")
    add(lea, "fr", "SCREEN", 2)      # 600
    add(lea, "fr", "SCREEN4K")       # 500, in a sub-category
    add(lea, "fr", "MOUSE")          # 20, not a screen
    assert given(lea, "fr") == {ref(promo): Decimal("110.00")}
    buy(lea, "fr")
    order = _last(app, fr)
    lines = {line.sku: line for line in order.lines}
    assert lines["SCREEN"].discount == Decimal("60.00")
    assert lines["SCREEN4K"].discount == Decimal("50.00")
    assert lines["MOUSE"].discount == Decimal("0.00")
    assert lines["SCREEN"].discount_label == "Écrans -10 %"


def test_a_fixed_amount_on_a_product_names_it_by_its_sku_or_its_variants(app, shop, lea):
    fr = shop[0]
    promo = make_promotion(app, fr, name="Portable -100", kind="fixed", value=Decimal("100"),
                           scope="product", scope_value="LAPTOP")
    add(lea, "fr", "LAPTOP-FR")
    add(lea, "fr", "SCREEN")
    assert given(lea, "fr") == {ref(promo): Decimal("100.00")}
    buy(lea, "fr")
    lines = {line.sku: line for line in _last(app, fr).lines}
    assert (lines["LAPTOP-FR"].discount, lines["SCREEN"].discount) == (Decimal("100.00"),
                                                                       Decimal("0.00"))


def test_a_fixed_amount_never_exceeds_the_goods_it_covers(app, shop, lea):
    fr = shop[0]
    promo = make_promotion(app, fr, kind="fixed", value=Decimal("50"), scope="product",
                           scope_value="CABLE")
    add(lea, "fr", "CABLE")
    add(lea, "fr", "SCREEN")
    assert given(lea, "fr") == {ref(promo): Decimal("10.00")}


def test_vat_is_computed_after_the_discount_line_by_line(app, shop, lea):
    fr = shop[0]
    make_promotion(app, fr, name="Tout -10 %", value=Decimal("10"))
    buy(lea, "fr", "SCREEN", "BOOK")   # 300 at 20 %, 30 at 5.5 %
    order = _last(app, fr)
    assert order.total_net == Decimal("297.00")
    # 270 × 20 % + 27 × 5.5 % = 54 + 1.485
    assert order.vat_breakdown == {"20": "54.00", "5.5": "1.49"}
    assert order.total_vat == Decimal("55.49")


def test_buy_three_get_the_cheapest_of_each_group_free(app, shop, lea):
    fr = shop[0]
    promo = make_promotion(app, fr, name="3 pour 2", kind="bxgy", buy_quantity=2,
                           get_quantity=1, scope="category", scope_value="accessoires")
    add(lea, "fr", "MOUSE", 4)    # 20 each
    add(lea, "fr", "CABLE", 3)    # 10 each
    # Dearest first: 20 20 20 | 20 10 10 | 10: the cheapest of each full group is free.
    shown = given(lea, "fr")
    assert sum(shown.values()) == Decimal("30.00")
    assert set(shown) == {ref(promo, 0), ref(promo, 1)}
    buy(lea, "fr")
    lines = {line.sku: line for line in _last(app, fr).lines}
    assert (lines["MOUSE"].discount, lines["CABLE"].discount) == (Decimal("20.00"),
                                                                  Decimal("10.00"))


def test_buy_x_get_units_of_a_gift_product_only_when_it_is_in_the_cart(app, shop, lea):
    fr = shop[0]
    promo = make_promotion(app, fr, name="Souris offerte", kind="bxgy", buy_quantity=1,
                           get_quantity=1, gift_sku="MOUSE", scope="product",
                           scope_value="LAPTOP")
    add(lea, "fr", "LAPTOP-FR")
    assert given(lea, "fr") == {}
    add(lea, "fr", "MOUSE", 2)
    assert given(lea, "fr") == {ref(promo, 1): Decimal("20.00")}  # one per laptop


def test_buy_two_get_one_of_the_same_product(app, shop, lea):
    fr = shop[0]
    promo = make_promotion(app, fr, name="2+1", kind="bxgy", buy_quantity=2, get_quantity=1,
                           gift_sku="CABLE", scope="product", scope_value="CABLE")
    add(lea, "fr", "CABLE", 2)
    assert given(lea, "fr") == {}
    add(lea, "fr", "CABLE", 4)  # 6 cables: 4 bought, 2 free
    assert given(lea, "fr") == {ref(promo, 0): Decimal("20.00")}


def test_free_delivery_above_an_amount(app, shop, lea):
    fr = shop[0]
    promo = make_promotion(app, fr, name="Livraison offerte", kind="free_shipping",
                           min_amount=Decimal("250"))
    buy(lea, "fr", "MOUSE", shipping_method="express", confirm=False)
    assert _last(app, fr).total_net == Decimal("35.00")  # 20 + 15 of express delivery
    add(lea, "fr", "SCREEN")
    page = lea.get("/s/fr/checkout").get_data(as_text=True)
    assert "Livraison offerte" not in page  # the standard delivery costs nothing anyway
    response = buy(lea, "fr", shipping_method="express",
                   shown_discounts=f"{ref(promo)}=15.00")
    order = _last(app, fr)
    delivery = next(line for line in order.lines if line.is_shipping)
    assert (delivery.discount, delivery.line_net) == (Decimal("15.00"), Decimal("0.00"))
    assert order.total_net == Decimal("300.00")
    assert response.status_code == 303


def test_a_minimum_amount_is_explained_on_the_cart(app, shop, lea):
    fr = shop[0]
    make_promotion(app, fr, code="GROS", name="-20 € dès 100 €", kind="fixed",
                   value=Decimal("20"), min_amount=Decimal("100"))
    add(lea, "fr", "MOUSE")
    response = lea.post("/s/fr/cart/codes", data={"code": "GROS"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "GROS" in page and "80,00" in page  # 80 € more to go
    assert applied(lea, "fr") == []
    assert given(lea, "fr") == {}


# -- when ---------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """Set the platform's clock (UTC) that the shop's date is read from."""
    import comptoir.tax.basis as basis

    class Clock(datetime):
        now_is = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)

        @classmethod
        def now(cls, tz=None):
            return cls.now_is.astimezone(tz) if tz else cls.now_is

    monkeypatch.setattr(basis, "datetime", Clock)
    return Clock


def test_dates_are_days_of_the_shops_time_zone_both_included(app, shop, lea, clock):
    fr = shop[0]
    promo = make_promotion(app, fr, name="Fin d'année", starts_on=date(2026, 12, 1),
                           ends_on=date(2026, 12, 31))
    add(lea, "fr", "SCREEN")
    clock.now_is = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)  # 23:30 in Paris
    assert ref(promo) in given(lea, "fr")
    clock.now_is = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # already 2027 in Paris
    assert given(lea, "fr") == {}
    clock.now_is = datetime(2026, 11, 30, 22, 59, tzinfo=UTC)  # 23:59 on the 30th there
    assert given(lea, "fr") == {}
    clock.now_is = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)   # midnight, 1 December
    assert ref(promo) in given(lea, "fr")


def test_an_ended_or_future_code_says_when(app, shop, lea, clock):
    fr = shop[0]
    make_promotion(app, fr, code="NOEL", ends_on=date(2026, 12, 25))
    make_promotion(app, fr, code="SOLDES", starts_on=date(2027, 1, 7))
    add(lea, "fr", "SCREEN")
    for code, day in (("NOEL", "25 déc. 2026"), ("SOLDES", "7 janv. 2027")):
        page = lea.post("/s/fr/cart/codes", data={"code": code},
                        follow_redirects=True).get_data(as_text=True)
        assert code in _flash(page) and day in _flash(page)
    assert applied(lea, "fr") == []


# -- to whom ------------------------------------------------------------------------------


def test_a_welcome_offer_is_for_a_first_order_by_account_or_address(app, shop, lea, client):
    fr = shop[0]
    promo = make_promotion(app, fr, name="Bienvenue -15 %", value=Decimal("15"),
                           first_order_only=True)
    add(lea, "fr", "SCREEN")
    assert given(lea, "fr") == {ref(promo): Decimal("45.00")}
    buy(lea, "fr")
    add(lea, "fr", "SCREEN")
    assert given(lea, "fr") == {}, "a second order has no welcome offer"
    # A guest who gives the same address at checkout is not a first-time buyer either.
    add(client, "fr", "MOUSE")
    response = buy(client, "fr", email="LEA@example.com", expect=400)
    assert translated(app, "fr_FR", "Your discounts changed (a promotion ended or changed): "
                      "please check the new total and confirm.") in response.get_data(
        as_text=True)
    assert [o.discounts for o in _orders(app, fr)] == [[{"ref": ref(promo),
                                                         "label": "Bienvenue -15 %",
                                                         "amount": "45.00"}]]


def test_a_cancelled_order_does_not_make_the_next_one_a_second(app, shop, lea):
    fr = shop[0]
    promo = make_promotion(app, fr, value=Decimal("15"), first_order_only=True)
    buy(lea, "fr", "SCREEN")
    staff = staff_client(app, fr)
    from tests.promotions.conftest import set_status

    set_status(staff, "fr", _last(app, fr).number, "cancelled")
    add(lea, "fr", "SCREEN")
    assert ref(promo) in given(lea, "fr")


def test_b2c_b2b_and_one_company(app, shop):
    fr, acme, _de = shop
    b2c = make_promotion(app, fr, name="Particuliers", audience="b2c")
    b2b = make_promotion(app, fr, name="Pros", audience="b2b", value=Decimal("5"))
    durand = make_promotion(app, acme, name="Durand", audience="company", value=Decimal("3"),
                            audience_company_id=company_id(app, acme))
    other = make_customer(app, acme, "boss@autre.example", company="Autre SA")
    assert other
    buyer = app.test_client()
    login(buyer, "acme", "buyer@durand.example")
    add(buyer, "acme", "SCREEN")
    assert set(given(buyer, "acme")) == {ref(b2b), ref(durand)}
    boss = app.test_client()
    login(boss, "acme", "boss@autre.example")
    add(boss, "acme", "SCREEN")
    assert set(given(boss, "acme")) == {ref(b2b)}
    person = app.test_client()
    make_customer(app, acme, "paul@example.com")
    login(person, "acme", "paul@example.com")
    add(person, "acme", "SCREEN")
    assert set(given(person, "acme")) == {ref(b2c)}


def test_new_customers_spenders_and_a_list_of_addresses(app, shop, lea, client):
    fr = shop[0]
    new = make_promotion(app, fr, name="Nouveaux", audience="new_customers")
    big = make_promotion(app, fr, name="Fidèles", audience="spent_over",
                         audience_value="250.00", value=Decimal("5"))
    vip = make_promotion(app, fr, name="VIP", audience="emails", value=Decimal("2"),
                         audience_value="vip@example.com\nlea@example.com")
    add(lea, "fr", "SCREEN")
    assert set(given(lea, "fr")) == {ref(new), ref(vip)}
    buy(lea, "fr")  # 300 excluding VAT
    add(lea, "fr", "MOUSE")
    assert set(given(lea, "fr")) == {ref(big), ref(vip)}
    add(client, "fr", "MOUSE")  # a guest: no account, no address yet
    assert given(client, "fr") == {}


def test_a_guest_typing_a_targeted_address_does_not_get_its_offer(app, shop, lea, client):
    """An address typed at checkout proves nothing: the spenders' and the listed
    customers' offers are for their logged-in accounts, not for whoever types the address."""
    fr = shop[0]
    buy(lea, "fr", "SCREEN")  # Léa's orders reach 300 excluding VAT
    big = make_promotion(app, fr, name="Fidèles", audience="spent_over",
                         audience_value="250.00", value=Decimal("50"))
    vip = make_promotion(app, fr, name="VIP", audience="emails", value=Decimal("40"),
                         audience_value="lea@example.com")
    add(client, "fr", "SCREEN")
    # A guest giving Léa's address, confirming whatever total the booking computes.
    buy(client, "fr", email=LEA, confirm=False)
    assert _last(app, fr).discounts == []
    # Léa herself, logged in, has both.
    add(lea, "fr", "MOUSE")
    assert set(given(lea, "fr")) == {ref(big), ref(vip)}


# -- combining ----------------------------------------------------------------------------


def test_a_promotion_that_does_not_combine_is_given_alone_when_it_gives_more(
        app, shop, lea):
    fr = shop[0]
    ten = make_promotion(app, fr, name="Dix", value=Decimal("10"))
    five = make_promotion(app, fr, name="Cinq euros", kind="fixed", value=Decimal("5"))
    big = make_promotion(app, fr, name="Vingt-cinq seul", value=Decimal("25"),
                         combinable=False)
    add(lea, "fr", "SCREEN")
    assert given(lea, "fr") == {ref(big): Decimal("75.00")}
    page = cart_page(lea, "fr")
    assert "promotion-notes" in page and "Vingt-cinq seul" in page
    for left in ("Dix", "Cinq euros"):
        assert said(app, "%(left)s was not applied: %(chosen)s does not combine with other "
                    "offers and gives you more.", left=f"“{left}”",
                    chosen="“Vingt-cinq seul”") in page
    with as_tenant(app, fr):
        from plugins.promotions.models import Promotion

        db.session.get(Promotion, big).value = Decimal("12")  # now worth 36 < 30 + 5? no
        db.session.get(Promotion, ten).value = Decimal("20")  # 60 + 5 beat 36
        db.session.commit()
    assert given(lea, "fr") == {ref(ten): Decimal("60.00"), ref(five): Decimal("5.00")}
    assert "Vingt-cinq seul" in cart_page(lea, "fr")  # said why it was left out


def test_a_code_that_does_not_combine_cannot_join_another_code(app, shop, lea):
    fr = shop[0]
    make_promotion(app, fr, code="DIX", value=Decimal("10"))
    make_promotion(app, fr, code="SEUL", value=Decimal("20"), combinable=False)
    add(lea, "fr", "SCREEN")
    assert lea.post("/s/fr/cart/codes", data={"code": "DIX"}).status_code == 303
    page = lea.post("/s/fr/cart/codes", data={"code": "seul"},
                    follow_redirects=True).get_data(as_text=True)
    assert "SEUL" in page and "DIX" in page and "flash-error" in page
    assert said(app, "The code %(code)s cannot be combined with %(other)s: remove %(other)s "
                "first if you prefer it.", code="SEUL", other="DIX") in page
    assert applied(lea, "fr") == ["DIX"]


# -- offices and resellers ----------------------------------------------------------------


def test_an_offices_promotions_apply_in_its_resellers_shops_unless_it_says_no(app, shop):
    fr, acme, _de = shop
    office = make_promotion(app, fr, name="Réseau", value=Decimal("10"))
    own = make_promotion(app, acme, name="ACME", kind="fixed", value=Decimal("7"))
    buyer = app.test_client()
    login(buyer, "acme", "buyer@durand.example")
    add(buyer, "acme", "SCREEN")
    assert set(given(buyer, "acme")) == {ref(office), ref(own)}
    plugin_settings(app, fr, resellers_inherit=False)
    assert set(given(buyer, "acme")) == {ref(own)}
    # The reseller cannot turn it back on for itself: the office's own setting decides.
    plugin_settings(app, acme, resellers_inherit=True)
    assert set(given(buyer, "acme")) == {ref(own)}


def test_a_resellers_promotions_stay_in_its_shop(app, shop, lea):
    fr, acme, _de = shop
    make_promotion(app, acme, name="ACME", value=Decimal("10"))
    make_promotion(app, acme, code="ACME10")
    add(lea, "fr", "SCREEN")
    assert given(lea, "fr") == {}
    page = lea.post("/s/fr/cart/codes", data={"code": "ACME10"},
                    follow_redirects=True).get_data(as_text=True)
    assert said(app, "The code %(code)s is unknown: check how it is spelt.",
                code="ACME10") in page


def test_another_office_sees_nothing_of_the_promotions(app, shop):
    fr, _acme, de = shop
    make_promotion(app, fr, name="France", value=Decimal("10"))
    make_promotion(app, fr, code="BIENVENUE")
    make_customer(app, de, "max@example.de")
    client = app.test_client()
    login(client, "de", "max@example.de")
    add(client, "de", "DE-PC")
    assert given(client, "de") == {}
    page = client.post("/s/de/cart/codes", data={"code": "BIENVENUE"},
                       follow_redirects=True).get_data(as_text=True)
    assert "BIENVENUE" in page and "flash-error" in page
    unknown = client.post("/s/de/cart/codes", data={"code": "NIEGESEHEN"},
                          follow_redirects=True).get_data(as_text=True)
    # Word for word the same refusal as a code that never existed: nothing leaks.
    assert _flash(page).replace("BIENVENUE", "X") == _flash(unknown).replace("NIEGESEHEN",
                                                                             "X")


# -- helpers ------------------------------------------------------------------------------


def _orders(app, tenant):
    from tests.promotions.conftest import orders

    return orders(app, tenant)


def _last(app, tenant):
    return _orders(app, tenant)[-1]


def _flash(page: str) -> str:
    import re

    return " ".join(re.findall(r'class="flash flash-error"[^>]*>([^<]*)<', page))

