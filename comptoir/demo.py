"""Demo data: the five country offices, the reseller acme-informatique, a catalogue, users.

Safe to run again: each thing is created only when missing, so a second run changes nothing
and prints the same logins.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from comptoir.catalog import service as catalog
from comptoir.catalog.models import Category, Configuration, Product, Variant
from comptoir.catalog.service import VariantSpec
from comptoir.core.db import db
from comptoir.core.scoping import tenant_context
from comptoir.customers import service as customers
from comptoir.customers.models import Company, User
from comptoir.stock import service as stock
from comptoir.stock.models import StockLocation
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

FR, DE, GB, CH = (
    {"keyboard": "AZERTY", "plug": "E"},
    {"keyboard": "QWERTZ", "plug": "F"},
    {"keyboard": "QWERTY UK", "plug": "G"},
    {"keyboard": "QWERTZ CH", "plug": "J"},
)
MARKETS = {"FR": FR, "DE": DE, "GB": GB, "CH": CH}


#: The demo's people proved their addresses long ago (no "verify your e-mail" banner).
DEMO_VERIFIED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _country_variants(sku: str, countries: str) -> list[VariantSpec]:
    return [VariantSpec(f"{sku}-{c}", country=c, attributes=MARKETS[c])
            for c in countries.split()]


# Per tenant: categories (slug, name, parent), then products
# (sku, name, price excluding VAT in the office's currency, category, variants).
CATALOGUE: dict[str, dict[str, Any]] = {
    "fr": {
        "categories": (
            ("ordinateurs", "Ordinateurs", None),
            ("postes-de-travail", "Postes de travail", "ordinateurs"),
            ("portables", "Portables", "ordinateurs"),
            ("ecrans", "Écrans", None),
            ("impression", "Impression", None),
            ("accessoires", "Accessoires", None),
        ),
        "products": (
            ("PC-BUREAU-PRO", "PC Bureau Pro", "649.00", "postes-de-travail",
             _country_variants("PC-BUREAU-PRO", "FR DE GB")),
            ("STATION-ING-32", "Station Ingénierie 32 Go", "1899.00", "postes-de-travail",
             _country_variants("STATION-ING-32", "FR DE GB")),
            ("PORTABLE-14", "Portable 14\" Léger", "1049.50", "portables",
             _country_variants("PORTABLE-14", "FR DE GB CH")),
            ("ECRAN-27-QHD", "Écran 27\" QHD", "289.90", "ecrans", ()),
            ("ECRAN-24-FHD", "Écran 24\" Full HD", "169.00", "ecrans", ()),
            ("IMP-LASER-A4", "Imprimante laser couleur A4", "349.00", "impression", ()),
            ("DOCK-USBC", "Station d'accueil USB-C", "159.00", "accessoires", ()),
            ("CLAVIER-SF", "Clavier sans fil", "49.90", "accessoires",
             [VariantSpec(f"CLAVIER-SF-{c}", country=c,
                          attributes={"keyboard": MARKETS[c]["keyboard"]})
              for c in ("FR", "DE", "GB")]),
        ),
    },
    "acme-informatique": {
        "categories": (("services", "Services ACME", None),),
        "products": (
            ("ACME-INSTALL", "Installation sur site et migration des données", "180.00",
             "services", (), False),
            ("ACME-MAINT-3A", "Contrat de maintenance 3 ans, intervention J+1", "249.00",
             "services", (), False),
        ),
        "configurations": (
            ("CFG-BUREAU", "Poste bureautique standard",
             (("PC-BUREAU-PRO-FR", 1), ("ECRAN-24-FHD", 1), ("CLAVIER-SF-FR", 1)), None),
            ("CFG-DEV", "Poste développeur",
             (("STATION-ING-32-FR", 1), ("ECRAN-27-QHD", 2)), None),
            ("CFG-NOMADE", "Poste nomade", (("PORTABLE-14-FR", 1), ("DOCK-USBC", 1)), None),
            ("CFG-DIRECTION", "Poste direction",
             (("PORTABLE-14-FR", 1), ("ECRAN-27-QHD", 1), ("DOCK-USBC", 1)), "1390.00"),
            ("CFG-ACCUEIL", "Poste accueil",
             (("PC-BUREAU-PRO-FR", 1), ("ECRAN-24-FHD", 1), ("IMP-LASER-A4", 1)), None),
        ),
    },
    "de": {
        "categories": (("computer", "Computer", None),),
        "products": (
            ("BUERO-PC-PRO", "Büro-PC Pro", "649.00", "computer",
             _country_variants("BUERO-PC-PRO", "DE")),
            ("NOTEBOOK-14", "Leicht-Notebook 14\"", "1049.50", "computer",
             _country_variants("NOTEBOOK-14", "DE")),
        ),
    },
    "ch": {
        "categories": (("computer", "Computer", None),),
        "products": (
            ("BUERO-PC-PRO", "Büro-PC Pro", "699.00", "computer",
             _country_variants("BUERO-PC-PRO", "CH")),
            ("NOTEBOOK-14", "Leicht-Notebook 14\"", "1129.00", "computer",
             _country_variants("NOTEBOOK-14", "CH")),
        ),
    },
    "gb": {
        "categories": (("computers", "Computers", None),),
        "products": (
            ("OFFICE-PC-PRO", "Office PC Pro", "569.00", "computers",
             _country_variants("OFFICE-PC-PRO", "GB")),
            ("NOTEBOOK-14", "Lightweight 14\" Notebook", "919.00", "computers",
             _country_variants("NOTEBOOK-14", "GB")),
        ),
    },
    "cz": {
        "categories": (("pocitace", "Počítače", None),),
        "products": (
            ("KANCL-PC-PRO", "Kancelářské PC Pro", "16490.00", "pocitace", ()),
            ("NOTEBOOK-14", "Lehký notebook 14\"", "26990.00", "pocitace", ()),
        ),
    },
}

# Per office: (code, name, kind), then units of every variant at each location.
STOCK = {
    "fr": ((("entrepot-lyon", "Entrepôt de Lyon", "warehouse", 40),
            ("boutique-paris", "Boutique Paris Bastille", "shop", 3)), 2),
    "de": ((("lager-koeln", "Lager Köln", "warehouse", 25),), 2),
    "ch": ((("lager-zuerich", "Lager Zürich", "warehouse", 10),), 1),
    "gb": ((("warehouse-leeds", "Leeds warehouse", "warehouse", 20),), 2),
    "cz": ((("sklad-brno", "Sklad Brno", "warehouse", 15),), 1),
}

# Per office: its locale plugin and the seller's identity printed on invoices.
LOCALES = (
    ("fr", "locale_fr", {"siren": "123456782", "rcs_city": "Lyon", "legal_form": "SAS",
                         "share_capital": "100000", "vat_number": "FR11123456782",
                         "address": "8 quai Saint-Vincent, 69001 Lyon"}),
    ("de", "locale_de", {"register_court": "Amtsgericht Köln", "register_number": "HRB 12345",
                         "managing_directors": "Anna Schmidt", "vat_number": "DE136695976",
                         "address": "Domstraße 1, 50668 Köln"}),
    ("ch", "locale_ch", {"uid": "CHE-116.281.710", "legal_form": "AG",
                         "address": "Bahnhofstrasse 1, 8001 Zürich"}),
    ("gb", "locale_gb", {"company_number": "01234567", "vat_number": "GB980780684",
                         "registered_office": "1 Park Row, Leeds LS1 5AB"}),
    ("cz", "locale_cz", {"ico": "25596641", "vat_number": "CZ25596641",
                         "register": "Krajský soud v Brně, oddíl C, vložka 1234",
                         "address": "Náměstí Svobody 1, 602 00 Brno"}),
)

#: Who runs each shop's settings (languages, VAT options, legal texts): tenant admins.
TENANT_ADMINS = (
    ("fr", "direction@comptoir-france.example", "Hélène Moreau"),
    ("ch", "leitung@comptoir-schweiz.example", "Urs Keller"),
    ("acme-informatique", "gerant@acme-informatique.example", "Paul Girard"),
)

ACME_COMPANY = "Durand Industries SA"
#: Durand's Belgian subsidiary: a valid Belgian VAT number, deliveries to Brussels, so its
#: orders from the French reseller are intra-Community supplies (reverse charge).
ACME_BELGIAN_COMPANY = ("Durand Benelux SRL", "BE0403170701",
                        ("achats@durand-benelux.example", "Luc Peeters", "buyer"))
ACME_USERS = (
    # e-mail, name, role
    ("admin@durand-industries.example", "Claire Durand", "company_admin"),
    ("acheteur@durand-industries.example", "Marc Lefèvre", "buyer"),
    ("superviseur@durand-industries.example", "Sophie Martin", "approver"),
)
ACME_STAFF = ("ventes@acme-informatique.example", "Julie Bernard", "staff")


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
    for slug, plugin, settings in LOCALES:
        office = service.get_tenant(slug)
        if not any(p.plugin == plugin for p in office.plugins):
            service.set_plugin_enabled(office, plugin, True)
            service.update_plugin_settings(office, plugin, settings)
    switzerland = service.get_tenant("ch")
    if not (switzerland.settings or {}).get("languages"):
        # Switzerland speaks German and French: the shop offers both, German first.
        service.update_shop_settings(switzerland, {"languages": ["fr_CH"]}, actor="demo")
    acme = service.get_tenant("acme-informatique")
    for plugin in ("affiliates", "approvals"):
        if not any(p.plugin == plugin for p in acme.plugins):
            service.set_plugin_enabled(acme, plugin, True)
    for tenant in (service.get_tenant("fr"), acme):
        _card_payments(tenant)
    db.session.commit()


#: Test keys for the demo's card payments: ``script/server`` runs a localstripe (a local
#: stand-in for Stripe's API) and points the plugin at it; with Stripe itself, put the
#: account's own test keys in their place (``comptoir plugins configure``).
DEMO_STRIPE = {"publishable_key": "pk_test_comptoir_demo",
               "secret_key": "sk_test_comptoir_demo", "webhook_secret": "whsec_comptoir_demo"}


def _card_payments(tenant: Tenant) -> None:
    from comptoir.core.plugins import plugin_host

    if "stripe" not in plugin_host().names() or any(p.plugin == "stripe" for p in tenant.plugins):
        return
    service.set_plugin_enabled(tenant, "stripe", True)
    service.update_plugin_settings(tenant, "stripe", DEMO_STRIPE)


def _office_of(tenant_id: int) -> int:
    tenant = db.session.get(Tenant, tenant_id)
    office_id = tenant.parent_id or tenant.id
    db.session.commit()
    return office_id


def _picture(name: str, colour: str = "#1f3a5f") -> bytes:
    """A simple drawing of a screen and a keyboard with the product's name: the demo's
    stand-in for photographs."""
    from xml.sax.saxutils import escape

    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200"
 viewBox="0 0 320 200" role="img"><rect width="320" height="200" fill="#f2f5f8"/>
<rect x="90" y="30" width="140" height="90" rx="6" fill="{colour}"/>
<rect x="98" y="38" width="124" height="74" fill="#dfe8f1"/>
<rect x="150" y="120" width="20" height="16" fill="{colour}"/>
<rect x="70" y="140" width="180" height="14" rx="3" fill="#9aa7b4"/>
<text x="160" y="182" font-family="Helvetica, Arial, sans-serif" font-size="14"
 text-anchor="middle" fill="#1d232b">{escape(name[:40])}</text></svg>""".encode()


