"""Legal pages: written by the office, inherited by its resellers, never seen by others."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.core.scoping import TenantIsolationError
from comptoir.legal import service
from comptoir.legal.models import LegalPage
from comptoir.tenants import resolution
from comptoir.tenants import service as tenants
from tests.conftest import as_tenant, translated

EDITOR = "/s/{}/staff/settings/legal"
TERMS = "Conditions générales de vente du Comptoir France.\n\nArticle 2 : livraison."


def _write(client, slug, kind="terms", language="fr", title="CGV", body=TERMS):
    return client.post(f"{EDITOR.format(slug)}/{kind}/{language}",
                       data={"title": title, "body": body})


def _pages(app, tenant):
    with as_tenant(app, tenant):
        return sorted((p.tenant_id, p.kind, p.locale, p.title)
                      for p in db.session.scalars(select(LegalPage)))


def test_office_text_is_shown_by_its_reseller_until_it_writes_its_own(app, offices, admin):
    fr, acme, gb = offices
    assert _write(admin("fr"), "fr").status_code == 303
    visitor = app.test_client()
    for slug in ("fr", "acme"):
        page = visitor.get(f"/s/{slug}/legal/terms")
        assert page.status_code == 200
        assert "Article 2 : livraison." in page.get_data(as_text=True)

    reseller = admin("acme")
    editor = reseller.get(EDITOR.format("acme")).get_data(as_text=True)
    assert translated(app, "fr_FR", "from your office") in editor
    form = reseller.get(f"{EDITOR.format('acme')}/terms/fr").get_data(as_text=True)
    assert "Article 2 : livraison." in form  # to start from
    assert translated(app, "fr_FR", "This is your office's text. Saving it makes it your own: "
                      "your shop then shows your version, and your office's changes no longer "
                      "reach it.") in form

    assert _write(reseller, "acme", title="CGV ACME",
                  body="Conditions de vente d'ACME Informatique.").status_code == 303
    assert "ACME Informatique" in visitor.get("/s/acme/legal/terms").get_data(as_text=True)
    office_page = visitor.get("/s/fr/legal/terms").get_data(as_text=True)
    assert "Article 2 : livraison." in office_page and "ACME" not in office_page
    # The reseller got a row of its own; the office's is untouched.
    assert _pages(app, acme) == sorted([(acme.id, "terms", "fr", "CGV ACME"),
                                        (fr.id, "terms", "fr", "CGV")])

    # Deleting its own text shows the office's again.
    assert reseller.post(f"{EDITOR.format('acme')}/terms/fr/delete").status_code == 303
    assert "Article 2 : livraison." in visitor.get("/s/acme/legal/terms").get_data(
        as_text=True)
    assert _pages(app, acme) == [(fr.id, "terms", "fr", "CGV")]


def test_another_office_sees_none_of_the_first_ones_texts(app, offices, admin):
    fr, acme, gb = offices
    _write(admin("fr"), "fr")
    visitor = app.test_client()
    page = visitor.get("/s/gb/legal/terms")
    assert page.status_code == 404
    text = page.get_data(as_text=True)
    assert "This page has not been written yet." in text
    assert "Article 2" not in text
    assert _pages(app, gb) == []
    # Its editor lists nothing of France's, and its own text is its own.
    editor = admin("gb").get(EDITOR.format("gb")).get_data(as_text=True)
    assert "CGV" not in editor
    assert _write(admin("gb"), "gb", language="en", title="Terms",
                  body="UK terms.").status_code == 303
    assert "UK terms." in visitor.get("/s/gb/legal/terms").get_data(as_text=True)
    assert "UK terms." not in visitor.get("/s/fr/legal/terms").get_data(as_text=True)


def test_a_reseller_cannot_change_its_offices_row(app, offices):
    fr, acme, gb = offices
    with as_tenant(app, fr):
        db.session.add(LegalPage(kind="privacy", locale="fr", title="Vie privée", body="x"))
        db.session.commit()
    with app.app_context():
        info = resolution.directory().by_slug("acme")
    with as_tenant(app, acme):
        inherited = db.session.scalars(select(LegalPage)).one()
        inherited.body = "changed by the reseller"
        with pytest.raises(TenantIsolationError):
            db.session.flush()
        db.session.rollback()
        # The service writes a row of the reseller's own instead.
        page = service.save_page(info, "privacy", "fr", "Vie privée ACME", "y", "a@acme")
        db.session.commit()
        assert page.tenant_id == acme.id
    assert _pages(app, fr) == [(fr.id, "privacy", "fr", "Vie privée")]


def test_the_body_is_text_never_html(app, offices, admin):
    _write(admin("fr"), "fr", kind="legal-notice", title="Mentions <b>légales</b>",
           body="Éditeur : <script>alert('x')</script>\nSAS au capital de 1 000 €\n\n\n"
                "Hébergeur : <a href=\"http://evil.example\">nous</a>")
    text = app.test_client().get("/s/fr/legal/legal-notice").get_data(as_text=True)
    assert "<script>" not in text and "<b>légales" not in text and "<a href=\"http://evil" \
        not in text
    assert "&lt;script&gt;" in text and "Mentions &lt;b&gt;légales&lt;/b&gt;" in text
    # Lines stay lines, blank lines make paragraphs.
    assert "<br>SAS au capital de 1 000 €</p>" in text
    assert "<p>Hébergeur : &lt;a href=" in text


@pytest.mark.parametrize(("kind", "language", "title", "body", "message"), [
    ("terms", "fr", "", TERMS, "a page needs a title"),
    ("terms", "fr", "   ", TERMS, "a page needs a title"),
    ("terms", "fr", "x" * 201, TERMS, "longer than 200 characters"),
    ("terms", "fr", "CGV", " \n\n ", "a page needs a text"),
    ("terms", "fr", "CGV", "x" * 100_001, "longer than 100,000 characters"),
    ("terms", "de", "AGB", TERMS, "the shop does not offer the language &#39;de&#39;"),
])
def test_bad_input_is_a_clear_400_and_saves_nothing(app, offices, admin, kind, language,
                                                    title, body, message):
    client = admin("fr")
    _write(client, "fr", kind="privacy", title="Vie privée", body="Texte.")
    before = _pages(app, offices[0])
    response = _write(client, "fr", kind=kind, language=language, title=title, body=body)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _pages(app, offices[0]) == before


def test_unknown_pages_are_404s(app, offices, admin):
    visitor = app.test_client()
    assert visitor.get("/s/fr/legal/cookies").status_code == 404
    assert visitor.get("/legal/terms").status_code == 404  # the platform has none
    client = admin("fr")
    assert client.get(f"{EDITOR.format('fr')}/cookies/fr").status_code == 404
    assert client.get(f"{EDITOR.format('fr')}/terms/de").status_code == 404
    assert _write(client, "fr", kind="cookies").status_code == 404


def test_only_tenant_admins_edit(app, offices):
    from tests.shop_settings.conftest import logged_in

    staff = logged_in(app, "fr", "staff@fr.example")
    assert staff.get(EDITOR.format("fr")).status_code == 403
    assert _write(staff, "fr").status_code == 403
    assert app.test_client().post(f"{EDITOR.format('fr')}/terms/fr",
                                  data={"title": "t", "body": "b"}).status_code == 302
    assert _pages(app, offices[0]) == []


def test_language_of_the_visitor_then_of_the_shop(app, offices, admin):
    fr, acme, gb = offices
    with app.app_context():
        row = tenants.get_tenant("fr")
        tenants.update_shop_settings(row, {"languages": ["en_GB"]}, "test")
        db.session.commit()
    office = admin("fr")
    _write(office, "fr", title="CGV", body="Texte français.")
    english = {"Accept-Language": "en-GB,en;q=0.8"}
    visitor = app.test_client()
    # No English text yet: the shop's own language.
    assert "Texte français." in visitor.get("/s/fr/legal/terms", headers=english).get_data(
        as_text=True)
    assert _write(office, "fr", language="en", title="Terms",
                  body="English text.").status_code == 303
    assert "English text." in visitor.get("/s/fr/legal/terms", headers=english).get_data(
        as_text=True)
    assert "Texte français." in visitor.get("/s/fr/legal/terms").get_data(as_text=True)
    # A reseller's own terms are its contract, whatever the visitor's language: once it
    # wrote some, its office's are no longer shown in any language.
    assert "English text." in visitor.get("/s/acme/legal/terms", headers=english).get_data(
        as_text=True)
    _write(admin("acme"), "acme", title="CGV ACME", body="Texte d'ACME.")
    page = visitor.get("/s/acme/legal/terms", headers=english).get_data(as_text=True)
    assert "Texte d" in page and "English text." not in page


def test_page_for_order_of_preference():
    pages = {
        (1, "fr"): SimpleNamespace(locale="fr"), (1, "en"): SimpleNamespace(locale="en"),
        (2, "de"): SimpleNamespace(locale="de"),
    }

    def rows(tenant_id, kind):
        return [p for (owner, _lang), p in sorted(pages.items()) if owner == tenant_id]

    office = SimpleNamespace(id=1, office_id=1, locale="fr_FR")
    reseller = SimpleNamespace(id=2, office_id=1, locale="fr_FR")
    original = service._rows
    service._rows = rows
    try:
        assert service.page_for(office, "terms", "en_GB").locale == "en"
        assert service.page_for(office, "terms", "it_IT").locale == "fr"
        assert service.page_for(reseller, "terms", "de_CH").locale == "de"
        assert service.page_for(reseller, "terms", "fr_FR").locale == "de"  # its only own
        assert service.page_for(office, "cookies", "fr") is None
    finally:
        service._rows = original


def test_paragraphs():
    assert service.paragraphs("a\r\nb\n\n\n  \nc\n") == [["a", "b"], ["c"]]
    assert service.paragraphs("") == []


def test_footer_links_to_the_legal_pages(app, offices):
    text = app.test_client().get("/s/acme/").get_data(as_text=True)
    for kind in ("terms", "legal-notice", "privacy"):
        assert f'href="/s/acme/legal/{kind}"' in text
