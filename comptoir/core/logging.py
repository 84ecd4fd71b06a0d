"""Structured logs where every line says which tenant it is about.

Operators of a multi-tenant deployment first ask "which shop?"; a filter puts the tenant's
slug (``-`` outside any tenant) on every record of the ``comptoir`` loggers, and
``COMPTOIR_LOG_FORMAT=json`` writes one JSON object per line (python-json-logger) for log
shippers.
"""

from __future__ import annotations

import logging

from flask import Flask, g, has_app_context
from pythonjsonlogger.json import JsonFormatter

from comptoir.core.scoping import current_tenant_id

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(tenant)s] %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(tenant)s %(message)s"


class TenantFilter(logging.Filter):
    """Add ``record.tenant``: the request's tenant slug, else the active tenant id, else ``-``."""

    def filter(self, record: logging.LogRecord) -> bool:
        tenant = g.get("tenant") if has_app_context() else None
        if tenant is not None:
            record.tenant = tenant.slug
        else:
            tenant_id = current_tenant_id()
            record.tenant = f"id:{tenant_id}" if tenant_id is not None else "-"
        return True


def init_app(app: Flask) -> None:
    logger = logging.getLogger("comptoir")
    logger.setLevel(app.config["LOG_LEVEL"].upper())
    if any(getattr(h, "comptoir", False) for h in logger.handlers):
        return  # one handler per process, however many apps the tests build
    handler = logging.StreamHandler()
    handler.comptoir = True  # type: ignore[attr-defined]
    if app.config["LOG_FORMAT"] == "json":
        handler.setFormatter(JsonFormatter(JSON_FIELDS))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(TenantFilter())
    logger.addHandler(handler)
