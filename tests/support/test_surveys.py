"""The satisfaction survey: mailed once per delivered order, some days after delivery; its
signed link works in its own shop only; answered once; a low score opens a follow-up ticket
in the desk's queue, a good one does not. The German office surveys its own orders only.

Time travels by writing the delivery's date in the past, never by sleeping.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.orders.models import Order, OrderEvent
from comptoir.toolkit import tenant_by_id
from plugins.support import surveys, tickets
from plugins.support.models import Survey
from tests.conftest import as_tenant
from tests.mailserver import free_port
from tests.support.conftest import (
    PUBLIC_URL,
    make_customer,
    make_order,
    set_support_settings,
)

LEA = "lea@example.fr"


def delivered(app, shop, email: str = LEA, days_ago: float = 3, *, user: bool = True,
              status: str = "delivered") -> int:
    """An order of ``email`` delivered ``days_ago`` days ago; returns its number."""
    user_id = make_customer(app, shop, email) if user else None
    number = make_order(app, shop, user_id, email=email, status=status)
    with as_tenant(app, shop):
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        db.session.add(OrderEvent(order_id=order.id, actor="desk", from_status="shipped",
                                  to_status="delivered",
                                  at=datetime.now(UTC) - timedelta(days=days_ago)))
        db.session.commit()
    return number


def info(app, shop):
    with app.app_context():
        return tenant_by_id(shop.id)


def said(app, locale: str, msgid: str, **params: Any) -> str:
    """``msgid`` from the plugin's catalogue in ``locale``, as a page shows it."""
    from flask_babel import force_locale
    from markupsafe import escape

    with app.test_request_context(), force_locale(locale):
        return str(escape(surveys._(msgid, **params)))


def run(app) -> int:
    """The periodic job as the worker runs it: an app context, no tenant."""
    with app.app_context():
        return surveys.surveys_due()


def survey_mails(shops, address: str = LEA) -> list[Any]:
    return [m for m in shops.smtp.messages
            if m["To"].addresses[0].addr_spec == address and "/support/survey/" in text(m)]


