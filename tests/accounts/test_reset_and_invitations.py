from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from comptoir.accounts import AccountError, clock
from comptoir.accounts.invitations import invite_user, send_verification
from comptoir.core.db import db
from comptoir.customers.models import User
from comptoir.toolkit import find_tenant, shop_context
from tests.accounts.conftest import LOCALE, PASSWORD, catalogue_text, links, login
from tests.conftest import as_tenant, translated

NEW = "a brand new passphrase"


def _path(link):
    return link.split("://", 1)[1].partition("/")[2].join(["/", ""])


def _ask_reset(app, slug, email):
    return app.test_client().post(f"/s/{slug}/password/forgot", data={"email": email})


def test_reset_end_to_end_and_link_works_once(app, shops):
    old_session = app.test_client()
    assert login(old_session, "shop-a", "ann@a.example").status_code == 302
    answer = _ask_reset(app, "shop-a", "ann@a.example")
    assert answer.status_code == 200
    (link,) = links(app, "ann@a.example")
    client = app.test_client()
    path = _path(link)
    assert client.get(path).status_code == 200
    refused = client.post(path, data={"password": "password", "confirm": "password"})
    assert refused.status_code == 400 and translated(
        app, LOCALE, "This password is among the most common ones; choose another."
    ) in refused.get_data(as_text=True)
    done = client.post(path, data={"password": NEW, "confirm": NEW})
    assert done.status_code == 302
    with as_tenant(app, shops[0]):
        user = db.session.query(User).filter_by(email="ann@a.example").one()
        assert user.check_password(NEW) and user.email_verified_at is not None
    # Replayed: refused, nothing changed.
    assert app.test_client().post(path, data={"password": "another good one",
                                              "confirm": "another good one"}).status_code == 400
    assert login(app.test_client(), "shop-a", "ann@a.example", NEW).status_code == 302
    # The session opened before the reset has ended.
    answer = old_session.get("/s/shop-a/account/addresses")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_same_answer_whether_account_exists(app, shops):
    known = _ask_reset(app, "shop-a", "ann@a.example").get_data(as_text=True)
    unknown = _ask_reset(app, "shop-a", "nobody@a.example").get_data(as_text=True)
    assert known == unknown
    assert links(app, "nobody@a.example") == []


def test_bad_email_on_forgot_form(app, shops):
    answer = _ask_reset(app, "shop-a", "not an address")
    assert answer.status_code == 400 and translated(
        app, LOCALE, "Enter the e-mail address of your account.") in answer.get_data(True)


def test_expired_tampered_and_other_tenant_tokens(app, shops):
    start = datetime.now(UTC)
    with mock.patch.object(clock, "now", lambda: start):
        _ask_reset(app, "shop-a", "ann@a.example")
    (link,) = links(app, "ann@a.example")
    path = _path(link)
    client = app.test_client()
    with mock.patch.object(clock, "now", lambda: start + timedelta(minutes=61)):
        answer = client.post(path, data={"password": NEW, "confirm": NEW})
        assert answer.status_code == 400 and translated(
            app, LOCALE, "This link has expired. Ask for a new one.") in answer.get_data(True)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert client.post(tampered, data={"password": NEW, "confirm": NEW}).status_code == 400
    other = path.replace("/s/shop-a/", "/s/shop-b/")
    answer = client.post(other, data={"password": NEW, "confirm": NEW})
    assert answer.status_code == 400 and translated(
        app, LOCALE, "This link is not valid for this shop.") in answer.get_data(True)
    with as_tenant(app, shops[0]):
        assert db.session.query(User).filter_by(email="ann@a.example").one() \
            .check_password(PASSWORD)


def test_invitation_sets_password_and_verifies(app, shops):
    a, b = shops
    with app.app_context(), shop_context(find_tenant("shop-a")):
        user = invite_user(email="New@A.example", name="Nina New", role="staff",
                           invited_by="admin@a.example")
        db.session.commit()
        assert user.email == "new@a.example" and not user.check_password("")
        with pytest.raises(AccountError) as exc:
            invite_user(email="new@a.example", name="Again", role="staff", invited_by="x")
        assert exc.value.field == "email" and "new@a.example" in exc.value.message
        with pytest.raises(AccountError) as exc:
            invite_user(email="c@a.example", name="C", role="buyer", invited_by="x")
        assert exc.value.field == "company"
        with pytest.raises(AccountError) as exc:
            invite_user(email="bad", name="C", role="staff", invited_by="x")
        assert exc.value.field == "email"
        with pytest.raises(AccountError) as exc:
            invite_user(email="d@a.example", name="D", role="king", invited_by="x")
        assert exc.value.field == "role"
    with as_tenant(app, a):
        assert db.session.query(User).filter(User.email.in_(
            ["c@a.example", "d@a.example"])).count() == 0
    (link,) = links(app, "new@a.example")
    assert "/s/shop-a/password/set/" in link
    client = app.test_client()
    assert client.post(_path(link), data={"password": NEW, "confirm": "different one"}
                       ).status_code == 400
    assert client.post(_path(link), data={"password": NEW, "confirm": NEW}).status_code == 302
    assert client.get("/s/shop-a/staff/").status_code == 200  # logged in as staff
    with as_tenant(app, a):
        assert db.session.query(User).filter_by(email="new@a.example").one() \
            .email_verified_at is not None
    # The second shop knows nothing of it.
    with as_tenant(app, b):
        assert db.session.query(User).filter_by(email="new@a.example").count() == 0


