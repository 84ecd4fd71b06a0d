"""The staff's promotion pages: who may see them, creating and changing promotions (bad
input named, nothing stored), codes and batches, usage and revenue; an office's promotions
read-only in its reseller's pages; another shop's promotion is a 404."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from comptoir.core.db import db
from tests.conftest import as_tenant
from tests.promotions.conftest import (
    add,
    buy,
    company_id,
    login,
    make_customer,
    make_promotion,
    plugin_settings,
    said,
    set_status,
    staff_client,
)

VALID = {"name": "Soldes d'hiver", "kind": "percent", "value": "15", "scope": "category",
         "scope_value": "ecrans", "trigger": "automatic", "audience": "all",
         "starts_on": "2026-01-07", "ends_on": "2026-02-03", "max_uses": "100",
         "max_uses_per_customer": "2", "combinable": "yes", "active": "yes"}


def promotions(app, tenant):
    from plugins.promotions.models import Promotion

    with as_tenant(app, tenant):
        found = list(db.session.scalars(select(Promotion).where(
            Promotion.tenant_id == tenant.id).order_by(Promotion.id)))
        for promotion in found:
            db.session.expunge(promotion)
        return found


def error_of(response) -> str:
    found = re.search(r'id="error"[^>]*>([^<]*)<', response.get_data(as_text=True))
    return found.group(1) if found else ""


@pytest.fixture
def staff(app, shop):
    return staff_client(app, shop[0])


def test_visitors_log_in_and_customers_are_refused(app, shop, client):
    fr = shop[0]
    promo = make_promotion(app, fr)
    response = client.get("/s/fr/staff/promotions")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    make_customer(app, fr, "lea@example.com")
    login(client, "fr", "lea@example.com")
    for url in ("/s/fr/staff/promotions", f"/s/fr/staff/promotions/{promo}",
                "/s/fr/staff/promotions/new"):
        assert client.get(url).status_code == 403
    assert client.post("/s/fr/staff/promotions/new", data=VALID).status_code == 403
    assert promotions(app, fr)[0].name == "Promo" and len(promotions(app, fr)) == 1


def test_staff_create_a_promotion_and_see_it_listed(app, shop, staff):
    fr = shop[0]
    assert "/s/fr/staff/promotions" in staff.get("/s/fr/staff/").get_data(as_text=True)
    response = staff.post("/s/fr/staff/promotions/new", data=VALID)
    assert response.status_code == 303, error_of(response)
    [promotion] = promotions(app, fr)
    assert (promotion.kind, promotion.value, promotion.scope, promotion.scope_value) == (
        "percent", Decimal("15.00"), "category", "ecrans")
    assert (promotion.max_uses, promotion.max_uses_per_customer) == (100, 2)
    assert str(promotion.starts_on) == "2026-01-07" and promotion.combinable
    assert promotion.created_by == "staff@fr.example"
    page = staff.get("/s/fr/staff/promotions").get_data(as_text=True)
    assert "Soldes d&#39;hiver" in page
    assert said(app, "%(value)s %% off", value="15") in page
    assert said(app, "category %(slug)s", slug="ecrans") in page
    page = staff.get(f"/s/fr/staff/promotions/{promotion.id}").get_data(as_text=True)
    assert said(app, "%(value)s %% off", value="15") in page
    assert "7 janv. 2026" in page and "/ 100" in page


def test_a_code_promotion_with_its_shared_code(app, shop, staff):
    fr = shop[0]
    response = staff.post("/s/fr/staff/promotions/new", data={
        **VALID, "trigger": "code", "code": "hiver-15", "scope": "cart", "scope_value": ""})
    assert response.status_code == 303
    from plugins.promotions.models import Coupon

    with as_tenant(app, fr):
        assert db.session.scalars(select(Coupon.code)).all() == ["HIVER-15"]


@pytest.mark.parametrize("changes, field", [
    ({"name": ""}, "name"),
    ({"kind": "gift"}, "kind"),
    ({"value": "150"}, "value"),
    ({"value": "abc"}, "value"),
    ({"value": "-5"}, "value"),
    ({"kind": "fixed", "value": "0"}, "value"),
    ({"scope_value": "frigos"}, "scope_value"),
    ({"scope": "product", "scope_value": "SCREEN, NOPE"}, "scope_value"),
    ({"kind": "bxgy", "buy_quantity": "2", "get_quantity": ""}, "buy_quantity"),
    ({"kind": "bxgy", "buy_quantity": "2", "get_quantity": "1", "gift_sku": "NOPE"},
     "gift_sku"),
    ({"min_amount": "1e999"}, "min_amount"),
    ({"starts_on": "07/01/2026"}, "starts_on"),
    ({"ends_on": "2026-01-01"}, "ends_on"),
    ({"max_uses": "0"}, "max_uses"),
    ({"max_uses_per_customer": "1.5"}, "max_uses_per_customer"),
    ({"audience": "company", "audience_company_id": "999"}, "audience_company_id"),
    ({"audience": "spent_over", "audience_value": "0"}, "audience_value"),
    ({"audience": "emails", "audience_value": "lea@example.com, pas-une-adresse"},
     "audience_value"),
    ({"code": "HIVER"}, "code"),  # a code for an automatic promotion
    ({"trigger": "code", "code": "!!"}, "code"),
])
def test_bad_input_names_the_field_and_stores_nothing(app, shop, staff, changes, field):
    fr = shop[0]
    response = staff.post("/s/fr/staff/promotions/new", data={**VALID, **changes})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'data-field="{field}"' in page and error_of(response)
    assert f'id="{field}" name="{field}"' in page  # the form is shown again, filled in
    assert promotions(app, fr) == []


def test_a_company_of_another_shop_cannot_be_targeted(app, shop, staff):
    fr, acme, _de = shop
    response = staff.post("/s/fr/staff/promotions/new", data={
        **VALID, "audience": "company", "audience_company_id": str(company_id(app, acme))})
    assert response.status_code == 400 and promotions(app, fr) == []


def test_staff_change_and_end_a_promotion(app, shop, staff):
    fr = shop[0]
    promo = make_promotion(app, fr, name="Avant")
    page = staff.get(f"/s/fr/staff/promotions/{promo}/edit").get_data(as_text=True)
    assert 'value="Avant"' in page
    response = staff.post(f"/s/fr/staff/promotions/{promo}/edit",
                          data={**VALID, "name": "Après", "value": "20"})
    assert response.status_code == 303
    assert (promotions(app, fr)[0].name, promotions(app, fr)[0].value) == ("Après",
                                                                           Decimal("20.00"))
    bad = staff.post(f"/s/fr/staff/promotions/{promo}/edit", data={**VALID, "value": "x"})
    assert bad.status_code == 400 and promotions(app, fr)[0].value == Decimal("20.00")
    staff.post(f"/s/fr/staff/promotions/{promo}/active", data={"active": ""})
    assert promotions(app, fr)[0].active is False


def test_another_shops_promotion_is_not_found(app, shop, staff):
    _fr, _acme, de = shop
    foreign = make_promotion(app, de, code="DEUTSCH")
    for method, url in (("get", f"/s/fr/staff/promotions/{foreign}"),
                        ("get", f"/s/fr/staff/promotions/{foreign}/edit"),
                        ("post", f"/s/fr/staff/promotions/{foreign}/edit"),
                        ("post", f"/s/fr/staff/promotions/{foreign}/active"),
                        ("post", f"/s/fr/staff/promotions/{foreign}/codes"),
                        ("post", f"/s/fr/staff/promotions/{foreign}/batches"),
                        ("get", f"/s/fr/staff/promotions/{foreign}/batches/1.csv")):
        assert getattr(staff, method)(url, data=VALID if method == "post" else None
                                      ).status_code == 404, url
    assert "DEUTSCH" not in staff.get("/s/fr/staff/promotions").get_data(as_text=True)
    assert promotions(app, de)[0].name == "Promo"


def test_a_reseller_reads_its_offices_promotions_and_cannot_change_them(app, shop):
    fr, acme, _de = shop
    office = make_promotion(app, fr, code="RESEAU", name="Réseau")
    own = make_promotion(app, acme, name="Maison")
    staff = staff_client(app, acme)
    page = staff.get("/s/acme/staff/promotions").get_data(as_text=True)
    assert "Réseau" in page and "Maison" in page and 'id="office-promotions"' in page
    page = staff.get(f"/s/acme/staff/promotions/{office}").get_data(as_text=True)
    assert 'id="read-only"' in page and 'id="batch-form"' not in page
    assert staff.get(f"/s/acme/staff/promotions/{office}/edit").status_code == 403
    assert staff.post(f"/s/acme/staff/promotions/{office}/batches",
                      data={"name": "x", "size": "5"}).status_code == 403
    assert staff.post(f"/s/acme/staff/promotions/{office}/active").status_code == 403
    assert staff.get(f"/s/acme/staff/promotions/{own}/edit").status_code == 200
    plugin_settings(app, fr, resellers_inherit=False)
    page = staff.get("/s/acme/staff/promotions").get_data(as_text=True)
    assert "Réseau" not in page and 'id="not-inherited"' in page
    assert staff.get(f"/s/acme/staff/promotions/{office}").status_code == 404


def test_codes_and_batches_from_the_promotions_page(app, shop, staff):
    fr = shop[0]
    promo = make_promotion(app, fr, code="LETTRE")
    response = staff.post(f"/s/fr/staff/promotions/{promo}/batches",
                          data={"name": "Lettre de mars", "size": "25", "prefix": "mars",
                                "affiliate_code": "blogpro"})
    assert response.status_code == 303
    page = staff.get(f"/s/fr/staff/promotions/{promo}").get_data(as_text=True)
    assert "Lettre de mars" in page and "BLOGPRO" in page
    batch_id = re.search(r'id="batch-(\d+)"', page).group(1)
    export = staff.get(f"/s/fr/staff/promotions/{promo}/batches/{batch_id}.csv")
    rows = export.get_data(as_text=True).strip().splitlines()
    assert rows[0] == "code,promotion,batch,used,order" and len(rows) == 26
    assert all(row.startswith("MARS-") for row in rows[1:])
    for data, message in (
            ({"name": "", "size": "5"}, said(app, "Name the batch (up to 120 characters), "
                                              "e.g. the newsletter it is for.")),
            ({"name": "x", "size": "0"}, said(app, "A batch has 1 to %(max)s codes.",
                                              max=10000)),
            ({"name": "x", "size": "5", "affiliate_code": "a b"},
             said(app, "An affiliate code is 2 to 32 letters, digits and hyphens, as in its "
                       "referral link."))):
        response = staff.post(f"/s/fr/staff/promotions/{promo}/batches", data=data)
        assert response.status_code == 400 and error_of(response) == message
    response = staff.post(f"/s/fr/staff/promotions/{promo}/codes", data={"code": "lettre"})
    assert response.status_code == 400
    assert error_of(response) == said(app, "The code %(code)s exists already.", code="LETTRE")
    assert staff.post(f"/s/fr/staff/promotions/{promo}/codes",
                      data={"code": "avril-24"}).status_code == 303
    from plugins.promotions.models import Batch, Coupon

    with as_tenant(app, fr):
        assert db.session.scalar(select(func.count()).select_from(Batch)) == 1
        assert db.session.scalar(select(func.count()).select_from(Coupon)) == 27


def test_usage_and_revenue_count_the_orders_that_used_it_but_not_cancelled_ones(
        app, shop, staff):
    fr = shop[0]
    promo = make_promotion(app, fr, name="Dix", value=Decimal("10"))
    other = make_promotion(app, fr, code="AUTRE", name="Autre")
    for email, sku in (("a@example.com", "SCREEN"), ("b@example.com", "LAPTOP-FR"),
                       ("c@example.com", "MOUSE")):
        client = app.test_client()
        add(client, "fr", sku)
        buy(client, "fr", email=email)
    set_status(staff, "fr", 3, "cancelled")
    page = staff.get(f"/s/fr/staff/promotions/{promo}").get_data(as_text=True)
    figures = dict(re.findall(r'id="usage-(\w+)">([^<]*)<', page))
    assert figures["orders"] == "2"
    assert figures["discount"].replace("\u202f", " ").replace("\xa0", " ") == "130,00 €"
    assert figures["net"].replace("\u202f", " ").replace("\xa0", " ") == "1 170,00 €"
    assert figures["gross"].replace("\u202f", " ").replace("\xa0", " ") == "1 404,00 €"
    assert page.count("@example.com") == 3  # the cancelled order is listed, marked
    listing = staff.get("/s/fr/staff/promotions").get_data(as_text=True)
    row = re.search(rf'id="promotion-{promo}".*?</tr>', listing, re.S).group(0)
    assert re.search(r'class="orders">2<', row)
    empty = staff.get(f"/s/fr/staff/promotions/{other}").get_data(as_text=True)
    assert 'id="no-redemption"' in empty
