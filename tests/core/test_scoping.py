"""Tenant isolation: neither tenant reads, updates, deletes or writes the other's rows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import delete, exists, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import aliased, joinedload, selectinload
from sqlalchemy.orm.exc import DetachedInstanceError

from comptoir.catalog.models import Product
from comptoir.core.db import db
from comptoir.core.scoping import (
    TenantIsolationError,
    TenantRequired,
    activate,
    deactivate,
    tenant_context,
)
from comptoir.customers.models import Company, User
from comptoir.tenants.models import Tenant
from tests.conftest import as_tenant, requires_postgresql


@pytest.fixture
def two_shops(app, make_tenant):
    a = make_tenant("alpha")
    b = make_tenant("beta")
    for tenant, skus in ((a, ("A-1", "A-2")), (b, ("B-1",))):
        with as_tenant(app, tenant):
            for sku in skus:
                db.session.add(Product(sku=sku, name=sku, price=Decimal("10.00")))
            company = Company(name=f"Company of {tenant.slug}")
            db.session.add(User(email=f"buyer@{tenant.slug}.example", name="Buyer",
                                password_hash="x", company=company))
            db.session.commit()
    return a, b


def skus():
    return sorted(db.session.scalars(select(Product.sku)))


def test_select_sees_only_current_tenant(app, two_shops):
    a, b = two_shops
    with as_tenant(app, a):
        assert skus() == ["A-1", "A-2"]
        assert db.session.scalar(select(func.count(Product.id))) == 2
    with as_tenant(app, b):
        assert skus() == ["B-1"]


def test_get_by_primary_key_of_other_tenant_is_none(app, two_shops):
    a, b = two_shops
    with as_tenant(app, b):
        b_id = db.session.scalars(select(Product.id)).one()
    with as_tenant(app, a):
        assert db.session.get(Product, b_id) is None


def test_bulk_update_and_delete_stay_in_tenant(app, two_shops):
    a, b = two_shops
    with as_tenant(app, a):
        db.session.execute(update(Product).values(name="renamed"))
        db.session.execute(delete(Product).where(Product.sku.like("%-1")))
        db.session.commit()
        assert skus() == ["A-2"]
    with as_tenant(app, b):
        assert db.session.scalars(select(Product.name)).all() == ["B-1"]


def test_insert_is_stamped_with_current_tenant(app, two_shops):
    a, _ = two_shops
    with as_tenant(app, a):
        product = Product(sku="A-3", name="new", price=Decimal("1.00"))
        db.session.add(product)
        db.session.commit()
        assert product.tenant_id == a.id


def test_insert_for_another_tenant_is_refused_and_nothing_written(app, two_shops):
    a, b = two_shops
    with as_tenant(app, a):
        db.session.add(Product(sku="X", name="x", price=Decimal("1.00"), tenant_id=b.id))
        with pytest.raises(TenantIsolationError, match="belongs to tenant"):
            db.session.commit()
        db.session.rollback()
    with as_tenant(app, b):
        assert skus() == ["B-1"]


def test_moving_a_row_to_another_tenant_is_refused(app, two_shops):
    a, b = two_shops
    with as_tenant(app, a):
        product = db.session.scalars(select(Product).where(Product.sku == "A-1")).one()
        product.tenant_id = b.id
        with pytest.raises(TenantIsolationError, match="outside the current tenant"):
            db.session.commit()
        db.session.rollback()
        assert skus() == ["A-1", "A-2"]


def test_no_tenant_means_no_tenant_data(app, two_shops):
    with app.app_context():
        with pytest.raises(TenantRequired):
            db.session.scalars(select(Product)).all()
        db.session.rollback()
        db.session.add(Product(sku="orphan", name="o", price=Decimal("1.00")))
        with pytest.raises(TenantRequired):
            db.session.commit()


def test_switching_tenant_inside_a_transaction_is_refused(app, two_shops):
    a, b = two_shops
    with as_tenant(app, a):
        db.session.scalars(select(Product)).all()  # opens the transaction as tenant a
        with (
            pytest.raises(TenantIsolationError, match="before switching"),
            tenant_context(db.session, b.id),
        ):
            pass


@requires_postgresql
def test_raw_sql_sees_only_current_tenant_on_postgresql(app, two_shops):
    a, b = two_shops
    with as_tenant(app, a):
        rows = db.session.execute(text("SELECT sku FROM products ORDER BY sku")).scalars().all()
        assert rows == ["A-1", "A-2"]
        changed = db.session.execute(text("UPDATE products SET name = 'hacked'")).rowcount
        assert changed == 2
        gone = db.session.execute(text("DELETE FROM products WHERE sku = 'B-1'")).rowcount
        assert gone == 0
        db.session.commit()
    with as_tenant(app, b):
        assert db.session.execute(text("SELECT name FROM products")).scalars().all() == ["B-1"]


@requires_postgresql
def test_raw_insert_for_another_tenant_violates_rls(app, two_shops):
    a, b = two_shops
    with as_tenant(app, a):
        with pytest.raises(DBAPIError, match="row-level security"):
            db.session.execute(
                text("INSERT INTO products (tenant_id, sku, name, description, price, "
                     "tax_class, active) VALUES (:t, 'EVIL', 'e', '', 1, 'standard', true)"),
                {"t": b.id},
            )
        db.session.rollback()
    with as_tenant(app, b):
        assert skus() == ["B-1"]


@requires_postgresql
def test_raw_sql_without_tenant_sees_nothing_on_postgresql(app, two_shops):
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM products")).scalar() == 0


@requires_postgresql
def test_app_role_cannot_bypass_rls(app):
    with app.app_context():
        role = db.session.execute(text(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )).one()
        owned = db.session.execute(text(
            "SELECT count(*) FROM pg_tables WHERE tableowner = current_user"
        )).scalar()
        forced = db.session.execute(text(
            "SELECT bool_and(relforcerowsecurity AND relrowsecurity) FROM pg_class "
            "WHERE relname IN ('products', 'companies', 'users')"
        )).scalar()
    assert (role.rolsuper, role.rolbypassrls, owned, forced) == (False, False, 0, True)


def test_objects_from_one_tenant_block_are_not_handed_to_the_next(app, two_shops):
    """A job looping over tenants in one session must not get A's object back under B."""
    a, b = two_shops
    with app.app_context():
        with tenant_context(db.session, a.id):
            product = db.session.scalars(select(Product).where(Product.sku == "A-1")).one()
            product_id = product.id
        with tenant_context(db.session, b.id):
            assert db.session.get(Product, product_id) is None
        with pytest.raises(DetachedInstanceError):
            product.name  # noqa: B018 - expired and detached: no refresh outside its tenant