def test_email_verification(app, shops):
    a, _b = shops
    with app.app_context(), shop_context(find_tenant("shop-a")):
        send_verification(db.session.query(User).filter_by(email="ann@a.example").one())
    (link,) = links(app, "ann@a.example")
    client = app.test_client()
    assert client.get(_path(link).replace("/s/shop-a/", "/s/shop-b/")).status_code == 400
    assert client.get(_path(link) + "x").status_code == 400
    assert client.get(_path(link)).status_code == 302
    with as_tenant(app, a):
        assert db.session.query(User).filter_by(email="ann@a.example").one() \
            .email_verified_at is not None


def test_unverified_banner_sends_the_link_again_and_goes_away(app, shops):
    """A logged-in customer whose address is not verified sees why on every page of the
    shop, can ask for the link again (throttled), and the banner goes once it is followed."""
    a, _b = shops
    banner = translated(app, LOCALE, "Please confirm your e-mail address %(email)s with the "
                        "link we sent you.", email="ann@a.example")
    client = app.test_client()
    assert login(client, "shop-a", "ann@a.example").status_code == 302
    assert banner in client.get("/s/shop-a/cart").get_data(as_text=True)
    # Bob, of the other shop, logged in there, sees his own banner and nothing of Ann.
    bob = app.test_client()
    login(bob, "shop-b", "bob@b.example")
    page_b = bob.get("/s/shop-b/cart").get_data(as_text=True)
    assert "ann@a.example" not in page_b and "bob@b.example" in page_b

    sent = client.post("/s/shop-a/email/verify", data={"next": "/s/shop-a/cart"})
    assert sent.status_code == 303 and sent.headers["Location"].endswith("/s/shop-a/cart")
    (link,) = links(app, "ann@a.example")
    assert links(app, "bob@b.example") == []
    # An address of another site is not followed back.
    away = client.post("/s/shop-a/email/verify", data={"next": "https://evil.example/"})
    assert "evil.example" not in away.headers["Location"]
    for _ in range(5):
        client.post("/s/shop-a/email/verify", data={"next": "/s/shop-a/cart"})
    assert len(links(app, "ann@a.example")) == 5  # RESET_MAIL_LIMIT: 5 per hour
    refused = client.get("/s/shop-a/cart").get_data(as_text=True)
    assert translated(app, LOCALE, "We already sent several links this hour; please look in "
                      "your mailbox (and its spam folder) or try again later.") in refused

    assert client.get(_path(link)).status_code == 302
    assert banner not in client.get("/s/shop-a/cart").get_data(as_text=True)
    with as_tenant(app, a):
        assert db.session.query(User).filter_by(email="ann@a.example").one() \
            .email_verified_at is not None
    # Anonymous visitors get no banner and cannot ask for links.
    anonymous = app.test_client()
    assert "verify-banner" not in anonymous.get("/s/shop-a/cart").get_data(as_text=True)
    assert anonymous.post("/s/shop-a/email/verify").status_code == 302  # to the login page
    assert len(links(app, "ann@a.example")) == 5


def test_cli_users_create(app, shops):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "shop-a", "Boss@A.example",
                                 "--role", "tenant_admin", "--name", "Bea Boss"])
    assert result.exit_code == 0, result.output
    assert "/s/shop-a/password/set/" in result.output
    assert links(app, "boss@a.example")
    again = runner.invoke(args=["users", "create", "shop-a", "boss@a.example",
                                "--role", "staff", "--name", "Bea"])
    assert again.exit_code != 0 and catalogue_text(
        app, shops[0].locale, "An account with the e-mail %(email)s already exists in this "
        "shop.", email="boss@a.example") in again.output
    unknown = runner.invoke(args=["users", "create", "nowhere", "x@y.example",
                                  "--role", "staff", "--name", "X"])
    assert unknown.exit_code != 0 and "no tenant" in unknown.output
    with as_tenant(app, shops[1]):
        assert db.session.query(User).filter_by(email="boss@a.example").count() == 0


def test_registration_after_order_applies_the_policy(app, shops):
    from comptoir.orders.service import CheckoutError, register_after_order

    class Order:
        user_id = None
        email = "guest@a.example"

    with as_tenant(app, shops[0]), app.test_request_context():
        with pytest.raises(CheckoutError) as exc:
            register_after_order(Order(), "Guest", "password")
        assert exc.value.field == "password" and "most common" in exc.value.problem
        with pytest.raises(CheckoutError) as exc:
            register_after_order(Order(), "Guest", "short")
        assert "at least 8" in exc.value.problem
        assert db.session.query(User).filter_by(email="guest@a.example").count() == 0
