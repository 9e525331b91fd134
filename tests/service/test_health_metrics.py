"""Probes (/healthz, /readyz), background tasks, and /metrics."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from igtoken.service import Inventory, ReadinessCheck
from igtoken.service.metrics import EXPIRY_BUCKETS

from .conftest import client_for, sign_in


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_healthz_answers_ok(client):
    """Liveness needs nothing but the process."""
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_runs_every_check_and_names_the_failures(build_app):
    """A failing or hanging check makes /readyz 503 and says which, without the exception's message."""

    async def ok() -> None:
        return None

    async def db_down() -> None:
        raise ConnectionError("could not connect to postgresql://user:pw@db/x")

    async def hangs() -> None:
        await asyncio.sleep(10)

    app = build_app(
        readiness_checks=[
            ReadinessCheck("keys", ok),
            ReadinessCheck("database", db_down),
            ReadinessCheck("meta", hangs, timeout=0.05),
        ]
    )
    async with client_for(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["keys"] == "ok"
    assert body["failed"] == {"database": "failed (ConnectionError)", "meta": "timed out after 0.05 s"}
    assert "pw@db" not in response.text


async def test_readyz_is_200_when_all_checks_pass(build_app):
    """With every check passing (or none registered) the service is ready."""

    async def ok() -> None:
        return None

    async with client_for(build_app(readiness_checks=[ReadinessCheck("database", ok)])) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200 and response.json()["failed"] == {}


async def test_background_tasks_run_for_the_lifespan_and_a_crash_makes_readyz_fail(build_app):
    """Registered tasks start with the app and are cancelled at shutdown; one that dies flips /readyz."""
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def worker() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def broken() -> None:
        raise RuntimeError("worker bug")

    app = build_app(background_tasks=[worker, broken])
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(started.wait(), 1)
        await asyncio.sleep(0)
        async with client_for(app) as client:
            response = await client.get("/readyz")
        assert response.status_code == 503
        assert list(response.json()["failed"]) == [f"task:{broken.__qualname__}"]
    assert cancelled.is_set()


async def test_metrics_use_route_templates_and_count_outcomes(build_app):
    """/metrics exposes request counts by route template (never raw ids) and the domain counters."""
    app = build_app()
    state = app.state.igtoken
    state.metrics.record_refresh("refreshed")
    state.metrics.record_refresh("refreshed")
    state.metrics.record_refresh("needs_reauth")
    state.metrics.record_token_read()
    state.metrics.set_meta_usage("app1", "acc9", "app_call_count", 42.0)
    async with client_for(app) as client:
        await sign_in(client)
        assert (await client.get("/dashboard/accounts/acc1")).status_code == 200
        await client.get("/no/such/page")
        text = (await client.get("/metrics")).text
    samples = _samples(text)
    route = "/dashboard/accounts/{account_id}"
    assert (
        samples[("igtoken_http_requests_total", (("method", "GET"), ("route", route), ("status", "200")))]
        == 1
    )
    assert (
        "igtoken_http_requests_total",
        (("method", "GET"), ("route", "<unmatched>"), ("status", "404")),
    ) in samples
    assert "acc1" not in text
    assert samples[("igtoken_refreshes_total", (("outcome", "refreshed"),))] == 2
    assert samples[("igtoken_refreshes_total", (("outcome", "needs_reauth"),))] == 1
    assert samples[("igtoken_token_reads_total", (("via", "api"),))] == 1
    labels = (("account_id", "acc9"), ("app_id", "app1"), ("kind", "app_call_count"))
    assert samples[("igtoken_meta_usage_ratio", labels)] == 0.42
    assert ("igtoken_http_request_duration_seconds_count", (("method", "GET"), ("route", route))) in samples


async def test_inventory_gauges_are_read_at_scrape_time(build_app):
    """Accounts by status and seconds to expiry come from the inventory source when scraped."""
    day = 86400.0
    inventory = Inventory.from_seconds(
        {"active": 3, "needs_reauth": 1}, [0.5 * day, 2 * day, 20 * day, 59 * day], EXPIRY_BUCKETS
    )
    async with client_for(build_app(inventory=lambda: inventory)) as client:
        samples = _samples((await client.get("/metrics")).text)
    assert samples[("igtoken_inventory_up", ())] == 1
    assert samples[("igtoken_accounts", (("status", "active"),))] == 3
    assert samples[("igtoken_accounts", (("status", "needs_reauth"),))] == 1
    assert samples[("igtoken_token_expiry_seconds_bucket", (("le", "86400"),))] == 1
    assert samples[("igtoken_token_expiry_seconds_bucket", (("le", "259200"),))] == 2
    assert samples[("igtoken_token_expiry_seconds_bucket", (("le", "2.592e+06"),))] == 3
    assert samples[("igtoken_token_expiry_seconds_bucket", (("le", "+Inf"),))] == 4
    assert samples[("igtoken_token_expiry_seconds_gsum", ())] == 81.5 * day


async def test_a_failing_inventory_does_not_break_the_scrape(build_app):
    """If the inventory cannot be read, /metrics still answers and says so with inventory_up 0."""

    def broken() -> Inventory:
        raise OSError("database is locked")

    async with client_for(build_app(inventory=broken)) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert _samples(response.text)[("igtoken_inventory_up", ())] == 0


async def test_each_app_has_its_own_registry(build_app):
    """Two apps in one process do not share (or collide on) metrics."""
    first, second = build_app(), build_app()
    first.state.igtoken.metrics.record_token_read()
    async with client_for(second) as client:
        samples = _samples((await client.get("/metrics")).text)
    assert ("igtoken_token_reads_total", (("via", "api"),)) not in samples


async def test_openapi_schema_builds_and_lists_the_program_endpoints(client):
    """The OpenAPI document (for clients and schemathesis) builds and hides the dashboard's HTML routes."""
    schema = (await client.get("/api/openapi.json")).json()
    assert {"/healthz", "/readyz", "/metrics", "/meta/webhooks"} <= set(schema["paths"])
    assert not any(path.startswith("/dashboard") or path == "/signin" for path in schema["paths"])


async def test_a_metrics_token_keeps_the_scrape_to_who_has_it(build_app):
    """With IGTOKEN_METRICS_TOKEN set, /metrics answers 401 without it and the figures with it."""
    import dataclasses

    from igtoken.core.secret import Secret

    from .conftest import make_config

    app = build_app(dataclasses.replace(make_config(), metrics_token=Secret("scrape-me-please")))
    async with client_for(app) as c:
        assert (await c.get("/metrics")).status_code == 401
        wrong = await c.get("/metrics", headers={"Authorization": "Bearer not-it"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        right = await c.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
        assert right.status_code == 200 and "igtoken_" in right.text


async def test_the_api_schema_and_docs_can_be_turned_off(build_app):
    """IGTOKEN_API_DOCS=0: no /api/openapi.json, no /api/docs, even in sandbox mode."""
    import dataclasses

    from .conftest import make_config

    on = build_app(dataclasses.replace(make_config(), sandbox=True))
    off = build_app(dataclasses.replace(make_config(), sandbox=True, api_docs=False))
    async with client_for(on) as c:
        assert (await c.get("/api/openapi.json")).status_code == 200
        assert (await c.get("/api/docs")).status_code == 200
    async with client_for(off) as c:
        assert (await c.get("/api/openapi.json")).status_code == 404
        assert (await c.get("/api/docs")).status_code == 404
