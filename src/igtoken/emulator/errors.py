"""Meta's two error envelopes, raised inside handlers and rendered by the dispatcher.

Graph style (graph.instagram.com, graph.facebook.com)::

    {"error": {"message", "type", "code", "error_subcode"?, "fbtrace_id"}}

Instagram style (api.instagram.com token and authorize errors)::

    {"error_type": "OAuthException", "code": 400, "error_message": "..."}
"""

from __future__ import annotations

import secrets
from typing import Any

CANNOT_PARSE = "Invalid OAuth access token - Cannot parse access token"
SESSION_INVALIDATED = (
    "Error validating access token: The session has been invalidated because the user changed their "
    "password or Facebook has changed the session for security reasons."
)
LOGGED_OUT = "Error validating access token: The session is invalid because the user logged out."
DATA_ACCESS_EXPIRED = (
    "The access token is invalid since the user hasn't engaged the app in longer than 90 days."
)
NO_ACTIVE_SESSION = "An active access token must be used to query information about the current user."


def fbtrace_id() -> str:
    """A random trace id in Meta's shape (base64url, 11 characters)."""
    return secrets.token_urlsafe(8)[:11]


class GraphError(Exception):
    """A Graph-style error; ``status`` None means "the default for this code" (400, or the 190 switch)."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        type_: str = "OAuthException",
        status: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.subcode = subcode
        self.type = type_
        self.status = status
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        """The JSON body Meta would send."""
        error: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error.update(self.extra)
        error["fbtrace_id"] = fbtrace_id()
        return {"error": error}


class InstagramError(Exception):
    """An api.instagram.com error: always HTTP 400 with the Instagram envelope."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        """The JSON body api.instagram.com sends."""
        return {"error_type": "OAuthException", "code": 400, "error_message": self.message}


class PageError(Exception):
    """An error Meta shows as an HTML page (authorize dialogs), not JSON."""

    def __init__(self, title: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.title = title
        self.message = message
        self.status = status


def unsupported_get(node: str, method: str = "get") -> GraphError:
    """The error Graph answers for an unknown node or edge."""
    return GraphError(
        100,
        f"Unsupported {method} request. Object with ID '{node}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33,
        type_="GraphMethodException",
    )
