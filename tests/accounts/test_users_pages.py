import pytest

from comptoir.core.db import db
from comptoir.customers.models import Company, User
from tests.accounts.conftest import (
    LOCALE,
    PASSWORD,
    add_user,
    catalogue_text,
    links,
    login,
)
from tests.conftest import as_tenant, translated


@pytest.fixture
def world(app, shops):
    a, b = shops
    add_user(app, a, "boss@a.example", role="tenant_admin", name="Bea Boss")
    add_user(app, b, "boss@b.example", role="tenant_admin", name="Bob Boss")
    with as_tenant(app, a):
        acme = Company(name="Acme")
        other = Company(name="Other")
        db.session.add_all([acme, other])
        db.session.commit()
        ids = acme.id, other.id
    add_user(app, a, "ca@acme.example", role="company_admin", company_id=ids[0], name="Cara")
    add_user(app, a, "buyer@acme.example", role="buyer", company_id=ids[0], name="Bert")
    add_user(app, a, "buyer@other.example", role="buyer", company_id=ids[1], name="Olga")
    return a, b, ids


def _id(app, tenant, email):
    with as_tenant(app, tenant):
        return db.session.query(User).filter_by(email=email).one().id


def _user(app, tenant, email):
    with as_tenant(app, tenant):
        user = db.session.query(User).filter_by(email=email).one()
        return user.role, user.active, user.company_id


def _as(app, slug, email):
    client = app.test_client()
    assert login(client, slug, email).status_code == 302
    return client


def test_tenant_admin_lists_searches_and_invites(app, world):
    a, b, (acme, _other) = world
    client = _as(app, "shop-a", "boss@a.example")
    page = client.get("/s/shop-a/settings/users").get_data(as_text=True)
    assert "ann@a.example" in page and "sam@a.example" in page and "bob@b.example" not in page
    found = client.get("/s/shop-a/settings/users?q=acme").get_data(as_text=True)
    assert "buyer@acme.example" in found and "ann@a.example" not in found
    answer = client.post("/s/shop-a/settings/users/invite", data={
        "email": "new@acme.example", "name": "Nora", "role": "approver", "company": acme})
    assert answer.status_code == 303
    assert _user(app, a, "new@acme.example") == ("approver", True, acme)
    assert links(app, "new@acme.example")
    bad = client.post("/s/shop-a/settings/users/invite", data={
        "email": "ann@a.example", "name": "Ann", "role": "staff"})
    assert bad.status_code == 400 and translated(
        app, LOCALE, "An account with the e-mail %(email)s already exists in this shop.",
        email="ann@a.example") in bad.get_data(as_text=True)
    bad = client.post("/s/shop-a/settings/users/invite", data={
        "email": "x@a.example", "name": "X", "role": "buyer"})
    assert bad.status_code == 400 and translated(
        app, LOCALE, "A %(role)s must belong to a company.",
        role=catalogue_text(app, LOCALE, "Buyer")) in bad.get_data(as_text=True)
    with as_tenant(app, a):
        assert db.session.query(User).filter_by(email="x@a.example").count() == 0


def test_role_and_deactivation_rules(app, world):
    a, b, _ids = world
    client = _as(app, "shop-a", "boss@a.example")
    me = _id(app, a, "boss@a.example")
    sam = _id(app, a, "sam@a.example")
    assert client.post(f"/s/shop-a/settings/users/{me}/active",
                       data={"active": "no"}).status_code == 400
    assert client.post(f"/s/shop-a/settings/users/{me}/role",
                       data={"role": "staff"}).status_code == 400
    assert _user(app, a, "boss@a.example")[:2] == ("tenant_admin", True)
    assert client.post(f"/s/shop-a/settings/users/{sam}/role",
                       data={"role": "emperor"}).status_code == 400
    assert client.post(f"/s/shop-a/settings/users/{sam}/role",
                       data={"role": "tenant_admin"}).status_code == 303
    assert client.post(f"/s/shop-a/settings/users/{sam}/active",
                       data={"active": "no"}).status_code == 303
    assert _user(app, a, "sam@a.example")[:2] == ("tenant_admin", False)
    assert login(app.test_client(), "shop-a", "sam@a.example").status_code == 403
    assert client.post(f"/s/shop-a/settings/users/{sam}/active",
                       data={"active": "yes"}).status_code == 303
    assert login(app.test_client(), "shop-a", "sam@a.example").status_code == 302
    # Another shop's user is a 404; the other shop's admin sees nothing of this one.
    bob = _id(app, b, "bob@b.example")
    assert client.post(f"/s/shop-a/settings/users/{bob}/active",
                       data={"active": "no"}).status_code == 404
    assert _user(app, b, "bob@b.example")[1] is True
    other = _as(app, "shop-b", "boss@b.example")
    assert "ann@a.example" not in other.get("/s/shop-b/settings/users").get_data(as_text=True)
    assert other.post(f"/s/shop-b/settings/users/{sam}/active",
                      data={"active": "no"}).status_code == 404


