"""Generate N prompts with 4 recorded candidates each, for the scale and throughput benchmarks.

Every row is built from templates written for prefmill, with numbers, names and words drawn from a seeded
generator, so each row is distinct (no two prompts share text) and the verifiers have real work: math
answers to compare, instruction constraints to check, code run in the sandbox against its tests, and chat
prompts answered by three models of different strength (delta pairs). Each prompt gets four candidates
from three fictional models; their correctness follows the model's strength, with a seeded chance of error.

    python bench/make_prompts.py --n 100000 --out /tmp/prefmill-bench/prompts-100k.jsonl

The mix defaults to math 50%, instruction 30%, chat 17%, code 3%: code is the slowest check (one sandboxed
process run per candidate, see bench/verify.py), and real preference sets are mostly text and math.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

MODELS = ("atlas-70b", "birch-8b", "cedar-1b")
# chance that each model's answer is right; the fourth candidate is a second sample of birch-8b
SKILL = {"atlas-70b": 0.9, "birch-8b": 0.65, "cedar-1b": 0.35}
NAMES = ("Maya", "Leo", "Ines", "Tomas", "Priya", "Jonah", "Aiko", "Ravi", "Noor", "Elsa", "Kofi", "Mila")
ITEMS = ("muffins", "pencils", "tickets", "plants", "candles", "notebooks", "apples", "stamps")
TOPICS = ("a lighthouse", "a quiet library", "a mountain lake", "a night market", "a train station", "an old bridge",
          "a desert road", "a winter garden", "a harbour at dawn", "a busy kitchen", "a forest trail", "a rooftop")
WORDS = ("stone", "light", "water", "wind", "paper", "glass", "river", "ember", "cloud", "salt", "moss", "iron")
DEFAULT_MIX = {"math": 0.50, "instruction": 0.30, "chat": 0.17, "code": 0.03}


def _math(rng: random.Random, i: int) -> dict:
    kind = i % 3
    if kind == 0:
        price, count = rng.randint(2, 19), rng.randint(2, 12)
        bill = (price * count // 10 + 1 + rng.randint(0, 5)) * 10
        prompt = (f"A shop sells {rng.choice(ITEMS)} for ${price} each. {rng.choice(NAMES)} buys {count} and "
                  f"pays with a ${bill} bill. How much change is given, in dollars?")
        cost = price * count
        steps = [f"The cost is {count} x {price} = {cost} dollars.", f"The change is {bill} - {cost} = {bill - cost} dollars."]
        answer, wrong = bill - cost, bill - cost - rng.choice((1, 2, 10))
    elif kind == 1:
        pct, base = rng.choice((5, 10, 15, 20, 25, 30, 40)), rng.randint(2, 60) * 20
        prompt = f"What is {pct}% of {base}?"
        answer = pct * base // 100
        steps = [f"{pct}% means {pct} per hundred.", f"{base} x {pct} / 100 = {answer}."]
        wrong = answer + rng.choice((-3, 2, 5))
    else:
        a, x, b = rng.randint(2, 9), rng.randint(-20, 40), rng.randint(1, 60)
        prompt = f"Solve for x: {a}x + {b} = {a * x + b}."
        steps = [f"Subtract {b} from both sides: {a}x = {a * x}.", f"Divide by {a}: x = {x}."]
        answer, wrong = x, x + rng.choice((-2, 1, 3))

    def answer_text(right: bool, style: int) -> str:
        lines = steps if right else steps[:-1] + [steps[-1].replace(str(answer), str(wrong))]
        body = "\n".join(f"Step {n}: {line}" for n, line in enumerate(lines, 1))
        final = answer if right else wrong
        return body + ("\nThe answer is {}.", "\n\\boxed{{{}}}", "\n#### {}")[style % 3].format(final)

    return {"domain": "math", "prompt": prompt, "reference": {"answer": str(answer)}, "answer": answer_text}


def _instruction(rng: random.Random, i: int) -> dict:
    topic, word = rng.choice(TOPICS), rng.choice(WORDS)
    kind = i % 4
    sentence = f"{topic} holds the {word} of the evening and the slow sound of people passing by."
    if kind == 0:
        prompt, constraint = f"Describe {topic} in all lowercase letters.", {"kind": "lowercase"}
        good, bad = sentence.lower(), sentence[0].upper() + sentence[1:]
    elif kind == 1:
        limit = rng.randint(12, 30)
        prompt = f"In at most {limit} words, describe {topic}."
        constraint = {"kind": "word_count", "args": {"relation": "at_most", "value": limit}}
        good = " ".join(sentence.split()[: limit - 2]) + "."
        bad = " ".join([sentence] * 3)
    elif kind == 2:
        prompt, constraint = f"Write two sentences about {topic} without using any commas.", {"kind": "no_commas"}
        good = f"{sentence} It is a good place to rest."
        bad = f"{sentence} It is calm, bright, and a good place to rest."
    else:
        prompt = f"Write a sentence about {topic} that includes the word \"{word}\"."
        constraint = {"kind": "keywords_include", "args": {"keywords": [word]}}
        good, bad = sentence, sentence.replace(f" {word} ", " colour ")
    return {"domain": "instruction", "prompt": prompt, "reference": {"constraints": [constraint]},
            "answer": lambda right, style: good if right else bad}


def _code(rng: random.Random, i: int) -> dict:
    k, name = rng.randint(2, 99), f"scale_{i}"
    prompt = f"Write a Python function `{name}(xs)` that returns a new list with every number in xs multiplied by {k}."
    asserts = [f"assert {name}([1, 2]) == [{k}, {2 * k}]", f"assert {name}([]) == []", f"assert {name}([-3]) == [{-3 * k}]"]
    good = f"```python\ndef {name}(xs):\n    return [x * {k} for x in xs]\n```"
    bad = f"```python\ndef {name}(xs):\n    return [x * {k} for x in xs if x > 0]\n```"
    return {"domain": "code", "prompt": prompt, "reference": {"tests": {"asserts": asserts}},
            "answer": lambda right, style: ("Here is a solution:\n\n" if style else "") + (good if right else bad)}


def _chat(rng: random.Random, i: int) -> dict:
    topic = rng.choice(TOPICS)
    prompt = f"What should I know before visiting {topic} for the first time? (#{i})"
    strong = (f"Plan ahead: check opening hours and the weather, bring water and a light layer, arrive early to "
              f"avoid crowds, and ask locals about {rng.choice(WORDS)} and the quietest times to visit {topic}.")
    middle = f"Check the weather and bring water when you visit {topic}."
    weak = f"{topic.capitalize()} is a place."
    answers = {"atlas-70b": strong, "birch-8b": middle, "cedar-1b": weak}
    return {"domain": "chat", "prompt": prompt, "answers": answers}


BUILDERS = {"math": _math, "instruction": _instruction, "code": _code, "chat": _chat}


def make_row(rng: random.Random, index: int, domain: str) -> dict:
    spec = BUILDERS[domain](rng, index)
    candidates = []
    for sample, model in enumerate((*MODELS, "birch-8b")):
        if domain == "chat":
            text = spec["answers"][model]
        else:
            text = spec["answer"](rng.random() < SKILL[model], sample)
        candidates.append({"model": model, "text": text, "sample_index": sample, "finish_reason": "stop"})
    row = {"id": f"{domain}-{index:08d}", "domain": domain, "prompt": spec["prompt"], "candidates": candidates}
    if "reference" in spec:
        row["reference"] = spec["reference"]
    return row


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        name, _, share = part.partition("=")
        if name not in BUILDERS:
            raise SystemExit(f"--mix: unknown domain {name!r}; known: {sorted(BUILDERS)}")
        mix[name] = float(share)
    total = sum(mix.values())
    return {k: v / total for k, v in mix.items()}


def write_prompts(path: str, n: int, *, mix: dict[str, float] | None = None, seed: int = 0) -> str:
    """Write n rows to path (JSONL); returns path. Domains are interleaved in proportion to the mix."""
    mix = mix or DEFAULT_MIX
    rng = random.Random(seed)
    domains, weights = list(mix), list(mix.values())
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for index in range(n):
            handle.write(json.dumps(make_row(rng, index, rng.choices(domains, weights)[0])) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--out", required=True)
    parser.add_argument("--mix", default=",".join(f"{k}={v}" for k, v in DEFAULT_MIX.items()))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.monotonic()
    write_prompts(args.out, args.n, mix=parse_mix(args.mix), seed=args.seed)
    size = os.path.getsize(args.out)
    print(f"wrote {args.n:,} prompts ({size / 1e6:.0f} MB) to {args.out} in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
