"""Platform admins, a clock the tests move, orders to count, and shop users to log in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from comptoir.core.db import db
from comptoir.customers.models import User
from comptoir.orders.models import Order
from comptoir.platform_admin import auth
from comptoir.platform_admin.models import PlatformAdmin
from comptoir.tenants.models import Tenant
from tests.conftest import as_tenant

#: Cheap argon2 parameters: the tests hash many passwords.
FAST_HASHES = {"time_cost": 1, "memory_cost": 64, "parallelism": 1}
ADMIN_EMAIL = "ops@platform.example"
ADMIN_PASSWORD = "correct horse battery staple"
SHOP_PASSWORD = "another long passphrase"


@pytest.fixture
def app(app_factory: Any) -> Any:
    return app_factory(PASSWORD_HASH_PARAMETERS=FAST_HASHES)


class Clock:
    """The platform admin module's clock, moved by the tests instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    found = Clock()
    monkeypatch.setattr(auth, "now", found)
    return found


@pytest.fixture
def platform_admin(app: Any) -> PlatformAdmin:
    with app.app_context():
        admin = auth.create_admin(ADMIN_EMAIL, "Olivia Ops", ADMIN_PASSWORD)
        db.session.commit()
        db.session.refresh(admin)
        db.session.expunge(admin)
        return admin


def log_in(client: Any, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> Any:
    return client.post("/platform/login", data={"email": email, "password": password})


@pytest.fixture
def admin_client(app: Any, platform_admin: PlatformAdmin) -> Any:
    client = app.test_client()
    assert log_in(client).status_code == 302
    return client


def count(app: Any, model: Any) -> int:
    with app.app_context():
        return db.session.query(model).count()


def tenant_count(app: Any) -> int:
    return count(app, Tenant)


def add_order(app: Any, tenant: Any, total: str, *, currency: str = "EUR",
              status: str = "placed", days_ago: int = 1, number: int = 1) -> None:
    """An order booked ``days_ago`` days ago with ``total`` gross, straight in the table."""
    with as_tenant(app, tenant):
        db.session.add(Order(
            number=number, reference=f"T-{tenant.slug}-{number}", status=status,
            email="buyer@example.fr", billing_address={}, shipping_address={},
            shipping_method="standard", payment_method="invoice", currency=currency,
            total_net=Decimal(total), total_vat=Decimal("0.00"), total_gross=Decimal(total),
            expected_delivery=date(2026, 12, 1),
            created_at=datetime.now(UTC) - timedelta(days=days_ago)))
        db.session.commit()


def add_shop_user(app: Any, tenant: Any, email: str, role: str) -> None:
    from comptoir.accounts.passwords import hash_password

    with as_tenant(app, tenant):
        db.session.add(User(email=email, name=email.split("@")[0].title(), role=role,
                            password_hash=hash_password(SHOP_PASSWORD)))
        db.session.commit()


def shop_client(app: Any, slug: str, email: str) -> Any:
    client = app.test_client()
    response = client.post(f"/s/{slug}/login", data={"email": email, "password": SHOP_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
