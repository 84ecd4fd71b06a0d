"""A company admin gives the company's VAT number; a wrong one is refused and changes
nothing."""

from __future__ import annotations

from sqlalchemy import select

from comptoir.core.db import db
from comptoir.customers.models import Company, User
from tests.conftest import as_tenant
from tests.orders.conftest import log_in


def _admin(app, reseller):
    with as_tenant(app, reseller):
        company = db.session.scalars(select(Company).filter_by(name="Durand")).one()
        user = User(email="admin@durand.example", name="Claire", role="company_admin",
                    company=company)
        user.set_password("password-1")
        db.session.add(user)
        db.session.commit()


def _number(app, reseller):
    with as_tenant(app, reseller):
        return db.session.scalars(select(Company.vat_number).filter_by(name="Durand")).one()


def test_a_valid_number_is_saved_compacted(app, client, reseller):
    _admin(app, reseller)
    log_in(client, email="admin@durand.example")
    response = client.post("/s/acme/account/addresses",
                           data={"action": "vat_number", "vat_number": "be 0403.170.701"})
    assert response.status_code == 303
    assert _number(app, reseller) == "BE0403170701"


def test_a_number_with_wrong_check_digits_is_refused_and_the_old_one_kept(app, client,
                                                                          reseller):
    _admin(app, reseller)
    log_in(client, email="admin@durand.example")
    response = client.post("/s/acme/account/addresses",
                           data={"action": "vat_number", "vat_number": "FR40303265046"})
    assert response.status_code == 400
    assert "FR40303265046" in response.get_data(as_text=True)
    assert _number(app, reseller) == "FR40303265045"


def test_swiss_and_uk_numbers_are_accepted_and_a_buyer_may_not_change_it(app, client,
                                                                         reseller):
    _admin(app, reseller)
    log_in(client, email="admin@durand.example")
    client.post("/s/acme/account/addresses",
                data={"action": "vat_number", "vat_number": "GB980780684"})
    assert _number(app, reseller) == "GB980780684"
    buyer = app.test_client()
    log_in(buyer, email="buyer@durand.example")
    assert buyer.post("/s/acme/account/addresses",
                      data={"action": "vat_number", "vat_number": ""}).status_code == 403
