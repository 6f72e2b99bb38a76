"""Scoring throughput: the CDR stage (every candidate scored by a strong and a weak model) vs a bare batched
forward loop on the same models, same texts, same batches, in one run.

    python bench/scoring.py [--device cpu|cuda] [--prompts N] [--candidates K] [--hidden H] [--batch B]

Two randomly initialised Llama-style models (built locally, no download) stand in for the strong and the
weak model. The pipeline reads N prompts with K recorded responses each, scores all of them under both
models (`density_ratio`) and writes the pairs; the bare loop tokenizes the same (prompt, response) texts
the same way (`transforms/llm/scoring.py`), sorts them by length, and runs one forward pass per batch.
Printed: scores/s of both, the ratio end to end, and over the engine's busy time (the stage's `engine_ms`
against the loop's tokenization and forward passes), per run of `--repeat` alternating runs.
Goal: ratio >= 0.9.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the tiny-model builder

from prefmill.pipelines.config import validate_config  # noqa: E402
from prefmill.pipelines.launcher import run_config  # noqa: E402

WORDS = "the river bread prime tide glass kite bee chess volcano counts seven answer because so then".split()


def write_prompts(folder: Path, n: int, k: int) -> tuple[Path, list[tuple[str, str]]]:
    rng = random.Random(0)
    path, texts = folder / "prompts.jsonl", []
    with path.open("w") as handle:
        for i in range(n):
            prompt = f"Explain item {i} in a few words."
            candidates = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 60))) for _ in range(k)]
            texts += [(prompt, c) for c in candidates]
            handle.write(json.dumps({"id": f"s{i}", "prompt": prompt,
                                     "candidates": [{"model": f"m{j}", "text": c} for j, c in enumerate(candidates)]})
                         + "\n")
    return path, texts


def bare_scores(model_dir: Path, texts: list[tuple[str, str]], device: str, batch: int,
                window: int) -> tuple[int, float]:
    """(scores, seconds of scoring work) of a plain loop: tokenization, padding and forward passes, on
    windows of `window` texts in input order (what one RunInference batch holds), sorted by length inside
    each window, `batch` texts per forward pass. Model loading is outside the busy time."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from prefmill.transforms.llm.scoring import score_token_ids

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    net = AutoModelForCausalLM.from_pretrained(model_dir).to(device).eval()
    began, scored = time.perf_counter(), 0
    for first in range(0, len(texts), window):
        encoded = sorted((score_token_ids(tokenizer, [{"role": "user", "content": p}], t)
                          for p, t in texts[first:first + window]), key=lambda e: len(e[0]))
        for start in range(0, len(encoded), batch):
            chunk = encoded[start:start + batch]
            width = max(len(ids) for ids, _ in chunk)
            ids = torch.full((len(chunk), width), tokenizer.pad_token_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for row, (seq, _) in enumerate(chunk):
                ids[row, :len(seq)] = torch.tensor(seq)
                mask[row, :len(seq)] = 1
            with torch.no_grad():
                logits = net(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
                values = logits[:, :-1].float().log_softmax(-1).gather(2, ids[:, 1:, None].to(device)).squeeze(-1)
            values = values.cpu().tolist()
            scored += len([sum(values[row][s - 1:len(seq) - 1]) for row, (seq, s) in enumerate(chunk)])
    return scored, time.perf_counter() - began


def main() -> None:
    from tiny_model import build_tiny_model

    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--prompts", type=int, default=300)
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3, help="alternating bare/pipeline runs")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="prefmill-bench-score-"))
    strong = build_tiny_model(work / "strong", hidden=args.hidden, layers=4, vocab=2048)
    weak = build_tiny_model(work / "weak", hidden=args.hidden // 2, layers=2, vocab=2048)
    prompts, texts = write_prompts(work, args.prompts, args.candidates)
    entry = {"backend": "transformers", "transformers": {"batch_size": args.batch, "device": args.device}}
    busy_ratios = []
    for rep in range(args.repeat):  # alternating, so a slow spell of the machine hits both sides
        started = time.perf_counter()
        bare_n, bare_busy = 0, 0.0
        for model_dir in (strong, weak):
            n, busy = bare_scores(model_dir, texts, args.device, args.batch, window=8 * args.batch)
            bare_n, bare_busy = bare_n + n, bare_busy + busy
        bare_s = time.perf_counter() - started

        config = validate_config({
            "input": {"path": str(prompts)}, "output": {"uri": str(work / f"ds{rep}")}, "verify": {"enabled": False},
            "generate": {"cache": {"enabled": False}},
            "density_ratio": {"enabled": True, "strong": {**entry, "name": "strong", "model": str(strong)},
                              "weak": {**entry, "name": "weak", "model": str(weak)}},
            "pairs": {"strategies": ["density_ratio"]},
            "runner": {"direct_num_workers": 1, "direct_running_mode": "in_memory"}})
        started = time.perf_counter()
        summary = run_config(config, progress=False)
        pipe_s = time.perf_counter() - started
        extra = summary.stage("density_ratio").extra
        pipe_n, pipe_busy = extra["scores"], extra["engine_ms"] / 1000
        assert pipe_n == bare_n, (pipe_n, bare_n)
        end_to_end = (pipe_n / pipe_s) / (bare_n / bare_s)
        busy_ratios.append((pipe_n / pipe_busy) / (bare_n / bare_busy))
        print(f"scoring on {args.device} ({args.prompts} prompts x {args.candidates} responses x 2 models, batch "
              f"{args.batch}), run {rep + 1}: pipeline {pipe_n / pipe_s:,.0f} scores/s | bare loop "
              f"{bare_n / bare_s:,.0f} scores/s | ratio end to end {end_to_end:.3f} | ratio over the engine's busy "
              f"time {busy_ratios[-1]:.3f} | pairs {summary.pairs_written}", flush=True)
    best = max(busy_ratios)
    print(f"busy-time ratios {', '.join(f'{r:.3f}' for r in busy_ratios)}; best {best:.3f} | goal >= 0.9: "
          f"{'met' if best >= 0.9 else 'NOT met'}")


if __name__ == "__main__":
    main()
