from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from comptoir.accounts import clock, throttle
from comptoir.core.db import db
from comptoir.customers.models import User
from tests.accounts.conftest import LOCALE, add_user, login, translated_plural
from tests.conftest import as_tenant, translated


def test_account_throttled_after_failures_and_password_not_checked(app, shops):
    client = app.test_client()
    for _ in range(3):
        assert login(client, "shop-a", "ann@a.example", "wrong one!").status_code == 400
    with mock.patch("comptoir.customers.models.User.check_password") as check:
        answer = login(client, "shop-a", "ann@a.example")  # right password, still refused
        assert answer.status_code == 429
        check.assert_not_called()
    wait = int(answer.headers["Retry-After"])
    assert wait > 0
    minutes = max(1, -(-wait // 60))
    assert translated_plural(app, LOCALE, "Too many failed logins. Try again in %(num)d minute.",
                             "Too many failed logins. Try again in %(num)d minutes.",
                             minutes) in answer.get_data(as_text=True)
    # Another account of the same shop, and the same e-mail at another shop, are not locked.
    add_user(app, shops[0], "zoe@a.example")
    assert login(client, "shop-a", "zoe@a.example").status_code == 302
    add_user(app, shops[1], "ann@a.example")
    assert login(app.test_client(), "shop-b", "ann@a.example").status_code == 302


def test_ip_throttled_across_accounts(app, shops):
    client = app.test_client()
    for n in range(6):  # 2 failures each on 3 accounts: no account limit reached
        assert login(client, "shop-a", f"nobody{n % 3}@a.example", "wrong one!").status_code == 400
    assert login(client, "shop-a", "ann@a.example").status_code == 429
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert login(other, "shop-a", "ann@a.example").status_code == 302


@pytest.mark.parametrize("proxies", [0, 1])
def test_per_address_counts_behind_a_proxy(app_factory, make_tenant, proxies):
    """Behind a proxy, clients are told apart by the address the proxy appended; without a
    configured proxy, a forged X-Forwarded-For does not help an attacker dodge the limit."""
    from tests.accounts.conftest import CHEAP

    app = app_factory(PASSWORD_HASH_PARAMETERS=CHEAP, LOGIN_LIMIT_PER_ACCOUNT="3 per hour",
                      LOGIN_LIMIT_PER_IP="6 per hour", PROXIES=proxies)
    shop = make_tenant("shop-a", name="Shop A")
    add_user(app, shop, "ann@a.example")
    proxy = {"REMOTE_ADDR": "10.0.0.2"}

    def attempt(client_address, email, password="wrong one!"):
        client = app.test_client()
        client.environ_base.update(proxy)
        return client.post("/s/shop-a/login", data={"email": email, "password": password},
                           headers={"X-Forwarded-For": client_address})

    for n in range(6):  # six failures, each "from" another address, on three accounts
        assert attempt(f"198.51.100.{n}", f"nobody{n % 3}@a.example").status_code == 400
    from tests.accounts.conftest import PASSWORD

    fresh = attempt("203.0.113.9", "ann@a.example", PASSWORD)
    # With a trusted proxy, the seventh client is new and logs in; without one every request
    # is the proxy's, whose share is spent.
    assert fresh.status_code == (302 if proxies else 429)


def test_success_clears_the_account_count(app, shops):
    client = app.test_client()
    for _ in range(2):
        login(client, "shop-a", "ann@a.example", "wrong one!")
    assert login(client, "shop-a", "ann@a.example").status_code == 302
    client = app.test_client()
    for _ in range(2):
        assert login(client, "shop-a", "ann@a.example", "wrong one!").status_code == 400
    assert login(client, "shop-a", "ann@a.example").status_code == 302


def test_throttled_page_in_french(app, make_tenant):
    fr = make_tenant("fr", name="Comptoir France", plugins=["locale_fr"])
    add_user(app, fr, "ann@fr.example")
    client = app.test_client()
    for _ in range(3):
        login(client, "fr", "ann@fr.example", "wrong one!")
    page = login(client, "fr", "ann@fr.example").get_data(as_text=True)
    assert translated(app, "fr_FR", "Too many attempts") in page


def test_account_limit_above_100_per_hour_is_refused(app_factory):
    with pytest.raises(ValueError, match="LOGIN_LIMIT_PER_ACCOUNT"):
        app_factory(LOGIN_LIMIT_PER_ACCOUNT="30 per 15 minutes")
    with pytest.raises(ValueError, match="LOGIN_LIMIT_PER_ACCOUNT"):
        app_factory(LOGIN_LIMIT_PER_ACCOUNT="lots")
    assert throttle.MAX_ACCOUNT_FAILURES_PER_HOUR == 100


def test_inactive_user_told_only_after_right_password(app, shops):
    add_user(app, shops[0], "gone@a.example", active=False)
    client = app.test_client()
    disabled = translated(app, LOCALE, "This account is disabled.")
    wrong = login(client, "shop-a", "gone@a.example", "wrong one!")
    assert wrong.status_code == 400 and disabled not in wrong.get_data(as_text=True)
    right = login(client, "shop-a", "gone@a.example")
    assert right.status_code == 403 and disabled in right.get_data(as_text=True)
    assert client.get("/s/shop-a/account/addresses").status_code == 302  # not logged in


def test_deactivated_user_session_ends(app, shops):
    client = app.test_client()
    assert login(client, "shop-a", "ann@a.example").status_code == 302
    with as_tenant(app, shops[0]):
        db.session.query(User).filter_by(email="ann@a.example").one().active = False
        db.session.commit()
    page = client.get("/s/shop-a/", follow_redirects=True).get_data(as_text=True)
    assert translated(app, LOCALE, "This account is disabled.") in page


def _at(moment):
    return mock.patch.object(clock, "now", lambda: moment)


def test_staff_idle_timeout(app, shops):
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    client = app.test_client()
    with _at(start):
        assert login(client, "shop-a", "sam@a.example").status_code == 302
    with _at(start + timedelta(minutes=29)):
        assert client.get("/s/shop-a/staff/").status_code == 200
    with _at(start + timedelta(minutes=29 + 31)):
        answer = client.get("/s/shop-a/staff/")
        assert answer.status_code == 302 and "/login" in answer.headers["Location"]
        page = client.get(answer.headers["Location"]).get_data(as_text=True)
        assert translated(app, LOCALE, "Your session expired after a period of inactivity. "
                          "Please log in again.") in page


def test_staff_absolute_lifetime(app, shops):
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    client = app.test_client()
    with _at(start):
        login(client, "shop-a", "sam@a.example")
    for minutes in range(20, 12 * 60, 20):  # active all day long
        with _at(start + timedelta(minutes=minutes)):
            assert client.get("/s/shop-a/staff/").status_code == 200
    with _at(start + timedelta(hours=12, minutes=1)):
        answer = client.get("/s/shop-a/staff/")
        assert answer.status_code == 302
        page = client.get(answer.headers["Location"]).get_data(as_text=True)
        assert translated(app, LOCALE, "Your session reached its maximum duration. Please log "
                          "in again.") in page


def test_customers_have_no_staff_timeout(app, shops):
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    client = app.test_client()
    with _at(start):
        login(client, "shop-a", "ann@a.example")
    with _at(start + timedelta(hours=13)):
        answer = client.get("/s/shop-a/account/addresses")
        assert not (answer.status_code == 302 and "/login" in answer.headers["Location"])


def test_cookie_flags(app_factory, make_tenant):
    app = app_factory(PUBLIC_URL="https://shop.example")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app_factory().config["SESSION_COOKIE_SECURE"] is False  # http PUBLIC_URL
    assert app_factory(SECURE_COOKIES="false", PUBLIC_URL="https://x.example"
                       ).config["SESSION_COOKIE_SECURE"] is False
