"""igtoken: get and keep Instagram access tokens.

Names that need httpx or stamina (the clients, drivers, flows, parsers, retry
policy) are imported on first use, so ``import igtoken`` and ``igtoken --help``
stay fast; everything else is imported here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from igtoken._appsecret_proof import app_access_token, appsecret_proof
from igtoken._authorize import Callback, authorization_url, new_state, parse_callback, states_match
from igtoken._config import AppCredentials, ClientConfig
from igtoken._endpoints import DEFAULT_GRAPH_VERSION, Endpoints
from igtoken._exceptions import (
    APIError,
    AuthorizationDenied,
    AuthorizationError,
    CallbackError,
    CallbackTimeout,
    ConfigurationError,
    ConflictError,
    DecryptionError,
    IGTokenError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidSignature,
    MalformedSignedRequest,
    MissingKeyError,
    NeedsReauthorizationError,
    NotFoundError,
    PermissionDeniedError,
    PersonalAccountError,
    RefreshError,
    RequestTimeout,
    ScopeError,
    SignedRequestError,
    StaleSignedRequest,
    StateMismatchError,
    StorageError,
    ThrottledError,
    TokenExpiredError,
    TokenTooNewError,
    TransientError,
    TransportError,
    UnexpectedResponseError,
    UnsupportedAlgorithm,
)
from igtoken._fb_authorize import facebook_authorization_url
from igtoken._fb_models import (
    ConnectedPage,
    FacebookLoginResult,
    FacebookPage,
    FacebookPermissions,
    FacebookUser,
    GranularScope,
    TokenDebugError,
    TokenDebugInfo,
)
from igtoken._fb_scopes import (
    DEFAULT_FACEBOOK_SCOPES,
    FACEBOOK_LOGIN_SCOPES,
    REFUSED_FACEBOOK_SCOPES,
    check_facebook_scopes,
    no_pages_hint,
)
from igtoken._lifecycle import can_refresh, ensure_refreshable, refreshable_from
from igtoken._media import Media
from igtoken._models import AccessToken, AccountType, FlowKind, LoginResult, Profile, TokenKind
from igtoken._scopes import (
    DEFAULT_SCOPES,
    INSTAGRAM_LOGIN_SCOPES,
    REFUSED_SCOPES,
    RefusedScope,
    check_scopes,
)
from igtoken._secret import Secret
from igtoken._signed_request import parse_signed_request
from igtoken._usage import BusinessUseCaseUsage, Usage, parse_usage

__all__ = [
    "DEFAULT_FACEBOOK_SCOPES",
    "DEFAULT_GRAPH_VERSION",
    "DEFAULT_SCOPES",
    "FACEBOOK_LOGIN_SCOPES",
    "INSTAGRAM_LOGIN_SCOPES",
    "NO_RETRY",
    "REFUSED_FACEBOOK_SCOPES",
    "REFUSED_SCOPES",
    "APIError",
    "AccessToken",
    "AccountType",
    "AppCredentials",
    "AsyncClient",
    "AuthorizationDenied",
    "AuthorizationError",
    "BusinessUseCaseUsage",
    "Callback",
    "CallbackError",
    "CallbackTimeout",
    "Client",
    "ClientConfig",
    "CodeExchangeResult",
    "ConfigurationError",
    "ConflictError",
    "ConnectedPage",
    "DecryptionError",
    "Endpoints",
    "FacebookLoginResult",
    "FacebookPage",
    "FacebookPermissions",
    "FacebookUser",
    "Flow",
    "FlowKind",
    "GranularScope",
    "IGTokenError",
    "InvalidGrantError",
    "InvalidRequestError",
    "InvalidSignature",
    "LoginResult",
    "MalformedSignedRequest",
    "Media",
    "MissingKeyError",
    "NeedsReauthorizationError",
    "NotFoundError",
    "PermissionDeniedError",
    "PersonalAccountError",
    "Profile",
    "RefreshError",
    "RefusedScope",
    "RequestTimeout",
    "RetryPolicy",
    "ScopeError",
    "Secret",
    "SignedRequestError",
    "StaleSignedRequest",
    "StateMismatchError",
    "StorageError",
    "ThrottledError",
    "TokenDebugError",
    "TokenDebugInfo",
    "TokenExpiredError",
    "TokenKind",
    "TokenTooNewError",
    "TransientError",
    "TransportError",
    "UnexpectedResponseError",
    "UnsupportedAlgorithm",
    "Usage",
    "app_access_token",
    "appsecret_proof",
    "authorization_url",
    "can_refresh",
    "check_facebook_scopes",
    "check_scopes",
    "ensure_refreshable",
    "error_from_response",
    "facebook_authorization_url",
    "facebook_error",
    "new_state",
    "no_pages_hint",
    "parse_callback",
    "parse_signed_request",
    "parse_usage",
    "redact_text",
    "redact_url",
    "refreshable_from",
    "run_async",
    "run_sync",
    "states_match",
]
__version__ = "0.1.0.dev0"

if TYPE_CHECKING:
    from igtoken._client import AsyncClient, Client
    from igtoken._drive import run_async, run_sync
    from igtoken._fb_parse import facebook_error
    from igtoken._flows import Flow
    from igtoken._parse import CodeExchangeResult, error_from_response
    from igtoken._redact import redact_text, redact_url
    from igtoken._retry import NO_RETRY, RetryPolicy

_LAZY: dict[str, str] = {
    "AsyncClient": "igtoken._client",
    "Client": "igtoken._client",
    "CodeExchangeResult": "igtoken._parse",
    "Flow": "igtoken._flows",
    "NO_RETRY": "igtoken._retry",
    "RetryPolicy": "igtoken._retry",
    "error_from_response": "igtoken._parse",
    "facebook_error": "igtoken._fb_parse",
    "redact_text": "igtoken._redact",
    "redact_url": "igtoken._redact",
    "run_async": "igtoken._drive",
    "run_sync": "igtoken._drive",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'igtoken' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
