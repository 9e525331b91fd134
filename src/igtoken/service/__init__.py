"""The igtoken service: a FastAPI app with probes, metrics, Meta webhooks and a dashboard.

``create_app(config, deps=...)`` builds it; ``serve(config, host, port)`` runs it.
The vault, the client and the refresh engine plug in through the protocols in
:mod:`igtoken.service.interfaces`.
"""

from __future__ import annotations

from igtoken.service.app import create_app, make_server, serve
from igtoken.service.app_state import ServiceState
from igtoken.service.config import RateLimit, RateLimits, ServiceConfig
from igtoken.service.interfaces import (
    ApiKeyPrincipal,
    ApiKeyVerifier,
    DashboardActions,
    DashboardData,
    ReadinessCheck,
    ServiceDeps,
    WebhookEvent,
)
from igtoken.vault.stats import Inventory

__all__ = [
    "ApiKeyPrincipal",
    "ApiKeyVerifier",
    "DashboardActions",
    "DashboardData",
    "Inventory",
    "RateLimit",
    "RateLimits",
    "ReadinessCheck",
    "ServiceConfig",
    "ServiceDeps",
    "ServiceState",
    "WebhookEvent",
    "create_app",
    "make_server",
    "serve",
]
