"""A quote as a PDF, drawn by the invoice's code: same layout, seller, buyer and mentions,
with the validity date in place of payment terms and the VAT of the shop's country."""

from __future__ import annotations

from typing import Any

from flask_babel import format_date, gettext

from comptoir.core.db import db
from comptoir.core.i18n import money, percent
from comptoir.customers.models import Company
from comptoir.legal.texts import legal_mentions
from comptoir.orders import invoices
from comptoir.quotes.models import Quote
from comptoir.tax import basis
from comptoir.tax.compute import compute
from comptoir.tax.tables import UnknownTaxClass


def _tax_class(line: Any) -> str:
    return line.variant.product.tax_class if line.variant is not None else "standard"


def build(tenant: Any, quote: Quote) -> invoices.Invoice:
    currency = quote.currency
    domestic = basis.domestic(tenant)
    rows, taxed = [], []
    for line in quote.current_lines:
        try:
            rate = domestic.rate(_tax_class(line))
        except UnknownTaxClass:
            rate = None
        total = line.unit_net * line.quantity
        rows.append((line.sku, line.name, line.quantity, money(line.unit_net, currency),
                     percent(rate / 100) if rate is not None else "—", money(total, currency)))
        if rate is not None:
            taxed.append((total, rate))
    taxes = compute(taxed, domestic.rounding)
    company = db.session.get(Company, quote.company_id)
    seller = [tenant.name] + ([gettext("a %(office)s reseller", office=tenant.office_name)]
                              if tenant.is_reseller else [])
    net = quote.total_net
    return invoices.Invoice(
        number=f"D-{quote.number:06d}-v{quote.version}", issued=quote.created_at.date(),
        due=None, seller=seller, buyer=[company.name] if company else [],
        lines=rows,
        vat=[(gettext("VAT %(rate)s on %(base)s", rate=percent(r.rate / 100),
                      base=money(r.base, currency)), money(r.vat, currency))
             for r in taxes.per_rate],
        total_net=money(net, currency), total_vat=money(taxes.vat, currency),
        total_gross=money(net + taxes.vat, currency),
        terms=gettext("Valid until %(date)s. VAT shown at the rates of %(country)s; an "
                      "order abroad is taxed as its delivery requires.",
                      date=format_date(quote.valid_until, "long"), country=tenant.country),
        mentions=legal_mentions(tenant),
        title=gettext("Quote %(number)s, version %(version)s", number=quote.number,
                      version=quote.version),
    )


def pdf(tenant: Any, quote: Quote) -> bytes:
    return invoices.pdf(build(tenant, quote))
