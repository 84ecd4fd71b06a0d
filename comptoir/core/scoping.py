"""Tenant isolation in the ORM, with PostgreSQL row-level security as the second lock.

Why here and not in each view: a filter that every view must remember is a filter some view
forgets. Every ORM SELECT, UPDATE and DELETE that touches a :class:`TenantScoped` model is
narrowed to the current tenant by ``with_loader_criteria`` in ``do_orm_execute`` (SQLAlchemy's
``examples/extending_query/filter_public.py`` recipe). :class:`OfficeShared` models (the
master catalogue) are read by the office that owns the rows *and its resellers*, but written
by their owner only. The recipe does not see INSERTs, so
``before_flush`` stamps new rows with the current tenant and refuses any row that names, or is
moved to, another tenant. With no tenant active, touching a scoped model is an error rather
than a silent "all tenants".

What the ORM layer cannot see: Core statements on ``Table`` objects and ``text()`` SQL. Use
ORM entities for tenant data; on PostgreSQL the row-level security below still holds for
those statements, on SQLite nothing does.

On PostgreSQL the current tenant is also written into the transaction with
``set_config('app.tenant_id', ..., true)`` right after BEGIN, which the RLS policies created by
the migrations read; ``true`` makes it transaction-local, so a pooled connection never carries
one tenant's id into another request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import ForeignKey, event, inspect, text
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    mapped_column,
    scoped_session,
    with_loader_criteria,
)

#: (tenant id, its office's id); the office of an office is itself.
_current: ContextVar[tuple[int, int] | None] = ContextVar("comptoir_tenant", default=None)

RLS_SETTING = "app.tenant_id"
RLS_OFFICE_SETTING = "app.office_id"


class TenantIsolationError(RuntimeError):
    """A query or write would cross the line between tenants."""


class TenantRequired(TenantIsolationError):
    """Tenant-owned data was touched with no tenant active."""


class TenantOwned:
    """A row that belongs to one tenant: ``tenant_id``, stamped on insert, never moved.

    Use one of its two kinds, which differ in who may *read*. Unique constraints should
    include ``tenant_id`` (two tenants may use the same SKU or e-mail, and the schema stays
    ready for sharding by tenant).
    """

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True, nullable=False
    )


class TenantScoped(TenantOwned):
    """Read and written by its tenant only: customers, orders, carts, settings..."""


class OfficeShared(TenantOwned):
    """Read by its tenant and that tenant's resellers; written by its tenant only.

    For what an office publishes to its resellers (categories, products): a reseller sells
    its office's catalogue plus its own rows, and cannot change the office's.
    """


def current_tenant_id() -> int | None:
    """The id of the tenant whose data the ORM may see now, or ``None``."""
    scope = _current.get()
    return scope[0] if scope is not None else None


def current_office_id() -> int | None:
    """The id of the current tenant's country office (itself for an office), or ``None``."""
    scope = _current.get()
    return scope[1] if scope is not None else None


def activate(tenant_id: int | None, office_id: int | None = None) -> Token:
    """Make ``tenant_id`` current; give the returned token to :func:`deactivate`."""
    if tenant_id is None:
        return _current.set(None)
    return _current.set((tenant_id, office_id if office_id is not None else tenant_id))


def deactivate(token: Token) -> None:
    _current.reset(token)


@contextmanager
def tenant_context(
    session: FlaskSession | scoped_session, tenant_id: int | None, office_id: int | None = None
) -> Iterator[None]:
    """Run a block as ``tenant_id`` (CLI commands, jobs, tests).

    A transaction already open was begun under another tenant, and on PostgreSQL its RLS
    setting is fixed; switching inside it would mix the two, so it is refused. The identity
    map is emptied on the way in and out: an object loaded for one tenant must not be handed
    back (or lazily refreshed) under another. Uncommitted work is rolled back on the way out.
    """
    if isinstance(session, scoped_session):
        session = session()
    if session.in_transaction() and current_tenant_id() != tenant_id:
        raise TenantIsolationError(
            "commit or roll back the open transaction before switching tenant"
        )
    session.expunge_all()
    token = activate(tenant_id, office_id)
    try:
        yield
    finally:
        if session.in_transaction():
            session.rollback()
        session.expunge_all()
        deactivate(token)


class TenantSession(FlaskSession):
    """The Flask-SQLAlchemy session with the tenant listeners attached (see module doc)."""


