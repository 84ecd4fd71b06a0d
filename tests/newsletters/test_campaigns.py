"""Campaigns, end to end against a real SMTP server (aiosmtpd): one message per reader in
their language, with the RFC 8058 headers of their own shop and the office's legal footer,
co-branded for a reseller's readers; nobody without consent; nothing twice; the refusals
(missing translation, unknown placeholder, past schedule) that send nothing; test sends
and previews; scheduling; progress; and the staff's pages, with another office that sees
none of it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy import func, select

from comptoir.core.db import db
from comptoir.tenants import service as tenants
from comptoir.tenants.models import Tenant
from comptoir.tenants.resolution import directory
from comptoir.toolkit import mail_footer
from plugins.newsletters import campaigns, consent, mailing
from plugins.newsletters.models import (
    CANCELLED,
    DONE,
    DRAFT,
    MARKETING,
    PENDING,
    RUNNING,
    SCHEDULED,
    SENT,
    SKIPPED,
    SUBSCRIBED,
    UNSUBSCRIBED,
    Campaign,
    CampaignTranslation,
    Delivery,
    Subscriber,
    Suppression,
)
from tests.conftest import as_tenant
from tests.newsletters.conftest import login, mails_to, make_customer

FR_SUBJECT = "Les soldes commencent, {{ first_name }} !"
EN_SUBJECT = "The sale starts, {{ first_name }}!"
FR_BODY = "Bonjour {{ first_name }},\n\nTout {{ shop_name }} est à -20 %.\n\nhttps://example.org/soldes"
EN_BODY = "Hello {{ first_name }},\n\nEverything at {{ shop_name }} is 20% off."


def info(tenant: Tenant) -> Any:
    return directory().by_id(tenant.id)


def gettext_in(app: Any, language: str, msgid: str, /, **values: Any) -> str:
    """``msgid`` in ``language`` from the plugin's catalogue (tests never hard-code French)."""
    with app.test_request_context(), force_locale(language):
        return mailing.translations.gettext(msgid, **values)


def add_subscriber(app: Any, tenant: Tenant, email: str, locale: str = "fr_FR",
                   status: str = SUBSCRIBED, **fields: Any) -> int:
    with as_tenant(app, tenant):
        row = Subscriber(email=email, locale=locale, status=status,
                         name=fields.pop("name", email.split("@")[0].title()), **fields)
        db.session.add(row)
        db.session.commit()
        return row.id


def make_campaign(app: Any, tenant: Tenant, texts: dict[str, tuple[str, str]] | None = None,
                  **fields: Any) -> int:
    """A campaign of ``tenant`` written through :mod:`campaigns`, with ``texts``."""
    texts = {"fr_FR": (FR_SUBJECT, FR_BODY), "en": (EN_SUBJECT, EN_BODY)} \
        if texts is None else texts
    with as_tenant(app, tenant), app.test_request_context():
        shop = info(tenant)
        fields.setdefault("name", "Soldes d'hiver")
        campaign = campaigns.save(shop, None, **fields)
        for locale, (subject, body) in texts.items():
            campaigns.save_translation(shop, campaign, locale, subject, body)
        return campaign.id


def start(app: Any, tenant: Tenant, campaign_id: int) -> int:
    with as_tenant(app, tenant):
        return campaigns.start(db.session.get(Campaign, campaign_id), info(tenant))


def run_batch(app: Any, **job: Any) -> Any:
    """Run a sending job as the worker does: in an app context, with no tenant."""
    with app.app_context():
        return campaigns.send_batch(**job)


def progress(app: Any, tenant: Tenant, campaign_id: int) -> dict[str, Any]:
    with as_tenant(app, tenant):
        return campaigns.progress(db.session.get(Campaign, campaign_id))


def deliveries(app: Any, tenant: Tenant) -> list[Delivery]:
    with as_tenant(app, tenant):
        rows = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
        db.session.expunge_all()
        return list(rows)


def text_of(message: Any) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message: Any) -> str:
    return message.get_body(("html",)).get_content()


