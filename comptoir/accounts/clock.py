"""The accounts' one clock: session timeouts and link expiry read :func:`now`, so tests move
time by patching this function instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)
