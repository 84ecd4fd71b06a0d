"""Platform admins log in on the platform host only, with their own session and timeouts."""

from __future__ import annotations

import pytest

from comptoir.core.db import db
from comptoir.platform_admin import auth
from comptoir.platform_admin.models import PlatformAdmin
from tests.platform_admin.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, log_in


def test_login_opens_the_dashboard_and_logout_closes_it(app, platform_admin, clock):
    client = app.test_client()
    assert client.get("/platform/").status_code == 302  # to the login page
    response = log_in(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/platform/")
    page = client.get("/platform/")
    assert page.status_code == 200 and "Olivia Ops" in page.get_data(as_text=True)
    with app.app_context():
        admin = db.session.get(PlatformAdmin, platform_admin.id)
        assert admin.last_login_at is not None
    assert client.get("/platform/logout").status_code == 405  # log-out is a POST
    assert client.post("/platform/logout").status_code == 302
    assert client.get("/platform/").status_code == 302


def test_wrong_password_or_unknown_address_is_refused_alike(app, platform_admin, clock):
    client = app.test_client()
    wrong = log_in(client, password="not the password at all")
    unknown = log_in(client, email="nobody@platform.example")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong e-mail or password." in wrong.get_data(as_text=True)
    assert "Wrong e-mail or password." in unknown.get_data(as_text=True)
    assert client.get("/platform/").status_code == 302


def test_an_inactive_admin_cannot_log_in_and_is_logged_out(app, platform_admin, clock):
    client = app.test_client()
    assert log_in(client).status_code == 302
    with app.app_context():
        db.session.get(PlatformAdmin, platform_admin.id).active = False
        db.session.commit()
    assert client.get("/platform/").status_code == 302
    assert log_in(app.test_client()).status_code == 401


def test_login_rotates_the_session(app, platform_admin, clock):
    client = app.test_client()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker before the login"
    assert log_in(client).status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session[auth.SESSION_KEY]["id"] == platform_admin.id


def test_next_is_followed_only_inside_the_platform_console(app, platform_admin, clock):
    client = app.test_client()
    inside = client.post("/platform/login?next=/platform/tenants/new",
                         data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert inside.headers["Location"].endswith("/platform/tenants/new")
    outside = app.test_client().post("/platform/login?next=https://evil.example/",
                                     data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert outside.headers["Location"].endswith("/platform/")


def test_idle_timeout_after_thirty_minutes(app, platform_admin, clock):
    client = app.test_client()
    log_in(client)
    clock.advance(minutes=29)
    assert client.get("/platform/").status_code == 200  # activity restarts the idle clock
    clock.advance(minutes=29)
    assert client.get("/platform/").status_code == 200
    clock.advance(minutes=31)
    response = client.get("/platform/")
    assert response.status_code == 302 and "/platform/login" in response.headers["Location"]


def test_absolute_lifetime_of_twelve_hours_even_when_active(app, platform_admin, clock):
    client = app.test_client()
    log_in(client)
    for _ in range(11 * 3):  # a request every 20 minutes for 11 hours
        clock.advance(minutes=20)
        assert client.get("/platform/").status_code == 200
    clock.advance(minutes=61)  # still active, but 12 h 01 after the log-in
    assert client.get("/platform/").status_code == 302


def _reset_shared_limiter(app):
    """The accounts' Flask-Limiter (when the app has it) counts in real time; these tests
    move the platform's own clock, so its window is cleared where the row's is moved."""
    from comptoir.accounts import throttle

    limiter = app.extensions.get(throttle.EXTENSION)
    if limiter is not None:
        limiter.reset()


def test_ten_failures_lock_the_account_for_fifteen_minutes(app, platform_admin, clock):
    client = app.test_client()
    for _ in range(auth.MAX_FAILURES):
        assert log_in(client, password="wrong password again").status_code == 401
    locked = log_in(client)  # even the right password is not checked now
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.get_data(as_text=True)
    assert int(locked.headers["Retry-After"]) > 0
    assert client.get("/platform/").status_code == 302
    clock.advance(minutes=16)
    _reset_shared_limiter(app)
    assert log_in(client).status_code == 302
    with app.app_context():
        assert db.session.get(PlatformAdmin, platform_admin.id).failed_logins == 0


def test_another_account_is_not_locked_by_the_first(app, platform_admin, clock):
    with app.app_context():
        auth.create_admin("second@platform.example", "Sam Second", "a different passphrase")
        db.session.commit()
    client = app.test_client()
    for _ in range(auth.MAX_FAILURES):
        log_in(client, password="wrong password again")
    assert log_in(client).status_code == 429
    other = log_in(app.test_client(), email="second@platform.example",
                   password="a different passphrase")
    assert other.status_code == 302


@pytest.mark.parametrize("path", ["/platform/", "/platform/login", "/platform/tenants/new",
                                  "/platform/tenants/fr"])
def test_platform_pages_are_404_on_a_shops_path_and_hosts(app_factory, make_tenant, path):
    app = app_factory(PLATFORM_DOMAIN="comptoir.test")
    shop = make_tenant("fr", domains=("boutique.example.fr",))
    assert shop.slug == "fr"
    client = app.test_client()
    assert client.get(path, base_url="http://comptoir.test").status_code in (200, 302)
    assert client.get(path, base_url="http://fr.comptoir.test").status_code == 404
    assert client.get(path, base_url="http://boutique.example.fr").status_code == 404
    assert client.get("/s/fr" + path, base_url="http://comptoir.test").status_code == 404


def test_a_platform_session_is_no_shop_session(app, platform_admin, make_tenant, clock):
    make_tenant("fr")
    client = app.test_client()
    log_in(client)
    # The shop's staff pages do not know the platform admin.
    response = client.get("/s/fr/staff/")
    assert response.status_code in (302, 401, 403)
    assert "/login" in response.headers.get("Location", "/login")


def test_create_admin_refuses_bad_input(app):
    from comptoir.accounts.passwords import PasswordRefused

    with app.app_context():
        with pytest.raises(ValueError, match="email"):
            auth.create_admin("not-an-address", "Name", "a long enough passphrase")
        with pytest.raises(ValueError, match="name"):
            auth.create_admin("a@platform.example", "  ", "a long enough passphrase")
        with pytest.raises(PasswordRefused):
            auth.create_admin("a@platform.example", "Name", "password")
        auth.create_admin("a@platform.example", "Name", "a long enough passphrase")
        db.session.commit()
        with pytest.raises(ValueError, match="already"):
            auth.create_admin("A@platform.example", "Name", "a long enough passphrase")
        assert db.session.query(PlatformAdmin).count() == 1
