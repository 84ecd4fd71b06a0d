"""Comptoir: one deployment, many co-branded storefronts for country offices and resellers.

The package is ``comptoir`` rather than ``platform`` because a top-level ``platform`` would
shadow the standard library module that SQLAlchemy, gunicorn and stripe import.
"""

from __future__ import annotations

from comptoir.app import create_app

__all__ = ["create_app"]
