"""Writing and finding a shop's legal pages: terms of sale, legal notice, privacy policy.

Texts are kept per language (``fr``, ``de``: the language part of a locale, so a Swiss shop
offering ``fr_CH`` and ``de_CH`` keeps one French and one German text). An office's pages are
its resellers' too until a reseller writes its own: a reseller is a company of its own and
may sell on its own terms, but it never edits its office's rows.

Which text a visitor reads, for one kind of page: if the shop wrote any page of that kind,
its own (a reseller's contract must not change with the visitor's language), else its
office's; of those, the one in the visitor's language, else the one in the shop's language,
else any. No text at all is a "not written yet" page.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.legal.models import KINDS, NOTICE, PRIVACY, TERMS, LegalPage

TITLE_MAX = 200
BODY_MAX = 100_000

#: What a visitor and an editor call each kind.
KIND_LABELS = {
    TERMS: lazy_gettext("Terms of sale"),
    NOTICE: lazy_gettext("Legal notice"),
    PRIVACY: lazy_gettext("Privacy policy"),
}


class LegalError(ValueError):
    """A legal page refused; ``field`` names the culprit and nothing was saved."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


def language_of(locale: Any) -> str:
    """``fr_CH`` -> ``fr``: the key texts are stored under."""
    return str(locale).replace("-", "_").split("_")[0].lower()


def languages(tenant: Any) -> list[str]:
    """The languages ``tenant`` (a :class:`TenantInfo`) offers, its own first."""
    offered = tenant.languages or (tenant.locale,)
    return list(dict.fromkeys(language_of(code) for code in offered))


def _rows(tenant_id: int, kind: str) -> list[LegalPage]:
    return list(db.session.scalars(select(LegalPage).where(
        LegalPage.tenant_id == tenant_id, LegalPage.kind == kind).order_by(LegalPage.locale)))


def own_page(tenant: Any, kind: str, language: str) -> LegalPage | None:
    return next((p for p in _rows(tenant.id, kind) if p.locale == language), None)


def office_page(tenant: Any, kind: str, language: str) -> LegalPage | None:
    """The office's page a reseller inherits (``None`` for an office)."""
    if tenant.office_id == tenant.id:
        return None
    return next((p for p in _rows(tenant.office_id, kind) if p.locale == language), None)


def page_for(tenant: Any, kind: str, locale: Any) -> LegalPage | None:
    """The page a visitor reading ``locale`` sees (see the module docstring)."""
    if kind not in KINDS:
        return None
    pages = _rows(tenant.id, kind)
    if not pages and tenant.office_id != tenant.id:
        pages = _rows(tenant.office_id, kind)
    for language in (language_of(locale), language_of(tenant.locale)):
        for page in pages:
            if page.locale == language:
                return page
    return pages[0] if pages else None


def _check(tenant: Any, kind: str, language: str) -> None:
    if kind not in KINDS:
        raise LegalError("kind", f"unknown kind of page '{kind}'; one of {', '.join(KINDS)}")
    if language not in languages(tenant):
        raise LegalError("locale", f"the shop does not offer the language '{language}' "
                                   f"(it offers {', '.join(languages(tenant))})")


def save_page(tenant: Any, kind: str, language: str, title: str, body: str,
              actor: str) -> LegalPage:
    """Write the tenant's own page of ``kind`` in ``language`` (created if missing).

    Checked whole first: an unknown kind, a language the shop does not offer, an empty or
    too long title or body raise :class:`LegalError` and change nothing. A reseller writing
    a page it inherited gets a row of its own; the office's stays as it is. The caller
    commits.
    """
    _check(tenant, kind, language)
    title = (title or "").strip()
    body = (body or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not title:
        raise LegalError("title", "a page needs a title")
    if len(title) > TITLE_MAX:
        raise LegalError("title", f"longer than {TITLE_MAX} characters")
    if not body:
        raise LegalError("body", "a page needs a text")
    if len(body) > BODY_MAX:
        raise LegalError("body", f"longer than {BODY_MAX:,} characters")
    page = own_page(tenant, kind, language)
    if page is None:
        page = LegalPage(tenant_id=tenant.id, kind=kind, locale=language)
        db.session.add(page)
    page.title, page.body, page.updated_by = title, body, actor
    db.session.flush()
    return page


def delete_page(tenant: Any, kind: str, language: str) -> bool:
    """Remove the tenant's own page (a reseller then shows its office's again)."""
    _check(tenant, kind, language)
    page = own_page(tenant, kind, language)
    if page is None:
        return False
    db.session.delete(page)
    db.session.flush()
    return True


def paragraphs(body: str) -> list[list[str]]:
    """Paragraphs (separated by blank lines), each a list of its lines; text, never HTML."""
    found: list[list[str]] = []
    current: list[str] = []
    for line in body.replace("\r\n", "\n").split("\n"):
        if line.strip():
            current.append(line.rstrip())
        elif current:
            found.append(current)
            current = []
    if current:
        found.append(current)
    return found
