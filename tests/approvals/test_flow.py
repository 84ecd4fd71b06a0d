"""An order above the buyer's ceiling waits for the lowest approver whose ceiling covers it,
who is e-mailed, logs in, and decides; the order is placed, or cancelled, exactly once."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select

from comptoir.core.db import db
from comptoir.orders.models import Order, OrderEvent
from plugins.approvals.models import Event, Member, Request
from tests.approvals.conftest import log_in, order
from tests.conftest import as_tenant


def _orders(app, tenant):
    with as_tenant(app, tenant):
        return [(o.number, o.status, o.total_net)
                for o in db.session.scalars(select(Order).order_by(Order.id))]


def _request(app, tenant):
    with as_tenant(app, tenant):
        found = db.session.scalars(select(Request)).one()
        db.session.expunge(found)
        return found


def _link(message):
    return re.search(r"https?://\S+/approvals/\d+", message.get_content()).group(0)


def test_an_order_above_the_ceiling_waits_and_the_director_approves_it(app, shop,
                                                                     smtp_server):
    _fr, acme, _other = shop
    buyer = app.test_client()
    log_in(buyer, "buyer@durand.example")
    assert order(buyer, "SERVER", 2).status_code == 303  # 25,000.00 excluding VAT
    assert _orders(app, acme) == [(1, "pending_approval", Decimal("25000.00"))]
    # 25,000 is above the supervisor's 20,000: the director (level 3) decides.
    (mail,) = smtp_server.messages
    assert mail["To"] == "boss@durand.example"
    link = _link(mail)
    path = link.split("localhost", 1)[1]

    director = app.test_client()
    first = director.get(path)
    assert first.status_code == 302 and "/login" in first.location  # log in, then decide
    log_in(director, "boss@durand.example")
    page = director.get(path).get_data(as_text=True)
    assert "Marc" in page and "25" in page
    decided = director.post(path, data={"decision": "approve"})
    assert decided.status_code == 303
    assert _orders(app, acme) == [(1, "placed", Decimal("25000.00"))]
    assert smtp_server.messages[-1]["To"] == "buyer@durand.example"
    # Approving again changes nothing: the request was decided.
    again = director.post(path, data={"decision": "approve"})
    assert again.status_code == 400
    with as_tenant(app, acme):
        placed = db.session.scalars(select(OrderEvent).where(
            OrderEvent.to_status == "placed")).all()
        assert len(placed) == 1  # placed exactly once, by the approval
        actions = [e.action for e in db.session.scalars(select(Event).order_by(Event.id))]
        assert actions == ["submitted", "approved"]


def test_an_order_nobody_may_approve_is_refused_with_the_reason(app, shop, smtp_server):
    _fr, acme, _other = shop
    buyer = app.test_client()
    log_in(buyer, "buyer@durand.example")
    refused = order(buyer, "RACK", 2)  # 600,000.00: above the director's 500,000
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "600" in page and "500" in page
    assert _orders(app, acme) == [] and smtp_server.messages == []


def test_an_order_within_the_ceiling_is_placed_at_once(app, shop, smtp_server):
    _fr, acme, _other = shop
    chef = app.test_client()
    log_in(chef, "chef@durand.example")
    assert order(chef, "SERVER", 1).status_code == 303  # 12,500 within 20,000
    assert _orders(app, acme) == [(1, "placed", Decimal("12500.00"))]
    assert smtp_server.messages == []


def _held(app, acme):
    buyer = app.test_client()
    log_in(buyer, "buyer@durand.example")
    assert order(buyer, "SERVER", 2).status_code == 303
    return buyer, f"/s/acme/approvals/{_request(app, acme).id}"


def test_a_rejection_needs_a_reason_then_cancels_the_order(app, shop, smtp_server):
    _fr, acme, _other = shop
    _buyer, path = _held(app, acme)
    director = app.test_client()
    log_in(director, "boss@durand.example")
    no_reason = director.post(path, data={"decision": "reject", "reason": " "})
    assert no_reason.status_code == 400
    assert _orders(app, acme)[0][1] == "pending_approval"
    assert director.post(path, data={"decision": "reject",
                                     "reason": "Budget gelé"}).status_code == 303
    assert _orders(app, acme)[0][1] == "cancelled"
    told = smtp_server.messages[-1]
    assert told["To"] == "buyer@durand.example" and "Budget gelé" in told.get_content()


def test_nobody_else_decides_and_other_companies_and_tenants_see_nothing(app, shop):
    _fr, acme, other = shop
    buyer, path = _held(app, acme)
    # The requester sees the request but may not approve their own order.
    assert buyer.get(path).status_code == 200
    assert buyer.post(path, data={"decision": "approve"}).status_code == 400
    # The supervisor is not the approver of 25,000: not theirs to see.
    chef = app.test_client()
    log_in(chef, "chef@durand.example")
    assert chef.get(path).status_code == 404
    assert chef.post(path, data={"decision": "approve"}).status_code == 404
    rival = app.test_client()
    log_in(rival, "rival@rival.example")
    assert rival.get(path).status_code == 404
    director = app.test_client()
    log_in(director, "boss@durand.example")
    assert director.get(path.replace("/s/acme/", "/s/other/")).status_code in (302, 404)
    assert _orders(app, acme)[0][1] == "pending_approval"
    assert _orders(app, other) == []


def test_a_deputy_decides_while_the_delegation_runs(app, shop, smtp_server):
    from datetime import date, timedelta

    _fr, acme, _other = shop
    with as_tenant(app, acme):
        members = {m.ceiling: m for m in db.session.scalars(select(Member))}
        director, chef = members[Decimal("500000")], members[Decimal("20000")]
        director.deputy, director.deputy_until = chef.user_id, date.today() + timedelta(days=7)
        db.session.commit()
    _buyer, path = _held(app, acme)
    assert smtp_server.messages[-1]["To"] == "chef@durand.example"
    deputy = app.test_client()
    log_in(deputy, "chef@durand.example")
    assert deputy.post(path, data={"decision": "approve"}).status_code == 303
    assert _orders(app, acme)[0][1] == "placed"


def test_the_decision_page_speaks_french(app, shop):
    _fr, acme, _other = shop
    _buyer, path = _held(app, acme)
    director = app.test_client()
    log_in(director, "boss@durand.example")
    page = director.get(path).get_data(as_text=True)
    from flask_babel import force_locale

    from plugins.approvals.views import domain

    with app.test_request_context(), force_locale("fr_FR"):
        french = domain.gettext("Send back for change")
    assert french != "Send back for change"  # the plugin's own catalogue has it
    assert french in page and 'lang="fr-FR"' in page


def test_in_a_sequential_chain_each_level_approves_in_turn(app, shop, smtp_server):
    from plugins.approvals.chain import set_sequential

    _fr, acme, _other = shop
    with as_tenant(app, acme):
        set_sequential(db.session.scalars(select(Member.company_id)).first(), True)
        db.session.commit()
    _buyer, path = _held(app, acme)
    # The supervisor (level 2, 20,000) is asked first, approves at their level...
    assert smtp_server.messages[-1]["To"] == "chef@durand.example"
    chef = app.test_client()
    log_in(chef, "chef@durand.example")
    assert chef.post(path, data={"decision": "approve"}).status_code == 303
    assert _orders(app, acme)[0][1] == "pending_approval"
    # ...then the director (level 3, 500,000), whose approval places the order.
    assert smtp_server.messages[-1]["To"] == "boss@durand.example"
    assert chef.post(path, data={"decision": "approve"}).status_code == 404  # no longer theirs
    director = app.test_client()
    log_in(director, "boss@durand.example")
    assert director.post(path, data={"decision": "approve"}).status_code == 303
    assert _orders(app, acme)[0][1] == "placed"
    with as_tenant(app, acme):
        actions = [e.action for e in db.session.scalars(select(Event).order_by(Event.id))]
    assert actions == ["submitted", "endorsed", "approved"]