def test_last_active_tenant_admin_stays(app, world):
    a, _b, _ids = world
    add_user(app, a, "second@a.example", role="tenant_admin", name="Second")
    client = _as(app, "shop-a", "second@a.example")
    boss = _id(app, a, "boss@a.example")
    assert client.post(f"/s/shop-a/settings/users/{boss}/active",
                       data={"active": "no"}).status_code == 303
    # Now "second" is the last one, and cannot remove themselves either way.
    me = _id(app, a, "second@a.example")
    assert client.post(f"/s/shop-a/settings/users/{me}/active",
                       data={"active": "no"}).status_code == 400


def test_only_tenant_admins(app, world):
    assert _as(app, "shop-a", "sam@a.example").get("/s/shop-a/settings/users").status_code == 403
    assert _as(app, "shop-a", "ann@a.example").get("/s/shop-a/settings/users").status_code == 403
    anonymous = app.test_client().get("/s/shop-a/settings/users")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_company_admin_manages_own_company_only(app, world):
    a, _b, (acme, other) = world
    client = _as(app, "shop-a", "ca@acme.example")
    page = client.get("/s/shop-a/account/users").get_data(as_text=True)
    assert "buyer@acme.example" in page and "buyer@other.example" not in page
    assert "ann@a.example" not in page
    answer = client.post("/s/shop-a/account/users/invite", data={
        "email": "new@acme.example", "name": "Nils", "role": "approver", "company": other})
    assert answer.status_code == 303
    assert _user(app, a, "new@acme.example") == ("approver", True, acme)
    refused = client.post("/s/shop-a/account/users/invite", data={
        "email": "boss2@acme.example", "name": "B", "role": "tenant_admin"})
    assert refused.status_code == 400
    with as_tenant(app, a):
        assert db.session.query(User).filter_by(email="boss2@acme.example").count() == 0
    olga = _id(app, a, "buyer@other.example")
    assert client.post(f"/s/shop-a/account/users/{olga}/active",
                       data={"active": "no"}).status_code == 404
    ann = _id(app, a, "ann@a.example")
    assert client.post(f"/s/shop-a/account/users/{ann}/role",
                       data={"role": "buyer"}).status_code == 404
    bert = _id(app, a, "buyer@acme.example")
    assert client.post(f"/s/shop-a/account/users/{bert}/role",
                       data={"role": "approver"}).status_code == 303
    assert _user(app, a, "buyer@acme.example")[0] == "approver"
    assert _as(app, "shop-a", "buyer@acme.example").get(
        "/s/shop-a/account/users").status_code == 403


def test_resend_invitation(app, world):
    a, _b, _ids = world
    client = _as(app, "shop-a", "boss@a.example")
    client.post("/s/shop-a/settings/users/invite", data={
        "email": "inv@a.example", "name": "Ivo", "role": "staff"})
    invited = _id(app, a, "inv@a.example")
    assert client.post(f"/s/shop-a/settings/users/{invited}/resend").status_code == 303
    assert len(links(app, "inv@a.example")) == 2
    ann = _id(app, a, "ann@a.example")
    refused = client.post(f"/s/shop-a/settings/users/{ann}/resend")
    assert refused.status_code == 400 and translated(
        app, LOCALE, "%(email)s already chose a password.",
        email="ann@a.example") in refused.get_data(True)


def test_admins_who_log_in_land_on_the_users_page_they_asked_for(app, world):
    """The login's ``next`` keeps the ``/s/<slug>`` prefix (safe_next refused it before, and
    the admin landed on the home page): for the shop's admin and for a company admin."""
    from urllib.parse import parse_qs, urlencode, urlsplit

    for email, wanted in (("boss@a.example", "/s/shop-a/settings/users?q=acme"),
                          ("ca@acme.example", "/s/shop-a/account/users")):
        client = app.test_client()
        visitor = client.get(wanted)
        assert visitor.status_code == 302
        location = urlsplit(visitor.headers["Location"])
        assert location.path == "/s/shop-a/login"
        assert parse_qs(location.query)["next"] == [wanted]
        logged = client.post(f"/s/shop-a/login?{urlencode({'next': wanted})}",
                             data={"email": email, "password": PASSWORD})
        assert logged.status_code == 302 and logged.headers["Location"].endswith(wanted)
        assert client.get(wanted).status_code == 200
