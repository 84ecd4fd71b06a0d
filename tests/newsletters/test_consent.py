"""Consent: double opt-in through a real mailbox (aiosmtpd), the ledger it leaves, the bad
input that must store nothing, and links that cannot be used (forged, altered, expired,
another shop's)."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from typing import Any

import pytest
from flask_babel import force_locale
from itsdangerous import TimestampSigner
from markupsafe import escape
from sqlalchemy import func, select

from comptoir.core.db import db
from comptoir.customers.models import User
from comptoir.tenants.resolution import directory
from plugins.newsletters import consent, tokens
from plugins.newsletters.models import (
    CONFIRMED,
    PENDING,
    PREFERENCES,
    REQUESTED,
    SUBSCRIBED,
    UNSUBSCRIBED,
    WITHDRAWN,
    ConsentEvent,
    Delivery,
    Subscriber,
)
from tests.conftest import as_tenant
from tests.newsletters.conftest import mails_to, make_customer

ADDRESS = "lea.martin@example.org"
CONFIRM_LINK = re.compile(r"http://localhost/s/(\w+)/newsletter/confirm/[A-Za-z0-9_.\-]+")


# --- helpers -------------------------------------------------------------------------------


def same_page(response) -> str:
    """The page without its CSRF token, which is signed with a timestamp and so changes
    from one second to the next: two answers are "the same" when all else is."""
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"',
                  response.get_data(as_text=True))


@pytest.fixture
def welcomes(monkeypatch) -> list[tuple[str, dict[str, Any]]]:
    """The jobs consent enqueues, recorded instead of run (the welcome message is the
    triggers' business, tested with them)."""
    calls: list[tuple[str, dict[str, Any]]] = []
    real = consent.enqueue

    def enqueue(name: str, **kwargs: Any) -> None:
        if name == "newsletters.welcome":
            calls.append((name, kwargs))
        else:
            real(name, **kwargs)

    monkeypatch.setattr(consent, "enqueue", enqueue)
    return calls


def info(app, tenant):
    with app.app_context():
        return directory().by_id(tenant.id)


def wording(app, tenant, locale: str = "fr_FR") -> tuple[str, str]:
    with app.test_request_context():
        return consent.wording(info(app, tenant), locale)


def message(app, msgid: str, page_locale: str = "fr_FR", /, **params: Any) -> str:
    """``msgid`` from the plugin's catalogue as a page in ``page_locale`` shows it, escaped."""
    with app.test_request_context(), force_locale(page_locale):
        return str(escape(consent._(msgid, **params)))


def rows(app, tenant) -> tuple[list[Subscriber], list[ConsentEvent]]:
    with as_tenant(app, tenant):
        subscribers = list(db.session.scalars(select(Subscriber).order_by(Subscriber.id)))
        events = list(db.session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)))
        db.session.expunge_all()
        return subscribers, events


def text_of(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def subscribe(client, slug: str = "fr", email: str = ADDRESS, **extra: str):
    data = {"email": email, "name": "Léa Martin", "consent": "on", **extra}
    return client.post(f"/s/{slug}/newsletter/subscribe", data=data,
                       headers={"User-Agent": "Mozilla/5.0 (test)"})


def confirm_link(shops, email: str = ADDRESS) -> str:
    mails = mails_to(shops.smtp, email)
    assert len(mails) == 1, [m["Subject"] for m in mails]
    found = CONFIRM_LINK.search(text_of(mails[0]))
    assert found, text_of(mails[0])
    return found.group(0)


def old_token(monkeypatch, purpose: str, *args: Any, days: int = 8) -> str:
    """A token made ``days`` ago."""
    then = int(time.time()) - days * 24 * 3600
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: then)
        return tokens.make(purpose, *args)


# --- double opt-in -------------------------------------------------------------------------


