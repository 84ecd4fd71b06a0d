"""Catalogues stay complete, domain by domain: the core's and each plugin's.

Every string in the sources is in its domain's template, translated in every language, and
compiled; plugin strings live in their plugin's domain, never in the core's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po
from babel.support import Translations
from markupsafe import escape

from comptoir.core.db import db
from comptoir.tenants.models import Tenant

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "plugins"
CORE_TRANSLATIONS = ROOT / "comptoir" / "translations"
LANGUAGES = sorted(p.name for p in CORE_TRANSLATIONS.iterdir() if (p / "LC_MESSAGES").is_dir())
FIX = "run script/translations extract, update and compile (docs/translations.md)"


@dataclass(frozen=True)
class Domain:
    name: str
    folder: Path  # messages.pot and <lang>/LC_MESSAGES/messages.po
    sources: tuple[Path, ...]

    def catalogue(self, language: str) -> Path:
        return self.folder / language / "LC_MESSAGES" / "messages.po"


CORE = Domain("core", CORE_TRANSLATIONS, (ROOT / "comptoir", ROOT / "themes"))
PLUGIN_DOMAINS = [
    Domain(p.name, p / "translations", (p,))
    for p in sorted(PLUGINS.iterdir()) if (p / "translations").is_dir()
]
DOMAINS = [CORE, *PLUGIN_DOMAINS]
UNTRANSLATED_PLUGINS = sorted(
    p.name for p in PLUGINS.iterdir()
    if (p / "__init__.py").is_file() and not (p / "translations").is_dir()
)


def read(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


def ids(catalog) -> set:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def extract(sources: tuple[Path, ...], output: Path):
    CommandLineInterface().run([
        "pybabel", "--quiet", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l",
        "-k", "lazy_gettext", "-o", str(output), *map(str, sources),
    ])
    return read(output)


def by_name(domain: Domain) -> str:
    return domain.name


@pytest.mark.parametrize("domain", DOMAINS, ids=by_name)
def test_template_matches_the_sources(domain, tmp_path):
    fresh = ids(extract(domain.sources, tmp_path / "messages.pot"))
    template = ids(read(domain.folder / "messages.pot"))
    assert sorted(fresh - template) == [], f"strings missing from the template: {FIX}"
    assert sorted(template - fresh) == [], f"strings no longer in the sources: {FIX}"


@pytest.mark.parametrize(
    ("domain", "language"), [(d, lang) for d in DOMAINS for lang in LANGUAGES],
    ids=[f"{d.name}-{lang}" for d in DOMAINS for lang in LANGUAGES],
)
def test_catalogue_is_complete(domain, language):
    path = domain.catalogue(language)
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing: {FIX}"
    catalog = read(path)
    template = ids(read(domain.folder / "messages.pot"))
    untranslated = sorted(
        str(m.id) for m in catalog
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string))
                     or m.fuzzy)
    )
    assert not catalog.fuzzy, "the catalogue's header is marked fuzzy: it would not compile"
    assert sorted(template - ids(catalog)) == [], FIX
    assert sorted(ids(catalog) - template) == [], FIX
    assert untranslated == []
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert problems == []  # e.g. a %(placeholder)s renamed in the translation


@pytest.mark.parametrize(
    ("domain", "language"), [(d, lang) for d in DOMAINS for lang in LANGUAGES],
    ids=[f"{d.name}-{lang}" for d in DOMAINS for lang in LANGUAGES],
)
def test_compiled_catalogue_says_what_the_po_says(domain, language):
    compiled = Translations.load(str(domain.folder), [language])
    assert isinstance(compiled, Translations), "no .mo file: run script/translations compile"
    for message in read(domain.catalogue(language)):
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple):
            assert compiled.ngettext(*message.id, 1) == message.string[0], message.id
        else:
            assert compiled.gettext(message.id) == message.string, (
                f"{message.id!r} is compiled from an older .po: run script/translations compile"
            )


def test_french_german_and_czech_are_offered():
    assert {"fr", "de", "cs"} <= set(LANGUAGES)


def test_every_locale_plugin_has_its_own_domain():
    assert {"locale_fr", "locale_de", "locale_ch", "locale_gb", "locale_cz"} <= {
        d.name for d in PLUGIN_DOMAINS
    }


def test_the_core_catalogue_holds_no_plugin_string():
    template = read(CORE.folder / "messages.pot")
    from_plugins = sorted(
        {str(m.id) for m in template for path, _line in m.locations
         if path.startswith("plugins/")}
    )
    assert from_plugins == [], f"core template extracted from plugins/: {FIX} core"


@pytest.mark.parametrize("plugin", UNTRANSLATED_PLUGINS)
def test_a_plugin_without_catalogues_has_no_strings(plugin, tmp_path):
    """Its strings would be in no catalogue at all: give it a translations/ folder."""
    assert ids(extract((PLUGINS / plugin,), tmp_path / "messages.pot")) == set()


@pytest.mark.parametrize("domain", PLUGIN_DOMAINS, ids=by_name)
def test_plugin_templates_are_rendered_with_their_plugins_catalogue(domain):
    """A template is rendered with the core's ``_`` unless the plugin passes its own: a
    plugin whose templates hold strings must render them through ``render_translated``."""
    template = read(domain.folder / "messages.pot")
    in_templates = {str(m.id) for m in template for path, _line in m.locations
                    if path.endswith(".html")}
    if in_templates:
        code = "".join(p.read_text() for p in (PLUGINS / domain.name).rglob("*.py"))
        assert "render_translated(" in code


def _msgstr(plugin: str, language: str, msgid: str) -> str:
    catalog = read(PLUGINS / plugin / "translations" / language / "LC_MESSAGES" / "messages.po")
    return catalog[msgid].string


WITHDRAWAL_FR = ("Right of withdrawal: %(days)s days from delivery (French Consumer Code, "
                 "art. L221-18).")


def test_a_plugin_string_is_translated_through_its_own_domain(app, client, make_tenant):
    make_tenant("fr", name="Comptoir France", plugins=["locale_fr"])
    french = _msgstr("locale_fr", "fr", WITHDRAWAL_FR) % {"days": 14}
    assert "Droit de rétractation" in french
    assert WITHDRAWAL_FR not in ids(read(CORE.folder / "messages.pot"))  # not the core's
    html = client.get("/s/fr/").get_data(as_text=True)
    assert str(escape(french)) in html
    assert "Right of withdrawal" not in html


@pytest.mark.parametrize(("plugin", "locale", "country", "currency", "language"), [
    ("locale_de", "de_DE", "DE", "EUR", "de"),
    ("locale_ch", "fr_CH", "CH", "CHF", "fr"),
    ("locale_cz", "cs_CZ", "CZ", "CZK", "cs"),
])
def test_each_office_reads_its_plugins_mentions_in_its_language(
        app, client, make_tenant, plugin, locale, country, currency, language):
    make_tenant("office", country=country, locale=locale, currency=currency, plugins=[plugin])
    catalog = read(PLUGINS / plugin / "translations" / language / "LC_MESSAGES" / "messages.po")
    mention = next(m for m in catalog if m.id and "14 days" in m.id)
    html = client.get("/s/office/").get_data(as_text=True)
    assert str(escape(mention.string)) in html
    assert mention.id not in html


def test_the_switcher_changes_the_language_of_plugin_strings(app, client, make_tenant):
    swiss = make_tenant("ch", country="CH", locale="fr_CH", currency="CHF",
                        plugins=["locale_ch"])
    with app.app_context():
        db.session.get(Tenant, swiss.id).settings = {"languages": ["de_CH"]}
        db.session.commit()
    returns = next(m for m in read(PLUGINS / "locale_ch" / "translations" / "messages.pot")
                   if m.id and m.id.startswith("Returns accepted"))
    html = client.get("/s/ch/").get_data(as_text=True)
    assert str(escape(_msgstr("locale_ch", "fr", returns.id))) in html
    client.post("/s/ch/language", data={"locale": "de_CH"})
    html = client.get("/s/ch/").get_data(as_text=True)
    assert str(escape(_msgstr("locale_ch", "de", returns.id))) in html


def test_legal_invoice_mentions_are_translated_in_the_plugins_domain(app):
    from flask_babel import force_locale

    from plugins.locale_de.vat import TABLE as GERMANY
    from plugins.locale_fr.vat import TABLE as FRANCE

    with app.test_request_context():
        with force_locale("fr_FR"):
            assert str(FRANCE.mentions["reverse_charge"]).startswith("Autoliquidation")
        with force_locale("de_DE"):
            assert str(GERMANY.mentions["reverse_charge"]) == (
                "Steuerfreie innergemeinschaftliche Lieferung (§ 4 Nr. 1b, § 6a UStG)")
        with force_locale("en_GB"):
            assert str(FRANCE.mentions["reverse_charge"]).startswith("Reverse charge")
