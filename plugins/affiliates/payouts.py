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

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select, update

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
                            reference=_reference(affiliate, until, currency))
            db.session.add(payout)
            db.session.flush()
            db.session.add_all(PayoutEntry(payout_id=payout.id, entry_id=e.id) for e in group)
            made.append(payout)
    db.session.commit()
    return made


def _reference(affiliate: Affiliate, until: date, currency: str) -> str:
    """``PAY-BLOGPRO-20261130-EUR``, then ``...-EUR-2`` for a second run on the same day
    (entries that became payable since the first)."""
    base = f"PAY-{affiliate.code}-{until:%Y%m%d}-{currency}"
    taken = db.session.scalar(select(func.count(Payout.id)).where(
        Payout.reference.like(f"{base}%")))
    return base if not taken else f"{base}-{taken + 1}"


def pay(tenant: TenantInfo, payout: Payout, actor: str, reference: str = "") -> Payout:
    """Pay a statement: by the payment plugin when the affiliate's account is one it knows,
    else with the reference of the transfer staff made."""
    if payout.status == "paid":
        raise PayoutError(_("This payout is paid already."))
    affiliate = payout.affiliate
    reference = (reference or "").strip()[:120]
    by_transfer = not reference and bool(affiliate.payout_account)
    if not reference and not by_transfer:
        raise PayoutError(_("Give the reference of the bank transfer you made."))
    # Claim the statement before any money moves: two people paying it at once (one by
    # transfer, one by hand) get one payment; the loser is told.
    claimed = db.session.execute(
        update(Payout).where(Payout.id == payout.id, Payout.status == "open")
        .values(status="paying").execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.session.rollback()
        raise PayoutError(_("This payout changed meanwhile: reload the page."))
    db.session.commit()
    if by_transfer:
        reference = hooks(tenant).comptoir_transfer(
            tenant=tenant, account=affiliate.payout_account, amount=payout.amount,
            currency=payout.currency, reference=f"{tenant.slug}-{payout.reference}") or ""
        if not reference:
            # Whether the provider refused or did not answer, the statement stays claimed
            # ("paying") for staff to check the provider's dashboard before paying again.
            log.error("transfer for payout %s did not go through", payout.reference)
            raise PayoutError(_("The transfer did not go through; check the payment "
                                "provider before paying this statement by other means."))
    db.session.execute(
        update(Payout).where(Payout.id == payout.id, Payout.status == "paying")
        .values(status="paid", paid_reference=reference, paid_at=datetime.now(UTC))
        .execution_options(synchronize_session=False))
    db.session.commit()
    db.session.refresh(payout)
    log.info("payout %s paid by %s: %s", payout.reference, actor, reference)
    return payout


@click.command("payout")
@click.argument("slug")
@click.option("--until", "until_text", required=True, metavar="YYYY-MM-DD",
              help="Last day of the period; entries booked later wait for the next run.")
@with_appcontext
def payout_command(slug: str, until_text: str) -> None:
    """Make SLUG's payout statements up to a day: for an office's operator paying its
    resellers' own accounts, or from cron at each period's end."""
    from comptoir.toolkit import as_tenant, find_tenant, shop_today

    tenant = find_tenant(slug)
    if tenant is None:
        raise click.ClickException(f"no shop '{slug}'")
    if "affiliates" not in tenant.plugins:
        raise click.ClickException(f"the affiliates plugin is off for '{slug}'")
    try:
        until = date.fromisoformat(until_text)
    except ValueError:
        raise click.ClickException(f"--until '{until_text}' is not a date (YYYY-MM-DD)") from None
    if until >= shop_today(tenant):
        raise click.ClickException("--until must be a day that is over (yesterday or before)")
    with as_tenant(tenant):
        made = run(tenant, until, "cli")
        for payout in made:
            click.echo(f"{payout.reference}: {payout.amount} {payout.currency}")
    if not made:
        click.echo("no statement: nothing payable above the minimum")
