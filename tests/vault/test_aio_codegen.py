"""``vault/aio.py`` is generated: it must be exactly what its generator writes from ``Vault`` now."""

from __future__ import annotations

import inspect

from igtoken.vault import AsyncVault, Vault
from igtoken.vault.aio_codegen import COMMAND, SUB_REPOSITORIES, TARGET, generate, main


def test_aio_is_what_the_generator_writes() -> None:
    assert TARGET.read_text(encoding="utf-8") == generate(), (
        f"{TARGET} is out of date with the Vault class; regenerate it with: {COMMAND}"
    )
    assert main(["--check"]) == 0


def test_the_table_names_every_companion_repository(vault: Vault) -> None:
    table = dict(SUB_REPOSITORIES)
    companions = {
        name: type(value)
        for name, value in vars(vault).items()
        if not name.startswith("_") and type(value) in table.values()
    }
    assert companions == table
    public = {name for name in vars(vault) if not name.startswith("_")}
    assert public - set(table) == {"keyring"}, "a new attribute of VaultStore: add it to SUB_REPOSITORIES"


async def test_every_method_is_awaited_with_its_docstring(vault: Vault) -> None:
    avault = AsyncVault(vault)
    assert avault.sync is vault
    for name, method in inspect.getmembers(Vault, inspect.isfunction):
        if name.startswith("_") or name == "close":
            continue
        if "ContextManager" in str(inspect.get_annotations(method).get("return", "")):
            # A block for the caller's own thread (Vault.nonblocking) is not awaitable.
            assert not hasattr(avault, name), name
            continue
        wrapper = getattr(avault, name)
        assert inspect.iscoroutinefunction(wrapper), name
        assert wrapper.__doc__ == method.__doc__, name
    for attr, cls in SUB_REPOSITORIES:
        for name, _ in inspect.getmembers(cls, inspect.isfunction):
            if not name.startswith("_"):
                assert inspect.iscoroutinefunction(getattr(getattr(avault, attr), name)), f"{attr}.{name}"
    assert await avault.list_apps() == vault.list_apps()
    await avault.close()
