"""The floors: the same page with no tenancy, hooks, sessions or themes.

``gunicorn "bench.bare_app:create_app()"`` with ``BENCH_DATABASE_URL``. Two routes render
``storefront/listing.html`` for tenant 1's category ``bench``, with plain stand-ins for what
the platform adds (tenant snapshot, plugin blocks, theme chain, company prices, translations):

``/c/bench``
    **The floor the goal is measured against.** The storefront's own queries through the
    same SQLAlchemy models in a plain ``Session``: the category by slug and its sub-tree,
    the count, one page of products with their variants and pictures (``selectinload``),
    the top categories, and the attribute facets kept a minute per process as the
    storefront keeps them. The page is the storefront's: categories, facets and pager.
``/c/bench-raw``
    The lowest possible floor: one hand-written SQL query of four columns, no variants,
    no pictures, no facets, no pager. It shows what the ORM and the page's content cost
    by themselves, which no tenancy work can win back.
"""

from __future__ import annotations

import os
import time
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from babel.numbers import format_currency
from flask import Flask, jsonify, render_template_string
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup
from sqlalchemy import create_engine, func, select, text, true
from sqlalchemy.orm import Session, selectinload

from bench.common import ROOT
from comptoir.catalog.models import Category, HiddenProduct, Product, Variant
from comptoir.storefront.views import page_window

TENANT = 1
FACET_SECONDS = 60

QUERY = text("""
    SELECT p.id, p.sku, p.name, p.price FROM products p
    WHERE p.tenant_id = 1 AND p.active AND p.category_id IN (
        SELECT id FROM categories WHERE tenant_id = 1 AND slug = 'bench')
      AND p.id NOT IN (SELECT product_id FROM hidden_products WHERE tenant_id = 1)
    ORDER BY p.name, p.id LIMIT :limit
""")


