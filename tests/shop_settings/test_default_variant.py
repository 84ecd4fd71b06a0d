"""default_variant: the shop's preferred attributes first, then the country rule."""

from __future__ import annotations

from types import MappingProxyType, SimpleNamespace

from comptoir.catalog import service as catalog
from comptoir.catalog.pricing import default_variant
from comptoir.catalog.service import VariantSpec
from comptoir.core.db import db
from tests.conftest import as_tenant

AZERTY_E = {"keyboard": "AZERTY", "plug": "E"}
AZERTY_CH = {"keyboard": "AZERTY", "plug": "J"}
QWERTZ_CH = {"keyboard": "QWERTZ", "plug": "J"}
QWERTY_G = {"keyboard": "QWERTY", "plug": "G"}


def _variant(sku, country, attributes, active=True):
    return SimpleNamespace(sku=sku, country=country, attributes=attributes, active=active)


def _product(*variants):
    return SimpleNamespace(variants=list(variants))


def _shop(country, preferred=None):
    settings = {"default_variant": preferred} if preferred is not None else {}
    return SimpleNamespace(country=country, settings=MappingProxyType(settings))


PRODUCT = _product(
    _variant("PC-FR", "FR", AZERTY_E),
    _variant("PC-CH-FR", "CH", AZERTY_CH),
    _variant("PC-CH-DE", "CH", QWERTZ_CH),
    _variant("PC-GB", "GB", QWERTY_G),
    _variant("PC-ANY", None, {}),
)


def test_without_preferences_the_country_rule_applies():
    assert default_variant(_shop("CH"), PRODUCT).sku == "PC-CH-FR"
    assert default_variant(_shop("GB"), PRODUCT).sku == "PC-GB"
    assert default_variant(_shop("CZ"), PRODUCT).sku == "PC-ANY"
    assert default_variant(SimpleNamespace(country="FR"), PRODUCT).sku == "PC-FR"


def test_the_variant_matching_most_preferred_attributes_wins():
    # A Swiss shop whose customers are German-speaking.
    assert default_variant(_shop("CH", {"keyboard": "QWERTZ"}), PRODUCT).sku == "PC-CH-DE"
    # Both Swiss variants have plug J; only one has the AZERTY keyboard too.
    assert default_variant(_shop("CH", {"plug": "J", "keyboard": "AZERTY"}),
                           PRODUCT).sku == "PC-CH-FR"
    # A French shop near the border, selling Swiss plugs with French keyboards.
    assert default_variant(_shop("FR", {"plug": "J", "keyboard": "AZERTY"}),
                           PRODUCT).sku == "PC-CH-FR"


def test_ties_go_to_the_country_rule_and_case_does_not_matter():
    assert default_variant(_shop("FR", {"keyboard": "azerty"}), PRODUCT).sku == "PC-FR"
    assert default_variant(_shop("CH", {"Keyboard": "AZERTY "}), PRODUCT).sku == "PC-CH-FR"
    assert default_variant(_shop("CH", {"plug": "J"}), PRODUCT).sku == "PC-CH-FR"


def test_no_match_and_inactive_variants():
    assert default_variant(_shop("GB", {"keyboard": "DVORAK"}), PRODUCT).sku == "PC-GB"
    product = _product(_variant("OLD", "FR", {"keyboard": "QWERTZ"}, active=False),
                       _variant("NEW", None, {}))
    assert default_variant(_shop("FR", {"keyboard": "QWERTZ"}), product).sku == "NEW"
    assert default_variant(_shop("FR", {"keyboard": "QWERTZ"}), _product()) is None


def test_a_product_page_offers_the_shops_preferred_variant(app, offices, admin):
    with as_tenant(app, offices[0]):
        catalog.create_product("PC", "PC portable", "900.00", variants=[
            VariantSpec("PC-FR", "FR", AZERTY_E),
            VariantSpec("PC-BE", "BE", {"keyboard": "AZERTY-BE", "plug": "E"})])
        db.session.commit()
    client = admin("fr")
    chosen = 'name="sku" value="{}"'
    assert chosen.format("PC-FR") in client.get("/s/fr/products/PC").get_data(as_text=True)
    assert client.post("/s/fr/staff/settings", data={
        "section": "variants", "variant_attr": ["keyboard"],
        "variant_value": ["azerty-be"]}).status_code == 303
    page = client.get("/s/fr/products/PC").get_data(as_text=True)
    assert chosen.format("PC-BE") in page
    # The reseller inherits its office's preference.
    page = app.test_client().get("/s/acme/products/PC").get_data(as_text=True)
    assert chosen.format("PC-BE") in page
    # Another office is not concerned (and does not see the product at all).
    assert app.test_client().get("/s/gb/products/PC").status_code == 404

