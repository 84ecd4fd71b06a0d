"""Payout runs: a statement per affiliate for a period, then its payment.

A run takes, for each affiliate, every payable entry not yet in a payout and booked by the
period's end — reversals included, so a return after an earlier payout is netted against
this one. An affiliate whose total is below the shop's minimum (``payout_minimum``) is carried
over to the next run. Paying sends the money through a payment plugin when the affiliate has
an account it knows (the stripe plugin: Stripe Connect transfers to ``acct_...``), otherwise
staff pay by bank transfer and record its reference.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from comptoir.toolkit import TenantInfo, db, hooks, plugin_settings, plugin_translations
from plugins.affiliates import ledger
from plugins.affiliates.models import Affiliate, Payout, PayoutEntry

log = logging.getLogger("comptoir.plugins.affiliates")
_ = plugin_translations("plugins.affiliates").gettext


class PayoutError(ValueError):
    """A payout was refused; nothing changed."""


def run(tenant: TenantInfo, until: date, actor: str) -> list[Payout]:
    """Make this period's statements; returns them (none for affiliates below the minimum).

    :param until: the last day of the period; entries booked later wait for the next run.
    """
    minimum = Decimal(plugin_settings("affiliates", tenant)["payout_minimum"])
    made = []
    for affiliate in db.session.scalars(select(Affiliate).order_by(Affiliate.code)):
        entries = ledger.unpaid_payable(tenant, affiliate.id, until)
        by_currency = defaultdict(list)
        for entry in entries:
            by_currency[entry.currency].append(entry)
        for currency, group in sorted(by_currency.items()):
            total = sum((e.amount for e in group), Decimal("0.00"))
            if total < minimum:
                log.info("%s: %s %s below the minimum payout, carried over", affiliate.code,
                         total, currency)
                continue
            payout = Payout(affiliate_id=affiliate.id, amount=total, currency=currency,
                            period_end=until, created_by=actor,
                            reference=f"PAY-{affiliate.code}-{until:%Y%m%d}-{currency}")
            db.session.add(payout)
            db.session.flush()
            db.session.add_all(PayoutEntry(payout_id=payout.id, entry_id=e.id) for e in group)
            made.append(payout)
    db.session.commit()
    return made


def pay(tenant: TenantInfo, payout: Payout, actor: str, reference: str = "") -> Payout:
    """Pay a statement: by the payment plugin when the affiliate's account is one it knows,
    else with the reference of the transfer staff made."""
    if payout.status == "paid":
        raise PayoutError(_("This payout is paid already."))
    affiliate = payout.affiliate
    reference = (reference or "").strip()[:120]
    if not reference and affiliate.payout_account:
        reference = hooks(tenant).comptoir_transfer(
            tenant=tenant, account=affiliate.payout_account, amount=payout.amount,
            currency=payout.currency, reference=payout.reference) or ""
    if not reference:
        raise PayoutError(_("Give the reference of the bank transfer you made."))
    claimed = db.session.execute(
        Payout.__table__.update().where(Payout.id == payout.id, Payout.status == "open")
        .values(status="paid", paid_reference=reference, paid_at=datetime.now(UTC)))
    if claimed.rowcount != 1:
        db.session.rollback()
        raise PayoutError(_("This payout changed meanwhile: reload the page."))
    db.session.commit()
    db.session.refresh(payout)
    log.info("payout %s paid by %s: %s", payout.reference, actor, reference)
    return payout
