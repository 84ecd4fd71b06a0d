"""Switzerland's VAT (MWSTG art. 25), raised on 1 January 2024 to finance the AHV.

Not in the EU: no reverse charge or OSS with EU countries; goods leaving Switzerland are
exports. VAT per rate on the invoice total.
"""

from __future__ import annotations

from comptoir.toolkit import VatTable, plugin_translations

_ = plugin_translations("plugins.locale_ch").lazy_gettext

TABLE = VatTable(
    "CH",
    rounding="invoice",
    eu=False,
    rates=[
        {"tax_class": "standard", "rate": "7.7", "valid_from": "2018-01-01"},
        {"tax_class": "standard", "rate": "8.1", "valid_from": "2024-01-01"},
        {"tax_class": "reduced", "rate": "2.5", "valid_from": "2011-01-01"},
        {"tax_class": "reduced", "rate": "2.6", "valid_from": "2024-01-01"},
        {"tax_class": "accommodation", "rate": "3.7", "valid_from": "2018-01-01"},
        {"tax_class": "accommodation", "rate": "3.8", "valid_from": "2024-01-01"},
        {"tax_class": "zero", "rate": "0", "valid_from": "2010-01-01"},
    ],
    mentions={
        "export": _("Export delivery exempt from Swiss VAT (art. 23 of the Swiss VAT Act)"),
    },
    source="MWSTG art. 25; AS 2023 (Federal decree on the AHV 21 financing)",
)
