"""The OpenAPI document, shaped so that a client can be generated from it.

FastAPI's defaults are close; this module closes the gaps, once, for every route:

- **operationIds** are the route functions' names (``list_accounts``, ``get_token``), never the
  framework's ``get_token_v1_accounts__account_id__token_get``;
- **securitySchemes** name both ways to send an API key (``Authorization: Bearer`` and
  ``X-API-Key``), and every ``/v1`` operation requires one of them;
- **errors** are documented with the body the service really sends
  (``{"error": {"type", "message", "fix", …}}``, see :mod:`igtoken.service.errors`): the
  framework's ``HTTPValidationError`` for 422 is replaced, and every ``/v1`` operation lists
  401 (no key), 403 (capability or scope), 422 (bad input), 429 (rate limited) and 503 (storage
  down) with that body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

__all__ = ["ErrorDetail", "ErrorOut", "FieldError", "install_openapi", "operation_id"]

#: The security scheme names, as generated clients and the Swagger UI show them.
BEARER: Final = "bearerAuth"
API_KEY_HEADER: Final = "apiKeyAuth"


class FieldError(BaseModel):
    """One invalid input of a 422 answer."""

    field: str = Field(description="where: `path.account_id`, `query.limit`, `body.label`")
    message: str


class ErrorDetail(BaseModel):
    """What went wrong and what to do."""

    type: str = Field(description="a stable machine-readable kind: not_found, forbidden, rate_limited, …")
    message: str
    fix: str
    reauthorize_url: str | None = Field(
        default=None, description="409 needs_reauthorization: the link to send the account's owner"
    )
    fields: list[FieldError] | None = Field(default=None, description="422 validation_error: each bad input")


class ErrorOut(BaseModel):
    """Every error answer of the API."""

    error: ErrorDetail


_ERROR_REF: Final = {"$ref": "#/components/schemas/ErrorOut"}
_COMMON_V1_ERRORS: Final = {
    "401": "no, unknown or revoked API key",
    "403": "the key lacks this operation's capability, or is not scoped to the account",
    "422": "an input is invalid; `error.fields` lists each",
    "429": "rate limited (ours or Meta's); see Retry-After",
    "503": "the database is locked, damaged or unreachable; see Retry-After",
}


def operation_id(route: APIRoute) -> str:
    """The operationId of ``route``: its function's name (an explicit ``operation_id`` wins)."""
    return route.name


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": dict(_ERROR_REF)}}}


def shape(document: dict[str, Any]) -> dict[str, Any]:
    """Apply the rules above to a generated document (in place; returned for convenience)."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for model in (FieldError, ErrorDetail, ErrorOut):
        schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas[model.__name__].pop("$defs", None)
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "an igtoken API key (`igt_…`), as `Authorization: Bearer <key>`",
        },
        API_KEY_HEADER: {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "the same API key, in the `X-API-Key` header",
        },
    }
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if "422" in responses:
                responses["422"] = _error_response(_COMMON_V1_ERRORS["422"])
            if path.startswith("/v1/"):
                operation["security"] = [{BEARER: []}, {API_KEY_HEADER: []}]
                for status, description in _COMMON_V1_ERRORS.items():
                    if status != "422" or operation.get("parameters") or operation.get("requestBody"):
                        responses.setdefault(status, _error_response(description))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` build (once) the shaped document."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            app.openapi_schema = shape(document)
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


#: What :class:`fastapi.FastAPI` takes as ``generate_unique_id_function``.
UniqueId = Callable[[APIRoute], str]
