"""Instagram media objects as ``/{ig-user-id}/media`` lists them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

#: Fields igtoken asks for when listing media, unless told otherwise.
DEFAULT_MEDIA_FIELDS: Final = (
    "id",
    "caption",
    "media_type",
    "media_url",
    "permalink",
    "thumbnail_url",
    "timestamp",
    "username",
)


@dataclass(frozen=True, slots=True)
class Media:
    """One media object. Ids are strings; fields Meta did not send are ``None``.

    ``timestamp`` is when it was posted, a timezone-aware UTC datetime (Meta sends
    ``2026-01-01T00:00:00+0000``). ``raw`` keeps every field as Meta sent it, for
    fields igtoken does not model.
    """

    id: str
    media_type: str | None = None
    caption: str | None = None
    media_url: str | None = None
    permalink: str | None = None
    thumbnail_url: str | None = None
    timestamp: datetime | None = None
    username: str | None = None
    raw: Mapping[str, object] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class MediaPage:
    """One page of an account's media, and the cursor to resume from.

    ``after`` is Meta's ``paging.cursors.after`` when another page follows (pass it
    back as ``after=`` to get that page, now or in another process); ``None`` on
    the last page. Cursors hold no token, so they can be stored.
    """

    items: tuple[Media, ...]
    after: str | None = None
    before: str | None = None


def parse_timestamp(value: object) -> datetime | None:
    """Meta's ``2026-01-01T00:00:00+0000`` (or any ISO 8601 with an offset) as UTC; else ``None``."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)
