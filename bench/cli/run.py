"""Cold-process time of ``igtoken token``, on every path it takes, beside Python's own floor.

Each run is a fresh process, timed wall-clock from spawn to exit. Baselines in the same run:
``python -c pass`` (the interpreter alone) and ``python -c "import httpx"`` (one typical heavy
import). One untimed warm-up per command fills the OS file cache, so the figures measure imports
and work, not the disk.

By default three commands are timed, each in a private temporary home, with a token that is not
due (so this measures start-up, settings, vault open and decryption, not a refresh), and with
``IGTOKEN_META_BASE_URL`` pointing at a closed loopback port: nothing may need the network.

* **quick** ``igtoken token bench_business`` on the embedded default (seeded through the
  library): the quick-read path (stdlib ``sqlite3``, no SQLAlchemy; ``igtoken.vault.quickread``);
* **sandbox** ``igtoken --sandbox token demo_business`` on a sandbox seeded with
  ``igtoken login --sandbox``: the quick-read path on the sandbox's own files;
* **full** ``igtoken token bench_business`` on the same database named by
  ``IGTOKEN_DATABASE_URL`` (and its key file by ``IGTOKEN_KEY_FILE``): a database URL is not the
  embedded default, so this takes the full path (SQLAlchemy ``Vault``).

Before timing, one probe run of each checks the path it claims (whether SQLAlchemy was loaded
when the process ended) and that it printed the seeded token. Any run that exits non-zero or
prints something else fails the bench: exit 1, no figures line.

The igtoken package is byte-compiled first (as an installed wheel is), so the figures measure
imports and work, not the compiler; ``--no-compile`` skips that.

Usage::

    python bench/cli/run.py                    # the three paths above (seeded)
    python bench/cli/run.py --runs 25 --help   # or any other igtoken arguments (must exit 0)

The last line printed is a JSON object: ``median_ms`` is the quick-read path's median (the
common case: a script asking for a token that is not due; target ≤ 200 ms), ``sandbox_median_ms``
and ``full_median_ms`` the other paths', ``max_median_ms`` the slowest of them.
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
from typing import NoReturn

ROOT = Path(__file__).resolve().parents[2]

#: Seeds the embedded default (run with the bench's environment): an app and an account whose
#: long-lived token is fresh and not due for weeks. The token value is made up; nothing sends it.
TOKEN = "IGAA" + "b" * 140
SEED_EMBEDDED = f"""
TOKEN = {TOKEN!r}
from datetime import UTC, datetime, timedelta
from igtoken import AccessToken, AccountType, Profile, Secret, TokenKind
from igtoken.cli._context import AppContext
now = datetime.now(UTC)
ctx = AppContext(sandbox=False)
vault = ctx.vault
vault.add_app("bench", instagram_app_id="990600000000001", app_secret=Secret("bench-app-secret"),
              redirect_uris=["http://127.0.0.1:8765/callback"], now=now)
token = AccessToken(Secret(TOKEN), TokenKind.IG_LONG, now, now + timedelta(days=60),
                    user_id="17841400000000001", scopes=("instagram_business_basic",))
vault.save_login("bench", Profile("17841400000000001", "bench_business", AccountType.BUSINESS), token,
                 now=now, next_refresh_at=now + timedelta(days=50))
print(ctx.runtime.embedded_paths().database, ctx.runtime.embedded_paths().key_file)
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


def fail(message: str) -> NoReturn:
    """Stop the bench: a message, exit status 1, no figures line."""
    sys.exit(f"bench/cli FAILED: {message}")


def time_runs(argv: list[str], runs: int, env: dict[str, str], label: str) -> list[float]:
    """Wall-clock milliseconds of ``runs`` fresh processes, after one warm-up; any failure is fatal."""
    samples = []
    for i in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False, env=env)
        took = (time.perf_counter() - start) * 1000
        if done.returncode:
            fail(f"`{label}` exited {done.returncode}:\n{done.stderr.decode(errors='replace')[-1500:]}")
        if i:  # the first run is the warm-up
            samples.append(took)
    return samples


#: Runs igtoken's CLI, then says on stderr (at exit) whether SQLAlchemy was loaded: the path taken.
PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('\\nPROBE sqlalchemy=%d\\n' % ('sqlalchemy' in sys.modules)))\n"
    "from igtoken.cli import main\n"
    "main()\n"
)


