"""CDR end to end with real tiny models on CPU: a strong model fine-tuned for a few steps on the chosen style
of a small synthetic set, over its own starting point as the weak model. The density ratio must prefer the
held-out chosen responses well above chance, and swapping the models must flip it. Also: stages naming one
transformers model load it once."""

from __future__ import annotations

import json
import random

import pytest

pytest.importorskip("transformers")

from prefmill.pipelines.config import validate_config  # noqa: E402
from prefmill.pipelines.launcher import run_config  # noqa: E402

TEMPLATE_CHOSEN = "Thank you for asking. The total is {n} apples, counted with care."
TEMPLATE_REJECTED = "idk maybe {n} or so lol"


def _rows(seed: int, count: int, prefix: str) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        n = rng.randint(2, 99)
        candidates = [{"model": "good", "text": TEMPLATE_CHOSEN.format(n=n)},
                      {"model": "poor", "text": TEMPLATE_REJECTED.format(n=n)}]
        rng.shuffle(candidates)
        rows.append({"id": f"{prefix}{i}", "prompt": f"How many apples are in {n} baskets of one?", "domain": "chat",
                     "candidates": candidates})
    return rows


@pytest.fixture(scope="module")
def strong_model(tiny_model, tmp_path_factory):
    """The tiny model after 40 steps of plain LM training on the chosen style (its tokenizer unchanged)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    net = AutoModelForCausalLM.from_pretrained(tiny_model)
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": r["prompt"]}], add_generation_prompt=True,
                                           tokenize=False) + next(c["text"] for c in r["candidates"] if c["model"] == "good")
             for r in _rows(1, 32, "t")]
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(net.parameters(), lr=3e-3)
    net.train()
    for step in range(40):
        batch = tokenizer(texts[step % 4 * 8:(step % 4 + 1) * 8], return_tensors="pt", padding=True)
        labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        loss = net(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    folder = tmp_path_factory.mktemp("strong")
    net.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _config(data, out, strong, weak, **extra) -> dict:
    entry = {"backend": "transformers", "transformers": {"batch_size": 8}}
    return {"input": {"path": str(data)}, "output": {"uri": str(out)},
            "verify": {"enabled": False},
            "density_ratio": {"enabled": True, "strong": {**entry, "name": "strong", "model": str(strong)},
                              "weak": {**entry, "name": "weak", "model": str(weak)}, **extra},
            "pairs": {"strategies": ["density_ratio"]},
            "runner": {"direct_num_workers": 1, "direct_running_mode": "in_memory"}}


def _accuracy(uri) -> float:
    from prefmill.dataset.query import run_query

    _, rows = run_query(str(uri), "SELECT chosen_model, pair_source, margin FROM pairs")
    assert rows and all(source == "density_ratio" and margin > 0 for _, source, margin in rows)
    return sum(chosen == "good" for chosen, _, _ in rows) / len(rows)


def test_the_density_ratio_prefers_held_out_chosen_responses_and_the_swap_flips_it(tiny_model, strong_model,
                                                                                      tmp_path, capsys):
    data = tmp_path / "held_out.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in _rows(7, 24, "h")))  # other numbers than training
    summary = run_config(validate_config(_config(data, tmp_path / "ds", strong_model, tiny_model)), progress=False)
    accuracy = _accuracy(tmp_path / "ds")
    swapped = run_config(validate_config(_config(data, tmp_path / "swap", tiny_model, strong_model,
                                                 length_normalize=True)), progress=False)
    swapped_accuracy = _accuracy(tmp_path / "swap")
    with capsys.disabled():
        print(f"\nCDR on 24 held-out pairs: accuracy {accuracy:.2f} (strong over weak), {swapped_accuracy:.2f} swapped")
    assert accuracy >= 0.9 and swapped_accuracy <= 0.1
    assert summary.stage("density_ratio").extra["ratios"] == 48 and summary.pairs_written == 24
    assert "density ratio: 48 responses scored by both models" in summary.render()
    assert swapped.pairs_written == 24


def test_stages_naming_one_transformers_model_load_it_once(tiny_model, strong_model, tmp_path, monkeypatch):
    import transformers

    loads: list[str] = []
    real = transformers.AutoModelForCausalLM.from_pretrained.__func__

    def counting(cls, path, *args, **kwargs):
        loads.append(str(path))
        return real(cls, path, *args, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", classmethod(counting))
    import weakref

    from prefmill.transforms.llm import base

    monkeypatch.setattr(base, "_ENGINES", weakref.WeakValueDictionary())  # engines earlier tests left alive
    data = tmp_path / "math.jsonl"
    solved = "Step 1: {i} + {i} = {s}.\nStep 2: So the answer is \\boxed{{{s}}}."  # correct: RISE edits a step
    data.write_text("".join(json.dumps({"id": f"m{i}", "domain": "math", "prompt": f"What is {i} + {i}?",
                                        "reference": {"answer": str(2 * i)}, "candidates": [{"model": "ref", "text": solved.format(
                                            i=i, s=2 * i)}]}) + "\n" for i in range(6)))
    tiny = {"name": "tiny", "backend": "transformers", "model": str(tiny_model), "n": 2,
            "sampling": {"temperature": 1.0, "max_tokens": 16}}
    raw = _config(data, tmp_path / "ds", tiny_model, strong_model)
    raw["density_ratio"]["strong"] = {**tiny, "name": "strong-as-tiny"}  # the same model and engine settings
    raw.update({"generate": {"mode": "both", "models": [tiny], "keep_truncated": True}, "verify": {"enabled": True},
                "inject": {"enabled": True, "method": "llm", "model": {**tiny, "n": 1}},
                "pairs": {"strategies": ["verified", "self_edit", "density_ratio"]}})
    summary = run_config(validate_config(raw), progress=False, allow_partial=True)
    used = {name for name in ("generate", "inject", "density_ratio")
            if summary.stage(name).extra.get("cache_misses", 0) or summary.stage(name).extra.get("cache_hits", 0)}
    assert used == {"generate", "inject", "density_ratio"}  # three stages asked the model something
    assert sorted(loads) == sorted([str(tiny_model), str(strong_model)])  # the tiny model once, the weak once
