"""Resellers and affiliates: referred customers, commissions per order, quotes.

Skeleton: the commission settings are declared here; the ledger and the reseller's pages
arrive with the affiliates issue.
"""

from __future__ import annotations

from typing import Any

from comptoir.toolkit import hookimpl


@hookimpl
def comptoir_settings_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "commission_rate": {
                "type": "string",
                "pattern": "^[0-9]{1,2}(\\.[0-9]{1,2})?$",
                "description": "Percent of the order's net amount, e.g. \"5.00\".",
                "default": "5.00",
            },
            "cookie_days": {"type": "integer", "minimum": 1, "maximum": 365, "default": 30},
        },
    }
