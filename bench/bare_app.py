"""The floor: the same query and the same template, with no tenancy, hooks or themes.

``gunicorn "bench.bare_app:create_app()"`` with ``BENCH_DATABASE_URL``. It reads tenant 1's
category page exactly as the storefront does (active products of the category, not hidden,
by name, one page) and renders ``storefront/listing.html`` with plain stand-ins for what the
platform adds (tenant snapshot, plugin blocks, theme chain, company prices).
"""

from __future__ import annotations

import os
from decimal import Decimal
from types import SimpleNamespace

from babel.numbers import format_currency
from flask import Flask, jsonify, render_template_string
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup
from sqlalchemy import create_engine, text

from bench.common import ROOT

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

    @app.get("/c/bench")
    def category() -> str:
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
