"""Language and formats follow the tenant: Flask-Babel with the tenant's locale and timezone.

Money is a :class:`~decimal.Decimal` with a currency; it is formatted by Babel for the
tenant's locale (``1 234,56 €`` in a French shop), never by hand.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.numbers import format_percent
from flask import Flask, Response, current_app, g, has_request_context, request, session
from flask_babel import Babel, Domain, format_currency, get_locale

babel = Babel()

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


#: Session key of the locale a visitor chose with the language switcher.
SESSION_KEY = "locale"


def select_locale() -> str:
    """The locale of this request: the visitor's choice, their browser's, else the shop's.

    In order: the locale chosen with the switcher in this shop's session, if the shop still
    offers it; the best match of ``Accept-Language`` among the shop's languages (``de``
    finds ``de_CH``); the shop's own locale. Platform pages speak ``DEFAULT_LOCALE``.
    """
    tenant = g.get("tenant")
    if tenant is None:
        return current_app.config["DEFAULT_LOCALE"]
    languages = tuple(getattr(tenant, "languages", ()) or ())
    if len(languages) < 2 or not has_request_context():
        return tenant.locale
    chosen = offered_locale(tenant, session.get(SESSION_KEY))
    if chosen is not None:
        return chosen
    return request.accept_languages.best_match(languages) or tenant.locale


def language_name(code: str) -> str:
    """A language's name in itself, for a switcher: ``de_CH`` is "Deutsch (Schweiz)"."""
    name = Locale.parse(code).display_name or code
    return name[:1].upper() + name[1:]


def current_locale() -> str:
    """The locale this request is served in, e.g. ``fr_CH``."""
    return str(get_locale())


def _vary_on_language(response: Response) -> Response:
    """A shop with several languages answers by ``Accept-Language``: caches must know."""
    tenant = g.get("tenant")
    if tenant is not None and len(getattr(tenant, "languages", ()) or ()) > 1:
        response.vary.add("Accept-Language")
    return response


def select_timezone() -> str | None:
    tenant = g.get("tenant")
    return tenant.timezone if tenant is not None else None


def money(amount: Decimal, currency: str | None = None) -> str:
    """Format ``amount`` in the tenant's currency and locale."""
    if isinstance(amount, float):
        raise TypeError("money is Decimal, never float")
    if currency is None:
        tenant = g.get("tenant")
        currency = tenant.currency if tenant is not None else "EUR"
    return format_currency(amount, currency)


def percent(ratio: Decimal) -> str:
    """``Decimal("0.055")`` as ``5,5 %`` in French: the locale's pattern, decimals kept."""
    return format_percent(ratio, locale=get_locale(), decimal_quantization=False)


def plugin_translations(package: str) -> Domain:
    """The Babel domain of a plugin: its own catalogues in ``<package>/translations``.

    Each plugin keeps its strings apart from the core's (as Indico's plugins do), so it can
    be translated, released and installed on its own. Call it in the plugin's package with
    ``__name__``; use the returned domain's ``gettext``/``lazy_gettext``/``ngettext``.

    The core's catalogues come first, the plugin's over them: a plugin's page is rendered
    with this domain (``render_translated``), and the theme's base template around it (the
    navigation, the legal links of the footer) speaks in the core's strings, which the
    plugin's catalogues do not hold. A string in both reads as the plugin translated it.
    """
    folder = Path(sys.modules[package].__file__ or "").resolve().parent / "translations"
    return Domain(translation_directories=[str(TRANSLATIONS), str(folder)])


def offered_locale(tenant: object, wanted: str | None) -> str | None:
    """``wanted`` if ``tenant`` offers it (``fr_CH`` also matches ``fr``), else ``None``."""
    languages = getattr(tenant, "languages", ()) or ()
    if not wanted:
        return None
    for code in languages:
        if wanted == code or wanted == code.split("_")[0]:
            return code
    return None


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["percent"] = percent
    app.jinja_env.filters["decimal"] = Decimal
    app.jinja_env.filters["language_name"] = language_name
    app.jinja_env.globals["current_locale"] = current_locale
    app.after_request(_vary_on_language)
