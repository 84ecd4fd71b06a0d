"""Purchase approvals: signing limits per hierarchy level, technical and budget validation.

Skeleton: the settings below are the contract a tenant configures; the approval chain
itself arrives with the approvals issue.
"""

from __future__ import annotations

from typing import Any

from comptoir.toolkit import hookimpl

AMOUNT = {"type": "string", "pattern": "^[0-9]+(\\.[0-9]{1,2})?$"}


@hookimpl
def comptoir_settings_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "signing_limits": {
                "type": "array",
                "description": "Ceiling per hierarchy level, as decimal strings.",
                "items": AMOUNT,
                "minItems": 1,
                "maxItems": 3,
                "default": ["0", "20000", "500000"],
            },
            "technical_validation": {"type": "boolean", "default": True},
        },
    }
