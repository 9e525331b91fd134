"""Refresh benchmark: ``igtoken worker`` against a naive loop, with Meta-like latency on every token call.

The question is what concurrency buys against Meta, whose token endpoint answers in hundreds of
milliseconds, not what a loopback emulator answering in a millisecond costs in CPU. So the
emulator (in this process, on loopback) holds every ``/refresh_access_token`` call for
``--latency-ms`` (default 200 ms) with its scripted ``slow`` fault before answering.

Why 200 ms: Meta publishes no latency figure for its token endpoints (see
``reference/landscape.md``, "Published performance and scale figures": none of the
products studied publishes one either). A call from a server to ``graph.instagram.com`` is a TLS
round trip to Meta's edge plus the token minting behind it; Graph API calls from a data centre
usually take one to a few hundred milliseconds. 200 ms is the middle of the 150–300 ms band issue 16
names; it is an estimate, not a measurement. With the delay fixed, the naive loop takes
``due × (latency + its own cost)``; a worker with C calls in flight takes about
``due × latency / C`` as long as its CPU keeps up, so run ``--latency-ms 150`` and ``300`` to see
both ends of the band.

One vault (a temporary SQLite file) holds ``--accounts`` accounts (100,000); in it,

* **naive**: ``--due`` accounts (10,000) whose tokens are *not* due are refreshed by a naive
  sequential loop in its own process, the blog-post way: read the token from the vault,
  ``GET /refresh_access_token``, store the answer, next;
* **worker**: ``--due`` other accounts are due now, and one ``igtoken worker --until-idle``
  process (default settings) refreshes them;
* the rest are idle (refreshed weeks from now), so the worker's claim must find the due tokens
  among them, and its memory is the figure for "100,000 accounts in the vault".

Both are separate processes, measured alike: **start-up** runs from spawn to the first token call
arriving at the emulator and is reported apart; the **refresh phase** runs from that call to the
process's exit. ``*_per_second`` is ``due`` over the refresh phase; CPU seconds (user + system,
Linux ``/proc`` at the first call and ``wait4`` at exit) are the refresh phase's, so
``cpu_per_refresh_ms`` excludes imports and start-up for both.

With PostgreSQL (``--pg URL`` or ``IGTOKEN_TEST_DATABASE_URL``; a private database is created on
that server and dropped after), a second vault of ``--accounts`` accounts measures one worker,
then three workers started together, each over ``--due`` newly due tokens; ``pg_scale`` is three
workers' throughput over one's (their refresh phase runs from the first call of any to the
exit of the last).

``emulator_busy_*`` is the orchestrator's CPU seconds (the emulator, mostly) per second of a refresh
phase: near 1.0 the single-threaded emulator, not the worker, limits the throughput.

Every refresh is checked: each due token was refreshed exactly once (the emulator's request
log), every call answered 200, each account's current token is the new one (the vault), and no
refresh failure was recorded. Any failure stops the run with a non-zero exit and no figures.

Last line: a JSON object with ``ratio`` (worker refreshes per second / naive), ``cpu_ratio``
(worker CPU seconds per refresh / naive CPU seconds per refresh), ``worker_peak_rss_mib`` and,
on PostgreSQL, ``pg_scale``. Targets (issue 16): ratio ≥ 20, cpu_ratio ≤ 2,
worker_peak_rss_mib ≤ 250, pg_scale ≥ 2.5.

    python bench/refresh/run.py                    # 100,000 accounts, 10,000 due (about 40 min)
    python bench/refresh/run.py --small            # 2,000 accounts, 100 due (under a minute)
    python bench/refresh/run.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _fleet import failure_events_since, make_due, refreshed_since
from sqlalchemy.pool import NullPool

from igtoken.emulator import EmulatorClock, create_app
from igtoken.testing import RunningEmulator, run_emulator_on_loopback
from igtoken.testing.fleet import add_demo_app, keyring, keys_setting, open_vault, seed_fleet
from igtoken.vault import Vault
from igtoken.vault.engine import normalize_url

WORKER = [sys.executable, "-c", "from igtoken.cli import main; main()", "worker", "--until-idle"]
NAIVE = [sys.executable, __file__, "--naive"]
AGE = timedelta(days=3)  # refreshable (over 24 h old), far from expiry
TIMEOUT = 3 * 3600  # seconds any one measured phase may take before the run is called failed


class BenchFailure(SystemExit):
    """The run failed: a message on stderr, exit status 1, no figures line."""

    def __init__(self, message: str) -> None:
        super().__init__(f"bench/refresh FAILED: {message}")


# -- the naive loop (its own process) ----------------------------------------------------------


def naive_main(url: str, base_url: str, prefix: str) -> None:
    """Refresh the token of every account named ``{prefix}…``, one after another, as a blog post would."""
    import httpx

    from igtoken.core.models import AccessToken, TokenKind
    from igtoken.core.secret import Secret
    from igtoken.vault.crypto import parse_keys
    from igtoken.vault.engine import create_vault_engine
    from igtoken.vault.models import Account

    vault = Vault(create_vault_engine(url), parse_keys(os.environ["IGTOKEN_KEYS"]))
    with vault.engine.connect() as conn:
        accounts = conn.execute(
            sa.select(Account.id, Account.ig_user_id).where(
                Account.username.startswith(prefix, autoescape=True)
            )
        ).all()
    done = 0
    with httpx.Client(base_url=base_url, trust_env=False, timeout=30) as http:
        for account_id, ig_user_id in accounts:
            token = vault.current_token(account_id).token
            resp = http.get(
                "/refresh_access_token",
                params={"grant_type": "ig_refresh_token", "access_token": token.value.reveal()},
            )
            if resp.status_code != 200:
                raise SystemExit(f"naive loop: a refresh answered {resp.status_code} {resp.text[:200]}")
            body = resp.json()
            now = datetime.now(UTC)
            vault.store_token(
                account_id,
                AccessToken(
                    value=Secret(body["access_token"]),
                    kind=TokenKind.IG_LONG,
                    issued_at=now,
                    expires_at=now + timedelta(seconds=int(body["expires_in"])),
                    user_id=ig_user_id,
                ),
                now=now,
                next_refresh_at=now + timedelta(days=50),
            )
            done += 1
    vault.close()
    print(f"naive loop refreshed={done}")


# -- measuring processes -----------------------------------------------------------------------


def _own_cpu() -> float:
    """CPU seconds this process (the emulator, mostly) has used, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process has used, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Meter:
    """Notes when the first token call of a measured phase reaches the emulator, and the CPU then."""

    pids: list[int] = field(default_factory=list)
    first_call: float | None = None
    cpu_at_first_call: dict[int, float] = field(default_factory=dict)
    own_cpu_at_first_call: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def arm(self, pids: list[int]) -> None:
        with self.lock:
            self.pids, self.first_call, self.cpu_at_first_call = pids, None, {}

    def arrived(self) -> None:
        if self.first_call is not None or not self.pids:
            return
        with self.lock:
            if self.first_call is None and self.pids:
                self.first_call = time.perf_counter()
                self.own_cpu_at_first_call = _own_cpu()
                for pid in self.pids:
                    try:
                        self.cpu_at_first_call[pid] = _proc_cpu(pid)
                    except OSError:  # exited already (it cannot have: it has a call in flight)
                        self.cpu_at_first_call[pid] = 0.0