def test_lazy_loads_need_a_tenant(app, two_shops):
    a, _ = two_shops
    with app.app_context():
        token = activate(a.id)
        company = db.session.scalars(select(Company)).one()
        db.session.expire(company)
        deactivate(token)
        with pytest.raises(TenantRequired):
            company.name  # noqa: B018


@pytest.mark.parametrize(
    "query",
    [
        lambda: select(Tenant.slug).where(Tenant.id.in_(select(Product.tenant_id))),
        lambda: select(Tenant.slug).where(exists().where(Product.tenant_id == Tenant.id)),
        lambda: select(Product.tenant_id).union_all(select(Product.tenant_id)),
        lambda: select(select(Product.tenant_id).cte().c.tenant_id),
        lambda: select(select(func.max(Product.tenant_id)).scalar_subquery()),
        lambda: select(func.max(Product.tenant_id)).select_from(Product),
        lambda: select(aliased(Product).tenant_id),
        lambda: select(Product.tenant_id).select_from(Tenant).join(
            Product, Product.tenant_id == Tenant.id),
    ],
    ids=["in-subquery", "exists", "union", "cte", "scalar-subquery", "select-from",
         "aliased", "join-from-tenants"],
)
def test_scoping_reaches_every_statement_shape(app, two_shops, query):
    a, _ = two_shops
    with as_tenant(app, a):
        found = set(db.session.execute(query()).scalars())
    assert found <= {a.id, "alpha"} and found


def test_eager_loads_stay_in_tenant(app, two_shops):
    a, _ = two_shops
    with as_tenant(app, a):
        for option in (joinedload, selectinload):
            companies = db.session.scalars(
                select(Company).options(option(Company.users))).unique().all()
            assert [u.email for c in companies for u in c.users] == ["buyer@alpha.example"]


def test_orm_bulk_insert_must_name_the_current_tenant(app, two_shops):
    a, b = two_shops
    row = {"sku": "BULK", "name": "b", "price": Decimal(1), "description": "",
           "tax_class": "standard", "active": True}
    with as_tenant(app, a):
        for bad in ({**row, "tenant_id": b.id}, row):
            with pytest.raises(TenantIsolationError):
                db.session.execute(insert(Product), [bad])
            db.session.rollback()
        db.session.execute(insert(Product), [{**row, "tenant_id": a.id}])
        db.session.commit()
        assert "BULK" in skus()
    with as_tenant(app, b):
        assert skus() == ["B-1"]


def test_orm_update_cannot_move_rows(app, two_shops):
    a, b = two_shops
    with as_tenant(app, a):
        with pytest.raises(TenantIsolationError, match="may not change tenant_id"):
            db.session.execute(update(Product).values(tenant_id=b.id))
        db.session.rollback()
        assert skus() == ["A-1", "A-2"]


def test_rows_cannot_reference_another_tenants_rows(app, two_shops):
    a, b = two_shops
    with as_tenant(app, b):
        b_company = db.session.scalars(select(Company.id)).one()
    with as_tenant(app, a):
        db.session.add(User(email="x@alpha.example", name="x", password_hash="x",
                            company_id=b_company))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(func.count(User.id))) == 1
