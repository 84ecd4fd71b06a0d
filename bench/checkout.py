"""Checkout under load on PostgreSQL: orders per second with 50 buyers, and oversell.

    .venv/bin/python -m bench.checkout [--buyers 50] [--units 200] [--seconds 15]
        [--server postgresql://postgres@127.0.0.1:5432]

Creates a fresh database on ``--server`` (dropped afterwards), migrates it as the owner,
serves it with gunicorn as a role under row-level security, and lets ``--buyers``
concurrent shoppers each add one unit to a cart and check out, again and again, until the
time is up. The stock holds ``--units`` units, fewer than they try to buy. Reported: placed
orders per second, refusals, and the oversell count — units sold beyond the stock — which
must be 0. The baseline in the same run is one buyer alone: the ratio says how checkout
throughput holds up under contention.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import Measure, gunicorn, machine, report

APP_ROLE = "comptoir_bench_app"
ADDRESS = {"email": "bench@example.com", "billing_name": "Bench", "billing_street": "1 rue",
           "billing_postcode": "69001", "billing_city": "Lyon", "billing_country": "FR",
           "same_address": "yes", "shipping_method": "standard",
           "payment_method": "bank_transfer"}


@dataclass
class Tally:
    placed: int = 0
    refused: int = 0
    errors: int = 0
    last_placed: float = 0.0  # seconds from the start: when the stock ran out, if it did


def _prepare(server: str, units: int) -> tuple[str, str, str]:
    """A fresh database with office ``fr``, one product and ``units`` in stock."""
    from flask_migrate import upgrade

    from comptoir import create_app
    from comptoir.catalog import service as catalog
    from comptoir.core.db import db
    from comptoir.core.pgroles import ensure_app_role
    from comptoir.core.scoping import tenant_context
    from comptoir.stock import service as stock
    from comptoir.tenants import service

    name = f"comptoir_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    owner = f"{server}/{name}"
    app = create_app({"DATABASE_URL": owner, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        upgrade(revision="heads")
        ensure_app_role(db.engine, APP_ROLE)
        fr = service.create_tenant(service.TenantSpec(
            slug="fr", name="Comptoir France", country="FR", locale="fr_FR", currency="EUR"))
        db.session.flush()
        fr_id = fr.id
        db.session.commit()
        with tenant_context(db.session, fr_id):
            catalog.create_product("LAST", "Dernier modèle", "999.00")
            stock.create_location("lyon", "Entrepôt de Lyon")
            db.session.commit()
        stock.receive(fr_id, "lyon", "LAST", units)
        db.engine.dispose()
    app_url = make_url(owner.replace("postgresql://", "postgresql+psycopg://")).set(
        username=APP_ROLE, password=None).render_as_string(hide_password=False)
    return name, owner, app_url


def _drop(server: str, name: str) -> None:
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


async def _buyers(base: str, count: int, seconds: float) -> tuple[Tally, list[float]]:
    tally, latencies = Tally(), []
    start = time.monotonic()
    stop = start + seconds

    async def token(client: httpx.AsyncClient) -> str:
        """The CSRF token of this shopper's session, read from the product page as a
        browser would."""
        page = (await client.get("/s/fr/products/LAST")).text
        return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    async def buyer() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            csrf = await token(client)
            while time.monotonic() < stop:
                started = time.perf_counter()
                added = await client.post("/s/fr/cart/add", data={
                    "sku": "LAST", "quantity": "1", "csrf_token": csrf})
                placed = await client.post("/s/fr/checkout", data={**ADDRESS,
                                                                   "csrf_token": csrf})
                latencies.append(time.perf_counter() - started)
                if added.status_code != 303:
                    tally.errors += 1
                elif placed.status_code == 303:
                    tally.placed += 1
                    tally.last_placed = time.monotonic() - start
                elif placed.status_code == 400:
                    tally.refused += 1
                    client.cookies.clear()  # a new shopper, with an empty cart
                    csrf = await token(client)
                else:
                    tally.errors += 1

    await asyncio.gather(*(buyer() for _ in range(count)))
    return tally, latencies


def _measure(name: str, tally: Tally, latencies: list[float], seconds: float) -> Measure:
    ordered = sorted(latencies) or [0.0]

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2)

    # "requests" here are placed orders: the throughput that matters.
    return Measure(name, tally.placed, tally.errors, seconds, pct(0.5), pct(0.95), pct(0.99))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--buyers", type=int, default=50)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    runs, extra = [], {}
    for label, buyers in (("1 buyer (baseline)", 1), (f"{args.buyers} buyers", args.buyers)):
        name, owner, app_url = _prepare(args.server, args.units)
        try:
            env = {"COMPTOIR_DATABASE_URL": app_url, "COMPTOIR_SECRET_KEY": "bench",
                   "COMPTOIR_LOG_LEVEL": "ERROR"}
            with gunicorn("comptoir:create_app()", env, args.workers) as base:
                tally, latencies = asyncio.run(_buyers(base, buyers, args.seconds))
                # Throughput while there was stock to sell.
                elapsed = tally.last_placed or args.seconds
            engine = create_engine(owner.replace("postgresql://", "postgresql+psycopg://"))
            with engine.connect() as conn:
                sold = conn.execute(text(
                    "SELECT coalesce(sum(quantity), 0) FROM order_lines")).scalar()
                level = conn.execute(text("SELECT on_hand, reserved FROM stock_levels")).one()
            engine.dispose()
        finally:
            _drop(args.server, name)
        oversell = max(0, int(sold) - args.units)
        runs.append(_measure(label, tally, latencies, elapsed))
        extra[label] = {"placed": tally.placed, "refused": tally.refused,
                        "errors": tally.errors, "units_sold": int(sold),
                        "reserved": level.reserved, "oversell": oversell}
    baseline, loaded = runs
    ratios = {"orders/s, loaded / one buyer": round(loaded.rps / baseline.rps, 3)
              if baseline.rps else 0,
              "oversell (units)": float(extra[f"{args.buyers} buyers"]["oversell"])}
    report("checkout", runs, ratios, {**extra, "units": args.units, "machine": machine()})
    return ratios


if __name__ == "__main__":
    main()
