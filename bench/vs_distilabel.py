"""prefmill vs distilabel on the same job, against the same local server, in one run.

The job: N chat prompts; 4 generations per prompt from a policy model; one judge call per prompt that
rates all 4 (UltraFeedback style); the best and worst rated generation become a DPO pair, written in the
format TRL's DPOTrainer reads.

- prefmill: `prefmill run --export trl-dpo=DIR` (generate with n=4 in one request, listwise judge, judged
  pairs, then the committed version exported for TRL in the same command).
- distilabel: LoadDataFromDicts -> TextGeneration(num_generations=4, group_generations=True) ->
  UltraFeedback(aspect="overall-rating") -> FormatTextGenerationDPO, written to Parquet.
Both talk to one OpenAI-compatible server (tests/llm_server.py, its own process) with a fixed latency per
request, at the same concurrency (distilabel: input_batch_size; prefmill: max_concurrency). The server
rates a response by a fixed function of its text, so both judges agree on the same texts. Times are
wall clock of each tool's processes, from start to the DPO file on disk.

distilabel is never a dependency of prefmill: install it in its own environment and point the bench at
that interpreter:
    python3 -m venv /tmp/distilabel-env && /tmp/distilabel-env/bin/pip install "distilabel[openai]" requests
    python bench/vs_distilabel.py --distilabel-python /tmp/distilabel-env/bin/python --n 1000 4000 16000
Goal (issue 9): prefmill >= 2x distilabel's throughput. Both tools pay a few seconds to start, so the ratio
grows with N; several sizes in one call print the curve.
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
from typing import Optional

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generation import ServerProcess  # noqa: E402

TOPICS = ("rivers", "bread", "volcanoes", "chess", "bees", "tides", "glass", "kites", "lanterns", "moss")

DISTILABEL_JOB = textwrap.dedent('''
    import json, sys
    from distilabel.models import OpenAILLM
    from distilabel.pipeline import Pipeline
    from distilabel.steps import FormatTextGenerationDPO, LoadDataFromDicts
    from distilabel.steps.tasks import TextGeneration, UltraFeedback

    url, prompts_path, out, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    rows = [{"instruction": json.loads(line)["prompt"]} for line in open(prompts_path)]
    with Pipeline(name="prefmill-bench") as pipeline:
        load = LoadDataFromDicts(data=rows, batch_size=batch)
        generate = TextGeneration(
            llm=OpenAILLM(model="policy", base_url=url, api_key="none",
                          generation_kwargs={"temperature": 0.8, "max_new_tokens": 64}),
            num_generations=4, group_generations=True, input_batch_size=batch,
            output_mappings={"generation": "generations"})
        judge = UltraFeedback(llm=OpenAILLM(model="judge", base_url=url, api_key="none",
                                            generation_kwargs={"temperature": 0.0, "max_new_tokens": 512}),
                              aspect="overall-rating", input_batch_size=batch)
        dpo = FormatTextGenerationDPO(input_batch_size=batch)
        load >> generate >> judge >> dpo
    distiset = pipeline.run(use_cache=False)
    table = distiset["default"]["train"]
    table.to_parquet(out)
    valid = sum(1 for r in table
                if r["chosen"] and r["rejected"] and r["chosen"][-1]["content"] != r["rejected"][-1]["content"])
    print(json.dumps({"rows": len(table), "valid": valid}))
''')


def write_prompts(folder: Path, n: int) -> Path:
    path = folder / "prompts.jsonl"
    with path.open("w") as handle:
        for i in range(n):
            handle.write(json.dumps({"id": f"q{i}", "domain": "chat",
                                     "prompt": f"Explain {TOPICS[i % len(TOPICS)]} to a curious child (#{i})."}) + "\n")
    return path


def prefmill_config(prompts: Path, out: Path, url: str, concurrency: int, machine: Optional[int] = None) -> dict:
    """`machine`: openai.machine_concurrency, one pool for both workers and both stages (None: none)."""
    policy = {"name": "policy", "backend": "openai", "model": "policy", "n": 4,
              "sampling": {"temperature": 0.8, "max_tokens": 64, "seed": 0},
              "openai": {"base_url": url, "max_concurrency": concurrency, "samples_per_request": 4,
                         "machine_concurrency": machine}}
    judge = {"name": "judge", "backend": "openai", "model": "judge", "sampling": {"temperature": 0.0, "max_tokens": 512},
             "openai": {"base_url": url, "max_concurrency": concurrency, "machine_concurrency": machine}}
    return {"name": "vs-distilabel", "input": {"path": str(prompts)}, "output": {"uri": str(out)},
            "generate": {"mode": "models", "models": [policy], "cache": {"enabled": False}},
            "judge": {"enabled": True, "mode": "listwise", "models": [judge], "domains": ["chat"]},
            "pairs": {"strategies": ["judged"], "judged_rejected": "lowest", "max_pairs_per_prompt": 1,
                      "min_score_gap": 0.0},
            # two worker processes, each with at most `concurrency` requests in flight (a worker runs one
            # LLM batch at a time): the same peak as distilabel, whose generation and judge steps run at
            # once with `concurrency` each
            "runner": {"direct_num_workers": 2, "direct_running_mode": "multi_processing"}}


def run_prefmill(work: Path, prompts: Path, url: str, concurrency: int,
                 machine: Optional[int] = None) -> tuple[float, int, int]:
    config = work / "prefmill.yaml"
    config.write_text(yaml.safe_dump(prefmill_config(prompts, work / "prefmill-ds", url, concurrency, machine)))
    prefmill = str(Path(sys.executable).parent / "prefmill")
    started = time.monotonic()
    subprocess.run([prefmill, "run", str(config), "--no-progress", "--export", f"trl-dpo={work / 'prefmill-dpo'}"],
                   check=True, capture_output=True)
    seconds = time.monotonic() - started
    import pyarrow.dataset as ds

    table = ds.dataset([str(p) for p in (work / "prefmill-dpo").rglob("*.parquet")], format="parquet").to_table()
    valid = sum(1 for c, r in zip(table.column("chosen").to_pylist(), table.column("rejected").to_pylist())
                if c and r and c[-1]["content"] != r[-1]["content"])
    return seconds, table.num_rows, valid


def run_distilabel(work: Path, prompts: Path, url: str, concurrency: int, python: str) -> tuple[float, int, int]:
    script = work / "distilabel_job.py"
    script.write_text(DISTILABEL_JOB)
    env = {**os.environ, "DISTILABEL_LOG_LEVEL": "ERROR"}
    started = time.monotonic()
    out = subprocess.run([python, str(script), url, str(prompts), str(work / "distilabel-dpo.parquet"),
                          str(concurrency)], capture_output=True, text=True, env=env, cwd=work)
    seconds = time.monotonic() - started
    if out.returncode != 0:
        raise SystemExit(f"distilabel failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return seconds, result["rows"], result["valid"]


def compare(n: int, latency: float, concurrency: int, distilabel_python: str) -> float:
    """Both tools on n prompts, one after the other, each against a fresh server; returns the ratio."""
    work = Path(tempfile.mkdtemp(prefix="prefmill-vs-distilabel-"))
    prompts = write_prompts(work, n)
    print(f"bench/vs_distilabel.py: {n} prompts x 4 generations + 1 judge call each, "
          f"{latency * 1000:.0f} ms per request, concurrency {concurrency} per LLM step", flush=True)
    results = {}
    for name in ("distilabel", "prefmill"):
        server = ServerProcess(latency, answers="preference")  # a fresh server: its counts are this tool's
        try:
            if name == "distilabel":
                seconds, rows, valid = run_distilabel(work, prompts, server.url, concurrency, distilabel_python)
            else:
                seconds, rows, valid = run_prefmill(work, prompts, server.url, concurrency)
            stats = server.stats()
        finally:
            server.close()
        results[name] = seconds
        print(f"{name:<10}: {seconds:7.1f}s  {n / seconds:6.1f} prompts/s  {rows} DPO rows, {valid} valid "
              f"(chosen differs from rejected)  "
              f"{len(stats['times'])} requests, at most {stats['max_in_flight']} in flight", flush=True)
    ratio = results["distilabel"] / results["prefmill"]
    print(f"prefmill / distilabel throughput = {ratio:.2f} (goal >= 2)", flush=True)
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000], help="prompts; several sizes run one by one")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request at the server")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight per LLM step")
    parser.add_argument("--distilabel-python", default=os.environ.get("DISTILABEL_PYTHON", sys.executable),
                        help="interpreter of an environment with distilabel installed")
    args = parser.parse_args()
    ratios = {n: compare(n, args.latency, args.concurrency, args.distilabel_python) for n in args.n}
    if len(ratios) > 1:
        print("ratio by size: " + ", ".join(f"{n:,} prompts {r:.2f}" for n, r in ratios.items()))


if __name__ == "__main__":
    main()
