"""The reader's pages reached from a message without logging in: the preference centre, the
data export, leaving (RFC 8058 one-click, the page's button, by address), the tracking
pixel and click links, and the line between shops."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.tenants import service as tenants
from comptoir.tenants.models import Tenant
from plugins.newsletters import consent, mailing, tokens
from plugins.newsletters.models import (
    CONFIRMED,
    MARKETING,
    PREFERENCES,
    REQUESTED,
    SENT,
    SUBSCRIBED,
    UNSUBSCRIBED,
    WITHDRAWN,
    ConsentEvent,
    Delivery,
    Subscriber,
)
from tests.conftest import as_tenant
from tests.newsletters.conftest import mails_to
from tests.newsletters.test_consent import (  # noqa: F401  (fixtures)
    info,
    message,
    rows,
    same_page,
    text_of,
    welcomes,
)

ADDRESS = "paul.durand@example.org"


# --- helpers -------------------------------------------------------------------------------


def subscriber(app, tenant, email: str = ADDRESS, **fields: Any) -> int:
    """A confirmed subscriber of ``tenant`` with its ledger; returns its id."""
    with as_tenant(app, tenant):
        row = Subscriber(email=email, locale=fields.pop("locale", "fr_FR"),
                         status=SUBSCRIBED, confirmed_at=datetime.now(UTC), **fields)
        db.session.add(row)
        db.session.flush()
        for action in (REQUESTED, CONFIRMED):
            db.session.add(ConsentEvent(subscriber_id=row.id, action=action,
                                        wording="I agree.", wording_version="abc123",
                                        source="footer_form", ip="127.0.0.1"))
        db.session.commit()
        return row.id


def manage_url(app, tenant, subscriber_id: int, page: str = "preferences",
               email: str = ADDRESS) -> str:
    with app.app_context():
        token = tokens.make(tokens.MANAGE, tenant.id, subscriber_id, tokens.address_tag(email))
    return f"/s/{tenant.slug}/newsletter/{page}/{token}"


def one(app, tenant, subscriber_id: int) -> Subscriber:
    with as_tenant(app, tenant):
        row = db.session.scalars(select(Subscriber).where(Subscriber.id == subscriber_id)).one()
        db.session.expunge(row)
        return row


def ledger(app, tenant, subscriber_id: int) -> list[ConsentEvent]:
    return [e for e in rows(app, tenant)[1] if e.subscriber_id == subscriber_id]


def delivery(app, tenant, email: str = ADDRESS) -> int:
    with as_tenant(app, tenant):
        row = Delivery(dedupe_key=f"test:{email}", kind=MARKETING, email=email, status=SENT,
                       sent_at=datetime.now(UTC))
        db.session.add(row)
        db.session.commit()
        return row.id


def delivered(app, tenant, delivery_id: int) -> Delivery:
    with as_tenant(app, tenant):
        row = db.session.scalars(select(Delivery).where(Delivery.id == delivery_id)).one()
        db.session.expunge(row)
        return row


def set_setting(app, tenant, **values: Any) -> None:
    with app.app_context():
        tenants.update_plugin_settings(db.session.get(Tenant, tenant.id), "newsletters",
                                       values)
        db.session.commit()


# --- the preference centre -----------------------------------------------------------------


def test_the_preference_centre_stores_choices_and_logs_them(app, shops, client):
    sid = subscriber(app, shops.fr)
    url = manage_url(app, shops.fr, sid)
    page = client.get(url)
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store, private"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    for code in ("promotions", "new_products", "events", "advice"):
        assert f'id="nl-theme-{code}"' in body
    assert '<option value="fr_FR"' in body and '<option value="en"' in body
    assert re.search(r'id="nl-channel-sms"[^>]*disabled', body)
    assert 'id="nl-tracking"' not in body  # the shop does not offer tracking
    assert 'id="nl-export"' in body and 'id="nl-unsubscribe"' in body

    choices = {"channels": "email", "frequency": "weekly", "themes": ["promotions", "advice"],
               "locale": "en", "name": "Paul Durand", "birthday": "1990-05-31",
               "phone": "+33 1 23 45 67 89"}
    saved = client.post(url, data=choices)
    assert saved.status_code == 200 and 'id="nl-saved"' in saved.get_data(as_text=True)
    row = one(app, shops.fr, sid)
    assert (row.frequency, row.themes, row.locale, row.name, row.phone) == (
        "weekly", ["promotions", "advice"], "en", "Paul Durand", "+33 1 23 45 67 89")
    assert row.birthday.isoformat() == "1990-05-31" and row.channels == ["email"]
    last = ledger(app, shops.fr, sid)[-1]
    assert last.action == PREFERENCES and last.ip == "127.0.0.1"
    assert last.details == {"channels": ["email"], "frequency": "weekly",
                            "themes": ["promotions", "advice"], "locale": "en",
                            "tracking": False}

    # Bad input: the page says which field, and nothing changes.
    for change, words in [({"themes": ["casino"]}, "Themes: %(themes)s is not a theme of "
                                                   "this shop."),
                          ({"frequency": "daily"}, "Frequency: choose one of the proposed "
                                                   "frequencies."),
                          ({"locale": "de"}, "Language: this shop does not offer "
                                             "%(locale)s."),
                          ({"birthday": "2999-01-01"}, "Birthday: enter a date in the past."),
                          ({"birthday": "31/05/1990"}, "Birthday: enter a date such as "
                                                       "1990-05-31."),
                          ({"phone": "call me maybe"}, "Phone: at most 40 digits, spaces and "
                                                       "+ - . ( )."),
                          ({"channels": "fax"}, "Channels: %(channels)s is not a channel.")]:
        refused = client.post(url, data={**choices, "name": "Paul D.", **change})
        body = refused.get_data(as_text=True)
        assert refused.status_code == 400, change
        expected = message(app, words, themes="casino", locale="de", channels="fax")
        assert f'id="nl-error">{expected}</p>' in body
        # What was typed is shown again, to be corrected.
        assert 'value="Paul D."' in body
    assert one(app, shops.fr, sid).name == "Paul Durand"
    assert len(ledger(app, shops.fr, sid)) == 3

    # A shop that offers tracking shows the box; the reader turns it on.
    set_setting(app, shops.fr, tracking=True)
    assert 'id="nl-tracking"' in client.get(url).get_data(as_text=True)
    client.post(url, data={**choices, "tracking": "on"})
    assert one(app, shops.fr, sid).tracking is True


def test_the_reader_downloads_their_data_with_the_ledger(app, shops, client):
    sid = subscriber(app, shops.fr, name="Paul")
    client.post(manage_url(app, shops.fr, sid), data={"channels": "email",
                                                      "frequency": "monthly",
                                                      "locale": "fr_FR", "name": "Paul"})
    response = client.get(manage_url(app, shops.fr, sid) + "/data.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(response.get_data(as_text=True))
    assert data["subscriber"]["email"] == ADDRESS and data["subscriber"]["name"] == "Paul"
    assert [e["action"] for e in data["consent_ledger"]] == [REQUESTED, CONFIRMED,
                                                             PREFERENCES]
    assert data["consent_ledger"][0]["wording_version"] == "abc123"


# --- leaving -------------------------------------------------------------------------------


def test_one_click_unsubscribe_needs_no_cookie_and_is_idempotent(app, app_factory, shops):
    sid = subscriber(app, shops.fr)
    fr = info(app, shops.fr)
    # The very link the messages carry (RFC 8058 headers).
    reader = mailing.Reader(email=ADDRESS, locale="fr_FR", tenant=fr, subscriber_id=sid)
    with app.test_request_context(base_url="http://localhost/s/fr/"), as_tenant(app, shops.fr):
        from flask import g

        g.tenant = fr
        token = mailing.manage_token(reader)
    url = f"/s/fr/newsletter/unsubscribe/{token}"

    # As in production: CSRF protection on (the mail provider has no token to send).
    strict = app_factory(WTF_CSRF_ENABLED=True, MAIL_URL=shops.smtp.url,
                         PUBLIC_URL="http://localhost")
    provider = strict.test_client(use_cookies=False)
    assert provider.post("/s/fr/newsletter/subscribe",
                         data={"email": ADDRESS, "consent": "on"}).status_code == 400
    for _ in range(2):
        response = provider.post(url, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
        assert 'id="nl-unsubscribed"' in response.get_data(as_text=True)
    row = one(app, shops.fr, sid)
    assert row.status == UNSUBSCRIBED and row.unsubscribed_at is not None
    withdrawn = [e for e in ledger(app, shops.fr, sid) if e.action == WITHDRAWN]
    assert len(withdrawn) == 1 and withdrawn[0].source == "one_click"


def test_the_unsubscribe_page_confirms_with_a_button(app, shops, client):
    sid = subscriber(app, shops.fr)
    url = manage_url(app, shops.fr, sid, "unsubscribe")
    page = client.get(url)
    assert page.status_code == 200 and 'id="nl-unsubscribe"' in page.get_data(as_text=True)
    assert one(app, shops.fr, sid).status == SUBSCRIBED  # a GET changes nothing
    assert client.post(url).status_code == 200
    assert one(app, shops.fr, sid).status == UNSUBSCRIBED
    assert ledger(app, shops.fr, sid)[-1].source == "unsubscribe_page"
    assert 'id="nl-unsubscribe"' not in client.get(url).get_data(as_text=True)


def test_unsubscribe_by_address_tells_nothing_and_unsubscribes_nobody(app, shops, client):
    sid = subscriber(app, shops.fr)
    unknown = client.post("/s/fr/newsletter/unsubscribe", data={"email": "nobody@example.org"})
    known = client.post("/s/fr/newsletter/unsubscribe", data={"email": ADDRESS.upper()})
    assert unknown.status_code == known.status_code == 200
    assert same_page(unknown) == same_page(known)
    assert message(app, "If this address is subscribed, we have sent it a link to leave.") \
        in known.get_data(as_text=True)
    assert mails_to(shops.smtp, "nobody@example.org") == []
    assert one(app, shops.fr, sid).status == SUBSCRIBED
    (mail,) = mails_to(shops.smtp, ADDRESS)
    link = re.search(r"http://localhost(/s/fr/newsletter/unsubscribe/\S+)", text_of(mail))
    assert link and "/s/fr/newsletter/preferences/" in text_of(mail)
    # Asking again at once sends nothing more; the link leads to the button.
    client.post("/s/fr/newsletter/unsubscribe", data={"email": ADDRESS})
    assert len(mails_to(shops.smtp, ADDRESS)) == 1
    assert 'id="nl-unsubscribe"' in client.get(link.group(1)).get_data(as_text=True)
    assert one(app, shops.fr, sid).status == SUBSCRIBED
    # Nonsense typed in the form is answered the same.
    odd = client.post("/s/fr/newsletter/unsubscribe", data={"email": "not an address"})
    assert same_page(odd) == same_page(known)


def test_management_links_that_cannot_be_used(app, shops, client):
    sid = subscriber(app, shops.fr)
    good = manage_url(app, shops.fr, sid)
    with app.app_context():
        confirm_token = tokens.make(tokens.CONFIRM, shops.fr.id, sid,
                                    tokens.address_tag(ADDRESS))
    bad_urls = [good[:-4] + "abcd", "/s/fr/newsletter/preferences/forged",
                manage_url(app, shops.fr, sid, email="old@example.org"),
                f"/s/fr/newsletter/preferences/{confirm_token}"]
    for url in bad_urls:
        for target in (url, url + "/data.json", url.replace("preferences", "unsubscribe")):
            response = client.get(target)
            assert response.status_code == 400, target
            assert message(app, "This link is not valid.") in response.get_data(as_text=True)
        assert client.post(url.replace("preferences", "unsubscribe"),
                           data={"List-Unsubscribe": "One-Click"}).status_code == 400
    assert one(app, shops.fr, sid).status == SUBSCRIBED
    assert len(ledger(app, shops.fr, sid)) == 2


# --- tracking ------------------------------------------------------------------------------


def test_open_pixel_and_click_links(app, shops, client):
    did = delivery(app, shops.fr)
    with app.app_context():
        pixel = tokens.make(tokens.OPEN, shops.fr.id, did)
        click = tokens.make(tokens.CLICK, shops.fr.id, did, "https://example.org/printers?x=1")
        script = tokens.make(tokens.CLICK, shops.fr.id, did, "javascript:alert(1)")
    # A bad token gets the same image and changes nothing; a javascript: link is refused.
    bad = client.get("/s/fr/newsletter/o/forged.gif")
    assert bad.status_code == 200 and bad.mimetype == "image/gif"
    tampered = client.get(f"/s/fr/newsletter/o/{pixel[:-2]}xx.gif")
    assert tampered.status_code == 200 and tampered.data == bad.data
    assert "no-store" in bad.headers["Cache-Control"]
    assert delivered(app, shops.fr, did).opened_at is None
    refused = client.get(f"/s/fr/newsletter/c/{script}")
    assert refused.status_code == 400 and "Location" not in refused.headers
    assert client.get("/s/fr/newsletter/c/forged").status_code == 400
    assert delivered(app, shops.fr, did).clicked_at is None

    opened = client.get(f"/s/fr/newsletter/o/{pixel}.gif")
    assert opened.status_code == 200 and opened.data == bad.data and len(opened.data) < 100
    assert "no-store" in opened.headers["Cache-Control"]
    first_open = delivered(app, shops.fr, did).opened_at
    assert first_open is not None
    followed = client.get(f"/s/fr/newsletter/c/{click}")
    assert followed.status_code == 302
    assert followed.headers["Location"] == "https://example.org/printers?x=1"
    row = delivered(app, shops.fr, did)
    assert row.clicked_at is not None and row.opened_at == first_open


def test_a_campaign_of_the_office_is_followed_on_its_resellers_storefront(app, shops, client):
    did = delivery(app, shops.fr)
    with app.app_context():
        pixel = tokens.make(tokens.OPEN, shops.fr.id, did)
        click = tokens.make(tokens.CLICK, shops.fr.id, did, "http://example.org/")
    assert client.get(f"/s/acme/newsletter/o/{pixel}.gif").status_code == 200
    assert client.get(f"/s/acme/newsletter/c/{click}").status_code == 302
    row = delivered(app, shops.fr, did)
    assert row.opened_at is not None and row.clicked_at is not None
    # An unrelated shop's storefront does not speak for fr.
    other = delivery(app, shops.fr, "third@example.org")
    with app.app_context():
        pixel = tokens.make(tokens.OPEN, shops.fr.id, other)
        click = tokens.make(tokens.CLICK, shops.fr.id, other, "http://example.org/")
    assert client.get(f"/s/de/newsletter/o/{pixel}.gif").status_code == 404
    assert client.get(f"/s/de/newsletter/c/{click}").status_code == 404
    assert delivered(app, shops.fr, other).opened_at is None


# --- isolation -----------------------------------------------------------------------------


@pytest.mark.usefixtures("welcomes")
def test_a_shops_subscribers_are_invisible_to_another(app, shops, client):
    sid = subscriber(app, shops.fr)
    fr_url = manage_url(app, shops.fr, sid)
    for page in ("preferences", "unsubscribe"):
        on_de = fr_url.replace("/s/fr/", "/s/de/").replace("preferences", page)
        assert client.get(on_de).status_code == 400
        assert client.post(on_de, data={"List-Unsubscribe": "One-Click"}).status_code == 400
    assert client.get(fr_url.replace("/s/fr/", "/s/de/") + "/data.json").status_code == 400
    # A token made for de naming fr's row finds nothing on de's storefront either.
    assert client.get(manage_url(app, shops.de, sid)).status_code == 400
    # de's forms touch de's rows only.
    assert client.post("/s/de/newsletter/subscribe",
                       data={"email": ADDRESS, "consent": "on"}).status_code == 200
    client.post("/s/de/newsletter/unsubscribe", data={"email": ADDRESS})
    (fr_row,), fr_events = rows(app, shops.fr)
    assert fr_row.status == SUBSCRIBED and len(fr_events) == 2
    (de_row,), (de_event,) = rows(app, shops.de)
    assert de_row.id != sid and de_row.status == "pending" and de_event.action == REQUESTED
    # The reseller has its own list: fr's subscriber is not acme's.
    assert client.get(fr_url.replace("/s/fr/", "/s/acme/")).status_code == 400
    with app.test_request_context("/s/acme/"), as_tenant(app, shops.acme):
        assert consent.subscriber_for(ADDRESS) is None


@pytest.mark.parametrize("path", ["subscribe", "unsubscribe"])
def test_reader_pages_need_a_shop(app, shops, client, path):
    assert client.get(f"/newsletter/{path}").status_code == 404


def test_links_do_not_show_who_they_are_for(app, shops):
    """itsdangerous signs but does not encrypt: a link must not carry the address."""
    import base64

    with app.app_context():
        token = tokens.make(tokens.MANAGE, shops.fr.id, 1, tokens.address_tag(ADDRESS))
    payload = token.split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert ADDRESS.encode() not in decoded and b"paul.durand" not in decoded
