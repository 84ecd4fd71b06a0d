"""The FAQ: an office's entries read by its resellers, a reseller's own by nobody else, and
one search (accents and case folded, ranked question > keywords > answer) behind the help
centre, the form's JSON suggestions and its no-JavaScript fallback."""

from __future__ import annotations

from typing import Any

import pytest
from flask_babel import force_locale

from comptoir.core.db import db
from plugins.support import faq
from plugins.support.models import FaqEntry
from plugins.support.views import translations
from tests.conftest import as_tenant


def say(app: Any, msgid: str, **params: Any) -> str:
    """``msgid`` as an English page of the plugin shows it (HTML-escaped)."""
    from markupsafe import escape

    with app.test_request_context(), force_locale("en"):
        return str(escape(translations.gettext(msgid, **params)))


def add(app: Any, shop: Any, question: str, answer: str = "See the manual.",
        keywords: str = "", locale: str = "en", position: int = 0,
        published: bool = True) -> int:
    with as_tenant(app, shop):
        entry = FaqEntry(locale=locale, question=question, answer=answer, keywords=keywords,
                         position=position, published=published)
        db.session.add(entry)
        db.session.commit()
        return entry.id


def english(app: Any) -> Any:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def entries(app, shops):
    """The office's entry, acme's own, a German one, and one the office has not published."""
    return {
        "office": add(app, shops.fr, "Which toner fits my printer?",
                      "The T-100 cartridge fits every laser printer we sell.",
                      keywords="cartridge, ink"),
        "acme": add(app, shops.acme, "Do you deliver in Lyon on Saturdays?",
                    "Yes, our own van delivers in Lyon on Saturdays."),
        "de": add(app, shops.de, "Welcher Toner passt zu meinem Drucker?",
                  "Die Kartusche T-100.", locale="de_DE"),
        "draft": add(app, shops.fr, "Toner recycling (draft)", published=False),
    }


# --- who sees what ---------------------------------------------------------------------------


