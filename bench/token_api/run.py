"""Token API throughput: GET /v1/accounts/{id}/token vs a bare constant-JSON endpoint, same server, same run.

Three processes: this orchestrator, the service (uvicorn, one worker, SQLite vault in a temp dir, one
seeded account, the API rate limit lifted so the limiter is not what is measured), and one load process
holding 32 concurrent keep-alive connections. Each endpoint gets a warm-up, then the timed rounds
alternate between the endpoints (bare, token, token, bare, …) so that a change in the machine's load
during the run hits both alike. The server's CPU time per request (from /proc, Linux) is reported
too: on a busy machine it is steadier than requests per second.

    python bench/token_api/run.py [--seconds 5] [--concurrency 32] [--rounds 6]

Any failed request (or a token read left unaudited: one ``token_read`` event per token answer)
fails the run: exit 1, no figures line; ``--wrong-key`` proves it. Last line: JSON with requests/s,
p50/p99 latency and server CPU ms per request for both endpoints, ``ratio`` (token / bare rps over
all rounds), ``median_round_ratio`` and ``cpu_ratio`` (bare / token CPU per request). Targets
(issue 16): ratio ≥ 0.8, cpu_ratio ≥ 0.5.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn


def serve() -> None:
    """The server process: wire the service over a fresh vault, add /bench/bare, print READY, serve."""
    import socket

    from igtoken.app.runtime import Runtime
    from igtoken.config.settings import Settings
    from igtoken.core.endpoints import Endpoints
    from igtoken.core.models import AccessToken, AccountType, Profile, TokenKind
    from igtoken.core.secret import Secret
    from igtoken.service.app import make_server
    from igtoken.service.assembly import build_app
    from igtoken.service.config import RateLimit, RateLimits

    now = datetime.now(UTC)
    runtime = Runtime(Settings(sandbox=True))
    runtime.ensure_sandbox_apps(now=now)
    token = AccessToken(
        Secret("IGAA" + "b" * 150), TokenKind.IG_LONG, now, now + timedelta(days=60), "17841400000000001"
    )
    profile = Profile("17841400000000001", "bench_account", AccountType.BUSINESS, "25121545927248302")
    account = runtime.vault.save_login("demo", profile, token, now=now)
    _, key = runtime.vault.api_keys.create("bench", now=now)
    lifted = RateLimit(per_minute=1e9, burst=10**9)
    app = build_app(
        runtime,
        public_url="http://127.0.0.1",
        endpoints=Endpoints.emulator("http://127.0.0.1:9"),
        sandbox=True,
        worker=False,
        rate_limits=RateLimits(signin=lifted, webhooks=lifted, public=lifted, api=lifted),
        announce=lambda _text: None,
    )

    @app.get("/bench/bare", include_in_schema=False)
    async def bare() -> dict[str, str]:
        return {"status": "ok", "kind": "ig_long"}

    @app.get("/bench/token-reads", include_in_schema=False)
    def token_reads() -> dict[str, int]:
        """How many ``token_read`` audit events the vault holds (the run checks one per token read)."""
        import sqlalchemy as sa

        from igtoken.vault import EventType
        from igtoken.vault.models import Event

        with runtime.vault.engine.connect() as conn:
            count = conn.execute(
                sa.select(sa.func.count()).select_from(Event).where(Event.type == str(EventType.TOKEN_READ))
            ).scalar_one()
        return {"token_reads": int(count)}

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    print(f"READY {port} {account.id} {key.reveal()}", flush=True)
    make_server(app, port=port).run(sockets=[sock])


def _server_cpu(pid: int) -> float | None:
    """CPU seconds the server process has used (all threads), from /proc; ``None`` where unavailable."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _figures(
    latencies: list[float], errors: int, elapsed: float, cpu: float | None
) -> dict[str, float | None]:
    ordered = sorted(latencies) or [float("nan")]
    return {
        "requests": len(ordered),
        "errors": errors,
        "rps": round(len(ordered) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "server_cpu_ms_per_request": None if cpu is None else round(cpu * 1000 / len(ordered), 3),
    }


async def _load(
    urls: dict[str, str], key: str, seconds: float, concurrency: int, rounds: int, server_pid: int
) -> dict[str, Any]:
    """Alternate timed rounds between the endpoints (ABBA…), so drift in machine load hits both alike."""
    import httpx

    latencies: dict[str, list[float]] = {name: [] for name in urls}
    errors = dict.fromkeys(urls, 0)
    answered = dict.fromkeys(urls, 0)  # every 200, warm-up included (the audit check counts them)
    first_error: list[str] = []
    elapsed = dict.fromkeys(urls, 0.0)
    cpu: dict[str, float | None] = dict.fromkeys(urls, 0.0)
    round_rps: dict[str, list[float]] = {name: [] for name in urls}
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=30) as http:

        async def worker(name: str, until: float, record: bool) -> None:
            while time.perf_counter() < until:
                start = time.perf_counter()
                try:
                    response = await http.get(urls[name])
                except httpx.HTTPError as exc:  # counted, and fatal once the run ends
                    errors[name] += 1
                    first_error[:] = first_error or [f"{name}: {type(exc).__name__}: {exc}"]
                    continue
                if record:
                    latencies[name].append(time.perf_counter() - start)
                if response.status_code == 200:
                    answered[name] += 1
                else:
                    errors[name] += 1
                    first_error[:] = first_error or [
                        f"{name}: HTTP {response.status_code} {response.text[:200]}"
                    ]

        async def run(name: str, duration: float, record: bool) -> None:
            cpu_before = _server_cpu(server_pid)
            began = time.perf_counter()
            done = len(latencies[name])
            await asyncio.gather(*(worker(name, began + duration, record) for _ in range(concurrency)))
            took = time.perf_counter() - began
            cpu_after = _server_cpu(server_pid)
            if record:
                elapsed[name] += took
                round_rps[name].append((len(latencies[name]) - done) / took)
                spent = cpu[name]
                if spent is None or cpu_before is None or cpu_after is None:
                    cpu[name] = None
                else:
                    cpu[name] = spent + cpu_after - cpu_before

        for name in urls:
            await run(name, 1.0, record=False)
        names = list(urls)
        for index in range(rounds):
            for name in names if index % 2 == 0 else reversed(names):
                await run(name, seconds / rounds, record=True)
    out: dict[str, Any] = {
        name: _figures(latencies[name], errors[name], elapsed[name], cpu[name]) for name in urls
    }
    out["round_rps"] = {name: [round(r, 1) for r in values] for name, values in round_rps.items()}
    out["answered"] = answered
    out["first_error"] = first_error[0] if first_error else None
    return out