def _touches_scoped(state: ORMExecuteState) -> bool:
    return any(issubclass(m.class_, TenantOwned) for m in state.all_mappers)


def _refuse_foreign_tenant(rows: object, tenant_id: int, verb: str) -> None:
    for row in rows if isinstance(rows, list) else [rows]:
        if isinstance(row, dict) and row.get("tenant_id", tenant_id) != tenant_id:
            raise TenantIsolationError(f"{verb} would write rows of another tenant")


def _check_bulk_write(state: ORMExecuteState, tenant_id: int) -> None:
    """ORM bulk INSERT/UPDATE: ``tenant_id`` may only ever be the current tenant.

    Inserts must name it (a bulk insert has no object for ``before_flush`` to stamp), and
    an UPDATE may not set it at all.
    """
    rows = state.parameters
    # Values written into the statement itself (``.values(...)``); with a parameter list the
    # statement is an executemany template and the rows say it all.
    statement_params = {} if rows else state.statement.compile().params
    if state.is_update and "tenant_id" in statement_params:
        raise TenantIsolationError("an UPDATE may not change tenant_id")
    if state.is_insert:
        rows = rows or statement_params
        for row in rows if isinstance(rows, list) else [rows]:
            if "tenant_id" not in row:
                raise TenantIsolationError("a bulk INSERT must set tenant_id to the current tenant")
    _refuse_foreign_tenant(statement_params, tenant_id, "this statement")
    if state.parameters:
        _refuse_foreign_tenant(state.parameters, tenant_id, "this statement")


@event.listens_for(TenantSession, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete or state.is_insert):
        return
    tenant_id = current_tenant_id()
    if tenant_id is None:
        # Also for lazy loads and refreshes: an object kept from a tenant block must not
        # load more of that tenant's data once the block is over.
        if _touches_scoped(state):
            raise TenantRequired("tenant-owned data touched with no tenant active")
        return
    if state.is_insert or state.is_update:
        if _touches_scoped(state):
            _check_bulk_write(state, tenant_id)
        if state.is_insert:
            return
    # Always added, even when no scoped entity is at the top: the criteria also reach
    # scoped entities inside subqueries, EXISTS, unions and CTEs.
    if state.is_select:
        visible = (tenant_id, current_office_id())
        state.statement = state.statement.options(
            with_loader_criteria(
                TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True
            ),
            with_loader_criteria(
                OfficeShared, lambda cls: cls.tenant_id.in_(visible), include_aliases=True
            ),
        )
    else:  # UPDATE and DELETE touch one's own rows only, shared or not
        state.statement = state.statement.options(
            with_loader_criteria(
                TenantOwned, lambda cls: cls.tenant_id == tenant_id, include_aliases=True
            )
        )


@event.listens_for(TenantSession, "before_flush")
def _stamp_and_check(session: FlaskSession, flush_context: Any, instances: Any) -> None:
    tenant_id = current_tenant_id()
    for obj in session.new:
        if not isinstance(obj, TenantOwned):
            continue
        if tenant_id is None:
            raise TenantRequired(f"cannot save {type(obj).__name__} with no tenant active")
        if obj.tenant_id is None:
            obj.tenant_id = tenant_id
        elif obj.tenant_id != tenant_id:
            raise TenantIsolationError(
                f"{type(obj).__name__} belongs to tenant {obj.tenant_id}, "
                f"not to the current tenant {tenant_id}"
            )
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, TenantOwned):
            continue
        history = inspect(obj).attrs.tenant_id.history
        if history.deleted or obj.tenant_id != tenant_id:
            raise TenantIsolationError(
                f"{type(obj).__name__} cannot be changed or moved outside the current tenant"
            )


@event.listens_for(TenantSession, "after_begin")
def _set_rls_tenant(session: FlaskSession, transaction: Any, connection: Any) -> None:
    if connection.dialect.name != "postgresql":
        return
    tenant_id, office_id = current_tenant_id(), current_office_id()
    connection.execute(
        text("SELECT set_config(:t, :tv, true), set_config(:o, :ov, true)"),
        {
            "t": RLS_SETTING, "tv": "" if tenant_id is None else str(tenant_id),
            "o": RLS_OFFICE_SETTING, "ov": "" if office_id is None else str(office_id),
        },
    )