def _ensure_catalogue(slug: str, tenant_id: int) -> None:
    data = CATALOGUE[slug]
    with tenant_context(db.session, tenant_id, _office_of(tenant_id)):
        categories = set(db.session.scalars(
            select(Category.slug).where(Category.tenant_id == tenant_id)))
        for category_slug, name, parent in data["categories"]:
            if category_slug not in categories:
                catalog.create_category(category_slug, name, parent)
                db.session.flush()
        skus = set(db.session.scalars(select(Product.sku).where(Product.tenant_id == tenant_id)))
        for sku, name, price, category, variants, *stocked in data["products"]:
            if sku not in skus:
                product = catalog.create_product(
                    sku, name, price, category=category, variants=variants,
                    description=name, stocked=all(stocked))
                catalog.add_image(product, _picture(name), "image/svg+xml", alt=name)
                db.session.flush()
        codes = set(db.session.scalars(select(Configuration.code)))
        for code, name, items, price in data.get("configurations", ()):
            if code not in codes:
                catalog.create_configuration(code, name, items, price=price)
                db.session.flush()
        db.session.commit()


def _ensure_stock(slug: str, tenant_id: int) -> None:
    locations, threshold = STOCK[slug]
    with tenant_context(db.session, tenant_id, tenant_id):
        have = set(db.session.scalars(select(StockLocation.code).where(
            StockLocation.tenant_id == tenant_id)))
        fresh = []
        for code, name, kind, _units in locations:
            if code not in have:
                stock.create_location(code, name, kind)
                fresh.append(code)
        skus = list(db.session.scalars(select(Variant.sku).where(
            Variant.tenant_id == tenant_id).order_by(Variant.sku)))
        db.session.commit()
    for code, _name, _kind, units in locations:
        if code in fresh:
            for sku in skus:
                stock.receive(tenant_id, code, sku, units, low_threshold=threshold)


