"""update_shop_settings: checked whole, refused changes leave the tenant as it was."""

from __future__ import annotations

import pytest

from comptoir.core.db import db
from comptoir.tenants import resolution, service
from comptoir.tenants.settings import SettingsError


def _save(app, slug, values):
    with app.app_context():
        row = service.get_tenant(slug)
        try:
            return service.update_shop_settings(row, values, "admin@example")
        finally:
            db.session.commit()  # what a caller would do: a refused change commits nothing


def _stored(app, slug):
    with app.app_context():
        row = service.get_tenant(slug)
        return dict(row.settings or {}), (row.locale, row.currency, row.timezone)


def test_an_office_saves_settings_and_every_worker_sees_them(app, app_factory, offices):
    other_worker = app_factory()
    with other_worker.app_context():
        assert resolution.directory().by_slug("fr").settings["prices"] == "auto"
    _save(app, "fr", {"prices": "gross", "languages": ["en_GB", "fr_FR"], "oss_threshold":
                      "12000.50", "locale": "fr_FR", "currency": "eur",
                      "timezone": "Europe/Paris"})
    settings, columns = _stored(app, "fr")
    # The shop's own locale is always offered, first; it is not stored twice.
    assert settings == {"prices": "gross", "languages": ["en_GB"], "oss_threshold": "12000.50"}
    assert columns == ("fr_FR", "EUR", "Europe/Paris")
    with other_worker.app_context():
        info = resolution.directory().by_slug("fr")
    assert info.settings["prices"] == "gross"
    assert info.languages == ("fr_FR", "en_GB")
    assert info.timezone == "Europe/Paris"


@pytest.mark.parametrize(("values", "field"), [
    ({"languages": ["xx_YY"]}, "languages.0"),
    ({"languages": ["klingon"]}, "languages.0"),
    ({"oss_threshold": "ten thousand"}, "oss_threshold"),
    ({"prices": "sometimes"}, "prices"),
    ({"vat_rate_changes": [{"tax_class": "standard", "rate": "21"}]}, "vat_rate_changes.0"),
    ({"vat_rate_changes": [{"tax_class": "luxury", "rate": "33",
                            "valid_from": "2027-01-01"}]}, "vat_rate_changes[0].tax_class"),
    # A class other countries have, but not France.
    ({"vat_rate_changes": [{"tax_class": "accommodation", "rate": "8",
                            "valid_from": "2027-01-01"}]}, "vat_rate_changes[0].tax_class"),
    ({"locale": "xx_XX"}, "locale"),
    ({"currency": "EURO"}, "currency"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"locale": ""}, "locale"),
])
def test_bad_values_are_refused_and_nothing_changes(app, offices, values, field):
    _save(app, "fr", {"prices": "net"})
    before = _stored(app, "fr")
    with pytest.raises(SettingsError) as refused:
        # A good value beside the bad one is not saved either.
        _save(app, "fr", {"vies_check": True, "currency": "CHF", **values})
    assert refused.value.field == field
    assert _stored(app, "fr") == before


def test_an_unknown_tax_class_is_named_with_the_classes_the_country_has(app, offices):
    with pytest.raises(SettingsError) as refused:
        _save(app, "fr", {"vat_rate_changes": [
            {"tax_class": "accommodation", "rate": "8", "valid_from": "2027-01-01"}]})
    assert "accommodation" in refused.value.problem
    assert "standard" in refused.value.problem


def test_a_scheduled_vat_change_is_kept(app, offices):
    change = {"tax_class": "standard", "rate": "21", "valid_from": "2027-01-01"}
    _save(app, "fr", {"vat_rate_changes": [change]})
    assert _stored(app, "fr")[0]["vat_rate_changes"] == [change]


def test_none_removes_a_value(app, offices):
    _save(app, "fr", {"prices": "net", "vies_check": True})
    _save(app, "fr", {"prices": None})
    assert _stored(app, "fr")[0] == {"vies_check": True}


def test_a_reseller_sets_what_its_office_allows_and_nothing_else(app, offices):
    _save(app, "acme", {"prices": "gross", "default_variant": {"keyboard": "BÉPO"}})
    assert _stored(app, "acme")[0] == {"prices": "gross",
                                       "default_variant": {"keyboard": "BÉPO"}}
    for refused_values in ({"oss_threshold": "1"}, {"vies_check": True},
                           {"reseller_overrides": ["languages"]},
                           {"vat_rate_changes": []}, {"locale": "en_GB"},
                           {"currency": "GBP"}, {"timezone": "Europe/London"}):
        with pytest.raises(SettingsError):
            _save(app, "acme", {"prices": "net", **refused_values})
    assert _stored(app, "acme")[0]["prices"] == "gross"
    assert _stored(app, "acme")[1] == (None, None, None)


def test_a_reseller_keeps_working_after_its_office_withdraws_a_permission(app, offices):
    _save(app, "acme", {"prices": "gross", "languages": ["en_GB"]})
    _save(app, "fr", {"reseller_overrides": ["languages"]})
    with app.app_context():
        assert resolution.directory().by_slug("acme").settings["prices"] == "auto"
    # The stale value neither blocks another change nor may be changed itself.
    _save(app, "acme", {"languages": ["de_DE"]})
    with pytest.raises(SettingsError) as refused:
        _save(app, "acme", {"prices": "net"})
    assert refused.value.field == "prices"
    assert _stored(app, "acme")[0] == {"prices": "gross", "languages": ["de_DE"]}
    with app.app_context():
        assert resolution.directory().by_slug("acme").languages == ("fr_FR", "de_DE")