@pytest.fixture
def readers(app, shops):
    """fr's French and English readers, acme's reader, and those who must get nothing."""
    ids = {
        "amelie": add_subscriber(app, shops.fr, "amelie@example.org", name="Amélie Poulain"),
        "john": add_subscriber(app, shops.fr, "john@example.org", "en", name="John Smith"),
        "pending": add_subscriber(app, shops.fr, "pending@example.org", status=PENDING),
        "gone": add_subscriber(app, shops.fr, "gone@example.org", status=UNSUBSCRIBED),
        "bounced": add_subscriber(app, shops.fr, "bounced@example.org"),
        "sms": add_subscriber(app, shops.fr, "sms@example.org", channels=["sms"]),
        "events": add_subscriber(app, shops.fr, "events@example.org", themes=["events"]),
        "client": add_subscriber(app, shops.acme, "client@acme.example",
                                 name="Claire Client"),
        "hans": add_subscriber(app, shops.de, "hans@example.de", "de_DE", name="Hans Meier"),
    }
    with as_tenant(app, shops.fr):
        db.session.add(Suppression(email="bounced@example.org", reason="hard_bounce"))
        db.session.commit()
    return ids


# --- sending -------------------------------------------------------------------------------


def test_each_reader_gets_one_message_in_their_language_from_their_own_shop(app, shops,
                                                                             readers):
    smtp = shops.smtp
    campaign_id = make_campaign(app, shops.fr, theme="promotions")
    assert start(app, shops.fr, campaign_id) == 3

    amelie, john, client = (mails_to(smtp, a) for a in (
        "amelie@example.org", "john@example.org", "client@acme.example"))
    assert (len(amelie), len(john), len(client)) == (1, 1, 1)
    assert amelie[0]["Subject"] == "Les soldes commencent, Amélie !"
    assert john[0]["Subject"] == "The sale starts, John!"
    assert client[0]["Subject"] == "Les soldes commencent, Claire !"
    assert "Everything at Comptoir France is 20% off." in text_of(john[0])
    assert "Tout Comptoir France est à -20 %." in text_of(amelie[0])
    assert '<a href="https://example.org/soldes">' in html_of(amelie[0])

    # RFC 8058: a one-click unsubscribe URL of the reader's own shop.
    for message, slug in ((amelie[0], "fr"), (john[0], "fr"), (client[0], "acme")):
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        found = re.fullmatch(r"<(http://localhost/s/(\w+)/newsletter/unsubscribe/\S+)>",
                             message["List-Unsubscribe"])
        assert found is not None and found.group(2) == slug, message["List-Unsubscribe"]
        assert found.group(1) in text_of(message)
    # The office's legal footer, in the reader's language; the reseller co-branded.
    with app.test_request_context():
        for message, locale in ((amelie[0], "fr_FR"), (john[0], "en"), (client[0], "fr_FR")):
            lines = mail_footer(info(shops.fr), locale)
            assert lines and all(line in text_of(message) for line in lines)
    assert "ACME Informatique · Comptoir France" in text_of(client[0])
    assert "ACME Informatique" in html_of(client[0]) and "Comptoir France" in html_of(client[0])
    assert "ACME Informatique" not in text_of(amelie[0])

    # Nobody without consent, e-mail, the theme, or with a suppressed address; nobody of de.
    for address in ("pending@example.org", "gone@example.org", "bounced@example.org",
                    "sms@example.org", "events@example.org", "hans@example.de"):
        assert mails_to(smtp, address) == []
    assert len(smtp.received) == 3

    done = progress(app, shops.fr, campaign_id)
    assert (done["sent"], done["total"], done["percent"], done["status"]) == (3, 3, 100, DONE)
    assert (done["opened"], done["clicked"]) == (0, 0)
    with as_tenant(app, shops.fr):  # what the tracking links record, for readers who allow it
        row = db.session.scalars(select(Delivery)).first()
        row.opened_at = row.clicked_at = datetime.now(UTC)
        db.session.commit()
    assert progress(app, shops.fr, campaign_id)["opened"] == 1
    assert progress(app, shops.fr, campaign_id)["clicked"] == 1
    rows = deliveries(app, shops.fr)
    assert {(r.subscriber_tenant_id, r.status) for r in rows} == {
        (shops.fr.id, SENT), (shops.acme.id, SENT)}
    assert all(r.kind == MARKETING and r.campaign_id == campaign_id for r in rows)
    # The reseller's customer leaves through the link: unsubscribed at acme, in one click.
    response = app.test_client().post(client[0]["List-Unsubscribe"].strip("<>"),
                                      data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    with as_tenant(app, shops.acme):
        assert db.session.get(Subscriber, readers["client"]).status == UNSUBSCRIBED

    # Sending again sends nothing twice: the campaign refuses, its jobs find nothing to claim.
    with pytest.raises(campaigns.CampaignError):
        start(app, shops.fr, campaign_id)
    run_batch(app, tenant_id=shops.fr.id, campaign_id=campaign_id,
                         delivery_ids=[r.id for r in rows])
    assert len(smtp.received) == 3


def test_a_second_start_and_doubled_jobs_mail_nobody_twice(app, shops, readers, monkeypatch):
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr(campaigns, "enqueue", lambda name, **kw: queued.append(kw))
    campaign_id = make_campaign(app, shops.fr)
    assert start(app, shops.fr, campaign_id) == 4  # amelie, john, events (no theme), client
    assert start(app, shops.fr, campaign_id) == 0  # a doubled start adds nobody
    assert len(deliveries(app, shops.fr)) == 4
    assert progress(app, shops.fr, campaign_id)["status"] == RUNNING
    # Both starts queued the same waiting rows: every job runs, each reader gets one mail.
    assert len(queued) == 2 and queued[0] == queued[1]
    for batch in queued + queued:
        run_batch(app, **batch)
    received = [r.rcpt_tos[0] for r in shops.smtp.received]
    assert sorted(received) == sorted({"amelie@example.org", "john@example.org",
                                       "events@example.org", "client@acme.example"})
    assert progress(app, shops.fr, campaign_id)["status"] == DONE


def test_batches_follow_the_batch_size(app, shops, readers, monkeypatch):
    with app.app_context():
        tenants.update_plugin_settings(db.session.get(Tenant, shops.fr.id), "newsletters",
                                       {"batch_size": 1})
        db.session.commit()
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr(campaigns, "enqueue", lambda name, **kw: queued.append(kw))
    campaign_id = make_campaign(app, shops.fr, theme="promotions")
    start(app, shops.fr, campaign_id)
    assert [len(batch["delivery_ids"]) for batch in queued] == [1, 1, 1]
    run_batch(app, **queued[0])
    halfway = progress(app, shops.fr, campaign_id)
    assert (halfway["sent"], halfway["queued"], halfway["percent"]) == (1, 2, 33)
    assert halfway["status"] == RUNNING
    # Stopped halfway: the messages still waiting are skipped, the jobs find nothing.
    with as_tenant(app, shops.fr):
        assert campaigns.cancel(db.session.get(Campaign, campaign_id)) == 2
    for batch in queued[1:]:
        run_batch(app, **batch)
    assert len(shops.smtp.received) == 1
    stopped = progress(app, shops.fr, campaign_id)
    assert (stopped["sent"], stopped["skipped"], stopped["status"]) == (1, 2, CANCELLED)


def test_an_unsubscribe_after_the_start_is_honoured(app, shops, readers, monkeypatch):
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr(campaigns, "enqueue", lambda name, **kw: queued.append(kw))
    campaign_id = make_campaign(app, shops.fr, theme="promotions")
    start(app, shops.fr, campaign_id)
    with as_tenant(app, shops.fr):
        consent.withdraw(info(shops.fr), db.session.get(Subscriber, readers["amelie"]),
                         source="test")
    with as_tenant(app, shops.acme):
        consent.withdraw(info(shops.acme), db.session.get(Subscriber, readers["client"]),
                         source="test")
    for batch in queued:
        run_batch(app, **batch)
    assert [r.rcpt_tos for r in shops.smtp.received] == [["john@example.org"]]
    result = progress(app, shops.fr, campaign_id)
    assert (result["sent"], result["skipped"], result["status"]) == (1, 2, DONE)
    skipped = [r for r in deliveries(app, shops.fr) if r.status == SKIPPED]
    assert {r.email for r in skipped} == {"amelie@example.org", "client@acme.example"}
    assert all(r.error == campaigns.LEFT_REASON for r in skipped)


def test_frequency_cap_skips_readers_who_had_enough(app, shops, readers):
    """John reads weekly and had a newsletter from fr two days ago; the acme client had
    three from acme itself this week (the office's cap is three)."""
    add_subscriber(app, shops.fr, "weekly@example.org", frequency="weekly")
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    with as_tenant(app, shops.fr):
        db.session.get(Subscriber, readers["john"]).frequency = "weekly"
        db.session.add(Delivery(dedupe_key="earlier:john", kind=MARKETING, status=SENT,
                                email="john@example.org", created_at=two_days_ago))
        db.session.commit()
    with as_tenant(app, shops.acme):
        for n in range(3):
            db.session.add(Delivery(dedupe_key=f"own:{n}", kind=MARKETING, status=SENT,
                                    email="client@acme.example", created_at=two_days_ago))
        db.session.commit()
    campaign_id = make_campaign(app, shops.fr, theme="promotions")
    start(app, shops.fr, campaign_id)
    got = sorted(r.rcpt_tos[0] for r in shops.smtp.received)
    assert got == ["amelie@example.org", "weekly@example.org"]
    rows = {r.email: r for r in deliveries(app, shops.fr) if r.campaign_id == campaign_id}
    assert rows["john@example.org"].status == SKIPPED
    assert rows["client@acme.example"].status == SKIPPED
    assert rows["john@example.org"].error == "frequency cap"
    assert progress(app, shops.fr, campaign_id)["skipped"] == 2


def test_a_temporary_failure_is_retried_without_duplicates(app, shops, readers):
    from tests.mailserver import free_port

    fr_row = lambda: db.session.get(Tenant, shops.fr.id)  # noqa: E731
    with app.app_context():
        tenants.update_plugin_settings(fr_row(), "newsletters",
                                       {"smtp_url": f"smtp://127.0.0.1:{free_port()}"})
        db.session.commit()
    campaign_id = make_campaign(app, shops.fr, theme="promotions")
    start(app, shops.fr, campaign_id)  # the job fails and is left for Huey to retry
    assert shops.smtp.received == []
    failed = progress(app, shops.fr, campaign_id)
    assert failed["failed"] == 3 and failed["sent"] == 0
    ids = [r.id for r in deliveries(app, shops.fr)]
    with pytest.raises(campaigns.RetryLater):
        run_batch(app, tenant_id=shops.fr.id, campaign_id=campaign_id, delivery_ids=ids)
    with app.app_context():
        tenants.update_plugin_settings(fr_row(), "newsletters",
                                       {"smtp_url": shops.smtp.url})
        db.session.commit()
    for _attempt in range(2):  # Huey's retry, and one more for good measure
        run_batch(app, tenant_id=shops.fr.id, campaign_id=campaign_id, delivery_ids=ids)
    assert sorted(r.rcpt_tos[0] for r in shops.smtp.received) == [
        "amelie@example.org", "client@acme.example", "john@example.org"]
    assert progress(app, shops.fr, campaign_id)["sent"] == 3


# --- refusals that send nothing ------------------------------------------------------------


def test_a_missing_translation_stops_the_start_then_the_fallback_sends_it(app, shops, readers):
    campaign_id = make_campaign(app, shops.fr, {"fr_FR": (FR_SUBJECT, FR_BODY)},
                                theme="promotions")
    with as_tenant(app, shops.fr):
        campaign = db.session.get(Campaign, campaign_id)
        assert campaigns.missing_translations(campaign, info(shops.fr)) == {"en": 1}
    with pytest.raises(campaigns.CampaignError) as refused:
        start(app, shops.fr, campaign_id)
    with app.test_request_context(), force_locale("en"):
        expected = mailing.translations.ngettext(
            "%(locale)s (%(num)d reader)", "%(locale)s (%(num)d readers)", 1, locale="en")
    assert expected in str(refused.value)
    assert shops.smtp.received == [] and deliveries(app, shops.fr) == []
    assert progress(app, shops.fr, campaign_id)["status"] == DRAFT

    with as_tenant(app, shops.fr):
        campaign = db.session.get(Campaign, campaign_id)
        campaigns.save(info(shops.fr), campaign, name=campaign.name, theme="promotions",
                       fallback_locale="fr_FR")
        assert campaigns.missing_translations(campaign, info(shops.fr)) == {}
    start(app, shops.fr, campaign_id)
    john = mails_to(shops.smtp, "john@example.org")
    assert len(john) == 1 and john[0]["Subject"] == "Les soldes commencent, John !"


def test_bad_content_and_settings_are_refused_when_saved(app, shops):
    with as_tenant(app, shops.fr), app.test_request_context(), force_locale("en"):
        shop = info(shops.fr)
        campaign = campaigns.save(shop, None, name="Rentrée")
        with pytest.raises(campaigns.CampaignError) as unknown:
            campaigns.save_translation(shop, campaign, "fr_FR", "Bonjour {{ frist_name }}",
                                       "Texte")
        assert "frist_name" in str(unknown.value)
        with pytest.raises(campaigns.CampaignError, match="cannot be filled in"):
            campaigns.save_translation(shop, campaign, "fr_FR", "Sujet", "{% if %}")
        with pytest.raises(campaigns.CampaignError) as other_language:
            campaigns.save_translation(shop, campaign, "de_DE", "Hallo", "Text")
        assert other_language.value.field == "locale" and "de_DE" in str(other_language.value)
        with pytest.raises(campaigns.CampaignError) as empty:
            campaigns.save_translation(shop, campaign, "fr_FR", "  ", "Texte")
        assert empty.value.field == "subject"
        assert campaigns.translations_of(campaign) == {}

        with pytest.raises(campaigns.CampaignError) as rule:
            campaigns.save(shop, campaign, name="Rentrée", segment="boughtin:imprimantes")
        assert rule.value.field == "segment"
        assert "unknown term 'boughtin' at 1" in str(rule.value)
        with pytest.raises(campaigns.CampaignError) as theme:
            campaigns.save(shop, campaign, name="Rentrée", theme="gossip")
        assert theme.value.field == "theme"
        with pytest.raises(campaigns.CampaignError) as fallback:
            campaigns.save(shop, campaign, name="Rentrée", fallback_locale="de_DE")
        assert fallback.value.field == "fallback_locale"
        with pytest.raises(campaigns.CampaignError) as name:
            campaigns.save(shop, campaign, name="   ")
        assert name.value.field == "name"
        db.session.rollback()
        stored = db.session.get(Campaign, campaign.id)
        assert (stored.name, stored.segment, stored.theme, stored.fallback_locale) == (
            "Rentrée", "", "", None)
        with pytest.raises(campaigns.CampaignError, match="at least one language"):
            campaigns.start(stored, shop)


def test_schedule_in_the_past_is_refused_and_the_periodic_job_starts_due_ones(app, shops,
                                                                              readers):
    campaign_id = make_campaign(app, shops.fr, theme="promotions")
    now = datetime.now(UTC)
    with as_tenant(app, shops.fr):
        campaign = db.session.get(Campaign, campaign_id)
        with pytest.raises(campaigns.CampaignError) as past:
            campaigns.schedule(campaign, now - timedelta(minutes=1))
        assert past.value.field == "scheduled_at"
        with pytest.raises(campaigns.CampaignError):
            campaigns.schedule(campaign, (now + timedelta(hours=1)).replace(tzinfo=None))
        db.session.rollback()
        assert db.session.get(Campaign, campaign_id).status == DRAFT
        campaigns.schedule(db.session.get(Campaign, campaign_id), now + timedelta(hours=1))
    # de's scheduled campaign is started by the same job, for de's readers only.
    de_campaign = make_campaign(app, shops.de, {"de_DE": ("Hallo {{ first_name }}", "Text")})
    with as_tenant(app, shops.de):
        campaigns.schedule(db.session.get(Campaign, de_campaign), now + timedelta(minutes=30))

    with app.app_context():
        assert campaigns.start_due((now + timedelta(minutes=10)).isoformat()) == {}
    assert shops.smtp.received == []
    assert progress(app, shops.fr, campaign_id)["status"] == SCHEDULED
    with app.app_context():
        started = campaigns.start_due((now + timedelta(hours=2)).isoformat())
    assert started == {"fr": 1, "de": 1}
    assert sorted(r.rcpt_tos[0] for r in shops.smtp.received) == [
        "amelie@example.org", "client@acme.example", "hans@example.de", "john@example.org"]
    assert progress(app, shops.fr, campaign_id)["status"] == DONE
    with app.app_context():  # nothing is due any more
        assert campaigns.start_due((now + timedelta(hours=3)).isoformat()) == {}
    assert len(shops.smtp.received) == 4


def test_a_due_campaign_that_cannot_start_goes_back_to_draft(app, shops, readers):
    campaign_id = make_campaign(app, shops.fr, {"fr_FR": (FR_SUBJECT, FR_BODY)})
    now = datetime.now(UTC)
    with as_tenant(app, shops.fr):
        campaigns.schedule(db.session.get(Campaign, campaign_id), now + timedelta(minutes=5))
    with app.app_context():
        assert campaigns.start_due((now + timedelta(minutes=6)).isoformat()) == {}
    assert progress(app, shops.fr, campaign_id)["status"] == DRAFT
    assert shops.smtp.received == []


def test_cancel_stops_a_scheduled_campaign(app, shops, readers):
    campaign_id = make_campaign(app, shops.fr)
    now = datetime.now(UTC)
    with as_tenant(app, shops.fr):
        campaign = db.session.get(Campaign, campaign_id)
        campaigns.schedule(campaign, now + timedelta(minutes=5))
        campaigns.cancel(campaign)
    with app.app_context():
        assert campaigns.start_due((now + timedelta(minutes=6)).isoformat()) == {}
    assert shops.smtp.received == []
    with pytest.raises(campaigns.CampaignError):
        start(app, shops.fr, campaign_id)


# --- preview and test send -----------------------------------------------------------------


def test_test_send_is_marked_and_counts_nowhere(app, shops, readers):
    campaign_id = make_campaign(app, shops.fr)
    with as_tenant(app, shops.fr):
        campaign = db.session.get(Campaign, campaign_id)
        campaigns.test_send(campaign, info(shops.fr), "staff@comptoir.example", "fr_FR",
                            name="Sam Staff")
        assert campaign.name == "Soldes d'hiver"  # the caller's object is still usable
        with pytest.raises(campaigns.CampaignError) as bad:
            campaigns.test_send(campaign, info(shops.fr), "not an address", "en")
        assert bad.value.field == "address"
    test = mails_to(shops.smtp, "staff@comptoir.example")
    assert len(test) == 1
    expected = gettext_in(app, "fr_FR", "[TEST] %(subject)s",
                          subject="Les soldes commencent, Sam !")
    assert test[0]["Subject"] == expected
    assert deliveries(app, shops.fr) == []
    assert progress(app, shops.fr, campaign_id)["total"] == 0


def test_preview_renders_each_language_and_falls_back(app, shops):
    campaign_id = make_campaign(app, shops.fr, {"fr_FR": (FR_SUBJECT, FR_BODY)})
    with as_tenant(app, shops.fr):
        campaign = db.session.get(Campaign, campaign_id)
        message = campaigns.preview(campaign, "fr_FR", info(shops.fr))
        assert message["Subject"] == "Les soldes commencent, Ada !"
        assert "Tout Comptoir France est à -20 %." in html_of(message)
        assert message["List-Unsubscribe"].startswith("<http://localhost/s/fr/newsletter/")
        with pytest.raises(campaigns.CampaignError):
            campaigns.preview(campaign, "en", info(shops.fr))
        campaigns.save(info(shops.fr), campaign, name=campaign.name, fallback_locale="fr_FR")
        assert campaigns.preview(campaign, "en", info(shops.fr))["Subject"].startswith(
            "Les soldes")


# --- another office ------------------------------------------------------------------------


def test_another_office_sees_none_of_it(app, shops, readers):
    fr_campaign = make_campaign(app, shops.fr, theme="promotions")
    de_campaign = make_campaign(app, shops.de, {"de_DE": ("Hallo {{ first_name }}",
                                                          "Guten Tag.")})
    with as_tenant(app, shops.de):
        assert db.session.get(Campaign, fr_campaign) is None
        assert db.session.get(Subscriber, readers["amelie"]) is None
        de = db.session.get(Campaign, de_campaign)
        assert [s.email for _shop, s in campaigns.audience(de, info(shops.de))] == [
            "hans@example.de"]
        assert campaigns.resellers_of(info(shops.de)) == []
    start(app, shops.de, de_campaign)
    assert [r.rcpt_tos for r in shops.smtp.received] == [["hans@example.de"]]
    with as_tenant(app, shops.fr):
        fr = db.session.get(Campaign, fr_campaign)
        assert "hans@example.de" not in {s.email for _s, s in campaigns.audience(
            fr, info(shops.fr))}
        assert db.session.scalar(select(func.count(Delivery.id))) == 0
        assert db.session.scalar(select(func.count(CampaignTranslation.id))) == 2
    # A campaign job given another shop's delivery ids claims nothing.
    de_ids = [r.id for r in deliveries(app, shops.de)]
    run_batch(app, tenant_id=shops.fr.id, campaign_id=fr_campaign, delivery_ids=de_ids)
    assert len(shops.smtp.received) == 1
    # A reseller's own campaign reaches its own readers only.
    acme_campaign = make_campaign(app, shops.acme, {"fr_FR": (FR_SUBJECT, FR_BODY)})
    start(app, shops.acme, acme_campaign)
    assert mails_to(shops.smtp, "client@acme.example")[0]["Subject"].startswith("Les soldes")
    assert len(shops.smtp.received) == 2


# --- the staff's pages ---------------------------------------------------------------------


def staff(app: Any, tenant: Tenant, email: str = "staff@comptoir.example") -> Any:
    make_customer(app, tenant, email, "Sam Staff", role="staff")
    client = app.test_client()
    login(client, tenant, email)
    return client


def test_staff_pages_are_for_staff_only(app, shops, readers):
    campaign_id = make_campaign(app, shops.fr)
    anonymous = app.test_client()
    response = anonymous.get("/s/fr/staff/newsletters")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    make_customer(app, shops.fr, "lea@example.org")
    customer = app.test_client()
    login(customer, shops.fr, "lea@example.org")
    for url in ("/s/fr/staff/newsletters", "/s/fr/staff/newsletters/subscribers",
                f"/s/fr/staff/newsletters/campaigns/{campaign_id}",
                f"/s/fr/staff/newsletters/campaigns/{campaign_id}/progress.json"):
        assert customer.get(url).status_code == 403
    assert customer.post(f"/s/fr/staff/newsletters/campaigns/{campaign_id}/start"
                         ).status_code == 403
    assert shops.smtp.received == []
    home = customer.get("/s/fr/").get_data(as_text=True)
    assert "/staff/newsletters" not in home
    assert "/staff/newsletters" in staff(app, shops.fr).get("/s/fr/").get_data(as_text=True)


def test_empty_pages_render(app, shops):
    client = staff(app, shops.fr)
    page = client.get("/s/fr/staff/newsletters")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'class="empty"' in html and 'id="count-subscribed">0<' in html
    assert client.get("/s/fr/staff/newsletters/subscribers").status_code == 200
    assert client.get("/s/fr/staff/newsletters/subscribers?q=nobody&page=9").status_code == 200
    assert client.get("/s/fr/staff/newsletters/campaigns/new").status_code == 200


def test_staff_write_preview_test_and_send_a_campaign(app, shops, readers):
    client = staff(app, shops.fr)
    base = "/s/fr/staff/newsletters"
    refused = client.post(f"{base}/campaigns/new", data={
        "name": "Noël", "segment": "spent_over:lots", "include_resellers": "yes"})
    assert refused.status_code == 422
    expected = gettext_in(app, "fr_FR", "expected a number after spent_over: at %(position)s "
                          "(e.g. spent_over:500 or spent_over:99.90)", position=12)
    assert str(escape(expected)) in refused.get_data(as_text=True)
    with as_tenant(app, shops.fr):
        assert db.session.scalar(select(func.count(Campaign.id))) == 0
    created = client.post(f"{base}/campaigns/new", data={
        "name": "Noël", "theme": "promotions", "segment": "", "include_resellers": "yes"})
    assert created.status_code == 303
    url = created.headers["Location"]
    campaign_id = int(url.rstrip("/").rsplit("/", 1)[1])

    page = client.get(url).get_data(as_text=True)
    assert 'id="missing-translations"' in page  # nothing written yet
    bad = client.post(f"{url}/translations/fr_FR", data={"subject": "Hé {{ prenom }}",
                                                         "body": "Texte"})
    assert bad.status_code == 422 and "prenom" in bad.get_data(as_text=True)
    assert client.get(f"{url}/translations/de_DE").status_code == 404
    for locale, (subject, body) in (("fr_FR", (FR_SUBJECT, FR_BODY)),
                                    ("en", (EN_SUBJECT, EN_BODY))):
        saved = client.post(f"{url}/translations/{locale}", data={"subject": subject,
                                                                  "body": body})
        assert saved.status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert 'id="missing-translations"' not in page and 'id="reach"' in page

    preview = client.get(f"{url}/preview/en")
    assert preview.status_code == 200
    assert "The sale starts, Ada!" in preview.get_data(as_text=True)
    assert "srcdoc=" in preview.get_data(as_text=True)

    assert client.post(f"{url}/test", data={"address": "boss@comptoir.example",
                                            "locale": "en"}).status_code == 303
    assert len(mails_to(shops.smtp, "boss@comptoir.example")) == 1

    past = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    client.post(f"{url}/schedule", data={"at": past})
    assert progress(app, shops.fr, campaign_id)["status"] == DRAFT
    assert client.post(f"{url}/schedule", data={"at": "tomorrow"}).status_code == 303
    assert progress(app, shops.fr, campaign_id)["status"] == DRAFT
    later = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    client.post(f"{url}/schedule", data={"at": later})
    assert progress(app, shops.fr, campaign_id)["status"] == SCHEDULED

    sent = client.post(f"{url}/start")
    assert sent.status_code == 303
    assert len(shops.smtp.received) == 4  # the test, then amelie, john and acme's client
    data = client.get(f"{url}/progress.json").get_json()
    assert (data["sent"], data["total"], data["percent"], data["status"]) == (3, 3, 100, DONE)
    page = client.get(url).get_data(as_text=True)
    assert 'data-count="sent">3<' in page
    # The signed-in staff member is still who the page says after the start.
    assert "Sam Staff" in page
    listing = client.get(base).get_data(as_text=True)
    assert f'id="campaign-{campaign_id}"' in listing


def test_subscriber_pages_and_export(app, shops, readers):
    client = staff(app, shops.fr)
    base = "/s/fr/staff/newsletters"
    listing = client.get(f"{base}/subscribers?q=amelie").get_data(as_text=True)
    assert "amelie@example.org" in listing and "john@example.org" not in listing
    detail = client.get(f"{base}/subscribers/{readers['amelie']}")
    assert detail.status_code == 200 and "amelie@example.org" in detail.get_data(as_text=True)
    exported = client.get(f"{base}/subscribers/{readers['amelie']}/export.json")
    assert exported.status_code == 200
    assert exported.get_json()["subscriber"]["email"] == "amelie@example.org"
    assert "attachment" in exported.headers["Content-Disposition"]


def test_the_subscriber_page_speaks_the_shops_language(app, shops, readers):
    """Codes in the ledger (``requested``, ``footer_form``, ``weekly``) are shown as words,
    and dates the French way, in a French shop."""
    from datetime import date

    from flask_babel import format_date

    from plugins.newsletters.models import ConsentEvent

    with as_tenant(app, shops.fr):
        row = db.session.get(Subscriber, readers["amelie"])
        row.frequency, row.birthday = "weekly", date(1990, 5, 31)
        db.session.add(ConsentEvent(subscriber_id=row.id, action="requested",
                                    source="footer_form", wording="J'accepte",
                                    wording_version="abc"))
        db.session.commit()
    page = staff(app, shops.fr).get(
        f"/s/fr/staff/newsletters/subscribers/{readers['amelie']}").get_data(as_text=True)
    for msgid in ("asked to subscribe", "the shop's subscribe form", "weekly at most"):
        assert str(escape(gettext_in(app, "fr_FR", msgid))) in page
    with app.test_request_context(), force_locale("fr_FR"):
        assert format_date(date(1990, 5, 31), "long") in page  # 31 mai 1990
    assert ">footer_form<" not in page and ">requested<" not in page


def test_another_offices_ids_are_404_for_its_staff(app, shops, readers):
    fr_campaign = make_campaign(app, shops.fr)
    client = staff(app, shops.de, "staff@comptoir.example")
    base = "/s/de/staff/newsletters"
    for url in (f"{base}/campaigns/{fr_campaign}", f"{base}/campaigns/{fr_campaign}/edit",
                f"{base}/campaigns/{fr_campaign}/progress.json",
                f"{base}/campaigns/{fr_campaign}/preview/fr_FR",
                f"{base}/subscribers/{readers['amelie']}",
                f"{base}/subscribers/{readers['amelie']}/export.json"):
        assert client.get(url).status_code == 404, url
    for url in (f"{base}/campaigns/{fr_campaign}/start", f"{base}/campaigns/{fr_campaign}/cancel",
                f"{base}/campaigns/{fr_campaign}/test"):
        assert client.post(url, data={"address": "x@example.org", "locale": "de_DE"}
                           ).status_code == 404, url
    assert shops.smtp.received == []
    with as_tenant(app, shops.fr):
        assert db.session.get(Campaign, fr_campaign).status == DRAFT
    listing = client.get(base).get_data(as_text=True)
    assert "Soldes" not in listing and 'id="count-subscribed">1<' in listing
    assert "amelie" not in client.get(f"{base}/subscribers").get_data(as_text=True)
    # Nor does a reseller's staff see its office's campaigns.
    acme = staff(app, shops.acme, "staff@acme.example")
    assert acme.get(f"/s/acme/staff/newsletters/campaigns/{fr_campaign}").status_code == 404