def _ensure_acme_customers(tenant_id: int) -> None:
    with tenant_context(db.session, tenant_id, _office_of(tenant_id)):
        company = db.session.scalars(select(Company).where(Company.name == ACME_COMPANY)).first()
        if company is None:
            company = Company(name=ACME_COMPANY, vat_number="FR40303265045")
            db.session.add(company)
        for email, name, role in (*ACME_USERS, ACME_STAFF):
            if db.session.scalars(select(User).where(User.email == email)).first() is None:
                user = User(email=email, name=name, role=role,
                            company=company if role != "staff" else None)
                user.set_password(DEMO_PASSWORD)
                user.email_verified_at = DEMO_VERIFIED
                db.session.add(user)
        db.session.flush()
        if not company.restricted:
            # A key account: its five standard configurations and the installation service,
            # 12 % off computers, 5 % off the rest, a negotiated price for developers' kits.
            customers.restrict_catalogue(
                company, products=("ACME-INSTALL",),
                configurations=[code for code, *_ in CATALOGUE["acme-informatique"]
                                ["configurations"]])
            customers.set_discount(company, "5")
            customers.set_discount(company, "12", category="ordinateurs")
            customers.set_fixed_price(company, "2150.00", configuration="CFG-DEV")
            customers.add_address(company, {
                "label": "Siège", "name": "Durand Industries SA — Services généraux",
                "street": "12 rue de la République", "postcode": "69002", "city": "Lyon",
                "country": "FR"})
        _ensure_durand_chain(company)
        name, vat_number, (email, person, role) = ACME_BELGIAN_COMPANY
        benelux = db.session.scalars(select(Company).where(Company.name == name)).first()
        if benelux is None:
            benelux = Company(name=name, vat_number=vat_number)
            db.session.add(benelux)
            user = User(email=email, name=person, role=role, company=benelux)
            user.set_password(DEMO_PASSWORD)
            user.email_verified_at = DEMO_VERIFIED
            db.session.add(user)
            db.session.flush()
            customers.add_address(benelux, {
                "label": "Bruxelles", "name": "Durand Benelux SRL",
                "street": "Rue de la Loi 16", "postcode": "1000", "city": "Bruxelles",
                "country": "BE"})
        db.session.commit()


