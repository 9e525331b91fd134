"""The pytest plugin as other projects meet it: cheap to load, and harmless without pytest-asyncio.

(The plugin in a project that only installed ``igtoken[testing]`` is exercised by ``.ci/smoke``.)
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from igtoken.testing import plugin


def test_plugin_is_registered_through_the_entry_point() -> None:
    """The fixtures reach this suite from the pytest11 entry point, not from a conftest import."""
    from importlib.metadata import entry_points

    (entry,) = (e for e in entry_points(group="pytest11") if e.name == "igtoken")
    assert entry.value == "igtoken.testing.plugin"
    assert entry.load() is plugin


def test_loading_the_plugin_imports_no_emulator() -> None:
    """pytest loads the plugin in every run of the environment: it must not pull in the emulator."""
    code = (
        "import sys, igtoken.testing.plugin\n"
        "print(sorted({'starlette', 'uvicorn', 'sqlalchemy', 'igtoken.emulator'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_pytest_asyncio_pytest_still_runs(tmp_path: Path) -> None:
    """igtoken and pytest but no pytest-asyncio: sync fixtures work; emulator_async names the extra."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            def test_sync(emulator_client):
                assert emulator_client.get("/graph.instagram.com/me").status_code == 400

            def test_async(emulator_async):
                pass
            """
        )
    )
    runner = (
        "import sys\n"
        "class NoPytestAsyncio:\n"  # as if it were not installed
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'pytest_asyncio':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, NoPytestAsyncio())\n"
        # --assert=plain: pytest's rewrite hook would otherwise sit before ours and load plugin modules.
        "import pytest\n"
        "args = ['-p', 'no:asyncio', '-p', 'no:cacheprovider', '--assert=plain', '-q', sys.argv[1]]\n"
        "sys.exit(pytest.main(args))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", runner, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert "1 passed" in done.stdout, done.stdout + done.stderr
    assert "1 error" in done.stdout, done.stdout
    assert "pip install 'igtoken[testing]'" in done.stdout