def test_double_opt_in_needs_the_mailed_link_and_its_button(app, shops, client, welcomes):
    page = subscribe(client)
    assert page.status_code == 200
    assert 'id="nl-check-inbox"' in page.get_data(as_text=True)
    (subscriber,), (requested,) = rows(app, shops.fr)
    assert (subscriber.email, subscriber.status, subscriber.name) == (
        ADDRESS, PENDING, "Léa Martin")
    assert subscriber.locale == "fr_FR" and subscriber.confirmed_at is None

    # One transactional message, in the reader's language, with the confirmation link.
    (mail,) = mails_to(shops.smtp, ADDRESS)
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Unsubscribe"] is None
    with app.test_request_context(), force_locale("fr_FR"):
        subject = consent._(consent._CONFIRM_SUBJECT, shop="Comptoir France")
    assert mail["Subject"] == subject
    link = confirm_link(shops)
    assert link.startswith("http://localhost/s/fr/newsletter/confirm/")

    # Following the link (as a mail scanner would) confirms nothing...
    shown = client.get(link)
    assert shown.status_code == 200 and 'id="nl-confirm"' in shown.get_data(as_text=True)
    assert rows(app, shops.fr)[0][0].status == PENDING
    assert welcomes == []
    # ...the button does.
    done = client.post(link, headers={"User-Agent": "Mozilla/5.0 (test)"})
    assert done.status_code == 200 and 'id="nl-confirmed"' in done.get_data(as_text=True)
    (subscriber,), events = rows(app, shops.fr)
    assert subscriber.status == SUBSCRIBED and subscriber.confirmed_at is not None
    assert [e.action for e in events] == [REQUESTED, CONFIRMED]
    text, version = wording(app, shops.fr)
    for event in events:
        assert (event.wording, event.wording_version) == (text, version)
        assert event.ip == "127.0.0.1" and event.user_agent == "Mozilla/5.0 (test)"
    assert [e.source for e in events] == ["footer_form", "email_link"]
    assert len(version) == 12
    assert welcomes == [("newsletters.welcome",
                         {"tenant_id": shops.fr.id, "subscriber_id": subscriber.id})]

    # Confirming twice is harmless: no second event, no second welcome.
    again = client.post(link)
    assert again.status_code == 200
    assert [e.action for e in rows(app, shops.fr)[1]] == [REQUESTED, CONFIRMED]
    assert len(welcomes) == 1
    assert 'id="nl-confirmed"' in client.get(link).get_data(as_text=True)


def test_the_form_shows_the_wording_recorded_in_the_ledger(app, shops, client, welcomes):
    home = client.get("/s/fr/").get_data(as_text=True)
    text, version = wording(app, shops.fr)
    assert str(escape(text)) in home and f'value="{version}"' in home
    assert 'for="nl-footer-consent"' in home and 'for="nl-footer-email"' in home

    # A shop's own wording is a new version; the ledger keeps the exact text.
    from comptoir.tenants import service as tenants
    from comptoir.tenants.models import Tenant

    with app.app_context():
        tenants.update_plugin_settings(db.session.get(Tenant, shops.fr.id), "newsletters",
                                       {"consent_text": "Oui, écrivez-moi chaque semaine."})
        db.session.commit()
    own, own_version = wording(app, shops.fr)
    assert own == "Oui, écrivez-moi chaque semaine." and own_version != version
    # A form shown before the change is refused: the person did not see this wording.
    stale = subscribe(client, wording_version=version)
    assert stale.status_code == 400
    assert message(app, "The wording you agree to has just changed: please read it again.") \
        in stale.get_data(as_text=True)
    assert rows(app, shops.fr) == ([], [])
    assert subscribe(client, wording_version=own_version).status_code == 200
    (event,) = rows(app, shops.fr)[1]
    assert (event.wording, event.wording_version) == (own, own_version)


def test_a_form_is_no_mail_cannon(app, shops, client, welcomes):
    first = subscribe(client)
    for _ in range(3):
        assert same_page(subscribe(client)) == same_page(first)
    subscribers, events = rows(app, shops.fr)
    assert len(subscribers) == 1 and {e.action for e in events} == {REQUESTED}
    assert len(mails_to(shops.smtp, ADDRESS)) == 1

    client.post(confirm_link(shops))
    # Subscribed already: the same answer, the subscription untouched, one notice at most.
    for _ in range(2):
        assert same_page(subscribe(client)) == same_page(first)
    (subscriber,), events = rows(app, shops.fr)
    assert subscriber.status == SUBSCRIBED
    assert [e.action for e in events][-1] == CONFIRMED
    mails = mails_to(shops.smtp, ADDRESS)
    assert len(mails) == 2
    assert "/s/fr/newsletter/preferences/" in text_of(mails[1])
    assert len(welcomes) == 1