#: Durand's decision chain (seed: "0 / 20,000 / 500,000"): the buyer orders alone up to 0,
#: the supervisor signs up to 20,000, the director up to 500,000; each level approves in
#: turn, so a 25,000 order goes to the supervisor first, then to the director.
DURAND_CHAIN = (
    ("acheteur@durand-industries.example", 1, "0", "superviseur@durand-industries.example"),
    ("superviseur@durand-industries.example", 2, "20000", "admin@durand-industries.example"),
    ("admin@durand-industries.example", 3, "500000", None),
)


def _ensure_durand_chain(company: Company) -> None:
    """The approvals plugin's chain for Durand, if the plugin is installed."""
    from decimal import Decimal

    try:
        from plugins.approvals import chain
    except ImportError:
        return
    if chain.members(company.id):
        return
    users = {u.email: u for u in db.session.scalars(select(User).where(
        User.company_id == company.id))}
    chain.save(company.id, [
        chain.Link(users[email].id, level, Decimal(ceiling),
                   users[boss].id if boss else None, budget=level > 1, technical=level == 2)
        for email, level, ceiling, boss in DURAND_CHAIN
    ], {u.id: u.email for u in users.values()})
    chain.set_sequential(company.id, True)


#: A partner site that links to ACME's shop: 8 % of what its readers buy, 10 % once its
#: month passes 5,000, and a flat 12 per screen (the seed's "affiliates ... partner sites").
BLOG_PARTNER = ("BLOGPRO", "Blog Info Pro", "partner_site", "partenariats@blog-info.example",
                (("", "percent", "8.00", "0"), ("", "percent", "10.00", "5000.00"),
                 ("ecrans", "flat", "12.00", "0")))


