"""`comptoir approvals remind`: the decider of a request still waiting after the shop's
`reminder_hours` is e-mailed once per period, with a link to the decision page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from comptoir.core.db import db
from plugins.approvals.models import Event, Request
from tests.approvals.support import (
    actions,
    client_as,
    french,
    held_order,
    set_member,
    shop_today,
)
from tests.conftest import as_tenant


@pytest.fixture
def remind(app):
    runner = app.test_cli_runner()

    def run(*args: str):
        result = runner.invoke(args=["approvals", "remind", *args])
        assert result.exit_code == 0, result.output
        return result.output

    return run


def _age(app, acme, hours: float, column: str = "created_at") -> None:
    """Pretend the request was created (or last reminded) ``hours`` ago."""
    with as_tenant(app, acme):
        db.session.execute(update(Request).values(
            {column: datetime.now(UTC) - timedelta(hours=hours)}))
        db.session.commit()


def test_a_waiting_request_is_reminded_once_per_period(app, shop, smtp_server, remind):
    _fr, acme, _other = shop
    _buyer, request_id = held_order(app, acme)
    asked = len(smtp_server.messages)  # the director was asked at once
    assert remind() == "" and len(smtp_server.messages) == asked  # not 48 hours yet
    _age(app, acme, 49)
    assert remind() == "acme: 1 reminder(s) sent\n"
    reminder = smtp_server.messages[-1]
    assert reminder["To"] == "boss@durand.example"
    # Python's e-mail folding may double an ASCII space before an encoded word: compare
    # with single spaces (the amount's own no-break spaces stay as they are).
    assert re.sub(" +", " ", reminder["Subject"]) == french(
        app, "Reminder: order %(number)s still waits for your approval (%(amount)s)",
        escaped=False, number=1, amount="25\u202f000,00\u00a0€")
    assert f"http://127.0.0.1:5000/s/acme/approvals/{request_id}" in reminder.get_content()
    # Running it again within the period sends nothing.
    assert remind() == "" and len(smtp_server.messages) == asked + 1
    assert actions(app, acme) == ["submitted", "reminded"]
    # A period later, the decider is reminded again.
    _age(app, acme, 49, "reminded_at")
    assert remind() == "acme: 1 reminder(s) sent\n"
    assert len(smtp_server.messages) == asked + 2
    with as_tenant(app, acme):
        notes = [e.note for e in db.session.scalars(
            select(Event).where(Event.action == "reminded"))]
    assert notes == ["boss@durand.example"] * 2


def test_the_deputy_is_reminded_and_the_period_is_the_shops(app, shop, smtp_server, remind):
    _fr, acme, _other = shop
    runner = app.test_cli_runner()
    configured = runner.invoke(args=["plugins", "configure", "acme", "approvals",
                                     "reminder_hours=2"])
    assert configured.exit_code == 0, configured.output
    _buyer, request_id = held_order(app, acme)
    _age(app, acme, 1)
    assert remind() == ""
    with as_tenant(app, acme):
        from comptoir.customers.models import User

        chef = db.session.scalars(select(User.id).where(
            User.email == "chef@durand.example")).one()
    set_member(app, acme, "boss@durand.example", deputy=chef,
               deputy_until=shop_today(app, "acme") + timedelta(days=3))
    _age(app, acme, 3)
    assert remind("--base-url", "https://shops.example/") == "acme: 1 reminder(s) sent\n"
    assert smtp_server.messages[-1]["To"] == "chef@durand.example"
    assert f"https://shops.example/s/acme/approvals/{request_id}" \
        in smtp_server.messages[-1].get_content()


def test_decided_requests_and_other_tenants_are_left_alone(app, shop, smtp_server, remind,
                                                          make_tenant):
    _fr, acme, _other = shop
    make_tenant("sans", name="Sans approbations")  # plugin off: skipped
    _buyer, request_id = held_order(app, acme)
    boss_client = client_as(app, "boss@durand.example")
    assert boss_client.post(f"/s/acme/approvals/{request_id}",
                            data={"decision": "reject", "reason": "Non"}).status_code == 303
    sent = len(smtp_server.messages)
    _age(app, acme, 100)
    assert remind() == "" and len(smtp_server.messages) == sent
    assert "reminded" not in actions(app, acme)


def test_links_follow_how_the_shop_is_reached(app, make_tenant):
    from comptoir.tenants.resolution import directory
    from plugins.approvals.reminders import shop_base_url

    make_tenant("dom", name="Dom", plugins=["approvals"], domains=["shop.dom.example"])
    make_tenant("plain", name="Plain", plugins=["approvals"])
    with app.app_context():
        dom, plain = directory().by_slug("dom"), directory().by_slug("plain")
        fallback = "http://127.0.0.1:5000/"
        assert shop_base_url(dom, fallback) == "https://shop.dom.example/"
        assert shop_base_url(plain, fallback) == "http://127.0.0.1:5000/s/plain/"
        app.config["PLATFORM_DOMAIN"] = "comptoir.example"
        assert shop_base_url(plain, fallback) == "https://plain.comptoir.example/"
