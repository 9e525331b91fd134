"""Where Meta lives: the five hosts igtoken talks to, or the emulator standing in for them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from igtoken.core.exceptions import ConfigurationError

#: The Graph API version used on graph.facebook.com unless told otherwise (Meta's
#: Instagram samples use it; available until 2028-07-29).
DEFAULT_GRAPH_VERSION: Final = "v25.0"

_VERSION = re.compile(r"v\d{1,3}\.\d{1,2}")
_HOSTS: Final = (
    "www.instagram.com",
    "api.instagram.com",
    "graph.instagram.com",
    "www.facebook.com",
    "graph.facebook.com",
)


def _base(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ConfigurationError(
            f"endpoint {name} must be an absolute http(s) URL without query or fragment, got {value!r}"
        )
    return value.rstrip("/")


def _version(name: str, value: str | None) -> str | None:
    if value is not None and not _VERSION.fullmatch(value):
        raise ConfigurationError(
            f"{name} must look like 'v25.0', got {value!r}", fix="pass a Graph API version such as 'v25.0'"
        )
    return value


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Base URLs of Meta's hosts, and the Graph API versions to use on them.

    The defaults are Meta's real hosts. :meth:`emulator` points every host at one
    local port in path-prefix form (``http://127.0.0.1:PORT/graph.instagram.com/…``).
    ``graph_version`` versions graph.facebook.com paths; ``instagram_graph_version``
    versions graph.instagram.com data paths and is ``None`` (unversioned) by default,
    which Meta serves as its current version.
    """

    www_instagram: str = "https://www.instagram.com"
    api_instagram: str = "https://api.instagram.com"
    graph_instagram: str = "https://graph.instagram.com"
    www_facebook: str = "https://www.facebook.com"
    graph_facebook: str = "https://graph.facebook.com"
    graph_version: str = DEFAULT_GRAPH_VERSION
    instagram_graph_version: str | None = None

    def __post_init__(self) -> None:
        for name in ("www_instagram", "api_instagram", "graph_instagram", "www_facebook", "graph_facebook"):
            object.__setattr__(self, name, _base(name, getattr(self, name)))
        _version("graph_version", self.graph_version)
        _version("instagram_graph_version", self.instagram_graph_version)

    @classmethod
    def emulator(
        cls,
        base_url: str,
        *,
        graph_version: str = DEFAULT_GRAPH_VERSION,
        instagram_graph_version: str | None = None,
    ) -> Endpoints:
        """Every host served by one emulator at ``base_url``, each under a path prefix named after it."""
        base = _base("base_url", base_url)
        www_ig, api_ig, graph_ig, www_fb, graph_fb = (f"{base}/{host}" for host in _HOSTS)
        return cls(
            www_instagram=www_ig,
            api_instagram=api_ig,
            graph_instagram=graph_ig,
            www_facebook=www_fb,
            graph_facebook=graph_fb,
            graph_version=graph_version,
            instagram_graph_version=instagram_graph_version,
        )

    @property
    def authorize(self) -> str:
        """Instagram Login's authorization window."""
        return f"{self.www_instagram}/oauth/authorize"

    @property
    def code_exchange(self) -> str:
        """Where an authorization code becomes a short-lived token (POST, form-encoded)."""
        return f"{self.api_instagram}/oauth/access_token"

    @property
    def long_lived_exchange(self) -> str:
        """Where a short-lived Instagram token becomes a long-lived one (GET)."""
        return f"{self.graph_instagram}/access_token"

    @property
    def refresh(self) -> str:
        """Where a long-lived Instagram token is refreshed (GET)."""
        return f"{self.graph_instagram}/refresh_access_token"

    @property
    def facebook_dialog(self) -> str:
        """Facebook Login's OAuth dialog, versioned."""
        return f"{self.www_facebook}/{self.graph_version}/dialog/oauth"

    def instagram_graph(self, path: str) -> str:
        """A graph.instagram.com data URL, e.g. ``instagram_graph("me")``."""
        version = f"/{self.instagram_graph_version}" if self.instagram_graph_version else ""
        return f"{self.graph_instagram}{version}/{path.lstrip('/')}"

    def facebook_graph(self, path: str) -> str:
        """A versioned graph.facebook.com URL, e.g. ``facebook_graph("oauth/access_token")``."""
        return f"{self.graph_facebook}/{self.graph_version}/{path.lstrip('/')}"
