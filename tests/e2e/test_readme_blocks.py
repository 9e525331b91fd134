"""The README's sandbox code blocks, run as a reader would: bash, real `igtoken` processes, a fresh home.

Every ```sh block of the README that uses the sandbox (`--sandbox`) is run line by line, in the
order the README gives them, in one home. Only what a test cannot do as a person does is adapted:
`make install` and activating `.venv` are this test's own interpreter, the emulator port is a free
one instead of 8790, a command sent to the background is waited for before the next line, and a
line whose comment starts with "exit N" must exit with N.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BIN = str(Path(sys.executable).parent)


def sandbox_blocks() -> list[str]:
    """The README's ```sh blocks that talk to the sandbox, in reading order."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    return [b for b in blocks if "--sandbox" in b]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def as_script(block: str, port: int) -> str:
    """The block as a bash script: comments kept, set-up lines replaced, background jobs awaited."""
    lines = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    for line in block.replace("\\\n", "").splitlines():
        command, _, comment = line.partition("  #") if not line.lstrip().startswith("#") else ("", "", "")
        command = command.strip()
        if not command or command.startswith(("make install", ". .venv/bin/activate")):
            continue
        command = command.replace("8790", str(port))
        expected = re.match(r"\s*exit (\d+)", comment)  # "# exit 3: …" says the line fails, and how
        if expected:
            code = expected.group(1)
            lines.append(
                f'set +e; {command}; rc=$?; set -e; [ "$rc" = {code} ] || {{ echo "exit $rc"; exit 1; }}'
            )
            continue
        lines.append(command)
        if command.endswith("&"):
            ready = f"curl -s -o /dev/null http://127.0.0.1:{port}/"
            lines.append(f"for i in $(seq 100); do {ready} && break; sleep 0.1; done")
    return "\n".join(lines) + "\n"


def test_the_readme_has_sandbox_blocks() -> None:
    blocks = sandbox_blocks()
    assert len(blocks) >= 2
    assert any("demo-facebook" in b for b in blocks)


def test_readme_sandbox_blocks_work_as_printed(tmp_path: Path) -> None:
    env = {
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "80",
    }
    (tmp_path / "home").mkdir()
    outputs = []
    for block in sandbox_blocks():
        script = as_script(block, free_port())
        done = subprocess.run(
            ["bash", "-c", script],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        outputs.append(done.stdout)
    everything = "\n".join(outputs)
    # What the README says the commands print.
    assert '"username":"demo_business"' in everything and '"account_type":"BUSINESS"' in everything
    assert (
        "Connected @demo_business through the Page 'Demo Business Page' with app 'demo-facebook'."
        in everything
    )
    assert re.search(r"^EAA\S+$", everything, flags=re.M)  # the page token, printed by `token --app`
    assert "0 failed." in everything


@pytest.mark.parametrize("block", sandbox_blocks())
def test_readme_hints_are_real_commands(block: str) -> None:
    """Every `igtoken …` line of a sandbox block parses (no stale option or command)."""
    from click.testing import CliRunner

    from igtoken.cli import main

    for line in block.replace("\\\n", "").splitlines():
        command = line.split("  #", 1)[0].strip()
        if not command.startswith("igtoken "):
            continue
        args = command.removesuffix("&").split()[1:]
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0, f"{command}: {result.output}"


def test_the_readme_python_blocks_that_use_the_emulator_run(tmp_path: Path) -> None:
    """Every ```python block of the README that runs against the emulator works as printed."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    runnable = [b for b in blocks if "run_emulator_on_loopback" in b]
    assert runnable, "the README lost its library-on-the-emulator example"
    for block in runnable:
        script = tmp_path / "example.py"
        script.write_text(block, encoding="utf-8")
        ran = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
        )
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.startswith("demo_business ")