def load(spec: str, key: str, seconds: float, concurrency: int, rounds: int, server_pid: int) -> None:
    """The load process: one JSON line of figures."""
    urls = json.loads(spec)
    print(json.dumps(asyncio.run(_load(urls, key, seconds, concurrency, rounds, server_pid))), flush=True)


def fail(message: str) -> NoReturn:
    """Stop the run: a message, exit status 1, no figures line."""
    raise SystemExit(f"bench/token_api FAILED: {message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="timed seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=6, help="alternating timed rounds per endpoint")
    parser.add_argument(
        "--wrong-key", action="store_true", help="self-check: send a wrong API key (the run must fail)"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--load", nargs=3, metavar=("URLS", "KEY", "PID"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.load:
        spec, key, pid = args.load
        load(spec, key, args.seconds, args.concurrency, args.rounds, int(pid))
        return
    import httpx

    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "XDG_DATA_HOME": f"{home}/data", "XDG_CONFIG_HOME": f"{home}/config"}
        env = {k: v for k, v in env.items() if not k.startswith("IGTOKEN_")}
        env["PYTHONUNBUFFERED"] = "1"
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            ready = server.stdout.readline().split()
            if not ready or ready[0] != "READY":
                fail("the service did not start")
            port, account_id, key = ready[1], ready[2], ready[3]
            if args.wrong_key:
                key = "igt_wrong_" + key[-8:]
            base = f"http://127.0.0.1:{port}"
            urls = {"bare": base + "/bench/bare", "token": f"{base}/v1/accounts/{account_id}/token"}
            argv = [sys.executable, __file__, "--load", json.dumps(urls), key, str(server.pid)]
            argv += ["--seconds", str(args.seconds), "--concurrency", str(args.concurrency)]
            argv += ["--rounds", str(args.rounds)]
            out = subprocess.run(
                argv, env=env, capture_output=True, text=True, check=False, timeout=2 * args.seconds + 120
            )
            if out.returncode != 0:
                fail(f"the load process exited {out.returncode}:\n{out.stderr[-2000:]}")
            results = json.loads(out.stdout.strip().splitlines()[-1])
            # Every token read is audited: one token_read event per token answer (warm-up included).
            served = results["answered"]["token"]
            audited = -1
            for _ in range(50):
                reads = httpx.get(base + "/bench/token-reads", trust_env=False, timeout=10)
                audited = reads.json()["token_reads"] if reads.status_code == 200 else -1
                if audited >= served:
                    break
                time.sleep(0.1)
        finally:
            server.terminate()
            server.wait(timeout=10)
    for name in urls:
        figures = results[name]
        print(
            f"{name:>5}: {figures['rps']:>8} req/s  p50 {figures['p50_ms']} ms  "
            f"p99 {figures['p99_ms']} ms  server CPU {figures['server_cpu_ms_per_request']} ms/req  "
            f"({figures['requests']} requests, {figures['errors']} errors)"
        )
    errors = {name: results[name]["errors"] for name in urls}
    if any(errors.values()):
        fail(f"requests failed {errors}; first: {results['first_error']}")
    if audited != served:
        fail(f"{served} token reads answered but {audited} token_read events audited")
    bare_cpu, token_cpu = (results[n]["server_cpu_ms_per_request"] for n in ("bare", "token"))
    if not bare_cpu or not token_cpu:
        fail("server CPU time unavailable (needs Linux /proc): cpu_ratio cannot be computed")
    ratio = round(results["token"]["rps"] / results["bare"]["rps"], 3)
    per_round = [
        t / b for t, b in zip(results["round_rps"]["token"], results["round_rps"]["bare"], strict=True)
    ]
    round_ratio = round(statistics.median(per_round), 3)
    cpu_ratio = round(bare_cpu / token_cpu, 3)
    print(f"token/bare throughput ratio: {ratio} (median of per-round ratios {round_ratio})")
    print(f"bare/token server CPU per request: {cpu_ratio}; {audited} token reads, each audited")
    del results["first_error"]
    print(
        json.dumps(
            {
                "concurrency": args.concurrency,
                "seconds": args.seconds,
                "rounds": args.rounds,
                **results,
                "token_reads_audited": audited,
                "ratio": ratio,
                "median_round_ratio": round_ratio,
                "cpu_ratio": cpu_ratio,
            }
        )
    )


if __name__ == "__main__":
    main()
