"""A shop's own settings: languages, price display, VAT options, default variants.

Stored as JSON on the tenant row and validated here with JSON Schema (the same tool as
plugin settings), then checked for what a schema cannot say: that a language is one Babel
knows, that a scheduled VAT change names a class the country has. A reseller inherits its
office's values; it may set its own only for the keys its office lists in
``reseller_overrides`` (an office keeps its VAT options to itself, and may leave the
languages or the price display to its resellers).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator

AMOUNT = {"type": "string", "pattern": "^[0-9]{1,10}(\\.[0-9]{1,2})?$"}
LOCALE = {"type": "string", "pattern": "^[a-z]{2,3}(_[A-Z]{2})?$"}

#: Keys a reseller may set when its office allows it (``reseller_overrides``).
OVERRIDABLE = ("languages", "prices", "default_variant", "vies_check")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "languages": {
            "type": "array", "items": LOCALE, "uniqueItems": True, "maxItems": 6,
            "description": "Locales the shop offers besides its own (Switzerland: fr_CH, "
                           "de_CH); visitors choose with the language switcher.",
        },
        "prices": {
            "enum": ["auto", "net", "gross"], "default": "auto",
            "description": "Prices shown excluding VAT (net), including it (gross), or net "
                           "to companies and gross to consumers (auto); shoppers may switch.",
        },
        "oss_threshold": {
            **AMOUNT, "default": "10000",
            "description": "Cross-border B2C sales in the EU per calendar year above which "
                           "the destination country's VAT applies (One-Stop Shop).",
        },
        "oss_opted_in": {
            "type": "boolean", "default": False,
            "description": "Charge the destination's VAT on EU distance sales from the first "
                           "euro (an option the OSS scheme allows).",
        },
        "vies_check": {
            "type": "boolean", "default": False,
            "description": "Check EU VAT numbers with the Commission's VIES service before "
                           "a reverse charge, and keep the answer.",
        },
        "vat_rate_changes": {
            "type": "array",
            "maxItems": 20,
            "description": "Rate changes announced by the country, from a date.",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["tax_class", "rate", "valid_from"],
                "properties": {
                    "tax_class": {"type": "string"},
                    "rate": {"type": "string", "pattern": "^[0-9]{1,2}(\\.[0-9]{1,2})?$"},
                    "valid_from": {"type": "string", "format": "date"},
                },
            },
        },
        "default_variant": {
            "type": "object",
            "maxProperties": 6,
            "additionalProperties": {"type": "string", "maxLength": 40},
            "description": "Variant attributes offered first (plug, keyboard layout).",
        },
        "reseller_overrides": {
            "type": "array", "items": {"enum": list(OVERRIDABLE)}, "uniqueItems": True,
            "default": ["languages", "prices", "default_variant"],
            "description": "What the office's resellers may set for themselves.",
        },
    },
}

DEFAULTS: Mapping[str, Any] = MappingProxyType({
    key: spec["default"] for key, spec in SCHEMA["properties"].items() if "default" in spec
})


class SettingsError(ValueError):
    """A setting refused; ``field`` names it, and nothing was saved."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"setting '{field}': {problem}")
        self.field, self.problem = field, problem


def validate(values: Mapping[str, Any], *, country: str | None = None,
             reseller_of: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return ``values`` if they make valid settings, else raise :class:`SettingsError`.

    :param country: the tenant's country, to check scheduled VAT changes against its table.
    :param reseller_of: the office's effective settings when ``values`` are a reseller's:
        keys the office does not let its resellers set are refused.
    """
    from babel import Locale, UnknownLocaleError

    validator = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(dict(values)), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        field = ".".join(str(p) for p in first.absolute_path) or "settings"
        raise SettingsError(field, first.message)
    for index, code in enumerate(values.get("languages", [])):
        try:
            Locale.parse(code)
        except (UnknownLocaleError, ValueError):
            raise SettingsError(f"languages.{index}", f"'{code}' is not a known locale") \
                from None
    if reseller_of is not None:
        allowed = set(reseller_of.get("reseller_overrides", DEFAULTS["reseller_overrides"]))
        for key in values:
            if key not in allowed:
                raise SettingsError(key, "your country office sets this for its resellers")
    changes = values.get("vat_rate_changes")
    if changes and country:
        from comptoir.tax.basis import table_for_country
        from comptoir.tax.tables import VatTableError

        table = table_for_country(country)
        if table is None:
            raise SettingsError("vat_rate_changes", f"no VAT table is installed for {country}")
        try:
            table.amended(changes)
        except VatTableError as error:
            raise SettingsError(error.field, error.problem) from None
    return dict(values)


def effective(office: Mapping[str, Any] | None, own: Mapping[str, Any] | None,
              is_reseller: bool) -> Mapping[str, Any]:
    """Defaults, then the office's settings, then what the reseller may and did set."""
    merged = dict(DEFAULTS)
    merged.update(office or {})
    if is_reseller:
        allowed = set(merged.get("reseller_overrides", ()))
        merged.update({k: v for k, v in (own or {}).items() if k in allowed})
    return MappingProxyType(merged)
