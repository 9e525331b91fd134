"""The plugin's async fixtures in a user's project: pytest-asyncio strict and auto modes; no stray stderr.

Each case runs pytest (or a script) in a subprocess, in a directory with its own ``pytest.ini``,
so this project's own settings do not leak into what a user would see.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

USER_TESTS = textwrap.dedent(
    """
    import pytest

    from igtoken import new_state


    @pytest.mark.asyncio
    async def test_async_login_and_refresh_on_the_emulator_clock(
        igtoken_async_client, emulator_async, emulator_clock
    ):
        client = igtoken_async_client
        state = new_state()
        url = client.authorization_url(state=state, scopes=["instagram_business_basic"])
        answer = await emulator_async.get(url + "&emulator_account=demo_business&emulator_decision=approve")
        result = await client.login(answer.headers["location"], expected_state=state)
        emulator_clock.advance(25 * 3600)
        token = await client.refresh(result.token)
        assert token.issued_at == emulator_clock.now()


    def test_sync_fixture_beside_it(igtoken_client, emulator_clock):
        assert igtoken_client.now() == emulator_clock.now()
    """
)


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_async_fixtures_work_in_strict_and_auto_mode(tmp_path: Path, mode: str) -> None:
    """igtoken_async_client and emulator_async are pytest-asyncio fixtures: both modes pass."""
    (tmp_path / "pytest.ini").write_text(
        f"[pytest]\nasyncio_mode = {mode}\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = error\n"
    )
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_a_retried_request_prints_nothing_on_stderr(tmp_path: Path) -> None:
    """stamina's retry_scheduled warning does not reach stderr in an app without logging set up."""
    script = textwrap.dedent(
        """
        from igtoken import Client, Secret
        from igtoken.emulator import create_app
        from igtoken.testing import ASGISyncTransport, emulator_config

        app = create_app()
        app.state.world.faults.add("ig_me", "error", status=500, times=1)
        with Client(emulator_config(), transport=ASGISyncTransport(app)) as client:
            try:
                client.profile(Secret("IGAA" + "x" * 40))
            except Exception as exc:  # the token is unknown: 190 after the retried 500
                print(type(exc).__name__)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path
    )
    assert done.stdout.strip() == "NeedsReauthorizationError", done.stdout + done.stderr
    assert done.stderr == ""
