"""The stock desk on its own: holds that expire, refusals that change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from comptoir.catalog.models import Variant
from comptoir.core.db import db
from comptoir.stock import service as stock
from tests.conftest import as_tenant


def screen(app, fr):
    with as_tenant(app, fr):
        variant = db.session.scalars(select(Variant).where(Variant.sku == "SCREEN")).one()
        db.session.expunge(variant)
        return variant


def available(app, fr, variant):
    with as_tenant(app, fr):
        return stock.availability([variant.id])[variant.id]


def test_an_abandoned_hold_is_released_after_its_time(app, shop):
    fr, _, _ = shop
    variant = screen(app, fr)
    with app.app_context():
        stock.reserve(fr.id, "acme-cart-1", [(variant, 4)], minutes=30)
    assert available(app, fr, variant) == 3
    with app.app_context():
        assert stock.release_expired(fr.id, now=datetime.now(UTC) + timedelta(minutes=10)) == 0
        assert stock.release_expired(fr.id, now=datetime.now(UTC) + timedelta(minutes=31)) == 1
    assert available(app, fr, variant) == 7


def test_all_or_nothing_when_one_line_is_short(app, shop):
    fr, _, _ = shop
    variant = screen(app, fr)
    with as_tenant(app, fr):
        laptop = db.session.scalars(select(Variant).where(Variant.sku == "LAPTOP-FR")).one()
        db.session.expunge(laptop)
    with app.app_context(), pytest.raises(stock.Shortage) as short:
        stock.reserve(fr.id, "acme-x", [(variant, 2), (laptop, 50)])
    assert (short.value.sku, short.value.available) == ("LAPTOP-FR", 7)
    assert available(app, fr, variant) == 7  # the screens were given back


def test_a_reservation_spans_locations_when_one_is_not_enough(app, shop):
    fr, _, _ = shop
    variant = screen(app, fr)
    with app.app_context():
        stock.reserve(fr.id, "acme-y", [(variant, 6)], committed=True)
    assert available(app, fr, variant) == 1


@pytest.mark.parametrize("quantity", [0, -1, 10_001, "3"])
def test_absurd_shop_sale_quantities_are_refused(app, shop, quantity):
    fr, _, _ = shop
    with app.app_context(), pytest.raises(stock.StockError, match="whole number"):
        stock.sell_in_shop(fr.id, "paris", "SCREEN", quantity)


def test_unknown_location_or_sku_is_a_clear_error(app, shop):
    fr, _, _ = shop
    with app.app_context():
        with pytest.raises(stock.StockError, match="no stock of 'NOPE' at 'paris'"):
            stock.sell_in_shop(fr.id, "paris", "NOPE", 1)
        with pytest.raises(stock.StockError, match="no location 'mars'"):
            stock.receive(fr.id, "mars", "SCREEN", 1)


def test_a_reseller_cannot_record_sales_on_office_stock(app, shop):
    _, acme, _ = shop
    with app.app_context(), pytest.raises(stock.StockError):
        stock.sell_in_shop(acme.id, "paris", "SCREEN", 1)  # acts as acme: sees no level
