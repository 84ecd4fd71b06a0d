"""France's VAT (Code général des impôts, articles 278 and following).

Rounding: the VAT of each rate is computed on the rate's total and rounded once (BOI-TVA-
DECLA-30-20-20: the amount to show is the VAT per rate of the invoice).
"""

from __future__ import annotations

from comptoir.toolkit import VatTable, plugin_translations

_ = plugin_translations("plugins.locale_fr").lazy_gettext

TABLE = VatTable(
    "FR",
    rounding="invoice",
    rates=[
        {"tax_class": "standard", "rate": "19.6", "valid_from": "2000-04-01"},
        {"tax_class": "standard", "rate": "20", "valid_from": "2014-01-01"},
        {"tax_class": "intermediate", "rate": "7", "valid_from": "2012-01-01"},
        {"tax_class": "intermediate", "rate": "10", "valid_from": "2014-01-01"},
        {"tax_class": "reduced", "rate": "5.5", "valid_from": "2000-01-01"},
        {"tax_class": "super_reduced", "rate": "2.1", "valid_from": "2000-01-01"},
        {"tax_class": "zero", "rate": "0", "valid_from": "2000-01-01"},
    ],
    mentions={
        "reverse_charge": _("Reverse charge: intra-Community supply exempt from VAT, "
                            "article 262 ter I of the French Tax Code"),
        "export": _("VAT exempt export, article 262 I of the French Tax Code"),
    },
    source="CGI art. 278, 278 bis, 278-0 bis, 281 quater (Legifrance)",
)
