"""Newsletters: consented, localised e-mail per office, with triggers after customer actions.

Skeleton: the sender settings are declared here; consent, campaigns and sending arrive with
the newsletters issue.
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
            "sender_name": {"type": "string", "minLength": 1, "maxLength": 100},
            "sender_email": {
                "type": "string",
                "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$",
            },
        },
    }
