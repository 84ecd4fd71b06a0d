"""Czech VAT (zákon č. 235/2004 Sb., § 47), consolidated on 1 January 2024.

Until 2023 there were two reduced rates, 15 % and 10 %; since 2024 one, 12 %. The second
reduced rate ends with the table's ``valid_until``: a product still filed under it is
refused at checkout rather than taxed at a guess. VAT per rate on the invoice total.
"""

from __future__ import annotations

from comptoir.toolkit import VatTable, plugin_translations

_ = plugin_translations("plugins.locale_cz").lazy_gettext

TABLE = VatTable(
    "CZ",
    rounding="invoice",
    rates=[
        {"tax_class": "standard", "rate": "21", "valid_from": "2013-01-01"},
        {"tax_class": "reduced", "rate": "15", "valid_from": "2013-01-01"},
        {"tax_class": "reduced", "rate": "12", "valid_from": "2024-01-01"},
        {"tax_class": "super_reduced", "rate": "10", "valid_from": "2015-01-01",
         "valid_until": "2024-01-01"},
        {"tax_class": "zero", "rate": "0", "valid_from": "2013-01-01"},
    ],
    mentions={
        "reverse_charge": _("Supply of goods to another Member State exempt from VAT "
                            "(section 64 of the Czech VAT Act)"),
        "export": _("Export of goods exempt from VAT (section 66 of the Czech VAT Act)"),
    },
    source="Zákon č. 235/2004 Sb. § 47; zákon č. 349/2023 Sb. (konsolidační balíček)",
)
