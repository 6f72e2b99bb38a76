"""Generation throughput: the Generate stage vs the bare engine, same prompts, same engine, one run.

    python bench/generation.py [--backend transformers|openai|both] [--device cpu|cuda] [--prompts N]

transformers: a randomly initialised Llama-style model (built locally, no download) generates through a
prefmill pipeline (ReadPrompts -> Generate -> ... -> write) and through a plain loop calling
`model.generate` on the same batches. Both include model loading.
openai: a local OpenAI-compatible server with a fixed per-request latency; the pipeline against a bare
asyncio + aiohttp loop with the same concurrency. The ratio measures how well concurrency hides latency.

Printed per backend: tokens/s of both and the ratio end to end, and the ratio over the engine's busy
window (first request in to last answer out, as the engine saw it). Goal: ratio >= 0.95.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the local test server and the tiny-model builder

from prefmill.pipelines.config import validate_config  # noqa: E402
from prefmill.pipelines.launcher import run_config  # noqa: E402



def write_prompts(folder: Path, n: int) -> Path:
    path = folder / "prompts.jsonl"
    topics = ["rivers", "prime numbers", "bread", "volcanoes", "chess", "bees", "tides", "glass", "kites"]
    with path.open("w") as handle:
        for i in range(n):
            handle.write(json.dumps({"id": f"b{i}", "prompt": f"Write two sentences about {topics[i % 9]} (#{i})."})
                         + "\n")
    return path


def pipeline_config(prompts: Path, out: Path, model: dict) -> dict:
    return {"input": {"path": str(prompts)}, "output": {"uri": str(out)},
            "generate": {"mode": "models", "models": [model], "keep_truncated": True, "cache": {"enabled": False}}}


def ratio_line(name: str, pipe_tokens: int, pipe_s: float, bare_tokens: int, bare_s: float,
               pipe_busy: float, bare_busy: float) -> str:
    pipe_rate, bare_rate = pipe_tokens / pipe_s, bare_tokens / bare_s
    busy = (pipe_tokens / pipe_busy) / (bare_tokens / bare_busy)
    return (f"{name}: pipeline {pipe_rate:,.0f} tokens/s | bare engine {bare_rate:,.0f} tokens/s | "
            f"ratio end to end {pipe_rate / bare_rate:.3f} | ratio over the engine's busy window {busy:.3f} "
            f"| goal >= 0.95: {'met' if busy >= 0.95 else 'NOT met'}")


def bench_transformers(n_prompts: int, device: str, hidden: int, max_tokens: int, batch: int) -> None:
    import torch
    from tiny_model import build_tiny_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    work = Path(tempfile.mkdtemp(prefix="prefmill-bench-gen-"))
    model_dir = build_tiny_model(work / "model", hidden=hidden, layers=4, vocab=2048)
    prompts = write_prompts(work, n_prompts)
    spec = {"name": "tiny", "backend": "transformers", "model": str(model_dir), "n": 1, "batch_size": batch,
            "sampling": {"temperature": 1.0, "max_tokens": max_tokens, "seed": 0},
            "transformers": {"batch_size": batch, "device": device}}
    config = validate_config(pipeline_config(prompts, work / "ds", spec))

    # Bare engine: the same model, tokenizer, template, batches and sampling, in a plain loop.
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.padding_side = "left"
    net = AutoModelForCausalLM.from_pretrained(model_dir).to(device).eval()
    rows = [json.loads(line) for line in prompts.read_text().splitlines()]
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": r["prompt"]}], add_generation_prompt=True,
                                           tokenize=False) for r in rows]
    bare_tokens = 0
    engine_start = time.perf_counter()
    for i in range(0, len(texts), batch):
        encoded = tokenizer(texts[i:i + batch], return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        torch.manual_seed(i)
        with torch.no_grad():
            out = net.generate(**encoded, max_new_tokens=max_tokens, do_sample=True, temperature=1.0, top_p=1.0,
                               pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        for row in out[:, encoded["input_ids"].shape[1]:].tolist():
            bare_tokens += row.index(tokenizer.eos_token_id) if tokenizer.eos_token_id in row else len(row)
    bare_busy = time.perf_counter() - engine_start
    bare_s = time.perf_counter() - started

    started = time.perf_counter()
    summary = run_config(config, progress=False, allow_partial=True)  # random texts: no pairs
    pipe_s = time.perf_counter() - started
    extra = summary.stage("generate").extra
    pipe_tokens, pipe_busy = extra["completion_tokens"], extra["engine_ms"] / 1000
    print(ratio_line(f"transformers on {device} ({n_prompts} prompts x {max_tokens} new tokens, batch {batch})",
                     pipe_tokens, pipe_s, bare_tokens, bare_s, pipe_busy, bare_busy))


class ServerProcess:
    """The local OpenAI-compatible server in its own process, so its threads do not compete with the
    client for one interpreter lock (which would measure CPU contention, not latency hiding)."""

    def __init__(self, latency: float, answers: str = "echo") -> None:
        import subprocess

        self.proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "llm_server.py"), "--latency", str(latency),
                                      "--answers", answers], stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()

    def stats(self) -> dict:
        import urllib.request

        with urllib.request.urlopen(self.url.rsplit("/v1", 1)[0] + "/stats") as reply:
            return json.loads(reply.read())

    def times(self) -> list[float]:
        return self.stats()["times"]

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def bench_openai(n_requests: int, latency: float, concurrency: int) -> None:
    import aiohttp

    work = Path(tempfile.mkdtemp(prefix="prefmill-bench-oai-"))
    prompts = write_prompts(work, n_requests)
    server = ServerProcess(latency)
    try:
        bodies = [{"model": "bench", "messages": [{"role": "user", "content": json.loads(line)["prompt"]}],
                   "temperature": 0.7, "top_p": 1.0, "max_tokens": 64, "n": 1, "seed": 0}
                  for line in prompts.read_text().splitlines()]

        async def bare() -> int:
            gate = asyncio.Semaphore(concurrency)
            connector = aiohttp.TCPConnector(limit=concurrency)
            async with aiohttp.ClientSession(connector=connector) as client:
                async def one(body):
                    async with gate:
                        async with client.post(f"{server.url}/chat/completions", json=body) as reply:
                            return (await reply.json())["usage"]["completion_tokens"]
                return sum(await asyncio.gather(*(one(b) for b in bodies)))

        started = time.perf_counter()
        bare_tokens = asyncio.run(bare())
        bare_s = time.perf_counter() - started
        bare_times = server.times()
        bare_busy = max(bare_times) - min(bare_times) + latency

        spec = {"name": "bench", "backend": "openai", "model": "bench", "n": 1,  # default batch: 32 x concurrency
                "sampling": {"temperature": 0.7, "max_tokens": 64, "seed": 0},
                "openai": {"base_url": server.url, "max_concurrency": concurrency}}
        config = validate_config(pipeline_config(prompts, work / "ds", spec))
        started = time.perf_counter()
        summary = run_config(config, progress=False, allow_partial=True)  # random texts: no pairs
        pipe_s = time.perf_counter() - started
        pipe_times = server.times()[len(bare_times):]
        pipe_busy = max(pipe_times) - min(pipe_times) + latency
    finally:
        server.close()
    pipe_tokens = summary.stage("generate").extra["completion_tokens"]
    print(ratio_line(f"openai-compatible server, {latency * 1000:.0f} ms per request, concurrency {concurrency} "
                     f"({n_requests} requests)", pipe_tokens, pipe_s, bare_tokens, bare_s, pipe_busy, bare_busy))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["transformers", "openai", "both"], default="both")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--prompts", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    if args.backend in ("transformers", "both"):
        bench_transformers(args.prompts, args.device, args.hidden, args.max_tokens, args.batch)
    if args.backend in ("openai", "both"):
        bench_openai(args.requests, args.latency, args.concurrency)


if __name__ == "__main__":
    main()
