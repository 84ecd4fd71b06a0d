"""Legal pages: ``/legal/<kind>`` on every storefront, and their editor for tenant admins.

Public: ``/legal/terms`` (CGV), ``/legal/legal-notice``, ``/legal/privacy``, in the visitor's
language when the shop has that text (see :func:`comptoir.legal.service.page_for`), else a
"not written yet" page with a 404. The editor lives beside the shop settings, under
``/staff/settings/legal``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from comptoir.core.db import db
from comptoir.core.i18n import language_name
from comptoir.core.plugins import hooks
from comptoir.core.themes import render
from comptoir.legal import service
from comptoir.legal.models import KINDS
from comptoir.shop_settings.access import actor, admins_only

bp = Blueprint("legal", __name__, url_prefix="/legal")
editor = Blueprint("legal_editor", __name__, url_prefix="/staff/settings/legal")
editor.before_request(admins_only)

#: The EU minimum, when no plugin says more.
DEFAULT_WITHDRAWAL_DAYS = 14


@bp.app_template_global("withdrawal_days")
def withdrawal_days() -> int:
    """Days a consumer has to withdraw from a purchase in the current shop."""
    tenant = g.get("tenant")
    if tenant is None:
        return DEFAULT_WITHDRAWAL_DAYS
    days = hooks(tenant).comptoir_withdrawal_days(tenant=tenant)
    return int(days or DEFAULT_WITHDRAWAL_DAYS)


@bp.route("/<kind>")
def page(kind: str) -> Any:
    if g.get("tenant") is None or kind not in KINDS:
        abort(404)
    found = service.page_for(g.tenant, kind, get_locale())
    if found is None:
        return render("legal/missing.html", kind=kind,
                      label=service.KIND_LABELS[kind]), 404
    return render("legal/page.html", page=found, kind=kind,
                  paragraphs=service.paragraphs(found.body))


# -- editor ---------------------------------------------------------------------------


def _checked(kind: str, language: str) -> None:
    if kind not in KINDS or language not in service.languages(g.tenant):
        abort(404)


@editor.route("")
def index() -> str:
    rows = []
    for kind in KINDS:
        for language in service.languages(g.tenant):
            own = service.own_page(g.tenant, kind, language)
            inherited = None if own else service.office_page(g.tenant, kind, language)
            rows.append((kind, language, own, inherited))
    return render("staff/settings_legal.html", rows=rows, labels=service.KIND_LABELS,
                  language_name=language_name)


def _suggested_title(kind: str, language: str) -> str:
    with force_locale(language):
        return str(service.KIND_LABELS[kind])


def _editor(kind: str, language: str, form: dict[str, str] | None = None,
            error: service.LegalError | None = None, status: int = 200) -> Any:
    own = service.own_page(g.tenant, kind, language)
    inherited = None if own else service.office_page(g.tenant, kind, language)
    source = own or inherited
    if form is None:
        form = {"title": source.title if source else _suggested_title(kind, language),
                "body": source.body if source else ""}
    return render("staff/settings_legal_edit.html", kind=kind, language=language,
                  label=service.KIND_LABELS[kind], own=own, inherited=inherited, form=form,
                  error=error, language_name=language_name,
                  title_max=service.TITLE_MAX, body_max=service.BODY_MAX), status


@editor.route("/<kind>/<language>")
def edit(kind: str, language: str) -> Any:
    _checked(kind, language)
    return _editor(kind, language)


@editor.route("/<kind>/<language>", methods=["POST"])
def save(kind: str, language: str) -> Any:
    if kind not in KINDS:
        abort(404)
    form = {"title": request.form.get("title", ""), "body": request.form.get("body", "")}
    try:
        service.save_page(g.tenant, kind, language, form["title"], form["body"], actor())
        db.session.commit()
    except service.LegalError as error:
        db.session.rollback()
        return _editor(kind, language, form, error, 400)
    flash(_("%(page)s saved.", page=service.KIND_LABELS[kind]), "success")
    return redirect(url_for("legal_editor.index"), 303)


@editor.route("/<kind>/<language>/delete", methods=["POST"])
def delete(kind: str, language: str) -> Any:
    _checked(kind, language)
    if service.delete_page(g.tenant, kind, language):
        db.session.commit()
        flash(_("%(page)s deleted.", page=service.KIND_LABELS[kind]), "success")
    return redirect(url_for("legal_editor.index"), 303)
