"""/staff/settings: tenant admins only; resellers inherit; refused input saves nothing."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from comptoir.core.db import db
from comptoir.tenants import resolution, service
from tests.conftest import translated
from tests.shop_settings.conftest import PASSWORD, logged_in

URL = "/s/{}/staff/settings"


def _stored(app, slug):
    with app.app_context():
        row = service.get_tenant(slug)
        plugins = {p.plugin: dict(p.settings or {}) for p in row.plugins}
        db.session.commit()
        return dict(row.settings or {}), (row.locale, row.currency, row.timezone), plugins


def _info(app, slug):
    with app.app_context():
        return resolution.directory().by_slug(slug)


def _shop_form(**values):
    return {"section": "shop", "locale": "fr_FR", "currency": "EUR",
            "timezone": "Europe/Paris", "languages": "", "prices": "auto", **values}


def test_an_admin_who_logs_in_lands_on_the_settings_page_asked_for(app, offices):
    """In ``/s/<slug>/`` mode the login's ``next`` names the page with its ``/s/<slug>``
    prefix; without it ``safe_next`` refused it and the admin landed on the home page."""
    for slug, wanted in (("fr", "/s/fr/staff/settings/legal"),
                         ("acme", "/s/acme/staff/settings?section=shop")):
        http = app.test_client()
        visitor = http.get(wanted)
        assert visitor.status_code == 302
        location = urlsplit(visitor.headers["Location"])
        assert location.path == f"/s/{slug}/login"
        back = parse_qs(location.query)["next"][0]
        assert back == wanted
        logged = http.post(f"/s/{slug}/login?{urlencode({'next': back})}",
                           data={"email": f"admin@{slug}.example", "password": PASSWORD})
        assert logged.status_code == 302
        assert logged.headers["Location"].endswith(wanted)
        assert http.get(wanted).status_code == 200


def test_a_visitor_is_sent_to_the_login_page(client, offices):
    for url in (URL.format("fr"), URL.format("fr") + "/legal"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/s/fr/login" in response.headers["Location"]
    assert client.post(URL.format("fr"), data=_shop_form()).status_code == 302


def test_staff_and_customers_get_a_403(app, offices):
    staff = logged_in(app, "fr", "staff@fr.example")
    assert staff.get(URL.format("fr")).status_code == 403
    assert staff.post(URL.format("fr"), data=_shop_form(prices="net")).status_code == 403
    assert staff.get(URL.format("fr") + "/legal").status_code == 403
    assert _stored(app, "fr")[0] == {}


def test_an_admin_of_one_shop_is_a_stranger_in_another(app, offices, admin):
    client = admin("fr")
    response = client.get(URL.format("gb"))
    assert response.status_code == 302  # not logged in there: a session is per shop


def test_an_office_admin_sees_and_saves_the_settings(app, admin):
    client = admin("fr")
    page = client.get(URL.format("fr"))
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for expected in ('name="locale"', 'name="currency"', 'name="timezone"', 'name="prices"',
                     'name="oss_threshold"', 'name="tax_class"', 'name="override-vies_check"',
                     'name="ps-siren"', "SIREN number of the seller (9 digits)."):
        assert expected in text
    response = client.post(URL.format("fr"), data=_shop_form(
        languages="en-gb, de_CH", prices="gross", timezone="Europe/Paris"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/s/fr/staff/settings")
    info = _info(app, "fr")
    assert info.languages == ("fr_FR", "en_GB", "de_CH")
    assert info.settings["prices"] == "gross"
    assert info.timezone == "Europe/Paris"
    page = client.get(URL.format("fr")).get_data(as_text=True)
    assert translated(app, "fr_FR", "Settings saved.") in page
    assert 'value="en_GB, de_CH"' in page


def test_vat_options_default_variant_and_reseller_permissions(app, admin):
    client = admin("fr")
    assert client.post(URL.format("fr"), data={
        "section": "vat", "oss_threshold": "12 000,50", "oss_opted_in": ["0", "1"],
        "vies_check": "0"}).status_code == 303
    assert client.post(URL.format("fr"), data={
        "section": "variants", "variant_attr": ["keyboard", "plug", ""],
        "variant_value": ["AZERTY", "E", ""]}).status_code == 303
    assert client.post(URL.format("fr"), data={
        "section": "overrides", "override-languages": "0", "override-prices": ["0", "1"],
        "override-default_variant": "0", "override-vies_check": "0"}).status_code == 303
    settings = _stored(app, "fr")[0]
    assert settings == {"oss_threshold": "12000.50", "oss_opted_in": True, "vies_check": False,
                        "default_variant": {"keyboard": "AZERTY", "plug": "E"},
                        "reseller_overrides": ["prices"]}
    assert _info(app, "acme").settings["default_variant"] == {"keyboard": "AZERTY", "plug": "E"}


def test_scheduling_and_removing_a_vat_rate_change(app, admin):
    client = admin("fr")
    response = client.post(URL.format("fr"), data={
        "section": "vat_change_add", "tax_class": "reduced", "rate": "6,5",
        "valid_from": "2027-01-01"})
    assert response.status_code == 303
    change = {"tax_class": "reduced", "rate": "6.5", "valid_from": "2027-01-01"}
    assert _stored(app, "fr")[0]["vat_rate_changes"] == [change]
    assert list(_info(app, "fr").settings["vat_rate_changes"]) == [change]
    assert "2027-01-01" in client.get(URL.format("fr")).get_data(as_text=True)
    assert client.post(URL.format("fr"), data={
        "section": "vat_change_remove", "index": "0"}).status_code == 303
    assert "vat_rate_changes" not in _stored(app, "fr")[0]


@pytest.mark.parametrize(("form", "message"), [
    (_shop_form(languages="fr_CH, xx_YY"), "languages.1"),
    (_shop_form(locale="xx_XX"), "is not a locale Babel knows"),
    (_shop_form(currency="EURO"), "is not an ISO 4217 currency code"),
    (_shop_form(timezone="Mars/Olympus"), "is not a time zone"),
    (_shop_form(prices="sometimes"), "Choose how prices are shown."),
    ({"section": "vat", "oss_threshold": "beaucoup", "oss_opted_in": "0", "vies_check": "0"},
     "Enter an amount in figures, such as 10000 or 10000.00."),
    ({"section": "vat", "oss_threshold": "-5", "oss_opted_in": "0", "vies_check": "0"},
     "Enter an amount in figures, such as 10000 or 10000.00."),
    ({"section": "vat_change_add", "tax_class": "standard", "rate": "21", "valid_from": ""},
     "Give the date the new rate comes into force."),
    ({"section": "vat_change_add", "tax_class": "standard", "rate": "21",
      "valid_from": "31/12/2027"}, "Enter a date as YYYY-MM-DD."),
    ({"section": "vat_change_add", "tax_class": "", "rate": "21", "valid_from": "2027-01-01"},
     "Choose a tax class."),
    ({"section": "vat_change_add", "tax_class": "accommodation", "rate": "8",
      "valid_from": "2027-01-01"}, "FR has no tax class 'accommodation'"),
    ({"section": "vat_change_add", "tax_class": "standard", "rate": "120",
      "valid_from": "2027-01-01"}, "Enter the new rate in percent, such as 20 or 5.5."),
    ({"section": "variants", "variant_attr": ["keyboard"], "variant_value": [""]},
     ("Give a value for '%(name)s'.", {"name": "keyboard"})),
    ({"section": "plugin", "plugin": "locale_fr", "ps-siren": "12345"},
     "does not match"),
    ({"section": "plugin", "plugin": "locale_fr", "ps-withdrawal_days": "quinze"},
     "Enter a whole number."),
    ({"section": "plugin", "plugin": "locale_fr", "ps-withdrawal_days": "7"},
     "less than the minimum"),
])
def test_bad_input_is_a_clear_400_and_saves_nothing(app, admin, form, message):
    client = admin("fr")
    before = _stored(app, "fr")
    response = client.post(URL.format("fr"), data=form)
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    msgid, params = message if isinstance(message, tuple) else (message, {})
    assert translated(app, "fr_FR", msgid, **params) in text
    assert 'role="alert"' in text
    assert _stored(app, "fr") == before


def test_what_was_typed_is_shown_again_to_be_corrected(app, admin):
    client = admin("fr")
    response = client.post(URL.format("fr"), data={
        "section": "vat_change_add", "tax_class": "reduced", "rate": "6,5", "valid_from": ""})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="6,5"' in text
    assert '<option value="reduced" selected>' in text
    response = client.post(URL.format("fr"), data=_shop_form(languages="de_CH, xx_YY"))
    assert 'value="de_CH, xx_YY"' in response.get_data(as_text=True)


def test_the_country_plugins_legal_identity(app, admin):
    client = admin("fr")
    response = client.post(URL.format("fr"), data={
        "section": "plugin", "plugin": "locale_fr", "ps-siren": "123456789",
        "ps-rcs_city": "Lyon", "ps-withdrawal_days": "30", "ps-legal_form": ""})
    assert response.status_code == 303
    assert _stored(app, "fr")[2]["locale_fr"] == {"siren": "123456789", "rcs_city": "Lyon",
                                                   "withdrawal_days": 30}
    # An emptied field removes the value (the default applies again).
    client.post(URL.format("fr"), data={"section": "plugin", "plugin": "locale_fr",
                                        "ps-rcs_city": ""})
    assert _stored(app, "fr")[2]["locale_fr"] == {"siren": "123456789", "withdrawal_days": 30}
    # A plugin the shop did not enable, or one that is no country plugin, is not for here.
    for plugin in ("locale_de", "approvals", "nonsense"):
        assert client.post(URL.format("fr"), data={"section": "plugin", "plugin": plugin,
                                                   "ps-x": "1"}).status_code == 400


def test_a_reseller_sees_its_offices_values_and_sets_only_what_is_allowed(app, admin):
    office = admin("fr")
    office.post(URL.format("fr"), data=_shop_form(languages="en_GB", prices="net"))
    office.post(URL.format("fr"), data={"section": "plugin", "plugin": "locale_fr",
                                        "ps-siren": "123456789"})
    client = admin("acme")
    page = client.get(URL.format("acme"))
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert translated(app, "fr_FR", "from your office") in text
    assert 'id="locale"' not in text and 'name="oss_threshold"' not in text
    assert 'name="override-prices"' not in text and 'name="tax_class"' not in text
    assert 'name="prices"' in text and 'name="languages"' in text
    assert 'placeholder="123456789"' in text  # the office's SIREN, until it gives its own

    # Sent back unchanged, the office's values stay the office's.
    assert client.post(URL.format("acme"), data={
        "section": "shop", "languages": "en_GB", "prices": "net"}).status_code == 303
    assert _stored(app, "acme")[0] == {}
    assert client.post(URL.format("acme"), data={
        "section": "shop", "languages": "en_GB", "prices": "gross"}).status_code == 303
    assert _stored(app, "acme")[0] == {"prices": "gross"}
    assert _info(app, "acme").settings["prices"] == "gross"
    assert _info(app, "fr").settings["prices"] == "net"
    page = client.get(URL.format("acme")).get_data(as_text=True)
    assert translated(app, "fr_FR", "use my office's value again") in page

    # Keys the office keeps for itself: a 400 naming them, nothing saved.
    for form, field in (
        ({"section": "vat", "oss_threshold": "1", "vies_check": "0"}, "oss_threshold"),
        ({"section": "vat", "vies_check": ["0", "1"]}, "vies_check"),
        ({"section": "shop", "prices": "net", "locale": "en_GB"}, "locale"),
        ({"section": "overrides", "override-vies_check": "1"}, "reseller_overrides"),
        ({"section": "vat_change_add", "tax_class": "standard", "rate": "21",
          "valid_from": "2027-01-01"}, "vat_rate_changes"),
    ):
        response = client.post(URL.format("acme"), data=form)
        assert response.status_code == 400, form
        assert "your country office sets this for its resellers" in response.get_data(
            as_text=True)
        assert field in response.get_data(as_text=True)
        assert _stored(app, "acme")[0] == {"prices": "gross"}
        assert _stored(app, "acme")[1] == (None, None, None)

    # Its own legal identity, over the office's.
    assert client.post(URL.format("acme"), data={
        "section": "plugin", "plugin": "locale_fr", "ps-siren": "987654321"}).status_code == 303
    assert _info(app, "acme").settings_for("locale_fr")["siren"] == "987654321"
    assert _info(app, "fr").settings_for("locale_fr")["siren"] == "123456789"

    # Back to the office's value.
    assert client.post(URL.format("acme"), data={
        "section": "shop", "languages": "en_GB", "prices": "gross",
        "inherit-prices": ["0", "1"]}).status_code == 303
    assert _stored(app, "acme")[0] == {}
    assert _info(app, "acme").settings["prices"] == "net"


def test_an_office_withdraws_a_permission_and_the_reseller_follows_it_again(app, admin):
    reseller = admin("acme")
    reseller.post(URL.format("acme"), data={"section": "shop", "prices": "gross"})
    assert _info(app, "acme").settings["prices"] == "gross"
    admin("fr").post(URL.format("fr"), data={"section": "overrides",
                                             "override-languages": ["0", "1"]})
    assert _info(app, "acme").settings["prices"] == "auto"
    page = reseller.get(URL.format("acme")).get_data(as_text=True)
    assert 'name="prices"' not in page
    response = reseller.post(URL.format("acme"), data={"section": "shop", "prices": "net"})
    assert response.status_code == 400
    assert _stored(app, "acme")[0] == {"prices": "gross"}


def test_another_office_is_untouched(app, admin):
    admin("fr").post(URL.format("fr"), data=_shop_form(prices="gross"))
    assert _stored(app, "gb")[0] == {}
    client = admin("gb")
    text = client.get(URL.format("gb")).get_data(as_text=True)
    assert 'name="ps-company_number"' in text and 'name="ps-siren"' not in text
