"""Cold-process start-up time of an ``igtoken`` command, beside Python's own floor.

Each run is a fresh process, timed wall-clock from spawn to exit. Baselines in the
same run: ``python -c pass`` (the interpreter alone) and ``python -c "import httpx"``
(one typical heavy import). One untimed warm-up per command fills the OS file cache,
so the figures measure imports, not the disk.

By default two commands are timed, each in a private temporary home and with a token that is
not due (so this measures start-up, settings, vault open and decryption, not a refresh):

* ``igtoken --sandbox token demo_business`` on a sandbox seeded with ``igtoken login --sandbox``;
* ``igtoken token bench_business`` on the embedded default (no ``--sandbox``), seeded through the
  library, with ``IGTOKEN_META_BASE_URL`` pointing at a closed loopback port: nothing may need
  the network.

The igtoken package is byte-compiled first (as an installed wheel is), so the figures measure
imports and work, not the compiler; ``--no-compile`` skips that.

Usage::

    python bench/cli/run.py                    # both commands above (seeded)
    python bench/cli/run.py --runs 25 --help   # or any other igtoken arguments

The last line printed is a JSON object; ``median_ms`` is the (first) igtoken command's median,
``embedded_median_ms`` the second's.
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

#: Seeds the embedded default (run with the bench's environment): an app and an account whose
#: long-lived token is fresh and not due for weeks. The token value is made up; nothing sends it.
SEED_EMBEDDED = """
from datetime import UTC, datetime, timedelta
from igtoken import AccessToken, AccountType, Profile, Secret, TokenKind
from igtoken.cli._context import AppContext
now = datetime.now(UTC)
ctx = AppContext(sandbox=False)
vault = ctx.vault
vault.add_app("bench", instagram_app_id="990600000000001", app_secret=Secret("bench-app-secret"),
              redirect_uris=["http://127.0.0.1:8765/callback"], now=now)
token = AccessToken(Secret("IGAA" + "b" * 140), TokenKind.IG_LONG, now, now + timedelta(days=60),
                    user_id="17841400000000001", scopes=("instagram_business_basic",))
vault.save_login("bench", Profile("17841400000000001", "bench_business", AccountType.BUSINESS), token,
                 now=now, next_refresh_at=now + timedelta(days=50))
ctx.close()
"""
#: Nothing listens here (the discard port): a command that tried the network would fail, not hang.
NOWHERE = "http://127.0.0.1:9"


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


def seed(argv: list[str], env: dict[str, str], what: str) -> None:
    """Run a seeding command; stop the bench with its stderr if it fails."""
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"seeding {what} failed:\n{done.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (default 15)")
    parser.add_argument("--no-compile", action="store_true", help="do not byte-compile igtoken first")
    parser.add_argument(
        "args", nargs=argparse.REMAINDER, help="igtoken arguments (default: the two token commands)"
    )
    options = parser.parse_args()
    args = options.args
    if args and args[0] == "--":
        args = args[1:]

    python, igtoken = venv_tool("python"), venv_tool("igtoken")
    if not options.no_compile:
        where = subprocess.run(
            [python, "-c", "import igtoken, os; print(os.path.dirname(igtoken.__file__))"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        subprocess.run([python, "-m", "compileall", "-q", where], stdout=subprocess.DEVNULL, check=True)
    home = tempfile.TemporaryDirectory(prefix="igtoken-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGTOKEN_")}
    env.update(XDG_DATA_HOME=f"{home.name}/data", XDG_CONFIG_HOME=f"{home.name}/config", HOME=home.name)
    # The embedded default and the sandbox keep separate databases and key files under one home.
    env_embedded = dict(env, IGTOKEN_META_BASE_URL=NOWHERE)
    targets: dict[str, tuple[list[str], dict[str, str]]] = {}
    if args:
        targets["igtoken " + " ".join(args)] = ([igtoken, *args], env)
    else:
        seed([igtoken, "login", "--sandbox", "--no-browser"], env, "the sandbox")
        seed([python, "-c", SEED_EMBEDDED], env_embedded, "the embedded default")
        targets["igtoken --sandbox token demo_business"] = (
            [igtoken, "--sandbox", "token", "demo_business"],
            env,
        )
        targets["igtoken token bench_business"] = ([igtoken, "token", "bench_business"], env_embedded)
    commands = {
        "python -c pass": ([python, "-c", "pass"], env),
        "python -c 'import httpx'": ([python, "-c", "import httpx"], env),
        **targets,
    }
    results = {}
    print(f"{'command':<40} {'median ms':>10} {'min ms':>8} {'max ms':>8}   ({options.runs} runs each)")
    for label, (argv, command_env) in commands.items():
        samples, code = time_runs(argv, options.runs, command_env)
        results[label] = {"median_ms": statistics.median(samples), "exit_code": code}
        print(f"{label:<40} {statistics.median(samples):>10.1f} {min(samples):>8.1f} {max(samples):>8.1f}")

    floor = results["python -c pass"]["median_ms"]
    httpx_ms = results["python -c 'import httpx'"]["median_ms"]
    for label in targets:
        if results[label]["exit_code"]:
            print(f"warning: `{label}` exited with {results[label]['exit_code']}")
        ours = results[label]["median_ms"]
        print(f"{label}: +{ours - floor:.1f} ms over bare python; import httpx: +{httpx_ms - floor:.1f} ms")
    labels = list(targets)
    first = results[labels[0]]
    summary: dict[str, object] = {
        "benchmark": "cli_startup",
        "command": labels[0],
        "runs": options.runs,
        "compiled": not options.no_compile,
        "median_ms": round(first["median_ms"], 1),
        "exit_code": first["exit_code"],
        "python_pass_median_ms": round(floor, 1),
        "python_import_httpx_median_ms": round(httpx_ms, 1),
        "overhead_over_python_ms": round(first["median_ms"] - floor, 1),
    }
    if len(labels) > 1:
        summary["embedded_command"] = labels[1]
        summary["embedded_median_ms"] = round(results[labels[1]]["median_ms"], 1)
        summary["embedded_exit_code"] = results[labels[1]]["exit_code"]
    print(json.dumps(summary))
    home.cleanup()


if __name__ == "__main__":
    main()