def _ensure_acme_affiliates(tenant_id: int) -> None:
    """ACME's partner site and its rules, if the affiliates plugin is installed."""
    from comptoir.core.plugins import plugin_host

    if "affiliates" not in plugin_host().names():
        return
    from plugins.affiliates.models import Affiliate, Rule

    code, name, kind, email, rules = BLOG_PARTNER
    with tenant_context(db.session, tenant_id, _office_of(tenant_id)):
        if db.session.scalars(select(Affiliate.id).where(Affiliate.code == code)).first():
            db.session.commit()
            return
        partner = Affiliate(code=code, name=name, kind=kind, email=email)
        partner.rules = [Rule(category=category, kind=rule_kind, value=Decimal(value),
                              min_monthly_volume=Decimal(tier))
                         for category, rule_kind, value, tier in rules]
        db.session.add(partner)
        db.session.commit()


#: The French office's newsletter: its sender, and a campaign ready to be sent to readers
#: who chose the "promotions" theme (in French: the office's only language).
NEWSLETTER_SETTINGS = {"sender_name": "Comptoir France",
                       "sender_email": "lettre@comptoir-france.example"}
NEWSLETTER_CAMPAIGN = ("Offres de la semaine", "promotions", {
    "fr_FR": ("{{ first_name }}, les offres de la semaine",
              "Bonjour {{ first_name }},\n\nCette semaine chez {{ shop_name }} : les écrans "
              "27 pouces à prix réduit et la livraison offerte dès 500 € d'achat.\n\n"
              "Bonne semaine !"),
})


def _ensure_newsletter(tenant_id: int) -> None:
    """The French office's newsletter, if the plugin is installed (a draft campaign)."""
    from comptoir.core.plugins import plugin_host

    if "newsletters" not in plugin_host().names():
        return
    from plugins.newsletters.models import Campaign, CampaignTranslation

    office = db.session.get(Tenant, tenant_id)
    if not any(p.plugin == "newsletters" for p in office.plugins):
        service.set_plugin_enabled(office, "newsletters", True)
        service.update_plugin_settings(office, "newsletters", NEWSLETTER_SETTINGS)
    db.session.commit()  # a tenant is switched only between transactions
    name, theme, texts = NEWSLETTER_CAMPAIGN
    with tenant_context(db.session, tenant_id, tenant_id):
        if db.session.scalars(select(Campaign.id).where(Campaign.name == name)).first():
            db.session.commit()
            return
        campaign = Campaign(name=name, theme=theme, created_by="demo")
        db.session.add(campaign)
        db.session.flush()
        for locale, (subject, body) in texts.items():
            db.session.add(CampaignTranslation(campaign_id=campaign.id, locale=locale,
                                               subject=subject, body=body))
        db.session.commit()


SUPPORT_SETTINGS = {"inbound_address": "support@comptoir-france.example"}
#: The office's FAQ and reply templates (its resellers inherit them), per language.
SUPPORT_FAQ = (
    ("fr_FR", "Quel toner pour mon imprimante ?",
     "Le toner compatible est indiqué dans l'onglet « Caractéristiques » de chaque "
     "imprimante. En cas de doute, posez-nous la question : nous répondons sous 48 heures "
     "ouvrées.", "cartouche, encre, consommable, compatibilité"),
    ("fr_FR", "Puis-je ajouter de la mémoire à mon ordinateur ?",
     "La plupart de nos ordinateurs de bureau ont deux emplacements libres. Indiquez-nous "
     "la référence de votre modèle et nous vous dirons quelle barrette choisir.",
     "mémoire, RAM, évolution, extension"),
    ("fr_FR", "Comment retourner un article ?",
     "Depuis votre commande, choisissez « Retourner des articles » pendant le délai de "
     "rétractation ; nous vous envoyons l'étiquette de retour.", "retour, échange, SAV"),
    ("en", "Which toner fits my printer?",
     "The matching toner is listed under each printer's specifications. If in doubt, ask "
     "us: we answer within 48 business hours.", "cartridge, ink, supplies, compatibility"),
)
SUPPORT_TEMPLATES = (
    ("Compatibilité", "fr_FR",
     "Bonjour {{ customer.name }},\n\nMerci pour votre question sur {{ product.name }}. "
     "Ce produit est compatible avec votre configuration ; nous vous conseillons aussi de "
     "vérifier la version de votre pilote.\n\nBien cordialement,\n{{ agent.name }}, "
     "{{ shop.name }}"),
    ("Compatibility", "en",
     "Hello {{ customer.name }},\n\nThank you for your question about {{ product.name }}. "
     "It works with your set-up; please also check that your driver is up to date.\n\n"
     "Kind regards,\n{{ agent.name }}, {{ shop.name }}"),
)
ACME_FAQ = ("fr_FR", "ACME installe-t-elle le matériel chez moi ?",
            "Oui : nos techniciens installent et configurent votre matériel en Île-de-France, "
            "sur rendez-vous.", "installation, technicien, rendez-vous")


