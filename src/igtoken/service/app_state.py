"""What every route reaches through ``request.app.state.igtoken``: one object, typed."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from igtoken.core.secret import Secret
from igtoken.service.config import ServiceConfig
from igtoken.service.interfaces import ServiceDeps, SessionRevocations
from igtoken.service.metrics import ServiceMetrics
from igtoken.service.pages import Pages
from igtoken.service.ratelimit import TokenBucketLimiter
from igtoken.service.security import SessionCodec


@dataclass(slots=True)
class ServiceState:
    """The app's wiring: configuration, outside dependencies and the service's own parts."""

    config: ServiceConfig
    deps: ServiceDeps
    admin_password: Secret
    admin_password_generated: bool
    metrics: ServiceMetrics
    limiter: TokenBucketLimiter
    pages: Pages
    #: Where sign-outs are recorded (the vault when wired, else this process's memory).
    sessions: SessionRevocations
    #: Turns sessions into cookies and back.
    session_codec: SessionCodec
    #: Names of background tasks that stopped on their own; ``/readyz`` reports them.
    stopped_tasks: list[str] = field(default_factory=list)


def service_state(request: Request) -> ServiceState:
    """The :class:`ServiceState` of the app serving ``request``."""
    state = request.app.state.igtoken
    assert isinstance(state, ServiceState)
    return state