def create_app() -> Flask:
    app = Flask(__name__)
    engine = create_engine(os.environ["BENCH_DATABASE_URL"])
    page_size = int(os.environ.get("BENCH_PAGE_SIZE", "48"))
    env = Environment(loader=FileSystemLoader(str(ROOT / "themes/default/templates")),
                      autoescape=True, extensions=["jinja2.ext.i18n"])
    env.install_null_translations(newstyle=True)
    env.filters["money"] = lambda amount, currency="EUR": format_currency(
        amount, currency, locale="fr_FR")
    # Consumers read prices including VAT: the floor adds French VAT too, without the
    # platform's tax tables.
    rate = Decimal("20")

    def shown_price(price: SimpleNamespace, tax_class: str = "standard") -> SimpleNamespace:
        gross = (price.net * (100 + rate) / 100).quantize(Decimal("0.01"))
        return SimpleNamespace(amount=gross, public=gross, gross=True, rate=rate)

    env.globals.update(shown_price=shown_price, prices_include_vat=lambda: True,
                       here=lambda: "/c/bench", current_locale=lambda: "fr_FR",
                       url_for=lambda endpoint, **kw: "#", csrf_token=lambda: "")
    env.filters["language_name"] = lambda code: code
    template = env.get_template("storefront/listing.html")
    tenant = SimpleNamespace(name="Comptoir France", locale="fr_FR", is_reseller=False,
                             primary_color="#1f3a5f", accent_color="#e07a1f", slug="fr",
                             languages=("fr_FR",))

    @app.get("/healthz")
    def healthz():  # noqa: ANN202
        return jsonify(status="ok")

    facets_kept: dict[tuple, tuple[float, list]] = {}

    def facets(session: Session, chosen: Any) -> list:
        key = ("bench",)
        found = facets_kept.get(key)
        if found is not None and found[0] > time.monotonic():
            return found[1]
        kv = func.json_each(Variant.attributes).table_valued("key", "value").alias("kv")
        rows = session.execute(
            select(kv.c.key, kv.c.value, func.count(Variant.product_id.distinct()))
            .select_from(Variant).join(kv, true())
            .where(Variant.active.is_(True), Variant.product_id.in_(chosen))
            .group_by(kv.c.key, kv.c.value)).all()
        grouped: dict[str, list] = {}
        for name, value, count in rows:
            grouped.setdefault(str(name), []).append((str(value), int(count), False, "#"))
        result = sorted(grouped.items())
        facets_kept[key] = (time.monotonic() + FACET_SECONDS, result)
        return result

    @app.get("/c/bench")
    def category() -> str:
        page_size_now = page_size
        with Session(engine) as session:
            category = session.scalars(select(Category).where(
                Category.tenant_id == TENANT, Category.slug == "bench")).first()
            tree, frontier = [category.id], [category.id]
            while frontier:
                frontier = list(session.scalars(select(Category.id).where(
                    Category.tenant_id == TENANT, Category.parent_id.in_(frontier))))
                tree += frontier
            hidden = select(HiddenProduct.product_id).where(HiddenProduct.tenant_id == TENANT)
            query = select(Product).where(
                Product.tenant_id == TENANT, Product.active.is_(True),
                Product.id.not_in(hidden), Product.category_id.in_(tree))
            total = session.scalar(query.with_only_columns(func.count(Product.id))) or 0
            pages = max(1, -(-total // page_size_now))
            products = session.scalars(
                query.options(selectinload(Product.variants), selectinload(Product.images))
                .order_by(Product.name, Product.id).limit(page_size_now)).all()
            offers = []
            for product in products:
                variant = next((v for v in product.variants if v.active), None)
                if variant is not None:
                    net = variant.price if variant.price is not None else product.price
                    offers.append((product, variant, SimpleNamespace(
                        public=net, net=net, discounted=False, reason=None)))
            categories = list(session.scalars(select(Category).where(
                Category.tenant_id == TENANT, Category.parent_id.is_(None))
                .order_by(Category.position, Category.name)))
            page = SimpleNamespace(total=total, page=1, pages=pages, facets={})
            context = dict(
                title=category.name, page=page, offers=offers, category=category, query="",
                filters={}, categories=categories,
                facets=facets(session, query.with_only_columns(Product.id).scalar_subquery()),
                page_links=[(n, "#" if n else None) for n in page_window(1, pages)],
                configurations=[], tenant=tenant, platform_name="Comptoir",
                blocks=lambda slot: Markup(""), menu_items=lambda: [],
                legal_mentions=lambda: [],
                current_user=SimpleNamespace(is_authenticated=False, role=None),
                url_for=lambda endpoint, **kw: "#", csrf_token=lambda: "",
                get_flashed_messages=lambda **kw: [], request=SimpleNamespace(
                    args={}, endpoint="storefront.category"),
                config={"DEFAULT_LOCALE": "fr"},
            )
            return template.render(**context)

    @app.get("/c/bench-raw")
    def category_raw() -> str:
        with engine.connect() as conn:
            rows = conn.execute(QUERY, {"limit": page_size}).all()
            total = conn.execute(text("SELECT count(*) FROM products WHERE tenant_id = 1")).scalar()
        offers = [(SimpleNamespace(sku=r.sku, name=r.name, images=[], tax_class="standard"),
                   None,
                   SimpleNamespace(public=Decimal(r.price), net=Decimal(r.price),
                                   discounted=False, reason=None)) for r in rows]
        page = SimpleNamespace(total=total, page=1, pages=1, facets={})
        context = dict(
            title="Banc d'essai", page=page, offers=offers, category=None, query="",
            filters={}, categories=[], facets=[], page_links=[], configurations=[],
            tenant=tenant, platform_name="Comptoir", blocks=lambda slot: Markup(""),
            menu_items=lambda: [], legal_mentions=lambda: [],
            current_user=SimpleNamespace(is_authenticated=False, role=None),
            url_for=lambda endpoint, **kw: "#", csrf_token=lambda: "",
            get_flashed_messages=lambda **kw: [], request=SimpleNamespace(
                args={}, endpoint="storefront.category"), config={"DEFAULT_LOCALE": "fr"},
        )
        return template.render(**context)

    app.add_url_rule("/", "index", lambda: render_template_string("ok"))
    return app