def _ensure_support(office_id: int, acme_id: int) -> None:
    """The French office's help desk (inherited by ACME), its FAQ and reply templates, and
    ACME's own FAQ entry, if the plugin is installed."""
    from comptoir.core.plugins import plugin_host

    if "support" not in plugin_host().names():
        return
    from plugins.support.models import FaqEntry, ReplyTemplate

    office = db.session.get(Tenant, office_id)
    if not any(p.plugin == "support" for p in office.plugins):
        service.set_plugin_enabled(office, "support", True)
        service.update_plugin_settings(office, "support", SUPPORT_SETTINGS)
    db.session.commit()  # a tenant is switched only between transactions
    with tenant_context(db.session, office_id, office_id):
        if db.session.scalars(select(FaqEntry.id)).first() is None:
            for position, (locale, question, answer, keywords) in enumerate(SUPPORT_FAQ):
                db.session.add(FaqEntry(locale=locale, question=question, answer=answer,
                                        keywords=keywords, position=position))
            for name, locale, body in SUPPORT_TEMPLATES:
                db.session.add(ReplyTemplate(name=name, locale=locale, body=body,
                                             created_by="demo"))
        db.session.commit()
    with tenant_context(db.session, acme_id, office_id):
        locale, question, answer, keywords = ACME_FAQ
        if db.session.scalars(select(FaqEntry.id).where(
                FaqEntry.tenant_id == acme_id)).first() is None:
            db.session.add(FaqEntry(locale=locale, question=question, answer=answer,
                                    keywords=keywords, position=10))
        db.session.commit()


#: The French office's promotions (its resellers inherit them): a welcome offer on a
#: consumer's first order, free express delivery above 500 €, and the November newsletter's
#: coupon batch.
WELCOME_OFFER = "Bienvenue : 10 % sur votre première commande"
NEWSLETTER_OFFER = ("Lettre de novembre : 20 € offerts dès 200 €", "Lettre de novembre",
                    "NOV", 50)


def _ensure_promotions(office_id: int) -> None:
    """The office's promotions and a newsletter batch of 50 single-use codes, if the plugin
    is installed."""
    from comptoir.core.plugins import plugin_host

    if "promotions" not in plugin_host().names():
        return
    from decimal import Decimal

    from plugins.promotions import coupons
    from plugins.promotions.models import (
        B2C,
        CODE,
        FIXED,
        FREE_SHIPPING,
        PERCENT,
        Batch,
        Promotion,
    )

    office = db.session.get(Tenant, office_id)
    if not any(p.plugin == "promotions" for p in office.plugins):
        service.set_plugin_enabled(office, "promotions", True)
    db.session.commit()  # a tenant is switched only between transactions
    with tenant_context(db.session, office_id, office_id):
        if db.session.scalars(select(Promotion.id)).first() is None:
            # For consumers only: companies buy at their negotiated prices.
            db.session.add(Promotion(
                name=WELCOME_OFFER, kind=PERCENT, value=Decimal("10"), audience=B2C,
                first_order_only=True, max_uses_per_customer=1, combinable=False,
                created_by="demo"))
            db.session.add(Promotion(
                name="Livraison express offerte dès 500 €", kind=FREE_SHIPPING,
                min_amount=Decimal("500"), created_by="demo"))
            name, batch_name, prefix, size = NEWSLETTER_OFFER
            newsletter = Promotion(name=name, kind=FIXED, value=Decimal("20"),
                                   min_amount=Decimal("200"), trigger=CODE,
                                   max_uses_per_customer=1, created_by="demo")
            db.session.add(newsletter)
            db.session.flush()
            if db.session.scalars(select(Batch.id)).first() is None:
                coupons.make_batch(newsletter, batch_name, size, prefix=prefix, actor="demo")
        db.session.commit()


