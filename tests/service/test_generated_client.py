"""A client generated from the OpenAPI document (openapi-python-client) works against the service.

The document names its operations, declares both API-key headers, and documents each error with
the body the service really sends; the generated client lists accounts and reads a token over the
in-process sandbox service, with either header.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from igtoken.service.openapi import ErrorOut

from .test_wired_service import connect

pytest.importorskip("openapi_python_client")

PACKAGE = "igtoken_generated_client"


async def _spec(wired) -> dict:
    answer = await wired.service.get("/api/openapi.json")
    assert answer.status_code == 200
    return answer.json()


async def test_the_spec_names_operations_and_declares_both_key_headers(wired):
    """No framework-default operationId; bearer and X-API-Key schemes; /v1 operations need one."""
    spec = await _spec(wired)
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert {"list_accounts", "get_account", "get_token", "refresh_token"} <= set(ids)
    assert not [i for i in ids if "_v1_" in i or (i.endswith(("_get", "_post")) and "graph" not in i)]
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert (schemes["apiKeyAuth"]["in"], schemes["apiKeyAuth"]["name"]) == ("header", "X-API-Key")
    for path, ops in spec["paths"].items():
        for op in ops.values():
            if path.startswith("/v1/"):
                assert op["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}]
                assert {"401", "429", "503"} <= set(op["responses"])
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (path, status)
    assert "HTTPValidationError" not in spec["components"]["schemas"]


async def test_error_answers_have_the_documented_body(wired):
    """401, 404 and 422 answers parse as the documented ErrorOut (422 lists its fields)."""
    headers = {"authorization": f"Bearer {wired.key}", "accept": "application/json"}
    no_key = await wired.service.get("/v1/accounts", headers={"accept": "application/json"})
    missing = await wired.service.get("/v1/accounts/nope/token", headers=headers)
    invalid = await wired.service.get("/v1/accounts/bad%20id!/token", headers=headers)
    assert (no_key.status_code, missing.status_code, invalid.status_code) == (401, 404, 422)
    for answer in (no_key, missing, invalid):
        ErrorOut.model_validate(answer.json())
    fields = ErrorOut.model_validate(invalid.json()).error.fields
    assert fields and fields[0].field == "path.account_id"


@pytest.fixture
def generated(tmp_path: Path, wired) -> Iterator[object]:
    spec_file = tmp_path / "openapi.json"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"post_hooks": [], "package_name_override": PACKAGE}))

    async def write_spec() -> None:
        spec_file.write_text(json.dumps(await _spec(wired)))

    yield write_spec, tmp_path, spec_file, config
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    if str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def _generate(tmp_path: Path, spec_file: Path, config: Path) -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "openapi_python_client", "generate",
            "--path", str(spec_file), "--config", str(config),
            "--meta", "none", "--output-path", str(tmp_path / PACKAGE),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout, done.stdout


async def test_a_generated_client_lists_accounts_and_reads_a_token(wired, generated):
    """The generated client, over the in-process service, lists accounts, reads the token and
    creates a connect link, with the Bearer header and with X-API-Key; a 404 comes back parsed as
    the documented error."""
    write_spec, tmp_path, spec_file, config = generated
    account_id = await connect(wired)
    await write_spec()
    _generate(tmp_path, spec_file, config)
    sys.path.insert(0, str(tmp_path))
    client_module = importlib.import_module(PACKAGE)
    list_accounts = importlib.import_module(f"{PACKAGE}.api.tokens.list_accounts")
    get_token = importlib.import_module(f"{PACKAGE}.api.tokens.get_token")
    create_link = importlib.import_module(f"{PACKAGE}.api.onboarding.create_connect_link")
    link_in = importlib.import_module(f"{PACKAGE}.models").ConnectLinkIn
    transport = wired.service._transport  # the in-process service, as the wired fixture reaches it
    base = str(wired.service.base_url)
    bearer = client_module.AuthenticatedClient(
        base_url=base, token=wired.key, httpx_args={"transport": transport}
    )
    header = client_module.AuthenticatedClient(
        base_url=base,
        token=wired.key,
        prefix="",
        auth_header_name="X-API-Key",
        httpx_args={"transport": transport},
    )
    for client in (bearer, header):
        async with client:
            accounts = await list_accounts.asyncio(client=client)
            assert [a.id for a in accounts.accounts] == [account_id]
            token = await get_token.asyncio(account_id, client=client)
            assert token.account_id == account_id and token.access_token.startswith("IG")
            assert token.access_token == wired.vault.current_token(account_id).token.value.reveal()
            missing = await get_token.asyncio_detailed("no-such-account", client=client)
            assert missing.status_code == 404
            assert missing.parsed.error.type_ == "not_found"  # the generator renames `type`
            link = await create_link.asyncio(client=client, body=link_in(app="demo", external_id="cust-9"))
            assert link.url.startswith("http://service.test/connect/") and link.external_id == "cust-9"
