"""The language switcher: a visitor picks one of the languages the shop offers.

The choice is kept in the shop's session (one cookie per storefront, see
:mod:`comptoir.core.sessions`) and read back by :func:`comptoir.core.i18n.select_locale`.
A locale the shop does not offer is refused with a 400 that names it and lists the offered
ones; the session is left as it was.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, request, session, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from comptoir.core.i18n import SESSION_KEY, language_name, offered_locale
from comptoir.customers.auth import safe_next

bp = Blueprint("language", __name__)


@bp.before_request
def _needs_tenant() -> None:
    if g.get("tenant") is None:
        abort(404)  # the platform's own pages speak one language


@bp.route("/language", methods=["POST"])
def choose() -> Response:
    wanted = request.form.get("locale", "").strip()
    chosen = offered_locale(g.tenant, wanted.replace("-", "_"))
    if chosen is None:
        offered = ", ".join(f"{language_name(code)} [{code}]" for code in g.tenant.languages)
        abort(400, gettext("This shop does not offer the language “%(locale)s”; it offers: "
                           "%(offered)s.", locale=wanted[:40], offered=offered))
    session[SESSION_KEY] = chosen
    return redirect(safe_next(request.form.get("next", "")) or url_for("index"), code=303)
