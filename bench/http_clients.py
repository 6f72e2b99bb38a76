"""HTTP clients for the openai backend: aiohttp (what the handler uses) vs httpx, same server, same run.

    python bench/http_clients.py [--requests N] [--latency S] [--concurrency 32 64 128]

Each client sends N chat requests (n=4, like a prompt's samples) with the same asyncio semaphore bounding
the requests in flight, to a fresh local OpenAI-compatible server (tests/llm_server.py, its own process)
that answers after a fixed latency. The ideal time is N / concurrency x latency. Printed per concurrency:
both clients' requests/s, their share of the ideal, and aiohttp / httpx. httpx is a dev dependency only
(this bench); prefmill itself needs aiohttp.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generation import ServerProcess  # noqa: E402

BODY = {"model": "policy", "messages": [{"role": "user", "content": "Explain bees to a curious child."}],
        "max_tokens": 64, "n": 4, "temperature": 0.8}


async def with_httpx(url: str, n: int, concurrency: int) -> None:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                reply = await client.post(url + "/chat/completions", json=BODY)
                reply.json()

        await asyncio.gather(*(one() for _ in range(n)))


async def with_aiohttp(url: str, n: int, concurrency: int) -> None:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                async with session.post(url + "/chat/completions", json=BODY) as reply:
                    await reply.json()

        await asyncio.gather(*(one() for _ in range(n)))


def measure(client, n: int, concurrency: int, latency: float) -> float:
    server = ServerProcess(latency)
    try:
        started = time.perf_counter()
        asyncio.run(client(server.url, n, concurrency))
        return n / (time.perf_counter() - started)
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request at the server")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32, 64, 128])
    args = parser.parse_args()
    print(f"bench/http_clients.py: {args.requests} requests, {args.latency * 1000:.0f} ms each at the server")
    for concurrency in args.concurrency:
        ideal = concurrency / args.latency
        fast = measure(with_aiohttp, args.requests, concurrency, args.latency)
        slow = measure(with_httpx, args.requests, concurrency, args.latency)
        print(f"concurrency {concurrency:>3}: aiohttp {fast:6.0f} req/s ({fast / ideal:4.0%} of ideal) | "
              f"httpx {slow:6.0f} req/s ({slow / ideal:4.0%}) | aiohttp / httpx = {fast / slow:.2f}", flush=True)


if __name__ == "__main__":
    main()
