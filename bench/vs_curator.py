"""prefmill vs Bespoke Curator on the same job, against the same local server, several sizes in one call.

The job is bench/vs_distilabel.py's: N chat prompts; 4 generations per prompt (one request with n=4); one
judge call per prompt rating all 4 (the listwise prompt prefmill sends, so the server rates both tools'
texts with the same function); the best and worst rated generation become a DPO pair, written as Parquet.

- prefmill: `prefmill run --export trl-dpo=DIR`, two workers drawing on one pool of 64 requests in flight
  (`openai.machine_concurrency: 64`; each worker may use all of it while the other is between batches);
- Curator: two `curator.LLM` calls (generation, then the judge) on its online OpenAI backend with
  `max_concurrent_requests` 64 (its calls run one after the other, so 64 at most too), cache off.
Printed for each tool: time, prompts/s, valid DPO rows (chosen differs from rejected), requests and the
most in flight as the server counted them, and the fraction of the physical limit it reached (requests /
(64 in flight / latency) / time), end to end and over its busy window (from its first request to its last
answer; the rest is start-up and shut-down). Then prefmill / Curator.

Curator is never a dependency of prefmill: install it in its own environment and point the bench at it:
    python3 -m venv /tmp/curator-env && /tmp/curator-env/bin/pip install bespokelabs-curator
    python bench/vs_curator.py --curator-python /tmp/curator-env/bin/python --n 2000 8000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generation import ServerProcess  # noqa: E402
from vs_distilabel import run_prefmill, write_prompts  # noqa: E402

CURATOR_JOB = textwrap.dedent('''
    import json, os, sys
    os.environ["CURATOR_DISABLE_CACHE"] = "true"
    os.environ["CURATOR_DISABLE_RICH_DISPLAY"] = "1"
    os.environ["CURATOR_VIEWER"] = "0"
    import importlib.util
    # tiktoken's cl100k_base is fetched from the internet unless cached: litellm (a Curator dependency)
    # ships it, named as tiktoken's cache names it, so the bench runs offline
    bundled = os.path.join(os.path.dirname(importlib.util.find_spec("litellm").origin), "litellm_core_utils",
                           "tokenizers")
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", bundled)
    import pyarrow as pa, pyarrow.parquet as pq
    from bespokelabs import curator

    url, prompts_path, out, cap, template_path = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    judge = json.load(open(template_path))
    rows = [{"id": json.loads(line)["id"], "prompt": json.loads(line)["prompt"]} for line in open(prompts_path)]
    backend = {"base_url": url, "api_key": "none", "max_concurrent_requests": cap,
               "max_requests_per_minute": 10 ** 7, "max_tokens_per_minute": 10 ** 10, "max_retries": 3}

    class Generate(curator.LLM):
        return_completions_object = True

        def prompt(self, row):
            return row["prompt"]

        def parse(self, row, response):
            return {**row, "generations": [c["message"]["content"] for c in response["choices"]]}

    class Judge(curator.LLM):
        def prompt(self, row):
            responses = "\\n\\n".join(f"Response {i}:\\n{t}" for i, t in enumerate(row["generations"], 1))
            return judge["template"].format(rubric=judge["rubric"], question=row["prompt"], responses=responses,
                                            aspects=", ".join(judge["aspects"]))

        def parse(self, row, response):
            rated = json.loads(response)["responses"]
            means = [sum(r[a]["rating"] for a in judge["aspects"]) / len(judge["aspects"]) for r in rated]
            best, worst = max(range(len(means)), key=means.__getitem__), min(range(len(means)), key=means.__getitem__)
            return {"prompt": row["prompt"], "chosen": row["generations"][best], "rejected": row["generations"][worst]}

    generate = Generate(model_name="policy", backend="openai", backend_params=backend,
                        generation_params={"n": 4, "temperature": 0.8, "max_tokens": 64, "seed": 0})
    rate = Judge(model_name="judge", backend="openai", backend_params=backend,
                 generation_params={"temperature": 0.0, "max_tokens": 512})
    generated = generate(rows).dataset
    pairs = rate(generated).dataset
    table = pa.Table.from_pylist([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in pairs])
    pq.write_table(table, out)
    valid = sum(1 for r in table.to_pylist() if r["chosen"] != r["rejected"])
    print(json.dumps({"rows": table.num_rows, "valid": valid}))
''')


def run_curator(work: Path, prompts: Path, url: str, cap: int, python: str) -> tuple[float, int, int]:
    from prefmill.transforms.judge import ASPECTS
    from prefmill.transforms.judge.ultrafeedback import LISTWISE_TEMPLATE, RUBRIC

    script, template = work / "curator_job.py", work / "judge.json"
    script.write_text(CURATOR_JOB)
    template.write_text(json.dumps({"template": LISTWISE_TEMPLATE, "rubric": RUBRIC, "aspects": list(ASPECTS)}))
    started = time.monotonic()
    out = subprocess.run([python, str(script), url, str(prompts), str(work / "curator-dpo.parquet"), str(cap),
                          str(template)], capture_output=True, text=True, cwd=work,
                         env={**os.environ, "HOME": str(work)})  # its cache and logs stay in the work folder
    seconds = time.monotonic() - started
    if out.returncode != 0:
        raise SystemExit(f"curator failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return seconds, result["rows"], result["valid"]


def compare(n: int, latency: float, cap: int, curator_python: str) -> float:
    work = Path(tempfile.mkdtemp(prefix="prefmill-vs-curator-"))
    prompts = write_prompts(work, n)
    print(f"bench/vs_curator.py: {n} prompts x 4 generations (n=4) + 1 judge call each, {latency * 1000:.0f} ms "
          f"per request, at most {cap} in flight", flush=True)
    rates = {}
    for name in ("curator", "prefmill"):
        server = ServerProcess(latency, answers="preference")
        try:
            if name == "curator":
                seconds, rows, valid = run_curator(work, prompts, server.url, cap, curator_python)
            else:
                # two workers that may each have the whole cap in flight, drawing on one pool of `cap` slots
                seconds, rows, valid = run_prefmill(work, prompts, server.url, cap, machine=cap)
            stats = server.stats()
        finally:
            server.close()
        requests = len(stats["times"])
        limit = cap / latency  # requests per second the in-flight cap allows
        rates[name] = n / seconds
        busy = max(stats["times"]) + latency - min(stats["times"])  # first request sent to last answer
        print(f"{name:<9}: {seconds:7.1f}s  {n / seconds:6.1f} prompts/s  {rows} DPO rows, {valid} valid  "
              f"{requests} requests, at most {stats['max_in_flight']} in flight  "
              f"{requests / seconds / limit:.2f} of the physical limit ({limit:.0f} requests/s) end to end, "
              f"{requests / busy / limit:.2f} over its busy window ({busy:.1f}s; {seconds - busy:.1f}s outside it)",
              flush=True)
    ratio = rates["prefmill"] / rates["curator"]
    print(f"prefmill / Curator throughput = {ratio:.2f}", flush=True)
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[2000], help="prompts; several sizes run one by one")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request at the server")
    parser.add_argument("--cap", type=int, default=64, help="requests in flight for each tool")
    parser.add_argument("--curator-python", default=os.environ.get("CURATOR_PYTHON", sys.executable),
                        help="interpreter of an environment with bespokelabs-curator installed")
    args = parser.parse_args()
    ratios = {n: compare(n, args.latency, args.cap, args.curator_python) for n in args.n}
    if len(ratios) > 1:
        print("ratio by size: " + ", ".join(f"{n:,} prompts {r:.2f}" for n, r in ratios.items()))


if __name__ == "__main__":
    main()