def text(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def link(msg) -> str:
    return re.search(r"http://\S+/support/survey/\S+", text(msg)).group(0)


def survey_of(app, shop, number: int) -> Survey | None:
    with as_tenant(app, shop):
        found = db.session.scalars(select(Survey).where(Survey.order_number == number)).first()
        if found is not None:
            db.session.expunge(found)
        return found


def token_for(app, shop, number: int) -> str:
    survey = survey_of(app, shop, number)
    with app.app_context():
        return surveys.make_token(shop.id, survey.id)


@pytest.fixture
def mailed(app, shops) -> dict[str, Any]:
    """Léa's delivered order, surveyed: its number, the survey's link, a browser."""
    number = delivered(app, shops.fr)
    run(app)
    [msg] = survey_mails(shops)
    return {"number": number, "url": link(msg), "client": app.test_client()}


# --- sending -------------------------------------------------------------------------------


def test_a_survey_is_mailed_once_some_days_after_delivery(app, shops):
    number = delivered(app, shops.fr, days_ago=3)
    assert run(app) == 1
    assert run(app) == 0  # the hourly job again: nothing more
    [msg] = survey_mails(shops)
    assert str(number) in msg["Subject"] and str(number) in text(msg)
    assert link(msg).startswith("http://localhost/s/fr/support/survey/")
    survey = survey_of(app, shops.fr, number)
    assert survey.sent_at is not None and survey.score is None


@pytest.mark.parametrize("case", ["too_recent", "too_old", "not_delivered", "returned",
                                  "turned_off"])
def test_no_survey_for_an_order_that_is_not_due(app, shops, case):
    if case == "turned_off":
        set_support_settings(app, shops.fr, survey_days=0)
    days = {"too_recent": 1, "too_old": 2 + 14 + 1}.get(case, 3)
    status = {"not_delivered": "shipped", "returned": "returned"}.get(case, "delivered")
    number = delivered(app, shops.fr, days_ago=days, status=status)
    if case == "not_delivered":  # shipped, never delivered: no delivery event either
        with as_tenant(app, shops.fr):
            db.session.query(OrderEvent).delete()
            db.session.commit()
    assert run(app) == 0
    assert survey_mails(shops) == []
    assert survey_of(app, shops.fr, number) is None


def test_each_office_surveys_its_own_orders(app, shops):
    delivered(app, shops.fr, "lea@example.fr")
    delivered(app, shops.de, "max@example.de")
    assert run(app) == 2
    assert len(survey_mails(shops, "lea@example.fr")) == 1
    assert len(survey_mails(shops, "max@example.de")) == 1
    for shop, email in ((shops.fr, "lea@example.fr"), (shops.de, "max@example.de")):
        with as_tenant(app, shop):
            assert db.session.scalars(select(Survey.email)).all() == [email]
    assert "/s/de/" in link(survey_mails(shops, "max@example.de")[0])


def test_a_guests_order_is_surveyed_too(app, shops):
    number = delivered(app, shops.fr, "guest@example.org", user=False)
    run(app)
    [msg] = survey_mails(shops, "guest@example.org")
    assert survey_of(app, shops.fr, number).user_id is None
    assert link(msg)


# --- answering -----------------------------------------------------------------------------


def test_the_page_shows_the_order_and_a_good_score_is_kept_without_a_ticket(app, shops,
                                                                           mailed):
    client, url, number = mailed["client"], mailed["url"], mailed["number"]
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert str(number) in html and 'name="score"' in html

    response = client.post(url, data={"score": "5", "comment": "Fast and well packed."})
    assert response.status_code == 303
    survey = survey_of(app, shops.fr, number)
    assert (survey.score, survey.comment, survey.ticket_id) == (5, "Fast and well packed.",
                                                                None)
    assert survey.answered_at is not None
    with as_tenant(app, shops.fr):
        assert tickets.queue(status=None) == []
    assert 'id="survey-done"' in client.get(url).get_data(as_text=True)


def test_a_low_score_opens_a_follow_up_ticket_in_the_queue(app, shops, mailed):
    client, url, number = mailed["client"], mailed["url"], mailed["number"]
    assert client.post(url, data={"score": "1", "comment": "Arrived broken."}
                       ).status_code == 303
    survey = survey_of(app, shops.fr, number)
    assert survey.score == 1 and survey.ticket_id is not None
    with as_tenant(app, shops.fr):
        [ticket] = tickets.queue()
        assert (ticket.id, ticket.source, ticket.order_number, ticket.email) == (
            survey.ticket_id, "survey", number, LEA)
        assert "1/5" in ticket.subject and str(number) in ticket.subject
        assert "Arrived broken." in ticket.messages[0].body
    assert 'id="survey-follow-up"' in client.get(url).get_data(as_text=True)


def test_the_follow_up_threshold_is_the_shops_setting(app, shops, mailed):
    set_support_settings(app, shops.fr, survey_follow_up_below=5)
    mailed["client"].post(mailed["url"], data={"score": "4"})
    assert survey_of(app, shops.fr, mailed["number"]).ticket_id is not None


def test_a_second_answer_is_refused_and_the_first_kept(app, shops, mailed):
    client, url, number = mailed["client"], mailed["url"], mailed["number"]
    client.post(url, data={"score": "4", "comment": "Fine."})
    again = client.post(url, data={"score": "1", "comment": "Changed my mind."})
    assert again.status_code == 409
    assert 'id="survey-notice"' in again.get_data(as_text=True)
    survey = survey_of(app, shops.fr, number)
    assert (survey.score, survey.comment, survey.ticket_id) == (4, "Fine.", None)


@pytest.mark.parametrize("form", [{}, {"score": "0"}, {"score": "6"}, {"score": "abc"},
                                  {"score": "5", "comment": "x" * 2001}])
def test_a_bad_answer_is_refused_with_a_message_and_nothing_stored(app, shops, mailed, form):
    response = mailed["client"].post(mailed["url"], data=form)
    assert response.status_code == 400
    assert 'id="survey-error"' in response.get_data(as_text=True)
    assert survey_of(app, shops.fr, mailed["number"]).score is None


# --- links ---------------------------------------------------------------------------------


def test_a_forged_link_is_a_404_that_says_so(app, shops, mailed):
    client, url = mailed["client"], mailed["url"]
    for bad in (url[:-3] + "xyz", "http://localhost/s/fr/support/survey/nonsense"):
        page = client.get(bad)
        assert page.status_code == 404
        assert 'id="survey-invalid"' in page.get_data(as_text=True)
        assert client.post(bad, data={"score": "1"}).status_code == 404
    assert survey_of(app, shops.fr, mailed["number"]).score is None


def test_an_expired_link_is_a_404_that_says_so(app, shops, mailed, monkeypatch):
    monkeypatch.setattr(surveys, "MAX_AGE", -1)
    page = mailed["client"].get(mailed["url"])
    assert page.status_code == 404
    html = page.get_data(as_text=True)
    assert said(app, "fr_FR", "This survey link has expired.") in html
    assert said(app, "fr_FR", "This survey link is not valid.") not in html


def test_a_survey_whose_mail_did_not_go_is_sent_by_the_next_run(app, app_factory, shops):
    number = delivered(app, shops.fr)
    down = app_factory(MAIL_URL=f"smtp://127.0.0.1:{free_port()}", PUBLIC_URL=PUBLIC_URL,
                       MAIL_FROM="Comptoir <shop@comptoir.example>")
    assert run(down) == 0
    assert survey_of(app, shops.fr, number) is None  # forgotten, to be tried again
    assert run(app) == 1
    assert len(survey_mails(shops)) == 1


def test_two_runs_at_once_survey_an_order_once(app, shops):
    delivered(app, shops.fr)
    fr = info(app, shops.fr)
    with as_tenant(app, shops.fr):
        now = datetime.now(UTC)
        seen_by_both = surveys._delivered(now - timedelta(days=2), now - timedelta(days=20))
        first = surveys._claim(fr, seen_by_both)
        second = surveys._claim(fr, seen_by_both)
        assert (len(first), second) == (1, [])
        assert len(db.session.scalars(select(Survey)).all()) == 1


@pytest.mark.parametrize("slug", ["de", "acme"])
def test_another_shops_link_is_a_404(app, shops, mailed, slug):
    client, url = mailed["client"], mailed["url"]
    elsewhere = url.replace("/s/fr/", f"/s/{slug}/")
    assert client.get(elsewhere).status_code == 404
    assert client.post(elsewhere, data={"score": "1"}).status_code == 404
    assert survey_of(app, shops.fr, mailed["number"]).score is None


def test_a_token_made_for_another_shop_with_the_same_survey_id_is_refused(app, shops):
    number = delivered(app, shops.fr)
    run(app)
    survey = survey_of(app, shops.fr, number)
    with app.app_context():
        de = tenant_by_id(shops.de.id)
        forged = surveys.make_token(de.id, survey.id)  # a German token naming it
        assert surveys.read_token(forged, shops.fr.id) == (None, False)
    client = app.test_client()
    assert client.get(f"/s/fr/support/survey/{forged}").status_code == 404
    assert client.get(f"/s/de/support/survey/{forged}").status_code == 404
