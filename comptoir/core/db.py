"""The database handle shared by the core and the plugins.

One ``SQLAlchemy`` object, bound to each app with ``init_app`` (as in Flask's tutorial), with a
naming convention so that Alembic migrations name constraints the same way on SQLite and
PostgreSQL. The session class is :class:`comptoir.core.scoping.TenantSession`, which carries
the tenant filters; see that module for why.
"""

from __future__ import annotations

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from comptoir.core.scoping import TenantSession

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base, session_options={"class_": TenantSession})
migrate = Migrate()
