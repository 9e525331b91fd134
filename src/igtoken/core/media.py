"""Instagram media objects as ``/{ig-user-id}/media`` lists them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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

    ``raw`` keeps every field as Meta sent it, for fields igtoken does not model.
    """

    id: str
    media_type: str | None = None
    caption: str | None = None
    media_url: str | None = None
    permalink: str | None = None
    thumbnail_url: str | None = None
    timestamp: str | None = None
    username: str | None = None
    raw: Mapping[str, object] = field(default_factory=dict, compare=False, repr=False)
