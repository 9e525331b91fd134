"""Benchmark: requests per second for the emulator's refresh_access_token and /me, beside a bare
Starlette endpoint in the same run, each served by uvicorn in its own process and loaded from a
separate load-generator process over keep-alive loopback connections.

    python bench/emulator/run.py [--seconds 4] [--connections 32]

Any request answered other than 200 (or a transport error) fails the run: exit 1, no figures line.
The last line printed is a JSON object; ``ratio`` is the lower of (refresh rps / bare rps) and
(/me rps / bare rps). Aim: ratio >= 0.5.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import socket
import sys
import time
from datetime import UTC, datetime


def _serve(kind: str, sock: socket.socket) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    if kind == "bare":

        async def me(request):
            return JSONResponse({"id": "1", "username": "bare"})

        app = Starlette(routes=[Route("/me", me), Route("/refresh_access_token", me)])
    else:
        from igtoken.emulator import EmulatorClock, create_app

        app = create_app(clock=EmulatorClock(datetime(2026, 3, 1, tzinfo=UTC), frozen=True))
    uvicorn.Server(uvicorn.Config(app, log_level="error", access_log=False, lifespan="off")).run(
        sockets=[sock]
    )


async def _worker(
    port: int, paths: list[str], offset: int, step: int, deadline: float, counts: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    i = offset
    n = len(paths)
    try:
        while time.perf_counter() < deadline:
            path = paths[i % n]
            i += step
            writer.write(f"GET {path} HTTP/1.1\r\nHost: graph.instagram.com\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"{path[:40]}… answered {head[:12]!r} {body[:200]!r}")
            counts[0] += 1
    finally:
        writer.close()


def _load(port: int, paths: list[str], seconds: float, connections: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    async def main() -> int:
        counts = [0]
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *(_worker(port, paths, k, connections, deadline, counts) for k in range(connections))
        )
        return counts[0]

    started = time.perf_counter()
    try:
        done = asyncio.run(main())
    except Exception as exc:  # any failed request: the orchestrator fails the run
        out.put(f"{type(exc).__name__}: {exc}")
        return
    out.put(done / (time.perf_counter() - started))


def _start(kind: str) -> tuple[mp.Process, int]:
    sock = socket.socket(
        socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
    )  # so asyncio sets TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    proc = mp.Process(target=_serve, args=(kind, sock), daemon=True)
    proc.start()
    port = sock.getsockname()[1]
    sock.close()
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, port


def _measure(port: int, paths: list[str], seconds: float, connections: int) -> float:
    queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    proc = mp.Process(target=_load, args=(port, paths, seconds, connections, queue))
    proc.start()
    answer = queue.get(timeout=seconds + 60)
    proc.join()
    if isinstance(answer, str):
        raise SystemExit(f"bench/emulator FAILED: a request failed: {answer}")
    return float(answer)


def _control(port: int, method: str, path: str, body: dict) -> dict:  # type: ignore[type-arg]
    import httpx

    response = httpx.request(method, f"http://127.0.0.1:{port}/_emulator/{path}", json=body, timeout=60)
    response.raise_for_status()
    return dict(response.json())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    mp.set_start_method("spawn")

    bare, bare_port = _start("bare")
    emu, emu_port = _start("emulator")
    try:
        app_id = "990600000000001"
        _control(emu_port, "PATCH", f"apps/{app_id}", {"call_limit_per_hour": 10**9})
        accounts = _control(emu_port, "POST", "accounts", {"count": 1000, "prefix": "bench_"})["accounts"]
        # Enough distinct day-old tokens that (almost) every refresh is a real one, minting a new token.
        wanted = int(args.seconds * 12000)
        names = [accounts[i % len(accounts)]["username"] for i in range(wanted)]
        tokens = _control(
            emu_port,
            "POST",
            "tokens",
            {"app_id": app_id, "kind": "ig_long", "usernames": names, "issued_at_offset_seconds": -2 * 86400},
        )["tokens"]
        refresh_paths = [
            f"/refresh_access_token?grant_type=ig_refresh_token&access_token={t['access_token']}"
            for t in tokens
        ]
        me_paths = [
            f"/me?fields=id,username,account_type&access_token={t['access_token']}" for t in tokens[:64]
        ]

        _measure(bare_port, ["/me"], 1.0, args.connections)  # warm-up
        bare_rps = _measure(bare_port, ["/me"], args.seconds, args.connections)
        refresh_rps = _measure(emu_port, refresh_paths, args.seconds, args.connections)
        me_rps = _measure(emu_port, me_paths, args.seconds, args.connections)
        refreshed = _control(emu_port, "GET", "requests/count?endpoint=ig_refresh_token", {})["count"]
    finally:
        for proc in (bare, emu):
            proc.terminate()
            proc.join(5)

    print(f"bare Starlette /me        {bare_rps:8.0f} req/s")
    print(
        f"emulator refresh          {refresh_rps:8.0f} req/s  ({refresh_rps / bare_rps:.2f} of bare; "
        f"{refreshed} refreshes logged, {len(tokens)} seeded tokens)"
    )
    print(f"emulator /me              {me_rps:8.0f} req/s  ({me_rps / bare_rps:.2f} of bare)")
    print(
        f"cpus {os.cpu_count()}, python {sys.version.split()[0]}, {args.connections} connections, "
        f"{args.seconds:.0f} s per run"
    )
    ratio = min(refresh_rps, me_rps) / bare_rps
    print(
        json.dumps(
            {
                "bare_rps": round(bare_rps),
                "refresh_rps": round(refresh_rps),
                "me_rps": round(me_rps),
                "ratio_refresh": round(refresh_rps / bare_rps, 3),
                "ratio_me": round(me_rps / bare_rps, 3),
                "ratio": round(ratio, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