def test_a_reseller_shows_its_offices_entries_and_its_own(app, shops, entries):
    page = english(app).get("/s/acme/support/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Which toner fits my printer?" in html
    assert "Do you deliver in Lyon on Saturdays?" in html
    assert f'id="faq-{entries["office"]}"' in html
    assert "Toner recycling (draft)" not in html  # unpublished
    assert "Welcher Toner" not in html


def test_the_office_does_not_show_its_resellers_entries(app, shops, entries):
    html = english(app).get("/s/fr/support/").get_data(as_text=True)
    assert "Which toner fits my printer?" in html
    assert "Do you deliver in Lyon" not in html
    assert english(app).get("/s/fr/support/faq.json?q=lyon saturdays").get_json()[
        "results"] == []
    acme = english(app).get("/s/acme/support/faq.json?q=lyon saturdays").get_json()
    assert [r["id"] for r in acme["results"]] == [entries["acme"]]


def test_another_office_sees_nothing_of_the_first(app, shops, entries):
    html = app.test_client().get("/s/de/support/").get_data(as_text=True)
    assert "Welcher Toner passt zu meinem Drucker?" in html
    assert "Which toner" not in html and "Lyon" not in html
    found = app.test_client().get("/s/de/support/faq.json?q=toner").get_json()["results"]
    assert [r["id"] for r in found] == [entries["de"]]
    with as_tenant(app, shops.de):
        assert [e.id for e in faq.entries("de_DE")] == [entries["de"]]
        assert faq.search("printer toner", "en") == []


def test_entries_are_shown_in_the_visitors_language(app, shops, entries):
    french = add(app, shops.fr, "Quel toner pour mon imprimante ?", locale="fr_FR")
    html = app.test_client().get("/s/fr/support/",
                                 headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert f'id="faq-{french}"' in html
    assert f'id="faq-{entries["office"]}"' not in html
    with as_tenant(app, shops.fr):
        # A regional variant of the language reads the same entries.
        assert [e.id for e in faq.entries("fr_BE")] == [french]


def test_the_help_centre_has_a_clear_empty_state_and_a_way_to_ask(app, shops):
    html = english(app).get("/s/fr/support/").get_data(as_text=True)
    assert say(app, "No questions are answered here yet. Ask us: the help desk answers "
                    "every question.") in html
    assert 'href="/s/fr/support/new"' in html


# --- searching -------------------------------------------------------------------------------


def test_the_search_box_shows_what_matches_or_says_nothing_did(app, shops, entries):
    client = english(app)
    html = client.get("/s/acme/support/?q=TONER").get_data(as_text=True)
    assert "Which toner fits my printer?" in html and "Lyon" not in html
    html = client.get("/s/acme/support/?q=warranty").get_data(as_text=True)
    assert say(app, "No question matches “%(q)s”. Ask us: the help desk answers every "
                    "question.", q="warranty") in html
    # Asking from a search that found nothing starts the question with what was searched.
    assert 'href="/s/acme/support/new?subject=warranty"' in html


def test_a_hit_in_the_question_ranks_before_keywords_before_the_answer(app, shops):
    in_answer = add(app, shops.fr, "Returns", "Send the toner back unopened.", position=0)
    in_keywords = add(app, shops.fr, "Consumables", "Ask us.", keywords="toner", position=1)
    in_question = add(app, shops.fr, "Toner prices", "See the catalogue.", position=2)
    add(app, shops.fr, "Opening hours", "9 to 6.")
    with as_tenant(app, shops.fr):
        assert [e.id for e in faq.search("toner", "en")] == [in_question, in_keywords,
                                                              in_answer]
    both = add(app, shops.fr, "Toner and drum prices", "See the catalogue.", position=9)
    with as_tenant(app, shops.fr):
        # More words found in the question wins over one.
        assert [e.id for e in faq.search("drum toner", "en")][:2] == [both, in_question]


def test_search_folds_accents_and_case_and_finds_words_being_typed(app, shops):
    driver = add(app, shops.fr, "Télécharger le pilote de l'imprimante", locale="fr_FR")
    cartridge = add(app, shops.fr, "Changer la cartouche", "Ouvrez le capot.",
                    locale="fr_FR")
    with as_tenant(app, shops.fr):
        assert [e.id for e in faq.search("TELECHARGER pilote", "fr_FR")] == [driver]
        assert [e.id for e in faq.search("cartou", "fr_FR")] == [cartridge]  # typing
        assert [e.id for e in faq.search("cartouches", "fr_FR")] == [cartridge]  # plural
        # Words every entry has find nothing by themselves.
        assert faq.search("le la de", "fr_FR") == []
        assert faq.search("", "fr_FR") == []
        assert faq.search("!!!", "fr_FR") == []


def test_search_keeps_to_the_limit(app, shops):
    for n in range(7):
        add(app, shops.fr, f"Toner question {n}", position=n)
    with as_tenant(app, shops.fr):
        found = [e.question for e in faq.search("toner", "en", limit=5)]
    assert found == [f"Toner question {n}" for n in range(5)]


# --- suggestions on the ticket form ----------------------------------------------------------


def test_json_suggestions_are_the_best_five_with_a_link_to_each(app, shops, entries):
    for n in range(6):
        add(app, shops.fr, f"Toner model {n}", "x " * 400, position=n)
    data = english(app).get("/s/fr/support/faq.json?q=toner").get_json()
    assert data["query"] == "toner"
    results = data["results"]
    assert len(results) == 5
    assert results[0]["id"] == entries["office"]  # "toner" in the question, and first
    assert results[0]["url"] == f"/s/fr/support/#faq-{entries['office']}"
    assert results[0]["answer"].startswith("The T-100 cartridge")
    # Long answers are cut for the suggestion box.
    assert all(len(r["answer"]) <= 301 for r in results)
    assert english(app).get("/s/fr/support/faq.json").get_json()["results"] == []


def test_the_form_suggests_entries_without_javascript(app, shops, entries):
    from plugins.support.models import Ticket

    client = english(app)
    response = client.post("/s/acme/support/new", data={
        "subject": "Cartridge for my printer", "message": "", "action": "faq"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Which toner fits my printer?" in html
    assert "Lyon" not in html
    assert 'value="Cartridge for my printer"' in html  # the form keeps what was typed
    with as_tenant(app, shops.acme):
        assert db.session.query(Ticket).count() == 0  # checking sends nothing
    # A subject with no answer in the FAQ says so.
    html = client.post("/s/acme/support/new", data={
        "subject": "Invoice address", "action": "faq"}).get_data(as_text=True)
    assert say(app, "No question of the FAQ matches this subject: send yours, we will "
                    "answer it.") in html
    assert "Which toner" not in html


def test_the_form_asks_the_json_suggestions_as_the_subject_is_typed(app, shops):
    html = english(app).get("/s/fr/support/new").get_data(as_text=True)
    assert 'data-suggestions="/s/fr/support/faq.json"' in html
    assert 'id="support-subject"' in html and "fetch(" in html


def test_an_answer_as_long_as_the_form_allows_is_saved_with_its_line_breaks(app, shops):
    # The textarea's maxlength counts a line break once; the browser sends "\r\n".
    from comptoir.toolkit import tenant_by_id
    from plugins.support import staff_views

    answer = "Step\r\n" * 1900
    assert len(answer) > staff_views.MAX_ANSWER >= len(answer.replace("\r\n", "\n"))
    with as_tenant(app, shops.fr), app.test_request_context(), force_locale("en"):
        entry = staff_views.save_faq(tenant_by_id(shops.fr.id), None, {
            "locale": "en", "question": "How?", "answer": answer, "position": "0",
            "published": "yes"})
        assert entry.answer == answer.replace("\r\n", "\n").strip()
