"""From the posted settings form to the values :func:`update_shop_settings` checks.

The page has one form per section. Each parser reads only its section's fields, turns what
a person types (``10 000,50``, ``fr-ch``) into what the settings schema wants, and raises
:class:`FormError` naming the input for what is plainly missing or malformed; whether a
value is acceptable (a tax class the country has, a key a reseller may set) is the
service's decision. ``inherit-<key>`` (resellers) gives ``None``: "use my office's value".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from comptoir.tenants.settings import OVERRIDABLE

SECTIONS = ("shop", "vat", "vat_change_add", "vat_change_remove", "variants", "overrides",
            "plugin")
PRICES = ("auto", "net", "gross")
AMOUNT = re.compile(r"^[0-9]{1,10}(\.[0-9]{1,2})?$")
RATE = re.compile(r"^[0-9]{1,2}(\.[0-9]{1,2})?$")
SPACES = re.compile(r"[\s\u00a0\u202f']")
MAX_VARIANT_ATTRIBUTES = 6
#: What a setting with no value shows as, to compare a form's value with an office's.
EMPTY: dict[str, Any] = {"languages": [], "default_variant": {}}
ATTRIBUTE_MAX = 40


class FormError(ValueError):
    """A form input that cannot be read; ``field`` is the input's name."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


def checked(form: MultiDict, name: str) -> bool:
    """A checkbox that follows a hidden ``0`` of the same name: ticked if ``1`` was sent."""
    return "1" in form.getlist(name)


def _inherits(form: MultiDict, key: str) -> bool:
    return checked(form, f"inherit-{key}")


def locale_code(raw: str) -> str:
    """``fr-ch`` -> ``fr_CH``; whether Babel knows it is checked by the service."""
    parts = [p for p in re.split(r"[-_]", raw.strip()) if p]
    if not parts:
        return ""
    return "_".join([parts[0].lower(), *(p.upper() for p in parts[1:])])


def languages(raw: str) -> list[str]:
    codes = [locale_code(c) for c in re.split(r"[\s,;]+", raw) if c.strip()]
    return list(dict.fromkeys(c for c in codes if c))


def amount(raw: str, field: str) -> str:
    value = SPACES.sub("", raw).replace(",", ".")
    if not AMOUNT.match(value):
        raise FormError(field, _("Enter an amount in figures, such as 10000 or 10000.00."))
    return value


def shop(form: MultiDict) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column in ("locale", "currency", "timezone"):
        if column in form:
            raw = form.get(column, "").strip()
            if not raw:
                raise FormError(column, _("This field is required."))
            values[column] = locale_code(raw) if column == "locale" else raw
    if _inherits(form, "languages"):
        values["languages"] = None
    elif "languages" in form:
        values["languages"] = languages(form.get("languages", ""))
    if _inherits(form, "prices"):
        values["prices"] = None
    elif "prices" in form:
        if form.get("prices") not in PRICES:
            raise FormError("prices", _("Choose how prices are shown."))
        values["prices"] = form.get("prices")
    return values


def vat(form: MultiDict) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "oss_threshold" in form:
        values["oss_threshold"] = amount(form.get("oss_threshold", ""), "oss_threshold")
    for key in ("oss_opted_in", "vies_check"):
        if _inherits(form, key):
            values[key] = None
        elif key in form:
            values[key] = checked(form, key)
    return values


def vat_change(form: MultiDict, current: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The office's scheduled changes with one more (tax class, rate, date)."""
    tax_class = form.get("tax_class", "").strip()
    if not tax_class:
        raise FormError("tax_class", _("Choose a tax class."))
    rate = SPACES.sub("", form.get("rate", "")).replace(",", ".").rstrip("%")
    if not RATE.match(rate):
        raise FormError("rate", _("Enter the new rate in percent, such as 20 or 5.5."))
    when = form.get("valid_from", "").strip()
    if not when:
        raise FormError("valid_from", _("Give the date the new rate comes into force."))
    try:
        date.fromisoformat(when)
    except ValueError:
        raise FormError("valid_from", _("Enter a date as YYYY-MM-DD.")) from None
    change = {"tax_class": tax_class, "rate": rate, "valid_from": when}
    return {"vat_rate_changes": [*current, change]}


def vat_change_removed(form: MultiDict, current: list[Mapping[str, Any]]) -> dict[str, Any]:
    try:
        index = int(form.get("index", ""))
    except ValueError:
        index = -1
    if not 0 <= index < len(current):
        raise FormError("vat_rate_changes", _("This change is no longer scheduled."))
    rest = [c for i, c in enumerate(current) if i != index]
    return {"vat_rate_changes": rest or None}


def variants(form: MultiDict) -> dict[str, Any]:
    if _inherits(form, "default_variant"):
        return {"default_variant": None}
    names, values = form.getlist("variant_attr"), form.getlist("variant_value")
    chosen: dict[str, str] = {}
    for name, value in zip(names, values, strict=False):
        name, value = name.strip(), value.strip()
        if not name and not value:
            continue
        if not name:
            raise FormError("default_variant",
                            _("Give the name of the attribute for '%(value)s'.", value=value))
        if not value:
            raise FormError("default_variant", _("Give a value for '%(name)s'.", name=name))
        if len(name) > ATTRIBUTE_MAX or len(value) > ATTRIBUTE_MAX:
            raise FormError("default_variant", _("Names and values have %(max)s characters "
                                                 "at most.", max=ATTRIBUTE_MAX))
        if name in chosen:
            raise FormError("default_variant", _("'%(name)s' is given twice.", name=name))
        chosen[name] = value
    if len(chosen) > MAX_VARIANT_ATTRIBUTES:
        raise FormError("default_variant", _("%(max)s attributes at most.",
                                             max=MAX_VARIANT_ATTRIBUTES))
    return {"default_variant": chosen}


def overrides(form: MultiDict) -> dict[str, Any]:
    return {"reseller_overrides": [k for k in OVERRIDABLE if checked(form, f"override-{k}")]}


def input_for(field: str, message: str = "") -> str:
    """The input a service error is about: ``vat_rate_changes.2`` -> ``valid_from``..."""
    if field.startswith("vat_rate_changes"):
        for name in ("tax_class", "valid_from", "rate"):
            if name in field or f"'{name}'" in message:
                return name
        return "vat_rate_changes"
    return re.split(r"[.\[]", field, maxsplit=1)[0]
