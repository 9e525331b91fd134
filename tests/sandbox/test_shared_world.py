"""The sandbox world is one world for every process: real files, real subprocesses, real kills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from igtoken.emulator import demo
from igtoken.sandbox import SandboxEmulator
from igtoken.testing import emulator_sync_client

ME = "/graph.instagram.com/me?fields=username"


def _mint(sandbox: SandboxEmulator, username: str = "demo_business") -> str:
    with emulator_sync_client(sandbox.app()) as http:
        answer = http.post("/_emulator/tokens", json={"app_id": demo.DEMO_IG_APP_ID, "username": username})
        answer.raise_for_status()
        return str(answer.json()["access_token"])


def _me(sandbox: SandboxEmulator, token: str) -> int:
    with emulator_sync_client(sandbox.app()) as http:
        return http.get(ME, params={"access_token": token}).status_code


def _run(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_token_minted_by_one_opener_is_accepted_by_another_at_once(tmp_path: Path) -> None:
    state = tmp_path / "emulator.json"
    first, second = SandboxEmulator(state), SandboxEmulator(state)
    assert _me(second, "IGAAnot-a-token") == 400  # second has loaded the world before the mint
    token = _mint(first)
    assert _me(second, token) == 200


def test_direct_changes_in_a_transaction_are_seen_by_the_other_opener(tmp_path: Path) -> None:
    state = tmp_path / "emulator.json"
    first, second = SandboxEmulator(state), SandboxEmulator(state)
    with first.transaction() as world:
        world.update_app(demo.DEMO_IG_APP_ID, add_redirect_uris=["https://shop.example/cb"])
    with second.transaction() as world:
        assert "https://shop.example/cb" in world.find_app(demo.DEMO_IG_APP_ID).redirect_uris


def test_the_clock_is_saved_as_an_offset_from_real_time(tmp_path: Path) -> None:
    state = tmp_path / "emulator.json"
    first = SandboxEmulator(state)
    with emulator_sync_client(first.app()) as http:
        http.post("/_emulator/clock/advance", json={"days": 8}).raise_for_status()
    saved = json.loads(state.read_text())
    assert saved["version"] == 2
    assert saved["clock"]["frozen"] is False
    assert saved["clock"]["offset"] == pytest.approx(8 * 86400, abs=5)
    second = SandboxEmulator(state)
    assert second.world.clock.timestamp() - time.time() == pytest.approx(8 * 86400, abs=5)


def test_a_version_1_state_file_restarts_at_real_time_without_stale_callbacks(tmp_path: Path) -> None:
    state = tmp_path / "emulator.json"
    with SandboxEmulator(state).transaction() as world:
        world.update_app(demo.DEMO_IG_APP_ID, add_redirect_uris=["http://127.0.0.1:8123/oauth/callback"])
        old = world.to_state()
    old["version"], old["clock"] = 1, time.time() - 30 * 86400  # what older igtoken wrote
    state.write_text(json.dumps(old))
    world = SandboxEmulator(state).world
    assert abs(world.clock.timestamp() - time.time()) < 5
    assert list(world.find_app(demo.DEMO_IG_APP_ID).redirect_uris) == list(demo.DEMO_REDIRECT_URIS)


def test_concurrent_writer_processes_lose_nothing(tmp_path: Path) -> None:
    """Four processes mint 15 tokens each through the in-process emulator; all 60 are there at the end."""
    state = tmp_path / "emulator.json"
    SandboxEmulator(state)  # created once, as the first command of a user would
    code = """
        import sys
        from pathlib import Path
        from igtoken.emulator import demo
        from igtoken.sandbox import SandboxEmulator
        from igtoken.testing import emulator_sync_client
        sandbox = SandboxEmulator(Path(sys.argv[1]))
        with emulator_sync_client(sandbox.app()) as http:
            for _ in range(15):
                body = {"app_id": demo.DEMO_IG_APP_ID, "username": "demo_business"}
                r = http.post("/_emulator/tokens", json=body)
                r.raise_for_status()
                print(r.json()["access_token"])
    """
    procs = [_run(code, str(state)) for _ in range(4)]
    minted: list[str] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        minted += out.split()
    assert len(set(minted)) == 60
    saved = {t["access_token"] for t in json.loads(state.read_text())["tokens"]}
    assert set(minted) <= saved
    reader = SandboxEmulator(state)
    assert all(_me(reader, token) == 200 for token in minted[::7])


def test_a_process_killed_inside_a_transaction_blocks_no_one_and_leaves_the_file_whole(
    tmp_path: Path,
) -> None:
    state = tmp_path / "emulator.json"
    before = _mint(SandboxEmulator(state))
    code = """
        import sys, time
        from pathlib import Path
        from igtoken.sandbox import SandboxEmulator
        sandbox = SandboxEmulator(Path(sys.argv[1]))
        sandbox.shared.begin()
        sandbox.world.touch()
        print("holding", flush=True)
        time.sleep(60)
    """
    proc = _run(code, str(state))
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.communicate()
    started = time.monotonic()
    survivor = SandboxEmulator(state)
    after = _mint(survivor)
    assert time.monotonic() - started < 10
    assert _me(survivor, before) == 200 and _me(survivor, after) == 200


def test_a_dead_processs_redirect_lease_is_removed_by_the_next_transaction(tmp_path: Path) -> None:
    state = tmp_path / "emulator.json"
    callback = "http://127.0.0.1:8123/oauth/callback"
    code = """
        import sys, time
        from pathlib import Path
        from igtoken.sandbox import SandboxEmulator
        sandbox = SandboxEmulator(Path(sys.argv[1]))
        with sandbox.lease_redirect_uris([sys.argv[2]]):
            print("leased", flush=True)
            time.sleep(60)
    """
    proc = _run(code, str(state), callback)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "leased"
    other = SandboxEmulator(state)
    with other.transaction() as world:
        assert callback in world.find_app(demo.DEMO_IG_APP_ID).redirect_uris
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc.communicate()
    with other.transaction() as world:
        assert callback not in world.find_app(demo.DEMO_IG_APP_ID).redirect_uris
        assert callback not in world.find_app(demo.DEMO_FB_APP_ID).redirect_uris
        # The demo apps' own URIs are never leased, so never removed.
        assert set(demo.DEMO_REDIRECT_URIS) <= set(world.find_app(demo.DEMO_IG_APP_ID).redirect_uris)


def test_a_lease_released_normally_removes_only_what_it_added(tmp_path: Path) -> None:
    state = tmp_path / "emulator.json"
    sandbox = SandboxEmulator(state)
    own = demo.DEMO_REDIRECT_URIS[0]
    with sandbox.lease_redirect_uris([own, "http://127.0.0.1:9999/callback"]):
        assert "http://127.0.0.1:9999/callback" in sandbox.world.find_app(demo.DEMO_IG_APP_ID).redirect_uris
    with sandbox.transaction() as world:
        uris = world.find_app(demo.DEMO_IG_APP_ID).redirect_uris
        assert own in uris and "http://127.0.0.1:9999/callback" not in uris


def test_an_unreadable_state_file_names_the_file_and_the_fix(tmp_path: Path) -> None:
    from igtoken import ConfigurationError

    state = tmp_path / "emulator.json"
    state.write_text("{not json")
    with pytest.raises(ConfigurationError) as caught:
        _ = SandboxEmulator(state).world
    assert str(state) in str(caught.value) and str(state) in (caught.value.fix or "")