def probe(python: str, args: list[str], env: dict[str, str], label: str, full: bool, expect: str) -> None:
    """Run the command once under the probe: it must succeed, print ``expect…``, take the claimed path."""
    done = subprocess.run([python, "-c", PROBE, *args], capture_output=True, text=True, check=False, env=env)
    if done.returncode:
        fail(f"`{label}` exited {done.returncode}:\n{done.stderr[-1500:]}")
    if not done.stdout.strip().startswith(expect):
        fail(f"`{label}` printed {done.stdout.strip()[:12]!r}…, not the seeded token")
    loaded = "PROBE sqlalchemy=1" in done.stderr
    if loaded != full:
        path = "the full path (SQLAlchemy loaded)" if loaded else "the quick-read path (no SQLAlchemy)"
        fail(f"`{label}` took {path}, not the path it is timed as")


def seed(argv: list[str], env: dict[str, str], what: str) -> str:
    """Run a seeding command; its stdout. Stop the bench with its stderr if it fails."""
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        fail(f"seeding {what} failed:\n{done.stderr}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (default 15)")
    parser.add_argument("--no-compile", action="store_true", help="do not byte-compile igtoken first")
    parser.add_argument(
        "args", nargs=argparse.REMAINDER, help="igtoken arguments (default: the three token paths)"
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
    # The sandbox answers Meta's part from its own emulator; the others have no network at all.
    env_sandbox = dict(env)
    env["IGTOKEN_META_BASE_URL"] = NOWHERE
    # label -> (igtoken arguments, environment, key in the JSON line)
    targets: dict[str, tuple[list[str], dict[str, str], str]] = {}
    if args:
        targets["igtoken " + " ".join(args)] = (args, env, "median_ms")
    else:
        # The embedded default and the sandbox keep separate databases and key files under one home.
        seed([igtoken, "login", "--sandbox", "--no-browser"], env_sandbox, "the sandbox")
        paths = seed([python, "-c", SEED_EMBEDDED], env, "the embedded default").split()
        database, key_file = paths[-2], paths[-1]
        env_full = dict(env, IGTOKEN_DATABASE_URL=f"sqlite:///{database}", IGTOKEN_KEY_FILE=key_file)
        quick = (["token", "bench_business"], env, "median_ms")
        sandbox = (["--sandbox", "token", "demo_business"], env_sandbox, "sandbox_median_ms")
        full = (["token", "bench_business"], env_full, "full_median_ms")
        targets = {
            "quick: igtoken token bench_business": quick,
            "sandbox: igtoken --sandbox token demo_business": sandbox,
            "full: IGTOKEN_DATABASE_URL=… igtoken token bench_business": full,
        }
        for label, (argv, command_env, key) in targets.items():
            expect = TOKEN if key != "sandbox_median_ms" else "IGAA"
            probe(python, argv, command_env, label, full=key == "full_median_ms", expect=expect)
    commands = {
        "python -c pass": ([python, "-c", "pass"], env),
        "python -c 'import httpx'": ([python, "-c", "import httpx"], env),
        **{label: ([igtoken, *argv], command_env) for label, (argv, command_env, _) in targets.items()},
    }
    results = {}
    print(f"{'command':<56} {'median ms':>10} {'min ms':>8} {'max ms':>8}   ({options.runs} runs each)")
    for label, (argv, command_env) in commands.items():
        samples = time_runs(argv, options.runs, command_env, label)
        results[label] = statistics.median(samples)
        print(f"{label:<56} {results[label]:>10.1f} {min(samples):>8.1f} {max(samples):>8.1f}")
    home.cleanup()

    floor = results["python -c pass"]
    httpx_ms = results["python -c 'import httpx'"]
    summary: dict[str, object] = {
        "benchmark": "cli_startup",
        "runs": options.runs,
        "compiled": not options.no_compile,
        "python_pass_median_ms": round(floor, 1),
        "python_import_httpx_median_ms": round(httpx_ms, 1),
    }
    for label, (_, _, key) in targets.items():
        summary[key] = round(results[label], 1)
        summary[key.replace("median_ms", "command")] = label
    summary["overhead_over_python_ms"] = round(float(summary["median_ms"]) - floor, 1)  # type: ignore[arg-type]
    summary["max_median_ms"] = round(max(results[label] for label in targets), 1)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
