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
    "DecryptionError",
    "DevelopmentModeError",
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
    "PermissionsDeclinedError",
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
    from igtoken.client.clients import AsyncClient, Client
    from igtoken.client.drive import run_async, run_sync
    from igtoken.client.retry import NO_RETRY, RetryPolicy
    from igtoken.core.config import AppCredentials, ClientConfig
    from igtoken.core.endpoints import DEFAULT_GRAPH_VERSION, Endpoints
    from igtoken.core.exceptions import (
        APIError,
        AuthorizationDenied,
        AuthorizationError,
        CallbackError,
        CallbackTimeout,
        ConfigurationError,
        ConflictError,
        DecryptionError,
        DevelopmentModeError,
        IGTokenError,
        InvalidGrantError,
        InvalidRequestError,
        InvalidSignature,
        MalformedSignedRequest,
        MissingKeyError,
        NeedsReauthorizationError,
        NotFoundError,
        PermissionDeniedError,
        PermissionsDeclinedError,
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
    from igtoken.core.lifecycle import can_refresh, ensure_refreshable, refreshable_from
    from igtoken.core.media import Media
    from igtoken.core.models import AccessToken, AccountType, FlowKind, LoginResult, Profile, TokenKind
    from igtoken.core.redact import redact_text, redact_url
    from igtoken.core.secret import Secret
    from igtoken.core.signed_request import parse_signed_request
    from igtoken.core.usage import BusinessUseCaseUsage, Usage, parse_usage
    from igtoken.facebook.appsecret_proof import app_access_token, appsecret_proof
    from igtoken.facebook.authorize import facebook_authorization_url
    from igtoken.facebook.models import (
        ConnectedPage,
        FacebookLoginResult,
        FacebookPage,
        FacebookPermissions,
        FacebookUser,
        GranularScope,
        TokenDebugError,
        TokenDebugInfo,
    )
    from igtoken.facebook.parse import facebook_error
    from igtoken.facebook.scopes import (
        DEFAULT_FACEBOOK_SCOPES,
        FACEBOOK_LOGIN_SCOPES,
        REFUSED_FACEBOOK_SCOPES,
        check_facebook_scopes,
        no_pages_hint,
    )
    from igtoken.instagram.authorize import (
        Callback,
        authorization_url,
        new_state,
        parse_callback,
        states_match,
    )
    from igtoken.instagram.flows import Flow
    from igtoken.instagram.parse import CodeExchangeResult, error_from_response
    from igtoken.instagram.scopes import (
        DEFAULT_SCOPES,
        INSTAGRAM_LOGIN_SCOPES,
        REFUSED_SCOPES,
        RefusedScope,
        check_scopes,
    )

_LAZY: dict[str, str] = {
    "APIError": "igtoken.core.exceptions",
    "AccessToken": "igtoken.core.models",
    "AccountType": "igtoken.core.models",
    "AppCredentials": "igtoken.core.config",
    "AsyncClient": "igtoken.client.clients",
    "AuthorizationDenied": "igtoken.core.exceptions",
    "DevelopmentModeError": "igtoken.core.exceptions",
    "PermissionsDeclinedError": "igtoken.core.exceptions",
    "AuthorizationError": "igtoken.core.exceptions",
    "BusinessUseCaseUsage": "igtoken.core.usage",
    "Callback": "igtoken.instagram.authorize",
    "CallbackError": "igtoken.core.exceptions",
    "CallbackTimeout": "igtoken.core.exceptions",
    "Client": "igtoken.client.clients",
    "ClientConfig": "igtoken.core.config",
    "CodeExchangeResult": "igtoken.instagram.parse",
    "ConfigurationError": "igtoken.core.exceptions",
    "ConflictError": "igtoken.core.exceptions",
    "ConnectedPage": "igtoken.facebook.models",
    "DEFAULT_FACEBOOK_SCOPES": "igtoken.facebook.scopes",
    "DEFAULT_GRAPH_VERSION": "igtoken.core.endpoints",
    "DEFAULT_SCOPES": "igtoken.instagram.scopes",
    "DecryptionError": "igtoken.core.exceptions",
    "Endpoints": "igtoken.core.endpoints",
    "FACEBOOK_LOGIN_SCOPES": "igtoken.facebook.scopes",
    "FacebookLoginResult": "igtoken.facebook.models",
    "FacebookPage": "igtoken.facebook.models",
    "FacebookPermissions": "igtoken.facebook.models",
    "FacebookUser": "igtoken.facebook.models",
    "Flow": "igtoken.instagram.flows",
    "FlowKind": "igtoken.core.models",
    "GranularScope": "igtoken.facebook.models",
    "IGTokenError": "igtoken.core.exceptions",
    "INSTAGRAM_LOGIN_SCOPES": "igtoken.instagram.scopes",
    "InvalidGrantError": "igtoken.core.exceptions",
    "InvalidRequestError": "igtoken.core.exceptions",
    "InvalidSignature": "igtoken.core.exceptions",
    "LoginResult": "igtoken.core.models",
    "MalformedSignedRequest": "igtoken.core.exceptions",
    "Media": "igtoken.core.media",
    "MissingKeyError": "igtoken.core.exceptions",
    "NO_RETRY": "igtoken.client.retry",
    "NeedsReauthorizationError": "igtoken.core.exceptions",
    "NotFoundError": "igtoken.core.exceptions",
    "PermissionDeniedError": "igtoken.core.exceptions",
    "PersonalAccountError": "igtoken.core.exceptions",
    "Profile": "igtoken.core.models",
    "REFUSED_FACEBOOK_SCOPES": "igtoken.facebook.scopes",
    "REFUSED_SCOPES": "igtoken.instagram.scopes",
    "RefreshError": "igtoken.core.exceptions",
    "RefusedScope": "igtoken.instagram.scopes",
    "RequestTimeout": "igtoken.core.exceptions",
    "RetryPolicy": "igtoken.client.retry",
    "ScopeError": "igtoken.core.exceptions",
    "Secret": "igtoken.core.secret",
    "SignedRequestError": "igtoken.core.exceptions",
    "StaleSignedRequest": "igtoken.core.exceptions",
    "StateMismatchError": "igtoken.core.exceptions",
    "StorageError": "igtoken.core.exceptions",
    "ThrottledError": "igtoken.core.exceptions",
    "TokenDebugError": "igtoken.facebook.models",
    "TokenDebugInfo": "igtoken.facebook.models",
    "TokenExpiredError": "igtoken.core.exceptions",
    "TokenKind": "igtoken.core.models",
    "TokenTooNewError": "igtoken.core.exceptions",
    "TransientError": "igtoken.core.exceptions",
    "TransportError": "igtoken.core.exceptions",
    "UnexpectedResponseError": "igtoken.core.exceptions",
    "UnsupportedAlgorithm": "igtoken.core.exceptions",
    "Usage": "igtoken.core.usage",
    "app_access_token": "igtoken.facebook.appsecret_proof",
    "appsecret_proof": "igtoken.facebook.appsecret_proof",
    "authorization_url": "igtoken.instagram.authorize",
    "can_refresh": "igtoken.core.lifecycle",
    "check_facebook_scopes": "igtoken.facebook.scopes",
    "check_scopes": "igtoken.instagram.scopes",
    "ensure_refreshable": "igtoken.core.lifecycle",
    "error_from_response": "igtoken.instagram.parse",
    "facebook_authorization_url": "igtoken.facebook.authorize",
    "facebook_error": "igtoken.facebook.parse",
    "new_state": "igtoken.instagram.authorize",
    "no_pages_hint": "igtoken.facebook.scopes",
    "parse_callback": "igtoken.instagram.authorize",
    "parse_signed_request": "igtoken.core.signed_request",
    "parse_usage": "igtoken.core.usage",
    "redact_text": "igtoken.core.redact",
    "redact_url": "igtoken.core.redact",
    "refreshable_from": "igtoken.core.lifecycle",
    "run_async": "igtoken.client.drive",
    "run_sync": "igtoken.client.drive",
    "states_match": "igtoken.instagram.authorize",
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
