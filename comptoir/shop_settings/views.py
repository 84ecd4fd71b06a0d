"""``/staff/settings``: the shop's localisation and VAT settings, for its tenant admins.

An office sets its language(s), currency, time zone, price display, VAT options, default
variants, what its resellers may set, and its country plugin's legal identity. A reseller
sees its office's values marked as such and changes only what its office allows. Each
section is a form of its own; a refused value re-renders the page with the message beside
the input and a 400, and nothing is saved.
"""

from __future__ import annotations

import zoneinfo
from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from comptoir.core.db import db
from comptoir.core.i18n import language_name
from comptoir.core.plugins import PluginSettingsError, plugin_host
from comptoir.core.themes import render
from comptoir.shop_settings import forms, plugin_form
from comptoir.shop_settings.access import actor, admins_only
from comptoir.tenants import service
from comptoir.tenants.models import Tenant
from comptoir.tenants.settings import OVERRIDABLE, SettingsError, effective

bp = Blueprint("shop_settings", __name__, url_prefix="/staff/settings")
bp.before_request(admins_only)


def _row() -> Tenant:
    row = db.session.get(Tenant, g.tenant.id)
    if row is None:
        abort(404)
    return row


def _vat_classes(country: str, on_date: date) -> list[tuple[str, Any]]:
    from comptoir.tax.basis import table_for_country
    from comptoir.tax.tables import UnknownTaxClass

    table = table_for_country(country) if country else None
    if table is None:
        return []
    found = []
    for tax_class in sorted(table.classes):
        try:
            found.append((tax_class, table.rate(tax_class, on_date)))
        except UnknownTaxClass:
            found.append((tax_class, None))
    return found


def _page(row: Tenant, posted: MultiDict | None = None, section: str = "",
          errors: dict[str, str] | None = None, status: int = 200) -> Any:
    office = row.parent or row
    is_office = row.parent is None
    own = dict(row.settings or {})
    office_settings = effective(office.settings, None, False)
    current = {"languages": [], "default_variant": {}, "vat_rate_changes": [],
               **effective(office.settings, row.settings, not is_office)}
    allowed = set(OVERRIDABLE) if is_office else set(office_settings["reseller_overrides"])
    country = row.country or office.country or ""
    locale = row.locale or office.locale or g.tenant.locale
    posted = posted or MultiDict()
    if section == "variants":
        pairs = list(zip(posted.getlist("variant_attr"), posted.getlist("variant_value"),
                         strict=False))
    else:
        pairs = list(current["default_variant"].items())
    return render(
        "staff/settings.html",
        row=row, office=office, is_office=is_office, own=own, current=current,
        office_settings=office_settings, allowed=allowed, overridable=OVERRIDABLE,
        country=country, locale=locale,
        offered=list(dict.fromkeys((locale, *current["languages"]))),
        variant_pairs=pairs + [("", "")] * (forms.MAX_VARIANT_ATTRIBUTES - len(pairs)),
        currency=row.currency or office.currency or g.tenant.currency,
        timezone=row.timezone or office.timezone or g.tenant.timezone,
        timezones=sorted(zoneinfo.available_timezones()),
        language_name=language_name,
        vat_classes=_vat_classes(country, date.today()),
        plugins=[(name, plugin_host().description(name), plugin_form.fields(row, name))
                 for name in plugin_form.locale_plugins(g.tenant)],
        posted=posted, section=section, errors=errors or {},
    ), status


@bp.route("", methods=["GET"])
def page() -> Any:
    return _page(_row())


def _values(section: str, row: Tenant) -> dict[str, Any]:
    form = request.form
    changes = list((row.settings or {}).get("vat_rate_changes") or [])
    if section == "shop":
        return forms.shop(form)
    if section == "vat":
        return forms.vat(form)
    if section == "vat_change_add":
        return forms.vat_change(form, changes)
    if section == "vat_change_remove":
        return forms.vat_change_removed(form, changes)
    if section == "variants":
        return forms.variants(form)
    if section == "overrides":
        return forms.overrides(form)
    abort(400)


def _as_office_says(values: dict[str, Any], row: Tenant) -> dict[str, Any]:
    """A reseller's form shows its office's values: sent back unchanged, they are not its
    own (it keeps following its office); a value it already owns is kept as given."""
    if row.parent is None:
        return values
    office = effective(row.parent.settings, None, False)
    own = row.settings or {}
    return {k: v for k, v in values.items()
            if v is None or k in own or v != office.get(k, forms.EMPTY.get(k))}


@bp.route("", methods=["POST"])
def save() -> Any:
    row = _row()
    section = request.form.get("section", "")
    try:
        if section == "plugin":
            plugin = request.form.get("plugin", "")
            if plugin not in plugin_form.locale_plugins(g.tenant):
                abort(400)
            found = plugin_form.fields(row, plugin)
            plugin_form.save(row, plugin, plugin_form.parse(request.form, plugin, found))
        else:
            values = _as_office_says(_values(section, row), row)
            service.update_shop_settings(row, values, actor())
        db.session.commit()
    except forms.FormError as error:
        db.session.rollback()
        return _page(_row(), request.form, section, {error.field: error.problem}, 400)
    except SettingsError as error:
        db.session.rollback()
        where = forms.input_for(error.field, error.problem)
        return _page(_row(), request.form, section,
                     {where: _("%(field)s: %(problem)s", field=error.field,
                               problem=error.problem)}, 400)
    except PluginSettingsError as error:
        db.session.rollback()
        where = f"{error.plugin}.{error.field}" if error.field else error.plugin
        return _page(_row(), request.form, section, {where: error.problem}, 400)
    flash(_("Settings saved."), "success")
    return redirect(url_for("shop_settings.page"), 303)
