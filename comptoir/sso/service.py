"""Company SSO rules: saving a configuration, approving domains, and turning a provider's
verified claims into a user of this shop.

Every function works inside the current tenant scope, so another shop's rows are never
seen; a company is only ever given its own configuration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from comptoir.accounts.passwords import UNUSABLE
from comptoir.core.db import db
from comptoir.customers.models import Company, User
from comptoir.sso import secrets
from comptoir.sso.models import DEFAULT_ROLES, CompanySSO, SSODomain
from comptoir.sso.provider import SSOError, url_problem

DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
FIELDS = ("issuer", "client_id", "client_secret", "email_domains", "default_role")


class ConfigRefused(ValueError):
    """A configuration not saved; ``errors`` maps each form field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def config_of(company: Company) -> CompanySSO | None:
    """``company``'s configuration, if it has one."""
    return db.session.scalars(
        select(CompanySSO).where(CompanySSO.company_id == company.id)).first()


def parse_domains(text: str) -> tuple[list[str], list[str]]:
    """(valid domains, invalid entries) of a comma/space/newline separated list."""
    valid: list[str] = []
    invalid: list[str] = []
    for entry in re.split(r"[\s,;]+", text.strip().lower()):
        entry = entry.removeprefix("@").rstrip(".")
        if not entry:
            continue
        (valid if DOMAIN.match(entry) else invalid).append(entry)
    return list(dict.fromkeys(valid)), invalid


def save_config(company: Company, data: Mapping[str, str]) -> CompanySSO:
    """Create or update ``company``'s configuration from a submitted form.

    All fields are checked before anything is written: on :class:`ConfigRefused` nothing
    changed. A blank secret keeps the stored one. Domains still listed keep their approval;
    new ones wait for the shop's approval.
    """
    existing = config_of(company)
    errors: dict[str, str] = {}
    issuer = (data.get("issuer") or "").strip()
    if not issuer:
        errors["issuer"] = _("Enter the issuer URL of your provider.")
    elif len(issuer) > 500:
        errors["issuer"] = _("The issuer URL is too long.")
    elif problem := url_problem(issuer):
        errors["issuer"] = problem
    client_id = (data.get("client_id") or "").strip()
    if not client_id or len(client_id) > 255:
        errors["client_id"] = _("Enter the client ID (up to 255 characters).")
    secret = (data.get("client_secret") or "").strip()
    if not secret and existing is None:
        errors["client_secret"] = _("Enter the client secret.")
    elif len(secret) > 1000:
        errors["client_secret"] = _("The client secret is too long.")
    domains, invalid = parse_domains(data.get("email_domains") or "")
    if invalid:
        errors["email_domains"] = _("Not a domain name: %(entries)s.", entries=", ".join(invalid))
    elif not domains:
        errors["email_domains"] = _("Enter at least one e-mail domain of your company.")
    else:
        taken = db.session.scalars(
            select(SSODomain.domain).join(CompanySSO, CompanySSO.id == SSODomain.sso_id)
            .where(SSODomain.domain.in_(domains), CompanySSO.company_id != company.id)).all()
        if taken:
            errors["email_domains"] = _("Already claimed by another company of this shop: "
                                        "%(domains)s.", domains=", ".join(sorted(taken)))
    role = data.get("default_role") or "buyer"
    if role not in DEFAULT_ROLES:
        errors["default_role"] = _("The default role must be buyer or approver.")
    if errors:
        raise ConfigRefused(errors)

    sso = existing or CompanySSO(company_id=company.id)
    sso.issuer, sso.client_id, sso.default_role = issuer, client_id, role
    sso.enabled = data.get("enabled") in ("on", "yes", "true", "1")
    if secret:
        sso.client_secret = secrets.encrypt(secret)
    kept = {d.domain: d for d in sso.domains}
    sso.domains = [kept.get(d) or SSODomain(domain=d) for d in domains]
    if existing is None:
        db.session.add(sso)
    db.session.flush()
    return sso


def approve_domain(sso: CompanySSO, domain_id: int, actor: str) -> SSODomain:
    """The shop's admin vouches that ``sso``'s company owns this domain."""
    for domain in sso.domains:
        if domain.id == domain_id:
            if domain.approved_at is None:
                domain.approved_at, domain.approved_by = datetime.now(UTC), actor
            return domain
    raise LookupError(domain_id)


def config_for_email(email: str) -> CompanySSO | None:
    """The enabled configuration whose approved domain is ``email``'s, in this shop."""
    domain = email.strip().lower().rpartition("@")[2]
    row = db.session.scalars(
        select(SSODomain).where(SSODomain.domain == domain,
                                SSODomain.approved_at.is_not(None))).first()
    if row is None or not row.sso.enabled:
        return None
    return row.sso


def user_for_claims(sso: CompanySSO, claims: Mapping[str, object]) -> User:
    """The shop's user the provider vouched for, created on first log-in.

    Refused (:class:`SSOError`, nothing written): no e-mail, an unverified one, a domain
    the company has not had approved, or an address that belongs to a user outside the
    company (another company's buyer, an individual customer, staff): an IdP may speak
    only for its own company's people.
    """
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise SSOError(_("The provider did not send an e-mail address."))
    email = email.strip().lower()
    if claims.get("email_verified") is not True:
        raise SSOError(_("The provider has not verified the e-mail address %(email)s.",
                         email=email))
    company = db.session.get(Company, sso.company_id)
    domain = email.rpartition("@")[2]
    if domain not in {d.domain for d in sso.domains if d.approved_at is not None}:
        raise SSOError(_("%(domain)s is not an approved e-mail domain of %(company)s.",
                         domain=domain, company=company.name))
    user = db.session.scalars(select(User).where(User.email == email)).first()
    if user is not None:
        if user.company_id != sso.company_id:
            raise SSOError(_("The account %(email)s of this shop does not belong to "
                             "%(company)s: log in with its password instead.",
                             email=email, company=company.name))
        if not user.is_active:
            raise SSOError(_("The account %(email)s is deactivated.", email=email))
    else:
        name = claims.get("name")
        user = User(email=email, name=(name if isinstance(name, str) and name.strip()
                                       else email.partition("@")[0])[:200],
                    password_hash=UNUSABLE, role=sso.default_role, company_id=sso.company_id)
        db.session.add(user)
    if user.email_verified_at is None:
        user.email_verified_at = datetime.now(UTC)
    db.session.flush()
    return user
