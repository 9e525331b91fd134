"""What the service needs to know, checked once, before anything listens.

The settings helper builds a :class:`ServiceConfig` from the environment; this
module only says what a valid one looks like and refuses anything else with a
:class:`~igtoken.core.exceptions.ConfigurationError` that names the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from igtoken.config.settings import is_proxy_address
from igtoken.core.exceptions import ConfigurationError
from igtoken.core.secret import Secret

#: Below this length an admin password is a guess away; sandbox mode generates a longer one.
MIN_ADMIN_PASSWORD_LENGTH = 12

#: Meta's app secrets by app id, or a function returning them (so a vault can rotate them live).
AppSecrets = Mapping[str, Secret] | Callable[[], Mapping[str, Secret]]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A token bucket: ``per_minute`` requests on average, up to ``burst`` at once."""

    per_minute: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_minute <= 0 or self.burst < 1:
            raise ConfigurationError(
                f"a rate limit needs per_minute > 0 and burst >= 1, got {self.per_minute}/{self.burst}",
                fix="give a positive rate and a burst of at least 1",
            )


@dataclass(frozen=True, slots=True)
class RateLimits:
    """One bucket per client IP and route group; the groups are the public entry points."""

    signin: RateLimit = RateLimit(per_minute=10, burst=5)
    webhooks: RateLimit = RateLimit(per_minute=600, burst=100)
    public: RateLimit = RateLimit(per_minute=60, burst=20)
    api: RateLimit = RateLimit(per_minute=600, burst=60)

    def for_group(self, group: str) -> RateLimit:
        """The limit of one route group; an unknown group is a programming error."""
        limit = getattr(self, group, None)
        if not isinstance(limit, RateLimit):
            raise ConfigurationError(f"no rate limit group named {group!r}")
        return limit


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Everything ``create_app`` needs, already parsed; secrets are :class:`Secret`.

    ``public_url`` is where people and Meta reach the service. Outside sandbox mode it
    must be HTTPS unless ``dev`` says this is a development setup. ``session_secret``
    signs the dashboard cookie; when absent one is generated per process, which is
    fine for one instance and logs everyone out on restart. ``admin_password`` is
    required outside sandbox mode; in sandbox mode one is generated and printed.
    """

    public_url: str
    sandbox: bool = False
    dev: bool = False
    admin_password: Secret | None = None
    session_secret: Secret | None = None
    session_max_age: int = 12 * 3600
    webhook_verify_token: Secret | None = None
    meta_app_secrets: AppSecrets = field(default_factory=dict)
    rate_limits: RateLimits = field(default_factory=RateLimits)
    max_webhook_body: int = 1024 * 1024
    app_name: str = "igtoken"
    #: Peers whose ``X-Forwarded-For``/``-Proto`` headers are believed (IPs or networks; ``*``: all).
    #: None by default: the client is the TCP peer, so a header cannot dodge the sign-in limit.
    trusted_proxies: tuple[str, ...] = ()
    #: When set, ``/metrics`` answers only ``Authorization: Bearer <metrics_token>``.
    metrics_token: Secret | None = None
    #: Whether ``/api/openapi.json`` (and, in sandbox or dev mode, ``/api/docs``) are served.
    api_docs: bool = True

    def __post_init__(self) -> None:
        parts = urlsplit(self.public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"public URL {self.public_url!r} is not an absolute http(s) URL",
                fix="set the public URL to where the service is reached, e.g. https://tokens.example.com",
            )
        if parts.query or parts.fragment:
            raise ConfigurationError(
                "the public URL must not carry a query or a fragment",
                fix="give only scheme, host, optional port and optional path",
            )
        if parts.scheme != "https" and not (self.sandbox or self.dev):
            raise ConfigurationError(
                f"refusing to serve on the non-HTTPS public URL {self.public_url!r}: "
                "session cookies and Meta's callbacks would travel in clear",
                fix="use an https:// public URL, or say this is a development setup (dev mode)",
            )
        if self.admin_password is None and not self.sandbox:
            raise ConfigurationError(
                "no admin password is configured, so nobody could sign in to the dashboard",
                fix="set an admin password (sandbox mode generates one)",
            )
        if self.admin_password is not None and len(self.admin_password) < MIN_ADMIN_PASSWORD_LENGTH:
            raise ConfigurationError(
                f"the admin password is shorter than {MIN_ADMIN_PASSWORD_LENGTH} characters",
                fix="choose a longer admin password",
            )
        if self.session_secret is not None and len(self.session_secret) < 32:
            raise ConfigurationError(
                "the session secret is shorter than 32 characters",
                fix="use 32 or more random characters, e.g. from `openssl rand -base64 36`",
            )
        if self.session_max_age < 60:
            raise ConfigurationError("the session lifetime must be at least 60 seconds")
        for proxy in self.trusted_proxies:
            if not is_proxy_address(proxy):
                raise ConfigurationError(
                    f"trusted proxy {proxy!r} is not an IP address or network",
                    fix="list the reverse proxies' addresses, e.g. 10.0.0.5 or 10.0.0.0/24",
                )
        if self.max_webhook_body < 1024:
            raise ConfigurationError("the webhook body limit must be at least 1024 bytes")

    @property
    def https(self) -> bool:
        """Whether people reach the service over HTTPS (then cookies are ``Secure``)."""
        return urlsplit(self.public_url).scheme == "https"

    def app_secrets(self) -> Mapping[str, Secret]:
        """The current app secrets by app id, read through the callable if one was given."""
        secrets = self.meta_app_secrets
        return secrets() if callable(secrets) else secrets