class ArrivalMeter:
    """ASGI middleware in front of the emulator: tells the meter when a refresh call arrives."""

    def __init__(self, app: Any, meter: Meter) -> None:
        self.app, self.meter = app, meter

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/refresh_access_token"):
            self.meter.arrived()
        await self.app(scope, receive, send)


@dataclass
class Phase:
    """One measured phase: start-up and refresh-phase wall and CPU seconds, peak RSS, the output."""

    startup_s: float
    startup_cpu_s: float
    run_s: float
    run_cpu_s: float
    peak_rss_mib: float
    emulator_busy: float  # the emulator's CPU seconds per second of the refresh phase (1.0: a core)


def measure(meter: Meter, argvs: list[list[str]], env: dict[str, str], what: str) -> Phase:
    """Start the processes together, wait for all; fail the run if any fails."""
    with tempfile.TemporaryDirectory() as logs:
        outs = [open(Path(logs) / f"{i}.log", "w+b") for i in range(len(argvs))]  # noqa: SIM115
        began = time.perf_counter()
        procs = [
            subprocess.Popen(a, env=env, stdout=o, stderr=subprocess.STDOUT)
            for a, o in zip(argvs, outs, strict=True)
        ]
        meter.arm([p.pid for p in procs])
        pending = {p.pid: p for p in procs}
        cpu: dict[int, float] = {}
        peak_kib = 0
        own_cpu_at_end = 0.0
        failed: list[str] = []
        ended = began
        while pending:
            if time.perf_counter() - began > TIMEOUT:
                for p in pending.values():
                    p.kill()
                raise BenchFailure(f"{what}: still running after {TIMEOUT} s")
            pid, status, usage = os.wait4(-1, os.WNOHANG)
            if pid == 0:
                time.sleep(0.005)
                continue
            if pid not in pending:
                continue
            ended, own_cpu_at_end = time.perf_counter(), _own_cpu()
            proc = pending.pop(pid)
            proc.returncode = os.waitstatus_to_exitcode(status)
            cpu[pid] = usage.ru_utime + usage.ru_stime
            peak_kib = max(peak_kib, usage.ru_maxrss)
            if proc.returncode != 0:
                failed.append(f"pid {pid} exited {proc.returncode}")
        tails = []
        for out in outs:
            out.seek(0)
            tails.append(out.read().decode(errors="replace")[-2000:])
            out.close()
    if failed:
        raise BenchFailure(f"{what}: {'; '.join(failed)}\n" + "\n---\n".join(tails))
    if meter.first_call is None:
        raise BenchFailure(f"{what}: no token call reached the emulator\n" + "\n---\n".join(tails))
    at_first = sum(meter.cpu_at_first_call.values())
    total = sum(cpu.values())
    return Phase(
        startup_s=meter.first_call - began,
        startup_cpu_s=at_first,
        run_s=ended - meter.first_call,
        run_cpu_s=total - at_first,
        peak_rss_mib=peak_kib / 1024,
        emulator_busy=(own_cpu_at_end - meter.own_cpu_at_first_call) / max(ended - meter.first_call, 1e-9),
    )


