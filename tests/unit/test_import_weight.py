"""The library stays a library: ``import igtoken`` and a working ``Client`` load no web framework or ORM.

Each check runs in a fresh interpreter, because this test process has long since imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

#: Top-level modules that belong to the service, the emulator, the vault or the test tools.
FORBIDDEN = ("fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn", "jinja2", "psycopg", "pytest")

_CLIENT_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    from datetime import UTC, datetime

    import httpx
    import igtoken

    def answer(request):
        return httpx.Response(
            200, json={"access_token": "IGAAlong", "token_type": "bearer", "expires_in": 5183944}
        )

    config = igtoken.ClientConfig(
        app=igtoken.AppCredentials("1234567890", igtoken.Secret("s3cret"), "https://example.com/cb")
    )
    now = datetime(2026, 3, 1, tzinfo=UTC)
    with igtoken.Client(config, transport=httpx.MockTransport(answer)) as client:
        client.authorization_url(state="xyz")
        sync_token = client.exchange_long_lived(igtoken.Secret("IGAAshort"), now=now)

    async def run_async():
        async with igtoken.AsyncClient(config, transport=httpx.MockTransport(answer)) as client:
            return await client.exchange_long_lived(igtoken.Secret("IGAAshort"), now=now)

    async_token = asyncio.run(run_async())
    assert sync_token.expires_at == async_token.expires_at
    print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
    """
)


def _loaded(script: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_import_igtoken_loads_no_framework() -> None:
    """``import igtoken`` alone loads none of the heavy optional parts."""
    loaded = _loaded(
        "import json, sys\nimport igtoken\nprint(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))"
    )
    assert loaded.isdisjoint(FORBIDDEN), sorted(loaded & set(FORBIDDEN))


def test_using_client_loads_no_framework_or_orm() -> None:
    """A sync and an async Client exchange a token (mock transport) without a web framework or ORM."""
    loaded = _loaded(_CLIENT_SCRIPT)
    assert "httpx" in loaded  # the check would be vacuous if the client never ran
    assert loaded.isdisjoint(FORBIDDEN), sorted(loaded & set(FORBIDDEN))


def test_base_install_modules_import_no_extra() -> None:
    """The CLI, runtime, vault, refresh worker, emulator and test helpers import nothing from an extra.

    (The dev install has every extra, so this catches a top-level import that a plain
    ``pip install igtoken`` would fail on; ``.ci/smoke`` runs the commands from a real base install.)
    """
    modules = (
        "igtoken.cli",
        "igtoken.runtime",
        "igtoken.vault",
        "igtoken.vault.migrate",
        "igtoken.refresh.wiring",
        "igtoken.refresh.worker",
        "igtoken.notify",
        "igtoken.emulator",
        "igtoken.testing",
    )
    loaded = _loaded(
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))"
    )
    extras = {"fastapi", "jinja2", "prometheus_client", "psycopg", "pytest", "pytest_asyncio"}
    assert loaded.isdisjoint(extras), sorted(loaded & extras)
