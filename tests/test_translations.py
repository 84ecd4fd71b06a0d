"""Catalogues stay complete: every string in the code is in the template and translated."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "comptoir" / "translations"
LANGUAGES = sorted(p.name for p in TRANSLATIONS.iterdir() if (p / "LC_MESSAGES").is_dir())


def read(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


def ids(catalog) -> set:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def test_template_matches_the_sources(tmp_path):
    fresh = tmp_path / "messages.pot"
    CommandLineInterface().run([
        "pybabel", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l",
        "-k", "lazy_gettext", "-o", str(fresh),
        str(ROOT / "comptoir"), str(ROOT / "plugins"), str(ROOT / "themes"),
    ])
    missing = ids(read(fresh)) - ids(read(TRANSLATIONS / "messages.pot"))
    assert missing == set(), "run the extract/update commands in docs/translations.md"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete(language):
    template = ids(read(TRANSLATIONS / "messages.pot"))
    catalog = read(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    untranslated = sorted(
        str(m.id) for m in catalog
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string))
                     or m.fuzzy)
    )
    assert template - ids(catalog) == set()
    assert untranslated == []


def test_french_german_and_czech_are_offered():
    assert {"fr", "de", "cs"} <= set(LANGUAGES)
