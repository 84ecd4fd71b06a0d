"""The United Kingdom's VAT (VAT Act 1994), 20 % since 4 January 2011.

VAT is worked out on each line and rounded to the nearest penny, one of the methods HMRC's
VAT Notice 700 (section 16) accepts; the invoice shows the total per rate. Not in the EU
since 2021: sales to EU countries are zero-rated exports.
"""

from __future__ import annotations

from comptoir.toolkit import VatTable, plugin_translations

_ = plugin_translations("plugins.locale_gb").lazy_gettext

TABLE = VatTable(
    "GB",
    rounding="line",
    eu=False,
    rates=[
        {"tax_class": "standard", "rate": "17.5", "valid_from": "2010-01-01"},
        {"tax_class": "standard", "rate": "20", "valid_from": "2011-01-04"},
        {"tax_class": "reduced", "rate": "5", "valid_from": "1997-09-01"},
        {"tax_class": "zero", "rate": "0", "valid_from": "1973-04-01"},
    ],
    mentions={"export": _("Zero-rated export of goods (HMRC VAT Notice 703)")},
    source="VAT Act 1994 s. 2, sch. 7A, sch. 8; HMRC VAT Notice 700",
)
