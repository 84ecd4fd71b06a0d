"""The legal footer a newsletter asks the locale for, in the reader's language."""

from __future__ import annotations

from comptoir.core.db import db
from comptoir.tenants.models import Tenant
from comptoir.tenants.resolution import directory
from comptoir.toolkit import mail_footer


def test_the_swiss_footer_speaks_each_offered_language(app, offices):
    with app.app_context():
        office = db.session.query(Tenant).filter_by(slug="ch").one()
        office.settings = {"languages": ["fr_CH"]}
        office.plugins[0].settings = {"uid": "CHE-116.281.710", "legal_form": "AG",
                                      "address": "Bahnhofstrasse 1, 8001 Zürich"}
        db.session.commit()
    with app.test_request_context():
        shop = directory().by_slug("ch")
        french = mail_footer(shop, "fr_CH")
        german = mail_footer(shop, "de_CH")
        italian = mail_footer(shop, "it_CH")  # not offered: the shop's own language
    assert french[:2] == ["Ch", "Bahnhofstrasse 1, 8001 Zürich"]
    assert "n° TVA CHE-116.281.710 TVA" in french[2]
    assert "MWST-Nr. CHE-116.281.710 MWST" in german[2]
    assert italian == german


def test_a_shop_without_a_locale_plugin_has_no_legal_footer(app, make_tenant):
    make_tenant("plain")
    with app.test_request_context():
        assert mail_footer(directory().by_slug("plain"), "fr_FR") == []
