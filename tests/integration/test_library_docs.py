"""Every Python example in docs/library.md runs, in order, against the emulator on loopback.

The examples share one namespace, as a reader's session would. An HTML comment right above an
example (``<!-- doctest: … -->``) says what happens outside the code before it runs:

- ``env``: the app's credentials are in the environment (the emulator's demo apps, on loopback);
- ``browser ACCOUNT``: the person approves in the browser at ``url``; ``callback_url`` is set;
- ``advance 25h``: time passes (the emulator's clock, which stands in for the wall clock here);
- ``setenv NAME VAR``: the token string of ``VAR`` is in environment variable ``NAME``;
- ``fault ENDPOINT KIND``: Meta answers the next call to ``ENDPOINT`` with ``KIND`` (one-minute hint);
- ``pytest``: the example is a test module; it is run by pytest in a subprocess.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from igtoken.emulator import EmulatorClock
from igtoken.emulator.demo import DEMO_FB_APP_ID, DEMO_FB_APP_SECRET, DEMO_IG_APP_ID, DEMO_IG_APP_SECRET
from igtoken.testing import (
    TEST_CLOCK_START,
    TEST_REDIRECT_URI,
    RunningEmulator,
    emulator_consent,
    run_emulator_on_loopback,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "library.md"
_BLOCK = re.compile(r"(?:<!-- doctest: (?P<directive>[^>]*?) -->\n)?```python\n(?P<code>.*?)```", re.DOTALL)
_DURATION = re.compile(r"(\d+)([hd])")


def _blocks() -> list[tuple[str, str, int]]:
    text = DOC.read_text(encoding="utf-8")
    return [
        ((m.group("directive") or "").strip(), m.group("code"), text.count("\n", 0, m.start()) + 1)
        for m in _BLOCK.finditer(text)
    ]


@pytest.fixture
def clock() -> EmulatorClock:
    return EmulatorClock(TEST_CLOCK_START, frozen=True)


@pytest.fixture
def emulator(clock: EmulatorClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningEmulator]:
    """The emulator on loopback; the clients' wall clock is the emulator's (so time can pass)."""
    import igtoken.client.base

    monkeypatch.setattr(igtoken.client.base, "system_clock", clock.now)
    with run_emulator_on_loopback(clock=clock) as running:
        yield running


def test_the_page_has_an_example_per_task() -> None:
    text = DOC.read_text(encoding="utf-8")
    for heading in (
        "## Log in with Instagram Login",
        "## Keep the token, and refresh it",
        "## A token you already have",
        "## Profile and media",
        "## Facebook Login for Business",
        "## Errors",
        "## The flows, by hand",
        "## Testing with the emulator",
    ):
        assert heading in text
    assert len(_blocks()) >= 14


def test_every_example_runs_against_the_emulator(
    emulator: RunningEmulator,
    clock: EmulatorClock,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    namespace: dict[str, object] = {"__name__": "library_docs"}
    ran = 0
    with httpx.Client() as browser:
        for directive, code, line in _blocks():
            verb, *args = directive.split() or [""]
            if verb == "env":
                for name, value in {
                    "IG_APP_ID": DEMO_IG_APP_ID,
                    "IG_APP_SECRET": DEMO_IG_APP_SECRET,
                    "META_APP_ID": DEMO_FB_APP_ID,
                    "META_APP_SECRET": DEMO_FB_APP_SECRET,
                    "IG_REDIRECT_URI": TEST_REDIRECT_URI,
                    "META_EMULATOR_URL": emulator.url,
                }.items():
                    monkeypatch.setenv(name, value)
            elif verb == "browser":
                namespace["callback_url"] = emulator_consent(browser, str(namespace["url"]), args[0])
            elif verb == "advance":
                amount, unit = _DURATION.fullmatch(args[0]).groups()  # type: ignore[union-attr]
                clock.advance(int(amount) * (3600 if unit == "h" else 86400))
            elif verb == "setenv":
                monkeypatch.setenv(args[0], namespace[args[1]].value.reveal())  # type: ignore[attr-defined]
            elif verb == "fault":
                emulator.world.faults.add(args[0], args[1], wait_minutes=1, times=1)
            elif verb == "pytest":
                _run_as_pytest(code, tmp_path)
                ran += 1
                continue
            else:
                assert verb == "", f"docs/library.md line {line}: unknown doctest directive {directive!r}"
            try:
                exec(compile(code, f"docs/library.md:{line}", "exec"), namespace)  # noqa: S102
            except Exception as exc:
                raise AssertionError(f"the example at docs/library.md line {line} failed: {exc!r}") from exc
            ran += 1
    assert ran == len(_blocks())
    shown = capsys.readouterr().out
    assert "demo_business" in shown
    assert "throttled until" in shown  # the errors example met the scripted throttle
    token = namespace["token"].value.reveal()  # type: ignore[attr-defined]
    for secret in (DEMO_IG_APP_SECRET, DEMO_FB_APP_SECRET, token):
        assert secret not in shown


def _run_as_pytest(code: str, tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = strict\n"
        "asyncio_default_fixture_loop_scope = function\nfilterwarnings = error\n"
    )
    (tmp_path / "test_docs_example.py").write_text(code)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout, done.stdout


def test_the_examples_pass_mypy_strict(tmp_path: Path) -> None:
    """The examples type-check as a user's strict project would (the pytest one as a test module)."""
    script = ["callback_url: str = ''  # the URL the browser came back with"]
    for directive, code, _ in _blocks():
        if directive == "pytest":
            (tmp_path / "test_docs_example.py").write_text(code)
        else:
            script.append(code)
    (tmp_path / "docs_script.py").write_text("\n".join(script))
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            "mypy.ini",
            "--cache-dir",
            str(tmp_path / "cache"),
            ".",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
