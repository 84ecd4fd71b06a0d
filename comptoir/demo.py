"""Demo data: the five country offices, the reseller acme-informatique, a catalogue, users.

Safe to run again: each thing is created only when missing, so a second run changes nothing
and prints the same logins.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import select

from comptoir.catalog.models import Product
from comptoir.core.db import db
from comptoir.core.scoping import tenant_context
from comptoir.customers.models import Company, User
from comptoir.tenants import service
from comptoir.tenants.models import RESELLER, Tenant

DEMO_PASSWORD = "comptoir-demo"

OFFICES = (
    # slug, name, country, locale, currency, timezone
    ("fr", "Comptoir France", "FR", "fr_FR", "EUR", "Europe/Paris"),
    ("de", "Comptoir Deutschland", "DE", "de_DE", "EUR", "Europe/Berlin"),
    ("ch", "Comptoir Schweiz", "CH", "de_CH", "CHF", "Europe/Zurich"),
    ("gb", "Comptoir UK", "GB", "en_GB", "GBP", "Europe/London"),
    ("cz", "Comptoir Česko", "CZ", "cs_CZ", "CZK", "Europe/Prague"),
)

ACME_LOGO = b"""<svg xmlns="http://www.w3.org/2000/svg" width="180" height="48" viewBox="0 0 180 48"
 role="img" aria-label="ACME Informatique">
 <circle cx="24" cy="24" r="20" fill="#0b7a75"/>
 <path d="M14 32 L24 12 L34 32 Z" fill="#fff"/>
 <text x="52" y="22" font-family="Helvetica, Arial, sans-serif" font-size="17" font-weight="700"
  fill="#0b7a75">ACME</text>
 <text x="52" y="40" font-family="Helvetica, Arial, sans-serif" font-size="13"
  fill="#334">Informatique</text>
</svg>"""

# sku, name, price excluding VAT in the office's currency (EUR unless said)
CATALOGUE = {
    "fr": (
        ("PC-BUR-FR", "PC Bureau Pro (AZERTY, prise type E)", "649.00"),
        ("PC-ING-FR", "Station Ingénierie 32 Go (AZERTY)", "1899.00"),
        ("NB-14-FR", "Portable 14\" Léger (AZERTY)", "1049.50"),
        ("SCR-27", "Écran 27\" QHD", "289.90"),
        ("IMP-LAS", "Imprimante laser couleur A4", "349.00"),
        ("DOCK-USB", "Station d'accueil USB-C", "159.00"),
    ),
    "acme-informatique": (
        ("ACME-CFG-STD", "Configuration standard ACME (PC Bureau Pro + écran 27\")", "899.00"),
        ("ACME-CFG-DEV", "Configuration développeur ACME (Station 32 Go + 2 écrans)", "2399.00"),
        ("ACME-INSTALL", "Installation sur site et migration des données", "180.00"),
    ),
    "de": (
        ("PC-BUR-DE", "Büro-PC Pro (QWERTZ, Stecker Typ F)", "649.00"),
        ("NB-14-DE", "Leicht-Notebook 14\" (QWERTZ)", "1049.50"),
    ),
    "ch": (
        ("PC-BUR-CH", "Büro-PC Pro (QWERTZ CH, Stecker Typ J)", "699.00"),
        ("NB-14-CH", "Leicht-Notebook 14\" (QWERTZ CH)", "1129.00"),
    ),
    "gb": (
        ("PC-BUR-GB", "Office PC Pro (QWERTY UK, type G plug)", "569.00"),
        ("NB-14-GB", "Lightweight 14\" Notebook (QWERTY UK)", "919.00"),
    ),
    "cz": (
        ("PC-BUR-CZ", "Kancelářské PC Pro (QWERTZ CZ)", "16490.00"),
        ("NB-14-CZ", "Lehký notebook 14\" (QWERTZ CZ)", "26990.00"),
    ),
}

ACME_COMPANY = "Durand Industries SA"
ACME_USERS = (
    # e-mail, name, role
    ("admin@durand-industries.example", "Claire Durand", "company_admin"),
    ("acheteur@durand-industries.example", "Marc Lefèvre", "buyer"),
    ("superviseur@durand-industries.example", "Sophie Martin", "approver"),
)


def _ensure_tenants() -> None:
    existing = set(db.session.scalars(select(Tenant.slug)))
    for slug, name, country, locale, currency, tz in OFFICES:
        if slug not in existing:
            service.create_tenant(service.TenantSpec(
                slug=slug, name=name, country=country, locale=locale, currency=currency,
                timezone=tz,
            ))
    db.session.flush()
    if "acme-informatique" not in existing:
        service.create_tenant(service.TenantSpec(
            slug="acme-informatique", name="ACME Informatique", kind=RESELLER, parent="fr",
            primary_color="#0b7a75", accent_color="#d9480f",
            logo=ACME_LOGO, logo_type="image/svg+xml",
        ))
    db.session.flush()
    fr = service.get_tenant("fr")
    if not any(p.plugin == "locale_fr" for p in fr.plugins):
        service.set_plugin_enabled(fr, "locale_fr", True)
        service.update_plugin_settings(fr, "locale_fr", {
            "siren": "123456789", "legal_form": "SAS", "share_capital": "100000",
        })
    acme = service.get_tenant("acme-informatique")
    for plugin in ("affiliates", "approvals"):
        if not any(p.plugin == plugin for p in acme.plugins):
            service.set_plugin_enabled(acme, plugin, True)
    db.session.commit()


def _ensure_catalogue(slug: str, tenant_id: int) -> int:
    with tenant_context(db.session, tenant_id):
        have = set(db.session.scalars(select(Product.sku)))
        added = 0
        for sku, name, price in CATALOGUE.get(slug, ()):
            if sku not in have:
                db.session.add(Product(sku=sku, name=name, price=Decimal(price),
                                       description=name))
                added += 1
        db.session.commit()
    return added


def _ensure_acme_customers(tenant_id: int) -> None:
    with tenant_context(db.session, tenant_id):
        company = db.session.scalars(select(Company).where(Company.name == ACME_COMPANY)).first()
        if company is None:
            company = Company(name=ACME_COMPANY, vat_number="FR40303265045")
            db.session.add(company)
        for email, name, role in ACME_USERS:
            if db.session.scalars(select(User).where(User.email == email)).first() is None:
                user = User(email=email, name=name, role=role, company=company)
                user.set_password(DEMO_PASSWORD)
                db.session.add(user)
        db.session.commit()


def load_demo() -> Iterator[str]:
    """Create what is missing and yield what a person needs to try the demo."""
    _ensure_tenants()
    tenants = {t.slug: t.id for t in db.session.scalars(select(Tenant))}
    db.session.commit()
    for slug in CATALOGUE:
        _ensure_catalogue(slug, tenants[slug])
    _ensure_acme_customers(tenants["acme-informatique"])
    yield "Demo ready. Storefronts (with `script/server`, on http://127.0.0.1:5000):"
    for slug, *_rest in OFFICES:
        yield f"  /s/{slug}/"
    yield "  /s/acme-informatique/   (reseller of fr, co-branded)"
    yield f"Logins at /s/acme-informatique/login, password '{DEMO_PASSWORD}':"
    for email, _name, role in ACME_USERS:
        yield f"  {email:<42} {role}"
