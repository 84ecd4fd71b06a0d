"""Callback tasks for the help desk: asked for (by staff or a plugin, once per key), listed
oldest first, closed once with what the customer said; a reseller's help desk sees its own
customers' callbacks, and no shop sees another's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale, format_timedelta
from markupsafe import escape
from sqlalchemy import func, select, update

from comptoir.callbacks import service
from comptoir.callbacks.models import CANCELLED, DONE, OPEN, CallbackTask
from comptoir.core.db import db
from comptoir.customers.models import User
from comptoir.toolkit import request_callback
from tests.conftest import as_tenant, translated
from tests.orders.conftest import log_in, staff_client

PRINTER = [{"sku": "PRINTER", "name": "Imprimante laser couleur"}]


@pytest.fixture
def shops(app, make_tenant):
    fr = make_tenant("fr", name="Comptoir France", plugins=["locale_fr"])
    acme = make_tenant("acme", name="ACME Informatique", parent="fr")
    de = make_tenant("de", name="Comptoir Deutschland", country="DE", locale="de_DE")
    return fr, acme, de


def ask(app, tenant, **overrides):
    """A task through the toolkit, as a plugin asks for one; returns its id (or None)."""
    values = {"user_id": None, "name": "Léa Martin", "email": "lea@example.org",
              "phone": "+33 6 12 34 56 78", "reason": "browse_abandonment", "about": PRINTER,
              **overrides}
    with as_tenant(app, tenant):
        task = request_callback(**values)
        return task.id if task is not None else None


def tasks(app, tenant):
    with as_tenant(app, tenant):
        rows = db.session.scalars(select(CallbackTask).order_by(CallbackTask.id)).all()
        return [(t.name, t.status, t.outcome, t.done_by) for t in rows]


def count(app, tenant) -> int:
    with as_tenant(app, tenant):
        return db.session.scalar(select(func.count(CallbackTask.id)))


def page(client, slug="fr", path=""):
    response = client.get(f"/s/{slug}/staff/callbacks/{path}")
    return response.status_code, response.get_data(as_text=True)


# --- the service -----------------------------------------------------------------------------


def test_a_dedupe_key_makes_a_second_request_a_no_op(app, shops):
    fr, _acme, de = shops
    first = ask(app, fr, dedupe_key="views:7:2026-11-23")
    assert first is not None
    assert ask(app, fr, dedupe_key="views:7:2026-11-23", name="Someone else") is None
    assert tasks(app, fr) == [("Léa Martin", OPEN, "", "")]
    # Keys are per shop: the same key elsewhere is another task.
    assert ask(app, de, dedupe_key="views:7:2026-11-23") is not None


def test_losing_the_race_for_a_key_keeps_the_callers_work(app, shops, monkeypatch):
    fr, _acme, _de = shops
    ask(app, fr, dedupe_key="views:1:2026-11-23")
    # As if another worker committed the key between our check and our INSERT.
    monkeypatch.setattr(service, "_by_key", lambda key: None)
    with as_tenant(app, fr):
        user = User(email="other@example.org", name="Other", role="customer")
        user.set_password("password-1")
        db.session.add(user)
        assert request_callback(user_id=None, name="X", email="x@example.org", phone="",
                                reason="browse_abandonment", about=[],
                                dedupe_key="views:1:2026-11-23") is None
        db.session.commit()
        assert db.session.scalar(select(func.count(User.id)).where(
            User.email == "other@example.org")) == 1
    assert count(app, fr) == 1


@pytest.mark.parametrize(("overrides", "field"), [
    ({"reason": ""}, "Reason"),
    ({"phone": "", "email": ""}, "phone number or an e-mail"),
    ({"phone": "call me maybe"}, "Phone"),
    ({"email": "not-an-address"}, "not-an-address"),
    ({"name": "x" * 201}, "Name"),
    ({"name": "Léa\nMartin"}, "Name"),
    ({"note": "x" * 2001}, "Note"),
    ({"about": [{"sku": "A"}] * 21}, "Products"),
    ({"about": "PRINTER"}, "Products"),
])
def test_bad_requests_say_what_is_wrong_and_store_nothing(app, shops, overrides, field):
    fr, _acme, _de = shops
    with pytest.raises(ValueError, match=field):
        ask(app, fr, **overrides)
    assert count(app, fr) == 0


def test_an_outcome_is_recorded_once(app, shops):
    fr, _acme, _de = shops
    task_id = ask(app, fr)
    with as_tenant(app, fr):
        task = service.get(task_id)
        with pytest.raises(ValueError, match="Outcome"):
            service.record_outcome(task, "   ", "desk@fr.example")
        with pytest.raises(ValueError, match="2000"):
            service.record_outcome(task, "x" * 2001, "desk@fr.example")
        assert service.get(task_id).status == OPEN
        service.record_outcome(task, "Wanted a colour printer", "desk@fr.example")
        assert (task.status, task.done_by) == (DONE, "desk@fr.example")
        assert task.done_at is not None
        with pytest.raises(ValueError, match="closed already"):
            service.record_outcome(task, "Called again", "other@fr.example")
        with pytest.raises(ValueError, match="closed already"):
            service.cancel(task, "other@fr.example")
    assert tasks(app, fr) == [("Léa Martin", DONE, "Wanted a colour printer",
                               "desk@fr.example")]


def test_open_tasks_oldest_first_and_cancelled_ones_leave_the_list(app, shops):
    fr, _acme, _de = shops
    recent, old, dropped = ask(app, fr, name="Recent"), ask(app, fr, name="Old"), \
        ask(app, fr, name="Dropped")
    with as_tenant(app, fr):
        db.session.execute(update(CallbackTask).where(CallbackTask.id == old).values(
            created_at=datetime.now(UTC) - timedelta(days=2)))
        db.session.commit()
        service.cancel(service.get(dropped), "desk@fr.example", "ordered meanwhile")
        assert [t.id for t in service.open_tasks()] == [old, recent]
        assert [(t.id, t.status) for t in service.closed_tasks()] == [(dropped, CANCELLED)]


# --- the staff page --------------------------------------------------------------------------


def test_the_help_desk_sees_who_to_call_and_records_the_outcome(app, shops):
    fr, _acme, _de = shops
    task_id = ask(app, fr)
    with as_tenant(app, fr):
        db.session.execute(update(CallbackTask).values(
            created_at=datetime.now(UTC) - timedelta(hours=3)))
        db.session.commit()
    desk = staff_client(app, fr, "desk@fr.example")
    status, html = page(desk)
    assert status == 200
    row = html.split(f'id="callback-{task_id}"')[1].split("</tr>")[0]
    for shown in ("Léa Martin", "+33 6 12 34 56 78", "lea@example.org",
                  "Imprimante laser couleur", "PRINTER"):
        assert str(escape(shown)) in row
    assert translated(app, "fr_FR", "Looked at products without buying") in row
    with app.test_request_context(), force_locale("fr_FR"):
        waited = format_timedelta(timedelta(hours=3), threshold=0.9)
    assert waited in row  # how long the customer has waited, in the page's language
    status, html = page(desk, path=str(task_id))
    assert status == 200 and "tel:+33612345678" in html

    done = desk.post(f"/s/fr/staff/callbacks/{task_id}/outcome",
                     data={"outcome": "Wanted a colour printer, A3"})
    assert done.status_code == 303
    status, html = page(desk)
    closed = html.split(f'id="callback-{task_id}"')[1].split("</tr>")[0]
    assert "Wanted a colour printer, A3" in closed and "desk@fr.example" in closed
    assert translated(app, "fr_FR", "Nobody to call back.") in html

    again = desk.post(f"/s/fr/staff/callbacks/{task_id}/outcome",
                      data={"outcome": "Something else"})
    assert again.status_code == 400
    assert translated(app, "fr_FR", "This callback is closed already (%(by)s).",
                      by="done, desk@fr.example") in again.get_data(as_text=True)
    assert tasks(app, fr)[0][2] == "Wanted a colour printer, A3"


def test_an_empty_outcome_is_refused_and_the_task_stays_open(app, shops):
    fr, _acme, _de = shops
    task_id = ask(app, fr)
    desk = staff_client(app, fr, "desk@fr.example")
    refused = desk.post(f"/s/fr/staff/callbacks/{task_id}/outcome", data={"outcome": " "})
    assert refused.status_code == 400
    assert translated(app, "fr_FR", "Outcome: say what came of the call.") in \
        refused.get_data(as_text=True)
    assert tasks(app, fr)[0][1] == OPEN


def test_staff_add_a_callback_by_hand(app, shops):
    fr, _acme, _de = shops
    with as_tenant(app, fr):
        user = User(email="paul@example.org", name="Paul Durand", role="customer")
        user.set_password("password-1")
        db.session.add(user)
        db.session.commit()
        user_id = user.id
    desk = staff_client(app, fr, "desk@fr.example")
    made = desk.post("/s/fr/staff/callbacks/", data={
        "name": "Paul Durand", "email": "Paul@example.org", "phone": "04 72 00 00 00",
        "note": "Asked about toner prices"})
    assert made.status_code == 303
    with as_tenant(app, fr):
        task = db.session.scalars(select(CallbackTask)).one()
        assert (task.user_id, task.email, task.reason, task.created_by, task.note) == (
            user_id, "paul@example.org", "staff", "desk@fr.example", "Asked about toner prices")
    refused = desk.post("/s/fr/staff/callbacks/", data={"name": "Nobody", "email": "",
                                                        "phone": ""})
    assert refused.status_code == 400
    assert translated(app, "fr_FR", "Give a phone number or an e-mail address to reach the "
                                    "customer.") in refused.get_data(as_text=True)
    assert count(app, fr) == 1


def test_only_staff_reach_the_page(app, shops):
    fr, _acme, _de = shops
    task_id = ask(app, fr)
    visitor = app.test_client()
    assert visitor.get("/s/fr/staff/callbacks/").status_code == 302
    with as_tenant(app, fr):
        user = User(email="lea@example.org", name="Léa", role="customer")
        user.set_password("password-1")
        db.session.add(user)
        db.session.commit()
    customer = app.test_client()
    log_in(customer, slug="fr", email="lea@example.org")
    assert customer.get("/s/fr/staff/callbacks/").status_code == 403
    assert customer.post(f"/s/fr/staff/callbacks/{task_id}/outcome",
                         data={"outcome": "x"}).status_code == 403
    assert tasks(app, fr)[0][1] == OPEN


def test_a_resellers_help_desk_sees_its_own_customers_and_no_shop_sees_anothers(app, shops):
    fr, acme, de = shops
    theirs = ask(app, acme, name="Client ACME")
    ours = ask(app, fr, name="Client France")
    acme_desk = staff_client(app, acme, "desk@acme.example")
    status, html = page(acme_desk, slug="acme")
    assert status == 200 and "Client ACME" in html and "Client France" not in html
    assert acme_desk.post(f"/s/acme/staff/callbacks/{theirs}/outcome",
                          data={"outcome": "Will order next week"}).status_code == 303
    _status, html = page(acme_desk, slug="acme")
    assert "Will order next week" in html

    fr_desk = staff_client(app, fr, "desk@fr.example")
    _status, html = page(fr_desk)
    assert "Client France" in html and "Client ACME" not in html
    assert page(fr_desk, path=str(theirs))[0] == 404
    assert fr_desk.post(f"/s/fr/staff/callbacks/{theirs}/outcome",
                        data={"outcome": "hijacked"}).status_code == 404
    assert fr_desk.post(f"/s/fr/staff/callbacks/{theirs}/cancel").status_code == 404

    de_desk = staff_client(app, de, "desk@de.example")
    _status, html = page(de_desk, slug="de")
    assert "Client" not in html
    assert page(de_desk, slug="de", path=str(ours))[0] == 404
    assert tasks(app, acme) == [("Client ACME", DONE, "Will order next week",
                                 "desk@acme.example")]
    assert tasks(app, fr)[0][1] == OPEN


def test_the_staff_dashboard_links_to_the_callbacks(app, shops):
    fr, _acme, _de = shops
    desk = staff_client(app, fr, "desk@fr.example")
    assert "/s/fr/staff/callbacks/" in desk.get("/s/fr/staff/").get_data(as_text=True)
