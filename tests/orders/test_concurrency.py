"""Never oversold: fifty shoppers race for the last ten units."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from comptoir.catalog import service as catalog
from comptoir.core.db import db
from comptoir.orders.models import Order
from comptoir.stock.models import StockLevel
from tests.conftest import as_tenant, requires_postgresql
from tests.orders.conftest import add, checkout

BUYERS = 50
UNITS = 10


@requires_postgresql
def test_fifty_concurrent_checkouts_of_the_last_ten_units_sell_exactly_ten(
    app_factory, make_tenant
):
    from comptoir.stock import service as stock

    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 30, "max_overflow": 30})
    make_tenant("fr", name="Comptoir France", plugins=["locale_fr"])
    acme = make_tenant("acme", name="ACME", parent="fr")
    fr_id = acme.parent_id
    with as_tenant(app, fr_id):
        catalog.create_product("LAST", "Dernier modèle", "999.00")
        stock.create_location("lyon", "Entrepôt de Lyon")
        db.session.commit()
    with app.app_context():
        stock.receive(fr_id, "lyon", "LAST", UNITS)

    start = threading.Barrier(BUYERS)

    def buy(n: int) -> int:
        client = app.test_client()
        assert add(client, "LAST").status_code == 303
        start.wait(30)  # everyone checks out at the same moment
        return checkout(client, email=f"buyer{n}@example.com",
                        payment_method="bank_transfer").status_code

    with ThreadPoolExecutor(BUYERS) as pool:
        answers = list(pool.map(buy, range(BUYERS)))

    assert answers.count(303) == UNITS
    assert answers.count(400) == BUYERS - UNITS
    with as_tenant(app, acme):
        numbers = sorted(db.session.scalars(select(Order.number)))
    assert numbers == list(range(1, UNITS + 1))  # gapless despite forty refusals
    with as_tenant(app, fr_id):
        level = db.session.scalars(select(StockLevel)).one()
        assert (level.on_hand, level.reserved) == (UNITS, UNITS)