def verify(emu: RunningEmulator, vault: Vault, prefix: str, count: int, since: datetime, what: str) -> None:
    """Each ``{prefix}…`` token refreshed exactly once, answered 200, stored; no failure recorded."""
    calls = [
        e for e in emu.world.log.entries(endpoint="ig_refresh_token") if (e.account or "").startswith(prefix)
    ]
    bad = Counter(e.status for e in calls if e.status != 200)
    if bad:
        raise BenchFailure(f"{what}: refresh calls answered {dict(bad)}")
    per_account = Counter(e.account for e in calls)
    if len(per_account) != count or set(per_account.values()) != {1}:
        twice = sum(1 for n in per_account.values() if n > 1)
        raise BenchFailure(f"{what}: {len(per_account)} of {count} tokens refreshed, {twice} more than once")
    fresh, total = refreshed_since(vault, prefix, since)
    if (fresh, total) != (count, count):
        raise BenchFailure(f"{what}: the vault holds {fresh} new tokens for {total} accounts, not {count}")
    failures = failure_events_since(vault, since)
    if failures:
        raise BenchFailure(f"{what}: {failures} refresh failures recorded")


# -- the run -----------------------------------------------------------------------------------


def base_env(tmp: str, url: str, keys: str, emu: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGTOKEN_")}
    env.update(
        XDG_DATA_HOME=f"{tmp}/data",
        XDG_CONFIG_HOME=f"{tmp}/config",
        IGTOKEN_DATABASE_URL=url,
        IGTOKEN_KEYS=keys,
        IGTOKEN_META_BASE_URL=emu,
        PYTHONUNBUFFERED="1",
    )
    return env


def seed(emu: RunningEmulator, vault: Vault, sets: dict[str, tuple[int, bool]], now: datetime) -> float:
    t = time.perf_counter()
    add_demo_app(vault, now)
    for prefix, (count, due) in sets.items():
        seed_fleet(emu.world, vault, count, now=now, prefix=prefix, ages=(AGE,), due_now=due)
    return time.perf_counter() - t


def delay(emu: RunningEmulator, latency_ms: float, fail_first: int = 0) -> None:
    """Hold every token call ``latency_ms`` (the ``slow`` fault); first fail ``fail_first`` with 500."""
    emu.world.faults.remove()
    if fail_first:  # faults match in the order added: these calls fail at once
        emu.world.faults.add("ig_refresh_token", "error", times=fail_first)
    emu.world.faults.add("ig_refresh_token", "slow", delay_seconds=latency_ms / 1000)


def per_s(count: int, phase: Phase) -> float:
    return count / phase.run_s


def sqlite_run(emu: RunningEmulator, meter: Meter, tmp: str, args: argparse.Namespace) -> dict[str, Any]:
    ring = keyring()
    url = f"sqlite:///{Path(tmp) / 'vault.db'}"
    vault = open_vault(url, ring)
    rest = args.accounts - 2 * args.due
    seeded = seed(
        emu,
        vault,
        {"due_": (args.due, True), "naive_": (args.due, False), "idle_": (rest, False)},
        datetime.now(UTC),
    )
    print(f"sqlite: seeded {args.accounts} accounts in {seeded:.1f} s", flush=True)
    env = base_env(tmp, url, keys_setting(ring), str(emu))

    since = datetime.now(UTC)
    naive = measure(meter, [[*NAIVE, url, str(emu), "naive_"]], env, "naive loop")
    verify(emu, vault, "naive_", args.due, since, "naive loop")
    print(
        f"naive loop: start-up {naive.startup_s:.2f} s; {args.due} refreshes in {naive.run_s:.1f} s "
        f"= {per_s(args.due, naive):.1f}/s, {naive.run_cpu_s / args.due * 1000:.2f} ms CPU each",
        flush=True,
    )
    if args.fail_calls:
        delay(emu, args.latency_ms, fail_first=args.fail_calls)
    since = datetime.now(UTC)
    worker = measure(meter, [WORKER], env, "igtoken worker")
    verify(emu, vault, "due_", args.due, since, "igtoken worker")
    print(
        f"igtoken worker: start-up {worker.startup_s:.2f} s; {args.due} refreshes in {worker.run_s:.1f} s "
        f"= {per_s(args.due, worker):.1f}/s, {worker.run_cpu_s / args.due * 1000:.2f} ms CPU each; "
        f"peak RSS {worker.peak_rss_mib:.0f} MiB; emulator busy {worker.emulator_busy:.2f} of a core",
        flush=True,
    )
    vault.close()
    naive_cpu, worker_cpu = naive.run_cpu_s / args.due, worker.run_cpu_s / args.due
    return {
        "seed_seconds": round(seeded, 1),
        "naive_startup_seconds": round(naive.startup_s, 2),
        "naive_seconds": round(naive.run_s, 2),
        "naive_per_second": round(per_s(args.due, naive), 2),
        "naive_cpu_ms_per_refresh": round(naive_cpu * 1000, 3),
        "worker_startup_seconds": round(worker.startup_s, 2),
        "worker_startup_cpu_seconds": round(worker.startup_cpu_s, 2),
        "worker_seconds": round(worker.run_s, 2),
        "worker_per_second": round(per_s(args.due, worker), 2),
        "worker_cpu_ms_per_refresh": round(worker_cpu * 1000, 3),
        "worker_peak_rss_mib": round(worker.peak_rss_mib, 1),
        "emulator_busy_during_worker": round(worker.emulator_busy, 2),
        "ratio": round(per_s(args.due, worker) / per_s(args.due, naive), 2),
        "cpu_ratio": round(worker_cpu / naive_cpu, 2) if naive_cpu > 0 else None,
    }


def pg_run(
    emu: RunningEmulator, meter: Meter, tmp: str, server: str, args: argparse.Namespace
) -> dict[str, Any]:
    base = normalize_url(server)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    db = f"igtoken_bench_refresh_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
    except sa.exc.OperationalError as exc:
        raise BenchFailure(f"postgresql: cannot create a database on {base!r}: {exc.orig}") from exc
    try:
        url = base.set(database=db).render_as_string(hide_password=False)
        ring = keyring()
        vault = open_vault(url, ring)
        rest = args.accounts - 2 * args.due
        # Both sets start not due; each is made due just before its phase.
        sets = {"pg1_": (args.due, False), "pg3_": (args.due, False), "pgidle_": (rest, False)}
        seeded = seed(emu, vault, sets, datetime.now(UTC))
        print(f"postgresql: seeded {args.accounts} accounts in {seeded:.1f} s", flush=True)
        env = base_env(tmp, url, keys_setting(ring), str(emu))
        phases = {}
        for prefix, workers in (("pg1_", 1), ("pg3_", 3)):
            since = datetime.now(UTC)
            assert make_due(vault, prefix, since) == args.due
            phase = measure(meter, [WORKER] * workers, env, f"{workers} worker(s) on PostgreSQL")
            verify(emu, vault, prefix, args.due, since, f"{workers} worker(s) on PostgreSQL")
            phases[workers] = phase
            print(
                f"postgresql, {workers} worker(s): start-up {phase.startup_s:.2f} s; {args.due} refreshes "
                f"in {phase.run_s:.1f} s = {per_s(args.due, phase):.1f}/s; "
                f"emulator busy {phase.emulator_busy:.2f} of a core",
                flush=True,
            )
        vault.close()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.dispose()
    one, three = per_s(args.due, phases[1]), per_s(args.due, phases[3])
    return {
        "pg_seed_seconds": round(seeded, 1),
        "pg_one_worker_per_second": round(one, 2),
        "pg_three_workers_per_second": round(three, 2),
        "pg_scale": round(three / one, 2),
        "emulator_busy_during_pg": [round(phases[n].emulator_busy, 2) for n in (1, 3)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=200.0, help="delay on every token call")
    parser.add_argument("--small", action="store_true", help="2,000 accounts, 100 due: proves it runs")
    parser.add_argument(
        "--pg", default=None, help="PostgreSQL server URL (default IGTOKEN_TEST_DATABASE_URL)"
    )
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL even if configured")
    parser.add_argument(
        "--fail-calls",
        type=int,
        default=0,
        help="self-check: the worker's first N token calls answer 500 (the run must fail)",
    )
    parser.add_argument("--naive", nargs=3, metavar=("URL", "BASE_URL", "PREFIX"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive:
        naive_main(*args.naive)
        return
    if args.small:
        args.accounts, args.due = 2_000, 100
    if args.accounts < 2 * args.due or args.due < 1:
        raise BenchFailure("--accounts must hold at least twice --due, and --due be at least 1")
    pg = None if args.no_pg else (args.pg or os.environ.get("IGTOKEN_TEST_DATABASE_URL"))

    meter = Meter()
    app = create_app(clock=EmulatorClock())
    app.add_middleware(ArrivalMeter, meter=meter)
    figures: dict[str, Any] = {"accounts": args.accounts, "due": args.due, "latency_ms": args.latency_ms}
    with tempfile.TemporaryDirectory() as tmp, run_emulator_on_loopback(app) as emu:
        delay(emu, args.latency_ms)
        figures.update(sqlite_run(emu, meter, tmp, args))
        if pg:
            figures.update(pg_run(emu, meter, tmp, pg, args))
        if emu.world.log.dropped:
            raise BenchFailure("the emulator's request log overflowed: the exactly-once check is void")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
