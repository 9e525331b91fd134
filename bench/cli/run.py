"""Cold-process start-up time of an ``igtoken`` command, beside Python's own floor.

Each run is a fresh process, timed wall-clock from spawn to exit. Baselines in the
same run: ``python -c pass`` (the interpreter alone) and ``python -c "import httpx"``
(one typical heavy import). One untimed warm-up per command fills the OS file cache,
so the figures measure imports, not the disk.

By default the command is ``igtoken --sandbox token demo_business`` on a sandbox seeded once
with ``igtoken login --sandbox`` in a private temporary home (the token is not due, so this
measures start-up, settings, vault open and decryption, not a refresh).

Usage::

    python bench/cli/run.py                    # igtoken --sandbox token demo_business (seeded)
    python bench/cli/run.py --runs 25 --help

The last line printed is a JSON object; ``median_ms`` is the igtoken command's median.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def venv_tool(name: str) -> str:
    """The tool from the project's .venv, falling back to this interpreter's environment."""
    candidate = ROOT / ".venv" / "bin" / name
    if candidate.exists():
        return str(candidate)
    if name == "python":
        return sys.executable
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        sys.exit(f"cannot find {name!r}: run `make install` first")
    return found


def time_runs(argv: list[str], runs: int, env: dict[str, str] | None = None) -> tuple[list[float], int]:
    """Wall-clock milliseconds of ``runs`` fresh processes, after one warm-up; and the last exit code."""
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env)
    samples, code = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        code = subprocess.run(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env
        ).returncode
        samples.append((time.perf_counter() - start) * 1000)
    return samples, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (default 15)")
    parser.add_argument(
        "args", nargs=argparse.REMAINDER, help="igtoken arguments (default: --sandbox token demo_business)"
    )
    options = parser.parse_args()
    args = options.args
    if args and args[0] == "--":
        args = args[1:]

    python, igtoken = venv_tool("python"), venv_tool("igtoken")
    home = tempfile.TemporaryDirectory(prefix="igtoken-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGTOKEN_")}
    env.update(XDG_DATA_HOME=f"{home.name}/data", XDG_CONFIG_HOME=f"{home.name}/config", HOME=home.name)
    if not args:
        seeded = subprocess.run(
            [igtoken, "login", "--sandbox", "--no-browser"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if seeded.returncode:
            sys.exit(f"seeding the sandbox failed:\n{seeded.stderr}")
        args = ["--sandbox", "token", "demo_business"]
    commands = {
        "python -c pass": [python, "-c", "pass"],
        "python -c 'import httpx'": [python, "-c", "import httpx"],
        "igtoken " + " ".join(args): [igtoken, *args],
    }
    results = {}
    print(f"{'command':<40} {'median ms':>10} {'min ms':>8} {'max ms':>8}   ({options.runs} runs each)")
    for label, argv in commands.items():
        samples, code = time_runs(argv, options.runs, env)
        results[label] = {"median_ms": statistics.median(samples), "exit_code": code}
        print(f"{label:<40} {statistics.median(samples):>10.1f} {min(samples):>8.1f} {max(samples):>8.1f}")

    label = "igtoken " + " ".join(args)
    ours, floor = results[label]["median_ms"], results["python -c pass"]["median_ms"]
    httpx_ms = results["python -c 'import httpx'"]["median_ms"]
    if results[label]["exit_code"]:
        print(f"warning: `{label}` exited with {results[label]['exit_code']}")
    print(f"igtoken over bare python: +{ours - floor:.1f} ms; httpx import alone: +{httpx_ms - floor:.1f} ms")
    print(
        json.dumps(
            {
                "benchmark": "cli_startup",
                "command": label,
                "runs": options.runs,
                "median_ms": round(ours, 1),
                "exit_code": results[label]["exit_code"],
                "python_pass_median_ms": round(floor, 1),
                "python_import_httpx_median_ms": round(httpx_ms, 1),
                "overhead_over_python_ms": round(ours - floor, 1),
            }
        )
    )
    home.cleanup()


if __name__ == "__main__":
    main()
