"""How the API writes a time: ISO 8601 in UTC with a `Z` (`2026-12-06T09:30:00.123456Z`)."""

from datetime import datetime


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
