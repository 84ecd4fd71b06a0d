"""Germany's VAT (Umsatzsteuergesetz § 12), with the 2020 temporary cut.

From 1 July to 31 December 2020 the rates were 16 % and 7 → 5 % (Zweites Corona-
Steuerhilfegesetz); the table states the cut with its end date, and the usual rates carry on
by themselves from 1 January 2021. VAT per rate on the invoice total (UStG § 14 (4) 8).
"""

from __future__ import annotations

from comptoir.toolkit import VatTable, plugin_translations

_ = plugin_translations("plugins.locale_de").lazy_gettext

TABLE = VatTable(
    "DE",
    rounding="invoice",
    rates=[
        {"tax_class": "standard", "rate": "19", "valid_from": "2007-01-01"},
        {"tax_class": "standard", "rate": "16", "valid_from": "2020-07-01",
         "valid_until": "2021-01-01"},
        {"tax_class": "reduced", "rate": "7", "valid_from": "1983-07-01"},
        {"tax_class": "reduced", "rate": "5", "valid_from": "2020-07-01",
         "valid_until": "2021-01-01"},
        {"tax_class": "zero", "rate": "0", "valid_from": "2023-01-01"},
    ],
    mentions={
        "reverse_charge": _("Tax-exempt intra-Community supply (section 4 no. 1b and "
                            "section 6a of the German VAT Act)"),
        "export": _("Tax-exempt export delivery (section 4 no. 1a of the German VAT Act)"),
    },
    source="UStG § 12; BGBl. I 2020 S. 1512 (temporary rates)",
)
