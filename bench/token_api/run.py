"""Token API throughput: GET /v1/accounts/{id}/token vs a bare constant-JSON endpoint, same server, same run.

Three processes: this orchestrator, the service (uvicorn, one worker, SQLite vault in a temp dir, one
seeded account, the API rate limit lifted so the limiter is not what is measured), and a load process
holding 32 concurrent keep-alive connections. Each endpoint gets a warm-up, then a timed window.

    python bench/token_api/run.py [--seconds 5] [--concurrency 32]

Last line: JSON with requests/s and p50/p99 latency for both endpoints, and ``ratio`` (token / bare rps).
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


def serve() -> None:
    """The server process: wire the service over a fresh vault, add /bench/bare, print READY, serve."""
    import socket

    from igtoken._endpoints import Endpoints
    from igtoken._models import AccessToken, AccountType, Profile, TokenKind
    from igtoken._secret import Secret
    from igtoken.runtime import Runtime
    from igtoken.service.app import make_server
    from igtoken.service.config import RateLimit, RateLimits
    from igtoken.service.wiring import build_app
    from igtoken.settings import Settings

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

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    print(f"READY {port} {account.id} {key.reveal()}", flush=True)
    make_server(app, port=port).run(sockets=[sock])


async def _load(url: str, key: str, seconds: float, concurrency: int) -> dict[str, float]:
    import httpx

    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=30) as http:

        async def worker(until: float, record: bool) -> None:
            nonlocal errors
            while time.perf_counter() < until:
                start = time.perf_counter()
                response = await http.get(url)
                if record:
                    latencies.append(time.perf_counter() - start)
                    if response.status_code != 200:
                        errors += 1

        warm = time.perf_counter() + 1.0
        await asyncio.gather(*(worker(warm, False) for _ in range(concurrency)))
        began = time.perf_counter()
        await asyncio.gather(*(worker(began + seconds, True) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": errors,
        "rps": round(len(ordered) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
    }


def load(url: str, key: str, seconds: float, concurrency: int) -> None:
    """The load process: one JSON line of figures."""
    print(json.dumps(asyncio.run(_load(url, key, seconds, concurrency))), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--load", nargs=2, metavar=("URL", "KEY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.load:
        load(args.load[0], args.load[1], args.seconds, args.concurrency)
        return
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
                raise SystemExit("the service did not start")
            port, account_id, key = ready[1], ready[2], ready[3]
            base = f"http://127.0.0.1:{port}"
            results = {}
            for name, path in (("bare", "/bench/bare"), ("token", f"/v1/accounts/{account_id}/token")):
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--load",
                        base + path,
                        key,
                        "--seconds",
                        str(args.seconds),
                        "--concurrency",
                        str(args.concurrency),
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=120,
                )
                results[name] = json.loads(out.stdout.strip().splitlines()[-1])
                figures = results[name]
                print(
                    f"{name:>5}: {figures['rps']:>8} req/s  p50 {figures['p50_ms']} ms  "
                    f"p99 {figures['p99_ms']} ms  ({figures['requests']} requests, "
                    f"{figures['errors']} errors)"
                )
        finally:
            server.terminate()
            server.wait(timeout=10)
    ratio = round(results["token"]["rps"] / results["bare"]["rps"], 3)
    print(f"token/bare throughput ratio: {ratio}")
    print(json.dumps({"concurrency": args.concurrency, "seconds": args.seconds, **results, "ratio": ratio}))


if __name__ == "__main__":
    main()
