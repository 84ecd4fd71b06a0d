"""EU VAT numbers: check digits by python-stdnum, existence by the Commission's VIES.

A number is first *well formed* (stdnum knows every member state's format and check digits:
no network, no guess). A shop that turned ``vies_check`` on also asks VIES whether the number
is registered, through its REST API, and keeps the answer with VIES's consultation reference
as evidence (:class:`~comptoir.tax.models.VatNumberCheck`); a fresh answer (30 days) is
reused. When VIES cannot be reached the sale is taxed normally: charging VAT the customer
can reclaim is safe, an unjustified reverse charge is not.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.tax.basis import EU_COUNTRIES, country_of_vat_number
from comptoir.tax.models import VatNumberCheck

log = logging.getLogger("comptoir.tax")

FRESH = timedelta(days=30)


class VatNumberError(ValueError):
    """A VAT number that cannot be right; the message says what is wrong with it."""


def normalise(number: str) -> str:
    """``"be 0403.170.701"`` -> ``"BE0403170701"``, or :class:`VatNumberError`."""
    from stdnum import exceptions
    from stdnum.eu import vat

    raw = (number or "").strip()
    if not raw:
        raise VatNumberError("a VAT number is required")
    try:
        compact = vat.validate(raw)
    except exceptions.InvalidChecksum:
        raise VatNumberError(f"'{raw}' is not a valid EU VAT number: its check digits are "
                             "wrong") from None
    except exceptions.InvalidLength:
        raise VatNumberError(f"'{raw}' is not a valid EU VAT number: wrong length") from None
    except exceptions.InvalidComponent:
        raise VatNumberError(f"'{raw}' is not a valid EU VAT number: it does not start with "
                             "an EU country code (FR, DE, BE...)") from None
    except exceptions.ValidationError:
        raise VatNumberError(f"'{raw}' is not a valid EU VAT number") from None
    if country_of_vat_number(compact) not in EU_COUNTRIES:
        raise VatNumberError(f"'{raw}' is not an EU VAT number")
    return compact


def normalise_company_number(number: str) -> str:
    """An EU, Swiss or UK VAT number as a company may give it, compacted; or
    :class:`VatNumberError`. Only EU numbers can ever earn a reverse charge."""
    from stdnum import exceptions
    from stdnum.ch import vat as swiss
    from stdnum.gb import vat as british

    raw = (number or "").strip()
    upper = raw.upper().replace(" ", "")
    for prefix, module in (("CHE", swiss), ("GB", british)):
        if upper.startswith(prefix):
            try:
                compact = module.validate(raw)
            except exceptions.ValidationError:
                raise VatNumberError(f"'{raw}' is not a valid {prefix} VAT number") from None
            return compact if compact.startswith(prefix) else prefix + compact
    return normalise(raw)


def ask_vies(number: str, requester: str | None) -> dict[str, Any]:
    """One question to VIES's REST API; raises ``OSError`` when it cannot answer."""
    body: dict[str, Any] = {"countryCode": number[:2], "vatNumber": number[2:]}
    if requester:
        body.update(requesterMemberStateCode=requester[:2], requesterNumber=requester[2:])
    request = urllib.request.Request(
        current_app.config["VIES_URL"], data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=current_app.config["VIES_TIMEOUT"]) as reply:
        answer = json.load(reply)
    if not isinstance(answer, dict) or "valid" not in answer:
        raise OSError(f"VIES answered without a verdict: {str(answer)[:200]}")
    return answer


def vies_check(number: str, requester: str | None = None) -> VatNumberCheck:
    """VIES's verdict on ``number``: a stored one younger than 30 days, else a new one."""
    recent = db.session.scalars(
        select(VatNumberCheck)
        .where(VatNumberCheck.vat_number == number, VatNumberCheck.source == "vies",
               VatNumberCheck.checked_at >= datetime.now(UTC) - FRESH)
        .order_by(VatNumberCheck.checked_at.desc())
    ).first()
    if recent is not None:
        return recent
    try:
        answer = ask_vies(number, requester)
    except (OSError, ValueError) as exc:
        log.warning("VIES could not check %s: %s", number, exc)
        check = VatNumberCheck(vat_number=number, valid=False, source="vies_unavailable",
                               detail=str(exc)[:500])
    else:
        check = VatNumberCheck(
            vat_number=number, valid=bool(answer.get("valid")), source="vies",
            reference=str(answer.get("requestIdentifier") or "")[:64] or None,
            name=(answer.get("name") or None), detail=answer.get("address") or None)
    db.session.add(check)
    db.session.flush()
    return check


def seller_vat_number(tenant: Any) -> str | None:
    """The shop's own VAT number, from its locale plugin's ``vat_number`` setting: VIES gives
    a consultation reference only to a requester who names theirs."""
    for plugin in sorted(tenant.plugins):
        number = tenant.settings_for(plugin).get("vat_number")
        if number:
            try:
                return normalise(number)
            except VatNumberError:
                continue
    return None


def usable_for_reverse_charge(tenant: Any, vat_number: str | None) -> str | None:
    """The company's number if a reverse charge may rest on it, else ``None``."""
    if not vat_number:
        return None
    try:
        number = normalise(vat_number)
    except VatNumberError:
        return None
    if tenant.settings.get("vies_check") and not vies_check(
            number, seller_vat_number(tenant)).valid:
        return None
    return number
