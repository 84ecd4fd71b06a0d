"""Input meant to break the users pages and the login: numbers too large for the database,
digits that are not ASCII, accounts without a usable password, floods of SSO starts."""

from __future__ import annotations

from unittest import mock

from sqlalchemy import func, select

from comptoir.core.db import db
from comptoir.customers.models import User
from tests.accounts.conftest import add_user, login
from tests.conftest import as_tenant, translated

HUGE = "99999999999999999999"


def _admin(app, shops):
    a, _b = shops
    add_user(app, a, "boss@a.example", role="tenant_admin", name="Boss")
    client = app.test_client()
    assert login(client, "shop-a", "boss@a.example").status_code == 302
    return client


def test_huge_ids_are_404_and_odd_page_numbers_fall_back(app, shops):
    client = _admin(app, shops)
    for action in ("role", "active", "resend"):
        answer = client.post(f"/s/shop-a/settings/users/{HUGE}/{action}", data={"role": "staff"})
        assert answer.status_code == 404, action
    # "²" is a digit to str.isdigit() but not to int(): the first page, not a 500.
    assert client.get("/s/shop-a/settings/users?page=²").status_code == 200
    assert client.get(f"/s/shop-a/settings/users?page={HUGE}").status_code == 200


def test_an_invitation_naming_an_impossible_company_creates_nobody(app, shops):
    client = _admin(app, shops)
    a, _b = shops
    with as_tenant(app, a):
        before = db.session.scalar(select(func.count(User.id)))
    for company in (HUGE, "²"):
        answer = client.post("/s/shop-a/settings/users/invite", data={
            "email": "new@a.example", "name": "New", "role": "buyer", "company": company})
        assert answer.status_code in (302, 303, 400)
        with as_tenant(app, a):
            assert db.session.scalar(select(func.count(User.id))) == before


def test_an_account_without_a_password_costs_a_real_check(app, shops):
    """An invited or SSO-only account must not answer faster than the others."""
    a, _b = shops
    with as_tenant(app, a):
        user = User(email="invited@a.example", name="Invited", role="customer",
                    password_hash="!unusable")
        db.session.add(user)
        db.session.commit()
    from argon2 import PasswordHasher

    with mock.patch.object(PasswordHasher, "verify", autospec=True,
                           side_effect=PasswordHasher.verify) as verify:
        answer = login(app.test_client(), "shop-a", "invited@a.example", "any password 1")
    assert answer.status_code == 400
    assert verify.call_count == 1  # the decoy, as for an unknown address
    assert translated(app, "fr_FR", "Unknown e-mail or wrong password.") in answer.get_data(
        as_text=True)
