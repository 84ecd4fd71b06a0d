"""Realistic data for the benchmarks, loaded fast (Core bulk inserts into a migrated DB)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import insert, select

from comptoir import create_app
from comptoir.catalog.models import Category, Product, Variant
from comptoir.core.db import db
from comptoir.tenants.models import Tenant

CATEGORY = "bench"


def build(directory: Path, products: int, filler_tenants: int = 0) -> str:
    """A SQLite database with office ``fr`` selling ``products`` items in category
    ``bench``, plus ``filler_tenants`` other offices; returns its URL."""
    path = directory / f"bench-{products}-{filler_tenants}.sqlite3"
    url = f"sqlite:///{path}"
    if path.exists():
        return url
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(directory / "instance"),
                      "TESTING": True, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade(revision="heads")
        conn = db.session.connection()
        conn.execute(insert(Tenant), [{"slug": "fr", "name": "Comptoir France", "kind": "office",
                                       "country": "FR", "locale": "fr_FR", "currency": "EUR",
                                       "timezone": "Europe/Paris", "public": True}])
        tenant_id = conn.execute(select(Tenant.id).where(Tenant.slug == "fr")).scalar()
        batch = 5000
        for start in range(0, filler_tenants, batch):
            conn.execute(insert(Tenant), [
                {"slug": f"office-{n:06d}", "name": f"Office {n}", "kind": "office",
                 "country": "FR", "locale": "fr_FR", "currency": "EUR", "public": False}
                for n in range(start, min(filler_tenants, start + batch))])
        conn.execute(insert(Category), [{"tenant_id": tenant_id, "slug": CATEGORY,
                                         "name": "Banc d'essai", "position": 0}])
        category_id = conn.execute(select(Category.id)).scalar()
        conn.execute(insert(Product), [
            {"tenant_id": tenant_id, "sku": f"P{n:06d}", "name": f"Produit {n:06d}",
             "description": "Un produit du banc d'essai", "category_id": category_id,
             "price": Decimal("100.00") + n % 900, "tax_class": "standard", "active": True,
             "stocked": False}
            for n in range(products)])
        ids = conn.execute(select(Product.id, Product.sku)).all()
        conn.execute(insert(Variant), [
            {"tenant_id": tenant_id, "product_id": pid, "sku": f"{sku}-FR", "country": "FR",
             "attributes": {"keyboard": "AZERTY"}, "active": True} for pid, sku in ids])
        db.session.commit()
        db.engine.dispose()
    return url