@pytest.mark.parametrize("data, problem", [
    ({"email": ADDRESS, "consent": ""}, "consent"),
    ({"email": "lea.martin@", "consent": "on"}, "email"),
    ({"email": "", "consent": "on"}, "empty"),
    ({"email": ADDRESS, "consent": "on", "locale": "de"}, "locale"),
])
def test_bad_input_subscribes_nobody(app, shops, client, welcomes, data, problem):
    page = client.post("/s/fr/newsletter/subscribe", data=data)
    assert page.status_code == 400
    body = page.get_data(as_text=True)
    assert 'id="nl-error"' in body
    expected = {
        "consent": message(app, "Please tick the box to agree to receive the newsletter: we "
                                "cannot subscribe you without your consent."),
        "email": "lea.martin@",
        "empty": message(app, "E-mail address: please enter your e-mail address."),
        "locale": message(app, "Language: this shop does not offer %(locale)s.",
                          locale="de"),
    }[problem]
    error = body.split('id="nl-error">', 1)[1].split("</p>", 1)[0]
    assert expected in error
    # The form comes back with what was typed; nothing is stored, nothing is sent.
    assert f'value="{data["email"]}"' in body
    assert rows(app, shops.fr) == ([], [])
    assert shops.smtp.received == []


def test_service_refuses_bad_values(app, shops):
    fr = info(app, shops.fr)
    with app.test_request_context("/s/fr/"), as_tenant(app, shops.fr):
        for call, field in [
            (lambda: consent.subscribe(fr, "x@y", locale="fr", source="test"), "E-mail"),
            (lambda: consent.subscribe(fr, ADDRESS, locale="it", source="test"), "Language"),
            (lambda: consent.subscribe(fr, ADDRESS, locale="fr", source="test",
                                       themes=["casino"]), "Themes"),
            (lambda: consent.subscribe(fr, ADDRESS, locale="fr", source="test",
                                       name="a\nb"), "Name"),
        ]:
            with pytest.raises(ValueError, match=field):
                call()
        assert db.session.scalar(select(func.count(Subscriber.id))) == 0
    assert shops.smtp.received == []


# --- links that cannot be used -------------------------------------------------------------


def test_links_that_cannot_be_used_change_nothing(app, shops, client, monkeypatch, welcomes):
    subscribe(client)
    good = confirm_link(shops)
    token = good.rsplit("/", 1)[1]
    (subscriber,), _ = rows(app, shops.fr)
    with app.app_context():
        tag = tokens.address_tag(ADDRESS)
        as_manage = tokens.make(tokens.MANAGE, shops.fr.id, subscriber.id, tag)
        other_shop = tokens.make(tokens.CONFIRM, shops.de.id, subscriber.id, tag)
        other_address = tokens.make(tokens.CONFIRM, shops.fr.id, subscriber.id,
                                    tokens.address_tag("someone@example.org"))
        expired = old_token(monkeypatch, tokens.CONFIRM, shops.fr.id, subscriber.id, tag)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    invalid = message(app, "This link is not valid.")
    for bad in ("forged-token", tampered, as_manage, other_shop, other_address, "x" * 3000):
        for method in (client.get, client.post):
            page = method(f"/s/fr/newsletter/confirm/{bad}")
            assert page.status_code == 400, bad
            assert f"<h1>{invalid}</h1>" in page.get_data(as_text=True)
    # Another shop's storefront does not know fr's link either.
    page = client.post(good.replace("/s/fr/", "/s/de/"))
    assert page.status_code == 400 and message(app, "This link is not valid.", "de_DE") \
        in page.get_data(as_text=True)
    # Expired: said so, with the form to start again.
    for method in (client.get, client.post):
        page = method(f"/s/fr/newsletter/confirm/{expired}")
        body = page.get_data(as_text=True)
        assert page.status_code == 400
        assert f"<h1>{message(app, 'This link has expired.')}</h1>" in body
        assert 'id="nl-page-email"' in body
    (subscriber,), events = rows(app, shops.fr)
    assert subscriber.status == PENDING and [e.action for e in events] == [REQUESTED]
    assert welcomes == []
    # The real link still works.
    assert client.post(good).status_code == 200
    assert rows(app, shops.fr)[0][0].status == SUBSCRIBED


