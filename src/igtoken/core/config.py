"""What a client needs to act for one Instagram app: credentials, endpoints and timeouts.

Explicit arguments only: libraries do not read the environment (the CLI and the
service do, and pass the values in).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from igtoken.core.endpoints import Endpoints
from igtoken.core.exceptions import ConfigurationError
from igtoken.core.secret import Secret

_WHICH_CREDENTIALS = (
    "use the Instagram app secret from the app dashboard's Instagram > API setup with Instagram login "
    "page, not the Facebook (Meta) app secret from Basic settings"
)


@dataclass(frozen=True, slots=True)
class AppCredentials:
    """An app's id, secret and registered redirect URI.

    For Instagram Login these are the Instagram app id and secret; for Facebook
    Login, the Meta app id and secret (see :class:`ClientConfig`).

    The redirect URI must be byte-identical to one registered in the dashboard
    (a trailing slash counts) and is sent unchanged in both authorize and code exchange.
    """

    app_id: str
    app_secret: Secret
    redirect_uri: str

    def __post_init__(self) -> None:
        if not isinstance(self.app_id, str) or not self.app_id.isdigit() or not self.app_id.isascii():
            raise ConfigurationError(f"the app id must be a string of digits, got {self.app_id!r}")
        if not isinstance(self.app_secret, Secret):
            raise ConfigurationError(
                "the app secret must be a Secret, not a plain string",
                fix="wrap it: AppCredentials(app_id, Secret(value), redirect_uri)",
            )
        if not self.app_secret:
            raise ConfigurationError("the app secret is empty", fix=_WHICH_CREDENTIALS)
        parts = urlsplit(self.redirect_uri) if isinstance(self.redirect_uri, str) else None
        if parts is None or parts.scheme not in {"http", "https"} or not parts.netloc or parts.fragment:
            raise ConfigurationError(
                "the redirect URI must be an absolute http(s) URL without a fragment, "
                f"got {self.redirect_uri!r}"
            )


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Everything a :class:`~igtoken.Client` needs besides an HTTP connection.

    ``app`` is the Instagram app (Instagram Login). ``facebook_app`` is the Meta app
    for Facebook Login for Business: the Meta app id and secret from App settings >
    Basic, and a redirect URI registered under Facebook Login. Without it, Facebook
    Login uses ``app`` (an app that only does Facebook Login passes its Meta
    credentials there). ``timeout`` is per request, in seconds. ``retry_attempts`` and ``retry_max_wait``
    bound the retry policy: at most that many tries, and a wait hint from Meta
    longer than ``retry_max_wait`` seconds is not waited out but raised, so the
    caller can reschedule.
    """

    app: AppCredentials
    endpoints: Endpoints = field(default_factory=Endpoints)
    timeout: float = 10.0
    retry_attempts: int = 4
    retry_max_wait: float = 60.0
    user_agent: str = "igtoken"
    facebook_app: AppCredentials | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.app, AppCredentials):
            raise ConfigurationError("ClientConfig.app must be AppCredentials")
        if self.facebook_app is not None and not isinstance(self.facebook_app, AppCredentials):
            raise ConfigurationError("ClientConfig.facebook_app must be AppCredentials or None")
        if not self.timeout > 0:
            raise ConfigurationError(f"timeout must be positive seconds, got {self.timeout!r}")
        if self.retry_attempts < 1:
            raise ConfigurationError(f"retry_attempts must be at least 1, got {self.retry_attempts!r}")
        if self.retry_max_wait < 0:
            raise ConfigurationError(f"retry_max_wait must not be negative, got {self.retry_max_wait!r}")

    @property
    def facebook(self) -> AppCredentials:
        """The credentials Facebook Login uses: ``facebook_app`` if set, else ``app``."""
        return self.facebook_app if self.facebook_app is not None else self.app