def _ensure_tenant_admins(tenants: dict[str, int]) -> None:
    for slug, email, name in TENANT_ADMINS:
        with tenant_context(db.session, tenants[slug], _office_of(tenants[slug])):
            if db.session.scalars(select(User).where(User.email == email)).first() is None:
                user = User(email=email, name=name, role="tenant_admin")
                user.set_password(DEMO_PASSWORD)
                user.email_verified_at = DEMO_VERIFIED
                db.session.add(user)
            db.session.commit()


#: The demo's platform admin, who onboards and suspends tenants at /platform/.
PLATFORM_ADMIN = ("admin@comptoir.example", "Camille Plateforme")


def _ensure_platform_admin() -> None:
    from comptoir.accounts.passwords import hash_password
    from comptoir.platform_admin.models import PlatformAdmin

    email, name = PLATFORM_ADMIN
    if db.session.scalar(select(PlatformAdmin).where(PlatformAdmin.email == email)) is None:
        db.session.add(PlatformAdmin(email=email, name=name,
                                     password_hash=hash_password(DEMO_PASSWORD)))
        db.session.commit()


def load_demo() -> Iterator[str]:
    """Create what is missing and yield what a person needs to try the demo."""
    _ensure_tenants()
    tenants = {t.slug: t.id for t in db.session.scalars(select(Tenant))}
    db.session.commit()
    for slug in ("fr", "de", "ch", "gb", "cz", "acme-informatique"):  # offices first
        _ensure_catalogue(slug, tenants[slug])
    for slug in STOCK:
        _ensure_stock(slug, tenants[slug])
    _ensure_acme_customers(tenants["acme-informatique"])
    _ensure_acme_affiliates(tenants["acme-informatique"])
    _ensure_newsletter(tenants["fr"])
    _ensure_support(tenants["fr"], tenants["acme-informatique"])
    _ensure_promotions(tenants["fr"])
    _ensure_tenant_admins(tenants)
    _ensure_platform_admin()
    yield "Demo ready. Storefronts (with `script/server`, on http://127.0.0.1:5000):"
    for slug, *_rest in OFFICES:
        yield f"  /s/{slug}/"
    yield "  /s/acme-informatique/   (reseller of fr, co-branded)"
    yield f"Logins at /s/acme-informatique/login, password '{DEMO_PASSWORD}':"
    for email, _name, role in (*ACME_USERS, ACME_STAFF, ACME_BELGIAN_COMPANY[2]):
        yield f"  {email:<42} {role}"
    yield "Staff pages: /s/acme-informatique/staff/ (log in as the staff user);"
    yield "  commissions and customers at /s/acme-informatique/affiliates/."
    yield "A partner site's referral link: /s/acme-informatique/r/BLOGPRO"
    yield ("Newsletter: subscribe at the foot of /s/fr/; the confirmation is in the outbox "
           "(`comptoir mail outbox --last 1`); campaigns at /s/fr/staff/newsletters as the "
           "fr tenant admin below.")
    yield ("Help desk: ask a question from any product page of /s/acme-informatique/ or "
           "/s/fr/ (the FAQ is at /support/); answer it at /s/<slug>/staff/support as staff.")
    yield ("Promotions: a first order on /s/fr/ or /s/acme-informatique/ gets 10 % off; the "
           "November newsletter's 50 codes (NOV-...) are listed, with a CSV, at "
           "/s/fr/staff/promotions; loyalty points and an invite link under /account/loyalty/.")
    yield "Card payments (localstripe): 4242 4242 4242 4242, or 4000 0025 0000 3155 (3-D Secure)."
    yield (f"Platform admin (onboard, suspend, dashboard): /platform/login as "
           f"{PLATFORM_ADMIN[0]}, password '{DEMO_PASSWORD}'.")
    yield "Shop settings (languages, VAT, legal texts) at /s/<slug>/staff/settings, as:"
    for slug, email, _name in TENANT_ADMINS:
        yield f"  {email:<42} tenant_admin of {slug}"