def test_a_confirmation_link_is_dead_once_the_reader_left(app, shops, client, welcomes):
    subscribe(client)
    link = confirm_link(shops)
    fr = info(app, shops.fr)
    with app.test_request_context("/s/fr/"), as_tenant(app, shops.fr):
        assert consent.withdraw(fr, consent.subscriber_for(ADDRESS), source="test")
    assert client.post(link).status_code == 400
    assert rows(app, shops.fr)[0][0].status == UNSUBSCRIBED
    assert welcomes == []


# --- the service ---------------------------------------------------------------------------


def test_withdraw_preferences_and_export(app, shops, client, welcomes):
    subscribe(client)
    client.post(confirm_link(shops))
    fr = info(app, shops.fr)
    with app.test_request_context("/s/fr/"), as_tenant(app, shops.fr):
        subscriber = consent.subscriber_for(ADDRESS.upper())
        assert subscriber is not None
        before = consent.export(subscriber)
        refused = [
            ({"channels": ["fax"]}, "Channels"),
            ({"frequency": "daily"}, "Frequency"),
            ({"themes": ["casino"]}, "Themes"),
            ({"locale": "de"}, "Language"),
            ({"birthday": date.today() + timedelta(days=2)}, "Birthday"),
            ({"phone": "call me"}, "Phone"),
            ({"phone": "1" * 41}, "Phone"),
        ]
        choices = {"channels": ["email"], "frequency": "monthly", "themes": ["advice"],
                   "locale": "en", "tracking": True, "name": "Léa M.",
                   "birthday": date(1990, 5, 31), "phone": "+33 (0)1 23.45-67"}
        for change, field in refused:
            with pytest.raises(ValueError, match=field):
                consent.update_preferences(fr, subscriber, **{**choices, **change})
            db.session.rollback()
        assert consent.export(subscriber)["subscriber"] == before["subscriber"]
        consent.update_preferences(fr, subscriber, **choices, ip="10.0.0.1", user_agent="UA")
        subscriber = consent.subscriber_for(ADDRESS)
        assert (subscriber.frequency, subscriber.themes, subscriber.locale) == (
            "monthly", ["advice"], "en")
        # Tracking stays off: this shop does not offer it.
        assert subscriber.tracking is False
        assert consent.withdraw(fr, subscriber, source="test", ip="10.0.0.2") is True
        assert consent.withdraw(fr, subscriber, source="test") is False
        exported = consent.export(consent.subscriber_for(ADDRESS))
    import json

    json.dumps(exported)  # plain JSON values
    assert exported["subscriber"]["status"] == UNSUBSCRIBED
    assert exported["subscriber"]["birthday"] == "1990-05-31"
    assert [e["action"] for e in exported["consent_ledger"]] == [
        REQUESTED, CONFIRMED, PREFERENCES, WITHDRAWN]
    assert exported["consent_ledger"][2]["details"]["themes"] == ["advice"]
    assert exported["consent_ledger"][3]["ip"] == "10.0.0.2"
    # The messages sent to the address are part of what the shop holds: the confirmation.
    assert [(m["kind"], m["trigger"], m["status"]) for m in exported["messages"]] == [
        ("transactional", "confirm", "sent")]
    assert exported["product_views"] == []  # no account: nothing looked at on record


def test_registering_links_the_subscriber_and_subscribes_nobody(app, shops, client, welcomes):
    subscribe(client)
    fr = info(app, shops.fr)
    user_id = make_customer(app, shops.fr, ADDRESS.upper())
    other_id = make_customer(app, shops.fr, "paul@example.org", name="Paul")
    with app.test_request_context("/s/fr/"), as_tenant(app, shops.fr):
        consent.customer_registered(fr, db.session.get(User, user_id))
        consent.customer_registered(fr, db.session.get(User, other_id))
        user = db.session.get(User, user_id)
        assert consent.subscriber_for_user(user).user_id == user_id
        assert consent.subscriber_for_user(db.session.get(User, other_id)) is None
        reader = consent.reader_for(fr, consent.subscriber_for_user(user))
        assert (reader.email, reader.user_id, reader.tenant.id) == (ADDRESS, user_id, fr.id)
        assert db.session.scalar(select(func.count(Subscriber.id))) == 1
        assert consent.subscriber_for(ADDRESS).status == PENDING
        # One confirmation was sent, recorded as a transactional delivery of this shop.
        (delivery,) = db.session.scalars(select(Delivery)).all()
        assert (delivery.trigger, delivery.kind, delivery.status) == (
            "confirm", "transactional", "sent")
