"""igtoken: get and keep Instagram access tokens.

Every public name is imported on first use (PEP 562), so ``import igtoken`` costs
next to nothing: ``igtoken --help`` and ``igtoken token`` start fast, and the names
that need httpx or stamina (clients, drivers, flows, parsers, retry policy) load
those only when used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    "DatabaseCorruptError",
    "DatabaseLockedError",
    "DatabaseUnavailableError",
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
    "canonical_signed_request",
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
    from igtoken._appsecret_proof import app_access_token, appsecret_proof
    from igtoken._authorize import Callback, authorization_url, new_state, parse_callback, states_match
    from igtoken._client import AsyncClient, Client
    from igtoken._config import AppCredentials, ClientConfig
    from igtoken._drive import run_async, run_sync
    from igtoken._endpoints import DEFAULT_GRAPH_VERSION, Endpoints
    from igtoken._exceptions import (
        APIError,
        AuthorizationDenied,
        AuthorizationError,
        CallbackError,
        CallbackTimeout,
        ConfigurationError,
        ConflictError,
        DatabaseCorruptError,
        DatabaseLockedError,
        DatabaseUnavailableError,
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
    from igtoken._fb_parse import facebook_error
    from igtoken._fb_scopes import (
        DEFAULT_FACEBOOK_SCOPES,
        FACEBOOK_LOGIN_SCOPES,
        REFUSED_FACEBOOK_SCOPES,
        check_facebook_scopes,
        no_pages_hint,
    )
    from igtoken._flows import Flow
    from igtoken._lifecycle import can_refresh, ensure_refreshable, refreshable_from
    from igtoken._media import Media
    from igtoken._models import AccessToken, AccountType, FlowKind, LoginResult, Profile, TokenKind
    from igtoken._parse import CodeExchangeResult, error_from_response
    from igtoken._redact import redact_text, redact_url
    from igtoken._retry import NO_RETRY, RetryPolicy
    from igtoken._scopes import (
        DEFAULT_SCOPES,
        INSTAGRAM_LOGIN_SCOPES,
        REFUSED_SCOPES,
        RefusedScope,
        check_scopes,
    )
    from igtoken._secret import Secret
    from igtoken._signed_request import canonical_signed_request, parse_signed_request
    from igtoken._usage import BusinessUseCaseUsage, Usage, parse_usage

_LAZY: dict[str, str] = {
    "APIError": "igtoken._exceptions",
    "AccessToken": "igtoken._models",
    "AccountType": "igtoken._models",
    "AppCredentials": "igtoken._config",
    "AsyncClient": "igtoken._client",
    "AuthorizationDenied": "igtoken._exceptions",
    "AuthorizationError": "igtoken._exceptions",
    "BusinessUseCaseUsage": "igtoken._usage",
    "Callback": "igtoken._authorize",
    "CallbackError": "igtoken._exceptions",
    "CallbackTimeout": "igtoken._exceptions",
    "Client": "igtoken._client",
    "ClientConfig": "igtoken._config",
    "CodeExchangeResult": "igtoken._parse",
    "ConfigurationError": "igtoken._exceptions",
    "ConflictError": "igtoken._exceptions",
    "ConnectedPage": "igtoken._fb_models",
    "DEFAULT_FACEBOOK_SCOPES": "igtoken._fb_scopes",
    "DEFAULT_GRAPH_VERSION": "igtoken._endpoints",
    "DEFAULT_SCOPES": "igtoken._scopes",
    "DatabaseCorruptError": "igtoken._exceptions",
    "DatabaseLockedError": "igtoken._exceptions",
    "DatabaseUnavailableError": "igtoken._exceptions",
    "DecryptionError": "igtoken._exceptions",
    "Endpoints": "igtoken._endpoints",
    "FACEBOOK_LOGIN_SCOPES": "igtoken._fb_scopes",
    "FacebookLoginResult": "igtoken._fb_models",
    "FacebookPage": "igtoken._fb_models",
    "FacebookPermissions": "igtoken._fb_models",
    "FacebookUser": "igtoken._fb_models",
    "Flow": "igtoken._flows",
    "FlowKind": "igtoken._models",
    "GranularScope": "igtoken._fb_models",
    "IGTokenError": "igtoken._exceptions",
    "INSTAGRAM_LOGIN_SCOPES": "igtoken._scopes",
    "InvalidGrantError": "igtoken._exceptions",
    "InvalidRequestError": "igtoken._exceptions",
    "InvalidSignature": "igtoken._exceptions",
    "LoginResult": "igtoken._models",
    "MalformedSignedRequest": "igtoken._exceptions",
    "Media": "igtoken._media",
    "MissingKeyError": "igtoken._exceptions",
    "NO_RETRY": "igtoken._retry",
    "NeedsReauthorizationError": "igtoken._exceptions",
    "NotFoundError": "igtoken._exceptions",
    "PermissionDeniedError": "igtoken._exceptions",
    "PersonalAccountError": "igtoken._exceptions",
    "Profile": "igtoken._models",
    "REFUSED_FACEBOOK_SCOPES": "igtoken._fb_scopes",
    "REFUSED_SCOPES": "igtoken._scopes",
    "RefreshError": "igtoken._exceptions",
    "RefusedScope": "igtoken._scopes",
    "RequestTimeout": "igtoken._exceptions",
    "RetryPolicy": "igtoken._retry",
    "ScopeError": "igtoken._exceptions",
    "Secret": "igtoken._secret",
    "SignedRequestError": "igtoken._exceptions",
    "StaleSignedRequest": "igtoken._exceptions",
    "StateMismatchError": "igtoken._exceptions",
    "StorageError": "igtoken._exceptions",
    "ThrottledError": "igtoken._exceptions",
    "TokenDebugError": "igtoken._fb_models",
    "TokenDebugInfo": "igtoken._fb_models",
    "TokenExpiredError": "igtoken._exceptions",
    "TokenKind": "igtoken._models",
    "TokenTooNewError": "igtoken._exceptions",
    "TransientError": "igtoken._exceptions",
    "TransportError": "igtoken._exceptions",
    "UnexpectedResponseError": "igtoken._exceptions",
    "UnsupportedAlgorithm": "igtoken._exceptions",
    "Usage": "igtoken._usage",
    "app_access_token": "igtoken._appsecret_proof",
    "appsecret_proof": "igtoken._appsecret_proof",
    "authorization_url": "igtoken._authorize",
    "can_refresh": "igtoken._lifecycle",
    "check_facebook_scopes": "igtoken._fb_scopes",
    "check_scopes": "igtoken._scopes",
    "ensure_refreshable": "igtoken._lifecycle",
    "error_from_response": "igtoken._parse",
    "facebook_authorization_url": "igtoken._fb_authorize",
    "facebook_error": "igtoken._fb_parse",
    "new_state": "igtoken._authorize",
    "no_pages_hint": "igtoken._fb_scopes",
    "parse_callback": "igtoken._authorize",
    "canonical_signed_request": "igtoken._signed_request",
    "parse_signed_request": "igtoken._signed_request",
    "parse_usage": "igtoken._usage",
    "redact_text": "igtoken._redact",
    "redact_url": "igtoken._redact",
    "refreshable_from": "igtoken._lifecycle",
    "run_async": "igtoken._drive",
    "run_sync": "igtoken._drive",
    "states_match": "igtoken._authorize",
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
