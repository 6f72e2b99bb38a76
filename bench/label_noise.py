"""Label noise: how well the annotate stage finds planted label flips, one annotator against three.

    python bench/label_noise.py [--pairs N] [--flip-rate R] [--seed S]

A TRL-format file of N pairs, a share R of them with chosen and rejected swapped on purpose (the planted
truth), goes through `prefmill run` with the annotate stage against a local OpenAI-compatible server whose
annotators are simulated: each has a known accuracy (0.80, 0.83, 0.85) and answers a blind comparison for
the response it believes better, the same way in both orders. Its confidence (the -3..3 magnitude) is drawn
from two distributions: when it is right, 1/2/3 with probabilities 0.2/0.5/0.3; when it is wrong, 0.6/0.3/0.1
(annotators are less sure when they are wrong; `--uncalibrated` draws both from the first). Each pair's
errors are per annotator and pair, not per request. Printed for the single best annotator (min_votes 1) and
the ensemble of three (min_votes 2), with the default thresholds (flip_margin 0.5, max_spread 2.0):
precision and recall of `suspected_flip` against the planted flips, and LLM calls per pair; then, from the
ensemble's stored votes, the same for other thresholds (how the defaults were chosen).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the local test server

from prefmill.dataset import run_query  # noqa: E402
from prefmill.pipelines.config import validate_config  # noqa: E402
from prefmill.pipelines.launcher import run_config  # noqa: E402

ANNOTATORS = {"ann-80": 0.80, "ann-83": 0.83, "ann-85": 0.85}
RIGHT, WRONG = (0.2, 0.5, 0.3), (0.6, 0.3, 0.1)  # P(|preference| = 1, 2, 3)


def make_pairs(n: int, flip_rate: float, seed: int) -> tuple[list[dict], set[str], set[str]]:
    rng = random.Random(seed)
    rows, flipped, good = [], set(), set()
    for i in range(n):
        better, worse = f"A careful, correct answer to question {i}.", f"A careless answer to question {i}."
        good.add(better)
        swap = rng.random() < flip_rate
        if swap:
            flipped.add(f"q{i}")
        rows.append({"id": f"q{i}", "prompt": f"Question {i}: explain it.",
                     "chosen": worse if swap else better, "rejected": better if swap else worse})
    return rows, flipped, good


def simulated(good: set[str], calibrated: bool):
    def answer(body: dict) -> str:
        content, name = body["messages"][-1]["content"], body["model"]
        first = content.split("Response A:\n", 1)[1].split("\n\nResponse B:\n", 1)[0]
        second = content.split("\n\nResponse B:\n", 1)[1].split("\n\nWhich response", 1)[0]
        pair = "|".join(sorted((first, second)))
        draw = random.Random(hashlib.sha256(f"{name}|{pair}".encode()).digest())  # per annotator and pair
        right = draw.random() < ANNOTATORS[name]
        weights = RIGHT if right or not calibrated else WRONG
        size = draw.choices((1, 2, 3), weights=weights)[0]
        first_better = (first in good) == right
        return json.dumps({"preference": -size if first_better else size, "reason": "simulated"})
    return answer


def run(rows, flipped, server, names, min_votes, work: Path, tag: str) -> tuple[float, float, float, int]:
    data = work / f"{tag}.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    entries = [{"name": n, "backend": "openai", "model": n, "sampling": {"temperature": 0.0},
                "openai": {"base_url": server.url, "max_concurrency": 64}} for n in names]
    config = validate_config({
        "input": {"path": str(data), "layout": "trl"}, "output": {"uri": str(work / tag)},
        "pairs": {"strategies": ["incoming"]}, "generate": {"cache": {"enabled": False}},
        "annotate": {"enabled": True, "rationale": False, "models": entries, "noise": {"min_votes": min_votes}}})
    before = len(server.requests)
    run_config(config, progress=False)
    calls = len(server.requests) - before
    flagged = {r[0] for r in run_query(str(work / tag), "SELECT prompt_id FROM pairs WHERE "
                                                          "annotation.suspected_flip")[1]}
    hits = len(flagged & flipped)
    precision = hits / len(flagged) if flagged else float("nan")
    return precision, hits / len(flipped), calls / len(rows), len(flagged)


def main() -> None:
    from llm_server import FakeLLMServer

    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--flip-rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--uncalibrated", action="store_true", help="the same confidence right or wrong")
    args = parser.parse_args()
    rows, flipped, good = make_pairs(args.pairs, args.flip_rate, args.seed)
    work = Path(tempfile.mkdtemp(prefix="prefmill-bench-noise-"))
    with FakeLLMServer(answer=simulated(good, not args.uncalibrated)) as server:
        single = run(rows, flipped, server, ["ann-85"], 1, work, "single")
        ensemble = run(rows, flipped, server, list(ANNOTATORS), 2, work, "ensemble")
    print(f"{args.pairs} pairs, {len(flipped)} flipped on purpose ({args.flip_rate:.0%}); annotator accuracy "
          f"{', '.join(f'{a:.2f}' for a in ANNOTATORS.values())}; confidence "
          f"{'uncalibrated' if args.uncalibrated else 'calibrated'}")
    for name, (precision, recall, calls, n) in (("one annotator (0.85)", single), ("three annotators", ensemble)):
        print(f"{name}: flagged {n}, precision {precision:.3f}, recall {recall:.3f}, LLM calls per pair {calls:.1f}")
    goal = ensemble[0] >= 0.9 and ensemble[1] >= 0.7
    print(f"goal (three annotators: precision >= 0.9 at recall >= 0.7): {'met' if goal else 'NOT met'}")
    votes = {pid: [v["margin"] for v in found] for pid, found in run_query(
        str(work / "ensemble"), "SELECT prompt_id, annotation.votes FROM pairs")[1]}
    print("three annotators, other thresholds (flip_margin / max_spread: precision, recall):")
    for margin in (0.5, 1.0):
        cells = []
        for spread in (1.5, 2.0, 2.5):
            flagged = {p for p, m in votes.items()
                       if len(m) >= 2 and statistics.fmean(m) <= -margin and statistics.pstdev(m) <= spread}
            hits = len(flagged & flipped)
            cells.append(f"{margin} / {spread}: {hits / len(flagged) if flagged else float('nan'):.3f}, "
                         f"{hits / len(flipped):.3f}")
        print("  " + " | ".join(cells))


if __name__ == "__main__":
    main()
