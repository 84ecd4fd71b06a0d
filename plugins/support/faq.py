"""The FAQ a shop shows: its office's questions and its own, in the visitor's language, searched
as the visitor types a ticket's subject so that an answer already written is found first.

:class:`~plugins.support.models.FaqEntry` is ``OfficeShared``: a reseller's session reads its
office's entries and its own with no extra filter, and never another shop's; an office sees
only its own (never its resellers').

Searching is done in Python over the shop's published entries of one language, not in SQL:

- a shop's FAQ is small (tens of entries, a few hundred at most), so reading it whole costs
  less than one product page;
- what makes a search good here is hard in portable SQL: accents and case folded the same way
  in the query and in the text (``Télécharger`` finds ``telecharger``), words matched by
  their beginning (``cartou`` finds ``cartouche`` while the visitor is still typing), and a
  ranking that puts a hit in the question before one in the keywords before one in the
  answer; SQLite and PostgreSQL would each need their own full-text set-up for that;
- the same function then serves the help centre's search box, the JSON suggestions of the
  ticket form and its no-JavaScript fallback, with one set of rules.
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select

from comptoir.toolkit import db
from plugins.support.models import FaqEntry

#: Longest query taken into account (a pasted message is cut, not refused).
MAX_QUERY = 200
#: Words too common to tell entries apart, per language (folded: no accents, lower case).
_STOPWORDS = {
    "en": "a an and are as at be by can do does for from how i if in is it my of on or the to "
          "what when where which why with you your",
    "fr": "a au aux avec ce ces comment dans de des du en est et il je la le les ma mes mon ne "
          "ou par pas pour quand que quel quelle qui sa se ses son sur un une vos votre y",
    "de": "am auf aus bei das dem den der des die ein eine einen er es fur ich im in ist mein "
          "meine mit nicht oder sie und von was wie wo zu zum zur",
}
STOPWORDS: dict[str, frozenset[str]] = {
    language: frozenset(text.split()) for language, text in _STOPWORDS.items()}
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """``text`` without accents, case-folded: ``Télécharger`` and ``TELECHARGER`` compare
    equal. NFKD splits ``é`` into ``e`` and a combining accent, which is dropped; it also
    turns ligatures and full-width letters into plain ones."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order."""
    return _WORD.findall(fold(text))


def _language(locale: str) -> str:
    return (locale or "").replace("-", "_").split("_")[0].lower()


def query_terms(q: str, locale: str) -> list[str]:
    """The words of a query worth searching for: folded, without duplicates, one-letter
    words and the language's commonest words (``how``, ``le``...), which every entry has."""
    stop = STOPWORDS.get(_language(locale), frozenset())
    seen: dict[str, None] = {}
    for word in words((q or "")[:MAX_QUERY]):
        if len(word) > 1 and word not in stop:
            seen.setdefault(word, None)
    return list(seen)


def entries(locale: str) -> list[FaqEntry]:
    """The shop's published entries in ``locale``'s language, in the order staff gave them.

    An entry is written for a locale (``fr_FR``); it is shown to every visitor reading the
    same language (``fr``, ``fr_BE``), since a shop offers one locale per language. For a
    reseller these are its office's entries and its own (``OfficeShared``).
    """
    language = _language(locale)
    found = db.session.scalars(
        select(FaqEntry).where(FaqEntry.published.is_(True))
        .order_by(FaqEntry.position, FaqEntry.id)).all()
    return [entry for entry in found if _language(entry.locale) == language]


def _matches(term: str, field: frozenset[str]) -> bool:
    """``term`` is a word of ``field``, or the start of one (typed so far: ``cartou``), or
    one of them plus an ending (``cartouches`` finds ``cartouche``)."""
    for word in field:
        if word == term:
            return True
        if len(term) >= 3 and word.startswith(term):
            return True
        if len(word) >= 4 and term.startswith(word) and len(term) - len(word) <= 3:
            return True
    return False


def search(q: str, locale: str, limit: int = 5) -> list[FaqEntry]:
    """The published entries of ``locale``'s language that match ``q``, best first.

    Each query word counts once per field it is found in. Entries are ranked by how many
    words their question matches, then their keywords, then their answer (a question that
    says it is what the visitor asks beats an answer that mentions it in passing), then in
    staff's order. An entry that matches nothing is left out; a query with nothing to search
    for (empty, or only common words) finds nothing.

    :param q: what the visitor typed (cut at :data:`MAX_QUERY` characters).
    :param locale: the visitor's locale (``fr_FR``, ``en``).
    :param limit: at most this many entries.
    """
    terms = query_terms(q, locale)
    if not terms or limit <= 0:
        return []
    ranked = []
    for entry in entries(locale):
        fields = [frozenset(words(text))
                  for text in (entry.question, entry.keywords, entry.answer)]
        score = tuple(sum(_matches(t, field) for t in terms) for field in fields)
        if any(score):
            ranked.append(((-score[0], -score[1], -score[2], entry.position, entry.id), entry))
    ranked.sort(key=lambda pair: pair[0])
    return [entry for _, entry in ranked[:limit]]
